package protocol

import (
	"encoding/json"
	"time"
)

// Connected meetings over HTTP (docs/protocol.md §2): the state, and the
// bodies of the participant API under /client/v1/connected-meetings.

// State is the connected-meetings state of a meeting family: the answer of
// the participant API and the data of a stateUpdate event.
type State struct {
	// Version is incremented by every change; change requests carry the
	// version their sender last saw.
	Version int64 `json:"version"`
	// Status is "idle", "running" or "closing".
	Status string `json:"status"`
	// ClosingAt is when every breakout room closes; null unless closing.
	ClosingAt *time.Time `json:"closingAt"`
	// EndsAt is when the timer of the running rooms ends (they then close,
	// after the countdown of a closing event); null without a timer.
	EndsAt *time.Time `json:"endsAt,omitempty"`
	// AssignLateJoiners is true while the running rooms take late joiners
	// (StartRequest); left out when false.
	AssignLateJoiners bool      `json:"assignLateJoiners,omitempty"`
	ParentMeeting     Meeting   `json:"parentMeeting"`
	Meetings          []Meeting `json:"meetings"` // the breakout rooms
}

// TruncatedState is the data of a stateUpdate event whose state is too
// large for one packet: the client fetches the state of Version over HTTP.
// Truncated is always true.
type TruncatedState struct {
	Truncated bool  `json:"truncated"`
	Version   int64 `json:"version"`
}

// Meeting is the parent meeting or a breakout room in a State.
type Meeting struct {
	ID           string        `json:"id"`
	Title        string        `json:"title"`
	Participants []Participant `json:"participants"`
	// AssignedParticipantIDs are the participants assigned to a breakout
	// room; left out for the parent meeting.
	AssignedParticipantIDs []string `json:"assignedParticipantIds,omitempty"`
}

// Participant is a participant in a State: RealtimeKit's
// ConnectedMeetingParticipant. Empty display fields are left out.
type Participant struct {
	ID                  string `json:"id"`
	CustomParticipantID string `json:"customParticipantId"`
	PresetID            string `json:"presetId"`
	DisplayName         string `json:"displayName,omitempty"`
	DisplayPictureURL   string `json:"displayPictureUrl,omitempty"`
}

// MeetingRef names a meeting: a room created, a room to rename, or the
// destination of a move.
type MeetingRef struct {
	ID    string `json:"id"`
	Title string `json:"title"`
}

// The request bodies of the participant API. Version is the state version
// the sender last saw; it is required (nil is refused), except that a
// participant moving only itself may leave it out. A nil Version is left
// out of the JSON.

// NewMeeting is a breakout room to create.
type NewMeeting struct {
	Title string `json:"title"`
}

// CreateMeetingsRequest is the body of POST /client/v1/connected-meetings:
// create breakout rooms.
type CreateMeetingsRequest struct {
	Version  *int64       `json:"version,omitempty"`
	Meetings []NewMeeting `json:"meetings"`
}

// CreatedMeetings is the answer to CreateMeetingsRequest: the rooms created,
// in the order requested, and the state after the change.
type CreatedMeetings struct {
	Meetings []MeetingRef `json:"meetings"`
	State    State        `json:"state"`
}

// UpdateMeetingsRequest is the body of PATCH /client/v1/connected-meetings:
// rename breakout rooms (ID and Title of each).
type UpdateMeetingsRequest struct {
	Version  *int64       `json:"version,omitempty"`
	Meetings []MeetingRef `json:"meetings"`
}

// DeleteMeetingsRequest is the body of POST
// /client/v1/connected-meetings/delete: delete breakout rooms.
type DeleteMeetingsRequest struct {
	Version    *int64   `json:"version,omitempty"`
	MeetingIDs []string `json:"meetingIds"`
}

// MoveParticipantsRequest is the body of POST
// /client/v1/connected-meetings/move: move participants from one meeting of
// the family to another. The SDK's moveParticipants sends ParticipantIDs;
// moveParticipantsWithCustomPreset sends Participants, each with the preset
// it gets. An empty list is left out.
type MoveParticipantsRequest struct {
	Version              *int64              `json:"version,omitempty"`
	SourceMeetingID      string              `json:"sourceMeetingId"`
	DestinationMeetingID string              `json:"destinationMeetingId"`
	ParticipantIDs       []string            `json:"participantIds,omitempty"`
	Participants         []ParticipantPreset `json:"participants,omitempty"`
}

// ParticipantPreset is a participant to move with the preset it gets in
// the destination.
type ParticipantPreset struct {
	ID       string `json:"id"`
	PresetID string `json:"presetId"`
}

// AssignRequest is the body of POST /client/v1/connected-meetings/assign:
// who goes to which breakout room at the next start. Mode "auto" shuffles
// the participants evenly over the rooms (hosts, those with
// can_alter_connected_meetings, only with IncludeHosts; hidden and
// recording presets never); "manual" assigns those listed in Rooms (room
// id → participant ids; the parent's id unassigns) and keeps the others'.
type AssignRequest struct {
	Version      *int64              `json:"version,omitempty"`
	Mode         string              `json:"mode"`
	IncludeHosts bool                `json:"includeHosts,omitempty"`
	Rooms        map[string][]string `json:"rooms,omitempty"`
}

// StartRequest is the body of POST /client/v1/connected-meetings/start:
// every assigned participant goes to its room. DurationSeconds sets a timer
// (0 removes it; nil keeps the one set before), WarningSeconds its
// countdown (60 by default); AssignLateJoiners turns the placement of late
// joiners on or off (nil keeps it).
type StartRequest struct {
	Version           *int64 `json:"version,omitempty"`
	DurationSeconds   *int   `json:"durationSeconds,omitempty"`
	WarningSeconds    *int   `json:"warningSeconds,omitempty"`
	AssignLateJoiners *bool  `json:"assignLateJoiners,omitempty"`
}

// CloseRequest is the body of POST /client/v1/connected-meetings/close:
// everyone goes back to the parent, at once, or after a countdown of
// GraceSeconds (a closing event).
type CloseRequest struct {
	Version      *int64 `json:"version,omitempty"`
	GraceSeconds int    `json:"graceSeconds,omitempty"`
}

// BroadcastRequest is the body of POST /client/v1/connected-meetings/broadcast:
// Payload (a JSON object) goes to every participant in MeetingIDs, rooms of
// the caller's family; no MeetingIDs means the caller's own room.
type BroadcastRequest struct {
	Type       string          `json:"type"`
	Payload    json.RawMessage `json:"payload"`
	MeetingIDs []string        `json:"meetingIds,omitempty"`
}

// ListenRequest is the body of POST /client/v1/connected-meetings/listen.
type ListenRequest struct {
	MeetingID string `json:"meetingId"`
}

// ListenTicket is its answer: a hidden, receive-only LiveKit connection to
// the room of MeetingID, for a host to hear it without leaving its own.
type ListenTicket struct {
	URL       string `json:"url"`   // LiveKit server URL
	Token     string `json:"token"` // LiveKit access token
	Room      string `json:"room"`
	Identity  string `json:"identity"` // "listen-" + the participant id
	MeetingID string `json:"meetingId"`
}

// PrepareTicket is the answer of POST /client/v1/connected-meetings/prepare:
// a hidden LiveKit connection to the breakout room the participant is
// assigned to (docs/protocol.md §5). It may publish, and subscribe, as the
// preset allows there, but sends no data, and its client sends no media on
// it, until the server reveals it at the move there.
type PrepareTicket struct {
	URL       string `json:"url"`   // LiveKit server URL
	Token     string `json:"token"` // LiveKit access token
	Room      string `json:"room"`
	MeetingID string `json:"meetingId"` // the room the participant is assigned to
}

// HelpRequest is the body of POST /client/v1/connected-meetings/help.
type HelpRequest struct {
	Message string `json:"message,omitempty"`
}
