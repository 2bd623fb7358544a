package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"rtk-sidecar/store"
)

const participantColumns = `id, app_id, meeting_id, custom_participant_id, preset_id,
	name, picture, created_at, updated_at`

// CreateParticipant stores a new participant of an existing meeting of the
// app with an existing preset of the app, else ErrNotFound. Its custom
// participant id must be unused in the meeting.
func (q *queries) CreateParticipant(ctx context.Context, p store.Participant) error {
	_, err := q.exec(ctx, `INSERT INTO participants (`+participantColumns+`)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		p.ID, p.AppID, p.MeetingID, p.CustomParticipantID, p.PresetID,
		p.Name, p.Picture, micros(p.CreatedAt), micros(p.UpdatedAt))
	switch {
	case q.d.isUnique(err):
		return fmt.Errorf("sqlstore: create participant %s (custom id %q): %w", p.ID, p.CustomParticipantID, store.ErrConflict)
	case q.d.isForeignKey(err):
		return fmt.Errorf("sqlstore: create participant %s: meeting %s or preset %s of app %s: %w",
			p.ID, p.MeetingID, p.PresetID, p.AppID, store.ErrNotFound)
	case err != nil:
		return fmt.Errorf("sqlstore: create participant %s: %w", p.ID, err)
	}
	return nil
}

// CreateParticipantWithPreset stores a new participant with the preset
// named presetName, checking that the meeting and the preset exist in the
// app, in one statement (one round trip, one write): see store.Queries.
func (q *queries) CreateParticipantWithPreset(ctx context.Context, p store.Participant, presetName string) (string, error) {
	var presetID string
	err := q.writeRow(ctx, `INSERT INTO participants (`+participantColumns+`)
		SELECT ?, m.app_id, m.id, ?, pr.id, ?, ?, ?, ?
		FROM meetings m JOIN presets pr ON pr.app_id = m.app_id
		WHERE m.app_id = ? AND m.id = ? AND pr.name = ?
		RETURNING preset_id`,
		[]any{p.ID, p.CustomParticipantID, p.Name, p.Picture, micros(p.CreatedAt), micros(p.UpdatedAt),
			p.AppID, p.MeetingID, presetName},
		func(row *sql.Row) error { return row.Scan(&presetID) })
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return "", fmt.Errorf("sqlstore: create participant %s: meeting %s or preset %q of app %s: %w",
			p.ID, p.MeetingID, presetName, p.AppID, store.ErrNotFound)
	case q.d.isUnique(err):
		return "", fmt.Errorf("sqlstore: create participant %s (custom id %q): %w", p.ID, p.CustomParticipantID, store.ErrConflict)
	case q.d.isForeignKey(err): // not expected: the SELECT found both
		return "", fmt.Errorf("sqlstore: create participant %s: meeting %s or preset %q of app %s: %w",
			p.ID, p.MeetingID, presetName, p.AppID, store.ErrNotFound)
	case err != nil:
		return "", fmt.Errorf("sqlstore: create participant %s: %w", p.ID, err)
	}
	return presetID, nil
}

// GetParticipant returns the participant with this id in this meeting.
func (q *queries) GetParticipant(ctx context.Context, meetingID, id string) (store.Participant, error) {
	row := q.queryRow(ctx, `SELECT `+participantColumns+` FROM participants
		WHERE meeting_id = ? AND id = ?`, meetingID, id)
	return one(row, scanParticipant, "participant "+id)
}

// GetParticipantByID returns the participant with this id in this app,
// whatever its meeting.
func (q *queries) GetParticipantByID(ctx context.Context, appID, id string) (store.Participant, error) {
	row := q.queryRow(ctx, `SELECT `+participantColumns+` FROM participants
		WHERE app_id = ? AND id = ?`, appID, id)
	return one(row, scanParticipant, "participant "+id)
}

// ListParticipants returns a meeting's participants, oldest first.
func (q *queries) ListParticipants(ctx context.Context, meetingID string, p store.Page) ([]store.Participant, int, error) {
	total, err := q.count(ctx, `SELECT COUNT(*) FROM participants WHERE meeting_id = ?`, meetingID)
	if err != nil {
		return nil, 0, fmt.Errorf("sqlstore: list participants of %s: %w", meetingID, err)
	}
	limit, limitArgs := q.page(p)
	ps, err := selectAll(ctx, q, scanParticipant, `SELECT `+participantColumns+` FROM participants WHERE meeting_id = ?
		ORDER BY created_at, id`+limit, append([]any{meetingID}, limitArgs...)...)
	if err != nil {
		return nil, 0, fmt.Errorf("sqlstore: list participants of %s: %w", meetingID, err)
	}
	return ps, total, nil
}

// UpdateParticipant replaces a participant's custom id, preset, name,
// picture and UpdatedAt. The participant is found by its id, meeting and app.
func (q *queries) UpdateParticipant(ctx context.Context, p store.Participant) error {
	res, err := q.exec(ctx, `UPDATE participants SET
			custom_participant_id = ?, preset_id = ?, name = ?, picture = ?, updated_at = ?
		WHERE app_id = ? AND meeting_id = ? AND id = ?`,
		p.CustomParticipantID, p.PresetID, p.Name, p.Picture, micros(p.UpdatedAt),
		p.AppID, p.MeetingID, p.ID)
	switch {
	case q.d.isUnique(err):
		return fmt.Errorf("sqlstore: update participant %s: custom id %q: %w", p.ID, p.CustomParticipantID, store.ErrConflict)
	case q.d.isForeignKey(err):
		return fmt.Errorf("sqlstore: update participant %s: preset %s of app %s: %w", p.ID, p.PresetID, p.AppID, store.ErrNotFound)
	case err != nil:
		return fmt.Errorf("sqlstore: update participant %s: %w", p.ID, err)
	}
	if ok, err := affectedOne(res); err != nil {
		return fmt.Errorf("sqlstore: update participant %s: %w", p.ID, err)
	} else if !ok {
		return fmt.Errorf("sqlstore: update participant %s: %w", p.ID, store.ErrNotFound)
	}
	return nil
}

// DeleteParticipant removes a participant.
func (q *queries) DeleteParticipant(ctx context.Context, meetingID, id string) error {
	res, err := q.exec(ctx, `DELETE FROM participants WHERE meeting_id = ? AND id = ?`, meetingID, id)
	if err != nil {
		return fmt.Errorf("sqlstore: delete participant %s: %w", id, err)
	}
	if ok, err := affectedOne(res); err != nil {
		return fmt.Errorf("sqlstore: delete participant %s: %w", id, err)
	} else if !ok {
		return fmt.Errorf("sqlstore: delete participant %s: %w", id, store.ErrNotFound)
	}
	return nil
}

func scanParticipant(s scanner) (store.Participant, error) {
	var p store.Participant
	var created, updated int64
	err := s.Scan(&p.ID, &p.AppID, &p.MeetingID, &p.CustomParticipantID, &p.PresetID,
		&p.Name, &p.Picture, &created, &updated)
	if err != nil {
		return store.Participant{}, err
	}
	p.CreatedAt = fromMicros(created)
	p.UpdatedAt = fromMicros(updated)
	return p, nil
}
