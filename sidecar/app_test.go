package sidecar_test

import (
	"bytes"
	"io"
	"io/fs"
	"net/http"
	"strings"
	"testing"

	"rtk-sidecar/sidecar"
	"rtk-sidecar/web"
)

// TestAppServed: the meeting app's page is served at / and /meeting (the same page, which
// routes by its path), its files at /app/, all revalidated by ETag; other paths are 404
// envelopes.
func TestAppServed(t *testing.T) {
	e := newEnv(t, func(d *sidecar.Deps) { d.Web = web.Files() })
	page, err := fs.ReadFile(web.Files(), "app/index.html")
	if err != nil {
		t.Fatal(err)
	}
	get := func(path string, h map[string]string) (*http.Response, []byte) {
		t.Helper()
		req, _ := http.NewRequest("GET", e.srv.URL+path, nil)
		for k, v := range h {
			req.Header.Set(k, v)
		}
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		b, _ := io.ReadAll(res.Body)
		return res, b
	}
	for _, path := range []string{"/", "/meeting", "/meeting?token=abc"} {
		res, body := get(path, nil)
		if res.StatusCode != 200 || !bytes.Equal(body, page) || !strings.HasPrefix(res.Header.Get("Content-Type"), "text/html") ||
			res.Header.Get("ETag") == "" || res.Header.Get("Referrer-Policy") != "no-referrer" {
			t.Fatalf("GET %s: %d, %d bytes, %v", path, res.StatusCode, len(body), res.Header)
		}
	}
	if !bytes.Contains(page, []byte(sidecar.AppPath+"app.js")) {
		t.Fatalf("the page does not load %sapp.js: %s", sidecar.AppPath, page)
	}
	res, body := get(sidecar.AppPath+"app.js", nil)
	if res.StatusCode != 200 || !strings.HasPrefix(res.Header.Get("Content-Type"), "text/javascript") || !bytes.Contains(body, []byte(`import("/sdk/rtk-client.js")`)) {
		t.Fatalf("GET app.js: %d, %v, %d bytes", res.StatusCode, res.Header, len(body))
	}
	if res, _ := get(sidecar.AppPath+"app.js", map[string]string{"If-None-Match": res.Header.Get("ETag")}); res.StatusCode != 304 {
		t.Errorf("revalidation: %d, want 304", res.StatusCode)
	}
	if res, _ := get(sidecar.AppPath+"app.css", nil); res.StatusCode != 200 || !strings.HasPrefix(res.Header.Get("Content-Type"), "text/css") {
		t.Errorf("GET app.css: %d %v", res.StatusCode, res.Header)
	}
	for _, path := range []string{"/app/", "/app/nope.js", "/app/../web.go", "/app/%2e%2e/web.go", "/app//app.js", "/meeting/x", "/index.html"} {
		wantError(t, e.do("GET", path, "-", nil), 404)
	}
	wantError(t, e.do("POST", "/meeting", "-", nil), 405)
}

// TestDevLobby: with Deps.DevLobbyApp, POST /dev/lobby/meetings creates a meeting with a host
// and N participants of the default presets, whose tokens join, and adds one more (a late
// joiner) by name; bad counts and names are 400s, an unknown meeting 404; without it the routes
// are not there (404).
func TestDevLobby(t *testing.T) {
	e := newEnv(t, func(d *sidecar.Deps) { d.DevLobbyApp = appID })
	r := e.do("POST", sidecar.DevLobbyPath, "-", map[string]any{"participants": 3, "title": "Try"})
	if r.Status != 201 {
		t.Fatalf("create: %d %s", r.Status, r.Raw)
	}
	d := r.data()
	ps, _ := d["participants"].([]any)
	if d["title"] != "Try" || d["meeting_id"] == "" || len(ps) != 4 {
		t.Fatalf("answer: %s", r.Raw)
	}
	for i, x := range ps {
		p := x.(map[string]any)
		want := "group_call_participant"
		if i == 0 {
			want = "group_call_host"
		}
		if p["preset_name"] != want || p["token"] == "" || p["name"] == "" {
			t.Errorf("participant %d: %v", i, p)
		}
		j := e.do("POST", "/client/v1/join", "Bearer "+p["token"].(string), map[string]any{})
		if j.Status != 200 {
			t.Errorf("participant %d joins: %d %s", i, j.Status, j.Raw)
		}
	}
	m := e.must(200, "GET", basePathF+"/meetings/"+d["meeting_id"].(string)+"/participants", nil)
	if len(m.list()) != 4 {
		t.Errorf("the meeting has %d participants, want 4", len(m.list()))
	}
	// A late joiner: one more participant in the meeting, whose token joins.
	add := sidecar.DevLobbyPath + "/" + d["meeting_id"].(string) + "/participants"
	late := e.do("POST", add, "-", map[string]any{"name": "Participant 4"})
	if late.Status != 201 || late.data()["name"] != "Participant 4" || late.data()["preset_name"] != "group_call_participant" || late.data()["token"] == "" {
		t.Fatalf("add a participant: %d %s", late.Status, late.Raw)
	}
	if j := e.do("POST", "/client/v1/join", "Bearer "+late.data()["token"].(string), map[string]any{}); j.Status != 200 {
		t.Errorf("the added participant joins: %d %s", j.Status, j.Raw)
	}
	if m := e.must(200, "GET", basePathF+"/meetings/"+d["meeting_id"].(string)+"/participants", nil); len(m.list()) != 5 {
		t.Errorf("after the addition the meeting has %d participants, want 5", len(m.list()))
	}
	wantError(t, e.do("POST", add, "-", map[string]any{"name": "  "}), 400, "name is required")
	wantError(t, e.do("POST", add, "-", map[string]any{"name": 3}), 400)
	wantError(t, e.do("POST", sidecar.DevLobbyPath+"/no-such-meeting/participants", "-", map[string]any{"name": "X"}), 404)
	if r := e.do("POST", sidecar.DevLobbyPath, "-", nil); r.Status != 201 || len(r.data()["participants"].([]any)) != 7 {
		t.Errorf("default: %d %s, want a host and 6", r.Status, r.Raw)
	}
	for _, n := range []any{-1, 21, "3", 1.5} {
		wantError(t, e.do("POST", sidecar.DevLobbyPath, "-", map[string]any{"participants": n}), 400)
	}
	off := newEnv(t)
	wantError(t, off.do("POST", sidecar.DevLobbyPath, "-", map[string]any{}), 404)
	wantError(t, off.do("POST", add, "-", map[string]any{"name": "X"}), 404)
}
