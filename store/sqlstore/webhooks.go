package sqlstore

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"time"

	"rtk-sidecar/store"
)

const webhookColumns = `id, app_id, name, url, events, enabled, flavour, created_at, updated_at`

// CreateWebhook stores a new webhook of an existing app.
func (q *queries) CreateWebhook(ctx context.Context, w store.Webhook) error {
	events, err := eventsArg(w.Events)
	if err != nil {
		return fmt.Errorf("sqlstore: create webhook %s: %w", w.ID, err)
	}
	_, err = q.exec(ctx, `INSERT INTO webhooks (`+webhookColumns+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		w.ID, w.AppID, w.Name, w.URL, events, w.Enabled, w.Flavour, micros(w.CreatedAt), micros(w.UpdatedAt))
	switch {
	case q.d.isUnique(err):
		return fmt.Errorf("sqlstore: create webhook %s: %w", w.ID, store.ErrConflict)
	case q.d.isForeignKey(err):
		return fmt.Errorf("sqlstore: create webhook %s: app %s: %w", w.ID, w.AppID, store.ErrNotFound)
	case err != nil:
		return fmt.Errorf("sqlstore: create webhook %s: %w", w.ID, err)
	}
	return nil
}

// GetWebhook returns the webhook with this id in this app.
func (q *queries) GetWebhook(ctx context.Context, appID, id string) (store.Webhook, error) {
	row := q.queryRow(ctx, `SELECT `+webhookColumns+` FROM webhooks WHERE app_id = ? AND id = ?`, appID, id)
	return one(row, scanWebhook, "webhook "+id)
}

// ListWebhooks returns the app's webhooks, oldest first.
func (q *queries) ListWebhooks(ctx context.Context, appID string) ([]store.Webhook, error) {
	ws, err := selectAll(ctx, q, scanWebhook, `SELECT `+webhookColumns+` FROM webhooks WHERE app_id = ? ORDER BY created_at, id`, appID)
	if err != nil {
		return nil, fmt.Errorf("sqlstore: list webhooks of %s: %w", appID, err)
	}
	return ws, nil
}

// UpdateWebhook replaces a webhook's name, URL, events, enabled flag and
// UpdatedAt.
func (q *queries) UpdateWebhook(ctx context.Context, w store.Webhook) error {
	events, err := eventsArg(w.Events)
	if err != nil {
		return fmt.Errorf("sqlstore: update webhook %s: %w", w.ID, err)
	}
	res, err := q.exec(ctx, `UPDATE webhooks SET name = ?, url = ?, events = ?, enabled = ?, updated_at = ?
		WHERE app_id = ? AND id = ?`, w.Name, w.URL, events, w.Enabled, micros(w.UpdatedAt), w.AppID, w.ID)
	if err != nil {
		return fmt.Errorf("sqlstore: update webhook %s: %w", w.ID, err)
	}
	if ok, err := affectedOne(res); err != nil {
		return fmt.Errorf("sqlstore: update webhook %s: %w", w.ID, err)
	} else if !ok {
		return fmt.Errorf("sqlstore: update webhook %s: %w", w.ID, store.ErrNotFound)
	}
	return nil
}

// DeleteWebhook removes a webhook and (by cascade) its deliveries.
func (q *queries) DeleteWebhook(ctx context.Context, appID, id string) error {
	res, err := q.exec(ctx, `DELETE FROM webhooks WHERE app_id = ? AND id = ?`, appID, id)
	if err != nil {
		return fmt.Errorf("sqlstore: delete webhook %s: %w", id, err)
	}
	if ok, err := affectedOne(res); err != nil {
		return fmt.Errorf("sqlstore: delete webhook %s: %w", id, err)
	} else if !ok {
		return fmt.Errorf("sqlstore: delete webhook %s: %w", id, store.ErrNotFound)
	}
	return nil
}

func eventsArg(events []string) (string, error) {
	if events == nil {
		events = []string{}
	}
	b, err := json.Marshal(events)
	return string(b), err
}

func scanWebhook(s scanner) (store.Webhook, error) {
	var w store.Webhook
	var events string
	var created, updated int64
	if err := s.Scan(&w.ID, &w.AppID, &w.Name, &w.URL, &events, &w.Enabled, &w.Flavour, &created, &updated); err != nil {
		return store.Webhook{}, err
	}
	if err := json.Unmarshal([]byte(events), &w.Events); err != nil {
		return store.Webhook{}, fmt.Errorf("events of webhook %s: %w", w.ID, err)
	}
	w.CreatedAt = fromMicros(created)
	w.UpdatedAt = fromMicros(updated)
	return w, nil
}

// ---- the outbox ----

const deliveryColumns = `d.seq, d.id, d.webhook_id, d.app_id, d.event, d.body, d.status, d.attempts,
	d.next_attempt_at, d.lease_owner, d.lease_until, d.last_error, d.last_status,
	d.created_at, d.updated_at, d.delivered_at`

// headCond is true of a delivery that is the head of its webhook's queue:
// its pending delivery with the lowest seq.
const headCond = `d.status = 'pending' AND d.seq = (SELECT MIN(x.seq) FROM webhook_deliveries x
	WHERE x.webhook_id = d.webhook_id AND x.status = 'pending')`

// CreateDelivery appends a delivery to its webhook's queue.
func (q *queries) CreateDelivery(ctx context.Context, d store.Delivery) error {
	_, err := q.exec(ctx, `INSERT INTO webhook_deliveries (id, webhook_id, app_id, event, body, status, attempts,
			next_attempt_at, lease_owner, lease_until, last_error, last_status, created_at, updated_at, delivered_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		d.ID, d.WebhookID, d.AppID, d.Event, d.Body, d.Status, d.Attempts,
		micros(d.NextAttemptAt), nullString(d.LeaseOwner), optMicros(d.LeaseUntil), d.LastError, d.LastStatus,
		micros(d.CreatedAt), micros(d.UpdatedAt), optMicros(d.DeliveredAt))
	switch {
	case q.d.isUnique(err):
		return fmt.Errorf("sqlstore: create delivery %s: %w", d.ID, store.ErrConflict)
	case q.d.isForeignKey(err):
		return fmt.Errorf("sqlstore: create delivery %s: webhook %s: %w", d.ID, d.WebhookID, store.ErrNotFound)
	case err != nil:
		return fmt.Errorf("sqlstore: create delivery %s: %w", d.ID, err)
	}
	return nil
}

// GetDelivery returns a delivery of a webhook.
func (q *queries) GetDelivery(ctx context.Context, webhookID, id string) (store.Delivery, error) {
	row := q.queryRow(ctx, `SELECT `+deliveryColumns+` FROM webhook_deliveries d
		WHERE d.webhook_id = ? AND d.id = ?`, webhookID, id)
	return one(row, scanDelivery, "delivery "+id)
}

// ListDeliveries returns a webhook's deliveries in seq order.
func (q *queries) ListDeliveries(ctx context.Context, webhookID string, f store.DeliveryFilter) ([]store.Delivery, int, error) {
	cond := "d.webhook_id = ?"
	args := []any{webhookID}
	if f.Status != "" {
		cond += " AND d.status = ?"
		args = append(args, f.Status)
	}
	total, err := q.count(ctx, `SELECT COUNT(*) FROM webhook_deliveries d WHERE `+cond, args...)
	if err != nil {
		return nil, 0, fmt.Errorf("sqlstore: list deliveries of %s: %w", webhookID, err)
	}
	limit, limitArgs := q.page(f.Page)
	ds, err := selectAll(ctx, q, scanDelivery, `SELECT `+deliveryColumns+` FROM webhook_deliveries d WHERE `+cond+
		` ORDER BY d.seq`+limit, append(args, limitArgs...)...)
	if err != nil {
		return nil, 0, fmt.Errorf("sqlstore: list deliveries of %s: %w", webhookID, err)
	}
	return ds, total, nil
}

// DueDeliveries returns the due heads of enabled webhooks, earliest first.
func (q *queries) DueDeliveries(ctx context.Context, now time.Time, limit int) ([]store.Delivery, error) {
	ds, err := selectAll(ctx, q, scanDelivery, `SELECT `+deliveryColumns+` FROM webhook_deliveries d
		JOIN webhooks w ON w.id = d.webhook_id
		WHERE w.enabled = ? AND `+headCond+`
			AND d.next_attempt_at <= ? AND (d.lease_until IS NULL OR d.lease_until <= ?)
		ORDER BY d.next_attempt_at, d.seq LIMIT ?`, true, micros(now), micros(now), max(limit, 1))
	if err != nil {
		return nil, fmt.Errorf("sqlstore: due deliveries: %w", err)
	}
	return ds, nil
}

// NextDueAt returns when the earliest head of an enabled webhook becomes due.
func (q *queries) NextDueAt(ctx context.Context) (time.Time, error) {
	var next sql.NullInt64
	err := q.queryRow(ctx, `SELECT MIN(CASE WHEN d.lease_until IS NOT NULL AND d.lease_until > d.next_attempt_at
			THEN d.lease_until ELSE d.next_attempt_at END)
		FROM webhook_deliveries d JOIN webhooks w ON w.id = d.webhook_id
		WHERE w.enabled = ? AND `+headCond, true).Scan(&next)
	if err != nil {
		return time.Time{}, fmt.Errorf("sqlstore: next due delivery: %w", err)
	}
	return optTime(next), nil
}

// ClaimDelivery leases a due head to owner. The UPDATE re-checks every
// condition, so of two claimants racing for a head one wins and the other
// changes no row: ErrConflict.
func (q *queries) ClaimDelivery(ctx context.Context, id, owner string, now, until time.Time) (store.Delivery, error) {
	res, err := q.exec(ctx, `UPDATE webhook_deliveries SET lease_owner = ?, lease_until = ?,
			attempts = attempts + 1, updated_at = ?
		WHERE id = ? AND status = 'pending' AND next_attempt_at <= ?
			AND (lease_until IS NULL OR lease_until <= ?)
			AND seq = (SELECT MIN(x.seq) FROM webhook_deliveries x
				WHERE x.webhook_id = webhook_deliveries.webhook_id AND x.status = 'pending')`,
		owner, micros(until), micros(now), id, micros(now), micros(now))
	if err != nil {
		return store.Delivery{}, fmt.Errorf("sqlstore: claim delivery %s: %w", id, err)
	}
	if ok, err := affectedOne(res); err != nil {
		return store.Delivery{}, fmt.Errorf("sqlstore: claim delivery %s: %w", id, err)
	} else if !ok {
		return store.Delivery{}, fmt.Errorf("sqlstore: claim delivery %s: not a due head: %w", id, store.ErrConflict)
	}
	d, err := scanDelivery(q.queryRow(ctx, `SELECT `+deliveryColumns+` FROM webhook_deliveries d WHERE d.id = ?`, id))
	if err != nil {
		return store.Delivery{}, fmt.Errorf("sqlstore: claim delivery %s: %w", id, err)
	}
	return d, nil
}

// SettleDelivery records an attempt's outcome while d.LeaseOwner holds the
// lease, and releases the lease.
func (q *queries) SettleDelivery(ctx context.Context, d store.Delivery) error {
	res, err := q.exec(ctx, `UPDATE webhook_deliveries SET status = ?, next_attempt_at = ?,
			lease_owner = NULL, lease_until = NULL, last_error = ?, last_status = ?, updated_at = ?, delivered_at = ?
		WHERE id = ? AND lease_owner = ?`,
		d.Status, micros(d.NextAttemptAt), d.LastError, d.LastStatus, micros(d.UpdatedAt), optMicros(d.DeliveredAt),
		d.ID, d.LeaseOwner)
	if err != nil {
		return fmt.Errorf("sqlstore: settle delivery %s: %w", d.ID, err)
	}
	if ok, err := affectedOne(res); err != nil {
		return fmt.Errorf("sqlstore: settle delivery %s: %w", d.ID, err)
	} else if !ok {
		return fmt.Errorf("sqlstore: settle delivery %s: lease of %q lost: %w", d.ID, d.LeaseOwner, store.ErrConflict)
	}
	return nil
}

// RequeueDelivery makes a failed or dead delivery pending again.
func (q *queries) RequeueDelivery(ctx context.Context, webhookID, id string, now time.Time) error {
	res, err := q.exec(ctx, `UPDATE webhook_deliveries SET status = 'pending', attempts = 0, next_attempt_at = ?,
			lease_owner = NULL, lease_until = NULL, updated_at = ?
		WHERE webhook_id = ? AND id = ? AND status IN ('failed', 'dead')`,
		micros(now), micros(now), webhookID, id)
	if err != nil {
		return fmt.Errorf("sqlstore: requeue delivery %s: %w", id, err)
	}
	if ok, err := affectedOne(res); err != nil {
		return fmt.Errorf("sqlstore: requeue delivery %s: %w", id, err)
	} else if ok {
		return nil
	}
	if _, err := q.GetDelivery(ctx, webhookID, id); err != nil {
		return err
	}
	return fmt.Errorf("sqlstore: requeue delivery %s: only failed or dead deliveries can be requeued: %w", id, store.ErrConflict)
}

func scanDelivery(s scanner) (store.Delivery, error) {
	var d store.Delivery
	var owner sql.NullString
	var until, delivered sql.NullInt64
	var next, created, updated int64
	err := s.Scan(&d.Seq, &d.ID, &d.WebhookID, &d.AppID, &d.Event, &d.Body, &d.Status, &d.Attempts,
		&next, &owner, &until, &d.LastError, &d.LastStatus, &created, &updated, &delivered)
	if err != nil {
		return store.Delivery{}, err
	}
	d.NextAttemptAt = fromMicros(next)
	d.LeaseOwner = owner.String
	d.LeaseUntil = optTime(until)
	d.CreatedAt = fromMicros(created)
	d.UpdatedAt = fromMicros(updated)
	d.DeliveredAt = optTime(delivered)
	return d, nil
}
