package breakouts

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"slices"
	"strings"

	"github.com/google/uuid"
	"github.com/livekit/psrpc"

	"rtk-sidecar/apierr"
	"rtk-sidecar/eventstream"
	"rtk-sidecar/protocol"
)

// Limits of a broadcast message, as RealtimeKit's broadcastMessage has them:
// at most five a second per participant, a type other than "spotlight"
// (RealtimeKit's own), and a payload that fits a LiveKit data packet.
const (
	broadcastRate    = 5 // messages a second per participant, and the burst
	maxBroadcastType = 100
	maxBroadcastSize = 4 << 10 // bytes of payload
)

// Broadcast is a message to rooms of a family.
type Broadcast struct {
	Type    string
	Payload json.RawMessage // a JSON object
	// To lists the rooms (meeting ids: the parent or breakout rooms); empty
	// means the caller's own room, or, for the API, every room of the family.
	To []string
}

// Broadcast sends m to the participants in the rooms it names: over the
// family's event streams first, then as a broadcastedMessage event over
// LiveKit data to each of those rooms (docs/protocol.md §3). Any
// participant of the family may broadcast, at most five messages a second;
// the rooms must be of the family. It returns the message as sent; when
// LiveKit fails for some rooms it tries the others and returns the message
// with the error. A message is not stored: who is not in one of the rooms
// does not get it.
func (s *Service) Broadcast(ctx context.Context, appID, parentID string, c Caller, m Broadcast) (protocol.BroadcastedMessage, error) {
	m.Type = strings.TrimSpace(m.Type)
	switch {
	case m.Type == "":
		return protocol.BroadcastedMessage{}, apierr.Invalid("type", "is required")
	case len(m.Type) > maxBroadcastType:
		return protocol.BroadcastedMessage{}, apierr.Invalid("type", "is longer than %d bytes", maxBroadcastType)
	case m.Type == "spotlight":
		return protocol.BroadcastedMessage{}, apierr.Invalid("type", "%q is reserved", m.Type)
	}
	payload := bytes.TrimSpace(m.Payload)
	if len(payload) == 0 || payload[0] != '{' || !json.Valid(payload) {
		return protocol.BroadcastedMessage{}, apierr.Invalid("payload", "must be a JSON object")
	}
	if len(payload) > maxBroadcastSize {
		return protocol.BroadcastedMessage{}, apierr.Invalid("payload", "is larger than %d bytes", maxBroadcastSize)
	}

	var to []string
	err := s.read(ctx, appID, parentID, c, func(f *family) (err error) {
		to, err = broadcastRooms(f, c, m.To)
		return err
	})
	if err != nil {
		return protocol.BroadcastedMessage{}, err
	}
	if !c.Admin && !s.limits.Allow(c.ParticipantID) {
		return protocol.BroadcastedMessage{}, psrpc.NewErrorf(psrpc.ResourceExhausted,
			"too many broadcast messages: at most %d a second", broadcastRate)
	}

	msg := protocol.BroadcastedMessage{ID: uuid.NewString(), Type: m.Type, Payload: payload,
		SenderParticipantID: c.ParticipantID, MeetingIDs: to, SentAt: s.now().UTC()}
	packet := encodeEvent(protocol.EventBroadcastedMessage, msg)
	if st := s.events.streams; st != nil {
		st.Broadcast(parentID, eventstream.Message{Event: protocol.EventsTopic, Data: packet})
	}
	var errs []error
	for _, room := range to {
		if err := s.rooms.SendData(ctx, room, protocol.EventsTopic, packet); err != nil {
			errs = append(errs, err)
		}
	}
	return msg, errors.Join(errs...)
}

// broadcastRooms checks the rooms a broadcast names and returns them
// without repeats, or its default rooms when it names none.
func broadcastRooms(f *family, c Caller, ids []string) ([]string, error) {
	if len(ids) == 0 {
		if !c.Admin {
			return []string{f.roomOf(c.ParticipantID)}, nil
		}
		out := []string{f.parent.ID}
		for _, r := range f.rooms {
			out = append(out, r.ID)
		}
		return out, nil
	}
	var out []string
	for _, id := range ids {
		if _, ok := f.room(id); !ok {
			return nil, psrpc.NewErrorf(psrpc.InvalidArgument, "meeting %s is not a room of this meeting family", id)
		}
		if !slices.Contains(out, id) {
			out = append(out, id)
		}
	}
	return out, nil
}
