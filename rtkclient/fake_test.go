package rtkclient

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pion/webrtc/v4/pkg/media"
)

// fakeLiveKit is a connector whose connections record what the client does
// with them, in one ordered log. A token is "room/identity".
type fakeLiveKit struct {
	mu      sync.Mutex
	log     []string
	conns   map[string]*fakeConn     // open connections by room
	fail    map[string]int           // room -> connects that fail
	audible map[string][]string      // room -> remote identities with unmuted audio
	hold    map[string]chan struct{} // room -> connects wait until it is closed
}

func newFakeLiveKit() *fakeLiveKit {
	return &fakeLiveKit{conns: map[string]*fakeConn{}, fail: map[string]int{}, audible: map[string][]string{},
		hold: map[string]chan struct{}{}}
}

func (f *fakeLiveKit) record(format string, args ...any) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.log = append(f.log, fmt.Sprintf(format, args...))
}

// Log returns the log so far.
func (f *fakeLiveKit) Log() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]string(nil), f.log...)
}

// connects counts the successful connections to room so far.
func (f *fakeLiveKit) connects(room string) int {
	n := 0
	for _, l := range f.Log() {
		if l == "connect "+room {
			n++
		}
	}
	return n
}

// conn returns the open connection to room, or nil.
func (f *fakeLiveKit) conn(room string) *fakeConn {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.conns[room]
}

func (f *fakeLiveKit) connect(ctx context.Context, url, token string, h connHandlers) (conn, error) {
	room, id, _ := strings.Cut(token, "/")
	f.mu.Lock()
	if hold := f.hold[room]; hold != nil {
		f.mu.Unlock()
		select {
		case <-hold:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
		f.mu.Lock()
	}
	if f.fail[room] > 0 {
		f.fail[room]--
		f.mu.Unlock()
		f.record("connect %s failed", room)
		return nil, errors.New("connection refused")
	}
	c := &fakeConn{f: f, name: room, id: id, h: h}
	f.conns[room] = c
	f.mu.Unlock()
	f.record("connect %s", room)
	return c, nil
}

type fakeConn struct {
	f  *fakeLiveKit
	id string
	h  connHandlers

	mu     sync.Mutex
	name   string
	sinks  []*fakeSink
	closed bool
}

func (c *fakeConn) room() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.name
}

func (c *fakeConn) identity() string { return c.id }

func (c *fakeConn) publish(opts TrackOptions) (sink, error) {
	s := &fakeSink{conn: c, name: opts.Name}
	c.mu.Lock()
	c.sinks = append(c.sinks, s)
	c.mu.Unlock()
	c.f.record("publish %s %s", c.room(), opts.Name)
	return s, nil
}

func (c *fakeConn) audible() []string {
	c.f.mu.Lock()
	defer c.f.mu.Unlock()
	return append([]string(nil), c.f.audible[c.room()]...)
}

func (c *fakeConn) disconnect() {
	c.mu.Lock()
	c.closed = true
	c.mu.Unlock()
	c.f.mu.Lock()
	if c.f.conns[c.room()] == c {
		delete(c.f.conns, c.room())
	}
	c.f.mu.Unlock()
	c.f.record("disconnect %s", c.room())
}

// sink returns the connection's publication of the named track, or nil.
func (c *fakeConn) sink(name string) *fakeSink {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, s := range c.sinks {
		if s.name == name {
			return s
		}
	}
	return nil
}

// send delivers RTP from a remote identity, as the connection's reader would.
func (c *fakeConn) send(identity string, kind Kind) {
	c.h.packet(c.room(), identity, kind, time.Now())
}

type fakeSink struct {
	conn *fakeConn
	name string

	mu      sync.Mutex
	muted   bool
	samples int
}

func (s *fakeSink) WriteSample(media.Sample) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.samples++
	return nil
}

func (s *fakeSink) SetMuted(m bool) {
	s.mu.Lock()
	s.muted = m
	s.mu.Unlock()
	s.conn.f.record("mute %s %s %v", s.conn.room(), s.name, m)
}

func (s *fakeSink) Unpublish() error {
	c := s.conn
	c.mu.Lock()
	c.sinks = slices.DeleteFunc(c.sinks, func(x *fakeSink) bool { return x == s })
	c.mu.Unlock()
	c.f.record("unpublish %s %s", c.room(), s.name)
	return nil
}

func (s *fakeSink) state() (muted bool, samples int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.muted, s.samples
}

// events records what the handlers receive, in order.
type events struct {
	mu      sync.Mutex
	log     []string
	got     []any
	markers int // settled's so far
}

func (e *events) add(kind string, v any) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.log = append(e.log, kind)
	e.got = append(e.got, v)
}

func (e *events) handlers() Handlers {
	return Handlers{
		StateUpdate:        func(s State) { e.add(fmt.Sprintf("state %d", s.Version), s) },
		ChangingMeeting:    func(v ChangingMeeting) { e.add("changing "+v.ParticipantID+" "+v.MoveID, v) },
		MeetingChanged:     func(v MeetingChanged) { e.add("changed "+v.ParticipantID+" "+v.Meeting.ID+" "+v.MoveID, v) },
		MoveFailed:         func(v MoveFailed) { e.add("failed "+v.ParticipantID+" "+v.MoveID, v) },
		Closing:            func(v Closing) { e.add(fmt.Sprintf("closing %d", v.Seconds), v) },
		BroadcastedMessage: func(v BroadcastedMessage) { e.add("broadcast "+v.ID+" "+v.Type, v) },
		ChatMessage:        func(v ChatMessage) { e.add("chat "+v.ID+" "+v.Message, v) },
		HelpRequested:      func(v HelpRequested) { e.add("help "+v.ID+" "+v.ParticipantID, v) },
		ConnectionRemoved:  func(v ConnectionRemoved) { e.add("removed "+v.ID+" "+v.ParticipantID+" "+v.Reason, v) },
		Disconnected:       func(v Disconnected) { e.add("disconnected "+v.Room, v) },
		MoveDone: func(r MoveReport) {
			if r.Err != nil {
				e.add("move error "+r.MoveID, r)
				return
			}
			e.add("move done "+r.MoveID+" via "+r.Via, r)
		},
	}
}

func (e *events) Log() []string {
	e.mu.Lock()
	defer e.mu.Unlock()
	return append([]string(nil), e.log...)
}

// settled waits until the handlers have had everything sent to the client
// so far through conn's data and, when script is not nil, through that
// event stream: each path hands events to the handlers in order, so it
// sends a help request after them on each and waits for those. It returns
// the log without the help requests it sent.
func (e *events) settled(t *testing.T, conn *fakeConn, script chan<- string) []string {
	t.Helper()
	e.mu.Lock()
	e.markers++
	id := fmt.Sprintf("settled-%d", e.markers)
	e.mu.Unlock()
	marker := func(path string) []byte {
		return event("helpRequested", HelpRequested{ID: id + "-" + path, ParticipantID: "marker"})
	}
	conn.h.data(EventsTopic, marker("livekit"))
	e.waitFor(t, "help "+id+"-livekit marker")
	if script != nil {
		script <- sseEvent(marker("stream"))
		e.waitFor(t, "help "+id+"-stream marker")
	}
	var out []string
	for _, l := range e.Log() {
		if !strings.HasPrefix(l, "help settled-") {
			out = append(out, l)
		}
	}
	return out
}

// settledMoves waits until the moves instructed so far through conn have
// run: the client moves one at a time, in order, so it instructs one more
// (to bo-2) and waits until that one is done.
func (e *events) settledMoves(t *testing.T, conn *fakeConn) {
	t.Helper()
	e.mu.Lock()
	e.markers++
	id := fmt.Sprintf("settled-%d", e.markers)
	e.mu.Unlock()
	conn.h.rpc(moveTo(id, "bo-2"))
	e.waitFor(t, "move done "+id)
}

// find returns the first event whose log line starts with prefix.
func (e *events) find(prefix string) (any, bool) {
	e.mu.Lock()
	defer e.mu.Unlock()
	for i, l := range e.log {
		if strings.HasPrefix(l, prefix) {
			return e.got[i], true
		}
	}
	return nil, false
}

// waitFor waits until the log has a line starting with prefix.
func (e *events) waitFor(t *testing.T, prefix string) any {
	t.Helper()
	var v any
	eventually(t, 2*time.Second, func() string {
		var ok bool
		if v, ok = e.find(prefix); !ok {
			return fmt.Sprintf("no event %q in %q", prefix, e.Log())
		}
		return ""
	})
	return v
}

func eventually(t *testing.T, timeout time.Duration, cond func() string) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		missing := cond()
		if missing == "" {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("still not true after %s: %s", timeout, missing)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// indexOf is the position of line in log, or -1.
func indexOf(log []string, line string) int {
	for i, l := range log {
		if l == line {
			return i
		}
	}
	return -1
}
