package bridge

import "encoding/json"

// ParticipantMetadata is the LiveKit metadata (JSON) of every participant
// the sidecar admits or moves, so clients can map LiveKit identities back to
// RealtimeKit participants. Its fields are part of the client protocol
// (docs/protocol.md).
type ParticipantMetadata struct {
	ParticipantID       string `json:"participant_id"`
	CustomParticipantID string `json:"custom_participant_id"`
	MeetingID           string `json:"meeting_id"` // the meeting of the room it is in
	PresetID            string `json:"preset_id"`  // its effective preset there
	PresetName          string `json:"preset_name"`
	Picture             string `json:"picture,omitempty"`
}

// String returns the metadata as LiveKit carries it.
func (m ParticipantMetadata) String() string {
	b, _ := json.Marshal(m) // a struct of strings always encodes
	return string(b)
}
