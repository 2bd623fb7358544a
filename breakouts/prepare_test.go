package breakouts_test

import (
	"slices"
	"testing"
	"time"

	"github.com/livekit/protocol/auth"
	"github.com/livekit/protocol/livekit"
	"github.com/livekit/psrpc"

	"rtk-sidecar/breakouts"
	"rtk-sidecar/breakouts/breakoutstest"
	"rtk-sidecar/bridge"
	"rtk-sidecar/protocol"
)

// A participant assigned to a room that it is not in gets a prepared connection to it, before
// the start only: a ticket for a hidden connection that may publish and subscribe as its preset
// allows but send no data, marked with protocol.PreparedAttribute, under its own identity, with
// the metadata the start's move gives it there (so that the reveal changes only its
// permission).
func TestPrepare(t *testing.T) {
	w := newWorld(t, 2)
	ctx := t.Context()
	mover := breakoutstest.NewMover()
	s := breakouts.New(w.st, w.bridge, mover, w.log)
	run(t, s)
	st, ids, err := s.CreateRooms(ctx, appID, w.meeting, breakouts.Admin, ptr[int64](0), make([]breakouts.RoomTitle, 2))
	if err != nil {
		t.Fatal(err)
	}
	ada, bob := breakouts.Participant(w.people[0]), breakouts.Participant(w.people[1])
	if _, err := s.Prepare(ctx, appID, w.meeting, ada); code(err) != psrpc.FailedPrecondition {
		t.Errorf("before any assignment: %v, want FailedPrecondition", err)
	}
	st, err = s.Assign(ctx, appID, w.meeting, breakouts.Admin, &st.Version,
		breakouts.Assignment{Manual: map[string][]string{ids[1]: {w.people[0]}}})
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		c    breakouts.Caller
		want psrpc.ErrorCode
	}{
		{"an unassigned participant", bob, psrpc.FailedPrecondition},
		{"a stranger", breakouts.Participant("nobody"), psrpc.PermissionDenied},
		{"the app", breakouts.Admin, psrpc.InvalidArgument},
	} {
		if _, err := s.Prepare(ctx, appID, w.meeting, tc.c); code(err) != tc.want {
			t.Errorf("%s: %v, want %s", tc.name, err, tc.want)
		}
	}

	tk, err := s.Prepare(ctx, appID, w.meeting, ada)
	if err != nil {
		t.Fatal(err)
	}
	if tk.Room != ids[1] || tk.Identity != w.people[0] || tk.URL != "ws://sfu" {
		t.Errorf("ticket %+v, want %s in %s", tk, w.people[0], ids[1])
	}
	verifier, err := auth.ParseAPIToken(tk.Token)
	if err != nil {
		t.Fatal(err)
	}
	_, claims, err := verifier.Verify("s")
	if err != nil {
		t.Fatal(err)
	}
	// It may publish what the preset allows in the room (so LiveKit sets up its publisher
	// transport at the join) and subscribe (so the subscriptions to its room-mates are
	// negotiated before the start), but sends no data.
	v := claims.Video
	if !v.RoomJoin || v.Room != ids[1] || !v.Hidden || !v.GetCanSubscribe() || !v.GetCanPublish() || v.GetCanPublishData() ||
		len(v.CanPublishSources) == 0 {
		t.Errorf("prepared grant: %+v", v)
	}
	if claims.Attributes[protocol.PreparedAttribute] == "" {
		t.Errorf("attributes %v, want %s", claims.Attributes, protocol.PreparedAttribute)
	}
	if w.rooms.Room(ids[1]) == nil {
		t.Error("the room was not made sure of in LiveKit")
	}

	if _, err := s.Start(ctx, appID, w.meeting, breakouts.Admin, &st.Version, breakouts.StartOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Prepare(ctx, appID, w.meeting, ada); code(err) != psrpc.FailedPrecondition {
		t.Errorf("once running: %v, want FailedPrecondition", err)
	}
	wait(t, "the start's move", func() bool { return len(mover.Moves()) == 1 })
	if m := mover.Moves()[0]; m.Identity != w.people[0] || m.Metadata != claims.Metadata {
		t.Errorf("ticket's metadata %s; the start's move of %s has %s", claims.Metadata, m.Identity, m.Metadata)
	}
}

// runningWithRooms is a world of n participants whose Service runs with an in-memory Mover,
// and whose meeting has k breakout rooms: the state after creating them, and their ids.
func runningWithRooms(t *testing.T, n, k int) (*world, *breakouts.Service, *breakoutstest.Mover, breakouts.State, []string) {
	t.Helper()
	w := newWorld(t, n)
	mover := breakoutstest.NewMover()
	s := breakouts.New(w.st, w.bridge, mover, w.log)
	run(t, s)
	st, ids, err := s.CreateRooms(t.Context(), appID, w.meeting, breakouts.Admin, ptr[int64](0), make([]breakouts.RoomTitle, k))
	if err != nil {
		t.Fatal(err)
	}
	return w, s, mover, st, ids
}

// A participant assigned away from a room loses its prepared connection there; the others keep
// theirs.
func TestAssignDropsPrepared(t *testing.T) {
	w, s, mover, st, ids := runningWithRooms(t, 3, 2)
	ctx := t.Context()
	var err error
	st, err = s.Assign(ctx, appID, w.meeting, breakouts.Admin, &st.Version,
		breakouts.Assignment{Manual: map[string][]string{ids[0]: w.people[:2], ids[1]: w.people[2:]}})
	if err != nil {
		t.Fatal(err)
	}
	for i, id := range w.people {
		mover.Prepare(id, ids[min(i/2, 1)])
	}
	if d := mover.Dropped(); len(d) != 0 {
		t.Fatalf("a first assignment dropped %v", d)
	}
	// people[0] to the other room, people[1] back to the parent; people[2] stays.
	if _, err := s.Assign(ctx, appID, w.meeting, breakouts.Admin, &st.Version,
		breakouts.Assignment{Manual: map[string][]string{ids[1]: {w.people[0], w.people[2]}, w.meeting: {w.people[1]}}}); err != nil {
		t.Fatal(err)
	}
	want := []string{ids[0] + "/" + w.people[0], ids[0] + "/" + w.people[1]}
	wait(t, "the prepared connections to be dropped", func() bool {
		d := mover.Dropped()
		slices.Sort(d)
		slices.Sort(want)
		return slices.Equal(d, want)
	})
}

// preparedJoined is the webhook event of a prepared connection's join.
func preparedJoined(room, identity string) *livekit.WebhookEvent {
	return &livekit.WebhookEvent{Event: "participant_joined", Room: &livekit.Room{Name: room},
		Participant: &livekit.ParticipantInfo{Identity: identity, Permission: &livekit.ParticipantPermission{Hidden: true},
			Attributes: map[string]string{protocol.PreparedAttribute: "1"}}}
}

// A prepared connection may subscribe, so it stays only while it can hear nothing but other
// prepared connections, or until the move that reveals it: nobody prepares a room somebody is
// in; a move into a room, other than the start, drops the prepared connections of those who
// wait to be sent there; once the start's moves are done, those it did not reveal (a participant
// offline at the start) go; and a prepared connection that joins where it may not stay (a
// ticket used after its time) goes.
func TestPreparedGuard(t *testing.T) {
	w, s, mover, st, ids := runningWithRooms(t, 5, 2)
	ctx := t.Context()
	var err error
	a, b := ids[0], ids[1]
	p := w.people
	st, err = s.Assign(ctx, appID, w.meeting, breakouts.Admin, &st.Version,
		breakouts.Assignment{Manual: map[string][]string{a: p[:2], b: p[2:]}})
	if err != nil {
		t.Fatal(err)
	}
	for i, id := range p {
		if i < 4 { // p[4] is offline
			mover.Connect(id, w.meeting)
		}
		if _, err := s.Prepare(ctx, appID, w.meeting, breakouts.Participant(id)); err != nil {
			t.Fatalf("prepare %d: %v", i, err)
		}
		mover.Prepare(id, st.Rooms[min(i/2, 1)].ID)
	}
	// Before the start, a join of an assigned participant's prepared connection stays.
	s.HandleLiveKitEvent(ctx, preparedJoined(b, p[2]))

	// p[0] goes to a ahead of the start: p[1], who waits to be sent there, loses its prepared
	// connection, before p[0] arrives, and may not prepare another.
	if st, err = s.MoveParticipants(ctx, appID, w.meeting, breakouts.Admin, &st.Version,
		breakouts.MoveRequest{From: w.meeting, To: a, Participants: []breakouts.MoveParticipant{{ID: p[0]}}}); err != nil {
		t.Fatal(err)
	}
	wait(t, "p[0] to arrive in a", func() bool { return mover.Where(p[0]) == a })
	if d := mover.Dropped(); !slices.Equal(d, []string{a + "/" + p[1]}) {
		t.Fatalf("dropped %v, want only p[1]'s in a", d)
	}
	if _, err := s.Prepare(ctx, appID, w.meeting, breakouts.Participant(p[1])); code(err) != psrpc.FailedPrecondition {
		t.Errorf("prepare a room somebody is in: %v, want FailedPrecondition", err)
	}

	// The start reveals the prepared connections of those it moves; p[4]'s, offline, goes
	// once the moves are done.
	if st, err = s.Start(ctx, appID, w.meeting, breakouts.Admin, &st.Version, breakouts.StartOptions{}); err != nil {
		t.Fatal(err)
	}
	wait(t, "p[4]'s prepared connection to go", func() bool { return len(mover.Dropped()) == 2 })
	if d := mover.Dropped(); d[1] != b+"/"+p[4] {
		t.Fatalf("dropped %v, want p[4]'s in b second", d)
	}
	for _, room := range ids {
		if left, _ := mover.PreparedIn(ctx, room); len(left) != 0 {
			t.Errorf("prepared connections left in %s: %v", room, left)
		}
	}
	if got := mover.Where(p[3]); got != b {
		t.Errorf("p[3] is in %q, want b", got)
	}
	// The start's moves keep the parent a while after the switch, and hold their instructions
	// for each other behind one reveal gate; p[0]'s single move does neither.
	var gate *bridge.RevealGate
	for _, mv := range mover.Moves() {
		single := mv.Identity == p[0]
		if want := map[bool]time.Duration{true: 0, false: breakouts.StartKeepSource}[single]; mv.KeepSource != want {
			t.Errorf("move of %s keeps the source %s, want %s", mv.Identity, mv.KeepSource, want)
		}
		switch {
		case single && mv.Gate != nil:
			t.Errorf("the single move of %s has a reveal gate", mv.Identity)
		case !single && (mv.Gate == nil || gate != nil && mv.Gate != gate):
			t.Errorf("the start's move of %s has gate %p, want the start's (%p)", mv.Identity, mv.Gate, gate)
		case !single:
			gate = mv.Gate
		}
	}

	// A ticket used once the rooms run: p[3] (placed in b) joins b with it again, and p[0]
	// (placed in a) joins b with one: both go.
	mover.Prepare(p[3], b)
	s.HandleLiveKitEvent(ctx, preparedJoined(b, p[3]))
	wait(t, "p[3]'s late prepared connection to go", func() bool { return len(mover.Dropped()) == 3 })
	mover.Prepare(p[0], b)
	s.HandleLiveKitEvent(ctx, preparedJoined(b, p[0]))
	wait(t, "p[0]'s prepared connection in b to go", func() bool { return len(mover.Dropped()) == 4 })
	if d := mover.Dropped(); d[2] != b+"/"+p[3] || d[3] != b+"/"+p[0] {
		t.Errorf("dropped %v", d)
	}
}

// With replicas, the move of a participant runs on the replica that started
// it; another replica that hears its prepared connection join the room it is
// now placed in leaves the connection for that move to reveal, as long as
// the placement is recent (WithReplicas). A single replica drops it when no
// move of its own is under way.
func TestPreparedKeptForAMoveOnAnotherReplica(t *testing.T) {
	w := newWorld(t, 2)
	ctx := t.Context()
	starter := breakouts.New(w.st, w.bridge, breakoutstest.NewMover(), w.log) // its moves never run: they are "elsewhere"
	st, ids, err := starter.CreateRooms(ctx, appID, w.meeting, breakouts.Admin, ptr[int64](0), make([]breakouts.RoomTitle, 1))
	if err != nil {
		t.Fatal(err)
	}
	room, p := ids[0], w.people[0]
	if st, err = starter.Assign(ctx, appID, w.meeting, breakouts.Admin, &st.Version,
		breakouts.Assignment{Manual: map[string][]string{room: w.people}}); err != nil {
		t.Fatal(err)
	}
	if _, err = starter.Start(ctx, appID, w.meeting, breakouts.Admin, &st.Version, breakouts.StartOptions{}); err != nil {
		t.Fatal(err)
	}

	other := breakoutstest.NewMover()
	other.Prepare(p, room)
	replica := breakouts.New(w.st, w.bridge, other, w.log, breakouts.WithReplicas(10*time.Second))
	run(t, replica)
	replica.HandleLiveKitEvent(ctx, preparedJoined(room, p))

	alone := breakoutstest.NewMover()
	alone.Prepare(p, room)
	single := breakouts.New(w.st, w.bridge, alone, w.log)
	run(t, single)
	single.HandleLiveKitEvent(ctx, preparedJoined(room, p))
	wait(t, "the single replica to drop the connection no move of its own reveals", func() bool { return len(alone.Dropped()) == 1 })
	if d := other.Dropped(); len(d) != 0 {
		t.Fatalf("a replica dropped %v, the prepared connection a move on another replica reveals", d)
	}
}
