package sqlstore

import (
	"context"
	"fmt"
	"strconv"

	"rtk-sidecar/store"
)

const presetColumns = `id, app_id, name, body, created_at, updated_at`

// CreatePreset stores a new preset; its name must be unused in the app, and
// the app must exist, else ErrNotFound.
func (q *queries) CreatePreset(ctx context.Context, p store.Preset) error {
	_, err := q.exec(ctx, `INSERT INTO presets (`+presetColumns+`) VALUES (?, ?, ?, ?, ?, ?)`,
		p.ID, p.AppID, p.Name, jsonArg(p.Body), micros(p.CreatedAt), micros(p.UpdatedAt))
	switch {
	case q.d.isUnique(err):
		return fmt.Errorf("sqlstore: create preset %s (%q): %w", p.ID, p.Name, store.ErrConflict)
	case q.d.isForeignKey(err):
		return fmt.Errorf("sqlstore: create preset %s: app %s: %w", p.ID, p.AppID, store.ErrNotFound)
	case err != nil:
		return fmt.Errorf("sqlstore: create preset %s: %w", p.ID, err)
	}
	return nil
}

// GetPreset returns the preset with this id in this app.
func (q *queries) GetPreset(ctx context.Context, appID, id string) (store.Preset, error) {
	row := q.queryRow(ctx, `SELECT `+presetColumns+` FROM presets WHERE app_id = ? AND id = ?`, appID, id)
	return one(row, scanPreset, "preset "+id)
}

// GetPresetByName returns the preset with this name in this app.
func (q *queries) GetPresetByName(ctx context.Context, appID, name string) (store.Preset, error) {
	row := q.queryRow(ctx, `SELECT `+presetColumns+` FROM presets WHERE app_id = ? AND name = ?`, appID, name)
	return one(row, scanPreset, "preset "+strconv.Quote(name))
}

// ListPresets returns the app's presets, oldest first.
func (q *queries) ListPresets(ctx context.Context, appID string, p store.Page) ([]store.Preset, int, error) {
	total, err := q.count(ctx, `SELECT COUNT(*) FROM presets WHERE app_id = ?`, appID)
	if err != nil {
		return nil, 0, fmt.Errorf("sqlstore: list presets of %s: %w", appID, err)
	}
	limit, limitArgs := q.page(p)
	ps, err := selectAll(ctx, q, scanPreset, `SELECT `+presetColumns+` FROM presets WHERE app_id = ?
		ORDER BY created_at, id`+limit, append([]any{appID}, limitArgs...)...)
	if err != nil {
		return nil, 0, fmt.Errorf("sqlstore: list presets of %s: %w", appID, err)
	}
	return ps, total, nil
}

// UpdatePreset replaces a preset's name, body and UpdatedAt; the new name
// must be unused by other presets of the app.
func (q *queries) UpdatePreset(ctx context.Context, p store.Preset) error {
	res, err := q.exec(ctx, `UPDATE presets SET name = ?, body = ?, updated_at = ?
		WHERE app_id = ? AND id = ?`,
		p.Name, jsonArg(p.Body), micros(p.UpdatedAt), p.AppID, p.ID)
	switch {
	case q.d.isUnique(err):
		return fmt.Errorf("sqlstore: update preset %s: name %q: %w", p.ID, p.Name, store.ErrConflict)
	case err != nil:
		return fmt.Errorf("sqlstore: update preset %s: %w", p.ID, err)
	}
	if ok, err := affectedOne(res); err != nil {
		return fmt.Errorf("sqlstore: update preset %s: %w", p.ID, err)
	} else if !ok {
		return fmt.Errorf("sqlstore: update preset %s: %w", p.ID, store.ErrNotFound)
	}
	return nil
}

// DeletePreset removes a preset. A preset still assigned to a participant
// is not removed: ErrConflict.
func (q *queries) DeletePreset(ctx context.Context, appID, id string) error {
	res, err := q.exec(ctx, `DELETE FROM presets WHERE app_id = ? AND id = ?`, appID, id)
	switch {
	case q.d.isForeignKey(err):
		return fmt.Errorf("sqlstore: delete preset %s: assigned to participants: %w", id, store.ErrConflict)
	case err != nil:
		return fmt.Errorf("sqlstore: delete preset %s: %w", id, err)
	}
	if ok, err := affectedOne(res); err != nil {
		return fmt.Errorf("sqlstore: delete preset %s: %w", id, err)
	} else if !ok {
		return fmt.Errorf("sqlstore: delete preset %s: %w", id, store.ErrNotFound)
	}
	return nil
}

func scanPreset(s scanner) (store.Preset, error) {
	var p store.Preset
	var body []byte
	var created, updated int64
	if err := s.Scan(&p.ID, &p.AppID, &p.Name, &body, &created, &updated); err != nil {
		return store.Preset{}, err
	}
	p.Body = jsonValue(body)
	p.CreatedAt = fromMicros(created)
	p.UpdatedAt = fromMicros(updated)
	return p, nil
}
