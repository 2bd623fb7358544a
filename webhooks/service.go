package webhooks

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/livekit/psrpc"

	"rtk-sidecar/apierr"
	"rtk-sidecar/store"
)

// Waker is told when a delivery may have become due. *Outbox implements it.
type Waker interface{ Wake() }

// Service implements the webhooks API: subscriptions (RealtimeKit's
// /webhooks), the outbox's deliveries (a sidecar extension) and the public
// key. Its errors carry psrpc classes. It is safe for concurrent use.
type Service struct {
	st     store.Store
	signer *Signer
	waker  Waker
	now    func() time.Time
}

// NewService returns a Service over st. waker (the Outbox) is woken when a
// delivery is retried by hand.
func NewService(st store.Store, signer *Signer, waker Waker) *Service {
	return &Service{st: st, signer: signer, waker: waker, now: time.Now}
}

// PublicKeyPEM returns the PEM of the key that verifies the signatures.
func (s *Service) PublicKeyPEM() string { return s.signer.PublicKeyPEM() }

// Input is the body of a webhook create (POST), replace (PUT) or update
// (PATCH). Create and replace need name, url and events; an update changes
// the fields present.
type Input struct {
	Name    *string   `json:"name"`
	URL     *string   `json:"url"`
	Events  *[]string `json:"events"`
	Enabled *bool     `json:"enabled"`
}

const maxName = 255

// apply sets the fields of w present in in, validating them. With full,
// name, url and events are required.
func (in Input) apply(w *store.Webhook, full bool) error {
	if full {
		switch {
		case in.Name == nil:
			return apierr.Invalid("name", "is required")
		case in.URL == nil:
			return apierr.Invalid("url", "is required")
		case in.Events == nil:
			return apierr.Invalid("events", "is required")
		}
	}
	if in.Name != nil {
		name := strings.TrimSpace(*in.Name)
		if name == "" {
			return apierr.Invalid("name", "must not be empty")
		}
		if len(name) > maxName {
			return apierr.Invalid("name", "must be at most %d characters", maxName)
		}
		w.Name = name
	}
	if in.URL != nil {
		raw := strings.TrimSpace(*in.URL)
		u, err := url.Parse(raw)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return apierr.Invalid("url", "must be an http(s) URL")
		}
		w.URL = raw
	}
	if in.Events != nil {
		if len(*in.Events) == 0 {
			return apierr.Invalid("events", "must list at least one event")
		}
		var events []string
		for _, e := range *in.Events {
			if !KnownEvent(e) {
				return apierr.Invalid("events", "has an unknown event %q; known events are [%s]", e, strings.Join(EventNames, ", "))
			}
			if !slices.Contains(events, e) {
				events = append(events, e)
			}
		}
		w.Events = events
	}
	if in.Enabled != nil {
		w.Enabled = *in.Enabled
	}
	return nil
}

// Create adds a webhook to the app, enabled unless the input says
// otherwise. flavour (store.FlavourRTK or store.FlavourDyte) picks the
// header names of its deliveries.
func (s *Service) Create(ctx context.Context, appID, flavour string, in Input) (store.Webhook, error) {
	if flavour != store.FlavourDyte {
		flavour = store.FlavourRTK
	}
	now := s.now().UTC()
	w := store.Webhook{ID: uuid.NewString(), AppID: appID, Enabled: true, Flavour: flavour, CreatedAt: now, UpdatedAt: now}
	if err := in.apply(&w, true); err != nil {
		return store.Webhook{}, err
	}
	if err := s.st.CreateWebhook(ctx, w); err != nil {
		return store.Webhook{}, fmt.Errorf("webhooks: create: %w", err)
	}
	return s.Get(ctx, appID, w.ID)
}

// List returns the app's webhooks, oldest first.
func (s *Service) List(ctx context.Context, appID string) ([]store.Webhook, error) {
	return s.st.ListWebhooks(ctx, appID)
}

// Get returns one webhook of the app.
func (s *Service) Get(ctx context.Context, appID, id string) (store.Webhook, error) {
	w, err := s.st.GetWebhook(ctx, appID, id)
	if err != nil {
		return store.Webhook{}, apierr.NotFound("webhook", id, err)
	}
	return w, nil
}

// Update changes the fields present in the input (PATCH).
func (s *Service) Update(ctx context.Context, appID, id string, in Input) (store.Webhook, error) {
	return s.update(ctx, appID, id, in, false)
}

// Replace sets every field (PUT); enabled defaults to true.
func (s *Service) Replace(ctx context.Context, appID, id string, in Input) (store.Webhook, error) {
	if in.Enabled == nil {
		t := true
		in.Enabled = &t
	}
	return s.update(ctx, appID, id, in, true)
}

func (s *Service) update(ctx context.Context, appID, id string, in Input, full bool) (store.Webhook, error) {
	var out store.Webhook
	err := s.st.InTx(ctx, func(q store.Queries) error {
		w, err := q.GetWebhook(ctx, appID, id)
		if err != nil {
			return apierr.NotFound("webhook", id, err)
		}
		if err := in.apply(&w, full); err != nil {
			return err
		}
		w.UpdatedAt = s.now().UTC()
		if err := q.UpdateWebhook(ctx, w); err != nil {
			return err
		}
		out, err = q.GetWebhook(ctx, appID, id)
		return err
	})
	if err == nil && s.waker != nil {
		s.waker.Wake() // an enabled webhook's queue may be due now
	}
	return out, err
}

// Delete removes a webhook, with its deliveries, and returns what it was.
func (s *Service) Delete(ctx context.Context, appID, id string) (store.Webhook, error) {
	var out store.Webhook
	err := s.st.InTx(ctx, func(q store.Queries) error {
		w, err := q.GetWebhook(ctx, appID, id)
		if err != nil {
			return apierr.NotFound("webhook", id, err)
		}
		out = w
		return q.DeleteWebhook(ctx, appID, id)
	})
	return out, err
}

// Deliveries returns a webhook's deliveries in enqueue order, optionally
// only those with one status.
func (s *Service) Deliveries(ctx context.Context, appID, webhookID, status string, p store.Page) ([]store.Delivery, int, error) {
	switch status {
	case "", store.DeliveryPending, store.DeliveryDelivered, store.DeliveryFailed, store.DeliveryDead:
	default:
		return nil, 0, apierr.Invalid("status", "must be one of [%s, %s, %s, %s]",
			store.DeliveryPending, store.DeliveryDelivered, store.DeliveryFailed, store.DeliveryDead)
	}
	if _, err := s.Get(ctx, appID, webhookID); err != nil {
		return nil, 0, err
	}
	return s.st.ListDeliveries(ctx, webhookID, store.DeliveryFilter{Status: status, Page: p})
}

// Delivery returns one delivery of a webhook.
func (s *Service) Delivery(ctx context.Context, appID, webhookID, id string) (store.Delivery, error) {
	if _, err := s.Get(ctx, appID, webhookID); err != nil {
		return store.Delivery{}, err
	}
	d, err := s.st.GetDelivery(ctx, webhookID, id)
	if err != nil {
		return store.Delivery{}, apierr.NotFound("delivery", id, err)
	}
	return d, nil
}

// Retry makes a failed or dead delivery pending again, its attempts counted
// from 0, and wakes the dispatcher (one older than Options.MaxAge is dead
// again if its next attempt fails). It keeps its place in the webhook's
// queue, so it goes out before the webhook's later deliveries.
func (s *Service) Retry(ctx context.Context, appID, webhookID, id string) (store.Delivery, error) {
	if _, err := s.Delivery(ctx, appID, webhookID, id); err != nil {
		return store.Delivery{}, err
	}
	err := s.st.RequeueDelivery(ctx, webhookID, id, s.now().UTC())
	if errors.Is(err, store.ErrConflict) {
		return store.Delivery{}, psrpc.NewErrorf(psrpc.FailedPrecondition,
			"delivery %s is not failed or dead: only those can be retried", id)
	}
	if err != nil {
		return store.Delivery{}, err
	}
	if s.waker != nil {
		s.waker.Wake()
	}
	return s.Delivery(ctx, appID, webhookID, id)
}
