package recording

import (
	"context"
	"log/slog"
	"strconv"
	"time"

	"rtk-sidecar/store"
)

// EventStatusUpdate is the RealtimeKit webhook event a recording's status
// changes send.
const EventStatusUpdate = "recording.statusUpdate"

// Notifier hears of every status transition of a recording. It is called
// inside the transaction that writes the transition, with that
// transaction's queries, so an outbox it writes through q commits (or rolls
// back) with the transition; it must not start another transaction and must
// have no effect outside q, since the store may run the transaction again.
// An error rolls the transition back. The webhooks package's outbox
// implements it in service; NopNotifier and LogNotifier do without.
type Notifier interface {
	RecordingChanged(ctx context.Context, q store.Queries, appID string, u StatusUpdate) error
}

// StatusUpdate is the body of the recording.statusUpdate webhook, camelCase
// as RealtimeKit sends it.
type StatusUpdate struct {
	Event     string          `json:"event"` // EventStatusUpdate
	Recording StatusRecording `json:"recording"`
	Meeting   StatusMeeting   `json:"meeting"`
}

// StatusRecording is the recording block of a recording.statusUpdate.
// Fields from stoppedTime on are set from UPLOADING on, when known.
type StatusRecording struct {
	ID                string      `json:"id"`
	RecordingID       string      `json:"recordingId"` // the same as ID
	MeetingID         string      `json:"meetingId"`
	OrganizationID    string      `json:"organizationId"` // the app id
	RoomUUID          *string     `json:"roomUUID"`       // the session id
	Status            string      `json:"status"`
	InvokedTime       string      `json:"invokedTime"`
	StartedTime       *string     `json:"startedTime"`
	StoppedTime       *string     `json:"stoppedTime,omitempty"`
	FileSize          *string     `json:"fileSize,omitempty"` // a string, as in Cloudflare's example
	OutputFileName    *string     `json:"outputFileName,omitempty"`
	DownloadURL       *string     `json:"downloadUrl,omitempty"`
	AudioDownloadURL  *string     `json:"audioDownloadUrl,omitempty"`
	DownloadURLExpiry *string     `json:"downloadUrlExpiry,omitempty"`
	RecordingDuration *int        `json:"recordingDuration,omitempty"`
	StopReason        *ReasonJSON `json:"stopReason,omitempty"`
}

// StatusMeeting is the meeting block of RealtimeKit's webhooks.
type StatusMeeting struct {
	ID          string    `json:"id"`
	SessionID   *string   `json:"sessionId"`
	Title       string    `json:"title"`
	RoomName    string    `json:"roomName"` // the meeting id, as Cloudflare sends it
	Status      string    `json:"status"`   // LIVE while the meeting's room is open, else ENDED
	CreatedAt   string    `json:"createdAt"`
	StartedAt   *string   `json:"startedAt"`
	EndedAt     *string   `json:"endedAt,omitempty"`
	OrganizedBy Organizer `json:"organizedBy"`
}

// Organizer is the organizedBy block: the app.
type Organizer struct {
	ID   string `json:"id"`
	Name string `json:"name"`
}

// ReasonJSON is a start_reason or stop_reason: {reason, caller}.
type ReasonJSON struct {
	Reason string      `json:"reason"`
	Caller *CallerJSON `json:"caller,omitempty"`
}

// CallerJSON says who asked: the organization (an API key) or a user.
type CallerJSON struct {
	Type   string `json:"type"` // ORGANIZATION or USER
	UserID string `json:"user_Id,omitempty"`
	Name   string `json:"name,omitempty"`
}

// Start and stop reasons.
const (
	ReasonAPICall       = "API_CALL"
	ReasonRecordOnStart = "RECORD_ON_START"
	ReasonInternalError = "INTERNAL_ERROR"
	ReasonAllPeersLeft  = "ALL_PEERS_LEFT"
)

// reasonJSON renders a stored reason: API calls were made by the
// organization (an API key); the others have no caller.
func reasonJSON(reason string) *ReasonJSON {
	if reason == "" {
		return nil
	}
	r := &ReasonJSON{Reason: reason}
	if reason == ReasonAPICall {
		r.Caller = &CallerJSON{Type: "ORGANIZATION"}
	}
	return r
}

// webhookTime formats a time for webhooks (as the REST API does).
func webhookTime(t time.Time) *string {
	if t.IsZero() {
		return nil
	}
	s := t.UTC().Format("2006-01-02T15:04:05.000Z")
	return &s
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}

func strPtr(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

// statusUpdate builds the webhook body for a recording in view v.
func statusUpdate(v View, app store.App, sess SessionInfo) StatusUpdate {
	r := v.Recording
	sr := StatusRecording{
		ID: r.ID, RecordingID: r.ID, MeetingID: r.MeetingID, OrganizationID: r.AppID,
		RoomUUID: strPtr(r.SessionID), Status: r.Status,
		InvokedTime: deref(webhookTime(r.InvokedAt)), StartedTime: webhookTime(r.StartedAt),
	}
	if r.Status == store.RecordingUploading || r.Status == store.RecordingUploaded || r.Status == store.RecordingErrored {
		sr.StoppedTime = webhookTime(r.StoppedAt)
		sr.OutputFileName = strPtr(r.OutputFileName)
		sr.StopReason = reasonJSON(r.StopReason)
	}
	if r.Status == store.RecordingUploaded {
		size := strconv.FormatInt(r.FileSize, 10)
		sr.FileSize = &size
		d := r.Duration
		sr.RecordingDuration = &d
		sr.DownloadURL = strPtr(v.DownloadURL)
		sr.AudioDownloadURL = strPtr(v.AudioDownloadURL)
		sr.DownloadURLExpiry = webhookTime(v.DownloadURLExpiry)
	}
	m := v.Meeting
	status := "ENDED"
	if sess.Live {
		status = "LIVE"
	}
	sessionID := sess.ID
	if sessionID == "" {
		sessionID = r.SessionID
	}
	return StatusUpdate{
		Event:     EventStatusUpdate,
		Recording: sr,
		Meeting: StatusMeeting{
			ID: m.ID, SessionID: strPtr(sessionID), Title: m.Title, RoomName: m.ID, Status: status,
			CreatedAt: deref(webhookTime(m.CreatedAt)), StartedAt: webhookTime(sess.StartedAt), EndedAt: webhookTime(sess.EndedAt),
			OrganizedBy: Organizer{ID: app.ID, Name: app.Name},
		},
	}
}

// NopNotifier drops every update.
type NopNotifier struct{}

// RecordingChanged does nothing.
func (NopNotifier) RecordingChanged(context.Context, store.Queries, string, StatusUpdate) error {
	return nil
}

// LogNotifier logs every update at debug level; it stands in until
// outbound webhooks are wired.
type LogNotifier struct{ Log *slog.Logger }

// RecordingChanged logs the update.
func (n LogNotifier) RecordingChanged(ctx context.Context, _ store.Queries, appID string, u StatusUpdate) error {
	n.Log.DebugContext(ctx, "recording status", "app", appID, "recording", u.Recording.ID, "status", u.Recording.Status)
	return nil
}
