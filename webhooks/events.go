package webhooks

import (
	"bytes"
	"encoding/json"
	"fmt"
	"slices"
	"time"

	"rtk-sidecar/store"
)

// Event names, as RealtimeKit spells them.
const (
	MeetingStarted            = "meeting.started"
	MeetingEnded              = "meeting.ended"
	MeetingParticipantJoined  = "meeting.participantJoined"
	MeetingParticipantLeft    = "meeting.participantLeft"
	MeetingChatSynced         = "meeting.chatSynced"
	RecordingStatusUpdate     = "recording.statusUpdate"
	LivestreamingStatusUpdate = "livestreaming.statusUpdate"
	MeetingTranscript         = "meeting.transcript"
	MeetingSummary            = "meeting.summary"
)

// EventNames are the events a webhook may subscribe to (RealtimeKit's enum).
// The sidecar emits the first seven; the last two are accepted in
// subscriptions but never sent.
var EventNames = []string{
	MeetingStarted, MeetingEnded, MeetingParticipantJoined, MeetingParticipantLeft,
	RecordingStatusUpdate, LivestreamingStatusUpdate, MeetingChatSynced,
	MeetingTranscript, MeetingSummary,
}

// KnownEvent reports whether name is one of EventNames.
func KnownEvent(name string) bool { return slices.Contains(EventNames, name) }

// Reasons a meeting ends (meeting.ended's reason).
const (
	ReasonAllParticipantsLeft = "ALL_PARTICIPANTS_LEFT" // the room finished on its own
	ReasonHostEndedMeeting    = "HOST_ENDED_MEETING"    // ended through the API (kick-all)
)

// Event is one RealtimeKit webhook event: its name and the exact JSON body
// every subscribed webhook receives (and whose bytes are signed). Build it
// with the constructors of this package.
type Event struct {
	Name string
	Body json.RawMessage
}

// Reconciled returns e with "reconciled": true added to its body: the
// event was inferred by comparing LiveKit's state with the store after
// LiveKit's own webhook was missed, so its times are the reconciliation's.
func (e Event) Reconciled() Event {
	b := bytes.TrimRight(e.Body, " \t\r\n")
	if len(b) < 2 || b[len(b)-1] != '}' {
		return e
	}
	out := make([]byte, 0, len(b)+20)
	out = append(out, b[:len(b)-1]...)
	out = append(out, `,"reconciled":true}`...)
	return Event{Name: e.Name, Body: out}
}

// Time is a payload timestamp: ISO-8601 in UTC with milliseconds, as
// RealtimeKit writes them. A zero Time (not known yet) is null, or left out
// where the field is optional (omitzero).
type Time struct{ time.Time }

// At wraps t as a payload timestamp.
func At(t time.Time) Time { return Time{t} }

// MarshalJSON writes the time as "2006-01-02T15:04:05.000Z", and a zero
// time as null.
func (t Time) MarshalJSON() ([]byte, error) {
	if t.IsZero() {
		return []byte("null"), nil
	}
	return json.Marshal(t.UTC().Format("2006-01-02T15:04:05.000Z"))
}

// Organizer is the app that owns the meeting (RealtimeKit's organization).
type Organizer struct {
	ID   string `json:"id"`
	Name string `json:"name"`
}

// Meeting is the "meeting" block common to the meeting and recording
// events. SessionID and StartedAt are the session's: a recording.statusUpdate
// of a recording without one has "" and null.
type Meeting struct {
	ID          string    `json:"id"`
	SessionID   string    `json:"sessionId"`
	Title       string    `json:"title"`
	RoomName    string    `json:"roomName"` // the meeting id, as Cloudflare sends it
	Status      string    `json:"status"`   // LIVE, or ENDED (meeting.ended; a recording's session that ended)
	CreatedAt   Time      `json:"createdAt"`
	StartedAt   Time      `json:"startedAt"`
	EndedAt     Time      `json:"endedAt,omitzero"`
	OrganizedBy Organizer `json:"organizedBy"`
	// ParentMeetingID and ParentSessionID are set for a breakout room (a
	// connected meeting): the parent meeting and its session live at the
	// time. Sidecar extensions.
	ParentMeetingID string `json:"parentMeetingId,omitempty"`
	ParentSessionID string `json:"parentSessionId,omitempty"`
}

// MeetingOf is the "meeting" block of meeting m of app a in session s (zero
// when there is none): the session gives the block its id, status, times
// and parent session.
func MeetingOf(a store.App, m store.Meeting, s store.Session) Meeting {
	return Meeting{
		ID: m.ID, SessionID: s.ID, Title: m.Title, RoomName: m.ID, Status: s.Status,
		CreatedAt: At(m.CreatedAt), StartedAt: At(s.StartedAt), EndedAt: At(s.EndedAt),
		OrganizedBy:     Organizer{ID: a.ID, Name: a.Name},
		ParentMeetingID: m.ParentID, ParentSessionID: s.ParentSessionID,
	}
}

// Participant is the "participant" block of participantJoined and
// participantLeft.
type Participant struct {
	PeerID              string `json:"peerId"`        // this connection (the LiveKit participant sid)
	ParticipantID       string `json:"participantId"` // the RealtimeKit participant id (extension)
	UserDisplayName     string `json:"userDisplayName"`
	CustomParticipantID string `json:"customParticipantId"`
	ClientSpecificID    string `json:"clientSpecificId"` // deprecated alias of customParticipantId
	PresetName          string `json:"presetName,omitempty"`
	JoinedAt            Time   `json:"joinedAt"`
	LeftAt              Time   `json:"leftAt,omitzero"`
	// LeaveReason (participantLeft): LEFT, KICKED, MOVED or ENDED. Extension.
	LeaveReason string `json:"leaveReason,omitempty"`
	// MovedFromMeetingID (participantJoined) and MovedToMeetingID
	// (participantLeft) mark a move between rooms of one meeting family.
	// Extensions.
	MovedFromMeetingID string `json:"movedFromMeetingId,omitempty"`
	MovedToMeetingID   string `json:"movedToMeetingId,omitempty"`
}

// NewMeetingStarted returns a meeting.started event.
func NewMeetingStarted(m Meeting) Event {
	return event(MeetingStarted, struct {
		Event   string  `json:"event"`
		Meeting Meeting `json:"meeting"`
	}{MeetingStarted, m})
}

// NewMeetingEnded returns a meeting.ended event; reason is
// ReasonAllParticipantsLeft or ReasonHostEndedMeeting.
func NewMeetingEnded(m Meeting, reason string) Event {
	return event(MeetingEnded, struct {
		Event   string  `json:"event"`
		Meeting Meeting `json:"meeting"`
		Reason  string  `json:"reason"`
	}{MeetingEnded, m, reason})
}

// NewChatSynced returns a meeting.chatSynced event: the chat of the
// session of m (which has ended) can be downloaded at url until expiry.
// Its payload is flat, as RealtimeKit's.
func NewChatSynced(m Meeting, url string, expiry time.Time) Event {
	return event(MeetingChatSynced, struct {
		Event                 string    `json:"event"`
		SessionID             string    `json:"sessionId"`
		MeetingID             string    `json:"meetingId"`
		Title                 string    `json:"title,omitempty"`
		ChatDownloadURL       string    `json:"chatDownloadUrl"`
		ChatDownloadURLExpiry Time      `json:"chatDownloadUrlExpiry"`
		CreatedAt             Time      `json:"createdAt,omitzero"`
		StartedAt             Time      `json:"startedAt,omitzero"`
		EndedAt               Time      `json:"endedAt,omitzero"`
		OrganizedBy           Organizer `json:"organizedBy"`
		ParentMeetingID       string    `json:"parentMeetingId,omitempty"`
		ParentSessionID       string    `json:"parentSessionId,omitempty"`
	}{MeetingChatSynced, m.SessionID, m.ID, m.Title, url, At(expiry), m.CreatedAt, m.StartedAt, m.EndedAt, m.OrganizedBy,
		m.ParentMeetingID, m.ParentSessionID})
}

// NewParticipantJoined returns a meeting.participantJoined event.
func NewParticipantJoined(m Meeting, p Participant) Event {
	return participantEvent(MeetingParticipantJoined, m, p)
}

// NewParticipantLeft returns a meeting.participantLeft event.
func NewParticipantLeft(m Meeting, p Participant) Event {
	return participantEvent(MeetingParticipantLeft, m, p)
}

func participantEvent(name string, m Meeting, p Participant) Event {
	if p.ClientSpecificID == "" {
		p.ClientSpecificID = p.CustomParticipantID
	}
	return event(name, struct {
		Event       string      `json:"event"`
		Meeting     Meeting     `json:"meeting"`
		Participant Participant `json:"participant"`
	}{name, m, p})
}

// Recording is the "recording" block of recording.statusUpdate. The
// fields from StoppedTime on are set from UPLOADING on, when known; the
// file's fields (FileSize, the links, RecordingDuration) at UPLOADED.
type Recording struct {
	ID             string `json:"id"`
	RecordingID    string `json:"recordingId"` // the same id
	MeetingID      string `json:"meetingId"`
	OrganizationID string `json:"organizationId"`
	RoomUUID       string `json:"roomUUID"` // the session id; "" while the recording has no session
	Status         string `json:"status"`   // RECORDING, PAUSED, UPLOADING, UPLOADED, ERRORED
	// InvokedTime is when the recording was asked for (the REST API's
	// invoked_time). Extension.
	InvokedTime Time `json:"invokedTime,omitzero"`
	// StartedTime is null until the recorder started (one stopped or failed
	// before that never has one).
	StartedTime       Time   `json:"startedTime"`
	StoppedTime       Time   `json:"stoppedTime,omitzero"`
	FileSize          string `json:"fileSize,omitempty"` // bytes, as a string (Cloudflare's form)
	OutputFileName    string `json:"outputFileName,omitempty"`
	DownloadURL       string `json:"downloadUrl,omitempty"`
	AudioDownloadURL  string `json:"audioDownloadUrl,omitempty"`
	DownloadURLExpiry Time   `json:"downloadUrlExpiry,omitzero"`
	// RecordingDuration is the recorded seconds, set at UPLOADED (where 0
	// is sent as 0).
	RecordingDuration *int   `json:"recordingDuration,omitempty"`
	StopReason        Reason `json:"stopReason,omitzero"`
}

// Reason says why a recording stopped: {reason, caller}, as the REST API's
// stop_reason.
type Reason struct {
	Reason string `json:"reason"` // API_CALL, ALL_PEERS_LEFT or INTERNAL_ERROR
	Caller Caller `json:"caller,omitzero"`
}

// Caller is who asked: the organization (an API key) or a user.
type Caller struct {
	Type   string `json:"type"` // ORGANIZATION or USER
	UserID string `json:"user_Id,omitempty"`
	Name   string `json:"name,omitempty"`
}

// NewRecordingStatusUpdate returns a recording.statusUpdate event. If
// r.RecordingID is empty it is set to r.ID.
func NewRecordingStatusUpdate(r Recording, m Meeting) Event {
	if r.RecordingID == "" {
		r.RecordingID = r.ID
	}
	return event(RecordingStatusUpdate, struct {
		Event     string    `json:"event"`
		Recording Recording `json:"recording"`
		Meeting   Meeting   `json:"meeting"`
	}{RecordingStatusUpdate, r, m})
}

// Livestream statuses of livestreaming.statusUpdate.
const (
	LivestreamLive    = "LIVE"
	LivestreamOffline = "OFFLINE"
	LivestreamIdle    = "IDLE"
)

// Livestream is the body of livestreaming.statusUpdate (without "event").
type Livestream struct {
	StreamID     string   `json:"streamId"`
	Status       string   `json:"status"` // LivestreamLive, LivestreamOffline or LivestreamIdle
	ManualIngest *bool    `json:"manualIngest,omitempty"`
	PlaybackURL  string   `json:"playbackUrl,omitempty"`
	IngestServer string   `json:"ingestServer,omitempty"`
	StreamKey    string   `json:"streamKey,omitempty"`
	Meeting      *Meeting `json:"meeting,omitempty"`
}

// NewLivestreamingStatusUpdate returns a livestreaming.statusUpdate event.
func NewLivestreamingStatusUpdate(l Livestream) Event {
	return event(LivestreamingStatusUpdate, struct {
		Event string `json:"event"`
		Livestream
	}{LivestreamingStatusUpdate, l})
}

// event marshals a payload. Payloads are plain structs of strings, numbers
// and Times, which always marshal.
func event(name string, payload any) Event {
	b, err := json.Marshal(payload)
	if err != nil {
		panic(fmt.Sprintf("webhooks: marshal %s: %v", name, err))
	}
	return Event{Name: name, Body: b}
}
