package sidecar

import (
	_ "embed"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"

	"github.com/gin-gonic/gin"
	"gopkg.in/yaml.v3"
)

// openAPIYAML is the OpenAPI document of the API, with the app-level
// operations written once, under Cloudflare's paths.
//
//go:embed openapi.yaml
var openAPIYAML []byte

// The path prefixes the API answers under (routes): Cloudflare's, the same
// under Cloudflare's SDK base, and Dyte's for the API key's default app.
const (
	accountsPrefix = "/accounts/{account_id}/realtime/kit"
	appPrefix      = accountsPrefix + "/{app_id}"
	cfBasePrefix   = "/client/v4"
	dytePrefix     = "/v2"
)

// openAPIJSON is the served document, made once.
var openAPIJSON, openAPIErr = openAPIDocument(openAPIYAML)

// openAPIDocument returns the served OpenAPI document, as JSON: the YAML
// source with every path under /accounts/ copied under /client/v4, and every
// app-level path copied under /v2 without the account and app parameters
// (Dyte's paths act on the API key's default app). The copies' operationIds
// end in V4 and V2.
func openAPIDocument(src []byte) ([]byte, error) {
	var doc map[string]any
	if err := yaml.Unmarshal(src, &doc); err != nil {
		return nil, fmt.Errorf("sidecar: openapi.yaml: %w", err)
	}
	paths, ok := doc["paths"].(map[string]any)
	if !ok {
		return nil, fmt.Errorf("sidecar: openapi.yaml has no paths")
	}
	for path, item := range paths {
		if !strings.HasPrefix(path, accountsPrefix+"/") {
			continue
		}
		paths[cfBasePrefix+path] = copyPathItem(item, "V4", false)
		if rest, ok := strings.CutPrefix(path, appPrefix); ok {
			paths[dytePrefix+rest] = copyPathItem(item, "V2", true)
		}
	}
	b, err := json.Marshal(doc)
	if err != nil {
		return nil, fmt.Errorf("sidecar: openapi.yaml as JSON: %w", err)
	}
	return b, nil
}

// copyPathItem returns a deep copy of a path item whose operationIds end in
// suffix; dropAccount removes its path-level account_id and app_id
// parameters.
func copyPathItem(item any, suffix string, dropAccount bool) any {
	b, _ := json.Marshal(item) // it came from YAML: it marshals
	var out map[string]any
	_ = json.Unmarshal(b, &out)
	for _, op := range out {
		if op, ok := op.(map[string]any); ok {
			if id, ok := op["operationId"].(string); ok {
				op["operationId"] = id + suffix
			}
		}
	}
	if params, ok := out["parameters"].([]any); dropAccount && ok {
		kept := []any{}
		for _, p := range params {
			if ref, _ := p.(map[string]any)["$ref"].(string); ref == "#/components/parameters/account_id" || ref == "#/components/parameters/app_id" {
				continue
			}
			kept = append(kept, p)
		}
		out["parameters"] = kept
	}
	return out
}

// openAPI serves the OpenAPI document.
func (s *Server) openAPI(c *gin.Context) {
	if openAPIErr != nil {
		writeError(c, openAPIErr)
		return
	}
	c.Data(http.StatusOK, "application/json", openAPIJSON)
}
