package breakouts

import (
	"context"

	"github.com/livekit/protocol/auth"
	"github.com/livekit/psrpc"

	"rtk-sidecar/apierr"
	"rtk-sidecar/bridge"
	"rtk-sidecar/presets"
	"rtk-sidecar/protocol"
	"rtk-sidecar/store"
)

// Prepare gives a participant a prepared connection to the breakout room it
// is assigned to (docs/protocol.md §5): a LiveKit ticket for a second
// connection to that room that is hidden (not listed to the room, no session
// participant), sends no data, and carries protocol.PreparedAttribute and
// the metadata the start's move gives the participant there, so that the
// reveal changes only its permission. It may publish what the participant's
// preset lets it publish in the room, and subscribe if the preset lets it,
// so that the client can publish its tracks ahead of time, fed nothing, and
// be subscribed to its room-mates' before the start: the start only feeds
// them. A client must send no media on it before it is revealed (the room
// would hear it without it being listed). When the participant is moved
// there (the start), the Mover reveals that connection with the
// participant's rights instead of making the client join: the client's
// handshakes with the SFU, and the subscriptions' negotiations, are done
// before the start.
//
// The family must not be running or closing, and nobody may be placed in
// the room (FailedPrecondition): a prepared connection hears the room, and
// until the start the room holds only prepared connections, which send
// nothing. The participant must be assigned to a breakout room it is not in
// (FailedPrecondition otherwise). The ticket's identity is the participant
// id: the participant's connection that joins the room later replaces it.
// Once a prepared connection may no longer stay, the Service drops it
// (mayKeepPrepared).
func (s *Service) Prepare(ctx context.Context, appID, parentID string, c Caller) (bridge.Ticket, error) {
	if c.Admin {
		return bridge.Ticket{}, apierr.Invalid("caller", "preparing a connection is for participants: an app has no media of its own")
	}
	var who store.Participant
	var room string
	var rights *auth.VideoGrant
	var md string
	err := s.read(ctx, appID, parentID, c, func(f *family) error {
		if f.rec.Status == store.FamilyRunning || f.rec.Status == store.FamilyClosing {
			return psrpc.NewErrorf(psrpc.FailedPrecondition, "the breakout rooms of meeting %s are running: connections are prepared before the start", f.parent.ID)
		}
		who, _ = f.person(c.ParticipantID)
		room = f.placement(who.ID).AssignedID
		switch {
		case f.roomIndex(room) < 0:
			return psrpc.NewErrorf(psrpc.FailedPrecondition, "participant %s is not assigned to a breakout room of meeting %s", who.ID, f.parent.ID)
		case f.roomOf(who.ID) == room:
			return psrpc.NewErrorf(psrpc.FailedPrecondition, "participant %s is in its breakout room already", who.ID)
		case f.occupied(room):
			return psrpc.NewErrorf(psrpc.FailedPrecondition, "breakout room %s has participants in it: connections are prepared before anybody is in it", room)
		}
		preset := f.effectivePreset(who)
		doc, err := f.presetDoc(ctx, preset)
		if err != nil {
			return err
		}
		rights = presets.Grants(doc.Permissions, room)
		md = metadata(who, room, preset, doc)
		return nil
	})
	if err != nil {
		return bridge.Ticket{}, err
	}
	grant := hiddenGrant(room, rights.GetCanSubscribe())
	grant.SetCanPublish(rights.GetCanPublish())
	grant.CanPublishSources = rights.CanPublishSources
	return s.rooms.Admit(ctx, bridge.Admission{Room: room,
		RoomMeta: roomMetadata(appID, parentID, room),
		Identity: who.ID, Name: who.Name, Metadata: md, Grant: grant,
		Attributes: map[string]string{protocol.PreparedAttribute: "1"}})
}

// mayKeepPrepared reports whether participant id may keep a prepared
// connection (Prepare) to room, a meeting of f. Before the start, while it
// is assigned there and nobody is placed there: the connection hears only
// other prepared connections, which send nothing. Once placed there, while
// its move there (busy), which reveals the connection, has not ended. Never
// otherwise: a prepared connection may subscribe, and one that stayed would
// hear the room without being listed in it.
func mayKeepPrepared(f *family, id, room string, busy bool) bool {
	if f.roomIndex(room) < 0 {
		return false
	}
	if f.roomOf(id) == room {
		return busy
	}
	return f.rec.Status == store.FamilyIdle && f.placement(id).AssignedID == room && !f.occupied(room)
}

// moving reports whether a move of participant id may be under way: here,
// or on another replica after a recent change of its placement
// (WithReplicas).
func (s *Service) moving(f *family, id string) bool {
	if s.moves.busy(id) {
		return true
	}
	return s.elsewhere > 0 && s.now().Sub(f.placement(id).UpdatedAt) < s.elsewhere
}

// guardPrepared drops the prepared connections to room, a meeting of the
// family of parentID, that may not stay (mayKeepPrepared): those of ids, or
// when ids is nil, every one LiveKit lists in room. Failures are logged: the
// next guard of the room looks again.
func (s *Service) guardPrepared(ctx context.Context, appID, parentID, room string, ids []string) {
	if ids == nil {
		var err error
		if ids, err = s.mover.PreparedIn(ctx, room); err != nil {
			if ctx.Err() == nil {
				s.log.Warn("breakouts: list the prepared connections", "room", room, "err", err)
			}
			return
		}
	}
	if len(ids) == 0 {
		return
	}
	var drop []string
	err := s.st.InTx(ctx, func(q store.Queries) error {
		f, err := load(ctx, q, appID, parentID)
		if err != nil {
			return err
		}
		drop = drop[:0]
		for _, id := range ids {
			if !mayKeepPrepared(f, id, room, s.moving(f, id)) {
				drop = append(drop, id)
			}
		}
		return nil
	})
	if err != nil {
		if ctx.Err() == nil {
			s.log.Warn("breakouts: check the prepared connections", "room", room, "err", err)
		}
		return
	}
	for _, id := range drop {
		if err := s.mover.DropPrepared(ctx, room, id); err != nil && ctx.Err() == nil {
			s.log.Warn("breakouts: drop a prepared connection", "participant", id, "room", room, "err", err)
		}
	}
}
