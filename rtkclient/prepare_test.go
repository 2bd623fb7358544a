package rtkclient

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/pion/webrtc/v4/pkg/media"
)

// preparedClient is a client connected to "main" as "me", whose sidecar
// answers prepare with a ticket for bo-1, and which has a microphone.
func preparedClient(t *testing.T, f *fakeLiveKit, ev *events) (*Client, *sidecar) {
	t.Helper()
	s := newSidecar(t, map[string]answer{
		"POST /client/v1/connected-meetings/prepare": {200, `{"success":true,"data":{"url":"ws://lk","token":"bo-1/me","room":"bo-1","meetingId":"bo-1"}}`},
	})
	c := New(s.URL, "ptok", WithHandlers(ev.handlers()), WithMaxOverlap(time.Second))
	c.connector = f
	t.Cleanup(c.Close)
	if err := c.Connect(context.Background(), "ws://lk", "main/me"); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Publish(Microphone()); err != nil {
		t.Fatal(err)
	}
	return c, s
}

// assigned is an idle family's state with "me" assigned to room.
func assigned(version int64, room string) State {
	return State{Version: version, Status: "idle", ParentMeeting: Meeting{ID: "main"},
		Meetings: []Meeting{{ID: "bo-1", AssignedParticipantIDs: assignees(room, "bo-1")}, {ID: "bo-2", AssignedParticipantIDs: assignees(room, "bo-2")}}}
}

func assignees(room, id string) []string {
	if room == id {
		return []string{"bob", "me"}
	}
	return []string{"bob"}
}

// preparedInBo1 is a preparedClient that the state has assigned to bo-1, holding its prepared
// connection there; main is its connection to the parent.
func preparedInBo1(t *testing.T) (*fakeLiveKit, *events, *Client, *fakeConn) {
	t.Helper()
	f := newFakeLiveKit()
	ev := &events{}
	c, _ := preparedClient(t, f, ev)
	main := f.conn("main")
	main.h.data(EventsTopic, event("stateUpdate", assigned(1, "bo-1")))
	waitPrepared(t, c, "bo-1")
	return f, ev, c, main
}

// waitPrepared waits until c holds a prepared connection to room.
func waitPrepared(t *testing.T, c *Client, room string) {
	t.Helper()
	eventually(t, 2*time.Second, func() string {
		if got := c.Prepared(); got != room {
			return fmt.Sprintf("prepared connection to %q, want %q", got, room)
		}
		return ""
	})
}

// prepared marks a move instruction as revealing the prepared connection.
func prepared(instruction string) string {
	var m map[string]any
	_ = json.Unmarshal([]byte(instruction), &m)
	m["prepared"] = true
	b, _ := json.Marshal(m)
	return string(b)
}

// TestPreparedConnection: assigned to bo-1 while the family is idle, the client asks for a
// prepared connection and holds it hidden: nothing is published there, and what it receives
// there is ignored. The move that reveals it switches to it without a join, publishes there
// and leaves the source.
func TestPreparedConnection(t *testing.T) {
	f := newFakeLiveKit()
	ev := &events{}
	c, s := preparedClient(t, f, ev)
	main := f.conn("main")
	main.h.data(EventsTopic, event("stateUpdate", assigned(1, "bo-1")))
	waitPrepared(t, c, "bo-1")
	if r, ok := s.find("POST", "/client/v1/connected-meetings/prepare"); !ok || r.auth != "Bearer ptok" {
		t.Errorf("prepare request %+v (%v)", r, ok)
	}
	// The microphone is published there ahead of time, unmuted as it is, and fed nothing.
	bo := f.conn("bo-1")
	if muted, n := bo.sink("microphone").state(); muted || n != 0 || len(bo.sinks) != 1 {
		t.Errorf("prepared room: %d publications, microphone muted %v with %d samples; want it alone, unmuted, unfed", len(bo.sinks), muted, n)
	}
	if !slices.Equal(c.Rooms(), []string{"main"}) || c.Room() != "main" {
		t.Errorf("rooms %v, room %q", c.Rooms(), c.Room())
	}
	_ = c.trackList()[0].WriteSample(media.Sample{Data: []byte{1}, Duration: time.Millisecond})
	if _, n := bo.sink("microphone").state(); n != 0 {
		t.Error("the prepared room's microphone is fed before the reveal")
	}
	// Hidden: no instructions, events or chat through it.
	if a := bo.h.rpc(moveTo("x", "bo-2")); a != `{"v":1,"accepted":false}` {
		t.Errorf("the prepared connection took an instruction: %s", a)
	}
	bo.h.data(EventsTopic, event("stateUpdate", State{Version: 99, Status: "idle"}))
	// The same state again changes nothing.
	main.h.data(EventsTopic, event("stateUpdate", assigned(2, "bo-1")))
	ev.waitFor(t, "state 2")
	if _, ok := ev.find("state 99"); ok {
		t.Error("an event through the prepared connection reached the handlers")
	}

	main.h.rpc(prepared(moveTo("m1", "bo-1")))
	rep := ev.waitFor(t, "move done m1").(MoveReport)
	if rep.Err != nil || !rep.Prepared || rep.To != "bo-1" || rep.Left.IsZero() {
		t.Errorf("report %+v", rep)
	}
	if n := f.connects("bo-1"); n != 1 {
		t.Errorf("%d connects to bo-1, want the prepared one only", n)
	}
	if len(bo.sinks) != 1 || c.Room() != "bo-1" || c.Prepared() != "" || !slices.Equal(c.Rooms(), []string{"bo-1"}) {
		t.Errorf("after the move: %d publications in bo-1, room %q, prepared %q, rooms %v", len(bo.sinks), c.Room(), c.Prepared(), c.Rooms())
	}
	// The publication made ahead of time is the one fed now, unmuted (the microphone is not muted).
	_ = c.trackList()[0].WriteSample(media.Sample{Data: []byte{1}, Duration: time.Millisecond})
	if muted, n := bo.sink("microphone").state(); muted || n != 1 {
		t.Errorf("after the move the microphone in bo-1 is muted %v with %d samples, want unmuted with 1", muted, n)
	}
	// Now that it is revealed, it takes events.
	bo.h.data(EventsTopic, event("stateUpdate", State{Version: 5, Status: "running"}))
	ev.waitFor(t, "state 5")
}

// TestPreparedConnectionNotRevealed: a move to the prepared room whose instruction does not
// reveal it closes the prepared connection first, then joins with the instruction's token.
func TestPreparedConnectionNotRevealed(t *testing.T) {
	f, ev, c, main := preparedInBo1(t)
	main.h.rpc(moveTo("m1", "bo-1"))
	rep := ev.waitFor(t, "move done m1").(MoveReport)
	if rep.Err != nil || rep.Prepared {
		t.Errorf("report %+v", rep)
	}
	log := f.Log()
	first, second := indexOf(log, "connect bo-1"), slices.Index(log[indexOf(log, "connect bo-1")+1:], "connect bo-1")
	if dis := indexOf(log, "disconnect bo-1"); second < 0 || dis < first || dis > first+1+second {
		t.Errorf("log %q: want the prepared connection closed before the join", log)
	}
	if c.Room() != "bo-1" || f.conn("bo-1").sink("microphone") == nil {
		t.Errorf("room %q after the move", c.Room())
	}
}

// TestPreparedConnectionFollowsAssignment: a new assignment replaces the prepared connection,
// no assignment closes it, and so does a client that is opted out, or closed.
func TestPreparedConnectionFollowsAssignment(t *testing.T) {
	f, ev, c, main := preparedInBo1(t)
	// The fake sidecar answers with bo-1 whatever is asked: a ticket for another room than the
	// assignment is not used.
	main.h.data(EventsTopic, event("stateUpdate", assigned(2, "bo-2")))
	eventually(t, 2*time.Second, func() string {
		if c.Prepared() != "" || f.conn("bo-1") != nil {
			return "still prepared in bo-1"
		}
		return ""
	})
	main.h.data(EventsTopic, event("stateUpdate", assigned(3, "bo-1")))
	waitPrepared(t, c, "bo-1")
	// Running: kept, for the move that reveals it.
	running := assigned(4, "bo-1")
	running.Status = "running"
	main.h.data(EventsTopic, event("stateUpdate", running))
	ev.waitFor(t, "state 4")
	main.h.data(EventsTopic, event("stateUpdate", assigned(5, "")))
	eventually(t, 2*time.Second, func() string {
		if c.Prepared() != "" || f.conn("bo-1") != nil {
			return "still prepared in bo-1 with no assignment"
		}
		return ""
	})

	off := &events{}
	g := newFakeLiveKit()
	o, s := preparedClient(t, g, off)
	o.noPrepare = true
	g.conn("main").h.data(EventsTopic, event("stateUpdate", assigned(1, "bo-1")))
	off.waitFor(t, "state 1")
	time.Sleep(50 * time.Millisecond) // time for a prepare that must not come: it would run in the background
	if _, asked := s.find("POST", "/client/v1/connected-meetings/prepare"); asked || g.conn("bo-1") != nil {
		t.Error("WithoutPreparedConnections prepared a connection")
	}

	main.h.data(EventsTopic, event("stateUpdate", assigned(6, "bo-1")))
	waitPrepared(t, c, "bo-1")
	c.Close()
	if f.conn("bo-1") != nil {
		t.Error("Close left the prepared connection open")
	}
}

// TestPreparedConnectionKeepsMute: tracks are published ahead of time with their mute state
// then, and take their mute state at the reveal: the microphone, unmuted while prepared, is fed;
// the camera, muted while prepared, sends nothing; a track added while prepared is published at
// the move.
func TestPreparedConnectionKeepsMute(t *testing.T) {
	f := newFakeLiveKit()
	ev := &events{}
	c, _ := preparedClient(t, f, ev)
	mic := c.trackList()[0]
	mic.SetMuted(true)
	cam, err := c.Publish(Camera(320, 240))
	if err != nil {
		t.Fatal(err)
	}
	main := f.conn("main")
	main.h.data(EventsTopic, event("stateUpdate", assigned(1, "bo-1")))
	waitPrepared(t, c, "bo-1")
	bo := f.conn("bo-1")
	if muted, _ := bo.sink("microphone").state(); !muted {
		t.Error("the muted microphone was published unmuted ahead of time")
	}
	if muted, _ := bo.sink("camera").state(); muted {
		t.Error("the camera was published muted ahead of time")
	}
	mic.SetMuted(false)
	cam.SetMuted(true)
	screen, err := c.Publish(TrackOptions{Name: "screen", Codec: cam.opts.Codec, Source: cam.opts.Source})
	if err != nil {
		t.Fatal(err)
	}
	main.h.rpc(prepared(moveTo("m1", "bo-1")))
	if rep := ev.waitFor(t, "move done m1").(MoveReport); rep.Err != nil || !rep.Prepared {
		t.Fatalf("report %+v", rep)
	}
	for _, tr := range []*Track{mic, cam, screen} {
		_ = tr.WriteSample(media.Sample{Data: []byte{1}, Duration: time.Millisecond})
	}
	if muted, n := bo.sink("microphone").state(); muted || n != 1 {
		t.Errorf("microphone in bo-1: muted %v, %d samples; want unmuted, 1", muted, n)
	}
	if muted, n := bo.sink("camera").state(); !muted || n != 0 {
		t.Errorf("camera in bo-1: muted %v, %d samples; want muted, none", muted, n)
	}
	if s := bo.sink("screen"); s == nil {
		t.Error("the track added while prepared was not published at the move")
	}
	if len(bo.sinks) != 3 {
		t.Errorf("%d publications in bo-1, want 3", len(bo.sinks))
	}
}
