package protocol

import "time"

// ChatTopic is the LiveKit data topic of chat messages (docs/protocol.md,
// "Chat"): RELIABLE packets from the server to everyone in a room.
const ChatTopic = "rtk.chat"

// ChatTypeMessage is the type of a ChatPacket that carries a message.
const ChatTypeMessage = "chat.message"

// ChatMessage is a chat message sent to everyone in one meeting's room
// (the parent or a breakout room): the answers of POST and GET
// /client/v1/chat, and the message of a ChatPacket.
type ChatMessage struct {
	ID            string `json:"id"` // unique; clients deduplicate on it
	MeetingID     string `json:"meetingId"`
	SessionID     string `json:"sessionId"`
	ParticipantID string `json:"participantId"` // the sender
	DisplayName   string `json:"displayName"`   // the sender's name when sending
	Message       string `json:"message"`
	// ToParticipantID is the one recipient of a private message, which
	// only it and the sender get; absent for a message to everyone.
	ToParticipantID string    `json:"toParticipantId,omitempty"`
	SentAt          time.Time `json:"sentAt"`
}

// ChatPacket is the payload of a packet on ChatTopic.
type ChatPacket struct {
	V       int         `json:"v"` // 1
	Type    string      `json:"type"`
	Message ChatMessage `json:"message"`
}

// SendChatRequest is the body of POST /client/v1/chat. With To (a
// participant id), the message is private to that participant.
type SendChatRequest struct {
	Message string `json:"message"`
	To      string `json:"to,omitempty"`
}

// ChatHistory is the answer of GET /client/v1/chat: the chat so far of the
// caller's room, oldest first. MeetingID is that room: the one the sidecar
// last saw the caller join (a client that has just moved may have to ask
// again).
type ChatHistory struct {
	MeetingID string        `json:"meetingId"`
	Messages  []ChatMessage `json:"messages"`
}
