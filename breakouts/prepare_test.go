package breakouts_test

import (
	"slices"
	"testing"

	"github.com/livekit/protocol/auth"
	"github.com/livekit/psrpc"

	"rtk-sidecar/breakouts"
	"rtk-sidecar/breakouts/breakoutstest"
	"rtk-sidecar/protocol"
)

// A participant assigned to a room that it is not in gets a prepared connection to it, before
// the start only: a ticket for a hidden connection that may publish what its preset allows but
// neither subscribe nor send data, marked with protocol.PreparedAttribute, under its own identity.
func TestPrepare(t *testing.T) {
	w := newWorld(t, 2)
	ctx := t.Context()
	s := breakouts.New(w.st, w.bridge, breakoutstest.NewMover(), w.log)
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
	// transport at the join), but hears nothing and sends no data.
	v := claims.Video
	if !v.RoomJoin || v.Room != ids[1] || !v.Hidden || v.GetCanSubscribe() || !v.GetCanPublish() || v.GetCanPublishData() ||
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
}

// A participant assigned away from a room loses its prepared connection there; the others keep
// theirs.
func TestAssignDropsPrepared(t *testing.T) {
	w := newWorld(t, 3)
	ctx := t.Context()
	mover := breakoutstest.NewMover()
	s := breakouts.New(w.st, w.bridge, mover, w.log)
	run(t, s)
	st, ids, err := s.CreateRooms(ctx, appID, w.meeting, breakouts.Admin, ptr[int64](0), make([]breakouts.RoomTitle, 2))
	if err != nil {
		t.Fatal(err)
	}
	st, err = s.Assign(ctx, appID, w.meeting, breakouts.Admin, &st.Version,
		breakouts.Assignment{Manual: map[string][]string{ids[0]: w.people[:2], ids[1]: w.people[2:]}})
	if err != nil {
		t.Fatal(err)
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
