package breakouts

import (
	"context"

	"rtk-sidecar/bridge"
	"rtk-sidecar/protocol"
)

// BridgeMover adapts the LiveKit bridge's Mover to Mover.
type BridgeMover struct{ M *bridge.Mover }

var _ Mover = BridgeMover{}

// DropPrepared disconnects a prepared connection on LiveKit.
func (b BridgeMover) DropPrepared(ctx context.Context, room, participantID string) error {
	return b.M.DropPrepared(ctx, room, participantID)
}

// PreparedIn lists the prepared connections to a room on LiveKit.
func (b BridgeMover) PreparedIn(ctx context.Context, room string) ([]string, error) {
	return b.M.PreparedIn(ctx, room)
}

// Evict removes a connection on LiveKit.
func (b BridgeMover) Evict(ctx context.Context, room, participantID string) (bool, error) {
	return b.M.Evict(ctx, room, participantID)
}

// Regrant changes a connection's permissions and metadata on LiveKit.
func (b BridgeMover) Regrant(ctx context.Context, m Move) error {
	return b.M.Regrant(ctx, m.To, m.ParticipantID, m.Grant, m.Metadata)
}

// Move carries a move out on LiveKit.
func (b BridgeMover) Move(ctx context.Context, m Move) (Outcome, error) {
	r := b.M.Move(ctx, bridge.MoveOrder{
		MoveID: m.ID, Identity: m.ParticipantID, FromRoom: m.From, ToRoom: m.To,
		Meeting:  protocol.MeetingRef{ID: m.To, Title: m.ToTitle},
		PresetID: m.PresetID, Permissions: m.Permissions, Grant: m.Grant, Metadata: m.Metadata,
		KeepSource: m.KeepSource, Gate: m.Gate, Ready: m.Ready,
	})
	switch r.Outcome {
	case bridge.MoveArrived, bridge.MoveAlreadyThere:
		return Arrived, nil
	case bridge.MoveOffline:
		return Offline, nil
	default:
		return Failed, r.Err
	}
}
