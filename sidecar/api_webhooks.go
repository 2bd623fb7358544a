package sidecar

import (
	"encoding/json"
	"net/http"
	"strings"

	"github.com/gin-gonic/gin"

	"rtk-sidecar/store"
	"rtk-sidecar/webhooks"
)

// webhookRoutes registers the webhooks API under an app: RealtimeKit's
// /webhooks, and the outbox's deliveries (a sidecar extension).
func (s *Server) webhookRoutes(g *gin.RouterGroup) {
	if s.Webhooks == nil {
		return
	}
	g.POST("/webhooks", handle(s.createWebhook))
	g.GET("/webhooks", handle(s.listWebhooks))
	g.GET("/webhooks/:webhook_id", handle(s.getWebhook))
	g.PATCH("/webhooks/:webhook_id", handle(s.updateWebhook))
	g.PUT("/webhooks/:webhook_id", handle(s.replaceWebhook))
	g.DELETE("/webhooks/:webhook_id", handle(s.deleteWebhook))
	g.GET("/webhooks/:webhook_id/deliveries", handle(s.listDeliveries))
	g.GET("/webhooks/:webhook_id/deliveries/:delivery_id", handle(s.getDelivery))
	g.POST("/webhooks/:webhook_id/deliveries/:delivery_id/retry", handle(s.retryDelivery))
}

// wellKnownRoutes registers the public key of webhook signatures; it needs
// no API key.
func (s *Server) wellKnownRoutes(r *gin.Engine) {
	if s.Webhooks == nil {
		return
	}
	r.GET("/.well-known/webhooks.json", handle(s.webhooksPublicKey))
}

// ---- wire types ----

type webhookJSON struct {
	ID        string   `json:"id"`
	Name      string   `json:"name"`
	URL       string   `json:"url"`
	Events    []string `json:"events"`
	Enabled   bool     `json:"enabled"`
	CreatedAt string   `json:"created_at"`
	UpdatedAt string   `json:"updated_at"`
}

func toWebhookJSON(w store.Webhook) webhookJSON {
	events := w.Events
	if events == nil {
		events = []string{}
	}
	return webhookJSON{ID: w.ID, Name: w.Name, URL: w.URL, Events: events, Enabled: w.Enabled,
		CreatedAt: iso(w.CreatedAt), UpdatedAt: iso(w.UpdatedAt)}
}

type deliveryJSON struct {
	ID             string          `json:"id"` // the rtk-uuid header
	WebhookID      string          `json:"webhook_id"`
	Event          string          `json:"event"`
	Status         string          `json:"status"`
	Attempts       int             `json:"attempts"`
	NextAttemptAt  *string         `json:"next_attempt_at"`
	LastStatusCode *int            `json:"last_status_code"`
	LastError      *string         `json:"last_error"`
	CreatedAt      string          `json:"created_at"`
	UpdatedAt      string          `json:"updated_at"`
	DeliveredAt    *string         `json:"delivered_at"`
	Payload        json.RawMessage `json:"payload"`
}

func toDeliveryJSON(d store.Delivery) deliveryJSON {
	j := deliveryJSON{ID: d.ID, WebhookID: d.WebhookID, Event: d.Event, Status: d.Status, Attempts: d.Attempts,
		LastError: nullable(d.LastError), CreatedAt: iso(d.CreatedAt), UpdatedAt: iso(d.UpdatedAt),
		DeliveredAt: nullable(iso(d.DeliveredAt)), Payload: json.RawMessage(d.Body)}
	if d.Status == store.DeliveryPending {
		j.NextAttemptAt = nullable(iso(d.NextAttemptAt))
	}
	if d.LastStatus != 0 {
		status := d.LastStatus
		j.LastStatusCode = &status
	}
	if !json.Valid(d.Body) {
		j.Payload = nil
	}
	return j
}

// ---- handlers ----

// flavour is the header flavour of webhooks created on this path: the
// Dyte surface (/v2) delivers with dyte-* headers.
func flavour(c *gin.Context) string {
	if strings.HasPrefix(c.FullPath(), "/v2/") {
		return store.FlavourDyte
	}
	return store.FlavourRTK
}

func (s *Server) createWebhook(c *gin.Context) error {
	svc := s.Webhooks
	var in webhooks.Input
	if err := bindJSON(c, &in); err != nil {
		return err
	}
	w, err := svc.Create(c.Request.Context(), appOf(c), flavour(c), in)
	if err != nil {
		return err
	}
	ok(c, http.StatusCreated, toWebhookJSON(w))
	return nil
}

func (s *Server) listWebhooks(c *gin.Context) error {
	svc := s.Webhooks
	ws, err := svc.List(c.Request.Context(), appOf(c))
	if err != nil {
		return err
	}
	out := make([]webhookJSON, 0, len(ws))
	for _, w := range ws {
		out = append(out, toWebhookJSON(w))
	}
	ok(c, http.StatusOK, out)
	return nil
}

func (s *Server) getWebhook(c *gin.Context) error {
	svc := s.Webhooks
	w, err := svc.Get(c.Request.Context(), appOf(c), c.Param("webhook_id"))
	if err != nil {
		return err
	}
	ok(c, http.StatusOK, toWebhookJSON(w))
	return nil
}

func (s *Server) updateWebhook(c *gin.Context) error {
	svc := s.Webhooks
	var in webhooks.Input
	if err := bindJSON(c, &in); err != nil {
		return err
	}
	w, err := svc.Update(c.Request.Context(), appOf(c), c.Param("webhook_id"), in)
	if err != nil {
		return err
	}
	ok(c, http.StatusOK, toWebhookJSON(w))
	return nil
}

func (s *Server) replaceWebhook(c *gin.Context) error {
	svc := s.Webhooks
	var in webhooks.Input
	if err := bindJSON(c, &in); err != nil {
		return err
	}
	w, err := svc.Replace(c.Request.Context(), appOf(c), c.Param("webhook_id"), in)
	if err != nil {
		return err
	}
	ok(c, http.StatusOK, toWebhookJSON(w))
	return nil
}

func (s *Server) deleteWebhook(c *gin.Context) error {
	svc := s.Webhooks
	w, err := svc.Delete(c.Request.Context(), appOf(c), c.Param("webhook_id"))
	if err != nil {
		return err
	}
	ok(c, http.StatusOK, toWebhookJSON(w))
	return nil
}

func (s *Server) listDeliveries(c *gin.Context) error {
	svc := s.Webhooks
	pg, err := pageOf(c)
	if err != nil {
		return err
	}
	ds, total, err := svc.Deliveries(c.Request.Context(), appOf(c), c.Param("webhook_id"), c.Query("status"), pg)
	if err != nil {
		return err
	}
	out := make([]deliveryJSON, 0, len(ds))
	for _, d := range ds {
		out = append(out, toDeliveryJSON(d))
	}
	okPage(c, out, pagingOf(pg, len(out), total))
	return nil
}

func (s *Server) getDelivery(c *gin.Context) error {
	svc := s.Webhooks
	d, err := svc.Delivery(c.Request.Context(), appOf(c), c.Param("webhook_id"), c.Param("delivery_id"))
	if err != nil {
		return err
	}
	ok(c, http.StatusOK, toDeliveryJSON(d))
	return nil
}

func (s *Server) retryDelivery(c *gin.Context) error {
	svc := s.Webhooks
	d, err := svc.Retry(c.Request.Context(), appOf(c), c.Param("webhook_id"), c.Param("delivery_id"))
	if err != nil {
		return err
	}
	ok(c, http.StatusOK, toDeliveryJSON(d))
	return nil
}

// webhooksPublicKey serves the key that verifies rtk-signature, in
// RealtimeKit's shape.
func (s *Server) webhooksPublicKey(c *gin.Context) error {
	svc := s.Webhooks
	c.JSON(http.StatusOK, gin.H{"success": true, "data": gin.H{"publicKey": svc.PublicKeyPEM()}, "message": ""})
	return nil
}
