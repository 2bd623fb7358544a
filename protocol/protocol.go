// Package protocol is the client protocol of docs/protocol.md in Go: the
// JSON messages and names that the sidecar and its clients exchange over
// HTTP and LiveKit. It holds types and constants only, no behaviour.
//
// The sidecar encodes these types and rtkclient decodes them (and the other
// way round for requests), so that both sides speak one definition of the
// contract. A change here is a change of the public protocol: update
// docs/protocol.md with it.
package protocol

// Version is the version of the protocol: the "v" of every JSON message
// sent over LiveKit.
const Version = 1

// Names of the LiveKit data topics and the RPC method (docs/protocol.md §3, §4).
const (
	// EventsTopic is the data topic of connected-meetings events, and the
	// name of their events on the sidecar's event stream.
	EventsTopic = "rtk.connected_meetings"
	// MoveMethod is the RPC method a client registers for move instructions,
	// and the name of their events on the sidecar's event stream.
	MoveMethod = "rtk.move"
	// MoveTopic is the data topic of move instructions sent when the RPC
	// cannot be used.
	MoveTopic = "rtk.move"
)

// Event types: the "type" of an Event (docs/protocol.md §3).
const (
	// EventStateUpdate carries a State, or a TruncatedState when the state
	// is too large for one packet.
	EventStateUpdate = "stateUpdate"
	// EventChangingMeeting carries a ChangingMeetingData: moves have begun.
	EventChangingMeeting = "changingMeeting"
	// EventMeetingChanged carries a MeetingChangedData: participants have
	// arrived in their new rooms.
	EventMeetingChanged = "meetingChanged"
	// EventMoveFailed carries a MoveFailedData: participants did not arrive.
	EventMoveFailed = "moveFailed"
	// EventClosing carries a Closing: a close-all with a grace period has begun.
	EventClosing = "closing"
	// EventBroadcastedMessage carries a BroadcastedMessage.
	EventBroadcastedMessage = "broadcastedMessage"
	// EventHelpRequested carries a HelpRequested, to the family's hosts
	// only.
	EventHelpRequested = "helpRequested"
	// EventConnectionRemoved carries a ConnectionRemovedData: the server
	// removed participants' connections from rooms they may not be in.
	EventConnectionRemoved = "connectionRemoved"
)

// Reasons of a Removal: why the server removed a connection.
const (
	// RemovedMoveFailed: the participant's move out of the room failed
	// (moveFailed); it is placed elsewhere.
	RemovedMoveFailed = "moveFailed"
	// RemovedNotPlaced: the participant joined a room it is not placed in
	// (with an old LiveKit token, say).
	RemovedNotPlaced = "notPlaced"
	// RemovedNotListening: a listening connection (identity "listen-" +
	// the participant id) to a room its participant may not listen to.
	RemovedNotListening = "notListening"
)
