package breakouts_test

import (
	"encoding/json"
	"slices"
	"testing"
	"time"

	"github.com/livekit/protocol/livekit"

	"rtk-sidecar/breakouts"
	"rtk-sidecar/breakouts/breakoutstest"
	"rtk-sidecar/protocol"
)

// removalsOf returns the connectionRemoved entries sent so far, each once
// however many rooms it went to, in the order first sent.
func removalsOf(t *testing.T, w *world) []protocol.Removal {
	t.Helper()
	var out []protocol.Removal
	seen := map[string]bool{}
	for _, p := range w.rooms.Packets() {
		var ev protocol.Event
		if p.Topic != protocol.EventsTopic || json.Unmarshal(p.Data, &ev) != nil || ev.Type != protocol.EventConnectionRemoved {
			continue
		}
		var d protocol.ConnectionRemovedData
		if err := json.Unmarshal(ev.Data, &d); err != nil {
			t.Fatal(err)
		}
		for _, r := range d.Removals {
			if !seen[r.ID] {
				seen[r.ID] = true
				out = append(out, r)
			}
		}
	}
	return out
}

// joinedAt is a participant_joined webhook event of a connection that joined at at.
func joinedAt(room, identity string, at time.Time) *livekit.WebhookEvent {
	ev := joined(room, identity)
	ev.Participant.JoinedAtMs = at.UnixMilli()
	return ev
}

// A participant that does not arrive by its move's deadline loses its
// connection to the room it should have left, and the family is told; one
// that arrives keeps its own. A failure for another reason (LiveKit could
// not make the room) removes nobody, and neither does a failed move whose
// participant a newer move sends back meanwhile.
func TestFailedMoveEvicts(t *testing.T) {
	w := newWorld(t, 3)
	ctx := t.Context()
	mover := breakoutstest.NewMover()
	s := breakouts.New(w.st, w.bridge, mover, w.log)
	run(t, s)
	p, q, r := w.people[0], w.people[1], w.people[2]
	for _, id := range w.people {
		mover.Connect(id, w.meeting)
	}
	mover.Fail(p)
	st, ids, err := s.CreateRooms(ctx, appID, w.meeting, breakouts.Admin, ptr[int64](0), make([]breakouts.RoomTitle, 1))
	if err != nil {
		t.Fatal(err)
	}
	room := ids[0]
	if st, err = s.MoveParticipants(ctx, appID, w.meeting, breakouts.Admin, &st.Version,
		breakouts.MoveRequest{From: w.meeting, To: room, Participants: []breakouts.MoveParticipant{{ID: p}, {ID: q}}}); err != nil {
		t.Fatal(err)
	}
	wait(t, "p's connection to the parent to be removed", func() bool { return len(removalsOf(t, w)) == 1 })
	var moveP string
	for _, m := range mover.Moves() {
		if m.Identity == p {
			moveP = m.MoveID
		}
	}
	rm := removalsOf(t, w)[0]
	if rm.ParticipantID != p || rm.MeetingID != w.meeting || rm.PlacedMeetingID != room || rm.Reason != protocol.RemovedMoveFailed ||
		rm.MoveID != moveP || rm.ID == "" {
		t.Errorf("removal %+v, want p from the parent, placed in %s, after move %s", rm, room, moveP)
	}
	if got := mover.Evicted(); !slices.Equal(got, []string{w.meeting + "/" + p}) {
		t.Errorf("evicted %v, want p from the parent only", got)
	}
	if mover.Where(q) != room {
		t.Errorf("q is in %q, want %s", mover.Where(q), room)
	}

	// r's move fails slowly; meanwhile the host moves it back to the parent.
	mover.Fail(r)
	mover.Delay = 300 * time.Millisecond
	if st, err = s.MoveParticipants(ctx, appID, w.meeting, breakouts.Admin, &st.Version,
		breakouts.MoveRequest{From: w.meeting, To: room, Participants: []breakouts.MoveParticipant{{ID: r}}}); err != nil {
		t.Fatal(err)
	}
	wait(t, "r's move to begin", func() bool { return mover.Begun() == 3 })
	if _, err = s.MoveParticipants(ctx, appID, w.meeting, breakouts.Admin, &st.Version,
		breakouts.MoveRequest{From: room, To: w.meeting, Participants: []breakouts.MoveParticipant{{ID: r}}}); err != nil {
		t.Fatal(err)
	}
	wait(t, "r's move to be reported failed", func() bool { _, f := arrivalsOf(t, w); return len(f) == 2 })
	time.Sleep(200 * time.Millisecond) // room for a stray removal
	if got := mover.Where(r); got != w.meeting {
		t.Errorf("r is in %q, want still in the parent, where it is placed again", got)
	}
	if n := len(removalsOf(t, w)); n != 1 {
		t.Errorf("%d removals, want only p's", n)
	}
}

// A connection of a participant to a room it is not placed in (an old
// LiveKit token) is removed as soon as LiveKit reports it, and the family
// is told. Left alone: connections in the participant's room, those that
// joined before the participant was placed elsewhere (the connection its
// move deals with), those of a participant whose move is under way, and
// identities that are no participant (the polls agent, egress). A
// listening connection stays while its host may listen there.
func TestJoinedWhereNotPlaced(t *testing.T) {
	w := newWorld(t, 2)
	ctx := t.Context()
	mover := breakoutstest.NewMover()
	s := breakouts.New(w.st, w.bridge, mover, w.log)
	run(t, s)
	p, q := w.people[0], w.people[1]
	st, ids, err := s.CreateRooms(ctx, appID, w.meeting, breakouts.Admin, ptr[int64](0), make([]breakouts.RoomTitle, 2))
	if err != nil {
		t.Fatal(err)
	}
	a, b := ids[0], ids[1]
	if st, err = s.Assign(ctx, appID, w.meeting, breakouts.Admin, &st.Version,
		breakouts.Assignment{Manual: map[string][]string{a: {p}, b: {q}}}); err != nil {
		t.Fatal(err)
	}
	before := time.Now().Add(-time.Second)
	if st, err = s.Start(ctx, appID, w.meeting, breakouts.Admin, &st.Version, breakouts.StartOptions{}); err != nil {
		t.Fatal(err)
	}
	// Nobody was connected: both are placed, offline.
	wait(t, "the start's moves", func() bool { return len(mover.Moves()) == 2 })

	time.Sleep(5 * time.Millisecond) // LiveKit's join times are in milliseconds
	now := time.Now()
	for _, c := range []struct{ room, identity string }{
		{a, p}, {w.meeting, p}, {b, q}, {w.meeting, "rtk-agent"}, {a, "EG_abc"}, {b, breakouts.ListenerPrefix + w.host},
	} {
		mover.Connect(c.identity, c.room)
	}
	s.HandleLiveKitEvent(ctx, joinedAt(a, p, now))                                 // its room
	s.HandleLiveKitEvent(ctx, joinedAt(w.meeting, p, before))                      // before the start placed it
	s.HandleLiveKitEvent(ctx, joinedAt(w.meeting, "rtk-agent", now))               // the polls agent
	s.HandleLiveKitEvent(ctx, joinedAt(a, "EG_abc", now))                          // egress
	s.HandleLiveKitEvent(ctx, joinedAt(b, breakouts.ListenerPrefix+w.host, now))   // the host listens in
	s.HandleLiveKitEvent(ctx, joinedAt(a, breakouts.ListenerPrefix+"nobody", now)) // no participant
	// Time for a removal that must not come: removals run in the background.
	time.Sleep(200 * time.Millisecond)
	if got := mover.Evicted(); len(got) != 0 {
		t.Fatalf("evicted %v, want nobody yet", got)
	}

	// p rejoins the parent with its old LiveKit token; q turns up in a.
	mover.Connect(p, w.meeting)
	s.HandleLiveKitEvent(ctx, joinedAt(w.meeting, p, now))
	mover.Connect(q, a)
	s.HandleLiveKitEvent(ctx, joinedAt(a, q, now))
	wait(t, "two removals", func() bool { return len(removalsOf(t, w)) == 2 })
	got := map[string]protocol.Removal{}
	for _, r := range removalsOf(t, w) {
		got[r.ParticipantID] = r
	}
	if r := got[p]; r.MeetingID != w.meeting || r.PlacedMeetingID != a || r.Reason != protocol.RemovedNotPlaced || r.MoveID != "" {
		t.Errorf("p's removal %+v, want from the parent, placed in %s", r, a)
	}
	if r := got[q]; r.MeetingID != a || r.PlacedMeetingID != b || r.Reason != protocol.RemovedNotPlaced {
		t.Errorf("q's removal %+v, want from %s, placed in %s", r, a, b)
	}

	// A participant whose move is under way: the move decides.
	mover.Delay = 300 * time.Millisecond
	mover.Connect(q, b)
	if st, err = s.MoveParticipants(ctx, appID, w.meeting, breakouts.Admin, &st.Version,
		breakouts.MoveRequest{From: b, To: w.meeting, Participants: []breakouts.MoveParticipant{{ID: q}}}); err != nil {
		t.Fatal(err)
	}
	s.HandleLiveKitEvent(ctx, joinedAt(b, q, time.Now()))
	wait(t, "q's move", func() bool { return mover.Where(q) == w.meeting })
	mover.Delay = 0

	// A listener whose host may no longer listen: a plain participant's,
	// and the host's once the rooms are closed.
	mover.Connect(breakouts.ListenerPrefix+p, b)
	s.HandleLiveKitEvent(ctx, joinedAt(b, breakouts.ListenerPrefix+p, time.Now()))
	wait(t, "the plain participant's listener to be removed", func() bool { return len(removalsOf(t, w)) == 3 })
	if _, err = s.Close(ctx, appID, w.meeting, breakouts.Admin, &st.Version, 0); err != nil {
		t.Fatal(err)
	}
	mover.Connect(breakouts.ListenerPrefix+w.host, w.meeting)
	s.HandleLiveKitEvent(ctx, joinedAt(w.meeting, breakouts.ListenerPrefix+w.host, time.Now()))
	wait(t, "the host's listener to be removed", func() bool { return len(removalsOf(t, w)) == 4 })
	rs := removalsOf(t, w)
	for i, want := range []struct{ who, room string }{{p, b}, {w.host, w.meeting}} {
		if r := rs[2+i]; r.ParticipantID != want.who || r.MeetingID != want.room || r.Reason != protocol.RemovedNotListening {
			t.Errorf("removal %+v, want %s's listener from %s", r, want.who, want.room)
		}
	}
	if got := mover.Evicted(); len(got) != 4 || slices.Contains(got, b+"/"+q) {
		t.Errorf("evicted %v, want four, not q from %s", got, b)
	}
}
