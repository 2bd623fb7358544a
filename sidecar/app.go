package sidecar

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/gin-gonic/gin"

	"rtk-sidecar/meetings"
	"rtk-sidecar/presets"
)

// AppPath is where the meeting app's files (the app folder of Deps.Web) are
// served; its page is served at "/" (the lobby) and MeetingPagePath.
const (
	AppPath         = "/app/"
	MeetingPagePath = "/meeting"
	// DevLobbyPath creates a meeting with a host and participants for the
	// development lobby (Deps.DevLobbyApp).
	DevLobbyPath = "/dev/lobby/meetings"
)

// maxLobbyParticipants bounds the participants (besides the host) a lobby
// meeting gets.
const maxLobbyParticipants = 20

// appPageRoutes serves the meeting app (web/README.md, "The meeting app"): its
// page at "/" and MeetingPagePath and its files at AppPath, without
// authentication (a meeting page carries its participant token in the URL),
// and the development lobby's endpoint when Deps.DevLobbyApp is set.
func (s *Server) appPageRoutes(r *gin.Engine) {
	if s.Web != nil {
		for _, p := range []string{"/", MeetingPagePath} {
			r.GET(p, handle(s.appPage))
			r.HEAD(p, handle(s.appPage))
		}
		r.GET(AppPath+"*file", handle(s.appFile))
		r.HEAD(AppPath+"*file", handle(s.appFile))
	}
	if s.DevLobbyApp != "" {
		r.POST(DevLobbyPath, handle(s.createLobbyMeeting))
		r.POST(DevLobbyPath+"/:meeting_id/participants", handle(s.addLobbyParticipant))
	}
}

// appPage handles GET and HEAD / and /meeting: the app's page, which shows
// the lobby or a meeting by its path.
func (s *Server) appPage(c *gin.Context) error {
	return s.serveAsset(c, "app/index.html")
}

// appFile handles GET and HEAD /app/{file}: a file of the meeting app.
func (s *Server) appFile(c *gin.Context) error {
	return s.serveUnder(c, "app")
}

// lobbyRequest is the body of POST /dev/lobby/meetings.
type lobbyRequest struct {
	Title        string `json:"title"`
	Participants *int   `json:"participants"`
}

// lobbyParticipantJSON is a participant the lobby added.
type lobbyParticipantJSON struct {
	ID         string `json:"id"`
	Name       string `json:"name"`
	PresetName string `json:"preset_name"`
	Token      string `json:"token"`
}

// createLobbyMeeting handles POST /dev/lobby/meetings: it creates a meeting
// in Deps.DevLobbyApp with a host (group_call_host) and N participants
// (group_call_participant; 6 when not given, at most 20) and answers their
// tokens.
func (s *Server) createLobbyMeeting(c *gin.Context) error {
	var in lobbyRequest
	if err := bindJSON(c, &in); err != nil {
		return err
	}
	n := 6
	if in.Participants != nil {
		n = *in.Participants
	}
	if n < 0 || n > maxLobbyParticipants {
		return invalidArgument("participants must be between 0 and %d", maxLobbyParticipants)
	}
	title := strings.TrimSpace(in.Title)
	if title == "" {
		title = "Dev meeting " + time.Now().UTC().Format("15:04:05")
	}
	ctx := c.Request.Context()
	m, err := s.meetings.CreateMeeting(ctx, s.DevLobbyApp, meetings.MeetingInput{Title: title})
	if err != nil {
		return err
	}
	out := make([]lobbyParticipantJSON, 0, n+1)
	for i := range n + 1 {
		name, cpid, preset := "Host", "host", presets.GroupCallHost
		if i > 0 {
			name, cpid, preset = fmt.Sprintf("Participant %d", i), fmt.Sprintf("participant-%d", i), presets.GroupCallParticipant
		}
		p, tok, err := s.meetings.AddParticipant(ctx, s.DevLobbyApp, m.ID,
			meetings.ParticipantInput{Name: &name, CustomParticipantID: &cpid, PresetName: &preset})
		if err != nil {
			return err
		}
		out = append(out, lobbyParticipantJSON{ID: p.ID, Name: name, PresetName: preset, Token: tok})
	}
	ok(c, http.StatusCreated, gin.H{"meeting_id": m.ID, "title": m.Title, "participants": out})
	return nil
}

// lobbyParticipantRequest is the body of POST /dev/lobby/meetings/{id}/participants.
type lobbyParticipantRequest struct {
	Name string `json:"name"`
}

// addLobbyParticipant handles POST /dev/lobby/meetings/{meeting_id}/participants:
// it adds a participant (group_call_participant) named in the body to a meeting
// of Deps.DevLobbyApp and answers its token: a late joiner, as an app adds one
// when someone comes after the start.
func (s *Server) addLobbyParticipant(c *gin.Context) error {
	var in lobbyParticipantRequest
	if err := bindJSON(c, &in); err != nil {
		return err
	}
	name := strings.TrimSpace(in.Name)
	if name == "" {
		return invalidArgument("name is required")
	}
	var b [4]byte
	if _, err := rand.Read(b[:]); err != nil {
		return err
	}
	cpid, preset := "lobby-"+hex.EncodeToString(b[:]), presets.GroupCallParticipant
	p, tok, err := s.meetings.AddParticipant(c.Request.Context(), s.DevLobbyApp, c.Param("meeting_id"),
		meetings.ParticipantInput{Name: &name, CustomParticipantID: &cpid, PresetName: &preset})
	if err != nil {
		return err
	}
	ok(c, http.StatusCreated, lobbyParticipantJSON{ID: p.ID, Name: name, PresetName: preset, Token: tok})
	return nil
}
