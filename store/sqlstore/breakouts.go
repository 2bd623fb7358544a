package sqlstore

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	"rtk-sidecar/store"
)

const familyColumns = `parent_id, app_id, version, status, closing_at, ends_at, warn_at, assign_late, updated_at`

// GetFamily returns the family of a parent meeting.
func (q *queries) GetFamily(ctx context.Context, appID, parentID string) (store.Family, error) {
	row := q.queryRow(ctx, `SELECT `+familyColumns+` FROM families WHERE app_id = ? AND parent_id = ?`, appID, parentID)
	return one(row, scanFamily, "family "+parentID)
}

// SaveFamily writes f if the stored version is f.Version-1.
func (q *queries) SaveFamily(ctx context.Context, f store.Family) error {
	closing, ends, warn := optMicros(f.ClosingAt), optMicros(f.EndsAt), optMicros(f.WarnAt)
	res, err := q.exec(ctx, `UPDATE families SET version = ?, status = ?, closing_at = ?, ends_at = ?, warn_at = ?, assign_late = ?, updated_at = ?
		WHERE app_id = ? AND parent_id = ? AND version = ?`,
		f.Version, f.Status, closing, ends, warn, f.AssignLate, micros(f.UpdatedAt), f.AppID, f.ParentID, f.Version-1)
	if err != nil {
		return fmt.Errorf("sqlstore: save family %s: %w", f.ParentID, err)
	}
	if ok, err := affectedOne(res); err != nil {
		return fmt.Errorf("sqlstore: save family %s: %w", f.ParentID, err)
	} else if ok {
		return nil
	}
	if f.Version != 1 {
		return fmt.Errorf("sqlstore: save family %s: version %d is stale: %w", f.ParentID, f.Version-1, store.ErrConflict)
	}
	_, err = q.exec(ctx, `INSERT INTO families (`+familyColumns+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		f.ParentID, f.AppID, f.Version, f.Status, closing, ends, warn, f.AssignLate, micros(f.UpdatedAt))
	switch {
	case q.d.isUnique(err):
		return fmt.Errorf("sqlstore: save family %s: version 0 is stale: %w", f.ParentID, store.ErrConflict)
	case q.d.isForeignKey(err):
		return fmt.Errorf("sqlstore: save family %s: no such meeting: %w", f.ParentID, store.ErrNotFound)
	case err != nil:
		return fmt.Errorf("sqlstore: save family %s: %w", f.ParentID, err)
	}
	return nil
}

// ListClosingFamilies returns the closing families due at or before a time.
func (q *queries) ListClosingFamilies(ctx context.Context, before time.Time) ([]store.Family, error) {
	fs, err := selectAll(ctx, q, scanFamily, `SELECT `+familyColumns+` FROM families
		WHERE status = ? AND closing_at <= ? ORDER BY closing_at, parent_id`, store.FamilyClosing, micros(before))
	if err != nil {
		return nil, fmt.Errorf("sqlstore: list closing families: %w", err)
	}
	return fs, nil
}

// ListTimedFamilies returns the running families whose timer's countdown is
// due at or before a time.
func (q *queries) ListTimedFamilies(ctx context.Context, before time.Time) ([]store.Family, error) {
	fs, err := selectAll(ctx, q, scanFamily, `SELECT `+familyColumns+` FROM families
		WHERE status = ? AND warn_at <= ? ORDER BY warn_at, parent_id`, store.FamilyRunning, micros(before))
	if err != nil {
		return nil, fmt.Errorf("sqlstore: list timed families: %w", err)
	}
	return fs, nil
}

// ListActiveFamilies returns the families whose moves may still be under
// way: running or closing, or changed at or after since.
func (q *queries) ListActiveFamilies(ctx context.Context, since time.Time) ([]store.Family, error) {
	fs, err := selectAll(ctx, q, scanFamily, `SELECT `+familyColumns+` FROM families
		WHERE status IN (?, ?) OR updated_at >= ? ORDER BY updated_at, parent_id`,
		store.FamilyRunning, store.FamilyClosing, micros(since))
	if err != nil {
		return nil, fmt.Errorf("sqlstore: list active families: %w", err)
	}
	return fs, nil
}

func scanFamily(s scanner) (store.Family, error) {
	var f store.Family
	var closing, ends, warn sql.NullInt64
	var updated int64
	if err := s.Scan(&f.ParentID, &f.AppID, &f.Version, &f.Status, &closing, &ends, &warn, &f.AssignLate, &updated); err != nil {
		return store.Family{}, err
	}
	f.ClosingAt, f.EndsAt, f.WarnAt = optTime(closing), optTime(ends), optTime(warn)
	f.UpdatedAt = fromMicros(updated)
	return f, nil
}

const placementColumns = `participant_id, parent_id, room_id, assigned_id, preset_id, updated_at`

// ListPlacements returns every placement in a family.
func (q *queries) ListPlacements(ctx context.Context, parentID string) ([]store.Placement, error) {
	ps, err := selectAll(ctx, q, scanPlacement, `SELECT `+placementColumns+` FROM placements WHERE parent_id = ?
		ORDER BY participant_id`, parentID)
	if err != nil {
		return nil, fmt.Errorf("sqlstore: list placements of %s: %w", parentID, err)
	}
	return ps, nil
}

// GetPlacement returns a participant's placement.
func (q *queries) GetPlacement(ctx context.Context, participantID string) (store.Placement, error) {
	row := q.queryRow(ctx, `SELECT `+placementColumns+` FROM placements WHERE participant_id = ?`, participantID)
	return one(row, scanPlacement, "placement of "+participantID)
}

// PutPlacement creates or replaces a participant's placement.
func (q *queries) PutPlacement(ctx context.Context, p store.Placement) error {
	_, err := q.exec(ctx, `INSERT INTO placements (`+placementColumns+`) VALUES (?, ?, ?, ?, ?, ?)
		ON CONFLICT (participant_id) DO UPDATE SET parent_id = excluded.parent_id, room_id = excluded.room_id,
			assigned_id = excluded.assigned_id, preset_id = excluded.preset_id, updated_at = excluded.updated_at`,
		p.ParticipantID, p.ParentID, nullString(p.RoomID), nullString(p.AssignedID), nullString(p.PresetID), micros(p.UpdatedAt))
	switch {
	case q.d.isForeignKey(err):
		return fmt.Errorf("sqlstore: put placement of %s: %w", p.ParticipantID, store.ErrNotFound)
	case err != nil:
		return fmt.Errorf("sqlstore: put placement of %s: %w", p.ParticipantID, err)
	}
	return nil
}

func scanPlacement(s scanner) (store.Placement, error) {
	var p store.Placement
	var room, assigned, preset sql.NullString
	var updated int64
	if err := s.Scan(&p.ParticipantID, &p.ParentID, &room, &assigned, &preset, &updated); err != nil {
		return store.Placement{}, err
	}
	p.RoomID, p.AssignedID, p.PresetID = room.String, assigned.String, preset.String
	p.UpdatedAt = fromMicros(updated)
	return p, nil
}
