package breakouts

import (
	"context"
	"slices"
	"strings"
	"time"

	"github.com/google/uuid"

	"rtk-sidecar/bridge"
	"rtk-sidecar/presets"
	"rtk-sidecar/protocol"
	"rtk-sidecar/store"
)

// MovesLease names the lease under which a replica takes over the moves
// that have outlived their deadline (WithTakeover), whichever replica
// started them.
const MovesLease = "breakouts-moves"

// WithTakeover has the Service check, while it leads (MovesLease), every
// second (or every quarter of deadline, when shorter) the families whose
// moves may still run against where LiveKit has their participants. A
// participant still connected to a room of its family it is not placed in,
// deadline after its placement last changed (as the store says, not as any
// replica remembers it), is a move that did not end: its replica died, or
// its instruction was lost. The Service then sends the instruction once
// more (a move from that room, with the moveBegun and meetingChanged or
// moveFailed events of any move, and the removal of a move that times out:
// evictFailed), and, should the participant still be there deadline after
// that, removes the connection (connectionRemoved). A connection left in
// the source room while the participant is also in its own room (a lost
// leave) is removed without an instruction, as the Mover's sweep does.
// A participant whose move runs on this replica is left to it, and so is
// one placed more than a minute (takeoverHorizon) past its deadline.
//
// With WithMoveOwners, a move whose replica is gone (its liveness lapsed:
// cluster.Owners) is taken over at the next check rather than at its
// deadline: the replica checking takes it in MoveOwners, so of two
// checking at once one acts, then sends the instruction once more as
// above (the move then arrives, or fails and its connection is removed,
// as the Mover's own moves do).
//
// deadline must exceed the move timeout (bridge.WithMoveTimeout) and the
// time a move waits in its participant's queue, or a slow move is sent
// twice (clients deduplicate nothing across moves, but they obey the
// latest). Without this option nothing is taken over.
func WithTakeover(deadline time.Duration) Option {
	return func(svc *Service) { svc.takeover = deadline }
}

// takeoverHorizon is how long past its deadline a placement is still
// checked: a lease that has no holder, or a LiveKit that does not answer,
// for less than this delays a takeover but does not lose it. Checking only
// families with such placements keeps the takeover from listing the rooms
// of every running family in LiveKit every second; a connection made
// later to a room its participant is not placed in is removed when it
// joins (enforce.go).
const takeoverHorizon = time.Minute

// resent is a move the takeover sent once more: for the placement changed
// at placed, at at.
type resent struct {
	placed time.Time
	at     time.Time
	moveID string
}

// overdue is a participant connected to a room it is not placed in, after
// its deadline.
type overdue struct {
	id, room string
	leftover bool // connected to its own room too
}

// takeOver checks the families every tick until ctx ends.
func (s *Service) takeOver(ctx context.Context) error {
	t := time.NewTicker(min(time.Second, s.takeover/4))
	defer t.Stop()
	sent := map[string]resent{}
	s.checkMoves(ctx, sent) // at once: the lease may have just come from a replica that died
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
			s.checkMoves(ctx, sent)
		}
	}
}

// checkMoves checks once every family whose moves may still run. sent
// remembers the moves sent once more, by participant.
func (s *Service) checkMoves(ctx context.Context, sent map[string]resent) {
	// A close leaves its family idle while everybody moves back: a family
	// changed within the horizon still counts.
	fams, err := s.st.ListActiveFamilies(ctx, s.now().Add(-s.takeover-takeoverHorizon))
	if err != nil {
		if ctx.Err() == nil {
			s.log.Warn("breakouts: list the families whose moves may run", "err", err)
		}
		return
	}
	seen := map[string]bool{}
	for _, fam := range fams {
		if ctx.Err() != nil {
			return
		}
		if err := s.checkFamily(ctx, fam, sent, seen); err != nil && ctx.Err() == nil {
			s.log.Warn("breakouts: check the moves of a family", "meeting", fam.ParentID, "err", err)
		}
	}
	for id := range sent {
		if !seen[id] {
			delete(sent, id) // handled, or placed again: a new placement starts afresh
		}
	}
}

// checkFamily compares where the family places its participants with where
// LiveKit has them, and deals with those overdue. seen collects the
// participants found overdue.
func (s *Service) checkFamily(ctx context.Context, fam store.Family, sent map[string]resent, seen map[string]bool) error {
	var rooms []string
	var place map[string]store.Placement
	err := s.st.InTx(ctx, func(q store.Queries) error {
		f, err := load(ctx, q, fam.AppID, fam.ParentID)
		if err != nil {
			return err
		}
		rooms = []string{f.parent.ID}
		for _, r := range f.rooms {
			rooms = append(rooms, r.ID)
		}
		// Rooms a change retired recently: their LiveKit rooms close
		// after the moves out of them, on the replica that retired them.
		pid := fam.ParentID
		all, _, err := q.ListMeetings(ctx, fam.AppID, store.MeetingFilter{ParentID: &pid})
		if err != nil {
			return err
		}
		for _, m := range all {
			if !slices.Contains(rooms, m.ID) && !m.UpdatedAt.Before(fam.UpdatedAt.Add(-s.takeover)) {
				rooms = append(rooms, m.ID)
			}
		}
		place = map[string]store.Placement{}
		for _, p := range f.people {
			pl := f.placement(p.ID)
			pl.RoomID = f.roomOf(p.ID)
			place[p.ID] = pl
		}
		return nil
	})
	if err != nil {
		return err
	}
	now := s.now()
	overdueSome := false
	var moving []string // placed within the window, moved by another replica
	for id, pl := range place {
		switch age := now.Sub(pl.UpdatedAt); {
		case age >= s.takeover && age < s.takeover+takeoverHorizon:
			overdueSome = true
		case age < s.takeover && s.owners != nil && !s.moves.busy(id):
			moving = append(moving, moveItem(id))
		}
	}
	orphaned := map[string]bool{} // moving, and the replica moving them is gone
	if len(moving) > 0 {
		slices.Sort(moving)
		taken, err := s.owners.TakeOrphans(ctx, moving, s.takeover)
		if err != nil {
			return err
		}
		for _, item := range taken {
			id := strings.TrimPrefix(item, moveItem(""))
			orphaned[id] = true
			s.log.Info("breakouts: taking over a move whose replica is gone", "participant", id, "placed", place[id].UpdatedAt)
		}
	}
	if !overdueSome && len(orphaned) == 0 {
		return nil // nobody whose move may be overdue
	}
	connected := map[string][]string{} // participant -> rooms it is connected to
	for _, room := range rooms {
		ids, err := s.mover.ConnectedIn(ctx, room)
		if err != nil {
			return err
		}
		for _, id := range ids {
			if _, ok := place[id]; ok {
				connected[id] = append(connected[id], room)
			}
		}
	}
	var due []overdue
	for id, in := range connected {
		pl := place[id]
		for _, room := range in {
			age := now.Sub(pl.UpdatedAt)
			if room == pl.RoomID || (!orphaned[id] && (age < s.takeover || age >= s.takeover+takeoverHorizon)) {
				continue
			}
			seen[id] = true
			if s.moves.busy(id) {
				continue // its move runs here
			}
			due = append(due, overdue{id: id, room: room, leftover: slices.Contains(in, pl.RoomID)})
		}
	}
	for _, o := range due {
		pl := place[o.id]
		r, ok := sent[o.id]
		switch {
		case ok && !r.placed.Equal(pl.UpdatedAt):
			delete(sent, o.id) // placed again since: this is another move
			ok = false
		case ok && now.Sub(r.at) < s.takeover:
			continue // the move sent once more may still end
		}
		switch {
		case o.leftover:
			if removed, err := s.mover.Evict(ctx, o.room, o.id); err != nil && ctx.Err() == nil {
				s.log.Warn("breakouts: remove a moved participant's leftover connection", "room", o.room, "participant", o.id, "err", err)
			} else if removed {
				s.log.Info("breakouts: removed a moved participant's leftover connection", "room", o.room, "participant", o.id)
			}
		case ok:
			s.evict(ctx, fam.ParentID, o.room, o.id, protocol.Removal{PlacedMeetingID: pl.RoomID, Reason: protocol.RemovedMoveFailed, MoveID: r.moveID})
		default:
			moveID, err := s.resend(ctx, fam, o, pl)
			if err != nil {
				if ctx.Err() == nil {
					s.log.Warn("breakouts: send a move once more", "participant", o.id, "from", o.room, "to", pl.RoomID, "err", err)
				}
				continue
			}
			if moveID != "" {
				sent[o.id] = resent{placed: pl.UpdatedAt, at: now, moveID: moveID}
			}
		}
	}
	return nil
}

// resend starts the move of o from o.room to the room it is placed in
// (pl, as read before), as the change that placed it would have, and
// returns its id; none when the placement has changed since.
func (s *Service) resend(ctx context.Context, fam store.Family, o overdue, pl store.Placement) (string, error) {
	var j *job
	var rooms []string
	err := s.st.InTx(ctx, func(q store.Queries) error {
		f, err := load(ctx, q, fam.AppID, fam.ParentID)
		if err != nil {
			return err
		}
		p, ok := f.person(o.id)
		now := f.placement(o.id)
		if !ok || f.roomOf(o.id) != pl.RoomID || !now.UpdatedAt.Equal(pl.UpdatedAt) {
			return nil
		}
		room := pl.RoomID
		dst, _ := f.room(room)
		m := bridge.MoveOrder{MoveID: uuid.NewString(), Identity: p.ID, FromRoom: o.room, ToRoom: room,
			Meeting: protocol.MeetingRef{ID: room, Title: dst.Title}, PresetID: f.effectivePreset(p)}
		doc, err := f.presetDoc(ctx, m.PresetID)
		if err != nil {
			return err
		}
		m.Permissions = doc.Permissions
		if now.PresetID != "" {
			m.Grant = presets.Grants(doc.Permissions, room)
		}
		m.Metadata = metadata(p, room, m.PresetID, doc)
		j = &job{move: m, appID: fam.AppID, parent: fam.ParentID, dest: newDestination(f, room), done: func() {}}
		rooms = []string{f.parent.ID}
		for _, r := range f.rooms {
			rooms = append(rooms, r.ID)
		}
		if !slices.Contains(rooms, o.room) {
			rooms = append(rooms, o.room)
		}
		return nil
	})
	if err != nil || j == nil {
		return "", err
	}
	m := j.move
	s.log.Info("breakouts: sending an overdue move once more", "participant", m.Identity, "from", m.FromRoom, "to", m.ToRoom,
		"placed", pl.UpdatedAt)
	s.events.add(fam.ParentID, rooms, func(b *batch) {
		b.moves = append(b.moves, protocol.MoveBegun{ParticipantID: m.Identity, FromMeetingID: m.FromRoom, ToMeetingID: m.ToRoom, MoveID: m.MoveID})
	})
	s.moves.enqueue(j)
	return m.MoveID, nil
}
