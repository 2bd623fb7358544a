package rtkclient

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"

	"rtk-sidecar/protocol"
)

// APIError is an error answer of the sidecar: the HTTP status and the
// RealtimeKit error envelope {"success": false, "error": {"code", "message"}}.
type APIError struct {
	Status    int    // HTTP status
	Code      int    // error.code of the envelope (RealtimeKit uses the status)
	Message   string // error.message, or the status text when the body had none
	RequestID string // error.request_id, when given
}

func (e *APIError) Error() string {
	return fmt.Sprintf("rtkclient: HTTP %d: %s", e.Status, e.Message)
}

// JoinInfo is the answer to a join (docs/protocol.md §1).
type JoinInfo struct {
	URL           string            `json:"url"`   // LiveKit URL
	Token         string            `json:"token"` // LiveKit access token for Room
	Room          string            `json:"room"`
	Identity      string            `json:"identity"`
	MeetingID     string            `json:"meeting_id"`
	ParticipantID string            `json:"participant_id"`
	Participant   ParticipantRecord `json:"participant"`
	Permissions   json.RawMessage   `json:"permissions"` // RealtimeKit's permissions object
}

// ParticipantRecord is the participant of a join answer.
type ParticipantRecord struct {
	ID                  string  `json:"id"`
	CustomParticipantID string  `json:"custom_participant_id"`
	PresetName          string  `json:"preset_name"`
	PresetID            string  `json:"preset_id"`
	Name                *string `json:"name"`
	Picture             *string `json:"picture"`
}

// The connected-meetings types of docs/protocol.md §2 are package
// protocol's; these aliases name them in this package.
type (
	// State is the connected-meetings state.
	State = protocol.State
	// Meeting is the parent meeting or a breakout room in a State.
	Meeting = protocol.Meeting
	// Participant is a participant in a State.
	Participant = protocol.Participant
	// MeetingRef names a meeting.
	MeetingRef = protocol.MeetingRef
	// NewMeeting is a breakout room to create.
	NewMeeting = protocol.NewMeeting
	// CreateMeetingsRequest creates breakout rooms. Version (required; see
	// the Version function) is the state version the caller last saw.
	CreateMeetingsRequest = protocol.CreateMeetingsRequest
	// UpdateMeetingsRequest renames breakout rooms (ID and Title of each).
	UpdateMeetingsRequest = protocol.UpdateMeetingsRequest
	// DeleteMeetingsRequest deletes breakout rooms.
	DeleteMeetingsRequest = protocol.DeleteMeetingsRequest
	// MoveParticipantsRequest moves participants (ParticipantIDs). Version
	// may be nil only when the caller moves itself alone.
	MoveParticipantsRequest = protocol.MoveParticipantsRequest
	// MoveWithPresetRequest moves participants, each with a preset of its
	// own (Participants). It is the same body as MoveParticipantsRequest.
	MoveWithPresetRequest = protocol.MoveParticipantsRequest
	// ParticipantPreset is a participant to move with the preset it gets.
	ParticipantPreset = protocol.ParticipantPreset
	// AssignRequest assigns participants to breakout rooms (a host's): Mode
	// "auto" shuffles everyone evenly over the rooms (hosts too with
	// IncludeHosts), "manual" assigns those listed in Rooms (room id →
	// participant ids; the parent's id unassigns them).
	AssignRequest = protocol.AssignRequest
	// StartRequest starts the breakout rooms (a host's): every assigned
	// participant goes to its room; DurationSeconds sets a timer (0 removes
	// it, nil keeps it), WarningSeconds its countdown, AssignLateJoiners the
	// placement of late joiners (nil keeps it).
	StartRequest = protocol.StartRequest
	// CloseRequest closes the breakout rooms (a host's): everyone goes back
	// to the parent at once, or after a countdown of GraceSeconds.
	CloseRequest = protocol.CloseRequest
	// Created is the answer to CreateMeetings: the rooms created, in the
	// order requested, and the state after the change.
	Created = protocol.CreatedMeetings
)

// Version returns a pointer to v, for the Version of requests.
func Version(v int64) *int64 { return &v }

// GetConnectedMeetings returns the connected-meetings state.
func (c *Client) GetConnectedMeetings(ctx context.Context) (State, error) {
	var s State
	err := c.do(ctx, http.MethodGet, "/client/v1/connected-meetings", nil, &s)
	return s, err
}

// CreateMeetings creates breakout rooms and returns them with the new state.
func (c *Client) CreateMeetings(ctx context.Context, req CreateMeetingsRequest) (Created, error) {
	var cr Created
	err := c.do(ctx, http.MethodPost, "/client/v1/connected-meetings", req, &cr)
	return cr, err
}

// UpdateMeetings renames breakout rooms and returns the new state.
func (c *Client) UpdateMeetings(ctx context.Context, req UpdateMeetingsRequest) (State, error) {
	var s State
	err := c.do(ctx, http.MethodPatch, "/client/v1/connected-meetings", req, &s)
	return s, err
}

// DeleteMeetings deletes breakout rooms and returns the new state.
func (c *Client) DeleteMeetings(ctx context.Context, req DeleteMeetingsRequest) (State, error) {
	var s State
	err := c.do(ctx, http.MethodPost, "/client/v1/connected-meetings/delete", req, &s)
	return s, err
}

// MoveParticipants moves participants between meetings of the family and
// returns the new state. The moves themselves happen asynchronously: watch
// the MeetingChanged and MoveFailed events.
func (c *Client) MoveParticipants(ctx context.Context, req MoveParticipantsRequest) (State, error) {
	var s State
	err := c.do(ctx, http.MethodPost, "/client/v1/connected-meetings/move", req, &s)
	return s, err
}

// MoveParticipantsWithCustomPreset is MoveParticipants with a preset per
// participant.
func (c *Client) MoveParticipantsWithCustomPreset(ctx context.Context, req MoveWithPresetRequest) (State, error) {
	var s State
	err := c.do(ctx, http.MethodPost, "/client/v1/connected-meetings/move", req, &s)
	return s, err
}

// AssignRooms assigns participants to breakout rooms and returns the new state.
// It needs can_alter_connected_meetings (403 without); a stale Version is
// refused with 409 and the current state.
func (c *Client) AssignRooms(ctx context.Context, req AssignRequest) (State, error) {
	var s State
	err := c.do(ctx, http.MethodPost, "/client/v1/connected-meetings/assign", req, &s)
	return s, err
}

// StartRooms starts the breakout rooms and returns the new state; the moves of
// the assigned participants happen asynchronously (MeetingChanged events).
// It needs can_alter_connected_meetings.
func (c *Client) StartRooms(ctx context.Context, req StartRequest) (State, error) {
	var s State
	err := c.do(ctx, http.MethodPost, "/client/v1/connected-meetings/start", req, &s)
	return s, err
}

// CloseRooms closes the breakout rooms and returns the new state: everyone goes
// back to the parent, at once or when the countdown of GraceSeconds ends
// (a Closing event announces it). It needs can_alter_connected_meetings.
func (c *Client) CloseRooms(ctx context.Context, req CloseRequest) (State, error) {
	var s State
	err := c.do(ctx, http.MethodPost, "/client/v1/connected-meetings/close", req, &s)
	return s, err
}

// BroadcastMessage sends a message with a JSON-object payload to everyone in
// the given meetings of the family (none: this client's own meeting), as
// RealtimeKit's broadcastMessage does; at most five a second. It returns
// the message as sent; the recipients get it as a BroadcastedMessage event.
func (c *Client) BroadcastMessage(ctx context.Context, typ string, payload any, meetingIDs ...string) (BroadcastedMessage, error) {
	raw, err := json.Marshal(payload)
	if err != nil {
		return BroadcastedMessage{}, fmt.Errorf("rtkclient: broadcast payload: %w", err)
	}
	var m BroadcastedMessage
	err = c.do(ctx, http.MethodPost, "/client/v1/connected-meetings/broadcast",
		protocol.BroadcastRequest{Type: typ, Payload: raw, MeetingIDs: meetingIDs}, &m)
	return m, err
}

// SendChat sends text to everyone in the room this client is in now
// (POST /client/v1/chat) and returns the message as the sidecar keeps it.
// The participant's preset there must allow public text chat.
func (c *Client) SendChat(ctx context.Context, text string) (ChatMessage, error) {
	var m ChatMessage
	err := c.do(ctx, http.MethodPost, "/client/v1/chat", protocol.SendChatRequest{Message: text}, &m)
	return m, err
}

// AskForHelp asks the family's hosts for help, from the room this client is
// in (POST /client/v1/connected-meetings/help): each host gets a
// HelpRequested, wherever it is. At most once every 10 s.
func (c *Client) AskForHelp(ctx context.Context, message string) (HelpRequested, error) {
	var m HelpRequested
	err := c.do(ctx, http.MethodPost, "/client/v1/connected-meetings/help", protocol.HelpRequest{Message: message}, &m)
	return m, err
}

// SendPrivateChat sends text to participant to alone, who must be in the
// same room (POST /client/v1/chat with "to"). Both presets must allow it
// (chat.private: can_send for the sender, can_receive for the recipient).
func (c *Client) SendPrivateChat(ctx context.Context, to, text string) (ChatMessage, error) {
	var m ChatMessage
	err := c.do(ctx, http.MethodPost, "/client/v1/chat", protocol.SendChatRequest{Message: text, To: to}, &m)
	return m, err
}

// ChatHistory returns the chat so far of the room this client is in now,
// oldest first (GET /client/v1/chat; the last 500 messages).
func (c *Client) ChatHistory(ctx context.Context) ([]ChatMessage, error) {
	var h protocol.ChatHistory
	err := c.do(ctx, http.MethodGet, "/client/v1/chat", nil, &h)
	return h.Messages, err
}

// join calls POST /client/v1/join.
func (c *Client) join(ctx context.Context) (JoinInfo, error) {
	var j JoinInfo
	err := c.do(ctx, http.MethodPost, "/client/v1/join", nil, &j)
	return j, err
}

// maxBody bounds an answer of the sidecar.
const maxBody = 8 << 20

// do sends a request with the participant token and decodes the data of
// the success envelope into out; an error answer becomes an *APIError.
func (c *Client) do(ctx context.Context, method, path string, body, out any) error {
	if c.baseURL == "" {
		return errors.New("rtkclient: no sidecar base URL")
	}
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return fmt.Errorf("rtkclient: encode %s %s: %w", method, path, err)
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, c.url(path), rd)
	if err != nil {
		return fmt.Errorf("rtkclient: %s %s: %w", method, path, err)
	}
	req.Header.Set("Authorization", "Bearer "+c.token)
	req.Header.Set("Accept", "application/json")
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := c.hc.Do(req)
	if err != nil {
		return fmt.Errorf("rtkclient: %s %s: %w", method, path, err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, maxBody))
	if err != nil {
		return fmt.Errorf("rtkclient: %s %s: read answer: %w", method, path, err)
	}
	var env envelope
	decodeErr := json.Unmarshal(raw, &env)
	if resp.StatusCode >= 300 || decodeErr == nil && !env.Success {
		return apiError(resp.StatusCode, raw)
	}
	if decodeErr != nil {
		return fmt.Errorf("rtkclient: %s %s: decode answer: %w", method, path, decodeErr)
	}
	if out != nil && len(env.Data) > 0 && string(env.Data) != "null" {
		if err := json.Unmarshal(env.Data, out); err != nil {
			return fmt.Errorf("rtkclient: %s %s: decode data: %w", method, path, err)
		}
	}
	return nil
}

// url is the sidecar's URL of path.
func (c *Client) url(path string) string { return strings.TrimRight(c.baseURL, "/") + path }

// envelope is an answer of the sidecar: RealtimeKit's success or error envelope.
type envelope struct {
	Success bool            `json:"success"`
	Data    json.RawMessage `json:"data"`
	Error   *struct {
		Code      int    `json:"code"`
		Message   string `json:"message"`
		RequestID string `json:"request_id"`
	} `json:"error"`
}

// apiError is the error of an answer with status and body raw: the error
// envelope's code, message and request id where the body has them.
func apiError(status int, raw []byte) *APIError {
	e := &APIError{Status: status, Message: http.StatusText(status)}
	var env envelope
	if json.Unmarshal(raw, &env) == nil && env.Error != nil {
		e.Code, e.RequestID = env.Error.Code, env.Error.RequestID
		if env.Error.Message != "" {
			e.Message = env.Error.Message
		}
	}
	return e
}
