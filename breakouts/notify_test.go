package breakouts_test

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/livekit/protocol/livekit"

	"rtk-sidecar/breakouts"
	"rtk-sidecar/breakouts/breakoutstest"
	"rtk-sidecar/eventstream"
	"rtk-sidecar/protocol"
)

// With streams, a family's events go to the streams of its group (the
// parent meeting id) first, as the packets LiveKit gets; a state too large
// for a LiveKit data packet goes whole on the streams, truncated to LiveKit.
func TestEventsOnStreams(t *testing.T) {
	w := newWorld(t, 100)
	ctx := t.Context()
	hub := eventstream.NewHub()
	member, stranger := hub.Subscribe("p", w.meeting), hub.Subscribe("q", "another-family")
	s := breakouts.New(w.st, w.bridge, breakoutstest.NewMover(), w.log, breakouts.WithStreams(hub))
	run(t, s)
	if _, err := w.rooms.CreateRoom(ctx, &livekit.CreateRoomRequest{Name: w.meeting}); err != nil { // as if joined
		t.Fatal(err)
	}

	st, ids, err := s.CreateRooms(ctx, appID, w.meeting, breakouts.Admin, ptr[int64](0), make([]breakouts.RoomTitle, 2))
	if err != nil {
		t.Fatal(err)
	}
	var m eventstream.Message
	select {
	case m = <-member.C():
	case <-time.After(5 * time.Second):
		t.Fatal("no event on the family's stream")
	}
	var ev struct {
		protocol.Event
		Data protocol.State `json:"data"`
	}
	if err := json.Unmarshal(m.Data, &ev); err != nil {
		t.Fatal(err)
	}
	var people int
	for _, r := range append(ev.Data.Meetings, ev.Data.ParentMeeting) {
		people += len(r.Participants)
	}
	if m.Event != protocol.EventsTopic || ev.Type != protocol.EventStateUpdate || ev.Data.Version != st.Version ||
		len(ev.Data.Meetings) != 2 || people != 101 || len(m.Data) <= 12<<10 {
		t.Fatalf("stream got %s (%d bytes, %d people), want the whole state of version %d with 101 people",
			m.Event, len(m.Data), people, st.Version)
	}

	// LiveKit gets the truncated state, in the family's rooms (the open one).
	wait(t, "the LiveKit copy", func() bool { return len(w.rooms.Packets()) > 0 })
	for _, p := range w.rooms.Packets() {
		var trunc struct {
			Data protocol.TruncatedState `json:"data"`
		}
		if err := json.Unmarshal(p.Data, &trunc); err != nil || !trunc.Data.Truncated || trunc.Data.Version != st.Version {
			t.Errorf("LiveKit packet to %s: %s, want a truncated state of version %d", p.Room, p.Data, st.Version)
		}
		if p.Room != ids[0] && p.Room != ids[1] && p.Room != w.meeting {
			t.Errorf("LiveKit packet to %s, not a room of the family", p.Room)
		}
	}
	select {
	case m := <-stranger.C():
		t.Errorf("another family's stream got %s", m.Data)
	default:
	}
}
