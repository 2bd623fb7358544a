package sidecar

import (
	"bytes"
	"fmt"
	"net/http"
	"time"

	"github.com/gin-gonic/gin"
)

// keepAlive is how often an idle event stream carries a comment, so that
// proxies and the client see it alive.
const keepAlive = 15 * time.Second

// events handles GET /client/v1/events: the participant's event stream
// (docs/protocol.md §4), as server-sent events. A participant token in; the
// response's headers go out once the stream is registered, so everything
// sent to the participant from then on reaches it. The stream ends when the
// client goes, when it falls behind, or when the server shuts down.
func (s *Server) events(c *gin.Context) error {
	p, err := s.participant(c)
	if err != nil {
		return err
	}
	// Its identity, for move instructions; its family (its meeting, the parent),
	// for the family's events.
	sub := s.Streams.Subscribe(p.ID, p.MeetingID)
	defer sub.Close()

	h := c.Writer.Header()
	h.Set("Content-Type", "text/event-stream")
	h.Set("Cache-Control", "no-store")
	h.Set("X-Accel-Buffering", "no") // nginx: do not buffer the stream
	c.Status(http.StatusOK)
	if _, err := fmt.Fprint(c.Writer, ": rtk-sidecar events\n\n"); err != nil {
		return nil
	}
	c.Writer.Flush()

	tick := time.NewTicker(keepAlive)
	defer tick.Stop()
	for {
		var buf bytes.Buffer
		select {
		case <-c.Request.Context().Done():
			return nil
		case <-s.stopping:
			return nil
		case <-sub.Done():
			return nil // it fell behind: the client reconnects
		case <-tick.C:
			buf.WriteString(": keepalive\n\n")
		case m := <-sub.C():
			fmt.Fprintf(&buf, "event: %s\n", m.Event)
			if m.ID != "" {
				fmt.Fprintf(&buf, "id: %s\n", m.ID)
			}
			for line := range bytes.Lines(m.Data) {
				fmt.Fprintf(&buf, "data: %s\n", bytes.TrimRight(line, "\r\n"))
			}
			buf.WriteString("\n")
		}
		if _, err := c.Writer.Write(buf.Bytes()); err != nil {
			return nil
		}
		c.Writer.Flush()
	}
}
