package breakouts

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/livekit/psrpc"

	"rtk-sidecar/presets"
	"rtk-sidecar/store"
)

// State is a family as its members see it: every room with the
// participants placed in it.
type State struct {
	Version   int64
	Status    string    // store.FamilyIdle, FamilyRunning or FamilyClosing
	ClosingAt time.Time // when a closing family closes; zero otherwise
	EndsAt    time.Time // when a running family's timer closes its rooms; zero without a timer
	// AssignLateJoiners: late joiners are placed in the least full room.
	AssignLateJoiners bool
	Parent            Room
	Rooms             []Room // the breakout rooms, oldest first
}

// Room is one meeting of a family.
type Room struct {
	ID           string
	Title        string
	Participants []Member
	Assigned     []string // ids of the participants assigned to it (breakout rooms only)
}

// Member is a participant as the family state shows it.
type Member struct {
	ID                  string
	CustomParticipantID string
	PresetID            string // effective preset in its room
	Name                string
	Picture             string
}

// Room returns the room with this id (the parent included) and whether it
// is in the family.
func (st State) Room(id string) (Room, bool) {
	if id == st.Parent.ID {
		return st.Parent, true
	}
	for _, r := range st.Rooms {
		if r.ID == id {
			return r, true
		}
	}
	return Room{}, false
}

// RoomOf returns the id of the room a participant is placed in, or "".
func (st State) RoomOf(participantID string) string {
	for _, r := range append([]Room{st.Parent}, st.Rooms...) {
		for _, m := range r.Participants {
			if m.ID == participantID {
				return r.ID
			}
		}
	}
	return ""
}

// family is a family loaded inside a transaction, with everything a change
// needs to decide and to write.
type family struct {
	q      store.Queries
	rec    store.Family // Version 0 and Status idle when never saved
	parent store.Meeting
	rooms  []store.Meeting // ACTIVE children, oldest first
	people []store.Participant
	place  map[string]store.Placement // by participant id; missing = in the parent
	dirty  map[string]bool            // placements to write
	preset map[string]presets.Preset  // decoded presets by id, loaded on demand
}

// load reads a family. The parent must be a top-level meeting of the app.
func load(ctx context.Context, q store.Queries, appID, parentID string) (*family, error) {
	parent, err := q.GetMeeting(ctx, appID, parentID)
	if errors.Is(err, store.ErrNotFound) {
		return nil, psrpc.NewErrorf(psrpc.NotFound, "meeting %s not found", parentID)
	}
	if err != nil {
		return nil, err
	}
	if parent.ParentID != "" {
		return nil, psrpc.NewErrorf(psrpc.InvalidArgument,
			"meeting %s is a breakout room of %s; breakout rooms have no breakout rooms of their own", parentID, parent.ParentID)
	}
	f := &family{q: q, parent: parent, place: map[string]store.Placement{}, dirty: map[string]bool{}, preset: map[string]presets.Preset{}}
	f.rec, err = q.GetFamily(ctx, appID, parentID)
	if errors.Is(err, store.ErrNotFound) {
		f.rec = store.Family{ParentID: parentID, AppID: appID, Status: store.FamilyIdle}
	} else if err != nil {
		return nil, err
	}
	pid := parentID
	children, _, err := q.ListMeetings(ctx, appID, store.MeetingFilter{ParentID: &pid})
	if err != nil {
		return nil, err
	}
	for _, c := range children {
		if c.Status == store.MeetingActive {
			f.rooms = append(f.rooms, c)
		}
	}
	slices.SortFunc(f.rooms, func(a, b store.Meeting) int {
		return cmp.Or(a.CreatedAt.Compare(b.CreatedAt), cmp.Compare(a.ID, b.ID))
	})
	if f.people, _, err = q.ListParticipants(ctx, parentID, store.Page{}); err != nil {
		return nil, err
	}
	pls, err := q.ListPlacements(ctx, parentID)
	if err != nil {
		return nil, err
	}
	for _, p := range pls {
		f.place[p.ParticipantID] = p
	}
	return f, nil
}

// room returns the family meeting with this id: the parent or an active room.
func (f *family) room(id string) (store.Meeting, bool) {
	if id == f.parent.ID {
		return f.parent, true
	}
	for _, r := range f.rooms {
		if r.ID == id {
			return r, true
		}
	}
	return store.Meeting{}, false
}

// person returns a participant of the family.
func (f *family) person(id string) (store.Participant, bool) {
	for _, p := range f.people {
		if p.ID == id {
			return p, true
		}
	}
	return store.Participant{}, false
}

// placement returns a participant's placement, a fresh one (in the parent)
// when it has none.
func (f *family) placement(id string) store.Placement {
	if p, ok := f.place[id]; ok {
		return p
	}
	return store.Placement{ParticipantID: id, ParentID: f.parent.ID}
}

// standing returns a participant's standing in the family
// (presets.Standing); own is its own preset.
func (f *family) standing(id, own string) presets.Standing {
	pl := f.placement(id)
	return presets.Standing{Own: own, Home: f.parent.ID, Placement: pl, RoomActive: f.roomIndex(pl.RoomID) >= 0}
}

// roomOf returns the id of the meeting a participant is in: its placement's
// room if that room is still active, else the parent.
func (f *family) roomOf(id string) string {
	return f.standing(id, "").Room()
}

// occupied reports whether anybody is placed in room.
func (f *family) occupied(room string) bool {
	for _, p := range f.people {
		if f.roomOf(p.ID) == room {
			return true
		}
	}
	return false
}

// set records a changed placement, to be written.
func (f *family) set(p store.Placement) {
	f.place[p.ParticipantID] = p
	f.dirty[p.ParticipantID] = true
}

// effectivePreset returns the id of a participant's preset in its room.
func (f *family) effectivePreset(p store.Participant) string {
	s := f.standing(p.ID, p.PresetID)
	return s.EffectiveID(s.Room())
}

// presetDoc decodes a preset of the family's app.
func (f *family) presetDoc(ctx context.Context, id string) (presets.Preset, error) {
	if p, ok := f.preset[id]; ok {
		return p, nil
	}
	rec, err := f.q.GetPreset(ctx, f.parent.AppID, id)
	if err != nil {
		return presets.Preset{}, fmt.Errorf("breakouts: preset %s: %w", id, err)
	}
	doc, err := presets.FromBody(rec.Name, rec.Body)
	if err != nil {
		return presets.Preset{}, err
	}
	f.preset[id] = doc
	return doc, nil
}

// permissions returns a participant's effective permissions in its room.
func (f *family) permissions(ctx context.Context, p store.Participant) (presets.Permissions, error) {
	doc, err := f.presetDoc(ctx, f.effectivePreset(p))
	return doc.Permissions, err
}

// state renders the family.
func (f *family) state() State {
	st := State{Version: f.rec.Version, Status: f.rec.Status, ClosingAt: f.rec.ClosingAt, EndsAt: f.rec.EndsAt, AssignLateJoiners: f.rec.AssignLate,
		Parent: Room{ID: f.parent.ID, Title: f.parent.Title, Participants: []Member{}}}
	idx := map[string]int{}
	for i, r := range f.rooms {
		st.Rooms = append(st.Rooms, Room{ID: r.ID, Title: r.Title, Participants: []Member{}, Assigned: []string{}})
		idx[r.ID] = i
	}
	for _, p := range f.people {
		m := Member{ID: p.ID, CustomParticipantID: p.CustomParticipantID, PresetID: f.effectivePreset(p), Name: p.Name, Picture: p.Picture}
		if i, ok := idx[f.roomOf(p.ID)]; ok {
			st.Rooms[i].Participants = append(st.Rooms[i].Participants, m)
		} else {
			st.Parent.Participants = append(st.Parent.Participants, m)
		}
		if i, ok := idx[f.placement(p.ID).AssignedID]; ok {
			st.Rooms[i].Assigned = append(st.Rooms[i].Assigned, p.ID)
		}
	}
	return st
}

// save writes the changed placements and the family at the next version.
func (f *family) save(ctx context.Context, now time.Time) error {
	ids := make([]string, 0, len(f.dirty))
	for id := range f.dirty {
		ids = append(ids, id)
	}
	slices.Sort(ids) // a stable write order keeps concurrent transactions from deadlocking
	for _, id := range ids {
		p := f.place[id]
		p.UpdatedAt = now
		if err := f.q.PutPlacement(ctx, p); err != nil {
			return err
		}
	}
	f.rec.Version++
	f.rec.UpdatedAt = now
	if f.rec.Status != store.FamilyClosing {
		f.rec.ClosingAt = time.Time{}
	}
	if f.rec.Status != store.FamilyRunning { // a timer runs only while the rooms do
		f.rec.EndsAt, f.rec.WarnAt = time.Time{}, time.Time{}
	}
	if f.rec.Status == store.FamilyIdle { // late joiners join only running rooms
		f.rec.AssignLate = false
	}
	if err := f.q.SaveFamily(ctx, f.rec); err != nil {
		if errors.Is(err, store.ErrConflict) {
			return fmt.Errorf("breakouts: %w", ErrStale)
		}
		return err
	}
	return nil
}
