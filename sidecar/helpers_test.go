package sidecar_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/rsa"
	"encoding/base64"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gin-gonic/gin"

	"rtk-sidecar/breakouts"
	"rtk-sidecar/breakouts/breakoutstest"
	"rtk-sidecar/bridge"
	"rtk-sidecar/bridge/bridgetest"
	"rtk-sidecar/eventstream"
	"rtk-sidecar/meetings"
	"rtk-sidecar/sidecar"
	"rtk-sidecar/store/sqlstore"
	"rtk-sidecar/tokens"
)

const (
	account   = "acc-1"
	org       = "org-1"
	appID     = "7a1d5b8e-0c2f-4e3a-9b6d-1f2e3d4c5b6a"
	secret    = "test-api-key-0123456789"
	otherAcc  = "acc-2"
	otherApp  = "1b2c3d4e-5f60-4718-8293-a4b5c6d7e8f9"
	otherKey  = "other-api-key-0123456789"
	lkKey     = "lkkey"
	lkSecret  = "lksecret-0123456789-0123456789-0123"
	lkPublic  = "ws://sfu.example:7880"
	bearer    = "Bearer " + secret
	basePathF = "/accounts/" + account + "/realtime/kit/" + appID
)

var (
	keyOnce sync.Once
	testKey *rsa.PrivateKey
)

func signingKey(t *testing.T) *rsa.PrivateKey {
	t.Helper()
	keyOnce.Do(func() {
		k, err := rsa.GenerateKey(rand.Reader, 2048)
		if err != nil {
			panic(err)
		}
		testKey = k
	})
	return testKey
}

// env is a real sidecar (real store, service and bridge) over an in-memory LiveKit.
type env struct {
	t     *testing.T
	srv   *httptest.Server
	rooms *bridgetest.Rooms
	svc   *meetings.Service
	mover *breakoutstest.Mover
	hub   *eventstream.Hub
	api   *sidecar.Server
}

// newMeetings opens a store in a SQLite file of the test (dbPath) and a meetings service over it,
// whose bridge manages rooms, with the apps of both test accounts.
func newMeetings(t *testing.T, rooms bridge.RoomClient, log *slog.Logger) (st *sqlstore.DB, dbPath string, br *bridge.Bridge, svc *meetings.Service) {
	t.Helper()
	gin.SetMode(gin.TestMode)
	ctx := context.Background()
	dbPath = filepath.Join(t.TempDir(), "rtk.db")
	st, err := sqlstore.Open(ctx, "sqlite:"+dbPath)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	br = bridge.New(rooms, bridge.Keys{APIKey: lkKey, APISecret: lkSecret}, lkPublic)
	svc = meetings.New(st, tokens.NewIssuer(signingKey(t), time.Hour), br, log)
	for _, a := range [][2]string{{account, appID}, {otherAcc, otherApp}} {
		if _, err := svc.EnsureApp(ctx, a[0], a[1], "app"); err != nil {
			t.Fatal(err)
		}
	}
	return st, dbPath, br, svc
}

// newEnv starts the sidecar; opts change its dependencies first.
func newEnv(t *testing.T, opts ...func(*sidecar.Deps)) *env {
	t.Helper()
	log := slog.New(slog.NewTextHandler(testWriter{t}, nil))
	rooms := bridgetest.NewRooms()
	st, _, br, svc := newMeetings(t, rooms, log)
	keys := []sidecar.APIKey{
		sidecar.NewAPIKey(account, org, appID, secret),
		sidecar.NewAPIKey(otherAcc, "org-2", otherApp, otherKey),
	}
	mover := breakoutstest.NewMover()
	hub := eventstream.NewHub()
	bo := breakouts.New(st, br, mover, log, breakouts.WithStreams(hub))
	runCtx, stop := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); _ = bo.Run(runCtx) }()
	t.Cleanup(func() { stop(); <-done })
	deps := sidecar.Deps{Meetings: svc, Keys: keys, Log: log, Breakouts: bo, Streams: hub, Checks: map[string]sidecar.Check{
		"livekit": func(ctx context.Context) error { _, err := rooms.ListRooms(ctx, nil); return err },
	}}
	for _, o := range opts {
		o(&deps)
	}
	api := sidecar.New(deps)
	srv := httptest.NewServer(api.Handler())
	t.Cleanup(srv.Close)
	return &env{t: t, srv: srv, rooms: rooms, svc: svc, mover: mover, hub: hub, api: api}
}

// response is a decoded API answer.
type response struct {
	Status int
	Body   map[string]any
	Raw    []byte
}

func (r response) data() map[string]any {
	d, _ := r.Body["data"].(map[string]any)
	return d
}

func (r response) list() []any {
	d, _ := r.Body["data"].([]any)
	return d
}

func (r response) errMessage() string {
	e, _ := r.Body["error"].(map[string]any)
	s, _ := e["message"].(string)
	return s
}

// do sends a request with the test key (auth "" means the default bearer;
// "-" means none) and decodes the JSON answer.
func (e *env) do(method, path, auth string, body any) response {
	e.t.Helper()
	var rd io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		rd = strings.NewReader(b)
	default:
		raw, err := json.Marshal(b)
		if err != nil {
			e.t.Fatal(err)
		}
		rd = bytes.NewReader(raw)
	}
	req, err := http.NewRequest(method, e.srv.URL+path, rd)
	if err != nil {
		e.t.Fatal(err)
	}
	switch auth {
	case "":
		req.Header.Set("Authorization", bearer)
	case "-":
	default:
		req.Header.Set("Authorization", auth)
	}
	if rd != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	return e.send(req)
}

// send sends a request and decodes the JSON answer.
func (e *env) send(req *http.Request) response {
	e.t.Helper()
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer res.Body.Close()
	raw, _ := io.ReadAll(res.Body)
	out := response{Status: res.StatusCode, Raw: raw}
	if err := json.Unmarshal(raw, &out.Body); err != nil {
		e.t.Fatalf("%s %s: %d, body is not JSON: %q", req.Method, req.URL.Path, res.StatusCode, raw)
	}
	return out
}

// must sends a request and fails the test unless the status is want.
func (e *env) must(want int, method, path string, body any) response {
	e.t.Helper()
	r := e.do(method, path, "", body)
	if r.Status != want {
		e.t.Fatalf("%s %s: status %d, want %d: %s", method, path, r.Status, want, r.Raw)
	}
	if r.Body["success"] != true {
		e.t.Fatalf("%s %s: success is not true: %s", method, path, r.Raw)
	}
	return r
}

// wantError checks an error envelope: status, success false, code = status,
// and a message containing every part of want.
func wantError(t *testing.T, r response, status int, want ...string) {
	t.Helper()
	if r.Status != status {
		t.Fatalf("status %d, want %d: %s", r.Status, status, r.Raw)
	}
	if r.Body["success"] != false {
		t.Fatalf("success is not false: %s", r.Raw)
	}
	e, ok := r.Body["error"].(map[string]any)
	if !ok {
		t.Fatalf("no error object: %s", r.Raw)
	}
	if code, _ := e["code"].(float64); int(code) != status {
		t.Fatalf("error.code %v, want %d", e["code"], status)
	}
	msg, _ := e["message"].(string)
	for _, w := range want {
		if !strings.Contains(msg, w) {
			t.Fatalf("error message %q does not contain %q", msg, w)
		}
	}
	if errs, ok := r.Body["errors"].([]any); !ok || len(errs) != 1 {
		t.Fatalf("errors (Cloudflare shape) missing: %s", r.Raw)
	}
}

func basic(orgID, key string) string {
	return "Basic " + base64.StdEncoding.EncodeToString([]byte(orgID+":"+key))
}

// createMeeting creates a meeting and returns its id.
func (e *env) createMeeting(title string) string {
	e.t.Helper()
	r := e.must(201, "POST", basePathF+"/meetings", map[string]any{"title": title})
	return r.data()["id"].(string)
}

// addParticipant adds a participant and returns (id, token).
func (e *env) addParticipant(meetingID, custom, preset string) (string, string) {
	e.t.Helper()
	r := e.must(201, "POST", basePathF+"/meetings/"+meetingID+"/participants",
		map[string]any{"custom_participant_id": custom, "preset_name": preset, "name": "Name " + custom})
	return r.data()["id"].(string), r.data()["token"].(string)
}

// testWriter sends log output to the test log, shown only on failure.
type testWriter struct{ t *testing.T }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Helper()
	w.t.Log(strings.TrimSpace(string(p)))
	return len(p), nil
}
