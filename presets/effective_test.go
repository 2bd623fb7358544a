package presets_test

import (
	"context"
	"encoding/json"
	"errors"
	"testing"

	"rtk-sidecar/presets"
	"rtk-sidecar/store"
)

type lookup struct {
	placement store.Placement
	placeErr  error
	presets   map[string]store.Preset
}

func (l lookup) GetPlacement(context.Context, string) (store.Placement, error) {
	return l.placement, l.placeErr
}

func (l lookup) GetPreset(_ context.Context, _ string, id string) (store.Preset, error) {
	p, ok := l.presets[id]
	if !ok {
		return store.Preset{}, store.ErrNotFound
	}
	return p, nil
}

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
	l := lookup{presets: map[string]store.Preset{
		"own":    {ID: "own", Name: "own", Body: body(false)},
		"custom": {ID: "custom", Name: "custom", Body: body(true)},
	}}
	p := store.Participant{ID: "p1", AppID: "app", PresetID: "own"}
	for _, tc := range []struct {
		name     string
		pl       store.Placement
		plErr    error
		meeting  string
		wantVote bool
		wantErr  bool
	}{
		{"no placement", store.Placement{}, store.ErrNotFound, "m", false, false},
		{"custom preset in its room", store.Placement{RoomID: "room", PresetID: "custom"}, nil, "room", true, false},
		{"custom preset, another room", store.Placement{RoomID: "room", PresetID: "custom"}, nil, "parent", false, false},
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
