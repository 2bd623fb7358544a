package sidecar_test

import (
	"bufio"
	"context"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"rtk-sidecar/eventstream"
)

// openStream opens GET /client/v1/events with auth and returns the answer;
// the caller closes its body.
func openStream(t *testing.T, url, auth string) *http.Response {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	req, err := http.NewRequestWithContext(ctx, "GET", url+"/client/v1/events", nil)
	if err != nil {
		t.Fatal(err)
	}
	if auth != "" {
		req.Header.Set("Authorization", auth)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { res.Body.Close() })
	return res
}

// readEvent reads the next event (comments skipped) as its field lines.
func readEvent(t *testing.T, r *bufio.Reader) []string {
	t.Helper()
	var lines []string
	for {
		line, err := r.ReadString('\n')
		if err != nil {
			t.Fatalf("stream ended: %v (read %q)", err, lines)
		}
		line = strings.TrimRight(line, "\n")
		switch {
		case line == "" && len(lines) > 0:
			return lines
		case line == "" || strings.HasPrefix(line, ":"):
		default:
			lines = append(lines, line)
		}
	}
}

func TestEventStream(t *testing.T) {
	e := newEnv(t)
	mid := e.createMeeting("Stream")
	pid, tok := e.addParticipant(mid, "p-1", "group_call_participant")

	res := openStream(t, e.srv.URL, "Bearer "+tok)
	if res.StatusCode != 200 || res.Header.Get("Content-Type") != "text/event-stream" {
		t.Fatalf("status %d, content type %q", res.StatusCode, res.Header.Get("Content-Type"))
	}
	// The headers came, so the stream is registered, under the participant's id.
	if n := e.hub.Open(pid); n != 1 {
		t.Fatalf("%d streams open for %s", n, pid)
	}
	r := bufio.NewReader(res.Body)
	if n := e.hub.Send(pid, eventstream.Message{Event: "rtk.move", ID: "mv-1", Data: []byte(`{"moveId":"mv-1"}`)}); n != 1 {
		t.Fatalf("Send reached %d streams", n)
	}
	e.hub.Send(pid, eventstream.Message{Event: "other", Data: []byte("a\nb")})
	want := [][]string{
		{"event: rtk.move", "id: mv-1", `data: {"moveId":"mv-1"}`},
		{"event: other", "data: a", "data: b"},
	}
	for _, w := range want {
		if got := readEvent(t, r); strings.Join(got, "|") != strings.Join(w, "|") {
			t.Errorf("event %q, want %q", got, w)
		}
	}

	// The client goes: the stream is closed on the server.
	res.Body.Close()
	deadline := time.Now().Add(2 * time.Second)
	for e.hub.Open(pid) != 0 && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	if n := e.hub.Open(pid); n != 0 {
		t.Errorf("%d streams still open after the client left", n)
	}
}

func TestEventStreamErrors(t *testing.T) {
	e := newEnv(t)
	mid := e.createMeeting("Stream")
	pid, tok := e.addParticipant(mid, "p-1", "group_call_participant")
	for _, tc := range []struct{ name, auth, msg string }{
		{"no token", "-", "invalid participant token"},
		{"bad token", "Bearer garbage", "invalid participant token"},
		{"API key instead", "", "invalid participant token"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			wantError(t, e.do("GET", "/client/v1/events", tc.auth, nil), 401, tc.msg)
		})
	}
	e.must(200, "DELETE", basePathF+"/meetings/"+mid+"/participants/"+pid, nil)
	wantError(t, e.do("GET", "/client/v1/events", "Bearer "+tok, nil), 401, "no longer exists")
	if n := e.hub.Open(pid); n != 0 {
		t.Errorf("%d streams open for a refused client", n)
	}
}

// TestEventStreamEndsAtShutdown: Serve's drain does not wait for open streams.
func TestEventStreamEndsAtShutdown(t *testing.T) {
	e := newEnv(t)
	mid := e.createMeeting("Stream")
	_, tok := e.addParticipant(mid, "p-1", "group_call_participant")
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	served := make(chan error, 1)
	go func() { served <- e.api.Serve(ctx, ln, 10*time.Second) }()
	res := openStream(t, "http://"+ln.Addr().String(), "Bearer "+tok)
	if res.StatusCode != 200 {
		t.Fatalf("status %d", res.StatusCode)
	}
	start := time.Now()
	cancel()
	select {
	case err := <-served:
		if err != nil {
			t.Fatalf("Serve: %v", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Serve did not return 5 s after its context ended: the stream held the drain")
	}
	if d := time.Since(start); d > time.Second {
		t.Errorf("shutdown took %s", d)
	}
}
