package sidecar_test

import (
	"bufio"
	"context"
	"encoding/json"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"rtk-sidecar/eventstream"
	"rtk-sidecar/presets"
	"rtk-sidecar/protocol"
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

// readEvent reads the next event (comments skipped) as its field lines; it
// fails the test if none comes within 5 s.
func readEvent(t *testing.T, r *bufio.Reader) []string {
	t.Helper()
	type result struct {
		lines []string
		err   error
	}
	c := make(chan result, 1)
	go func() { // ends with the stream, at the latest when the test closes it
		var lines []string
		for {
			line, err := r.ReadString('\n')
			if err != nil {
				c <- result{lines, err}
				return
			}
			line = strings.TrimRight(line, "\n")
			switch {
			case line == "" && len(lines) > 0:
				c <- result{lines, nil}
				return
			case line == "" || strings.HasPrefix(line, ":"):
			default:
				lines = append(lines, line)
			}
		}
	}()
	select {
	case res := <-c:
		if res.err != nil {
			t.Fatalf("stream ended: %v (read %q)", res.err, res.lines)
		}
		return res.lines
	case <-time.After(5 * time.Second):
		t.Fatal("no event within 5 s")
		return nil
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

// A family's events reach the event streams of its participants, as the
// same packets as over LiveKit data; the streams of other meetings get none.
func TestEventStreamCarriesFamilyEvents(t *testing.T) {
	e := newEnv(t)
	mid := e.createMeeting("Family")
	_, tok := e.addParticipant(mid, "p-1", presets.GroupCallParticipant)
	other := e.createMeeting("Elsewhere")
	qid, qtok := e.addParticipant(other, "q-1", presets.GroupCallParticipant)
	if r := e.joinAs(tok); r.Status != 200 { // opens the LiveKit room, for the LiveKit copy
		t.Fatalf("join: %s", r.Raw)
	}
	pr := bufio.NewReader(openStream(t, e.srv.URL, "Bearer "+tok).Body)
	qr := bufio.NewReader(openStream(t, e.srv.URL, "Bearer "+qtok).Body)

	e.must(201, "POST", basePathF+"/meetings/"+mid+"/connected-meetings",
		map[string]any{"version": 0, "meetings": []any{map[string]any{"title": "Room A"}}})
	got := readEvent(t, pr)
	if len(got) != 2 || got[0] != "event: "+protocol.EventsTopic {
		t.Fatalf("event %q, want one %s event with one data line", got, protocol.EventsTopic)
	}
	var ev struct {
		protocol.Event
		Data protocol.State `json:"data"`
	}
	data := strings.TrimPrefix(got[1], "data: ")
	if err := json.Unmarshal([]byte(data), &ev); err != nil {
		t.Fatal(err)
	}
	if ev.V != protocol.Version || ev.Type != protocol.EventStateUpdate || ev.Data.Version != 1 ||
		len(ev.Data.Meetings) != 1 || ev.Data.Meetings[0].Title != "Room A" {
		t.Fatalf("event %s, want the stateUpdate of version 1 with Room A", data)
	}
	waitFor(t, "the LiveKit copy", func() bool { return len(e.rooms.Packets()) > 0 })
	if lk := e.rooms.Packets()[0]; lk.Room != mid || lk.Topic != protocol.EventsTopic || string(lk.Data) != data {
		t.Errorf("LiveKit packet %s %s %s, want the stream's to %s", lk.Room, lk.Topic, lk.Data, mid)
	}

	// q's family had no event: the first thing q's stream carries is this.
	e.hub.Send(qid, eventstream.Message{Event: "marker"})
	if got := readEvent(t, qr); got[0] != "event: marker" {
		t.Errorf("q's stream carried %q", got)
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
