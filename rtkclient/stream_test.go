package rtkclient

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"rtk-sidecar/protocol"
)

// streamSidecar answers the join and serves the event stream: each stream
// request takes the next connection's script, a channel of raw chunks
// written as they come; the connection ends when its channel closes.
type streamSidecar struct {
	*httptest.Server
	mu      sync.Mutex
	opened  []*http.Request
	scripts chan chan string
	status  int // answer to the stream request (200)
	other   []string
}

func newStreamSidecar(t *testing.T) *streamSidecar {
	s := &streamSidecar{scripts: make(chan chan string, 4), status: 200}
	s.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.Method + " " + r.URL.Path {
		case "POST /client/v1/join":
			w.Header().Set("Content-Type", "application/json")
			_, _ = io.WriteString(w, `{"success":true,"data":{"url":"ws://lk","token":"main/me","room":"main","identity":"me","meeting_id":"main","participant_id":"me"}}`)
		case "GET /client/v1/events":
			s.mu.Lock()
			s.opened = append(s.opened, r)
			status := s.status
			s.mu.Unlock()
			if status != 200 {
				w.WriteHeader(status)
				_, _ = io.WriteString(w, `{"success":false,"error":{"code":404,"message":"no such endpoint"}}`)
				return
			}
			w.Header().Set("Content-Type", "text/event-stream")
			w.WriteHeader(200)
			w.(http.Flusher).Flush()
			var script chan string
			select {
			case script = <-s.scripts:
			case <-r.Context().Done():
				return
			}
			for {
				select {
				case chunk, ok := <-script:
					if !ok {
						return
					}
					_, _ = io.WriteString(w, chunk)
					w.(http.Flusher).Flush()
				case <-r.Context().Done():
					return
				}
			}
		default:
			s.mu.Lock()
			s.other = append(s.other, r.Method+" "+r.URL.Path)
			s.mu.Unlock()
			http.NotFound(w, r)
		}
	}))
	t.Cleanup(s.Close)
	return s
}

func (s *streamSidecar) streams() []*http.Request {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]*http.Request(nil), s.opened...)
}

// sseEvent is a family event as the sidecar's stream carries it.
func sseEvent(packet []byte) string {
	return "event: rtk.connected_meetings\ndata: " + string(packet) + "\n\n"
}

// sse is a move instruction as the sidecar's stream carries it.
func sse(moveID, room string) string {
	return fmt.Sprintf(": comment\nevent: rtk.move\nid: %s\ndata: %s\n\n", moveID, moveTo(moveID, room))
}

func joined(t *testing.T, s *streamSidecar, f *fakeLiveKit, ev *events, opts ...Option) *Client {
	t.Helper()
	opts = append([]Option{WithHandlers(ev.handlers()), WithMaxOverlap(time.Second)}, opts...)
	c := New(s.URL, "ptok", opts...)
	c.connector = f
	t.Cleanup(c.Close)
	if _, err := c.Join(context.Background()); err != nil {
		t.Fatal(err)
	}
	return c
}

// TestStreamInstruction: an instruction on the event stream is followed,
// and LiveKit's copies of it, which come later, are dropped.
func TestStreamInstruction(t *testing.T) {
	s := newStreamSidecar(t)
	f := newFakeLiveKit()
	ev := &events{}
	c := joined(t, s, f, ev)
	script := make(chan string, 4)
	s.scripts <- script
	script <- "event: unknown\ndata: {}\n\n" // ignored
	script <- sse("m1", "bo-1")
	ev.waitFor(t, "move done m1 via stream")

	reqs := s.streams()
	if len(reqs) != 1 || reqs[0].Header.Get("Authorization") != "Bearer ptok" || reqs[0].Header.Get("Accept") != "text/event-stream" {
		t.Fatalf("stream requests: %d, first %v", len(reqs), reqs[0].Header)
	}
	f.conn("bo-1").h.rpc(moveTo("m1", "bo-1"))
	f.conn("bo-1").h.data(MoveTopic, []byte(moveTo("m1", "bo-1")))
	if c.Room() != "bo-1" {
		t.Errorf("in %q, want bo-1", c.Room())
	}
	ev.settledMoves(t, f.conn("bo-1")) // a copy of m1 taken for a move would have run
	if n := f.connects("bo-1"); n != 1 {
		t.Errorf("connected to bo-1 %d times (log %q), want once", n, f.Log())
	}
}

// TestStreamEvents: the family's events on the stream reach the handlers,
// and LiveKit's copies of them are dropped. A whole state on the stream
// spares the client the fetch that the truncated LiveKit copy asks for.
func TestStreamEvents(t *testing.T) {
	s := newStreamSidecar(t)
	f := newFakeLiveKit()
	ev := &events{}
	c := joined(t, s, f, ev)
	script := make(chan string, 4)
	s.scripts <- script
	state := event("stateUpdate", map[string]any{"version": 3, "status": "active", "meetings": []any{}})
	changing := event("changingMeeting", map[string]any{"moves": []ChangingMeeting{{ParticipantID: "p", FromMeetingID: "main", ToMeetingID: "bo-1", MoveID: "m7"}}})
	script <- sseEvent(state)
	script <- sseEvent(changing)
	ev.waitFor(t, "changing p m7")

	main := f.conn("main")
	main.h.data(EventsTopic, event("stateUpdate", map[string]any{"version": 3, "truncated": true}))
	main.h.data(EventsTopic, changing)
	if got := ev.settled(t, main, nil); strings.Join(got, "|") != "state 3|changing p m7" {
		t.Errorf("events %q, want the state and the move once each", got)
	}
	// A fetch is decided as the truncated state comes, and the client
	// fetches while c.fetching is set: either would show one.
	c.mu.Lock()
	fetching := c.fetching
	c.mu.Unlock()
	s.mu.Lock()
	defer s.mu.Unlock()
	if fetching || len(s.other) != 0 {
		t.Errorf("the client asked the sidecar for %q (fetching %v)", s.other, fetching)
	}
}

// TestOwnArrivalFromTheServerFirst: the server's meetingChanged for this
// client's own move can arrive over the stream while the client is still
// joining the destination. The client does not pass it on: it announces its
// arrival itself, once, when it has switched rooms.
func TestOwnArrivalFromTheServerFirst(t *testing.T) {
	s := newStreamSidecar(t)
	f := newFakeLiveKit()
	ev := &events{}
	c := joined(t, s, f, ev)
	release := make(chan struct{})
	f.mu.Lock()
	f.hold["bo-1"] = release
	f.mu.Unlock()
	script := make(chan string, 4)
	s.scripts <- script
	script <- sse("m1", "bo-1")
	eventually(t, 2*time.Second, func() string { // the client is joining bo-1
		c.mu.Lock()
		defer c.mu.Unlock()
		if c.moves["m1"] != moveRunning {
			return "move m1 is not running"
		}
		return ""
	})
	arrived := event("meetingChanged", map[string]any{"arrivals": []MeetingChanged{{ParticipantID: "me", Meeting: MeetingRef{ID: "bo-1", Title: "Room 1"}, MoveID: "m1"}}})
	script <- sseEvent(arrived)
	f.conn("main").h.data(EventsTopic, arrived)
	if got := ev.settled(t, f.conn("main"), script); slices.ContainsFunc(got, func(l string) bool { return strings.HasPrefix(l, "changed me") }) || c.Room() != "main" {
		t.Fatalf("before the switch: events %q, in %q", got, c.Room())
	}
	close(release)
	ev.waitFor(t, "move done m1")
	n := 0
	for _, l := range ev.Log() {
		if strings.HasPrefix(l, "changed me") {
			n++
		}
	}
	if n != 1 || c.Room() != "bo-1" {
		t.Errorf("events %q, in %q: want one meetingChanged of this client, in bo-1", ev.Log(), c.Room())
	}
}

// TestBroadcastedMessages: a message to this client's meeting reaches the
// handler once, whether it comes over the stream, LiveKit or both; one to
// other meetings does not. BroadcastMessage posts the message.
func TestBroadcastedMessages(t *testing.T) {
	s := newStreamSidecar(t)
	f := newFakeLiveKit()
	ev := &events{}
	c := joined(t, s, f, ev)
	script := make(chan string, 4)
	s.scripts <- script
	here := event("broadcastedMessage", BroadcastedMessage{ID: "b1", Type: "note", Payload: json.RawMessage(`{"text":"hi"}`), MeetingIDs: []string{"bo-2", "main"}})
	elsewhere := event("broadcastedMessage", BroadcastedMessage{ID: "b2", Type: "note", Payload: json.RawMessage(`{}`), MeetingIDs: []string{"bo-2"}})
	script <- sseEvent(elsewhere)
	script <- sseEvent(here)
	got := ev.waitFor(t, "broadcast b1 note").(BroadcastedMessage)
	if string(got.Payload) != `{"text":"hi"}` {
		t.Errorf("payload %s", got.Payload)
	}
	f.conn("main").h.data(EventsTopic, here)
	if got := ev.settled(t, f.conn("main"), nil); strings.Join(got, "|") != "broadcast b1 note" {
		t.Errorf("events %q, want b1 once", got)
	}

	if _, err := c.BroadcastMessage(context.Background(), "note", map[string]any{"text": "yo"}, "bo-1"); err == nil {
		t.Error("the fake sidecar has no broadcast endpoint, yet BroadcastMessage succeeded")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.other) != 1 || s.other[0] != "POST /client/v1/connected-meetings/broadcast" {
		t.Errorf("requests %q", s.other)
	}
}

// TestStreamReconnects: a dropped stream is opened again, and the new one
// carries instructions.
func TestStreamReconnects(t *testing.T) {
	s := newStreamSidecar(t)
	f := newFakeLiveKit()
	ev := &events{}
	c := joined(t, s, f, ev)
	first := make(chan string)
	s.scripts <- first
	close(first) // the sidecar ends the stream (a restart, a slow reader)
	second := make(chan string, 1)
	s.scripts <- second
	second <- sse("m2", "bo-2")
	ev.waitFor(t, "move done m2 via stream")
	if n := len(s.streams()); n != 2 {
		t.Errorf("%d stream requests, want 2", n)
	}
	if c.Room() != "bo-2" {
		t.Errorf("in %q", c.Room())
	}
}

// TestStreamRefusedOrOff: a sidecar without the stream (404) is asked once;
// WithoutEventStream never asks. Moves still come through LiveKit.
func TestStreamRefusedOrOff(t *testing.T) {
	for _, tc := range []struct {
		name   string
		status int
		opts   []Option
		want   int
	}{
		{"404", 404, nil, 1},
		{"off", 200, []Option{WithoutEventStream()}, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := newStreamSidecar(t)
			s.status = tc.status
			f := newFakeLiveKit()
			ev := &events{}
			c := joined(t, s, f, ev, tc.opts...)
			f.conn("main").h.rpc(moveTo("m1", "bo-1"))
			ev.waitFor(t, "move done m1 via rpc")
			time.Sleep(streamRetryMin + 100*time.Millisecond) // a retry would have come by now
			if n := len(s.streams()); n != tc.want {
				t.Errorf("%d stream requests, want %d", n, tc.want)
			}
			if c.Room() != "bo-1" {
				t.Errorf("in %q", c.Room())
			}
		})
	}
}

// TestChatMessages: chat packets of the client's meeting are passed on once each; those of
// another room (the source, during a move) and bad packets are not.
func TestChatMessages(t *testing.T) {
	s := newStreamSidecar(t)
	f := newFakeLiveKit()
	ev := &events{}
	joined(t, s, f, ev)
	packet := func(id, meeting, text string) []byte {
		b, err := json.Marshal(protocol.ChatPacket{V: 1, Type: protocol.ChatTypeMessage,
			Message: ChatMessage{ID: id, MeetingID: meeting, ParticipantID: "ada", Message: text}})
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	conn := f.conn("main")
	conn.h.data(ChatTopic, packet("c1", "bo-1", "elsewhere"))
	conn.h.data(ChatTopic, []byte(`{"v":1,"type":"chat.message","message":{"meetingId":"main"}}`)) // no id
	conn.h.data(ChatTopic, []byte(`not json`))
	conn.h.data(ChatTopic, packet("c2", "main", "hello"))
	conn.h.data(ChatTopic, packet("c2", "main", "hello")) // a repeat
	conn.h.data(ChatTopic, packet("c3", "main", "again"))
	ev.waitFor(t, "chat c3 again")
	if got := ev.Log(); strings.Join(got, "|") != "chat c2 hello|chat c3 again" {
		t.Errorf("events %q", got)
	}
}

// TestHelpRequests: a help request, from the stream and LiveKit, is passed on once.
func TestHelpRequests(t *testing.T) {
	s := newStreamSidecar(t)
	f := newFakeLiveKit()
	ev := &events{}
	joined(t, s, f, ev)
	script := make(chan string, 2)
	s.scripts <- script
	req := event("helpRequested", HelpRequested{ID: "h1", ParticipantID: "ada", MeetingID: "bo-1", Message: "stuck"})
	script <- sseEvent(req)
	got := ev.waitFor(t, "help h1 ada").(HelpRequested)
	if got.Message != "stuck" || got.MeetingID != "bo-1" {
		t.Errorf("request %+v", got)
	}
	f.conn("main").h.data(EventsTopic, req)
	if got := ev.settled(t, f.conn("main"), nil); strings.Join(got, "|") != "help h1 ada" {
		t.Errorf("events %q, want h1 once", got)
	}
}

// TestConnectionRemoved: a removal, from the stream and LiveKit, is passed on once.
func TestConnectionRemoved(t *testing.T) {
	s := newStreamSidecar(t)
	f := newFakeLiveKit()
	ev := &events{}
	joined(t, s, f, ev)
	script := make(chan string, 2)
	s.scripts <- script
	rm := event(protocol.EventConnectionRemoved, protocol.ConnectionRemovedData{Removals: []ConnectionRemoved{
		{ID: "r1", ParticipantID: "ada", MeetingID: "main", PlacedMeetingID: "bo-1", Reason: protocol.RemovedNotPlaced}}})
	script <- sseEvent(rm)
	got := ev.waitFor(t, "removed r1 ada notPlaced").(ConnectionRemoved)
	if got.MeetingID != "main" || got.PlacedMeetingID != "bo-1" {
		t.Errorf("removal %+v", got)
	}
	f.conn("main").h.data(EventsTopic, rm)
	if got := ev.settled(t, f.conn("main"), nil); strings.Join(got, "|") != "removed r1 ada notPlaced" {
		t.Errorf("events %q, want r1 once", got)
	}
}
