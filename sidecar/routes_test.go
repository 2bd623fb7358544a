package sidecar_test

import (
	"bufio"
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/livekit/protocol/auth"

	"rtk-sidecar/breakouts"
	"rtk-sidecar/breakouts/breakoutstest"
	"rtk-sidecar/bridge/bridgetest"
	"rtk-sidecar/chat"
	"rtk-sidecar/eventstream"
	"rtk-sidecar/meetings"
	"rtk-sidecar/metrics"
	"rtk-sidecar/polls"
	"rtk-sidecar/presets"
	"rtk-sidecar/recording"
	"rtk-sidecar/sessions"
	"rtk-sidecar/sidecar"
	"rtk-sidecar/web"
	"rtk-sidecar/webhooks"
)

// fullEnv is a sidecar with every part of the API wired (sidecar.Deps all set), served by
// Server.Serve on a real TCP listener, over a store in a SQLite file.
type fullEnv struct {
	url    string
	dbPath string
	api    *sidecar.Server
	svc    *meetings.Service
}

func newFullEnv(t *testing.T) *fullEnv {
	t.Helper()
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	sfu := bridgetest.NewSFU()
	st, dbPath, br, svc := newMeetings(t, sfu, log)
	signer, err := webhooks.NewSigner(signingKey(t))
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	base := "http://" + ln.Addr().String()
	links := recording.NewSigner([]byte(recSigningKey), base, time.Hour)
	outbox := webhooks.NewOutbox(st, signer, webhooks.Options{}, log)
	tracker := sessions.NewTracker(st, sfu, outbox, log, sessions.TrackerOptions{})
	hub := eventstream.NewHub()
	bo := breakouts.New(st, br, breakoutstest.NewMover(), log, breakouts.WithStreams(hub))
	recs := recording.New(st, &fakeRecorder{jobs: map[string]recording.Job{}}, nil,
		recording.Options{OutputDir: t.TempDir(), Log: log, Signer: links})
	deps := sidecar.Deps{
		Meetings: svc, Log: log,
		Keys:      []sidecar.APIKey{sidecar.NewAPIKey(account, org, appID, secret), sidecar.NewAPIKey(otherAcc, "org-2", otherApp, otherKey)},
		Checks:    map[string]sidecar.Check{"store": func(ctx context.Context) error { _, err := st.GetApp(ctx, appID); return err }},
		Breakouts: bo, Recordings: recs,
		Sessions: sessions.NewService(st, sfu, tracker, log), Polls: polls.New(st, sfu, &agentFake{conns: map[string]*agentConnFake{}}, log),
		Chat:          chat.New(st, sfu, links.For("rtk-chat-download", chat.DownloadPath), log),
		Webhooks:      webhooks.NewService(st, signer, outbox),
		LiveKitEvents: tracker, LiveKitKeys: auth.NewSimpleKeyProvider(lkKey, lkSecret),
		Streams: hub, Metrics: metrics.New(st, nil), Web: web.Files(), CORSOrigins: []string{"https://app.example"},
		DevLobbyApp: appID,
	}
	// Every part is wired, so that every route the API has is registered: a part added to Deps
	// later must be added here too.
	v := reflect.ValueOf(deps)
	for i := range v.NumField() {
		if v.Field(i).IsZero() {
			t.Fatalf("the test's sidecar.Deps leaves %s unset: wire it so that its routes are tested", v.Type().Field(i).Name)
		}
	}
	api := sidecar.New(deps)
	runCtx, stop := context.WithCancel(context.Background())
	done := make(chan error, 3)
	go func() { done <- api.Serve(runCtx, ln, 5*time.Second) }()
	go func() { done <- bo.Run(runCtx) }()
	go func() { done <- recs.Run(runCtx) }()
	t.Cleanup(func() {
		stop()
		for range 3 {
			if err := <-done; err != nil {
				t.Errorf("stop: %v", err)
			}
		}
	})
	return &fullEnv{url: base, dbPath: dbPath, api: api, svc: svc}
}

// storeVersion returns a number that changes whenever anyone commits a change to the store
// (SQLite's data_version, read on a connection of its own).
type storeVersion func() int64

func (e *fullEnv) storeVersion(t *testing.T) storeVersion {
	t.Helper()
	db, err := sql.Open("sqlite", e.dbPath)
	if err != nil {
		t.Fatal(err)
	}
	db.SetMaxOpenConns(1) // data_version is per connection
	t.Cleanup(func() { db.Close() })
	return func() int64 {
		var v int64
		if err := db.QueryRow(`PRAGMA data_version`).Scan(&v); err != nil {
			t.Fatal(err)
		}
		return v
	}
}

// hostileBody is a request body that every endpoint refuses.
type hostileBody struct {
	name   string
	body   string
	status int
}

func hostileBodies() []hostileBody {
	const deep = 100_000
	nested := strings.Repeat(`{"a":`, deep) + "1" + strings.Repeat("}", deep)
	huge := `{"title":"` + strings.Repeat("x", 10<<20) + `"}`
	return []hostileBody{
		{"malformed JSON", `{"title": "x",`, 400},
		{"not JSON", `title=x&preset_name=admin`, 400},
		{"an array", `[{"title": "x"}]`, 400},
		{"a string", `"x"`, 400},
		{"a number", `42`, 400},
		{"null", `null`, 400},
		{"two objects", `{} {}`, 400},
		{"10 MB", huge, 413},
		{"invalid UTF-8", "{\"title\": \"\xff\xfe\xfd\", \"name\": \"\xc3\x28\"}", 400},
		{"deeply nested", nested, 400},
		{"nested just too deep", strings.Repeat("[", 65) + strings.Repeat("]", 65), 400},
	}
}

// hostileIDs are path parameters that name nothing.
var hostileIDs = []string{
	"../../../etc/passwd",
	"..",
	`"'; DROP TABLE meetings; --`,
	strings.Repeat("a", 5000),
	"%2e%2e%2f%2e%2e",
	"<script>alert(1)</script>",
}

// TestEveryRouteRefusesHostileInput sends every route the API registers (enumerated from gin,
// so routes added later are covered) hostile bodies and hostile path parameters, with valid
// credentials: every answer is a 4xx in RealtimeKit's error envelope, never a 5xx or a dropped
// connection, and the store is the same after each. The sidecar is served by Server.Serve over
// TCP, so a 10 MB body is answered with its 413, not a reset connection.
func TestEveryRouteRefusesHostileInput(t *testing.T) {
	e := newFullEnv(t)
	ctx := context.Background()
	version := e.storeVersion(t)
	v0 := version()
	m, err := e.svc.CreateMeeting(ctx, appID, meetings.MeetingInput{Title: "Main"})
	if err != nil {
		t.Fatal(err)
	}
	if version() == v0 {
		t.Fatal("the store's data_version does not show a change")
	}
	custom, preset := "p1", presets.GroupCallHost
	p, ptok, err := e.svc.AddParticipant(ctx, appID, m.ID, meetings.ParticipantInput{CustomParticipantID: &custom, PresetName: &preset})
	if err != nil {
		t.Fatal(err)
	}
	valid := map[string]string{"account_id": account, "app_id": appID, "meeting_id": m.ID, "participant_id": p.ID, "preset_id": p.PresetID}

	routes := e.api.Handler().(*gin.Engine).Routes()
	if len(routes) < 50 {
		t.Fatalf("gin lists %d routes", len(routes))
	}
	hc := &http.Client{Timeout: time.Minute}
	before := version()
	bodies := hostileBodies()
	send := func(t *testing.T, method, path string, body io.Reader) (int, []byte) {
		t.Helper()
		req, err := http.NewRequest(method, e.url+path, body)
		if err != nil {
			t.Fatal(err)
		}
		if strings.HasPrefix(path, "/client/") {
			req.Header.Set("Authorization", "Bearer "+ptok)
		} else {
			req.Header.Set("Authorization", bearer)
		}
		req.Header.Set("Content-Type", "application/json")
		res, err := hc.Do(req)
		if err != nil {
			t.Fatalf("%s %.80s: %v", method, path, err)
		}
		defer res.Body.Close()
		raw, err := io.ReadAll(res.Body)
		if err != nil {
			t.Fatalf("%s %.80s: reading the answer: %v", method, path, err)
		}
		return res.StatusCode, raw
	}
	check := func(t *testing.T, method, path string, status int, raw []byte, want int) {
		t.Helper()
		var env struct {
			Success *bool `json:"success"`
			Error   struct {
				Code    int    `json:"code"`
				Message string `json:"message"`
			} `json:"error"`
		}
		switch {
		case status < 400 || status >= 500 || (want != 0 && status != want):
			t.Errorf("%s %.100s: status %d, want %s: %.300s", method, path, status, or(want), raw)
		case strings.HasPrefix(method, http.MethodHead):
			// The answer to HEAD has no body.
		case json.Unmarshal(raw, &env) != nil || env.Success == nil || *env.Success || env.Error.Code != status || env.Error.Message == "":
			t.Errorf("%s %.100s: %d is not the error envelope: %.300s", method, path, status, raw)
		}
		if version() != before {
			t.Fatalf("%s %.100s changed the store", method, path)
		}
	}
	// pathFor fills a route's parameters: valid ones, but param replaced by value.
	pathFor := func(route, param, value string) string {
		parts := strings.Split(route, "/")
		for i, part := range parts {
			if len(part) < 2 || (part[0] != ':' && part[0] != '*') {
				continue
			}
			name := part[1:]
			v := valid[name]
			if v == "" {
				v = "none"
			}
			if name == param {
				v = value
			}
			parts[i] = url.PathEscape(v)
		}
		return strings.Join(parts, "/")
	}
	for _, r := range routes {
		t.Run(r.Method+" "+r.Path, func(t *testing.T) {
			path := pathFor(r.Path, "", "")
			for _, b := range bodies {
				status, raw := send(t, r.Method, path, strings.NewReader(b.body))
				check(t, r.Method+" "+b.name, path, status, raw, b.status)
			}
			for _, seg := range strings.Split(r.Path, "/") {
				if len(seg) < 2 || (seg[0] != ':' && seg[0] != '*') {
					continue
				}
				for _, id := range hostileIDs {
					hp := pathFor(r.Path, seg[1:], id)
					var body io.Reader
					if r.Method != http.MethodGet && r.Method != http.MethodDelete {
						body = bytes.NewReader([]byte(`{}`))
					}
					status, raw := send(t, r.Method, hp, body)
					check(t, r.Method, hp, status, raw, 0)
				}
			}
		})
	}
}

func or(status int) string {
	if status == 0 {
		return "a 4xx"
	}
	return fmt.Sprint(status)
}

// TestBodyTooLarge: a client that sends its whole body before it reads the answer, as many do,
// gets the 413 of a 10 MB body, in the envelope: the server reads the body to its end (up to a
// bound) before it answers and closes. Had it answered after the first megabyte and closed, the
// client, still sending, would get a reset connection instead.
func TestBodyTooLarge(t *testing.T) {
	e := newFullEnv(t)
	addr := strings.TrimPrefix(e.url, "http://")
	for _, path := range []string{basePathF + "/meetings", "/client/v1/join", "/healthz"} {
		t.Run(path, func(t *testing.T) {
			conn, err := net.Dial("tcp", addr)
			if err != nil {
				t.Fatal(err)
			}
			defer conn.Close()
			req, err := http.NewRequest(http.MethodPost, e.url+path, strings.NewReader(`{"title":"`+strings.Repeat("x", 10<<20)+`"}`))
			if err != nil {
				t.Fatal(err)
			}
			req.Header.Set("Authorization", bearer)
			if err := req.Write(conn); err != nil { // the whole request, body included
				t.Fatalf("sending the body: %v", err)
			}
			res, err := http.ReadResponse(bufio.NewReader(conn), req)
			if err != nil {
				t.Fatalf("reading the answer: %v", err)
			}
			defer res.Body.Close()
			raw, _ := io.ReadAll(res.Body)
			var env struct {
				Success bool `json:"success"`
				Error   struct {
					Code    int    `json:"code"`
					Message string `json:"message"`
				} `json:"error"`
			}
			if res.StatusCode != 413 || json.Unmarshal(raw, &env) != nil || env.Success || env.Error.Code != 413 ||
				!strings.Contains(env.Error.Message, "larger than") {
				t.Errorf("%d %s, want 413 in the envelope", res.StatusCode, raw)
			}
		})
	}
}
