package store

import (
	"context"
	"time"
)

// Family statuses: the lifecycle of a meeting's breakout rooms.
const (
	FamilyIdle    = "idle"    // everyone belongs in the parent; rooms may exist
	FamilyRunning = "running" // breakout rooms are started
	FamilyClosing = "closing" // running, and every room closes at ClosingAt
)

// Family is the connected-meetings state of a parent meeting: its status and
// the version that every change increments. The rooms of a family are the
// ACTIVE meetings whose ParentID is the family's parent.
type Family struct {
	ParentID  string
	AppID     string
	Version   int64
	Status    string    // FamilyIdle, FamilyRunning or FamilyClosing
	ClosingAt time.Time // set while FamilyClosing, zero otherwise
	// EndsAt is when a running family's timer closes its rooms, and WarnAt
	// when the close countdown before that begins (the family becomes
	// FamilyClosing with ClosingAt = EndsAt). Both are zero without a timer.
	EndsAt time.Time
	WarnAt time.Time
	// AssignLate places a participant without an assignment who joins while
	// the rooms run in the least full room.
	AssignLate bool
	UpdatedAt  time.Time
}

// Placement is where a participant of a family belongs. A participant of
// the parent meeting without a placement belongs in the parent.
type Placement struct {
	ParticipantID string
	ParentID      string
	RoomID        string    // the meeting it belongs in now; "" means the parent
	AssignedID    string    // the breakout room planned for it; "" means none
	PresetID      string    // a preset applied in RoomID instead of its own; "" means none
	UpdatedAt     time.Time // when RoomID last changed
}

// BreakoutQueries keep connected meetings: the placement of participants in a
// meeting family and the family's state version.
type BreakoutQueries interface {
	// GetFamily returns the family of a parent meeting, or ErrNotFound when
	// none was saved yet (an idle family at version 0).
	GetFamily(ctx context.Context, appID, parentID string) (Family, error)
	// SaveFamily writes f if the stored version is f.Version-1 (a family at
	// version 1 is created when none exists), and returns ErrConflict
	// otherwise: the optimistic lock every change of a family takes. The
	// parent must be a meeting of the app, else ErrNotFound.
	SaveFamily(ctx context.Context, f Family) error
	// ListClosingFamilies returns the families in FamilyClosing whose
	// ClosingAt is at or before the given time, in any app.
	ListClosingFamilies(ctx context.Context, before time.Time) ([]Family, error)
	// ListTimedFamilies returns the families in FamilyRunning whose WarnAt
	// is set and at or before the given time, in any app.
	ListTimedFamilies(ctx context.Context, before time.Time) ([]Family, error)
	// ListActiveFamilies returns the families, in any app, whose moves may
	// still be under way: those in FamilyRunning or FamilyClosing, and
	// those of any status changed at or after since (a close moves
	// everybody back to the parent and leaves the family idle). They come
	// oldest change first.
	ListActiveFamilies(ctx context.Context, since time.Time) ([]Family, error)

	// ListPlacements returns every placement in a family.
	ListPlacements(ctx context.Context, parentID string) ([]Placement, error)
	// GetPlacement returns a participant's placement, or ErrNotFound.
	GetPlacement(ctx context.Context, participantID string) (Placement, error)
	// PutPlacement creates or replaces a participant's placement. The
	// participant, the parent and any room, assigned room or preset must
	// exist (else ErrNotFound). A placement goes when its participant does.
	PutPlacement(ctx context.Context, p Placement) error
}
