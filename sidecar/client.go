package sidecar

import (
	"net/http"
	"strings"

	"github.com/gin-gonic/gin"

	"rtk-sidecar/store"
	"rtk-sidecar/tokens"
)

// joinJSON is the answer to a join: where and how to connect to LiveKit.
type joinJSON struct {
	URL           string          `json:"url"`   // LiveKit server URL
	Token         string          `json:"token"` // LiveKit access token
	Room          string          `json:"room"`
	Identity      string          `json:"identity"`
	MeetingID     string          `json:"meeting_id"`
	ParticipantID string          `json:"participant_id"`
	Participant   participantJSON `json:"participant"`
	Permissions   any             `json:"permissions"`
}

// participantToken returns the participant token of "Authorization: Bearer <token>".
func participantToken(c *gin.Context) (string, error) {
	scheme, tok, found := strings.Cut(c.GetHeader("Authorization"), " ")
	if !found || !strings.EqualFold(scheme, "bearer") || strings.TrimSpace(tok) == "" {
		return "", tokens.ErrInvalid
	}
	return strings.TrimSpace(tok), nil
}

// participant authenticates the request's participant token.
func (s *Server) participant(c *gin.Context) (store.Participant, error) {
	tok, err := participantToken(c)
	if err != nil {
		return store.Participant{}, err
	}
	return s.meetings.Authenticate(c.Request.Context(), tok)
}

// join handles POST /client/v1/join: a participant token in, a LiveKit
// connection out, for the room the participant currently belongs to. A
// late joiner of running breakout rooms that take them is placed in one
// first (breakouts.PlaceLateJoiner); should that fail, it joins where it is.
func (s *Server) join(c *gin.Context) error {
	tok, err := participantToken(c)
	if err != nil {
		return err
	}
	p, err := s.meetings.Authenticate(c.Request.Context(), tok)
	if err != nil {
		return err
	}
	if s.Breakouts != nil {
		if _, err := s.Breakouts.PlaceLateJoiner(c.Request.Context(), p); err != nil {
			s.log.Warn("join: place a late joiner", "participant", p.ID, "err", err)
		}
	}
	j, err := s.meetings.JoinAs(c.Request.Context(), p)
	if err != nil {
		return err
	}
	ok(c, http.StatusOK, joinJSON{
		URL: j.URL, Token: j.Token, Room: j.Room, Identity: j.Identity,
		MeetingID: j.Meeting.ID, ParticipantID: j.Participant.ID,
		Participant: toParticipantJSON(j.Participant, ""),
		Permissions: j.Preset.Doc.Permissions,
	})
	return nil
}
