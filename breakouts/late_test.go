package breakouts_test

import (
	"encoding/json"
	"errors"
	"testing"
	"time"

	"github.com/livekit/protocol/livekit"

	"rtk-sidecar/breakouts"
	"rtk-sidecar/breakouts/breakoutstest"
	"rtk-sidecar/eventstream"
	"rtk-sidecar/protocol"
)

// arrivalsOf returns the arrivals announced so far (meetingChanged events),
// and the move ids reported failed (moveFailed), each once however many
// rooms it went to, in the order first sent.
func arrivalsOf(t *testing.T, w *world) (arrivals []protocol.Arrival, failed []string) {
	t.Helper()
	seen := map[string]bool{}
	for _, p := range w.rooms.Packets() {
		if p.Topic != protocol.EventsTopic {
			continue
		}
		var ev protocol.Event
		if err := json.Unmarshal(p.Data, &ev); err != nil {
			t.Fatal(err)
		}
		switch ev.Type {
		case protocol.EventMeetingChanged:
			var d protocol.MeetingChangedData
			if err := json.Unmarshal(ev.Data, &d); err != nil {
				t.Fatal(err)
			}
			for _, a := range d.Arrivals {
				if k := "arrived " + a.MoveID; !seen[k] {
					seen[k] = true
					arrivals = append(arrivals, a)
				}
			}
		case protocol.EventMoveFailed:
			var d protocol.MoveFailedData
			if err := json.Unmarshal(ev.Data, &d); err != nil {
				t.Fatal(err)
			}
			for _, f := range d.Failures {
				if k := "failed " + f.MoveID; !seen[k] {
					seen[k] = true
					failed = append(failed, f.MoveID)
				}
			}
		}
	}
	return arrivals, failed
}

// announced counts the meetingChanged packets sent to room that carry moveID.
func announced(t *testing.T, w *world, room, moveID string) int {
	t.Helper()
	n := 0
	for _, p := range w.rooms.Packets() {
		var ev protocol.Event
		var d protocol.MeetingChangedData
		if p.Room != room || p.Topic != protocol.EventsTopic || json.Unmarshal(p.Data, &ev) != nil ||
			ev.Type != protocol.EventMeetingChanged || json.Unmarshal(ev.Data, &d) != nil {
			continue
		}
		for _, a := range d.Arrivals {
			if a.MoveID == moveID {
				n++
			}
		}
	}
	return n
}

func joined(room, identity string) *livekit.WebhookEvent {
	return &livekit.WebhookEvent{Event: "participant_joined", Room: &livekit.Room{Name: room},
		Participant: &livekit.ParticipantInfo{Identity: identity}}
}

// A participant whose move was reported failed and who then joins the
// move's destination (a slow client, or one that rejoins later) is
// announced with that move's meetingChanged, once; joining another room,
// or a room that a newer move no longer sends it to, announces nothing.
func TestLateArrivalAfterMoveFailed(t *testing.T) {
	w := newWorld(t, 2)
	ctx := t.Context()
	mover := breakoutstest.NewMover()
	s := breakouts.New(w.st, w.bridge, mover, w.log)
	run(t, s)
	p, q := w.people[0], w.people[1]
	mover.Connect(p, w.meeting)
	mover.Connect(q, w.meeting)
	mover.Fail(p)
	mover.Fail(q)

	st, ids, err := s.CreateRooms(ctx, appID, w.meeting, breakouts.Admin, ptr[int64](0), make([]breakouts.RoomTitle, 2))
	if err != nil {
		t.Fatal(err)
	}
	a, b := ids[0], ids[1]
	st, err = s.MoveParticipants(ctx, appID, w.meeting, breakouts.Admin, &st.Version,
		breakouts.MoveRequest{From: w.meeting, To: a, Participants: []breakouts.MoveParticipant{{ID: p}, {ID: q}}})
	if err != nil {
		t.Fatal(err)
	}
	wait(t, "both moves to be reported failed", func() bool { _, f := arrivalsOf(t, w); return len(f) == 2 })
	var moveP string
	for _, m := range mover.Moves() {
		if m.Identity == p {
			moveP = m.MoveID
		}
	}

	// p shows up in the wrong room first: nothing; then in a: its move's arrival.
	s.HandleLiveKitEvent(ctx, joined(b, p))
	s.HandleLiveKitEvent(ctx, joined(a, p))
	wait(t, "p's late arrival", func() bool { arr, _ := arrivalsOf(t, w); return len(arr) > 0 })
	arr, _ := arrivalsOf(t, w)
	if len(arr) != 1 || arr[0].ParticipantID != p || arr[0].Meeting.ID != a || arr[0].MoveID != moveP {
		t.Fatalf("arrivals %+v, want p in %s with move %s", arr, a, moveP)
	}
	// Announced once: a second join (a reconnect) is not a new arrival.
	s.HandleLiveKitEvent(ctx, joined(a, p))

	// q is moved on to b before it turns up in a: its failed move to a no
	// longer stands.
	mover.Connect(q, a) // the fake needs q somewhere to move it from
	if _, err = s.MoveParticipants(ctx, appID, w.meeting, breakouts.Admin, &st.Version,
		breakouts.MoveRequest{From: a, To: b, Participants: []breakouts.MoveParticipant{{ID: q}}}); err != nil {
		t.Fatal(err)
	}
	wait(t, "q's second move to be reported failed", func() bool { _, f := arrivalsOf(t, w); return len(f) == 3 })
	s.HandleLiveKitEvent(ctx, joined(a, q))
	time.Sleep(200 * time.Millisecond) // four notifier periods for a stray event
	if arr, _ := arrivalsOf(t, w); len(arr) != 1 {
		t.Fatalf("arrivals %+v, want only p's", arr)
	}
	if n := announced(t, w, a, moveP); n != 1 {
		t.Fatalf("p's arrival was sent to room a %d times, want once", n)
	}
	// The second move failed too (the fake still fails q): q turning up in
	// b is that move's arrival.
	moveQ := mover.Moves()[2].MoveID
	s.HandleLiveKitEvent(ctx, joined(b, q))
	wait(t, "q's late arrival in b", func() bool { arr, _ := arrivalsOf(t, w); return len(arr) == 2 })
	if arr, _ := arrivalsOf(t, w); arr[1].ParticipantID != q || arr[1].Meeting.ID != b || arr[1].MoveID != moveQ {
		t.Fatalf("arrival %+v, want q in %s with move %s", arr[1], b, moveQ)
	}
}

// A move whose destination LiveKit cannot create (bridge.MoveOrder.Ready)
// fails without sending the participant anywhere.
func TestMoveRoomUnavailable(t *testing.T) {
	w := newWorld(t, 1)
	ctx := t.Context()
	mover := breakoutstest.NewMover()
	hub := eventstream.NewHub()
	family := hub.Subscribe("observer", w.meeting)
	s := breakouts.New(w.st, w.bridge, mover, w.log, breakouts.WithStreams(hub))
	run(t, s)
	p := w.people[0]
	mover.Connect(p, w.meeting)
	st, ids, err := s.CreateRooms(ctx, appID, w.meeting, breakouts.Admin, ptr[int64](0), make([]breakouts.RoomTitle, 1))
	if err != nil {
		t.Fatal(err)
	}
	w.rooms.SetErr(errors.New("dial tcp 127.0.0.1:7880: connection refused"))
	if _, err = s.MoveParticipants(ctx, appID, w.meeting, breakouts.Admin, &st.Version,
		breakouts.MoveRequest{From: w.meeting, To: ids[0], Participants: []breakouts.MoveParticipant{{ID: p}}}); err != nil {
		t.Fatal(err)
	}
	// LiveKit is down: the failure is told on the family's streams only.
	for failed := false; !failed; {
		select {
		case m := <-family.C():
			var ev protocol.Event
			if err := json.Unmarshal(m.Data, &ev); err != nil {
				t.Fatal(err)
			}
			failed = ev.Type == protocol.EventMoveFailed
		case <-time.After(5 * time.Second):
			t.Fatal("the move was not reported failed")
		}
	}
	if got, moved := mover.Where(p), mover.Moves(); got != w.meeting || len(moved) != 0 {
		t.Fatalf("p is in %q after %d moves, want still in the parent and none carried out", got, len(moved))
	}
	if w.rooms.Room(ids[0]) != nil {
		t.Error("the room exists in LiveKit")
	}
}
