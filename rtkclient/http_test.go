package rtkclient

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"reflect"
	"sync"
	"testing"
)

// sidecar is an httptest sidecar that records requests and answers with a
// canned status and body per "METHOD path".
type sidecar struct {
	*httptest.Server
	mu      sync.Mutex
	reqs    []recorded
	answers map[string]answer
}

type recorded struct {
	method, path, auth string
	body               map[string]any
}

type answer struct {
	status int
	body   string
}

func newSidecar(t *testing.T, answers map[string]answer) *sidecar {
	s := &sidecar{answers: answers}
	s.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		raw, _ := io.ReadAll(r.Body)
		var body map[string]any
		_ = json.Unmarshal(raw, &body)
		s.mu.Lock()
		s.reqs = append(s.reqs, recorded{r.Method, r.URL.Path, r.Header.Get("Authorization"), body})
		a, ok := s.answers[r.Method+" "+r.URL.Path]
		s.mu.Unlock()
		if !ok {
			a = answer{404, `{"success":false,"error":{"code":404,"message":"no route"}}`}
		}
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(a.status)
		_, _ = io.WriteString(w, a.body)
	}))
	t.Cleanup(s.Close)
	return s
}

// answer sets the answer to route ("METHOD /path"); the clients' event
// streams may be asking meanwhile.
func (s *sidecar) answer(route string, a answer) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.answers[route] = a
}

// find returns the first request of method and path.
func (s *sidecar) find(method, path string) (recorded, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, r := range s.reqs {
		if r.method == method && r.path == path {
			return r, true
		}
	}
	return recorded{}, false
}

func (s *sidecar) last() recorded {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.reqs[len(s.reqs)-1]
}

const stateJSON = `{"success":true,"data":{"version":12,"status":"running","closingAt":null,
 "parentMeeting":{"id":"main","title":"All hands","participants":[{"id":"p1","customParticipantId":"c1","presetId":"host","displayName":"Ann","displayPictureUrl":""}]},
 "meetings":[{"id":"bo-1","title":"Room 1","participants":[],"assignedParticipantIds":["p2"]}]}}`

var wantState = State{Version: 12, Status: "running",
	ParentMeeting: Meeting{ID: "main", Title: "All hands", Participants: []Participant{{ID: "p1", CustomParticipantID: "c1", PresetID: "host", DisplayName: "Ann"}}},
	Meetings:      []Meeting{{ID: "bo-1", Title: "Room 1", Participants: []Participant{}, AssignedParticipantIDs: []string{"p2"}}}}

// TestConnectedMeetingsCalls: each call sends its method, path, token and
// camelCase body (docs/protocol.md §2), and decodes the state answered.
func TestConnectedMeetingsCalls(t *testing.T) {
	ok := answer{200, stateJSON}
	var st map[string]any
	_ = json.Unmarshal([]byte(stateJSON), &st)
	created, _ := json.Marshal(map[string]any{"success": true,
		"data": map[string]any{"meetings": []any{map[string]any{"id": "bo-1", "title": "Room 1"}}, "state": st["data"]}})
	s := newSidecar(t, map[string]answer{
		"GET /client/v1/connected-meetings":         ok,
		"POST /client/v1/connected-meetings":        {201, string(created)},
		"PATCH /client/v1/connected-meetings":       ok,
		"POST /client/v1/connected-meetings/delete": ok,
		"POST /client/v1/connected-meetings/move":   ok,
		"POST /client/v1/connected-meetings/assign": ok,
		"POST /client/v1/connected-meetings/start":  ok,
		"POST /client/v1/connected-meetings/close":  ok,
	})
	c := New(s.URL+"/", "ptok")
	ctx := context.Background()
	for _, tc := range []struct {
		name         string
		call         func() (State, error)
		method, path string
		body         map[string]any
	}{
		{"get", func() (State, error) { return c.GetConnectedMeetings(ctx) },
			"GET", "/client/v1/connected-meetings", nil},
		{"create", func() (State, error) {
			cr, err := c.CreateMeetings(ctx, CreateMeetingsRequest{Version: Version(0), Meetings: []NewMeeting{{Title: "Room 1"}}})
			if len(cr.Meetings) != 1 || cr.Meetings[0] != (MeetingRef{ID: "bo-1", Title: "Room 1"}) {
				t.Errorf("created %+v", cr.Meetings)
			}
			return cr.State, err
		}, "POST", "/client/v1/connected-meetings",
			map[string]any{"version": 0.0, "meetings": []any{map[string]any{"title": "Room 1"}}}},
		{"update", func() (State, error) {
			return c.UpdateMeetings(ctx, UpdateMeetingsRequest{Version: Version(3), Meetings: []MeetingRef{{ID: "bo-1", Title: "R"}}})
		}, "PATCH", "/client/v1/connected-meetings",
			map[string]any{"version": 3.0, "meetings": []any{map[string]any{"id": "bo-1", "title": "R"}}}},
		{"delete", func() (State, error) {
			return c.DeleteMeetings(ctx, DeleteMeetingsRequest{Version: Version(4), MeetingIDs: []string{"bo-1"}})
		}, "POST", "/client/v1/connected-meetings/delete",
			map[string]any{"version": 4.0, "meetingIds": []any{"bo-1"}}},
		{"move", func() (State, error) {
			return c.MoveParticipants(ctx, MoveParticipantsRequest{Version: Version(5), SourceMeetingID: "main", DestinationMeetingID: "bo-1", ParticipantIDs: []string{"p1"}})
		}, "POST", "/client/v1/connected-meetings/move",
			map[string]any{"version": 5.0, "sourceMeetingId": "main", "destinationMeetingId": "bo-1", "participantIds": []any{"p1"}}},
		{"move self without version", func() (State, error) {
			return c.MoveParticipants(ctx, MoveParticipantsRequest{SourceMeetingID: "main", DestinationMeetingID: "bo-1", ParticipantIDs: []string{"me"}})
		}, "POST", "/client/v1/connected-meetings/move",
			map[string]any{"sourceMeetingId": "main", "destinationMeetingId": "bo-1", "participantIds": []any{"me"}}},
		{"move with preset", func() (State, error) {
			return c.MoveParticipantsWithCustomPreset(ctx, MoveWithPresetRequest{Version: Version(6), SourceMeetingID: "main", DestinationMeetingID: "bo-1",
				Participants: []ParticipantPreset{{ID: "p1", PresetID: "host"}}})
		}, "POST", "/client/v1/connected-meetings/move",
			map[string]any{"version": 6.0, "sourceMeetingId": "main", "destinationMeetingId": "bo-1",
				"participants": []any{map[string]any{"id": "p1", "presetId": "host"}}}},
		{"assign auto", func() (State, error) {
			return c.AssignRooms(ctx, AssignRequest{Version: Version(7), Mode: "auto", IncludeHosts: true})
		}, "POST", "/client/v1/connected-meetings/assign",
			map[string]any{"version": 7.0, "mode": "auto", "includeHosts": true}},
		{"assign manual", func() (State, error) {
			return c.AssignRooms(ctx, AssignRequest{Version: Version(8), Mode: "manual", Rooms: map[string][]string{"bo-1": {"p1", "p2"}}})
		}, "POST", "/client/v1/connected-meetings/assign",
			map[string]any{"version": 8.0, "mode": "manual", "rooms": map[string]any{"bo-1": []any{"p1", "p2"}}}},
		{"start", func() (State, error) {
			d, late := 600, true
			return c.StartRooms(ctx, StartRequest{Version: Version(9), DurationSeconds: &d, AssignLateJoiners: &late})
		}, "POST", "/client/v1/connected-meetings/start",
			map[string]any{"version": 9.0, "durationSeconds": 600.0, "assignLateJoiners": true}},
		{"close", func() (State, error) {
			return c.CloseRooms(ctx, CloseRequest{Version: Version(10), GraceSeconds: 5})
		}, "POST", "/client/v1/connected-meetings/close",
			map[string]any{"version": 10.0, "graceSeconds": 5.0}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			st, err := tc.call()
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(st, wantState) {
				t.Errorf("state %+v, want %+v", st, wantState)
			}
			r := s.last()
			if r.method != tc.method || r.path != tc.path || r.auth != "Bearer ptok" || !reflect.DeepEqual(r.body, tc.body) {
				t.Errorf("sent %s %s (%s) %v, want %s %s (Bearer ptok) %v", r.method, r.path, r.auth, r.body, tc.method, tc.path, tc.body)
			}
		})
	}
}

// TestBroadcastMessage: the request and the message the sidecar answers with.
func TestBroadcastMessage(t *testing.T) {
	s := newSidecar(t, map[string]answer{"POST /client/v1/connected-meetings/broadcast": {200,
		`{"success":true,"data":{"id":"b1","type":"note","payload":{"text":"hi"},"senderParticipantId":"p1","meetingIds":["bo-1"],"sentAt":"2026-12-03T07:00:00Z"}}`}})
	c := New(s.URL, "ptok")
	m, err := c.BroadcastMessage(context.Background(), "note", map[string]any{"text": "hi"}, "bo-1")
	if err != nil {
		t.Fatal(err)
	}
	if m.ID != "b1" || string(m.Payload) != `{"text":"hi"}` || m.SenderParticipantID != "p1" || m.SentAt.IsZero() {
		t.Errorf("message %+v", m)
	}
	want := map[string]any{"type": "note", "payload": map[string]any{"text": "hi"}, "meetingIds": []any{"bo-1"}}
	if r := s.last(); r.auth != "Bearer ptok" || !reflect.DeepEqual(r.body, want) {
		t.Errorf("sent %s %v, want %v", r.auth, r.body, want)
	}
	if _, err := c.BroadcastMessage(context.Background(), "note", func() {}); err == nil {
		t.Error("a payload that is not JSON was sent")
	}
}

// TestAPIErrors: error answers become *APIError with the status, from the
// envelope when there is one.
func TestAPIErrors(t *testing.T) {
	s := newSidecar(t, map[string]answer{
		"POST /client/v1/connected-meetings":        {409, `{"success":false,"error":{"code":409,"message":"version 3 is stale: the state is at 4","request_id":"r1"},"errors":[]}`},
		"PATCH /client/v1/connected-meetings":       {503, `upstream down`},
		"POST /client/v1/connected-meetings/delete": {200, `{"success":false,"error":{"code":400,"message":"bad"}}`},
		"POST /client/v1/connected-meetings/move":   {403, `{"success":false,"error":{"code":403,"message":"missing can_alter_connected_meetings"}}`},
		"POST /client/v1/connected-meetings/start":  {409, `{"success":false,"error":{"code":409,"message":"version 1 is stale: the state is at 2"},"data":{"version":2}}`},
		"POST /client/v1/connected-meetings/close":  {403, `{"success":false,"error":{"code":403,"message":"missing can_alter_connected_meetings"}}`},
	})
	c := New(s.URL, "ptok")
	ctx := context.Background()
	for _, tc := range []struct {
		name string
		call func() error
		want APIError
	}{
		{"stale version", func() error { _, err := c.CreateMeetings(ctx, CreateMeetingsRequest{Version: Version(3)}); return err },
			APIError{Status: 409, Code: 409, Message: "version 3 is stale: the state is at 4", RequestID: "r1"}},
		{"not JSON", func() error { _, err := c.UpdateMeetings(ctx, UpdateMeetingsRequest{}); return err },
			APIError{Status: 503, Message: "Service Unavailable"}},
		{"success false", func() error { _, err := c.DeleteMeetings(ctx, DeleteMeetingsRequest{}); return err },
			APIError{Status: 200, Code: 400, Message: "bad"}},
		{"forbidden", func() error { _, err := c.MoveParticipants(ctx, MoveParticipantsRequest{}); return err },
			APIError{Status: 403, Code: 403, Message: "missing can_alter_connected_meetings"}},
		{"start stale", func() error { _, err := c.StartRooms(ctx, StartRequest{Version: Version(1)}); return err },
			APIError{Status: 409, Code: 409, Message: "version 1 is stale: the state is at 2"}},
		{"close forbidden", func() error { _, err := c.CloseRooms(ctx, CloseRequest{Version: Version(2)}); return err },
			APIError{Status: 403, Code: 403, Message: "missing can_alter_connected_meetings"}},
		{"unknown route", func() error { _, err := c.GetConnectedMeetings(ctx); return err },
			APIError{Status: 404, Code: 404, Message: "no route"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var apiErr *APIError
			if err := tc.call(); !errors.As(err, &apiErr) || *apiErr != tc.want {
				t.Errorf("error %#v, want %#v", err, tc.want)
			}
		})
	}
}

// TestJoin: Join posts the participant token, connects to the LiveKit room
// it is given, and publishes tracks published before.
func TestJoin(t *testing.T) {
	s := newSidecar(t, map[string]answer{
		"POST /client/v1/join": {200, `{"success":true,"data":{"url":"ws://lk","token":"main/p1","room":"main","identity":"p1",
			"meeting_id":"main","participant_id":"p1","participant":{"id":"p1","custom_participant_id":"c1","preset_name":"host","preset_id":"h","name":"Ann","picture":null},
			"permissions":{"can_alter_connected_meetings":true}}}`},
	})
	f := newFakeLiveKit()
	c := New(s.URL, "ptok")
	c.connector = f
	defer c.Close()
	if _, err := c.Publish(Microphone()); err != nil {
		t.Fatal(err)
	}
	j, err := c.Join(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if j.Room != "main" || j.Participant.CustomParticipantID != "c1" || *j.Participant.Name != "Ann" || j.Participant.Picture != nil ||
		string(j.Permissions) != `{"can_alter_connected_meetings":true}` {
		t.Errorf("join info %+v", j)
	}
	if r, ok := s.find("POST", "/client/v1/join"); !ok || r.auth != "Bearer ptok" {
		t.Errorf("join request %+v", r)
	}
	if c.Room() != "main" || c.Identity() != "p1" || f.conn("main").sink("microphone") == nil {
		t.Errorf("in %q as %q; log %q", c.Room(), c.Identity(), f.Log())
	}

	bad := New(s.URL, "ptok")
	defer bad.Close()
	s.answer("POST /client/v1/join", answer{401, `{"success":false,"error":{"code":401,"message":"invalid token"}}`})
	var apiErr *APIError
	if _, err := bad.Join(context.Background()); !errors.As(err, &apiErr) || apiErr.Status != 401 {
		t.Errorf("join with a bad token: %v", err)
	}
}

// TestTruncatedState: a truncated stateUpdate makes the client fetch the
// state over HTTP; the fetched state is delivered.
func TestTruncatedState(t *testing.T) {
	s := newSidecar(t, map[string]answer{"GET /client/v1/connected-meetings": {200, stateJSON}})
	f := newFakeLiveKit()
	ev := &events{}
	c := New(s.URL, "ptok", WithHandlers(ev.handlers()))
	c.connector = f
	defer c.Close()
	if err := c.Connect(context.Background(), "ws://lk", "main/me"); err != nil {
		t.Fatal(err)
	}
	f.conn("main").h.data(EventsTopic, event("stateUpdate", map[string]any{"version": 12, "truncated": true}))
	got := ev.waitFor(t, "state 12").(State)
	if !reflect.DeepEqual(got, wantState) {
		t.Errorf("state %+v", got)
	}
	f.conn("main").h.data(EventsTopic, event("stateUpdate", map[string]any{"version": 11, "truncated": true}))
	if r := s.last(); r.method != "GET" {
		t.Errorf("last request %+v", r)
	}
}

func TestChat(t *testing.T) {
	msg := `{"id":"c1","meetingId":"bo-1","sessionId":"s1","participantId":"p1","displayName":"Ada","message":"hi","sentAt":"2026-12-03T07:00:00Z"}`
	s := newSidecar(t, map[string]answer{
		"POST /client/v1/chat": {201, `{"success":true,"data":` + msg + `}`},
		"GET /client/v1/chat":  {200, `{"success":true,"data":{"messages":[` + msg + `]}}`},
	})
	c := New(s.URL, "ptok")
	m, err := c.SendChat(context.Background(), "hi")
	if err != nil || m.ID != "c1" || m.MeetingID != "bo-1" || m.DisplayName != "Ada" || m.SentAt.IsZero() {
		t.Fatalf("SendChat = %+v, %v", m, err)
	}
	if r := s.last(); r.auth != "Bearer ptok" || !reflect.DeepEqual(r.body, map[string]any{"message": "hi"}) {
		t.Errorf("sent %s %v", r.auth, r.body)
	}
	if _, err := c.SendPrivateChat(context.Background(), "p2", "psst"); err != nil {
		t.Fatal(err)
	}
	if r := s.last(); !reflect.DeepEqual(r.body, map[string]any{"message": "psst", "to": "p2"}) {
		t.Errorf("sent %v", r.body)
	}
	h, err := c.ChatHistory(context.Background())
	if err != nil || len(h) != 1 || h[0] != m {
		t.Errorf("ChatHistory = %+v, %v", h, err)
	}
}

func TestAskForHelp(t *testing.T) {
	s := newSidecar(t, map[string]answer{"POST /client/v1/connected-meetings/help": {200,
		`{"success":true,"data":{"id":"h1","participantId":"p1","displayName":"Ada","meetingId":"bo-1","message":"stuck","sentAt":"2026-12-03T07:00:00Z"}}`}})
	c := New(s.URL, "ptok")
	m, err := c.AskForHelp(context.Background(), "stuck")
	if err != nil || m.ID != "h1" || m.MeetingID != "bo-1" || m.SentAt.IsZero() {
		t.Fatalf("AskForHelp = %+v, %v", m, err)
	}
	if r := s.last(); r.auth != "Bearer ptok" || !reflect.DeepEqual(r.body, map[string]any{"message": "stuck"}) {
		t.Errorf("sent %s %v", r.auth, r.body)
	}
}
