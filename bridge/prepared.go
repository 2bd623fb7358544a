package bridge

import (
	"context"
	"fmt"
	"time"

	"github.com/livekit/protocol/auth"
	"github.com/livekit/protocol/livekit"
	"google.golang.org/protobuf/proto"

	"rtk-sidecar/protocol"
)

// Prepared reports whether p is a prepared connection that has not been
// revealed yet: hidden, with protocol.PreparedAttribute
// (docs/protocol.md §5). It is not an arrival, and not a participant of
// the room.
func Prepared(p *livekit.ParticipantInfo) bool {
	_, ok := p.GetAttributes()[protocol.PreparedAttribute]
	return ok && p.GetPermission().GetHidden()
}

// RevealedEvent is the participant_joined webhook event LiveKit would send
// for a prepared connection that the Mover revealed in room at at (it sends
// none): p as revealed, joined at at. Its id is unique per connection,
// which is revealed once.
func RevealedEvent(room string, p *livekit.ParticipantInfo, at time.Time) *livekit.WebhookEvent {
	p = proto.Clone(p).(*livekit.ParticipantInfo)
	p.JoinedAt, p.JoinedAtMs = at.Unix(), at.UnixMilli()
	return &livekit.WebhookEvent{Id: "RTK_REVEALED_" + p.Sid, Event: "participant_joined",
		Room: &livekit.Room{Name: room}, Participant: p, CreatedAt: at.Unix()}
}

// reveal makes the participant's prepared connection dst in o.ToRoom
// visible with its permissions, name, metadata and attributes there (those a
// handoff's token would carry), reports it (WithRevealed), and tells the
// client, whose connection is in the destination already. It asks LiveKit
// to change only what dst lacks: each change of name, metadata or
// attributes costs the SFU an update and a new token for the client, so a
// connection prepared with the destination's metadata (Prepare) is revealed
// by its permission alone. protocol.PreparedAttribute stays: once visible,
// the connection is no longer Prepared. A reveal that fails in a way that
// may pass is made again until deadline (again). done is false, with no
// error, when the prepared connection has gone meanwhile: the caller hands
// off instead.
func (m *Mover) reveal(ctx context.Context, o MoveOrder, grant *auth.VideoGrant, src, dst *livekit.ParticipantInfo, deadline time.Time, res *MoveResult) (done bool, err error) {
	req := revealRequest(o, grant, src, dst)
	var p *livekit.ParticipantInfo
	err = m.again(ctx, deadline, func(ctx context.Context) error {
		var err error
		p, err = m.rooms.UpdateParticipant(ctx, req)
		return err
	})
	o.Gate.Pass(o.MoveID)
	switch {
	case IsNotFound(err):
		return false, nil
	case err != nil:
		return false, fromLiveKit("reveal "+o.Identity+" in "+o.ToRoom, err)
	}
	// The arrival is recorded as of now, the reveal. Recording waits for
	// the store, and the client must not (it leaves the source only after
	// it has published in the destination and heard it, well after this).
	// With a gate, it is recorded while the gate holds the instruction back
	// and the instruction goes: a start's 100 reveals, done together, wait
	// for each other in the store, and their instructions would wait for
	// the last. The move ends once it is recorded. Without a gate, it is
	// recorded once the event stream has the instruction.
	record := func() {
		if m.cfg.revealed != nil {
			m.cfg.revealed(ctx, o.ToRoom, p)
		}
	}
	if o.Gate != nil {
		recorded := make(chan struct{})
		go func() {
			defer close(recorded)
			record()
		}()
		defer func() { <-recorded }()
		o.Gate.wait(ctx)
	}
	payload, err := m.instruction(o, grant, src, true)
	if err != nil {
		return false, err
	}
	res.Deliveries = 1
	res.Streams = m.toStreams(o, payload)
	if o.Gate == nil {
		record()
	}
	useRPC := m.rpc != nil && src.GetPermission().GetCanPublishData()
	if res.Via, err = m.deliver(ctx, o, payload, useRPC); err != nil && res.Streams == 0 {
		return false, err
	}
	// The client leaves the source once it hears the destination; should
	// its leave get lost, the sweep removes the copy.
	m.scheduleSweep(o.FromRoom, o.Identity, src.Sid, o.KeepSource)
	res.Outcome = MoveArrived
	return true, nil
}

// revealRequest is the update that reveals dst, the prepared connection in
// o.ToRoom of the participant connected to o.FromRoom by src: the
// destination's permissions, and what dst lacks of the name, metadata and
// attributes.
func revealRequest(o MoveOrder, grant *auth.VideoGrant, src, dst *livekit.ParticipantInfo) *livekit.UpdateParticipantRequest {
	g := destinationGrant(o, grant, src)
	req := &livekit.UpdateParticipantRequest{Room: o.ToRoom, Identity: o.Identity, Permission: g.ToPermission()}
	if src.Name != dst.Name {
		req.Name = src.Name
	}
	if md := or(o.Metadata, src.Metadata); md != dst.Metadata {
		req.Metadata = md
	}
	for k, v := range carriedAttributes(src) {
		if dst.Attributes[k] != v {
			if req.Attributes == nil {
				req.Attributes = map[string]string{}
			}
			req.Attributes[k] = v
		}
	}
	return req
}

// DropPrepared disconnects identity's prepared connection in room (Prepared),
// if it has one there; any other connection of the identity stays. It is
// for a prepared connection that may not stay: its client should close it
// itself, and this makes sure it does not keep receiving the room. A move
// of identity under way ends first: one that reveals the connection leaves
// nothing to drop.
func (m *Mover) DropPrepared(ctx context.Context, room, identity string) error {
	unlock, err := m.lockIdentity(ctx, identity)
	if err != nil {
		return fmt.Errorf("bridge: drop the prepared connection of %s: %w", identity, err)
	}
	defer unlock()
	p, err := m.participant(ctx, room, identity)
	if err != nil || p == nil || !Prepared(p) {
		return err
	}
	ctx, cancel := callContext(ctx)
	defer cancel()
	_, err = m.rooms.RemoveParticipant(ctx, &livekit.RoomParticipantIdentity{Room: room, Identity: identity})
	if err != nil && !IsNotFound(err) {
		return fromLiveKit("drop the prepared connection of "+identity+" in "+room, err)
	}
	return nil
}

// PreparedIn returns the identities that hold a prepared connection in
// room (Prepared), none for a room LiveKit does not have.
func (m *Mover) PreparedIn(ctx context.Context, room string) ([]string, error) {
	return m.identitiesIn(ctx, room, true)
}

// ConnectedIn returns the identities connected to room other than by a
// prepared connection (Prepared), as LiveKit lists them now; none for a
// room LiveKit does not have.
func (m *Mover) ConnectedIn(ctx context.Context, room string) ([]string, error) {
	return m.identitiesIn(ctx, room, false)
}

// identitiesIn lists the identities connected to room whose connection is
// prepared (or not).
func (m *Mover) identitiesIn(ctx context.Context, room string, prepared bool) ([]string, error) {
	ctx, cancel := callContext(ctx)
	defer cancel()
	res, err := m.rooms.ListParticipants(ctx, &livekit.ListParticipantsRequest{Room: room})
	switch {
	case IsNotFound(err):
		return nil, nil
	case err != nil:
		return nil, fromLiveKit("list the participants of "+room, err)
	}
	var ids []string
	for _, p := range res.Participants {
		if Prepared(p) == prepared && p.State != livekit.ParticipantInfo_DISCONNECTED {
			ids = append(ids, p.Identity)
		}
	}
	return ids, nil
}
