package bridge

import (
	"context"
	"fmt"

	"github.com/livekit/protocol/auth"
	"github.com/livekit/protocol/livekit"
	"github.com/livekit/psrpc"
)

// Evict removes identity's connection from room, where it may not be (its
// participant is placed elsewhere), and reports whether there was one. A
// prepared connection (Prepared) stays: DropPrepared decides about those. A
// move of identity under way ends first, so that the connection a move
// deals with is not taken from under it.
func (m *Mover) Evict(ctx context.Context, room, identity string) (bool, error) {
	unlock, err := m.lockIdentity(ctx, identity)
	if err != nil {
		return false, fmt.Errorf("bridge: evict %s: %w", identity, err)
	}
	defer unlock()
	p, err := m.participant(ctx, room, identity)
	if err != nil || p == nil || Prepared(p) {
		return false, err
	}
	ctx, cancel := callContext(ctx)
	defer cancel()
	_, err = m.rooms.RemoveParticipant(ctx, &livekit.RoomParticipantIdentity{Room: room, Identity: identity})
	switch {
	case IsNotFound(err):
		return false, nil
	case err != nil:
		return false, fromLiveKit("evict "+identity+" from "+room, err)
	}
	m.log.Info("removed a connection from a room its participant is not placed in", "room", room, "identity", identity, "sid", p.Sid)
	return true, nil
}

// Regrant gives identity's connection in room the permissions of grant
// (its Room must be empty or room) and, unless empty, metadata: for a
// participant that stays where it is while its permissions there change.
// A participant not connected there, or only by a prepared connection,
// is left alone. A move of identity under way ends first.
func (m *Mover) Regrant(ctx context.Context, room, identity string, grant *auth.VideoGrant, metadata string) error {
	if grant == nil || (grant.Room != "" && grant.Room != room) {
		return psrpc.NewErrorf(psrpc.InvalidArgument, "bridge: regrant %s: needs a grant for room %q", identity, room)
	}
	unlock, err := m.lockIdentity(ctx, identity)
	if err != nil {
		return fmt.Errorf("bridge: regrant %s: %w", identity, err)
	}
	defer unlock()
	p, err := m.participant(ctx, room, identity)
	if err != nil || p == nil || Prepared(p) {
		return err
	}
	ctx, cancel := callContext(ctx)
	defer cancel()
	_, err = m.rooms.UpdateParticipant(ctx, &livekit.UpdateParticipantRequest{Room: room, Identity: identity,
		Permission: grant.ToPermission(), Metadata: metadata})
	if err != nil && !IsNotFound(err) {
		return fromLiveKit("regrant "+identity+" in "+room, err)
	}
	return nil
}
