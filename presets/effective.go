package presets

import (
	"context"
	"errors"

	"rtk-sidecar/store"
)

// Lookup is the part of the store that Effective reads.
type Lookup interface {
	GetPlacement(ctx context.Context, participantID string) (store.Placement, error)
	GetPreset(ctx context.Context, appID, id string) (store.Preset, error)
}

// Effective returns the preset that participant p has in meeting
// meetingID: the one a breakout move applied to it there
// (moveParticipantsWithCustomPreset), else its own.
func Effective(ctx context.Context, l Lookup, p store.Participant, meetingID string) (Preset, error) {
	presetID := p.PresetID
	pl, err := l.GetPlacement(ctx, p.ID)
	switch {
	case err == nil && pl.RoomID == meetingID && pl.PresetID != "":
		presetID = pl.PresetID
	case err != nil && !errors.Is(err, store.ErrNotFound):
		return Preset{}, err
	}
	pr, err := l.GetPreset(ctx, p.AppID, presetID)
	if err != nil {
		return Preset{}, err
	}
	return FromBody(pr.Name, pr.Body)
}
