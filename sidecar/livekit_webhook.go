package sidecar

import (
	"context"
	"fmt"
	"net/http"

	"github.com/gin-gonic/gin"
	"github.com/livekit/protocol/livekit"
	"github.com/livekit/protocol/webhook"

	"rtk-sidecar/sessions"
)

// LiveKitEventHandler applies LiveKit's webhook events.
// *sessions.Tracker implements it.
type LiveKitEventHandler interface {
	// HandleLiveKitEvent applies a verified event; an error means nothing
	// was applied and LiveKit should send it again.
	HandleLiveKitEvent(ctx context.Context, ev *livekit.WebhookEvent) error
}

var _ LiveKitEventHandler = (*sessions.Tracker)(nil)

// liveKitRoutes registers the intake of LiveKit's webhooks. It takes no API
// key: LiveKit signs each request with its API key and secret (a JWT with
// the body's SHA-256), which webhook.ReceiveWebhookEvent verifies.
func (s *Server) liveKitRoutes(r *gin.Engine) {
	if s.LiveKitEvents != nil && s.LiveKitKeys != nil {
		r.POST("/livekit/webhook", s.liveKitWebhook)
	}
}

// liveKitWebhook handles POST /livekit/webhook: verify, apply, 204. A
// request that fails verification is 401 and changes nothing.
func (s *Server) liveKitWebhook(c *gin.Context) {
	ev, err := webhook.ReceiveWebhookEvent(c.Request, s.LiveKitKeys)
	if err != nil {
		_ = c.Error(fmt.Errorf("sidecar: LiveKit webhook: %w", err))
		abortWith(c, http.StatusUnauthorized, "Unauthorized: not a valid LiveKit webhook")
		return
	}
	if err := s.LiveKitEvents.HandleLiveKitEvent(c.Request.Context(), ev); err != nil {
		writeError(c, err)
		return
	}
	c.Status(http.StatusNoContent)
}
