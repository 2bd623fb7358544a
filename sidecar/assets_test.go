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

// TestSDKServed: the embedded SDK is served at /sdk/rtk-client.js as JavaScript, with an ETag
// that revalidates, to other origins as http.cors_origins allows; other paths are 404
// envelopes.
func TestSDKServed(t *testing.T) {
	const app = "http://app.example:3000"
	e := newEnv(t, func(d *sidecar.Deps) { d.Web = web.Files(); d.CORSOrigins = []string{app} })
	want, err := fs.ReadFile(web.Files(), "sdk/rtk-client.js")
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(want, []byte("export{")) || !bytes.Contains(want, []byte("RTKClient")) {
		t.Fatalf("the embedded bundle is not the SDK's ES module (%d bytes)", len(want))
	}
	get := func(method, path string, h map[string]string) (*http.Response, []byte) {
		t.Helper()
		req, _ := http.NewRequest(method, e.srv.URL+path, nil)
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
	res, body := get("GET", sidecar.SDKPath+"rtk-client.js", map[string]string{"Origin": app})
	if res.StatusCode != 200 || !bytes.Equal(body, want) || !strings.HasPrefix(res.Header.Get("Content-Type"), "text/javascript") ||
		res.Header.Get("ETag") == "" || res.Header.Get("Cache-Control") != "no-cache" || res.Header.Get("Access-Control-Allow-Origin") != app {
		t.Fatalf("GET /sdk/rtk-client.js: %d, %d bytes, %v", res.StatusCode, len(body), res.Header)
	}
	if res, _ := get("GET", sidecar.SDKPath+"rtk-client.js", map[string]string{"If-None-Match": res.Header.Get("ETag")}); res.StatusCode != 304 {
		t.Errorf("revalidation: %d, want 304", res.StatusCode)
	}
	if res, body := get("HEAD", sidecar.SDKPath+"rtk-client.js", nil); res.StatusCode != 200 || len(body) != 0 || res.ContentLength != int64(len(want)) {
		t.Errorf("HEAD: %d, %d bytes, length %d", res.StatusCode, len(body), res.ContentLength)
	}
	for _, path := range []string{"/sdk/", "/sdk/nope.js", "/sdk/../web.go", "/sdk/%2e%2e/web.go", "/sdk//rtk-client.js", "/sdk/sdk"} {
		wantError(t, e.do("GET", path, "-", nil), 404)
	}
	wantError(t, e.do("POST", sidecar.SDKPath+"rtk-client.js", "-", nil), 405)
}
