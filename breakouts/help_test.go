package breakouts_test

import (
	"encoding/json"
	"slices"
	"strings"
	"testing"

	"github.com/livekit/protocol/livekit"
	"github.com/livekit/psrpc"

	"rtk-sidecar/breakouts"
	"rtk-sidecar/breakouts/breakoutstest"
	"rtk-sidecar/eventstream"
	"rtk-sidecar/presets"
	"rtk-sidecar/protocol"
)

// A participant asks for help: every host gets it, over its stream and over LiveKit addressed
// to it in its room; nobody else does. Once every 10 s; a family without a host refuses.
func TestAskForHelp(t *testing.T) {
	w := newWorld(t, 2)
	ctx := t.Context()
	hub := eventstream.NewHub()
	hostStream := hub.Subscribe(w.host, w.meeting)
	plainStream := hub.Subscribe(w.people[1], w.meeting)
	mover := breakoutstest.NewMover()
	s := breakouts.New(w.st, w.bridge, mover, w.log, breakouts.WithStreams(hub))
	run(t, s)
	st, ids, err := s.CreateRooms(ctx, appID, w.meeting, breakouts.Admin, ptr[int64](0), make([]breakouts.RoomTitle, 1))
	if err != nil {
		t.Fatal(err)
	}
	room := ids[0]
	for _, r := range []string{w.meeting, room} {
		if _, err := w.rooms.CreateRoom(ctx, &livekit.CreateRoomRequest{Name: r}); err != nil {
			t.Fatal(err)
		}
	}
	mover.Connect(w.people[0], w.meeting)
	if _, err := s.MoveParticipants(ctx, appID, w.meeting, breakouts.Admin, &st.Version,
		breakouts.MoveRequest{From: w.meeting, To: room, Participants: []breakouts.MoveParticipant{{ID: w.people[0]}}}); err != nil {
		t.Fatal(err)
	}
	cohost := w.add(t, "cohost", presets.GroupCallHost) // a second host, offline
	wait(t, "the move", func() bool { return mover.Where(w.people[0]) == room })
	// The move's events go out after it, batched: wait until both rooms
	// have been told of the arrival (the streams are told first), so that
	// none of them is taken for an answer to the request below.
	wait(t, "the move's arrival told to both rooms", func() bool {
		told := map[string]bool{}
		for _, p := range w.rooms.Packets() {
			if strings.Contains(string(p.Data), `"type":"`+protocol.EventMeetingChanged+`"`) {
				told[p.Room] = true
			}
		}
		return told[w.meeting] && told[room]
	})
	for _, c := range []<-chan eventstream.Message{hostStream.C(), plainStream.C()} {
		for len(c) > 0 {
			<-c
		}
	}
	packets := len(w.rooms.Packets())

	asker := breakouts.Participant(w.people[0])
	m, err := s.AskForHelp(ctx, appID, w.meeting, asker, "  we are stuck  ")
	if err != nil {
		t.Fatal(err)
	}
	if m.ID == "" || m.ParticipantID != w.people[0] || m.MeetingID != room || m.Message != "we are stuck" || m.SentAt.IsZero() {
		t.Fatalf("request %+v", m)
	}
	select {
	case got := <-hostStream.C():
		var ev struct {
			Type string                 `json:"type"`
			Data protocol.HelpRequested `json:"data"`
		}
		if err := json.Unmarshal(got.Data, &ev); err != nil || ev.Type != protocol.EventHelpRequested || ev.Data.ID != m.ID {
			t.Errorf("host's stream got %s", got.Data)
		}
	default:
		t.Error("nothing on the host's stream")
	}
	if len(plainStream.C()) != 0 {
		t.Error("a participant who is not a host got the request")
	}
	var sent []string // room: identities
	for _, p := range w.rooms.Packets()[packets:] {
		sent = append(sent, p.Room+":"+joinIDs(p.Identities))
	}
	slices.Sort(sent)
	want := []string{w.meeting + ":" + joinIDs([]string{w.host, cohost.ID})}
	if !slices.Equal(sent, want) {
		t.Errorf("LiveKit packets %q, want %q (to the hosts, in their room, only)", sent, want)
	}

	if _, err := s.AskForHelp(ctx, appID, w.meeting, asker, ""); code(err) != psrpc.ResourceExhausted {
		t.Errorf("a second request at once: %v", err)
	}
	for _, tc := range []struct {
		name string
		c    breakouts.Caller
		msg  string
		want psrpc.ErrorCode
	}{
		{"the app", breakouts.Admin, "", psrpc.InvalidArgument},
		{"a stranger", breakouts.Participant("nobody"), "", psrpc.PermissionDenied},
		{"a long message", breakouts.Participant(w.people[1]), string(make([]byte, 501)), psrpc.InvalidArgument},
	} {
		if _, err := s.AskForHelp(ctx, appID, w.meeting, tc.c, tc.msg); code(err) != tc.want {
			t.Errorf("%s: %v, want %s", tc.name, err, tc.want)
		}
	}

	// A family whose only host asks has nobody to ask.
	lone := newWorld(t, 1)
	ls := breakouts.New(lone.st, lone.bridge, breakoutstest.NewMover(), lone.log)
	if _, err := ls.AskForHelp(ctx, appID, lone.meeting, breakouts.Participant(lone.host), ""); code(err) != psrpc.FailedPrecondition {
		t.Errorf("the only host asks: %v, want FailedPrecondition", err)
	}
}

func joinIDs(ids []string) string {
	ids = slices.Clone(ids)
	slices.Sort(ids)
	return strings.Join(ids, ",")
}
