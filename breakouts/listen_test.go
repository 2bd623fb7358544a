package breakouts_test

import (
	"testing"

	"github.com/livekit/protocol/auth"
	"github.com/livekit/psrpc"

	"rtk-sidecar/breakouts"
	"rtk-sidecar/breakouts/breakoutstest"
)

// A host listens in to a running room: a ticket for a hidden connection that subscribes to
// everything and publishes nothing, under an identity of its own. Others may not; the rooms
// must be running; the meeting must be a room of the family.
func TestListenIn(t *testing.T) {
	w := newWorld(t, 2)
	ctx := t.Context()
	s := breakouts.New(w.st, w.bridge, breakoutstest.NewMover(), w.log)
	st, ids, err := s.CreateRooms(ctx, appID, w.meeting, breakouts.Admin, ptr[int64](0), make([]breakouts.RoomTitle, 1))
	if err != nil {
		t.Fatal(err)
	}
	room, host := ids[0], breakouts.Participant(w.host)
	if _, err := s.ListenIn(ctx, appID, w.meeting, host, room); code(err) != psrpc.FailedPrecondition {
		t.Errorf("before the start: %v, want FailedPrecondition", err)
	}
	if _, err := s.Start(ctx, appID, w.meeting, breakouts.Admin, &st.Version, breakouts.StartOptions{}); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name    string
		c       breakouts.Caller
		meeting string
		want    psrpc.ErrorCode
	}{
		{"a plain participant", breakouts.Participant(w.people[0]), room, psrpc.PermissionDenied},
		{"a stranger", breakouts.Participant("nobody"), room, psrpc.PermissionDenied},
		{"the app", breakouts.Admin, room, psrpc.InvalidArgument},
		{"another meeting", host, "no-such-room", psrpc.InvalidArgument},
	} {
		if _, err := s.ListenIn(ctx, appID, w.meeting, tc.c, tc.meeting); code(err) != tc.want {
			t.Errorf("%s: %v, want %s", tc.name, err, tc.want)
		}
	}

	for _, meeting := range []string{room, w.meeting} {
		tk, err := s.ListenIn(ctx, appID, w.meeting, host, meeting)
		if err != nil {
			t.Fatal(err)
		}
		if tk.Room != meeting || tk.Identity != breakouts.ListenerPrefix+w.host || tk.URL != "ws://sfu" {
			t.Errorf("ticket %+v", tk)
		}
		verifier, err := auth.ParseAPIToken(tk.Token)
		if err != nil {
			t.Fatal(err)
		}
		_, claims, err := verifier.Verify("s")
		if err != nil {
			t.Fatal(err)
		}
		v := claims.Video
		if !v.RoomJoin || v.Room != meeting || !v.Hidden || !v.GetCanSubscribe() || v.GetCanPublish() || v.GetCanPublishData() {
			t.Errorf("listener grant in %s: %+v", meeting, v)
		}
	}
	if w.rooms.Room(room) == nil {
		t.Error("the room was not made sure of in LiveKit")
	}
}
