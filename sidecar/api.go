package sidecar

import (
	"encoding/json"
	"net/http"

	"github.com/gin-gonic/gin"

	"rtk-sidecar/meetings"
	"rtk-sidecar/presets"
	"rtk-sidecar/store"
)

// ---- wire types: the JSON of the REST API ----

type appJSON struct {
	ID        string `json:"id"`
	Name      string `json:"name"`
	CreatedAt string `json:"created_at"`
}

func toAppJSON(a store.App) appJSON {
	return appJSON{ID: a.ID, Name: a.Name, CreatedAt: iso(a.CreatedAt)}
}

type meetingJSON struct {
	ID                         string          `json:"id"`
	Title                      *string         `json:"title"`
	Status                     string          `json:"status"`
	CreatedAt                  string          `json:"created_at"`
	UpdatedAt                  string          `json:"updated_at"`
	RecordOnStart              bool            `json:"record_on_start"`
	LiveStreamOnStart          bool            `json:"live_stream_on_start"`
	PersistChat                bool            `json:"persist_chat"`
	SummarizeOnEnd             bool            `json:"summarize_on_end"`
	SessionKeepAliveTimeInSecs int             `json:"session_keep_alive_time_in_secs"`
	PreferredRegion            *string         `json:"preferred_region"`
	ParentMeetingID            *string         `json:"parent_meeting_id,omitempty"`
	AIConfig                   json.RawMessage `json:"ai_config,omitempty"`
	RecordingConfig            json.RawMessage `json:"recording_config,omitempty"`
}

// toMeetingJSON renders a meeting; list items leave out the nested configs,
// as RealtimeKit's do.
func toMeetingJSON(m store.Meeting, full bool) meetingJSON {
	j := meetingJSON{
		ID: m.ID, Title: nullable(m.Title), Status: m.Status,
		CreatedAt: iso(m.CreatedAt), UpdatedAt: iso(m.UpdatedAt),
		RecordOnStart: m.RecordOnStart, LiveStreamOnStart: m.LiveStreamOnStart,
		PersistChat: m.PersistChat, SummarizeOnEnd: m.SummarizeOnEnd,
		SessionKeepAliveTimeInSecs: m.SessionKeepAliveTimeInSecs,
		PreferredRegion:            nullable(m.PreferredRegion),
		ParentMeetingID:            nullable(m.ParentID),
	}
	if full {
		j.AIConfig, j.RecordingConfig = m.AIConfig, meetings.Redacted(m.RecordingConfig)
	}
	return j
}

type participantJSON struct {
	ID                  string  `json:"id"`
	CustomParticipantID string  `json:"custom_participant_id"`
	PresetName          string  `json:"preset_name"`
	PresetID            string  `json:"preset_id"`
	Name                *string `json:"name"`
	Picture             *string `json:"picture"`
	CreatedAt           string  `json:"created_at"`
	UpdatedAt           string  `json:"updated_at"`
	Token               string  `json:"token,omitempty"`
}

func toParticipantJSON(p meetings.Participant, token string) participantJSON {
	return participantJSON{
		ID: p.ID, CustomParticipantID: p.CustomParticipantID, PresetName: p.PresetName, PresetID: p.PresetID,
		Name: nullable(p.Name), Picture: nullable(p.Picture),
		CreatedAt: iso(p.CreatedAt), UpdatedAt: iso(p.UpdatedAt), Token: token,
	}
}

type presetSummaryJSON struct {
	ID        string `json:"id"`
	Name      string `json:"name"`
	CreatedAt string `json:"created_at"`
	UpdatedAt string `json:"updated_at"`
}

type presetJSON struct {
	ID string `json:"id"`
	presets.Preset
	CreatedAt string `json:"created_at"`
	UpdatedAt string `json:"updated_at"`
}

func toPresetJSON(p meetings.Preset) presetJSON {
	return presetJSON{ID: p.ID, Preset: p.Doc, CreatedAt: iso(p.CreatedAt), UpdatedAt: iso(p.UpdatedAt)}
}

// ---- apps ----

func (s *Server) listApps(c *gin.Context) error {
	pg, err := pageOf(c)
	if err != nil {
		return err
	}
	apps, total, err := s.meetings.ListApps(c.Request.Context(), keyOf(c).AccountID, pg)
	if err != nil {
		return err
	}
	out := make([]appJSON, len(apps))
	for i, a := range apps {
		out[i] = toAppJSON(a)
	}
	okPage(c, out, pagingOf(pg, len(out), total))
	return nil
}

func (s *Server) createApp(c *gin.Context) error {
	var req struct {
		Name *string `json:"name"`
	}
	if err := bindJSON(c, &req); err != nil {
		return err
	}
	if req.Name == nil {
		return invalidArgument("%q is required", "name")
	}
	a, err := s.meetings.CreateApp(c.Request.Context(), keyOf(c).AccountID, *req.Name)
	if err != nil {
		return err
	}
	ok(c, http.StatusCreated, gin.H{"app": toAppJSON(a)})
	return nil
}

// ---- meetings ----

func (s *Server) createMeeting(c *gin.Context) error {
	var in meetings.MeetingInput
	if err := bindJSON(c, &in); err != nil {
		return err
	}
	m, err := s.meetings.CreateMeeting(c.Request.Context(), appOf(c), in)
	if err != nil {
		return err
	}
	ok(c, http.StatusCreated, toMeetingJSON(m, true))
	return nil
}

func (s *Server) listMeetings(c *gin.Context) error {
	pg, err := pageOf(c)
	if err != nil {
		return err
	}
	after, before, err := queryWindow(c)
	if err != nil {
		return err
	}
	f := store.MeetingFilter{Search: c.Query("search"), CreatedAfter: after, CreatedBefore: before, Page: pg}
	ms, total, err := s.meetings.ListMeetings(c.Request.Context(), appOf(c), f)
	if err != nil {
		return err
	}
	out := make([]meetingJSON, len(ms))
	for i, m := range ms {
		out[i] = toMeetingJSON(m, false)
	}
	okPage(c, out, pagingOf(pg, len(out), total))
	return nil
}

func (s *Server) getMeeting(c *gin.Context) error {
	m, err := s.meetings.Meeting(c.Request.Context(), appOf(c), c.Param("meeting_id"))
	if err != nil {
		return err
	}
	ok(c, http.StatusOK, toMeetingJSON(m, true))
	return nil
}

func (s *Server) updateMeeting(c *gin.Context) error {
	var p meetings.MeetingPatch
	if err := bindJSON(c, &p); err != nil {
		return err
	}
	m, err := s.meetings.UpdateMeeting(c.Request.Context(), appOf(c), c.Param("meeting_id"), p)
	if err != nil {
		return err
	}
	ok(c, http.StatusOK, toMeetingJSON(m, true))
	return nil
}

func (s *Server) replaceMeeting(c *gin.Context) error {
	var in meetings.MeetingInput
	if err := bindJSON(c, &in); err != nil {
		return err
	}
	m, err := s.meetings.ReplaceMeeting(c.Request.Context(), appOf(c), c.Param("meeting_id"), in)
	if err != nil {
		return err
	}
	ok(c, http.StatusOK, toMeetingJSON(m, true))
	return nil
}

// ---- participants ----

func (s *Server) addParticipant(c *gin.Context) error {
	var in meetings.ParticipantInput
	if err := bindJSON(c, &in); err != nil {
		return err
	}
	p, tok, err := s.meetings.AddParticipant(c.Request.Context(), appOf(c), c.Param("meeting_id"), in)
	if err != nil {
		return err
	}
	ok(c, http.StatusCreated, toParticipantJSON(p, tok))
	return nil
}

func (s *Server) listParticipants(c *gin.Context) error {
	pg, err := pageOf(c)
	if err != nil {
		return err
	}
	ps, total, err := s.meetings.ListParticipants(c.Request.Context(), appOf(c), c.Param("meeting_id"), pg)
	if err != nil {
		return err
	}
	out := make([]participantJSON, len(ps))
	for i, p := range ps {
		out[i] = toParticipantJSON(p, "")
	}
	okPage(c, out, pagingOf(pg, len(out), total))
	return nil
}

func (s *Server) getParticipant(c *gin.Context) error {
	p, err := s.meetings.Participant(c.Request.Context(), appOf(c), c.Param("meeting_id"), c.Param("participant_id"))
	if err != nil {
		return err
	}
	ok(c, http.StatusOK, toParticipantJSON(p, ""))
	return nil
}

func (s *Server) editParticipant(c *gin.Context) error {
	var in meetings.ParticipantPatch
	if err := bindJSON(c, &in); err != nil {
		return err
	}
	p, tok, err := s.meetings.EditParticipant(c.Request.Context(), appOf(c), c.Param("meeting_id"), c.Param("participant_id"), in)
	if err != nil {
		return err
	}
	ok(c, http.StatusOK, toParticipantJSON(p, tok))
	return nil
}

func (s *Server) deleteParticipant(c *gin.Context) error {
	p, err := s.meetings.DeleteParticipant(c.Request.Context(), appOf(c), c.Param("meeting_id"), c.Param("participant_id"))
	if err != nil {
		return err
	}
	ok(c, http.StatusOK, gin.H{
		"id": p.ID, "custom_participant_id": p.CustomParticipantID, "preset_id": p.PresetID,
		"preset_name": p.PresetName, "created_at": iso(p.CreatedAt), "updated_at": iso(p.UpdatedAt),
	})
	return nil
}

func (s *Server) refreshToken(c *gin.Context) error {
	tok, err := s.meetings.RefreshToken(c.Request.Context(), appOf(c), c.Param("meeting_id"), c.Param("participant_id"))
	if err != nil {
		return err
	}
	ok(c, http.StatusOK, gin.H{"token": tok})
	return nil
}

// ---- presets ----

func (s *Server) createPreset(c *gin.Context) error {
	body, err := readBody(c)
	if err != nil {
		return err
	}
	p, err := s.meetings.CreatePreset(c.Request.Context(), appOf(c), body)
	if err != nil {
		return err
	}
	ok(c, http.StatusOK, toPresetJSON(p)) // RealtimeKit answers 200 here, not 201
	return nil
}

func (s *Server) listPresets(c *gin.Context) error {
	pg, err := pageOf(c)
	if err != nil {
		return err
	}
	ps, total, err := s.meetings.ListPresets(c.Request.Context(), appOf(c), pg)
	if err != nil {
		return err
	}
	out := make([]presetSummaryJSON, len(ps))
	for i, p := range ps {
		out[i] = presetSummaryJSON{ID: p.ID, Name: p.Name, CreatedAt: iso(p.CreatedAt), UpdatedAt: iso(p.UpdatedAt)}
	}
	okPage(c, out, pagingOf(pg, len(out), total))
	return nil
}

func (s *Server) getPreset(c *gin.Context) error {
	p, err := s.meetings.Preset(c.Request.Context(), appOf(c), c.Param("preset_id"))
	if err != nil {
		return err
	}
	ok(c, http.StatusOK, toPresetJSON(p))
	return nil
}

func (s *Server) updatePreset(c *gin.Context) error {
	body, err := readBody(c)
	if err != nil {
		return err
	}
	p, err := s.meetings.UpdatePreset(c.Request.Context(), appOf(c), c.Param("preset_id"), body)
	if err != nil {
		return err
	}
	ok(c, http.StatusOK, toPresetJSON(p))
	return nil
}

func (s *Server) deletePreset(c *gin.Context) error {
	p, err := s.meetings.DeletePreset(c.Request.Context(), appOf(c), c.Param("preset_id"))
	if err != nil {
		return err
	}
	ok(c, http.StatusOK, toPresetJSON(p))
	return nil
}
