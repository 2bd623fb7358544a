package sidecar_test

import (
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/gin-gonic/gin"
	"github.com/livekit/protocol/auth"

	"rtk-sidecar/breakouts"
	"rtk-sidecar/chat"
	"rtk-sidecar/eventstream"
	"rtk-sidecar/meetings"
	"rtk-sidecar/metrics"
	"rtk-sidecar/polls"
	"rtk-sidecar/recording"
	"rtk-sidecar/sessions"
	"rtk-sidecar/sidecar"
	"rtk-sidecar/web"
	"rtk-sidecar/webhooks"
)

// fullAPI is a server with every dependency set, so that it registers every route. Its services
// are empty shells: the routes are read, never called.
func fullAPI(t *testing.T) *sidecar.Server {
	t.Helper()
	gin.SetMode(gin.TestMode)
	return sidecar.New(sidecar.Deps{
		Meetings: &meetings.Service{}, Log: slog.New(slog.DiscardHandler),
		Breakouts: &breakouts.Service{}, Recordings: &recording.Service{}, Sessions: &sessions.Service{},
		Polls: &polls.Service{}, Chat: &chat.Service{}, Webhooks: &webhooks.Service{},
		LiveKitEvents: &sessions.Tracker{}, LiveKitKeys: auth.NewSimpleKeyProvider(lkKey, lkSecret),
		Streams: eventstream.NewHub(), Metrics: metrics.New(nil, nil), Web: web.Files(), CORSOrigins: []string{"*"},
		DevLobbyApp: "app",
	})
}

// servedOpenAPI fetches GET /openapi.json from api.
func servedOpenAPI(t *testing.T, api *sidecar.Server) []byte {
	t.Helper()
	srv := httptest.NewServer(api.Handler())
	defer srv.Close()
	res, err := http.Get(srv.URL + "/openapi.json")
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	if res.StatusCode != http.StatusOK || res.Header.Get("Content-Type") != "application/json" {
		t.Fatalf("GET /openapi.json = %d %s: %.300s", res.StatusCode, res.Header.Get("Content-Type"), b)
	}
	return b
}

// TestOpenAPIMatchesRoutes: every route the server registers is in the OpenAPI document
// (sidecar/openapi.yaml, as served at /openapi.json), and every operation documented there is a
// registered route. The failure names each route missing from either side.
func TestOpenAPIMatchesRoutes(t *testing.T) {
	api := fullAPI(t)
	var doc struct {
		Paths map[string]map[string]json.RawMessage `json:"paths"`
	}
	if err := json.Unmarshal(servedOpenAPI(t, api), &doc); err != nil {
		t.Fatal(err)
	}
	documented := map[string]bool{}
	for path, item := range doc.Paths {
		// {param} in OpenAPI is :param in gin.
		ginPath := path
		for strings.Contains(ginPath, "{") {
			open, end := strings.Index(ginPath, "{"), strings.Index(ginPath, "}")
			ginPath = ginPath[:open] + ":" + ginPath[open+1:end] + ginPath[end+1:]
		}
		for method := range item {
			switch method {
			case "get", "put", "post", "delete", "options", "head", "patch", "trace":
				documented[strings.ToUpper(method)+" "+ginPath] = true
			}
		}
	}
	registered := map[string]bool{}
	for _, r := range api.Handler().(*gin.Engine).Routes() {
		// A catch-all (*param) is {param} in OpenAPI too.
		registered[r.Method+" "+strings.Replace(r.Path, "*", ":", 1)] = true
	}
	var missing, extra []string
	for r := range registered {
		if !documented[r] {
			missing = append(missing, r)
		}
	}
	for r := range documented {
		if !registered[r] {
			extra = append(extra, r)
		}
	}
	slices.Sort(missing)
	slices.Sort(extra)
	if len(missing) > 0 {
		t.Errorf("%d registered routes are not in sidecar/openapi.yaml (app-level ones go under %s only; "+
			"the /client/v4 and /v2 copies are made when served):\n\t%s", len(missing), "/accounts/{account_id}/realtime/kit/{app_id}",
			strings.Join(missing, "\n\t"))
	}
	if len(extra) > 0 {
		t.Errorf("%d operations of sidecar/openapi.yaml are not registered routes:\n\t%s", len(extra), strings.Join(extra, "\n\t"))
	}
	if len(registered) < 150 {
		t.Errorf("only %d routes registered: the server under test lacks some of its parts", len(registered))
	}
}

// TestOpenAPIDocumentIsValid: the served document is a valid OpenAPI 3.1 document (kin-openapi's
// validation, JSON Schema 2020-12), whose example bodies validate against their schemas, and
// whose operationIds are unique; the check catches an example that does not fit its schema.
func TestOpenAPIDocumentIsValid(t *testing.T) {
	body := servedOpenAPI(t, fullAPI(t))
	doc := loadOpenAPI(t, body)
	if doc.OpenAPI != "3.1.0" || !doc.IsOpenAPI31OrLater() {
		t.Errorf("openapi = %q, want 3.1.0", doc.OpenAPI)
	}
	if err := doc.Validate(t.Context(), openapi3.EnableExamplesValidation()); err != nil {
		t.Fatalf("the document is not valid: %v", err)
	}
	examples := 0
	for _, item := range doc.Paths.Map() {
		for _, op := range item.Operations() {
			if op.RequestBody != nil && op.RequestBody.Value != nil {
				for _, mt := range op.RequestBody.Value.Content {
					if mt.Example != nil {
						examples++
					}
				}
			}
		}
	}
	if examples < 20 {
		t.Errorf("%d request examples, want the main requests to have one", examples)
	}

	// The same check refuses an example that breaks its schema.
	broken := strings.Replace(string(body), `"example":{"mode":"auto","version":1}`, `"example":{"mode":"shuffle","version":1}`, 1)
	if broken == string(body) {
		t.Fatal("the assign example is not in the document as expected")
	}
	if err := loadOpenAPI(t, []byte(broken)).Validate(t.Context(), openapi3.EnableExamplesValidation()); err == nil {
		t.Error("a document whose example breaks its schema validated")
	}
}

func loadOpenAPI(t *testing.T, body []byte) *openapi3.T {
	t.Helper()
	doc, err := openapi3.NewLoader().LoadFromData(body)
	if err != nil {
		t.Fatalf("load the document: %v", err)
	}
	return doc
}
