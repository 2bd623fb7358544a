package main

import (
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"sync/atomic"
	"testing"
	"time"
)

func TestQuantile(t *testing.T) {
	var d []time.Duration
	for i := 1; i <= 100; i++ {
		d = append(d, time.Duration(i)*time.Millisecond)
	}
	for _, tc := range []struct {
		q    float64
		want time.Duration
	}{{0.5, 50 * time.Millisecond}, {0.99, 99 * time.Millisecond}, {1, 100 * time.Millisecond}, {0, time.Millisecond}} {
		if got := quantile(d, tc.q); got != tc.want {
			t.Errorf("quantile(1..100 ms, %v) = %v, want %v", tc.q, got, tc.want)
		}
	}
	if got := quantile(nil, 0.5); got != 0 {
		t.Errorf("quantile of nothing = %v, want 0", got)
	}
}

func TestWithSearchPath(t *testing.T) {
	got, err := withSearchPath("postgres://root@127.0.0.1:5432/test?sslmode=disable", "benchapi_x")
	if err != nil || got != "postgres://root@127.0.0.1:5432/test?search_path=benchapi_x&sslmode=disable" {
		t.Fatalf("withSearchPath = %q, %v", got, err)
	}
}

// loadConn sends requests on one kept-alive connection and reads bodies of
// a known length and chunked ones.
func TestLoadConn(t *testing.T) {
	var conns atomic.Int32
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		if r.Header.Get("Authorization") != "Bearer "+apiSecret {
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		if r.URL.Path == "/chunked" {
			w.WriteHeader(http.StatusCreated)
			for range 3 {
				w.Write([]byte("part "))
				w.(http.Flusher).Flush()
			}
			return
		}
		w.Write(append([]byte(r.Method+" "), b...))
	}))
	srv.Config.ConnState = func(_ net.Conn, s http.ConnState) {
		if s == http.StateNew {
			conns.Add(1)
		}
	}
	srv.Start()
	defer srv.Close()

	l := newLoadConn(srv.URL)
	defer l.close()
	for i := range 3 {
		status, body, err := l.do(http.MethodPost, "/x", []byte(fmt.Sprintf(`{"n":%d}`, i)))
		if err != nil || status != http.StatusOK || string(body) != fmt.Sprintf(`POST {"n":%d}`, i) {
			t.Fatalf("POST: %d %q %v", status, body, err)
		}
	}
	status, body, err := l.do(http.MethodGet, "/chunked", nil)
	if err != nil || status != http.StatusCreated || string(body) != "part part part " {
		t.Fatalf("chunked GET: %d %q %v", status, body, err)
	}
	status, body, err = l.do(http.MethodGet, "/x", nil)
	if err != nil || status != http.StatusOK || string(body) != "GET " {
		t.Fatalf("GET: %d %q %v", status, body, err)
	}
	if n := conns.Load(); n != 1 {
		t.Fatalf("%d connections, want 1 kept alive", n)
	}
}

func TestParseStat(t *testing.T) {
	line := []byte("4242 (post gres) (x)) S 1 4242 4242 0 -1 4194560 1200 0 0 0 150 37 0 0 20 0 1 0 100 1000 10 18446744073709551615\n")
	cpu, comm, err := parseStat(line)
	if err != nil || comm != "post gres) (x)" || cpu != 1870*time.Millisecond {
		t.Fatalf("parseStat = %v, %q, %v; want 1.87s, %q", cpu, comm, err, "post gres) (x)")
	}
	if _, _, err := parseStat([]byte("1 (a) S 1 2")); err == nil {
		t.Error("parseStat of a short line: no error")
	}
	cpu, _, err = procCPU(os.Getpid())
	if err != nil || cpu < 0 {
		t.Errorf("procCPU(self) = %v, %v", cpu, err)
	}
}
