package sidecar_test

import (
	"io"
	"net/http"
	"strings"
	"testing"

	"rtk-sidecar/sidecar"
)

// corsRequest sends a request with an Origin header (and, for a preflight,
// the method and headers it asks for) and returns the answer.
func corsRequest(t *testing.T, e *env, method, path, origin string, preflightFor string) *http.Response {
	t.Helper()
	req, err := http.NewRequest(method, e.srv.URL+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	if origin != "" {
		req.Header.Set("Origin", origin)
	}
	if preflightFor != "" {
		req.Header.Set("Access-Control-Request-Method", preflightFor)
		req.Header.Set("Access-Control-Request-Headers", "authorization,content-type")
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	if _, err := io.Copy(io.Discard, res.Body); err != nil {
		t.Fatal(err)
	}
	return res
}

func withOrigins(origins ...string) func(*sidecar.Deps) {
	return func(d *sidecar.Deps) { d.CORSOrigins = origins }
}

// TestCORS: preflights of the participant API, the event stream and the SDK are answered
// for an allowed origin and refused (403) for another; the answers to an allowed origin
// carry Access-Control-Allow-Origin; the REST API answers no origin.
func TestCORS(t *testing.T) {
	const app, other = "http://app.example:3000", "https://evil.example"
	e := newEnv(t, withOrigins(app))
	for _, path := range []string{"/client/v1/join", "/client/v1/events", "/client/v1/connected-meetings/move", "/sdk/rtk-client.js"} {
		res := corsRequest(t, e, "OPTIONS", path, app, "POST")
		h := res.Header
		if res.StatusCode != 204 || h.Get("Access-Control-Allow-Origin") != app || !strings.Contains(h.Get("Access-Control-Allow-Methods"), "POST") ||
			!strings.Contains(h.Get("Access-Control-Allow-Headers"), "Authorization") || !strings.Contains(h.Get("Access-Control-Allow-Headers"), "Content-Type") ||
			h.Get("Access-Control-Max-Age") == "" || !strings.Contains(h.Get("Vary"), "Origin") {
			t.Errorf("preflight of %s from %s: %d %v", path, app, res.StatusCode, h)
		}
		res = corsRequest(t, e, "OPTIONS", path, other, "POST")
		if res.StatusCode != 403 || res.Header.Get("Access-Control-Allow-Origin") != "" {
			t.Errorf("preflight of %s from %s: %d %v", path, other, res.StatusCode, res.Header)
		}
	}
	req, _ := http.NewRequest("OPTIONS", e.srv.URL+"/client/v1/join", nil)
	req.Header.Set("Origin", other)
	req.Header.Set("Access-Control-Request-Method", "POST")
	wantError(t, e.send(req), 403, "origin "+other+" may not call this API (http.cors_origins)")

	// A request from the allowed origin is marked for the browser, errors included; one
	// from another origin is answered without the mark, so the browser withholds it.
	res := corsRequest(t, e, "POST", "/client/v1/join", app, "")
	if res.StatusCode != 401 || res.Header.Get("Access-Control-Allow-Origin") != app || res.Header.Get("Access-Control-Expose-Headers") != "X-Request-Id" {
		t.Errorf("join from %s: %d %v", app, res.StatusCode, res.Header)
	}
	if res := corsRequest(t, e, "POST", "/client/v1/join", other, ""); res.StatusCode != 401 || res.Header.Get("Access-Control-Allow-Origin") != "" {
		t.Errorf("join from %s: %d %v", other, res.StatusCode, res.Header)
	}
	// The REST API is for servers: no CORS there, and an OPTIONS is still 405.
	if res := corsRequest(t, e, "OPTIONS", basePathF+"/meetings", app, "POST"); res.StatusCode != 405 || res.Header.Get("Access-Control-Allow-Origin") != "" {
		t.Errorf("preflight of the REST API: %d %v", res.StatusCode, res.Header)
	}
	if res := corsRequest(t, e, "GET", basePathF+"/meetings", app, ""); res.Header.Get("Access-Control-Allow-Origin") != "" {
		t.Errorf("REST API answered an origin: %v", res.Header)
	}
	// An OPTIONS that is no preflight is what it was: 405.
	if res := corsRequest(t, e, "OPTIONS", "/client/v1/join", "", ""); res.StatusCode != 405 {
		t.Errorf("OPTIONS without an origin: %d", res.StatusCode)
	}

	t.Run("any origin", func(t *testing.T) {
		e := newEnv(t, withOrigins("*"))
		res := corsRequest(t, e, "OPTIONS", "/client/v1/events", other, "GET")
		if res.StatusCode != 204 || res.Header.Get("Access-Control-Allow-Origin") != other {
			t.Errorf("preflight with cors_origins [*]: %d %v", res.StatusCode, res.Header)
		}
	})
	t.Run("no origins", func(t *testing.T) {
		e := newEnv(t, withOrigins())
		if res := corsRequest(t, e, "OPTIONS", "/client/v1/join", app, "POST"); res.StatusCode != 403 {
			t.Errorf("preflight without cors_origins: %d %v", res.StatusCode, res.Header)
		}
	})
}
