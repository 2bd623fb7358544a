package rtkclient

import (
	"context"
	"errors"
	"reflect"
	"slices"
	"testing"
	"time"
)

// TestListenIn: the client asks the sidecar for a listening ticket, connects with it besides its
// own room, publishes nothing there, counts what it hears under the room, and leaves on Close
// (or with the client).
func TestListenIn(t *testing.T) {
	s := newSidecar(t, map[string]answer{
		"POST /client/v1/join":                      {200, `{"success":true,"data":{"url":"ws://lk","token":"main/p1","room":"main","identity":"p1","meeting_id":"main","participant_id":"p1"}}`},
		"POST /client/v1/connected-meetings/listen": {200, `{"success":true,"data":{"url":"ws://lk","token":"bo-1/listen-p1","room":"bo-1","identity":"listen-p1","meetingId":"bo-1"}}`},
	})
	f := newFakeLiveKit()
	c := New(s.URL, "ptok")
	c.connector = f
	if _, err := c.Publish(Microphone()); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Join(context.Background()); err != nil {
		t.Fatal(err)
	}
	l, err := c.ListenIn(context.Background(), "bo-1")
	if err != nil {
		t.Fatal(err)
	}
	if r, ok := s.find("POST", "/client/v1/connected-meetings/listen"); !ok || r.auth != "Bearer ptok" || !reflect.DeepEqual(r.body, map[string]any{"meetingId": "bo-1"}) {
		t.Errorf("sent %+v (%v)", r, ok)
	}
	if l.Room() != "bo-1" || c.Room() != "main" {
		t.Errorf("listening to %q from %q", l.Room(), c.Room())
	}
	lc := f.conn("bo-1")
	if lc == nil || len(lc.sinks) != 0 {
		t.Fatalf("listening connection %+v: want one that publishes nothing", lc)
	}
	if got := lc.h.rpc(`{}`); got != `{"v":1,"accepted":false}` {
		t.Errorf("a move instruction to the listener was answered %s", got)
	}
	lc.h.packet("bo-1", "ada", Audio, time.Now())
	if st := c.Received("bo-1", "ada", Audio); st.Packets != 1 {
		t.Errorf("heard %+v through the listener", st)
	}
	l.Close()
	l.Close() // twice is fine
	if !lc.closed || f.conn("main") == nil {
		t.Errorf("after Close: listener closed %v, own room still open %v", lc.closed, f.conn("main") != nil)
	}

	// The client's Close closes its listeners.
	l2, err := c.ListenIn(context.Background(), "bo-1")
	if err != nil {
		t.Fatal(err)
	}
	c.Close()
	if lc2 := l2.conn.(*fakeConn); !lc2.closed {
		t.Error("the client's Close left the listener open")
	}
	if _, err := c.ListenIn(context.Background(), "bo-1"); !errors.Is(err, ErrClosed) {
		t.Errorf("ListenIn after Close: %v", err)
	}
	if log := f.Log(); slices.Index(log, "connect bo-1") < 0 {
		t.Errorf("connections %q", log)
	}
}
