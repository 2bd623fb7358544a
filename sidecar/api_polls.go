package sidecar

import (
	"net/http"

	"github.com/gin-gonic/gin"

	"rtk-sidecar/polls"
)

// clientPollRoutes registers the participants' polls under /client/v1: the
// polls of the room the participant is in now (docs/protocol.md, "Polls").
// Votes go over LiveKit data.
func (s *Server) clientPollRoutes(g *gin.RouterGroup) {
	if s.Polls == nil {
		return
	}
	g.POST("/polls", handle(s.createPollAs))
	g.GET("/polls", handle(s.listPollsAs))
}

// createPollRequest is the body of POST /client/v1/polls.
type createPollRequest struct {
	Question  *string   `json:"question"`
	Options   *[]string `json:"options"`
	Anonymous bool      `json:"anonymous"`
	HideVotes bool      `json:"hideVotes"`
}

// createPollAs handles POST /client/v1/polls: a participant creates a poll
// in its room; the answer is the poll.
func (s *Server) createPollAs(c *gin.Context) error {
	p, err := s.participant(c)
	if err != nil {
		return err
	}
	var req createPollRequest
	if err := bindJSON(c, &req); err != nil {
		return err
	}
	poll, err := s.Polls.CreateAs(c.Request.Context(), p,
		polls.Input{Question: req.Question, Options: req.Options, Anonymous: req.Anonymous, HideVotes: req.HideVotes})
	if err != nil {
		return err
	}
	ok(c, http.StatusCreated, poll)
	return nil
}

// listPollsAs handles GET /client/v1/polls: the polls of the participant's
// room, {"meetingId", "polls": [...]}, oldest first.
func (s *Server) listPollsAs(c *gin.Context) error {
	p, err := s.participant(c)
	if err != nil {
		return err
	}
	room, ps, err := s.Polls.ListAs(c.Request.Context(), p)
	if err != nil {
		return err
	}
	ok(c, http.StatusOK, gin.H{"meetingId": room, "polls": ps})
	return nil
}
