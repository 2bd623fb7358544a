package rtkclient

import (
	"context"
	"encoding/json"
	"fmt"
	"runtime"
	"testing"
	"time"

	"github.com/pion/webrtc/v4/pkg/media"
)

// connected returns a client connected to room "main" as "me" through f,
// with the given options, closed at cleanup.
func connected(t *testing.T, f *fakeLiveKit, ev *events, opts ...Option) *Client {
	t.Helper()
	opts = append([]Option{WithHandlers(ev.handlers()), WithMaxOverlap(time.Second)}, opts...)
	c := New("", "participant-token", opts...)
	c.connector = f
	t.Cleanup(c.Close)
	if err := c.Connect(context.Background(), "ws://lk", "main/me"); err != nil {
		t.Fatal(err)
	}
	return c
}

// instruction is a move instruction for "me" to room, as the server sends it.
func moveTo(moveID, room string) string {
	b, _ := json.Marshal(map[string]any{
		"v": 1, "moveId": moveID, "participantId": "me",
		"fromMeetingId": "main", "toMeetingId": room,
		"meeting":     map[string]any{"id": room, "title": "Title of " + room},
		"livekit":     map[string]any{"url": "ws://lk", "token": room + "/me", "room": room},
		"presetId":    "p1",
		"permissions": map[string]any{},
		"unknown":     "fields are ignored",
	})
	return string(b)
}

// TestMoveMakeBeforeBreak follows one move by RPC and checks the order of
// what the client does: join the destination, publish the same tracks there
// (the muted one muted before any sample flows), switch, and leave the
// source only once it hears the destination.
func TestMoveMakeBeforeBreak(t *testing.T) {
	f := newFakeLiveKit()
	f.audible["bo-1"] = []string{"bob", "carol"}
	ev := &events{}
	c := connected(t, f, ev)
	mic, err := c.Publish(Microphone())
	if err != nil {
		t.Fatal(err)
	}
	mic.SetMuted(true)
	cam, err := c.Publish(Camera(320, 240))
	if err != nil {
		t.Fatal(err)
	}
	main := f.conn("main")

	answer := main.h.rpc(moveTo("m1", "bo-1"))
	if answer != `{"v":1,"accepted":true}` {
		t.Errorf("RPC answer %s", answer)
	}
	eventually(t, 2*time.Second, func() string {
		if f.conn("bo-1") == nil || f.conn("bo-1").sink("camera") == nil {
			return "not published in bo-1 yet"
		}
		return ""
	})
	bo := f.conn("bo-1")
	if c.Room() != "bo-1" {
		t.Errorf("Room() = %q after publishing in the destination, want bo-1", c.Room())
	}
	time.Sleep(30 * time.Millisecond) // time for a premature leave: the client waits to hear the destination
	if f.conn("main") == nil {
		t.Fatal("left the source before hearing the destination")
	}
	// In the overlap the client hears both rooms but is heard in the destination only.
	_, srcBefore := main.sink("camera").state()
	_, dstBefore := bo.sink("camera").state()
	_ = cam.WriteSample(media.Sample{Data: []byte{1}, Duration: time.Millisecond})
	if _, n := main.sink("camera").state(); n != srcBefore {
		t.Error("the source is still fed during the overlap")
	}
	if _, n := bo.sink("camera").state(); n != dstBefore+1 {
		t.Error("the destination is not fed during the overlap")
	}
	bo.send("bob", Audio)
	time.Sleep(30 * time.Millisecond) // time for a premature leave: carol's audio is not heard yet
	if f.conn("main") == nil {
		t.Fatal("left the source before hearing every unmuted audio track of the destination")
	}
	bo.send("carol", Audio)
	rep := ev.waitFor(t, "move done m1 via rpc").(MoveReport)

	log := f.Log()
	order := []string{"connect bo-1", "publish bo-1 microphone", "mute bo-1 microphone true", "publish bo-1 camera", "disconnect main"}
	last := -1
	for _, line := range order {
		i := indexOf(log, line)
		if i <= last {
			t.Fatalf("log %q: %q missing or out of order (want %q)", log, line, order)
		}
		last = i
	}
	if carol := c.Received("bo-1", "carol", Audio); rep.Left.Before(carol.First) {
		t.Errorf("left the source at %v, before hearing carol at %v", rep.Left, carol.First)
	}
	if rep.From != "main" || rep.To != "bo-1" || rep.Joined.IsZero() || rep.Published.Before(rep.Joined) {
		t.Errorf("report %+v", rep)
	}
	if got := ev.Log(); indexOf(got, "changing me m1") != 0 || indexOf(got, "changed me bo-1 m1") != 1 {
		t.Errorf("events %q, want changingMeeting then meetingChanged first", got)
	}
	if m := c.Meeting(); m.ID != "bo-1" || m.Title != "Title of bo-1" {
		t.Errorf("Meeting() = %+v", m)
	}

	// The tracks feed the destination only, and the mic stays muted.
	if muted, _ := bo.sink("microphone").state(); !muted || !mic.Muted() {
		t.Error("the microphone is not muted after the move")
	}
	_, before := main.sink("camera").state()
	for range 3 {
		_ = cam.WriteSample(media.Sample{Data: []byte{1}, Duration: time.Millisecond})
		_ = mic.WriteSample(media.Sample{Data: []byte{1}, Duration: time.Millisecond})
	}
	if _, after := main.sink("camera").state(); after != before {
		t.Errorf("source camera still fed after the move: %d -> %d samples", before, after)
	}
	if _, n := bo.sink("camera").state(); n != 4 {
		t.Errorf("destination camera got %d samples, want 4", n)
	}
	if _, n := bo.sink("microphone").state(); n != 0 {
		t.Errorf("muted microphone sent %d samples", n)
	}
	mic.SetMuted(false)
	if muted, _ := bo.sink("microphone").state(); muted {
		t.Error("unmute did not reach the destination publication")
	}
}

// TestMoveDedupe: the same move by RPC and data, twice each, is one move.
func TestMoveDedupe(t *testing.T) {
	f := newFakeLiveKit()
	ev := &events{}
	c := connected(t, f, ev)
	main := f.conn("main")
	in := moveTo("m1", "bo-1")
	main.h.rpc(in)
	main.h.data(MoveTopic, []byte(in))
	ev.waitFor(t, "move done m1")
	f.conn("bo-1").h.data(MoveTopic, []byte(in)) // a late copy in the destination
	main.h.rpc(in)
	if c.Room() != "bo-1" {
		t.Errorf("in %q, want bo-1", c.Room())
	}
	ev.settledMoves(t, f.conn("bo-1")) // a copy of m1 taken for a move would have run
	if n := f.connects("bo-1"); n != 1 {
		t.Errorf("connected to bo-1 %d times (log %q), want once", n, f.Log())
	}
}

// TestMoveDataFallback: an instruction on the data topic is followed too.
func TestMoveDataFallback(t *testing.T) {
	f := newFakeLiveKit()
	ev := &events{}
	c := connected(t, f, ev)
	f.conn("main").h.data(MoveTopic, []byte(moveTo("m1", "bo-1")))
	ev.waitFor(t, "move done m1 via data")
	if c.Room() != "bo-1" || c.Rooms()[0] != "bo-1" || len(c.Rooms()) != 1 {
		t.Errorf("in %q (%v), want bo-1 only", c.Room(), c.Rooms())
	}
}

// TestMoveFailsThenRetries: a failed join keeps the client where it was, and
// a repeated instruction with the same move id is tried again.
func TestMoveFailsThenRetries(t *testing.T) {
	f := newFakeLiveKit()
	f.fail["bo-1"] = 1
	ev := &events{}
	c := connected(t, f, ev)
	main := f.conn("main")
	main.h.rpc(moveTo("m1", "bo-1"))
	rep := ev.waitFor(t, "move error m1").(MoveReport)
	if rep.Err == nil || c.Room() != "main" || f.conn("main") == nil {
		t.Fatalf("after a failed join: err %v, in %q", rep.Err, c.Room())
	}
	if _, ok := ev.find("changed"); ok {
		t.Error("meetingChanged emitted for a failed move")
	}
	main.h.rpc(moveTo("m1", "bo-1"))
	ev.waitFor(t, "move done m1")
	if c.Room() != "bo-1" {
		t.Errorf("in %q after the retry", c.Room())
	}
}

// TestMoveBreakBeforeMake: the naive mode leaves first.
func TestMoveBreakBeforeMake(t *testing.T) {
	f := newFakeLiveKit()
	f.audible["bo-1"] = []string{"bob"} // never heard: no waiting in naive mode
	ev := &events{}
	c := connected(t, f, ev, WithBreakBeforeMake())
	if _, err := c.Publish(Microphone()); err != nil {
		t.Fatal(err)
	}
	f.conn("main").h.rpc(moveTo("m1", "bo-1"))
	ev.waitFor(t, "move done m1")
	log := f.Log()
	if d, j := indexOf(log, "disconnect main"), indexOf(log, "connect bo-1"); d < 0 || j < d {
		t.Errorf("log %q: want disconnect main before connect bo-1", log)
	}
}

// TestMoveMaxOverlap: a destination that stays silent holds the source for
// the maximum overlap only.
func TestMoveMaxOverlap(t *testing.T) {
	f := newFakeLiveKit()
	f.audible["bo-1"] = []string{"silent"}
	ev := &events{}
	c := connected(t, f, ev, WithMaxOverlap(100*time.Millisecond))
	f.conn("main").h.rpc(moveTo("m1", "bo-1"))
	rep := ev.waitFor(t, "move done m1").(MoveReport)
	if overlap := rep.Left.Sub(rep.Published); overlap < 90*time.Millisecond || overlap > 600*time.Millisecond {
		t.Errorf("stayed in the source %s after publishing, want about 100ms", overlap)
	}
	if c.Room() != "bo-1" {
		t.Errorf("in %q", c.Room())
	}
}

// TestMoveThere: an instruction to the current room changes nothing.
func TestMoveThere(t *testing.T) {
	f := newFakeLiveKit()
	ev := &events{}
	connected(t, f, ev)
	f.conn("main").h.rpc(moveTo("m0", "main"))
	ev.waitFor(t, "move done m0")
	if n := len(f.Log()); n != 1 {
		t.Errorf("log %q, want the first connect only", f.Log())
	}
}

// TestRoomMovedByLiveKit: LiveKit's own move keeps the connection and tracks
// and updates where the client is.
func TestRoomMovedByLiveKit(t *testing.T) {
	f := newFakeLiveKit()
	ev := &events{}
	c := connected(t, f, ev)
	main := f.conn("main")
	main.mu.Lock()
	main.name = "bo-1"
	main.mu.Unlock()
	main.h.roomMoved("bo-1")
	ev.waitFor(t, "move done  via livekit")
	if got := ev.waitFor(t, "changed me bo-1").(MeetingChanged); got.Meeting.ID != "bo-1" {
		t.Errorf("meetingChanged %+v", got)
	}
	if c.Room() != "bo-1" || c.Meeting().ID != "bo-1" {
		t.Errorf("in %q, meeting %q", c.Room(), c.Meeting().ID)
	}
	// The server's own meetingChanged for this arrival is not repeated.
	main.h.data(EventsTopic, event("meetingChanged", map[string]any{"arrivals": []MeetingChanged{{ParticipantID: "me", Meeting: MeetingRef{ID: "bo-1"}, MoveID: "srv"}}}))
	n := 0
	for _, l := range ev.settled(t, main, nil) {
		if l == "changed me bo-1 " || l == "changed me bo-1 srv" {
			n++
		}
	}
	if n != 1 {
		t.Errorf("events %q: want one meetingChanged", ev.Log())
	}
}

// TestDisconnectedByServer: the end of the current room is reported, and the
// client may connect again.
func TestDisconnectedByServer(t *testing.T) {
	f := newFakeLiveKit()
	ev := &events{}
	c := connected(t, f, ev)
	f.conn("main").h.disconnected("removed")
	ev.waitFor(t, "disconnected main")
	if err := c.Connect(context.Background(), "ws://lk", "main/me"); err != nil {
		t.Errorf("reconnect: %v", err)
	}
}

// TestClose: Close leaves every room, stops every goroutine of the client,
// is idempotent, and the client refuses work afterwards.
func TestClose(t *testing.T) {
	before := runtime.NumGoroutine()
	f := newFakeLiveKit()
	ev := &events{}
	c := connected(t, f, ev)
	f.conn("main").h.rpc(moveTo("m1", "bo-1"))
	ev.waitFor(t, "move done m1")
	f.conn("bo-1").h.data(EventsTopic, event("stateUpdate", map[string]any{"version": 1, "truncated": true})) // a fetch that fails
	c.Close()
	eventually(t, 2*time.Second, func() string {
		if n := runtime.NumGoroutine(); n > before {
			return fmt.Sprintf("%d goroutines after Close, %d before the client", n, before)
		}
		return ""
	})
	c.Close()
	if f.conn("main") != nil || f.conn("bo-1") != nil {
		t.Error("still connected after Close")
	}
	if _, err := c.Publish(Microphone()); err != ErrClosed {
		t.Errorf("Publish after Close: %v", err)
	}
	if err := c.Connect(context.Background(), "ws://lk", "main/me"); err != ErrClosed {
		t.Errorf("Connect after Close: %v", err)
	}
	New("", "").Close() // never started
}

func event(typ string, data any) []byte {
	b, _ := json.Marshal(map[string]any{"v": 1, "type": typ, "data": data})
	return b
}

// TestEventsDeduplicated: during a move the client is in two rooms and gets
// every event twice; each reaches the handlers once, states only when newer.
func TestEventsDeduplicated(t *testing.T) {
	f := newFakeLiveKit()
	ev := &events{}
	connected(t, f, ev)
	main := f.conn("main")
	for _, p := range [][]byte{
		event("stateUpdate", State{Version: 3, Status: "running"}),
		event("stateUpdate", State{Version: 3, Status: "running"}),
		event("stateUpdate", State{Version: 2}),
		event("changingMeeting", map[string]any{"moves": []ChangingMeeting{{ParticipantID: "bob", MoveID: "x"}, {ParticipantID: "ann", MoveID: "z"}}}),
		event("changingMeeting", map[string]any{"moves": []ChangingMeeting{{ParticipantID: "bob", MoveID: "x"}}}),
		event("meetingChanged", map[string]any{"arrivals": []MeetingChanged{{ParticipantID: "bob", Meeting: MeetingRef{ID: "bo-1"}, MoveID: "x"}}}),
		event("meetingChanged", map[string]any{"arrivals": []MeetingChanged{{ParticipantID: "bob", Meeting: MeetingRef{ID: "bo-1"}, MoveID: "x"}}}),
		event("moveFailed", map[string]any{"failures": []MoveFailed{{ParticipantID: "eve", MoveID: "y", Reason: "timeout"}}}),
		event("moveFailed", map[string]any{"failures": []MoveFailed{}}),
		event("closing", Closing{ClosingAt: time.Unix(100, 0).UTC(), Seconds: 60}),
		event("closing", Closing{ClosingAt: time.Unix(100, 0).UTC(), Seconds: 60}),
		event("somethingNew", map[string]any{}),
		[]byte("not json"),
		event("stateUpdate", State{Version: 4}),
	} {
		main.h.data(EventsTopic, p)
	}
	ev.waitFor(t, "state 4")
	want := []string{"state 3", "changing bob x", "changing ann z", "changed bob bo-1 x", "failed eve y", "closing 60", "state 4"}
	if got := ev.Log(); fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("events %q, want %q", got, want)
	}
}

// TestUnpublish: an unpublished track leaves the room, takes no more
// samples, and is not published in the room of a later move; the other
// tracks carry on.
func TestUnpublish(t *testing.T) {
	f := newFakeLiveKit()
	ev := &events{}
	c := connected(t, f, ev)
	mic, err := c.Publish(Microphone())
	if err != nil {
		t.Fatal(err)
	}
	cam, err := c.Publish(Camera(320, 240))
	if err != nil {
		t.Fatal(err)
	}
	main := f.conn("main")
	if err := c.Unpublish(cam); err != nil {
		t.Fatal(err)
	}
	if main.sink("camera") != nil {
		t.Fatal("the camera is still published in main")
	}
	if err := cam.WriteSample(media.Sample{Data: []byte{1}}); err != nil {
		t.Fatal(err)
	}
	if err := c.Unpublish(cam); err != nil {
		t.Errorf("unpublishing twice: %v", err)
	}

	main.h.rpc(moveTo("m1", "bo-1"))
	ev.waitFor(t, "move done m1 via rpc")
	bo := f.conn("bo-1")
	if bo.sink("camera") != nil {
		t.Error("the unpublished camera was published in bo-1")
	}
	if bo.sink("microphone") == nil {
		t.Fatal("the microphone was not published in bo-1")
	}
	if err := mic.WriteSample(media.Sample{Data: []byte{1}}); err != nil {
		t.Fatal(err)
	}
	if _, n := bo.sink("microphone").state(); n != 1 {
		t.Errorf("the microphone in bo-1 got %d samples, want 1", n)
	}
	if got := f.Log(); indexOf(got, "unpublish main camera") < 0 {
		t.Errorf("log %q has no unpublish of the camera", got)
	}
}

// keepingSource is moveTo with keepSourceMs.
func keepingSource(moveID, room string, ms int) string {
	var m map[string]any
	_ = json.Unmarshal([]byte(moveTo(moveID, room)), &m)
	m["keepSourceMs"] = ms
	b, _ := json.Marshal(m)
	return string(b)
}

// TestMoveKeepsSource: with keepSourceMs the client keeps its source connection that long
// after the switch, fed nothing, even once the destination is audible; a newer instruction
// ends the wait at once.
func TestMoveKeepsSource(t *testing.T) {
	f := newFakeLiveKit()
	f.audible["bo-1"] = nil // audible at once
	f.audible["bo-2"] = nil
	ev := &events{}
	c := connected(t, f, ev)
	mic, err := c.Publish(Microphone())
	if err != nil {
		t.Fatal(err)
	}
	main := f.conn("main")
	main.h.rpc(keepingSource("m1", "bo-1", 400))
	eventually(t, 2*time.Second, func() string {
		if c.Room() != "bo-1" {
			return "not switched to bo-1"
		}
		return ""
	})
	_ = mic.WriteSample(media.Sample{Data: []byte{1}, Duration: time.Millisecond})
	if _, n := main.sink("microphone").state(); n != 0 {
		t.Error("the kept source is fed")
	}
	rep := ev.waitFor(t, "move done m1").(MoveReport)
	if kept := rep.Left.Sub(rep.Published); kept < 390*time.Millisecond || kept > 2*time.Second {
		t.Errorf("kept the source %s after the switch, want about 400ms", kept)
	}

	// A newer instruction during the keep: the source goes at once, and the next move runs.
	f.conn("bo-1").h.rpc(keepingSource("m2", "bo-2", 60_000))
	eventually(t, 2*time.Second, func() string {
		if c.Room() != "bo-2" {
			return "not switched to bo-2"
		}
		return ""
	})
	start := time.Now()
	f.conn("bo-2").h.rpc(moveTo("m3", "main"))
	ev.waitFor(t, "move done m2")
	if waited := time.Since(start); waited > 2*time.Second {
		t.Errorf("the keep of bo-1 ended %s after a newer instruction", waited)
	}
	ev.waitFor(t, "move done m3")
	if c.Room() != "main" {
		t.Errorf("in %q after m3, want main", c.Room())
	}
}
