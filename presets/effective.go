package presets

import (
	"context"
	"errors"

	"rtk-sidecar/store"
)

// Standing is where a participant stands in its meeting family: all that
// decides the meeting it belongs in (Room) and the preset in effect for it
// in each meeting of the family (EffectiveID). Callers fill it from the
// store (StandingOf) or from a family they loaded; the rule itself is pure.
type Standing struct {
	// Own is the participant's own preset (store.Participant.PresetID).
	Own string
	// Home is the participant's meeting: the parent of its family, or a
	// meeting without breakout rooms.
	Home string
	// Placement is the participant's placement in the family; the zero
	// value when it has none (it belongs in Home).
	Placement store.Placement
	// RoomActive reports whether Placement.RoomID is an ACTIVE breakout
	// room of Home.
	RoomActive bool
}

// presetRoom returns the meeting in which the placement's preset applies
// (the destination of the move that gave it), or "" when it applies nowhere.
func (s Standing) presetRoom() string {
	room := s.Placement.RoomID
	switch {
	case s.Placement.PresetID == "":
		return ""
	case room == "" || room == s.Home:
		return s.Home
	case s.RoomActive:
		return room
	}
	return "" // its room was closed under it
}

// Room returns the meeting the participant belongs in: the breakout room of
// its placement while that room is active, else its home. A join lands
// there, and a connection in any other meeting of the family is one the
// participant may not hold.
func (s Standing) Room() string {
	if r := s.Placement.RoomID; r != "" && s.RoomActive {
		return r
	}
	return s.Home
}

// EffectiveID is the one rule for the preset in effect for a participant in
// a meeting of its family. A preset given with the move that placed it
// (moveParticipantsWithCustomPreset) applies in that move's destination,
// the parent included, while the participant is placed there: its next
// move ends it, and so does a close-all (which moves everyone back to the
// parent without one) or the close of that room. Everywhere else, and
// without such a preset, its own preset applies: in the parent, in a
// breakout room it was sent to without a preset (a start, a late joiner),
// and in a room it only listens to (a listening connection has a fixed
// grant; what it may do where it is placed decides whether it may listen).
func (s Standing) EffectiveID(meetingID string) string {
	if r := s.presetRoom(); r != "" && r == meetingID {
		return s.Placement.PresetID
	}
	return s.Own
}

// Lookup is the part of the store that StandingOf and Effective read.
type Lookup interface {
	GetPlacement(ctx context.Context, participantID string) (store.Placement, error)
	GetMeeting(ctx context.Context, appID, id string) (store.Meeting, error)
	GetPreset(ctx context.Context, appID, id string) (store.Preset, error)
}

// StandingOf reads participant p's standing from the store.
func StandingOf(ctx context.Context, l Lookup, p store.Participant) (Standing, error) {
	s := Standing{Own: p.PresetID, Home: p.MeetingID}
	pl, err := l.GetPlacement(ctx, p.ID)
	switch {
	case errors.Is(err, store.ErrNotFound):
		return s, nil
	case err != nil:
		return Standing{}, err
	}
	s.Placement = pl
	if pl.RoomID == "" || pl.RoomID == p.MeetingID {
		return s, nil
	}
	room, err := l.GetMeeting(ctx, p.AppID, pl.RoomID)
	switch {
	case errors.Is(err, store.ErrNotFound):
	case err != nil:
		return Standing{}, err
	default:
		s.RoomActive = room.Status == store.MeetingActive && room.ParentID == p.MeetingID
	}
	return s, nil
}

// Effective returns the preset in effect for participant p in meeting
// meetingID of its family (Standing.EffectiveID), decoded.
func Effective(ctx context.Context, l Lookup, p store.Participant, meetingID string) (Preset, error) {
	s, err := StandingOf(ctx, l, p)
	if err != nil {
		return Preset{}, err
	}
	pr, err := l.GetPreset(ctx, p.AppID, s.EffectiveID(meetingID))
	if err != nil {
		return Preset{}, err
	}
	return FromBody(pr.Name, pr.Body)
}
