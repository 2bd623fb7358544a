package breakouts_test

import (
	"context"
	"slices"
	"sync"
	"testing"
	"time"

	"rtk-sidecar/breakouts"
	"rtk-sidecar/breakouts/breakoutstest"
	"rtk-sidecar/cluster/clustertest"
	"rtk-sidecar/protocol"
)

// movesLease is a Leader that runs the takeover (breakouts.MovesLease)
// only once opened, and any other work at once: a replica waiting for the
// moves' lease.
type movesLease struct{ open chan struct{} }

func (l *movesLease) Lead(ctx context.Context, name string, f func(context.Context) error) error {
	if name != breakouts.MovesLease {
		return f(ctx)
	}
	select {
	case <-l.open:
		return f(ctx)
	case <-ctx.Done():
		return nil
	}
}

// stays checks, for d, that cond holds all along.
func stays(t *testing.T, d time.Duration, what string, cond func() bool) {
	t.Helper()
	for end := time.Now().Add(d); time.Now().Before(end); time.Sleep(10 * time.Millisecond) {
		if !cond() {
			t.Fatalf("%s did not hold", what)
		}
	}
}

// The moves a replica committed and died before carrying out are taken
// over by the holder of the moves' lease once their deadline, counted from
// the placement in the store, has passed: a participant still in the room
// it left gets its instruction once more and arrives; one whose move times
// out again loses its connection there (connectionRemoved, moveFailed); a
// connection a lost leave left behind is removed without a move; one
// already in place, and one placed where it is, are left alone. Nothing is
// done twice.
func TestTakeoverOfADeadReplicasMoves(t *testing.T) {
	w := newWorld(t, 4)
	mover := breakoutstest.NewMover()
	p, q, r, u := w.people[0], w.people[1], w.people[2], w.people[3]
	for _, id := range w.people {
		mover.Connect(id, w.meeting)
	}
	dead := breakouts.New(w.st, w.bridge, mover, w.log) // never runs: its moves stay undone
	start := time.Now()
	room := moveToANewRoom(t, dead, w, p, q, u)
	mover.Connect(q, room) // q's move was done, but its leave was lost
	mover.Leave(q, w.meeting)
	mover.Fail(u) // u never follows an instruction

	const deadline = 400 * time.Millisecond
	lease := &movesLease{open: make(chan struct{})}
	live := breakouts.New(w.st, w.bridge, mover, w.log, breakouts.WithLeader(lease), breakouts.WithTakeover(deadline))
	run(t, live)
	stays(t, deadline+200*time.Millisecond, "nothing done without the lease", func() bool {
		return mover.Begun() == 0 && len(mover.Evicted()) == 0
	})
	close(lease.open)

	wait(t, "p to arrive", func() bool { return mover.Where(p) == room })
	wait(t, "u and q's leftover to be removed from the parent", func() bool { return len(mover.Evicted()) == 2 })
	if took := time.Since(start); took < deadline {
		t.Errorf("taken over %v after the placement, before its deadline %v", took, deadline)
	}
	if got := mover.Evicted(); !slices.Contains(got, w.meeting+"/"+u) || !slices.Contains(got, w.meeting+"/"+q) {
		t.Errorf("evicted %v, want u and q's leftover from the parent", got)
	}
	moves := mover.Moves()
	var moved []string
	for _, m := range moves {
		moved = append(moved, m.Identity)
		if m.FromRoom != w.meeting || m.ToRoom != room || m.Meeting.ID != room || m.MoveID == "" {
			t.Errorf("move %+v, want from the parent to %s", m, room)
		}
	}
	slices.Sort(moved)
	want := []string{p, u}
	slices.Sort(want)
	if !slices.Equal(moved, want) {
		t.Errorf("moved %v, want p and u once each (not q, in place, nor r, placed where it is)", moved)
	}
	wait(t, "u's removal to be told", func() bool { return len(removalsOf(t, w)) == 1 })
	rm := removalsOf(t, w)[0]
	var moveU string
	for _, m := range moves {
		if m.Identity == u {
			moveU = m.MoveID
		}
	}
	if rm.ParticipantID != u || rm.MeetingID != w.meeting || rm.PlacedMeetingID != room || rm.Reason != protocol.RemovedMoveFailed || rm.MoveID != moveU {
		t.Errorf("removal %+v, want u from the parent after move %s", rm, moveU)
	}
	wait(t, "p's arrival to be told", func() bool {
		a, _ := arrivalsOf(t, w)
		return slices.ContainsFunc(a, func(a protocol.Arrival) bool { return a.ParticipantID == p })
	})
	if mover.Where(r) != w.meeting {
		t.Errorf("r is in %q, want the parent", mover.Where(r))
	}
	stays(t, deadline, "nothing done twice", func() bool { return mover.Begun() == 2 && len(mover.Evicted()) == 2 })
}

// A move running on this replica is left to it however long it takes: the
// takeover does not send it again nor remove the participant from the room
// it is leaving.
func TestTakeoverLeavesLocalMoves(t *testing.T) {
	w := newWorld(t, 1)
	mover := breakoutstest.NewMover()
	p := w.people[0]
	mover.Connect(p, w.meeting)
	mover.Delay = 800 * time.Millisecond
	s := breakouts.New(w.st, w.bridge, mover, w.log, breakouts.WithTakeover(100*time.Millisecond))
	run(t, s)
	room := moveToANewRoom(t, s, w, p)
	wait(t, "p's move to end", func() bool { return mover.Where(p) == room })
	stays(t, 300*time.Millisecond, "one move and no removal", func() bool { return mover.Begun() == 1 && len(mover.Evicted()) == 0 })
}

// A move another replica started is taken over only once the deadline,
// counted from when the store says the participant was placed, has passed:
// until then it may still be under way there.
func TestTakeoverWaitsForTheDeadline(t *testing.T) {
	w := newWorld(t, 1)
	ctx := t.Context()
	mover := breakoutstest.NewMover()
	p := w.people[0]
	mover.Connect(p, w.meeting)
	const deadline = 600 * time.Millisecond
	live := breakouts.New(w.st, w.bridge, mover, w.log, breakouts.WithTakeover(deadline))
	run(t, live)
	other := breakouts.New(w.st, w.bridge, mover, w.log) // the replica the move runs on, slowly
	st, ids, err := other.CreateRooms(ctx, appID, w.meeting, breakouts.Admin, ptr[int64](0), make([]breakouts.RoomTitle, 1))
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	if _, err = other.MoveParticipants(ctx, appID, w.meeting, breakouts.Admin, &st.Version,
		breakouts.MoveRequest{From: w.meeting, To: ids[0], Participants: []breakouts.MoveParticipant{{ID: p}}}); err != nil {
		t.Fatal(err)
	}
	wait(t, "the move to be taken over", func() bool { return mover.Where(p) == ids[0] })
	if took := time.Since(start); took < deadline {
		t.Errorf("taken over %v after the placement, before its deadline %v", took, deadline)
	}
}

// A move whose replica died is taken over as soon as the replica is known
// dead (WithMoveOwners), long before its deadline, and once; while that
// replica lives, its move is left to it.
func TestTakeoverOfAMoveWhoseReplicaDied(t *testing.T) {
	w := newWorld(t, 1)
	p := w.people[0]
	owners := clustertest.NewOwners()
	const deadline = 4 * time.Second

	// The replica the move runs on: its Mover never finishes, and it never
	// holds the moves' lease.
	slow := breakoutstest.NewMover()
	slow.Connect(p, w.meeting)
	slow.Delay = time.Hour
	other := breakouts.New(w.st, w.bridge, slow, w.log, breakouts.WithLeader(&movesLease{open: make(chan struct{})}),
		breakouts.WithTakeover(deadline), breakouts.WithMoveOwners(owners.Replica("other")))
	otherCtx, cancel := context.WithCancel(context.Background())
	otherDone := make(chan error, 1)
	go func() { otherDone <- other.Run(otherCtx) }()
	kill := sync.OnceFunc(func() { cancel(); <-otherDone })
	t.Cleanup(kill)

	mover := breakoutstest.NewMover() // LiveKit as the survivor sees it
	mover.Connect(p, w.meeting)
	live := breakouts.New(w.st, w.bridge, mover, w.log, breakouts.WithTakeover(deadline), breakouts.WithMoveOwners(owners.Replica("live")))
	run(t, live)

	room := moveToANewRoom(t, other, w, p)
	wait(t, "the move to begin on its replica", func() bool { return slow.Begun() == 1 })
	if o := owners.OwnerOf("move:" + p); o != "other" {
		t.Fatalf("the move is recorded as run by %q, want other", o)
	}
	stays(t, 1500*time.Millisecond, "the move of a live replica left to it", func() bool { return mover.Begun() == 0 })

	kill()
	takenOverOnDeath(t, owners, "other", mover, p, room, deadline)
	wait(t, "p's arrival to be told", func() bool {
		a, _ := arrivalsOf(t, w)
		return slices.ContainsFunc(a, func(a protocol.Arrival) bool { return a.ParticipantID == p })
	})
}

// A move whose replica died once the change that made it had committed,
// before the move began (its instruction never went out), is recorded as
// that replica's from the commit on: it is taken over as soon as the
// replica is known dead, long before its deadline, as one that had begun.
func TestTakeoverOfAMoveWhoseReplicaDiedBeforeItBegan(t *testing.T) {
	w := newWorld(t, 1)
	p := w.people[0]
	owners := clustertest.NewOwners()
	const deadline = 4 * time.Second

	mover := breakoutstest.NewMover() // LiveKit as the survivor sees it
	mover.Connect(p, w.meeting)
	// The replica that commits the move never runs: its moves never begin.
	dead := breakouts.New(w.st, w.bridge, mover, w.log, breakouts.WithTakeover(deadline), breakouts.WithMoveOwners(owners.Replica("dead")))
	live := breakouts.New(w.st, w.bridge, mover, w.log, breakouts.WithTakeover(deadline), breakouts.WithMoveOwners(owners.Replica("live")))
	run(t, live)

	room := moveToANewRoom(t, dead, w, p)
	if o := owners.OwnerOf("move:" + p); o != "dead" {
		t.Fatalf("the committed move is recorded as run by %q, want dead", o)
	}
	stays(t, 1500*time.Millisecond, "the move of a live replica left to it", func() bool { return mover.Begun() == 0 })

	takenOverOnDeath(t, owners, "dead", mover, p, room, deadline)
}

// moveToANewRoom creates a breakout room of w's meeting through s and moves
// people there; it returns the room.
func moveToANewRoom(t *testing.T, s *breakouts.Service, w *world, people ...string) string {
	t.Helper()
	ctx := t.Context()
	st, ids, err := s.CreateRooms(ctx, appID, w.meeting, breakouts.Admin, ptr[int64](0), make([]breakouts.RoomTitle, 1))
	if err != nil {
		t.Fatal(err)
	}
	mps := make([]breakouts.MoveParticipant, len(people))
	for i, id := range people {
		mps[i] = breakouts.MoveParticipant{ID: id}
	}
	if _, err = s.MoveParticipants(ctx, appID, w.meeting, breakouts.Admin, &st.Version,
		breakouts.MoveRequest{From: w.meeting, To: ids[0], Participants: mps}); err != nil {
		t.Fatal(err)
	}
	return ids[0]
}

// takenOverOnDeath makes replica dead in owners and checks that the survivor
// (whose LiveKit is mover) takes p's move to room over before deadline, does
// it once, and releases the move's record when it ends.
func takenOverOnDeath(t *testing.T, owners *clustertest.Owners, replica string, mover *breakoutstest.Mover, p, room string, deadline time.Duration) {
	t.Helper()
	owners.Die(replica)
	died := time.Now()
	wait(t, "p to arrive", func() bool { return mover.Where(p) == room })
	if took := time.Since(died); took >= deadline {
		t.Errorf("taken over %v after its replica died, want it before the move's deadline %v", took, deadline)
	}
	stays(t, 1500*time.Millisecond, "nothing done twice", func() bool { return mover.Begun() == 1 && len(mover.Evicted()) == 0 })
	if o := owners.OwnerOf("move:" + p); o != "" {
		t.Errorf("the move is still recorded as run by %q, want nobody once it ended", o)
	}
}
