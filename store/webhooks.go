package store

import (
	"context"
	"time"
)

// Webhook flavours: the header names a webhook's deliveries carry.
const (
	FlavourRTK  = "rtk"  // rtk-signature, rtk-uuid, rtk-webhook-id (Cloudflare paths)
	FlavourDyte = "dyte" // dyte-signature, dyte-uuid, dyte-webhook-id (/v2 paths)
)

// Delivery statuses.
const (
	DeliveryPending   = "pending"   // waiting for its (next) attempt
	DeliveryDelivered = "delivered" // the receiver answered 2xx
	DeliveryFailed    = "failed"    // the receiver refused it for good (a non-retryable answer)
	DeliveryDead      = "dead"      // the retry budget ran out
)

// Webhook is an app's subscription to RealtimeKit events.
type Webhook struct {
	ID        string
	AppID     string
	Name      string
	URL       string
	Events    []string // event names, e.g. "meeting.started"
	Enabled   bool
	Flavour   string // FlavourRTK or FlavourDyte
	CreatedAt time.Time
	UpdatedAt time.Time
}

// Delivery is one event to send to one webhook: a row of the outbox.
type Delivery struct {
	ID        string // the delivery id: rtk-uuid (dyte-uuid), the same on every attempt
	Seq       int64  // enqueue order, assigned by the store
	WebhookID string
	AppID     string
	Event     string // event name
	Body      []byte // the exact bytes to POST (and sign)
	Status    string // Delivery* constant
	Attempts  int    // attempts started (a claim counts as one)

	NextAttemptAt time.Time
	// LeaseOwner holds the delivery until LeaseUntil while it attempts it;
	// both are zero when nobody does.
	LeaseOwner string
	LeaseUntil time.Time

	LastError   string // of the last failed attempt
	LastStatus  int    // HTTP status of the last attempt; 0 when there was no answer
	CreatedAt   time.Time
	UpdatedAt   time.Time
	DeliveredAt time.Time // zero unless delivered
}

// DeliveryFilter narrows ListDeliveries.
type DeliveryFilter struct {
	Status string // a Delivery* status; "" for all
	Page   Page
}

// WebhookQueries keep webhook subscriptions and the outbox of deliveries.
//
// The outbox is ordered per webhook: a webhook's head is its pending
// delivery with the lowest Seq, and only a head may be claimed, so a
// webhook's deliveries go out one at a time, in enqueue order. A claim is a
// lease: it lapses at LeaseUntil, so a delivery whose claimant died is
// claimed again.
type WebhookQueries interface {
	// CreateWebhook stores a new webhook of an existing app (else ErrNotFound).
	CreateWebhook(ctx context.Context, w Webhook) error
	// GetWebhook returns the webhook with this id in this app.
	GetWebhook(ctx context.Context, appID, id string) (Webhook, error)
	// ListWebhooks returns the app's webhooks, oldest first.
	ListWebhooks(ctx context.Context, appID string) ([]Webhook, error)
	// UpdateWebhook replaces a webhook's name, URL, events, enabled flag and
	// UpdatedAt.
	UpdateWebhook(ctx context.Context, w Webhook) error
	// DeleteWebhook removes a webhook and its deliveries.
	DeleteWebhook(ctx context.Context, appID, id string) error

	// CreateDelivery adds a delivery for an existing webhook (else
	// ErrNotFound) at the end of its queue; the store assigns Seq.
	CreateDelivery(ctx context.Context, d Delivery) error
	// GetDelivery returns a delivery of a webhook.
	GetDelivery(ctx context.Context, webhookID, id string) (Delivery, error)
	// ListDeliveries returns a webhook's deliveries, in Seq order.
	ListDeliveries(ctx context.Context, webhookID string, f DeliveryFilter) ([]Delivery, int, error)
	// DueDeliveries returns up to limit heads of enabled webhooks that are
	// due at now (NextAttemptAt reached, no lease held), earliest first.
	DueDeliveries(ctx context.Context, now time.Time, limit int) ([]Delivery, error)
	// NextDueAt returns when the earliest head of an enabled webhook
	// becomes due (its NextAttemptAt, or its lease's end if later); zero
	// when there is none.
	NextDueAt(ctx context.Context) (time.Time, error)
	// ClaimDelivery leases a due head to owner until `until` and counts an
	// attempt, returning the delivery as claimed. A delivery that is not
	// (or no longer) a due head is ErrConflict.
	ClaimDelivery(ctx context.Context, id, owner string, now, until time.Time) (Delivery, error)
	// SettleDelivery records the outcome of an attempt and releases the
	// lease: Status, NextAttemptAt, LastError, LastStatus, UpdatedAt and
	// DeliveredAt are written. It applies only while d.LeaseOwner still
	// holds the lease (else ErrConflict): a claimant whose lease lapsed has
	// lost the delivery to another.
	SettleDelivery(ctx context.Context, d Delivery) error
	// RequeueDelivery makes a failed or dead delivery pending again, due at
	// now, with its attempts reset. Other statuses are ErrConflict.
	RequeueDelivery(ctx context.Context, webhookID, id string, now time.Time) error
}
