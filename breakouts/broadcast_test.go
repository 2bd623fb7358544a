package breakouts_test

import (
	"encoding/json"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/livekit/protocol/livekit"
	"github.com/livekit/psrpc"

	"rtk-sidecar/breakouts"
	"rtk-sidecar/breakouts/breakoutstest"
	"rtk-sidecar/eventstream"
	"rtk-sidecar/protocol"
)

// broadcastsTo returns the broadcastedMessage events sent over LiveKit, by room.
func broadcastsTo(t *testing.T, w *world) map[string][]protocol.BroadcastedMessage {
	t.Helper()
	out := map[string][]protocol.BroadcastedMessage{}
	for _, p := range w.rooms.Packets() {
		var ev struct {
			Type string                      `json:"type"`
			Data protocol.BroadcastedMessage `json:"data"`
		}
		if p.Topic != protocol.EventsTopic || json.Unmarshal(p.Data, &ev) != nil || ev.Type != protocol.EventBroadcastedMessage {
			continue
		}
		out[p.Room] = append(out[p.Room], ev.Data)
	}
	return out
}

func code(err error) psrpc.ErrorCode {
	var e psrpc.Error
	if errors.As(err, &e) {
		return e.Code()
	}
	return ""
}

// A broadcast reaches the rooms it names, over LiveKit and the family's
// streams; without rooms, a participant's goes to its own room and the
// API's to every room. Bad input, strangers and floods are refused.
func TestBroadcast(t *testing.T) {
	w := newWorld(t, 2)
	ctx := t.Context()
	hub := eventstream.NewHub()
	stream := hub.Subscribe(w.people[0], w.meeting)
	mover := breakoutstest.NewMover()
	s := breakouts.New(w.st, w.bridge, mover, w.log, breakouts.WithStreams(hub))
	run(t, s)
	st, ids, err := s.CreateRooms(ctx, appID, w.meeting, breakouts.Admin, ptr[int64](0), make([]breakouts.RoomTitle, 2))
	if err != nil {
		t.Fatal(err)
	}
	a, b := ids[0], ids[1]
	for _, r := range []string{w.meeting, a, b} { // the rooms are open in LiveKit
		if _, err := w.rooms.CreateRoom(ctx, &livekit.CreateRoomRequest{Name: r}); err != nil {
			t.Fatal(err)
		}
	}
	mover.Connect(w.people[1], w.meeting)
	if _, err := s.MoveParticipants(ctx, appID, w.meeting, breakouts.Admin, &st.Version,
		breakouts.MoveRequest{From: w.meeting, To: a, Participants: []breakouts.MoveParticipant{{ID: w.people[1]}}}); err != nil {
		t.Fatal(err)
	}
	// The family's state and move events, up to the move's arrival.
	for arrived := false; !arrived; {
		select {
		case got := <-stream.C():
			arrived = strings.Contains(string(got.Data), `"type":"`+protocol.EventMeetingChanged+`"`)
		case <-time.After(5 * time.Second):
			t.Fatal("no meetingChanged on the family's stream")
		}
	}

	// From the parent to room b.
	host := breakouts.Participant(w.host)
	m, err := s.Broadcast(ctx, appID, w.meeting, host, breakouts.Broadcast{Type: "note", Payload: json.RawMessage(` {"text":"5 minutes left"}`), To: []string{b, b}})
	if err != nil {
		t.Fatal(err)
	}
	if m.ID == "" || m.Type != "note" || string(m.Payload) != `{"text":"5 minutes left"}` || m.SenderParticipantID != w.host ||
		!slices.Equal(m.MeetingIDs, []string{b}) || m.SentAt.IsZero() {
		t.Fatalf("sent %+v", m)
	}
	select {
	case got := <-stream.C():
		var ev struct {
			Type string                      `json:"type"`
			Data protocol.BroadcastedMessage `json:"data"`
		}
		if err := json.Unmarshal(got.Data, &ev); err != nil || got.Event != protocol.EventsTopic ||
			ev.Type != protocol.EventBroadcastedMessage || ev.Data.ID != m.ID {
			t.Errorf("stream got %s %s", got.Event, got.Data)
		}
	default:
		t.Error("nothing on the family's stream")
	}
	if got := broadcastsTo(t, w); len(got[b]) != 1 || got[b][0].ID != m.ID || len(got[a]) != 0 || len(got[w.meeting]) != 0 {
		t.Fatalf("LiveKit got %+v, want the message in %s only", got, b)
	}

	// No rooms: the sender's own room; for the API, every room.
	if _, err := s.Broadcast(ctx, appID, w.meeting, breakouts.Participant(w.people[1]), breakouts.Broadcast{Type: "hi", Payload: json.RawMessage(`{}`)}); err != nil {
		t.Fatal(err)
	}
	if got := broadcastsTo(t, w); len(got[a]) != 1 || len(got[b]) != 1 || len(got[w.meeting]) != 0 {
		t.Errorf("a participant in %s without rooms reached %v", a, got)
	}
	if m, err = s.Broadcast(ctx, appID, w.meeting, breakouts.Admin, breakouts.Broadcast{Type: "all", Payload: json.RawMessage(`{"n":1}`)}); err != nil {
		t.Fatal(err)
	}
	if got := broadcastsTo(t, w); len(got[a]) != 2 || len(got[b]) != 2 || len(got[w.meeting]) != 1 || len(m.MeetingIDs) != 3 {
		t.Errorf("the API without rooms reached %v (%v)", got, m.MeetingIDs)
	}

	for _, tc := range []struct {
		name string
		c    breakouts.Caller
		m    breakouts.Broadcast
		want psrpc.ErrorCode
	}{
		{"no type", host, breakouts.Broadcast{Payload: json.RawMessage(`{}`)}, psrpc.InvalidArgument},
		{"reserved type", host, breakouts.Broadcast{Type: "spotlight", Payload: json.RawMessage(`{}`)}, psrpc.InvalidArgument},
		{"payload not an object", host, breakouts.Broadcast{Type: "x", Payload: json.RawMessage(`[1]`)}, psrpc.InvalidArgument},
		{"no payload", host, breakouts.Broadcast{Type: "x"}, psrpc.InvalidArgument},
		{"payload too large", host, breakouts.Broadcast{Type: "x", Payload: json.RawMessage(`{"a":"` + strings.Repeat("a", 5000) + `"}`)}, psrpc.InvalidArgument},
		{"room of no family", host, breakouts.Broadcast{Type: "x", Payload: json.RawMessage(`{}`), To: []string{"elsewhere"}}, psrpc.InvalidArgument},
		{"stranger", breakouts.Participant("nobody"), breakouts.Broadcast{Type: "x", Payload: json.RawMessage(`{}`)}, psrpc.PermissionDenied},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := s.Broadcast(ctx, appID, w.meeting, tc.c, tc.m); code(err) != tc.want {
				t.Errorf("err %v, want %s", err, tc.want)
			}
		})
	}

	// Five a second per participant (the host has sent one).
	p := breakouts.Participant(w.people[0])
	for i := range 5 {
		if _, err := s.Broadcast(ctx, appID, w.meeting, p, breakouts.Broadcast{Type: "x", Payload: json.RawMessage(`{}`)}); err != nil {
			t.Fatalf("message %d: %v", i+1, err)
		}
	}
	if _, err := s.Broadcast(ctx, appID, w.meeting, p, breakouts.Broadcast{Type: "x", Payload: json.RawMessage(`{}`)}); code(err) != psrpc.ResourceExhausted {
		t.Errorf("the sixth message in a second: %v", err)
	}
	if _, err := s.Broadcast(ctx, appID, w.meeting, host, breakouts.Broadcast{Type: "x", Payload: json.RawMessage(`{}`)}); err != nil {
		t.Errorf("another participant is limited too: %v", err)
	}
}
