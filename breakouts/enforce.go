package breakouts

import (
	"cmp"
	"context"
	"errors"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/livekit/protocol/livekit"

	"rtk-sidecar/bridge"
	"rtk-sidecar/presets"
	"rtk-sidecar/protocol"
	"rtk-sidecar/store"
)

// Placement is enforced by the server, whatever the client does
// (docs/protocol.md §6): a participant's connections stay only in the room
// it is placed in (presets.Standing.Room). The exceptions are the
// connections a move deals with (the source copy of the make-before-break
// overlap, which the Mover removes after its grace), prepared connections
// (Prepare, guarded by mayKeepPrepared), and listening connections while
// their host may listen (ListenIn). Everybody else in a room (the polls
// agent, recorders, egress, identities that are no participant) is left
// alone. A removed connection is told to the family with a
// connectionRemoved event.

// evictFailed removes the connection of a participant that did not arrive
// by its move's deadline (bridge.ErrMoveTimeout) from m.FromRoom, the room
// it should have left: the sidecar places it in m.ToRoom (its next join
// lands there), and a client that does not follow moves would otherwise
// stay where it was, heard and hearing. It does nothing when the
// participant has been placed back in m.FromRoom meanwhile, or when a newer
// move of it is waiting (that one deals with it).
func (s *Service) evictFailed(ctx context.Context, j *job, m bridge.MoveOrder) {
	if s.moves.waiting(m.Identity) {
		return
	}
	p, err := s.st.GetParticipantByID(ctx, j.appID, m.Identity)
	if err != nil {
		if !errors.Is(err, store.ErrNotFound) && ctx.Err() == nil {
			s.log.Warn("breakouts: look up a participant whose move failed", "participant", m.Identity, "err", err)
		}
		return
	}
	st, err := presets.StandingOf(ctx, s.st, p)
	if err != nil {
		if ctx.Err() == nil {
			s.log.Warn("breakouts: read the placement of a participant whose move failed", "participant", p.ID, "err", err)
		}
		return
	}
	if st.Room() == m.FromRoom {
		return
	}
	s.evict(ctx, j.parent, m.FromRoom, p.ID, protocol.Removal{PlacedMeetingID: st.Room(), Reason: protocol.RemovedMoveFailed, MoveID: m.MoveID})
}

// evict removes identity's connection from room and tells the family of
// parentID (r, completed) if there was one.
func (s *Service) evict(ctx context.Context, parentID, room, identity string, r protocol.Removal) {
	removed, err := s.mover.Evict(ctx, room, identity)
	if err != nil {
		if ctx.Err() == nil {
			s.log.Warn("breakouts: remove a connection from a room its participant may not be in", "room", room, "identity", identity, "err", err)
		}
		return
	}
	if !removed {
		return
	}
	r.ID, r.MeetingID = uuid.NewString(), room
	r.ParticipantID = cmp.Or(r.ParticipantID, identity)
	s.log.Info("breakouts: removed a connection from a room its participant may not be in", "room", room, "participant", r.ParticipantID,
		"placed", r.PlacedMeetingID, "reason", r.Reason)
	s.events.add(parentID, nil, func(b *batch) { b.removals = append(b.removals, r) })
}

// joined checks a connection that LiveKit reports joined room (a
// participant_joined webhook), in the background, and removes it if its
// participant may not be there.
func (s *Service) joined(room string, p *livekit.ParticipantInfo) {
	identity := p.GetIdentity()
	var joinedAt time.Time
	switch {
	case p.GetJoinedAtMs() != 0:
		joinedAt = time.UnixMilli(p.GetJoinedAtMs())
	case p.GetJoinedAt() != 0:
		joinedAt = time.Unix(p.GetJoinedAt(), 0)
	default:
		joinedAt = s.now() // unknown: as new as can be
	}
	s.moves.goOwned(func(ctx context.Context) {
		m, err := s.st.GetMeetingByID(ctx, room)
		if errors.Is(err, store.ErrNotFound) {
			return // not a meeting's room
		}
		if err != nil {
			if ctx.Err() == nil {
				s.log.Warn("breakouts: look up the room of a new connection", "room", room, "err", err)
			}
			return
		}
		if host, ok := strings.CutPrefix(identity, ListenerPrefix); ok {
			s.checkListener(ctx, m, host)
			return
		}
		s.checkPlaced(ctx, m, identity, joinedAt)
	})
}

// checkPlaced removes participant id's connection to m's room, which joined
// at joinedAt, unless the participant is placed there. A move of the
// participant under way decides about its connections itself; a connection
// that joined before the participant was placed elsewhere is the one its
// move dealt with (the Mover removes it once the move's overlap is over, or
// evictFailed when the move failed). An identity that is no participant
// of the app is left alone.
func (s *Service) checkPlaced(ctx context.Context, m store.Meeting, id string, joinedAt time.Time) {
	p, err := s.st.GetParticipantByID(ctx, m.AppID, id)
	if errors.Is(err, store.ErrNotFound) {
		return
	}
	var st presets.Standing
	if err == nil {
		st, err = presets.StandingOf(ctx, s.st, p)
	}
	if err != nil {
		if ctx.Err() == nil {
			s.log.Warn("breakouts: read the placement of a new connection", "room", m.ID, "participant", id, "err", err)
		}
		return
	}
	if st.Room() == m.ID || s.moves.busy(id) || joinedAt.Before(st.Placement.UpdatedAt) {
		return
	}
	// Told to the family of the room it was in and, when the participant
	// belongs to another family, to its own.
	s.evict(ctx, cmp.Or(m.ParentID, m.ID), m.ID, id, protocol.Removal{PlacedMeetingID: st.Room(), Reason: protocol.RemovedNotPlaced})
}

// checkListener removes host's listening connection (ListenIn) to m's room
// unless host may listen there now: the room is in host's family, the
// family's rooms run, and host may alter them.
func (s *Service) checkListener(ctx context.Context, m store.Meeting, host string) {
	parent := cmp.Or(m.ParentID, m.ID)
	placed := ""
	err := s.read(ctx, m.AppID, parent, Participant(host), func(f *family) error {
		placed = f.roomOf(host)
		if f.rec.Status != store.FamilyRunning && f.rec.Status != store.FamilyClosing {
			return errNothing
		}
		if _, ok := f.room(m.ID); !ok {
			return errNothing
		}
		return mayAlter(ctx, f, Participant(host))
	})
	switch {
	case err == nil:
		return
	case errors.Is(err, errNothing), errors.Is(err, ErrForbidden):
	default:
		if ctx.Err() == nil {
			s.log.Warn("breakouts: check a listening connection", "room", m.ID, "participant", host, "err", err)
		}
		return
	}
	s.evict(ctx, parent, m.ID, ListenerPrefix+host, protocol.Removal{ParticipantID: host, PlacedMeetingID: placed, Reason: protocol.RemovedNotListening})
}
