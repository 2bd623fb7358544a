package recording

import (
	"context"
	"log/slog"
	"strconv"

	"rtk-sidecar/store"
	"rtk-sidecar/webhooks"
)

// Notifier takes the recording.statusUpdate webhook of every status
// transition of a recording. Enqueue is called inside the transaction that
// writes the transition, with that transaction's queries, so what it writes
// through q commits (or rolls back) with the transition; it must not start
// another transaction and must have no effect outside q, since the store
// may run the transaction again. An error rolls the transition back.
// *webhooks.Outbox implements it; LogNotifier stands in without an outbox.
type Notifier interface {
	Enqueue(ctx context.Context, q store.Queries, appID string, e webhooks.Event) error
}

var _ Notifier = (*webhooks.Outbox)(nil)

// LogNotifier logs every webhook at debug level instead of sending it, for
// a Service without an outbox. New uses one over Options.Log when given no
// Notifier.
type LogNotifier struct{ Log *slog.Logger }

// Enqueue logs e.
func (n LogNotifier) Enqueue(ctx context.Context, _ store.Queries, appID string, e webhooks.Event) error {
	n.Log.DebugContext(ctx, "webhook not sent: no outbox", "app", appID, "event", e.Name, "body", string(e.Body))
	return nil
}

// statusUpdate returns the recording.statusUpdate webhook of a recording in
// view v, of app app, in session sess (zero when it has none).
func statusUpdate(v View, app store.App, sess SessionInfo) webhooks.Event {
	r := v.Recording
	wr := webhooks.Recording{
		ID: r.ID, MeetingID: r.MeetingID, OrganizationID: r.AppID, RoomUUID: r.SessionID, Status: r.Status,
		InvokedTime: webhooks.At(r.InvokedAt), StartedTime: webhooks.At(r.StartedAt),
	}
	if r.Status == store.RecordingUploading || r.Status == store.RecordingUploaded || r.Status == store.RecordingErrored {
		wr.StoppedTime = webhooks.At(r.StoppedAt)
		wr.OutputFileName = r.OutputFileName
		wr.StopReason = webhookReason(r.StopReason)
	}
	if r.Status == store.RecordingUploaded {
		wr.FileSize = strconv.FormatInt(r.FileSize, 10)
		d := r.Duration
		wr.RecordingDuration = &d
		wr.DownloadURL = v.DownloadURL
		wr.AudioDownloadURL = v.AudioDownloadURL
		wr.DownloadURLExpiry = webhooks.At(v.DownloadURLExpiry)
	}
	status := store.SessionEnded
	if sess.Live {
		status = store.SessionLive
	}
	sessionID := sess.ID
	if sessionID == "" {
		sessionID = r.SessionID
	}
	return webhooks.NewRecordingStatusUpdate(wr, webhooks.MeetingOf(app, v.Meeting, store.Session{
		ID: sessionID, Status: status, StartedAt: sess.StartedAt, EndedAt: sess.EndedAt, ParentSessionID: sess.ParentID,
	}))
}

// webhookReason renders a stored stop reason for the webhook (see ReasonOf).
func webhookReason(reason string) webhooks.Reason {
	return webhooks.Reason{Reason: reason, Caller: webhooks.Caller{Type: callerOf(reason)}}
}
