package breakouts

import (
	"encoding/json"
	"time"
)

// The client protocol of connected meetings (docs/protocol.md §2–3): the
// camelCase JSON that participants get over HTTP and LiveKit data.

// Topic is the LiveKit data topic of connected-meetings events.
const Topic = "rtk.connected_meetings"

// ProtocolVersion is the "v" of every event.
const ProtocolVersion = 1

// maxStatePacket is the largest stateUpdate sent whole; a larger one is
// replaced by {version, truncated} and clients fetch the state over HTTP.
const maxStatePacket = 12 << 10

// ClientState is the state as participants see it.
type ClientState struct {
	Version       int64        `json:"version"`
	Status        string       `json:"status"`
	ClosingAt     *string      `json:"closingAt"`
	ParentMeeting ClientRoom   `json:"parentMeeting"`
	Meetings      []ClientRoom `json:"meetings"`
}

// ClientRoom is a room in ClientState.
type ClientRoom struct {
	ID                     string              `json:"id"`
	Title                  string              `json:"title"`
	Participants           []ClientParticipant `json:"participants"`
	AssignedParticipantIDs []string            `json:"assignedParticipantIds,omitempty"`
}

// ClientParticipant is RealtimeKit's ConnectedMeetingParticipant.
type ClientParticipant struct {
	ID                  string `json:"id"`
	CustomParticipantID string `json:"customParticipantId"`
	PresetID            string `json:"presetId"`
	DisplayName         string `json:"displayName,omitempty"`
	DisplayPictureURL   string `json:"displayPictureUrl,omitempty"`
}

// Client renders the state for participants.
func (st State) Client() ClientState {
	out := ClientState{Version: st.Version, Status: st.Status, ParentMeeting: clientRoom(st.Parent, false), Meetings: []ClientRoom{}}
	if !st.ClosingAt.IsZero() {
		s := st.ClosingAt.UTC().Format(time.RFC3339Nano)
		out.ClosingAt = &s
	}
	for _, r := range st.Rooms {
		out.Meetings = append(out.Meetings, clientRoom(r, true))
	}
	return out
}

func clientRoom(r Room, breakout bool) ClientRoom {
	out := ClientRoom{ID: r.ID, Title: r.Title, Participants: make([]ClientParticipant, 0, len(r.Participants))}
	if breakout {
		out.AssignedParticipantIDs = r.Assigned
	}
	for _, m := range r.Participants {
		out.Participants = append(out.Participants, ClientParticipant{ID: m.ID, CustomParticipantID: m.CustomParticipantID,
			PresetID: m.PresetID, DisplayName: m.Name, DisplayPictureURL: m.Picture})
	}
	return out
}

// Event types.
const (
	EventStateUpdate     = "stateUpdate"
	EventChangingMeeting = "changingMeeting"
	EventMeetingChanged  = "meetingChanged"
	EventMoveFailed      = "moveFailed"
	EventClosing         = "closing"
)

// envelope is every event packet.
type envelope struct {
	V    int    `json:"v"`
	Type string `json:"type"`
	Data any    `json:"data"`
}

// MoveBegun is an entry of a changingMeeting event.
type MoveBegun struct {
	ParticipantID string `json:"participantId"`
	FromMeetingID string `json:"fromMeetingId"`
	ToMeetingID   string `json:"toMeetingId"`
	MoveID        string `json:"moveId"`
}

// Arrival is an entry of a meetingChanged event.
type Arrival struct {
	ParticipantID string     `json:"participantId"`
	Meeting       MeetingRef `json:"meeting"`
	MoveID        string     `json:"moveId"`
}

// MeetingRef names a meeting.
type MeetingRef struct {
	ID    string `json:"id"`
	Title string `json:"title"`
}

// Failure is an entry of a moveFailed event.
type Failure struct {
	ParticipantID string `json:"participantId"`
	ToMeetingID   string `json:"toMeetingId"`
	MoveID        string `json:"moveId"`
	Reason        string `json:"reason"`
}

// Closing is the data of a closing event.
type Closing struct {
	ClosingAt string `json:"closingAt"`
	Seconds   int    `json:"seconds"`
}

// encodeState returns the stateUpdate packet, truncated when too large.
func encodeState(st State) []byte {
	b, _ := json.Marshal(envelope{V: ProtocolVersion, Type: EventStateUpdate, Data: st.Client()})
	if len(b) <= maxStatePacket {
		return b
	}
	b, _ = json.Marshal(envelope{V: ProtocolVersion, Type: EventStateUpdate,
		Data: map[string]any{"version": st.Version, "truncated": true}})
	return b
}

func encodeEvent(typ string, data any) []byte {
	b, _ := json.Marshal(envelope{V: ProtocolVersion, Type: typ, Data: data})
	return b
}
