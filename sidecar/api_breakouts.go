package sidecar

import (
	"encoding/json"
	"errors"
	"net/http"
	"time"

	"github.com/gin-gonic/gin"

	"rtk-sidecar/breakouts"
	"rtk-sidecar/protocol"
)

// Connected meetings (breakout rooms). The admin API lives under a meeting,
// with an API key, in RealtimeKit's snake_case; the participant API mirrors
// the web SDK's meeting.connectedMeetings in camelCase (docs/protocol.md),
// with the wire types of package protocol.

func (s *Server) breakoutRoutes(g *gin.RouterGroup) {
	b := g.Group("/meetings/:meeting_id/connected-meetings")
	b.GET("", handle(s.adminState))
	b.POST("", handle(s.adminCreateRooms))
	b.PATCH("", handle(s.adminRenameRooms))
	b.POST("/delete", handle(s.adminDeleteRooms))
	b.POST("/assign", handle(s.adminAssign))
	b.POST("/start", handle(s.adminStart))
	b.POST("/close", handle(s.adminClose))
	b.POST("/move", handle(s.adminMove))
	b.POST("/broadcast", handle(s.adminBroadcast))
}

func (s *Server) clientBreakoutRoutes(g *gin.RouterGroup) {
	c := g.Group("/connected-meetings")
	c.GET("", handle(s.clientState))
	c.POST("", handle(s.clientCreateRooms))
	c.PATCH("", handle(s.clientRenameRooms))
	c.POST("/delete", handle(s.clientDeleteRooms))
	c.POST("/assign", handle(s.clientAssign))
	c.POST("/start", handle(s.clientStart))
	c.POST("/close", handle(s.clientClose))
	c.POST("/move", handle(s.clientMove))
	c.POST("/broadcast", handle(s.clientBroadcast))
	c.POST("/listen", handle(s.clientListen))
	c.POST("/prepare", handle(s.clientPrepare))
	c.POST("/help", handle(s.clientHelp))
}

// ---- admin wire types ----

type stateJSON struct {
	Version           int64      `json:"version"`
	Status            string     `json:"status"`
	ClosingAt         *string    `json:"closing_at"`
	EndsAt            *string    `json:"ends_at"` // a running family's timer; null without one
	AssignLateJoiners bool       `json:"assign_late_joiners"`
	ParentMeeting     roomJSON   `json:"parent_meeting"`
	Meetings          []roomJSON `json:"meetings"`
	CreatedMeetingIDs []string   `json:"created_meeting_ids,omitempty"`
}

type roomJSON struct {
	ID                     string       `json:"id"`
	Title                  *string      `json:"title"`
	Participants           []memberJSON `json:"participants"`
	AssignedParticipantIDs []string     `json:"assigned_participant_ids,omitempty"`
}

type memberJSON struct {
	ID                  string  `json:"id"`
	CustomParticipantID string  `json:"custom_participant_id"`
	PresetID            string  `json:"preset_id"`
	Name                *string `json:"name"`
	Picture             *string `json:"picture"`
}

func toStateJSON(st breakouts.State) stateJSON {
	out := stateJSON{Version: st.Version, Status: st.Status, AssignLateJoiners: st.AssignLateJoiners,
		ParentMeeting: toRoomJSON(st.Parent, false), Meetings: []roomJSON{}}
	if !st.ClosingAt.IsZero() {
		t := iso(st.ClosingAt)
		out.ClosingAt = &t
	}
	if !st.EndsAt.IsZero() {
		t := iso(st.EndsAt)
		out.EndsAt = &t
	}
	for _, r := range st.Rooms {
		out.Meetings = append(out.Meetings, toRoomJSON(r, true))
	}
	return out
}

func toRoomJSON(r breakouts.Room, breakout bool) roomJSON {
	out := roomJSON{ID: r.ID, Title: nullable(r.Title), Participants: make([]memberJSON, 0, len(r.Participants))}
	if breakout {
		out.AssignedParticipantIDs = r.Assigned
	}
	for _, m := range r.Participants {
		out.Participants = append(out.Participants, memberJSON{ID: m.ID, CustomParticipantID: m.CustomParticipantID,
			PresetID: m.PresetID, Name: nullable(m.Name), Picture: nullable(m.Picture)})
	}
	return out
}

type titleJSON struct {
	ID    string `json:"id"`
	Title string `json:"title"`
}

func roomTitles(ts []titleJSON) []breakouts.RoomTitle {
	out := make([]breakouts.RoomTitle, len(ts))
	for i, t := range ts {
		out[i] = breakouts.RoomTitle{ID: t.ID, Title: t.Title}
	}
	return out
}

// ---- admin handlers ----

func (s *Server) adminState(c *gin.Context) error {
	st, err := s.Breakouts.State(c.Request.Context(), appOf(c), c.Param("meeting_id"), breakouts.Admin)
	if err != nil {
		return err
	}
	ok(c, http.StatusOK, toStateJSON(st))
	return nil
}

func (s *Server) adminCreateRooms(c *gin.Context) error {
	var req struct {
		Version  *int64      `json:"version"`
		Meetings []titleJSON `json:"meetings"`
		Count    *int        `json:"count"`
	}
	if err := bindJSON(c, &req); err != nil {
		return err
	}
	rooms := roomTitles(req.Meetings)
	if req.Count != nil {
		if len(req.Meetings) > 0 {
			return invalidArgument("send %q or %q, not both", "meetings", "count")
		}
		if *req.Count < 1 || *req.Count > breakouts.MaxRooms {
			return invalidArgument("%q must be between 1 and %d", "count", breakouts.MaxRooms)
		}
		rooms = make([]breakouts.RoomTitle, *req.Count)
	}
	st, ids, err := s.Breakouts.CreateRooms(c.Request.Context(), appOf(c), c.Param("meeting_id"), breakouts.Admin, req.Version, rooms)
	if err != nil {
		return s.withState(c, appOf(c), c.Param("meeting_id"), breakouts.Admin, adminView, err)
	}
	out := toStateJSON(st)
	out.CreatedMeetingIDs = ids
	ok(c, http.StatusCreated, out)
	return nil
}

func (s *Server) adminRenameRooms(c *gin.Context) error {
	var req struct {
		Version  *int64      `json:"version"`
		Meetings []titleJSON `json:"meetings"`
	}
	if err := bindJSON(c, &req); err != nil {
		return err
	}
	st, err := s.Breakouts.RenameRooms(c.Request.Context(), appOf(c), c.Param("meeting_id"), breakouts.Admin, req.Version, roomTitles(req.Meetings))
	return s.answerAdmin(c, st, err)
}

func (s *Server) adminDeleteRooms(c *gin.Context) error {
	var req struct {
		Version    *int64   `json:"version"`
		MeetingIDs []string `json:"meeting_ids"`
	}
	if err := bindJSON(c, &req); err != nil {
		return err
	}
	st, err := s.Breakouts.DeleteRooms(c.Request.Context(), appOf(c), c.Param("meeting_id"), breakouts.Admin, req.Version, req.MeetingIDs)
	return s.answerAdmin(c, st, err)
}

func (s *Server) adminAssign(c *gin.Context) error {
	var req struct {
		Version      *int64              `json:"version"`
		Mode         string              `json:"mode"`
		IncludeHosts bool                `json:"include_hosts"`
		Rooms        map[string][]string `json:"rooms"`
	}
	if err := bindJSON(c, &req); err != nil {
		return err
	}
	a, err := assignment(req.Mode, req.IncludeHosts, req.Rooms)
	if err != nil {
		return err
	}
	st, err := s.Breakouts.Assign(c.Request.Context(), appOf(c), c.Param("meeting_id"), breakouts.Admin, req.Version, a)
	return s.answerAdmin(c, st, err)
}

// adminStart handles POST .../connected-meetings/start {version,
// duration_seconds?, warning_seconds?, assign_late_joiners?}: without
// duration_seconds a timer set before stays; 0 removes it. warning_seconds
// defaults to 60. Without assign_late_joiners the setting stays.
func (s *Server) adminStart(c *gin.Context) error {
	var req struct {
		Version           *int64 `json:"version"`
		DurationSeconds   *int   `json:"duration_seconds"`
		WarningSeconds    *int   `json:"warning_seconds"`
		AssignLateJoiners *bool  `json:"assign_late_joiners"`
	}
	if err := bindJSON(c, &req); err != nil {
		return err
	}
	opts, err := startOptions(req.DurationSeconds, req.WarningSeconds, req.AssignLateJoiners, "warning_seconds", "duration_seconds")
	if err != nil {
		return err
	}
	st, err := s.Breakouts.Start(c.Request.Context(), appOf(c), c.Param("meeting_id"), breakouts.Admin, req.Version, opts)
	return s.answerAdmin(c, st, err)
}

func (s *Server) adminClose(c *gin.Context) error {
	var req struct {
		Version      *int64 `json:"version"`
		GraceSeconds int    `json:"grace_seconds"`
	}
	if err := bindJSON(c, &req); err != nil {
		return err
	}
	st, err := s.Breakouts.Close(c.Request.Context(), appOf(c), c.Param("meeting_id"), breakouts.Admin, req.Version,
		time.Duration(req.GraceSeconds)*time.Second)
	return s.answerAdmin(c, st, err)
}

// moveJSON is a move request: participant_ids, or participants with presets
// (moveParticipantsWithCustomPreset).
type moveJSON struct {
	Version              *int64   `json:"version"`
	SourceMeetingID      string   `json:"source_meeting_id"`
	DestinationMeetingID string   `json:"destination_meeting_id"`
	ParticipantIDs       []string `json:"participant_ids"`
	Participants         []struct {
		ID       string `json:"id"`
		PresetID string `json:"preset_id"`
	} `json:"participants"`
}

func (s *Server) adminMove(c *gin.Context) error {
	var req moveJSON
	if err := bindJSON(c, &req); err != nil {
		return err
	}
	r := breakouts.MoveRequest{From: req.SourceMeetingID, To: req.DestinationMeetingID}
	for _, id := range req.ParticipantIDs {
		r.Participants = append(r.Participants, breakouts.MoveParticipant{ID: id})
	}
	for _, p := range req.Participants {
		r.Participants = append(r.Participants, breakouts.MoveParticipant{ID: p.ID, PresetID: p.PresetID})
	}
	if err := checkMoveTargets(r); err != nil {
		return err
	}
	st, err := s.Breakouts.MoveParticipants(c.Request.Context(), appOf(c), c.Param("meeting_id"), breakouts.Admin, req.Version, r)
	return s.answerAdmin(c, st, err)
}

// broadcastJSON is the admin API's broadcast: to meeting_ids, or to every
// room of the family.
type broadcastJSON struct {
	Type       string          `json:"type"`
	Payload    json.RawMessage `json:"payload"`
	MeetingIDs []string        `json:"meeting_ids"`
}

type broadcastedJSON struct {
	ID         string          `json:"id"`
	Type       string          `json:"type"`
	Payload    json.RawMessage `json:"payload"`
	MeetingIDs []string        `json:"meeting_ids"`
	SentAt     string          `json:"sent_at"`
}

func (s *Server) adminBroadcast(c *gin.Context) error {
	var req broadcastJSON
	if err := bindJSON(c, &req); err != nil {
		return err
	}
	m, err := s.Breakouts.Broadcast(c.Request.Context(), appOf(c), c.Param("meeting_id"), breakouts.Admin,
		breakouts.Broadcast{Type: req.Type, Payload: req.Payload, To: req.MeetingIDs})
	if err != nil {
		return err
	}
	ok(c, http.StatusOK, broadcastedJSON{ID: m.ID, Type: m.Type, Payload: m.Payload, MeetingIDs: m.MeetingIDs,
		SentAt: m.SentAt.Format(time.RFC3339Nano)})
	return nil
}

// assignment is the Assignment of an assign request: mode "auto" or
// "manual" with rooms (room id → participant ids).
func assignment(mode string, includeHosts bool, rooms map[string][]string) (breakouts.Assignment, error) {
	a := breakouts.Assignment{IncludeHosts: includeHosts}
	switch mode {
	case "auto":
		a.Auto = true
	case "manual":
		if rooms == nil {
			return a, invalidArgument("%q is required in manual mode: {room id: [participant ids]}", "rooms")
		}
		a.Manual = rooms
	default:
		return a, invalidArgument("%q must be one of [auto, manual]", "mode")
	}
	return a, nil
}

// startOptions are the StartOptions of a start request: a timer of
// duration seconds with a countdown of warning seconds (the default
// without), or none without a duration. The field names are the request's.
func startOptions(duration, warning *int, late *bool, warningField, durationField string) (breakouts.StartOptions, error) {
	opts := breakouts.StartOptions{AssignLateJoiners: late}
	if duration != nil {
		opts.Timer = &breakouts.Timer{Duration: time.Duration(*duration) * time.Second, Warning: breakouts.DefaultWarning}
		if warning != nil {
			opts.Timer.Warning = time.Duration(*warning) * time.Second
		}
	} else if warning != nil {
		return opts, invalidArgument("%q goes with %q", warningField, durationField)
	}
	return opts, nil
}

// adminView and clientView render a state for the admin API and for the
// participant API.
func adminView(st breakouts.State) any  { return toStateJSON(st) }
func clientView(st breakouts.State) any { return st.Client() }

// answerAdmin answers an admin's change with the family's new state, or
// with its error: a stale version gets the current state (withState).
func (s *Server) answerAdmin(c *gin.Context, st breakouts.State, err error) error {
	if err != nil {
		return s.withState(c, appOf(c), c.Param("meeting_id"), breakouts.Admin, adminView, err)
	}
	ok(c, http.StatusOK, toStateJSON(st))
	return nil
}

// answerClient answers a participant's change with the family's new state
// as participants see it, or with its error as answerAdmin does.
func (s *Server) answerClient(c *gin.Context, app, parent string, who breakouts.Caller, st breakouts.State, err error) error {
	if err != nil {
		return s.withState(c, app, parent, who, clientView, err)
	}
	ok(c, http.StatusOK, st.Client())
	return nil
}

// withState adds the family's current state, rendered by view, to err when
// err refuses a stale change (409), so that the caller can re-apply its
// change without another read. Other errors pass unchanged.
func (s *Server) withState(c *gin.Context, app, parent string, who breakouts.Caller, view func(breakouts.State) any, err error) error {
	if !errors.Is(err, breakouts.ErrStale) {
		return err
	}
	st, serr := s.Breakouts.State(c.Request.Context(), app, parent, who)
	if serr != nil {
		return err
	}
	return &staleError{err: err, version: st.Version, state: view(st)}
}

func checkMoveTargets(r breakouts.MoveRequest) error {
	switch {
	case r.From == "":
		return invalidArgument("%q is required", "source_meeting_id")
	case r.To == "":
		return invalidArgument("%q is required", "destination_meeting_id")
	}
	return nil
}

// ---- participant API ----

// participantFamily authenticates the participant token and returns the
// caller and the app and parent meeting of its family.
func (s *Server) participantFamily(c *gin.Context) (breakouts.Caller, string, string, error) {
	p, err := s.participant(c)
	if err != nil {
		return breakouts.Caller{}, "", "", err
	}
	return breakouts.Participant(p.ID), p.AppID, p.MeetingID, nil
}

func (s *Server) clientState(c *gin.Context) error {
	who, app, parent, err := s.participantFamily(c)
	if err != nil {
		return err
	}
	st, err := s.Breakouts.State(c.Request.Context(), app, parent, who)
	if err != nil {
		return err
	}
	ok(c, http.StatusOK, st.Client())
	return nil
}

func (s *Server) clientCreateRooms(c *gin.Context) error {
	who, app, parent, err := s.participantFamily(c)
	if err != nil {
		return err
	}
	var req protocol.CreateMeetingsRequest
	if err := bindJSON(c, &req); err != nil {
		return err
	}
	rooms := make([]breakouts.RoomTitle, len(req.Meetings))
	for i, m := range req.Meetings {
		rooms[i] = breakouts.RoomTitle{Title: m.Title}
	}
	st, ids, err := s.Breakouts.CreateRooms(c.Request.Context(), app, parent, who, req.Version, rooms)
	if err != nil {
		return s.withState(c, app, parent, who, clientView, err)
	}
	created := make([]protocol.MeetingRef, 0, len(ids))
	for _, id := range ids {
		r, _ := st.Room(id)
		created = append(created, protocol.MeetingRef{ID: r.ID, Title: r.Title})
	}
	ok(c, http.StatusCreated, protocol.CreatedMeetings{Meetings: created, State: st.Client()})
	return nil
}

func (s *Server) clientRenameRooms(c *gin.Context) error {
	who, app, parent, err := s.participantFamily(c)
	if err != nil {
		return err
	}
	var req protocol.UpdateMeetingsRequest
	if err := bindJSON(c, &req); err != nil {
		return err
	}
	rooms := make([]breakouts.RoomTitle, len(req.Meetings))
	for i, m := range req.Meetings {
		rooms[i] = breakouts.RoomTitle{ID: m.ID, Title: m.Title}
	}
	st, err := s.Breakouts.RenameRooms(c.Request.Context(), app, parent, who, req.Version, rooms)
	return s.answerClient(c, app, parent, who, st, err)
}

func (s *Server) clientDeleteRooms(c *gin.Context) error {
	who, app, parent, err := s.participantFamily(c)
	if err != nil {
		return err
	}
	var req protocol.DeleteMeetingsRequest
	if err := bindJSON(c, &req); err != nil {
		return err
	}
	st, err := s.Breakouts.DeleteRooms(c.Request.Context(), app, parent, who, req.Version, req.MeetingIDs)
	return s.answerClient(c, app, parent, who, st, err)
}

// clientAssign handles POST /client/v1/connected-meetings/assign
// (protocol.AssignRequest): a host assigns participants to rooms.
func (s *Server) clientAssign(c *gin.Context) error {
	who, app, parent, err := s.participantFamily(c)
	if err != nil {
		return err
	}
	var req protocol.AssignRequest
	if err := bindJSON(c, &req); err != nil {
		return err
	}
	a, err := assignment(req.Mode, req.IncludeHosts, req.Rooms)
	if err != nil {
		return err
	}
	st, err := s.Breakouts.Assign(c.Request.Context(), app, parent, who, req.Version, a)
	return s.answerClient(c, app, parent, who, st, err)
}

// clientStart handles POST /client/v1/connected-meetings/start
// (protocol.StartRequest): a host starts the rooms.
func (s *Server) clientStart(c *gin.Context) error {
	who, app, parent, err := s.participantFamily(c)
	if err != nil {
		return err
	}
	var req protocol.StartRequest
	if err := bindJSON(c, &req); err != nil {
		return err
	}
	opts, err := startOptions(req.DurationSeconds, req.WarningSeconds, req.AssignLateJoiners, "warningSeconds", "durationSeconds")
	if err != nil {
		return err
	}
	st, err := s.Breakouts.Start(c.Request.Context(), app, parent, who, req.Version, opts)
	return s.answerClient(c, app, parent, who, st, err)
}

// clientClose handles POST /client/v1/connected-meetings/close
// (protocol.CloseRequest): a host closes the rooms, at once or after a
// countdown.
func (s *Server) clientClose(c *gin.Context) error {
	who, app, parent, err := s.participantFamily(c)
	if err != nil {
		return err
	}
	var req protocol.CloseRequest
	if err := bindJSON(c, &req); err != nil {
		return err
	}
	st, err := s.Breakouts.Close(c.Request.Context(), app, parent, who, req.Version, time.Duration(req.GraceSeconds)*time.Second)
	return s.answerClient(c, app, parent, who, st, err)
}

func (s *Server) clientMove(c *gin.Context) error {
	who, app, parent, err := s.participantFamily(c)
	if err != nil {
		return err
	}
	var req protocol.MoveParticipantsRequest
	if err := bindJSON(c, &req); err != nil {
		return err
	}
	r := breakouts.MoveRequest{From: req.SourceMeetingID, To: req.DestinationMeetingID}
	for _, id := range req.ParticipantIDs {
		r.Participants = append(r.Participants, breakouts.MoveParticipant{ID: id})
	}
	for _, p := range req.Participants {
		r.Participants = append(r.Participants, breakouts.MoveParticipant{ID: p.ID, PresetID: p.PresetID})
	}
	switch {
	case r.From == "":
		return invalidArgument("%q is required", "sourceMeetingId")
	case r.To == "":
		return invalidArgument("%q is required", "destinationMeetingId")
	}
	st, err := s.Breakouts.MoveParticipants(c.Request.Context(), app, parent, who, req.Version, r)
	return s.answerClient(c, app, parent, who, st, err)
}

func (s *Server) clientBroadcast(c *gin.Context) error {
	who, app, parent, err := s.participantFamily(c)
	if err != nil {
		return err
	}
	var req protocol.BroadcastRequest
	if err := bindJSON(c, &req); err != nil {
		return err
	}
	m, err := s.Breakouts.Broadcast(c.Request.Context(), app, parent, who,
		breakouts.Broadcast{Type: req.Type, Payload: req.Payload, To: req.MeetingIDs})
	if err != nil {
		return err
	}
	ok(c, http.StatusOK, m)
	return nil
}

// clientListen handles POST /client/v1/connected-meetings/listen
// {meetingId}: a host's hidden, receive-only connection to a room of its
// family.
func (s *Server) clientListen(c *gin.Context) error {
	who, app, parent, err := s.participantFamily(c)
	if err != nil {
		return err
	}
	var req protocol.ListenRequest
	if err := bindJSON(c, &req); err != nil {
		return err
	}
	if req.MeetingID == "" {
		return invalidArgument("%q is required", "meetingId")
	}
	t, err := s.Breakouts.ListenIn(c.Request.Context(), app, parent, who, req.MeetingID)
	if err != nil {
		return err
	}
	ok(c, http.StatusOK, protocol.ListenTicket{URL: t.URL, Token: t.Token, Room: t.Room, Identity: t.Identity, MeetingID: req.MeetingID})
	return nil
}

// clientPrepare handles POST /client/v1/connected-meetings/prepare: a
// hidden connection to the breakout room the caller is assigned to, made
// ahead of the start (docs/protocol.md §5).
func (s *Server) clientPrepare(c *gin.Context) error {
	who, app, parent, err := s.participantFamily(c)
	if err != nil {
		return err
	}
	t, err := s.Breakouts.Prepare(c.Request.Context(), app, parent, who)
	if err != nil {
		return err
	}
	ok(c, http.StatusOK, protocol.PrepareTicket{URL: t.URL, Token: t.Token, Room: t.Room, MeetingID: t.Room})
	return nil
}

// clientHelp handles POST /client/v1/connected-meetings/help {message?}: a
// participant asks the family's hosts for help.
func (s *Server) clientHelp(c *gin.Context) error {
	who, app, parent, err := s.participantFamily(c)
	if err != nil {
		return err
	}
	var req protocol.HelpRequest
	if err := bindJSON(c, &req); err != nil {
		return err
	}
	m, err := s.Breakouts.AskForHelp(c.Request.Context(), app, parent, who, req.Message)
	if err != nil {
		return err
	}
	ok(c, http.StatusOK, m)
	return nil
}
