package protocol

import (
	"encoding/json"
	"time"
)

// Events over LiveKit data (docs/protocol.md §3): RELIABLE packets on
// EventsTopic, sent by the server to every room of a meeting family, and
// the same packets on the event streams of the family's participants.

// Event is every event packet. Data is the JSON of the payload of Type (see
// the Event* constants); a client ignores types it does not know.
type Event struct {
	V    int             `json:"v"`
	Type string          `json:"type"`
	Data json.RawMessage `json:"data"`
}

// ChangingMeetingData is the data of a changingMeeting event.
type ChangingMeetingData struct {
	Moves []MoveBegun `json:"moves"`
}

// MoveBegun is an entry of a changingMeeting event: a participant's move
// has begun.
type MoveBegun struct {
	ParticipantID string `json:"participantId"`
	FromMeetingID string `json:"fromMeetingId"`
	ToMeetingID   string `json:"toMeetingId"`
	MoveID        string `json:"moveId"`
}

// MeetingChangedData is the data of a meetingChanged event.
type MeetingChangedData struct {
	Arrivals []Arrival `json:"arrivals"`
}

// Arrival is an entry of a meetingChanged event: a participant has arrived
// in its new meeting.
type Arrival struct {
	ParticipantID string     `json:"participantId"`
	Meeting       MeetingRef `json:"meeting"`
	MoveID        string     `json:"moveId"`
}

// MoveFailedData is the data of a moveFailed event.
type MoveFailedData struct {
	Failures []Failure `json:"failures"`
}

// Failure is an entry of a moveFailed event: the server gave up on a
// participant's move; the participant stays placed in ToMeetingID and
// lands there on its next join.
type Failure struct {
	ParticipantID string `json:"participantId"`
	ToMeetingID   string `json:"toMeetingId"`
	MoveID        string `json:"moveId"`
	Reason        string `json:"reason"`
}

// Closing is the data of a closing event: every breakout room closes at
// ClosingAt, in Seconds (rounded) from when the event was sent.
type Closing struct {
	ClosingAt time.Time `json:"closingAt"`
	Seconds   int       `json:"seconds"`
}

// BroadcastedMessage is the data of a broadcastedMessage event: a message
// that a participant (or the server's API) sent to rooms of the family, the
// SDK's broadcastMessage with meetingIds. A client shows it if it is in one
// of MeetingIDs.
type BroadcastedMessage struct {
	ID   string `json:"id"` // unique; clients deduplicate on it
	Type string `json:"type"`
	// Payload is the sender's JSON object, as sent.
	Payload json.RawMessage `json:"payload"`
	// SenderParticipantID is empty for a message sent through the REST API.
	SenderParticipantID string    `json:"senderParticipantId,omitempty"`
	MeetingIDs          []string  `json:"meetingIds"`
	SentAt              time.Time `json:"sentAt"`
}

// HelpRequested is the data of a helpRequested event: a participant asks the
// family's hosts (those with can_alter_connected_meetings) for help, from
// the room it is in. Only the hosts get it, wherever they are.
type HelpRequested struct {
	ID            string    `json:"id"` // unique; clients deduplicate on it
	ParticipantID string    `json:"participantId"`
	DisplayName   string    `json:"displayName"`
	MeetingID     string    `json:"meetingId"` // the room the participant asks from
	Message       string    `json:"message,omitempty"`
	SentAt        time.Time `json:"sentAt"`
}

// ConnectionRemovedData is the data of a connectionRemoved event.
type ConnectionRemovedData struct {
	Removals []Removal `json:"removals"`
}

// Removal is an entry of a connectionRemoved event: the server removed a
// participant's connection from a room of the family where the participant
// may not be (docs/protocol.md §6). The participant is placed in
// PlacedMeetingID, where its next join lands.
type Removal struct {
	ID              string `json:"id"` // unique; clients deduplicate on it
	ParticipantID   string `json:"participantId"`
	MeetingID       string `json:"meetingId"` // the room it was removed from
	PlacedMeetingID string `json:"placedMeetingId"`
	Reason          string `json:"reason"`           // RemovedMoveFailed, RemovedNotPlaced or RemovedNotListening
	MoveID          string `json:"moveId,omitempty"` // the failed move, for RemovedMoveFailed
}
