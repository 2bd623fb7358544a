package breakouts

import (
	"context"
	"errors"

	"rtk-sidecar/store"
)

// PlaceLateJoiner places participant p, who is joining, in the least full
// breakout room of its family (the oldest of the least full), when the
// family's rooms run with AssignLateJoiners and p has never been assigned
// or placed; it returns that room, or "" when it placed nobody. Like the
// auto assignment, it leaves hosts (can_alter_connected_meetings) and
// hidden or recording presets where they are. The placement is a change of
// the family like any other: the family is told, and the join that follows
// routes p to the room.
func (s *Service) PlaceLateJoiner(ctx context.Context, p store.Participant) (string, error) {
	// Every join comes here: read first, and write only for a late joiner.
	rec, err := s.st.GetFamily(ctx, p.AppID, p.MeetingID)
	if errors.Is(err, store.ErrNotFound) {
		return "", nil
	}
	if err != nil || rec.Status != store.FamilyRunning || !rec.AssignLate {
		return "", err
	}
	switch pl, err := s.st.GetPlacement(ctx, p.ID); {
	case err == nil && (pl.AssignedID != "" || pl.RoomID != ""):
		return "", nil
	case err != nil && !errors.Is(err, store.ErrNotFound):
		return "", err
	}

	var placed string
	_, err = s.change(ctx, p.AppID, p.MeetingID, nil, func(ctx context.Context, ch *change) error {
		f := ch.f
		pl := f.placement(p.ID)
		if f.rec.Status != store.FamilyRunning || !f.rec.AssignLate || len(f.rooms) == 0 || pl.AssignedID != "" || pl.RoomID != "" {
			return errNothing
		}
		who, ok := f.person(p.ID)
		if !ok {
			return errNothing
		}
		doc, err := f.presetDoc(ctx, who.PresetID)
		if err != nil {
			return err
		}
		if !assignable(doc.Permissions, false) {
			return errNothing
		}
		size := map[string]int{}
		for _, q := range f.people {
			size[f.roomOf(q.ID)]++
		}
		room := f.rooms[0].ID
		for _, r := range f.rooms[1:] {
			if size[r.ID] < size[room] {
				room = r.ID
			}
		}
		pl.AssignedID = room
		f.set(pl)
		placed = room
		return ch.moveTo(ctx, who, room, "")
	})
	if errors.Is(err, errNothing) {
		return "", nil
	}
	return placed, err
}

// errNothing ends a change that has nothing to do, without saving it.
var errNothing = errors.New("breakouts: nothing to change")
