// Package webhooks provides RealtimeKit's outgoing webhooks: the
// subscriptions and their rules (Service), the event payloads (Event and its
// constructors), the signing key (Signer), and a persistent, transactional
// outbox with its dispatcher (Outbox).
//
// Delivery is at least once. Producers write an event into the outbox in the
// same store transaction as the state change it describes (Outbox.Enqueue),
// so an event exists exactly when its change was committed. The dispatcher
// (Outbox.Run) then sends each delivery, signed, retrying with exponential
// backoff (capped at MaxBackoff) and full jitter until the receiver answers
// 2xx, the receiver refuses it for good, or it fails when older than MaxAge
// (the delivery is then "dead", visible and retryable through Service). The
// number of attempts alone never makes a delivery dead: a receiver that is
// down for hours gets every event once it is back, as long as MaxAge has not
// passed. A webhook's deliveries go out one at a time, in enqueue order: a
// failing delivery holds back the ones after it, for that webhook only. A
// delivery being attempted is held by a lease in the store; if the process
// dies, the lease lapses and the delivery is attempted again, by this
// process after a restart or by another one. See docs/webhooks.md for the
// receiver's side.
package webhooks

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	mrand "math/rand/v2"
	"net"
	"net/http"
	"strings"
	"time"

	"github.com/google/uuid"

	"rtk-sidecar/store"
)

// Options tune the dispatcher. Zero values take the defaults.
type Options struct {
	// Timeout bounds one attempt, from connecting to reading the status
	// (default 10s).
	Timeout time.Duration
	// Lease is how long a claimed delivery stays held; it must exceed
	// Timeout, since a lease that lapses during an attempt lets another
	// dispatcher send the same delivery (default 2×Timeout + 5s).
	Lease time.Duration
	// MaxAge is the retry budget: a delivery that fails when older than
	// MaxAge is dead; until then it is retried, however many attempts that
	// takes (default 24h).
	MaxAge time.Duration
	// MinBackoff and MaxBackoff bound the wait before a retry: after the
	// n-th failed attempt the wait is uniform in
	// [MinBackoff/2, min(MaxBackoff, MinBackoff·2^(n-1))] (defaults 1s and
	// 10m).
	MinBackoff time.Duration
	MaxBackoff time.Duration
	// Workers is how many deliveries (of different webhooks) are attempted
	// at once (default 4).
	Workers int
	// PollInterval is how often the dispatcher looks for due deliveries
	// when nothing wakes it sooner (default 1s).
	PollInterval time.Duration
	// Client sends the requests. The default follows no redirects: a 3xx
	// answer is a refusal.
	Client *http.Client
	// Owner names this dispatcher in leases (default random).
	Owner string
	// Now is the clock (default time.Now).
	Now func() time.Time
	// Observer, when set, hears the result of every attempt (metrics).
	Observer AttemptObserver
}

// AttemptObserver hears the result of every delivery attempt: "delivered",
// "retry" (it will be tried again), "refused" (not retried) or "dead". It
// must not block.
type AttemptObserver interface {
	DeliveryAttempted(result string)
}

func (o Options) withDefaults() Options {
	if o.Timeout <= 0 {
		o.Timeout = 10 * time.Second
	}
	if o.Lease <= o.Timeout {
		o.Lease = 2*o.Timeout + 5*time.Second
	}
	if o.MaxAge <= 0 {
		o.MaxAge = 24 * time.Hour
	}
	if o.MinBackoff <= 0 {
		o.MinBackoff = time.Second
	}
	if o.MaxBackoff < o.MinBackoff {
		o.MaxBackoff = max(10*time.Minute, o.MinBackoff)
	}
	if o.Workers <= 0 {
		o.Workers = 4
	}
	if o.PollInterval <= 0 {
		o.PollInterval = time.Second
	}
	if o.Client == nil {
		o.Client = &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	}
	if o.Owner == "" {
		var b [6]byte
		_, _ = rand.Read(b[:])
		o.Owner = "dispatcher-" + hex.EncodeToString(b[:])
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	return o
}

// Outbox is the transactional outbox of webhook deliveries and their
// dispatcher. It is safe for concurrent use; Run must be called once.
type Outbox struct {
	st     store.Store
	signer *Signer
	opts   Options
	log    *slog.Logger
	wake   chan struct{}
}

// NewOutbox returns an Outbox over st that signs with signer. It starts
// nothing: call Run.
func NewOutbox(st store.Store, signer *Signer, opts Options, log *slog.Logger) *Outbox {
	return &Outbox{st: st, signer: signer, opts: opts.withDefaults(), log: log, wake: make(chan struct{}, 1)}
}

// Enqueue adds event e to the outbox of app appID through q, the caller's
// transaction: one delivery for each enabled webhook of the app whose
// events include e.Name, each with its own delivery id (the rtk-uuid). The
// deliveries exist exactly when the caller's transaction commits. It also
// wakes the dispatcher; a caller that wants the delivery to start at once
// (rather than at the next poll) calls Wake after committing.
func (o *Outbox) Enqueue(ctx context.Context, q store.Queries, appID string, e Event) error {
	hooks, err := q.ListWebhooks(ctx, appID)
	if err != nil {
		return fmt.Errorf("webhooks: enqueue %s: %w", e.Name, err)
	}
	now := o.opts.Now().UTC()
	n := 0
	for _, h := range hooks {
		if !h.Enabled || !subscribed(h, e.Name) {
			continue
		}
		d := store.Delivery{
			ID: uuid.NewString(), WebhookID: h.ID, AppID: appID, Event: e.Name, Body: e.Body,
			Status: store.DeliveryPending, NextAttemptAt: now, CreatedAt: now, UpdatedAt: now,
		}
		if err := q.CreateDelivery(ctx, d); err != nil {
			return fmt.Errorf("webhooks: enqueue %s for webhook %s: %w", e.Name, h.ID, err)
		}
		n++
	}
	if n > 0 {
		o.Wake()
	}
	return nil
}

func subscribed(h store.Webhook, event string) bool {
	for _, e := range h.Events {
		if e == event {
			return true
		}
	}
	return false
}

// Wake makes the dispatcher look for due deliveries now. It never blocks.
func (o *Outbox) Wake() {
	select {
	case o.wake <- struct{}{}:
	default:
	}
}

// Run dispatches deliveries until ctx ends. On the way out it claims
// nothing new and waits for the attempts in flight (each bounded by
// Options.Timeout), so a clean shutdown loses no outcome. Store errors are
// logged and retried; Run returns nil when ctx ends.
func (o *Outbox) Run(ctx context.Context) error {
	done := make(chan string) // a webhook whose attempt finished
	inflight := map[string]bool{}
	// Attempts outlive ctx: they finish (or time out) and record their
	// outcome even while shutting down.
	attemptCtx := context.WithoutCancel(ctx)
	timer := time.NewTimer(0)
	defer timer.Stop()
	o.log.Info("webhook dispatcher started", "owner", o.opts.Owner)
	for {
		wait := o.dispatch(ctx, attemptCtx, inflight, done)
		timer.Reset(wait)
		select {
		case <-ctx.Done():
			for len(inflight) > 0 {
				delete(inflight, <-done)
			}
			o.log.Info("webhook dispatcher stopped")
			return nil
		case <-o.wake:
		case id := <-done:
			delete(inflight, id)
		case <-timer.C:
		}
	}
}

// dispatch claims and starts the due deliveries that free workers can take
// and returns how long to wait before looking again.
func (o *Outbox) dispatch(ctx, attemptCtx context.Context, inflight map[string]bool, done chan<- string) time.Duration {
	free := o.opts.Workers - len(inflight)
	if free <= 0 {
		return o.opts.PollInterval
	}
	now := o.opts.Now()
	due, err := o.st.DueDeliveries(ctx, now, free)
	if err != nil {
		if ctx.Err() == nil {
			o.log.Error("webhook dispatcher: list due deliveries", "err", err)
		}
		return o.opts.PollInterval
	}
	for _, d := range due {
		if free == 0 {
			break
		}
		if inflight[d.WebhookID] {
			continue
		}
		claimed, err := o.st.ClaimDelivery(ctx, d.ID, o.opts.Owner, now, now.Add(o.opts.Lease))
		if errors.Is(err, store.ErrConflict) {
			continue // another dispatcher took it
		}
		if err != nil {
			if ctx.Err() == nil {
				o.log.Error("webhook dispatcher: claim", "delivery", d.ID, "err", err)
			}
			return o.opts.PollInterval
		}
		inflight[d.WebhookID] = true
		free--
		go func() {
			o.attempt(attemptCtx, claimed)
			done <- claimed.WebhookID
		}()
	}
	if len(due) > 0 && free > 0 {
		// Everything due was taken; more may be due already.
		return 0
	}
	next, err := o.st.NextDueAt(ctx)
	if err != nil || next.IsZero() {
		return o.opts.PollInterval
	}
	return min(max(next.Sub(o.opts.Now()), 0), o.opts.PollInterval)
}

// outcome classifies an attempt.
type outcome int

const (
	delivered outcome = iota
	retry             // 5xx, 408, 429, timeouts and network errors
	refused           // any other answer: not retried
)

// classify maps an HTTP status (0: no answer) to an outcome.
func classify(status int) outcome {
	switch {
	case status >= 200 && status < 300:
		return delivered
	case status == 0, status >= 500, status == http.StatusRequestTimeout, status == http.StatusTooManyRequests:
		return retry
	default:
		return refused
	}
}

// attempt sends one claimed delivery and records the outcome.
func (o *Outbox) attempt(ctx context.Context, d store.Delivery) {
	log := o.log.With("delivery", d.ID, "webhook", d.WebhookID, "event", d.Event, "attempt", d.Attempts)
	status, errText := o.send(ctx, d)
	now := o.opts.Now().UTC()
	d.LastStatus, d.LastError, d.UpdatedAt = status, errText, now
	switch classify(status) {
	case delivered:
		d.Status, d.DeliveredAt, d.LastError = store.DeliveryDelivered, now, ""
		log.Debug("webhook delivered", "status", status)
	case refused:
		d.Status = store.DeliveryFailed
		log.Warn("webhook refused by the receiver; not retried", "status", status, "err", errText)
	case retry:
		if now.Sub(d.CreatedAt) >= o.opts.MaxAge {
			d.Status = store.DeliveryDead
			log.Warn("webhook delivery dead: failed after max_age", "status", status, "err", errText, "age", now.Sub(d.CreatedAt))
			break
		}
		d.NextAttemptAt = now.Add(o.backoff(d.Attempts))
		log.Info("webhook attempt failed; will retry", "status", status, "err", errText, "next", d.NextAttemptAt)
	}
	if o.opts.Observer != nil {
		o.opts.Observer.DeliveryAttempted(attemptResult(d.Status))
	}
	sctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if err := o.st.SettleDelivery(sctx, d); err != nil {
		// ErrConflict: the lease lapsed and another dispatcher owns the
		// delivery now. Otherwise the lease will lapse and the delivery be
		// attempted again: at least once.
		log.Warn("webhook dispatcher: record outcome", "err", err)
	}
	o.Wake() // the webhook's next delivery may be its head now
}

// attemptResult names the result of an attempt that left a delivery in
// status.
func attemptResult(status string) string {
	switch status {
	case store.DeliveryDelivered:
		return "delivered"
	case store.DeliveryFailed:
		return "refused"
	case store.DeliveryDead:
		return "dead"
	default:
		return "retry"
	}
}

// backoff returns the wait after the n-th failed attempt (n ≥ 1).
func (o *Outbox) backoff(n int) time.Duration {
	step := o.opts.MinBackoff
	for i := 1; i < n && step < o.opts.MaxBackoff; i++ {
		step *= 2
	}
	step = min(step, o.opts.MaxBackoff)
	lo := o.opts.MinBackoff / 2
	if step <= lo {
		return lo
	}
	return lo + mrand.N(step-lo+1)
}

// send POSTs a delivery to its webhook and returns the HTTP status (0 when
// there was no answer) and, unless delivered, what went wrong.
func (o *Outbox) send(ctx context.Context, d store.Delivery) (int, string) {
	sctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	w, err := o.st.GetWebhook(sctx, d.AppID, d.WebhookID)
	cancel()
	if err != nil {
		return 0, "webhook not readable: " + err.Error()
	}
	sig, err := o.signer.Sign(d.Body)
	if err != nil {
		return 0, err.Error()
	}
	rctx, cancel := context.WithTimeout(ctx, o.opts.Timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(rctx, http.MethodPost, w.URL, strings.NewReader(string(d.Body)))
	if err != nil {
		return 0, "bad webhook URL: " + err.Error()
	}
	prefix := HeaderPrefix(w.Flavour)
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "rtk-sidecar-webhooks/1")
	req.Header.Set(prefix+"-signature", sig)
	req.Header.Set(prefix+"-uuid", d.ID)
	req.Header.Set(prefix+"-webhook-id", w.ID)
	res, err := o.opts.Client.Do(req)
	if err != nil {
		var nerr net.Error
		if errors.As(err, &nerr) && nerr.Timeout() {
			return 0, fmt.Sprintf("timeout after %s", o.opts.Timeout)
		}
		return 0, err.Error()
	}
	defer res.Body.Close()
	snippet, _ := io.ReadAll(io.LimitReader(res.Body, 512))
	_, _ = io.Copy(io.Discard, io.LimitReader(res.Body, 64<<10))
	if res.StatusCode >= 200 && res.StatusCode < 300 {
		return res.StatusCode, ""
	}
	msg := res.Status
	if s := strings.TrimSpace(string(snippet)); s != "" {
		msg += ": " + s
	}
	return res.StatusCode, msg
}

// HeaderPrefix returns the prefix of a flavour's headers: "rtk" or "dyte".
func HeaderPrefix(flavour string) string {
	if flavour == store.FlavourDyte {
		return "dyte"
	}
	return "rtk"
}
