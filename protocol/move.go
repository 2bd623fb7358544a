package protocol

import "encoding/json"

// MoveInstruction is the move instruction of docs/protocol.md §4, sent by
// the server to one participant as the payload of the MoveMethod RPC, or of
// a RELIABLE data packet on MoveTopic. Clients deduplicate by MoveID.
type MoveInstruction struct {
	V             int         `json:"v"`
	MoveID        string      `json:"moveId"`
	ParticipantID string      `json:"participantId"`
	FromMeetingID string      `json:"fromMeetingId"`
	ToMeetingID   string      `json:"toMeetingId"`
	Meeting       MeetingRef  `json:"meeting"` // the destination meeting
	LiveKit       LiveKitRoom `json:"livekit"`
	// PresetID is the participant's preset in the destination; left out
	// when empty.
	PresetID string `json:"presetId,omitempty"`
	// Permissions are the effective RealtimeKit preset permissions in the
	// destination; left out when empty.
	Permissions json.RawMessage `json:"permissions,omitempty"`
	// Prepared is true when the server has revealed the participant's
	// prepared connection to the destination (docs/protocol.md §5): a
	// client that holds that connection publishes there and switches to it
	// instead of joining with the token. The token still serves a client
	// that lost it. Left out when false.
	Prepared bool `json:"prepared,omitempty"`
	// KeepSourceMs, when set, is how long after its switch (docs/protocol.md
	// §4, step 3) the client keeps its connection to the source at least,
	// unfed and unheard, before it disconnects: the server sets it for the
	// moves of a start, so that the SFU's work for the many departures from
	// the parent comes after the arrivals. A newer move ends it at once.
	// Left out when zero.
	KeepSourceMs int `json:"keepSourceMs,omitempty"`
}

// PreparedAttribute is the LiveKit participant attribute that marks a
// prepared connection: a participant's hidden connection to the breakout
// room it is assigned to, opened before the start so that the start only
// reveals it (docs/protocol.md §5). The attribute stays when the server
// reveals the connection: a connection is prepared, and not yet revealed,
// while it is hidden and carries the attribute.
const PreparedAttribute = "rtk.prepared"

// LiveKitRoom is where a move instruction sends the participant: the
// LiveKit server URL, a short-lived access token, and the room it is for.
type LiveKitRoom struct {
	URL   string `json:"url"`
	Token string `json:"token"`
	Room  string `json:"room"`
}
