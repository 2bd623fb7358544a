package sidecar

import (
	"math"
	"net/http"
	"strconv"
	"strings"

	"github.com/gin-gonic/gin"

	"rtk-sidecar/polls"
	"rtk-sidecar/sessions"
	"rtk-sidecar/store"
)

// sessionRoutes registers the sessions and active-session API under an app.
func (s *Server) sessionRoutes(g *gin.RouterGroup) {
	if s.Sessions != nil {
		g.GET("/sessions", handle(s.listSessions))
		g.GET("/sessions/:session_id", handle(s.getSession))
		g.GET("/sessions/:session_id/participants", handle(s.listSessionParticipants))
		g.GET("/sessions/:session_id/participants/:participant_id", handle(s.getSessionParticipant))
		g.GET("/analytics/daywise", handle(s.dayWiseAnalytics))

		g.GET("/meetings/:meeting_id/active-session", handle(s.getActiveSession))
		g.POST("/meetings/:meeting_id/active-session/kick", handle(s.kick))
		g.POST("/meetings/:meeting_id/active-session/kick-all", handle(s.kickAll))
		g.POST("/meetings/:meeting_id/active-session/mute", handle(s.mute))
		g.POST("/meetings/:meeting_id/active-session/mute-all", handle(s.muteAll))
	}
	if s.Polls != nil {
		g.GET("/sessions/:session_id/polls", handle(s.listSessionPolls))
		g.POST("/meetings/:meeting_id/active-session/poll", handle(s.createPoll))
	}
}

// ---- wire types ----

type recordingDayJSON struct {
	Day                   string `json:"day"`
	TotalRecordingMinutes int64  `json:"total_recording_minutes"`
	TotalRecordings       int    `json:"total_recordings"`
}

type sessionDayJSON struct {
	Day                 string  `json:"day"`
	TotalSessionMinutes float64 `json:"total_session_minutes"`
	TotalSessions       int     `json:"total_sessions"`
}

type analyticsJSON struct {
	RecordingStats struct {
		DayStats                 []recordingDayJSON `json:"day_stats"`
		RecordingCount           int                `json:"recording_count"`
		RecordingMinutesConsumed float64            `json:"recording_minutes_consumed"`
	} `json:"recording_stats"`
	SessionStats struct {
		DayStats                []sessionDayJSON `json:"day_stats"`
		SessionsCount           int              `json:"sessions_count"`
		SessionsMinutesConsumed float64          `json:"sessions_minutes_consumed"`
	} `json:"session_stats"`
}

func toAnalyticsJSON(a sessions.Analytics) analyticsJSON {
	var j analyticsJSON
	j.RecordingStats.DayStats = make([]recordingDayJSON, len(a.Days))
	j.SessionStats.DayStats = make([]sessionDayJSON, len(a.Days))
	for i, d := range a.Days {
		j.RecordingStats.DayStats[i] = recordingDayJSON{Day: d.Day, TotalRecordingMinutes: int64(math.Round(d.RecordingMinutes)), TotalRecordings: d.Recordings}
		j.SessionStats.DayStats[i] = sessionDayJSON{Day: d.Day, TotalSessionMinutes: d.SessionMinutes, TotalSessions: d.Sessions}
	}
	j.RecordingStats.RecordingCount, j.RecordingStats.RecordingMinutesConsumed = a.Recordings, a.RecordingMinutes
	j.SessionStats.SessionsCount, j.SessionStats.SessionsMinutesConsumed = a.Sessions, a.SessionMinutes
	return j
}

type sessionJSON struct {
	ID                        string        `json:"id"`
	AssociatedID              string        `json:"associated_id"`
	MeetingDisplayName        string        `json:"meeting_display_name"`
	Type                      string        `json:"type"`
	Status                    string        `json:"status"`
	LiveParticipants          int           `json:"live_participants"`
	MaxConcurrentParticipants int           `json:"max_concurrent_participants"`
	MinutesConsumed           float64       `json:"minutes_consumed"`
	OrganizationID            string        `json:"organization_id"`
	StartedAt                 string        `json:"started_at"`
	EndedAt                   *string       `json:"ended_at"`
	CreatedAt                 string        `json:"created_at"`
	UpdatedAt                 string        `json:"updated_at"`
	EndedReason               *string       `json:"ended_reason,omitempty"`      // extension
	ParentSessionID           *string       `json:"parent_session_id,omitempty"` // extension
	BreakoutRooms             []sessionJSON `json:"breakout_rooms,omitzero"`     // [] when asked for and none
}

func toSessionJSON(v sessions.View) sessionJSON {
	j := sessionJSON{
		ID: v.ID, AssociatedID: v.MeetingID, MeetingDisplayName: v.Title, Type: "meeting", Status: v.Status,
		LiveParticipants: v.LiveParticipants, MaxConcurrentParticipants: v.MaxConcurrentParticipants,
		MinutesConsumed: math.Round(v.MinutesConsumed*1000) / 1000, OrganizationID: v.AppID,
		StartedAt: iso(v.StartedAt), EndedAt: nullable(iso(v.EndedAt)),
		CreatedAt: iso(v.CreatedAt), UpdatedAt: iso(v.UpdatedAt),
		ParentSessionID: nullable(v.ParentSessionID),
	}
	if v.Status == store.SessionEnded {
		j.EndedReason = nullable(v.EndReason)
	}
	if v.BreakoutRooms != nil {
		j.BreakoutRooms = make([]sessionJSON, 0, len(v.BreakoutRooms))
		for _, b := range v.BreakoutRooms {
			j.BreakoutRooms = append(j.BreakoutRooms, toSessionJSON(b))
		}
	}
	return j
}

type sessionParticipantJSON struct {
	ID                  string  `json:"id"`
	UserID              string  `json:"user_id"`
	CustomParticipantID string  `json:"custom_participant_id"`
	DisplayName         string  `json:"display_name"`
	PresetName          string  `json:"preset_name"`
	JoinedAt            string  `json:"joined_at"`
	LeftAt              *string `json:"left_at"`
	Duration            float64 `json:"duration"` // minutes in the room, all stints
	CreatedAt           string  `json:"created_at"`
	UpdatedAt           string  `json:"updated_at"`
	PeerID              string  `json:"peer_id"`      // extension: the current or last LiveKit connection
	LeaveReason         *string `json:"leave_reason"` // extension: LEFT, KICKED, MOVED, ENDED
}

func toSessionParticipantJSON(p sessions.ParticipantView) sessionParticipantJSON {
	j := sessionParticipantJSON{
		ID: p.ID, UserID: p.ParticipantID, CustomParticipantID: p.CustomParticipantID, DisplayName: p.DisplayName,
		PresetName: p.PresetName, JoinedAt: iso(p.JoinedAt), Duration: math.Round(p.Total.Minutes()*1000) / 1000,
		CreatedAt: iso(p.CreatedAt), UpdatedAt: iso(p.UpdatedAt), PeerID: p.PeerID,
	}
	if !p.Live() {
		j.LeftAt = nullable(iso(p.LeftAt))
		j.LeaveReason = nullable(p.LeaveReason)
	}
	return j
}

// moderatedJSON is a participant in the answer of kick and mute.
type moderatedJSON struct {
	ID        string  `json:"id"`
	Name      *string `json:"name"`
	Email     *string `json:"email"`
	Picture   *string `json:"picture"`
	CreatedAt string  `json:"created_at"`
	UpdatedAt string  `json:"updated_at"`
	// Extension.
	CustomParticipantID string `json:"custom_participant_id"`
}

func toModeratedJSON(ps []store.Participant) []moderatedJSON {
	out := make([]moderatedJSON, 0, len(ps))
	for _, p := range ps {
		out = append(out, moderatedJSON{ID: p.ID, Name: nullable(p.Name), Picture: nullable(p.Picture),
			CreatedAt: iso(p.CreatedAt), UpdatedAt: iso(p.UpdatedAt), CustomParticipantID: p.CustomParticipantID})
	}
	return out
}

// ---- query parameters ----

// queryBool reads a boolean query parameter; absent is false.
func queryBool(c *gin.Context, name string) (bool, error) {
	v := c.Query(name)
	if v == "" {
		return false, nil
	}
	b, err := strconv.ParseBool(v)
	if err != nil {
		return false, invalidArgument("%q must be true or false", name)
	}
	return b, nil
}

// queryAscending reads sort_order (ASC or DESC, any case); absent is def.
func queryAscending(c *gin.Context, def bool) (bool, error) {
	switch strings.ToUpper(c.Query("sort_order")) {
	case "":
		return def, nil
	case "ASC":
		return true, nil
	case "DESC":
		return false, nil
	}
	return false, invalidArgument("%q must be ASC or DESC", "sort_order")
}

// ---- sessions ----

func (s *Server) listSessions(c *gin.Context) error {
	svc := s.Sessions
	pg, err := pageOf(c)
	if err != nil {
		return err
	}
	after, before, err := queryWindow(c)
	if err != nil {
		return err
	}
	asc, err := queryAscending(c, false)
	if err != nil {
		return err
	}
	f := store.SessionFilter{
		MeetingID: c.Query("associated_id"), Status: strings.ToUpper(c.Query("status")),
		StartedAfter: after, StartedBefore: before, Search: strings.TrimSpace(c.Query("search")),
		Participant: strings.TrimSpace(c.Query("participants")), SortBy: c.Query("sort_by"), Ascending: asc, Page: pg,
	}
	vs, _, err := svc.List(c.Request.Context(), appOf(c), f)
	if err != nil {
		return err
	}
	out := make([]sessionJSON, 0, len(vs))
	for _, v := range vs {
		out = append(out, toSessionJSON(v))
	}
	ok(c, http.StatusOK, gin.H{"sessions": out})
	return nil
}

func (s *Server) getSession(c *gin.Context) error {
	svc := s.Sessions
	withBreakouts, err := queryBool(c, "include_breakout_rooms")
	if err != nil {
		return err
	}
	v, err := svc.Session(c.Request.Context(), appOf(c), c.Param("session_id"), withBreakouts)
	if err != nil {
		return err
	}
	ok(c, http.StatusOK, gin.H{"session": toSessionJSON(v)})
	return nil
}

func (s *Server) listSessionParticipants(c *gin.Context) error {
	svc := s.Sessions
	pg, err := pageOf(c)
	if err != nil {
		return err
	}
	sortBy := c.Query("sort_by")
	asc, err := queryAscending(c, sortBy != store.SortByDuration)
	if err != nil {
		return err
	}
	switch c.Query("view") {
	case "", "raw", "consolidated": // one record per participant either way
	default:
		return invalidArgument("%q must be raw or consolidated", "view")
	}
	if sortBy == "" {
		sortBy = store.SortByJoinedAt
	}
	f := store.SessionParticipantFilter{Search: strings.TrimSpace(c.Query("search")), SortBy: sortBy, Ascending: asc, Page: pg}
	ps, _, err := svc.Participants(c.Request.Context(), appOf(c), c.Param("session_id"), f)
	if err != nil {
		return err
	}
	out := make([]sessionParticipantJSON, 0, len(ps))
	for _, p := range ps {
		out = append(out, toSessionParticipantJSON(p))
	}
	ok(c, http.StatusOK, gin.H{"participants": out})
	return nil
}

func (s *Server) getSessionParticipant(c *gin.Context) error {
	svc := s.Sessions
	p, err := svc.Participant(c.Request.Context(), appOf(c), c.Param("session_id"), c.Param("participant_id"))
	if err != nil {
		return err
	}
	ok(c, http.StatusOK, gin.H{"participant": toSessionParticipantJSON(p)})
	return nil
}

func (s *Server) listSessionPolls(c *gin.Context) error {
	svc := s.Polls
	ps, err := svc.List(c.Request.Context(), appOf(c), c.Param("session_id"))
	if err != nil {
		return err
	}
	ok(c, http.StatusOK, gin.H{"polls": ps})
	return nil
}

// ---- active session ----

func (s *Server) getActiveSession(c *gin.Context) error {
	svc := s.Sessions
	v, err := svc.Active(c.Request.Context(), appOf(c), c.Param("meeting_id"))
	if err != nil {
		return err
	}
	ok(c, http.StatusOK, toSessionJSON(v))
	return nil
}

// targetsRequest is the body of kick and mute.
type targetsRequest struct {
	ParticipantIDs       []string `json:"participant_ids"`
	CustomParticipantIDs []string `json:"custom_participant_ids"`
}

func (s *Server) kick(c *gin.Context) error {
	svc := s.Sessions
	var req targetsRequest
	if err := bindJSON(c, &req); err != nil {
		return err
	}
	ps, err := svc.Kick(c.Request.Context(), appOf(c), c.Param("meeting_id"),
		sessions.Targets{ParticipantIDs: req.ParticipantIDs, CustomParticipantIDs: req.CustomParticipantIDs})
	if err != nil {
		return err
	}
	ok(c, http.StatusOK, gin.H{"action": "kick", "participants": toModeratedJSON(ps)})
	return nil
}

func (s *Server) kickAll(c *gin.Context) error {
	svc := s.Sessions
	n, err := svc.KickAll(c.Request.Context(), appOf(c), c.Param("meeting_id"))
	if err != nil {
		return err
	}
	ok(c, http.StatusOK, gin.H{"action": "kick-all", "kicked_participants_count": n})
	return nil
}

func (s *Server) mute(c *gin.Context) error {
	svc := s.Sessions
	var req targetsRequest
	if err := bindJSON(c, &req); err != nil {
		return err
	}
	ps, err := svc.Mute(c.Request.Context(), appOf(c), c.Param("meeting_id"),
		sessions.Targets{ParticipantIDs: req.ParticipantIDs, CustomParticipantIDs: req.CustomParticipantIDs})
	if err != nil {
		return err
	}
	ok(c, http.StatusOK, gin.H{"action": "mute", "participants": toModeratedJSON(ps)})
	return nil
}

func (s *Server) muteAll(c *gin.Context) error {
	svc := s.Sessions
	var req struct {
		AllowUnmute *bool `json:"allow_unmute"`
	}
	if err := bindJSON(c, &req); err != nil {
		return err
	}
	allow := req.AllowUnmute == nil || *req.AllowUnmute
	n, err := svc.MuteAll(c.Request.Context(), appOf(c), c.Param("meeting_id"), allow)
	if err != nil {
		return err
	}
	ok(c, http.StatusOK, gin.H{"action": "mute-all", "muted_participants_count": n})
	return nil
}

func (s *Server) createPoll(c *gin.Context) error {
	svc := s.Polls
	var in polls.Input
	if err := bindJSON(c, &in); err != nil {
		return err
	}
	p, err := svc.Create(c.Request.Context(), appOf(c), c.Param("meeting_id"), in)
	if err != nil {
		return err
	}
	ok(c, http.StatusCreated, gin.H{"action": "create", "poll": p})
	return nil
}

// dayWiseAnalytics handles GET .../analytics/daywise?start_date=&end_date=.
func (s *Server) dayWiseAnalytics(c *gin.Context) error {
	a, err := s.Sessions.Analytics(c.Request.Context(), appOf(c), c.Query("start_date"), c.Query("end_date"))
	if err != nil {
		return err
	}
	ok(c, http.StatusOK, toAnalyticsJSON(a))
	return nil
}
