package presets_test

import (
	"context"
	"encoding/json"
	"errors"
	"testing"

	"rtk-sidecar/presets"
	"rtk-sidecar/store"
)

// TestEffectiveID is the table of the one rule: which meeting a participant
// belongs in, and which preset applies to it in each meeting of its family.
func TestEffectiveID(t *testing.T) {
	const (
		parent = "parent"
		r1     = "room-1"
		r2     = "room-2"
		own    = "own"
		custom = "custom"
	)
	placed := func(room, preset string) store.Placement {
		return store.Placement{ParticipantID: "p", ParentID: parent, RoomID: room, PresetID: preset}
	}
	for _, tc := range []struct {
		name     string
		pl       store.Placement
		active   bool              // pl.RoomID is an active breakout room
		room     string            // Room()
		presetIn map[string]string // meeting -> EffectiveID
	}{
		{"parent, never placed", store.Placement{}, false, parent,
			map[string]string{parent: own, r1: own}},
		{"parent, assigned to a room not started", store.Placement{ParentID: parent, AssignedID: r1}, false, parent,
			map[string]string{parent: own, r1: own}},
		{"breakout room, sent without a preset (a start)", placed(r1, ""), true, r1,
			map[string]string{r1: own, parent: own, r2: own}},
		{"breakout room with a preset given with the move", placed(r1, custom), true, r1,
			map[string]string{r1: custom, parent: own, r2: own}},
		{"parent with a preset given with the move back", placed("", custom), false, parent,
			map[string]string{parent: custom, r1: own}},
		{"parent named by its id, with a preset", placed(parent, custom), false, parent,
			map[string]string{parent: custom, r1: own}},
		{"after a close-all: back in the parent, preset ended", placed("", ""), false, parent,
			map[string]string{parent: own, r1: own}},
		{"room closed under it: the parent, its preset gone", placed(r1, custom), false, parent,
			map[string]string{parent: own, r1: own}},
		{"late joiner placed in the least full room", store.Placement{ParentID: parent, RoomID: r2, AssignedID: r2}, true, r2,
			map[string]string{r2: own, parent: own}},
		{"listening host: placed in room 1 with a preset, listening to room 2", placed(r1, custom), true, r1,
			map[string]string{r1: custom, r2: own, parent: own}},
		{"listening host in a room, listening to the parent", placed(r2, ""), true, r2,
			map[string]string{r2: own, parent: own}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := presets.Standing{Own: own, Home: parent, Placement: tc.pl, RoomActive: tc.active}
			if got := s.Room(); got != tc.room {
				t.Errorf("Room() = %q, want %q", got, tc.room)
			}
			for meeting, want := range tc.presetIn {
				if got := s.EffectiveID(meeting); got != want {
					t.Errorf("EffectiveID(%s) = %q, want %q", meeting, got, want)
				}
			}
		})
	}
}

type lookup struct {
	placement store.Placement
	placeErr  error
	meetings  map[string]store.Meeting
	presets   map[string]store.Preset
}

func (l lookup) GetPlacement(context.Context, string) (store.Placement, error) {
	return l.placement, l.placeErr
}

func (l lookup) GetMeeting(_ context.Context, _ string, id string) (store.Meeting, error) {
	m, ok := l.meetings[id]
	if !ok {
		return store.Meeting{}, store.ErrNotFound
	}
	return m, nil
}

func (l lookup) GetPreset(_ context.Context, _ string, id string) (store.Preset, error) {
	p, ok := l.presets[id]
	if !ok {
		return store.Preset{}, store.ErrNotFound
	}
	return p, nil
}

// TestEffective reads the standing from the store: a room is active when it
// is an ACTIVE child of the participant's meeting.
func TestEffective(t *testing.T) {
	body := func(canVote bool) json.RawMessage {
		d := presets.Defaults()[0]
		d.Permissions.Polls.CanVote = canVote
		b, err := json.Marshal(d)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	l := lookup{
		presets: map[string]store.Preset{
			"own":    {ID: "own", Name: "own", Body: body(false)},
			"custom": {ID: "custom", Name: "custom", Body: body(true)},
		},
		meetings: map[string]store.Meeting{
			"room":     {ID: "room", ParentID: "parent", Status: store.MeetingActive},
			"closed":   {ID: "closed", ParentID: "parent", Status: store.MeetingInactive},
			"stranger": {ID: "stranger", ParentID: "other", Status: store.MeetingActive},
		},
	}
	p := store.Participant{ID: "p1", AppID: "app", MeetingID: "parent", PresetID: "own"}
	for _, tc := range []struct {
		name     string
		pl       store.Placement
		plErr    error
		meeting  string
		wantVote bool
		wantErr  bool
	}{
		{"no placement", store.Placement{}, store.ErrNotFound, "parent", false, false},
		{"custom preset in its room", store.Placement{RoomID: "room", PresetID: "custom"}, nil, "room", true, false},
		{"custom preset, another room", store.Placement{RoomID: "room", PresetID: "custom"}, nil, "parent", false, false},
		{"custom preset in the parent", store.Placement{PresetID: "custom"}, nil, "parent", true, false},
		{"custom preset in a closed room", store.Placement{RoomID: "closed", PresetID: "custom"}, nil, "closed", false, false},
		{"custom preset in another family's room", store.Placement{RoomID: "stranger", PresetID: "custom"}, nil, "stranger", false, false},
		{"custom preset in a room that is gone", store.Placement{RoomID: "gone", PresetID: "custom"}, nil, "gone", false, false},
		{"placed without a custom preset", store.Placement{RoomID: "room"}, nil, "room", false, false},
		{"store error", store.Placement{}, errors.New("db down"), "room", false, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			l.placement, l.placeErr = tc.pl, tc.plErr
			got, err := presets.Effective(context.Background(), l, p, tc.meeting)
			if (err != nil) != tc.wantErr {
				t.Fatalf("err = %v", err)
			}
			if err == nil && got.Permissions.Polls.CanVote != tc.wantVote {
				t.Errorf("can_vote = %v, want %v (preset %q)", got.Permissions.Polls.CanVote, tc.wantVote, got.Name)
			}
		})
	}
}
