package sidecar

import (
	"mime"
	"net/http"

	"github.com/gin-gonic/gin"

	"rtk-sidecar/chat"
	"rtk-sidecar/protocol"
)

// chatRoutes registers the sessions' chat exports under an app.
func (s *Server) chatRoutes(g *gin.RouterGroup) {
	if s.Chat == nil {
		return
	}
	g.GET("/sessions/:session_id/chat", handle(s.sessionChat))
}

// clientChatRoutes registers the participants' chat under /client/v1.
func (s *Server) clientChatRoutes(g *gin.RouterGroup) {
	if s.Chat == nil {
		return
	}
	g.POST("/chat", handle(s.sendChat))
	g.GET("/chat", handle(s.chatHistory))
}

// chatDownloadRoutes registers the chat exports' download links. They take
// no API key: the link's signature is the capability.
func (s *Server) chatDownloadRoutes(r *gin.Engine) {
	if s.Chat == nil {
		return
	}
	r.GET(chat.DownloadPath+"/:app_id/:session_id/:name", handle(s.downloadChat))
}

// sendChatRequest is protocol.SendChatRequest, with the message required.
type sendChatRequest struct {
	Message *string `json:"message"`
	To      string  `json:"to"`
}

// sendChat handles POST /client/v1/chat: a message to the room the
// participant is in now.
func (s *Server) sendChat(c *gin.Context) error {
	p, err := s.participant(c)
	if err != nil {
		return err
	}
	var req sendChatRequest
	if err := bindJSON(c, &req); err != nil {
		return err
	}
	if req.Message == nil {
		return invalidArgument("%q is required", "message")
	}
	m, err := s.Chat.Send(c.Request.Context(), p, *req.Message, req.To)
	if err != nil {
		return err
	}
	ok(c, http.StatusCreated, m)
	return nil
}

// chatHistory handles GET /client/v1/chat: the chat so far of the room the
// participant is in now.
func (s *Server) chatHistory(c *gin.Context) error {
	p, err := s.participant(c)
	if err != nil {
		return err
	}
	room, ms, err := s.Chat.History(c.Request.Context(), p)
	if err != nil {
		return err
	}
	ok(c, http.StatusOK, protocol.ChatHistory{MeetingID: room, Messages: ms})
	return nil
}

type chatExportJSON struct {
	URL    string `json:"chat_download_url"`
	Expiry string `json:"chat_download_url_expiry"`
}

// sessionChat handles GET /sessions/{session_id}/chat.
func (s *Server) sessionChat(c *gin.Context) error {
	url, exp, err := s.Chat.Export(c.Request.Context(), appOf(c), c.Param("session_id"))
	if err != nil {
		return err
	}
	ok(c, http.StatusOK, chatExportJSON{URL: url, Expiry: iso(exp)})
	return nil
}

// downloadChat handles GET {chat.DownloadPath}/{app}/{session}/{name}?expires=&signature=.
func (s *Server) downloadChat(c *gin.Context) error {
	ms, err := s.Chat.Download(c.Request.Context(), c.Param("app_id"), c.Param("session_id"), c.Param("name"),
		c.Query("expires"), c.Query("signature"))
	if err != nil {
		return err
	}
	c.Header("Content-Type", "text/csv; charset=utf-8")
	c.Header("Content-Disposition", mime.FormatMediaType("attachment", map[string]string{"filename": chat.FileName}))
	c.Header("Cache-Control", "private, no-store")
	c.Status(http.StatusOK)
	if err := chat.WriteCSV(c.Writer, ms); err != nil {
		_ = c.Error(err) // the status is sent; the log gets the error
	}
	return nil
}
