package sqlstore

import (
	"context"
	"database/sql"
	"fmt"
	"strings"

	"rtk-sidecar/store"
)

const recordingColumns = `r.id, r.app_id, r.meeting_id, r.session_id, r.room_sid,
	r.kind, r.backend, r.backend_id, r.status, r.start_reason, r.stop_reason, r.error,
	r.file_name_prefix, r.output_file_name, r.max_seconds, r.file_size, r.duration,
	r.config, r.outputs, r.backend_updated_at, r.invoked_at, r.started_at, r.stopped_at, r.updated_at`

// CreateRecording stores a new recording of an existing meeting of the app,
// else ErrNotFound.
func (q *queries) CreateRecording(ctx context.Context, r store.Recording) error {
	_, err := q.exec(ctx, `INSERT INTO recordings (id, app_id, meeting_id, session_id, room_sid,
			kind, backend, backend_id, status, start_reason, stop_reason, error,
			file_name_prefix, output_file_name, max_seconds, file_size, duration,
			config, outputs, backend_updated_at, invoked_at, started_at, stopped_at, updated_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		r.ID, r.AppID, r.MeetingID, nullString(r.SessionID), nullString(r.RoomSID),
		r.Kind, r.Backend, nullString(r.BackendID), r.Status, r.StartReason, nullString(r.StopReason), nullString(r.Error),
		r.FileNamePrefix, r.OutputFileName, r.MaxSeconds, r.FileSize, r.Duration,
		jsonArg(r.Config), jsonArg(r.Outputs), r.BackendUpdatedAt,
		micros(r.InvokedAt), optMicros(r.StartedAt), optMicros(r.StoppedAt), micros(r.UpdatedAt))
	switch {
	case q.d.isUnique(err):
		return fmt.Errorf("sqlstore: create recording %s: %w", r.ID, store.ErrConflict)
	case q.d.isForeignKey(err):
		return fmt.Errorf("sqlstore: create recording %s: meeting %s of app %s: %w", r.ID, r.MeetingID, r.AppID, store.ErrNotFound)
	case err != nil:
		return fmt.Errorf("sqlstore: create recording %s: %w", r.ID, err)
	}
	return nil
}

// GetRecording returns the recording with this id in this app.
func (q *queries) GetRecording(ctx context.Context, appID, id string) (store.Recording, error) {
	row := q.queryRow(ctx, `SELECT `+recordingColumns+` FROM recordings r WHERE r.app_id = ? AND r.id = ?`, appID, id)
	return one(row, scanRecording, "recording "+id)
}

// ListRecordings returns the recordings matching the filter. Search matches
// a substring of the meeting's title, ignoring case, or the exact meeting id.
func (q *queries) ListRecordings(ctx context.Context, appID string, f store.RecordingFilter) ([]store.Recording, int, error) {
	var where []string
	var args []any
	if appID != "" {
		where = append(where, "r.app_id = ?")
		args = append(args, appID)
	}
	if f.MeetingID != "" {
		where = append(where, "r.meeting_id = ?")
		args = append(args, f.MeetingID)
	}
	if f.RoomSID != "" {
		where = append(where, "r.room_sid = ?")
		args = append(args, f.RoomSID)
	}
	if len(f.Statuses) > 0 {
		where = append(where, "r.status IN (?"+strings.Repeat(", ?", len(f.Statuses)-1)+")")
		for _, s := range f.Statuses {
			args = append(args, s)
		}
	}
	if f.Search != "" {
		where = append(where, `(r.meeting_id = ? OR EXISTS (SELECT 1 FROM meetings m
			WHERE m.app_id = r.app_id AND m.id = r.meeting_id AND m.title_folded LIKE ? ESCAPE '\'))`)
		args = append(args, f.Search, "%"+escapeLike(fold(f.Search))+"%")
	}
	if !f.InvokedAfter.IsZero() {
		where = append(where, "r.invoked_at >= ?")
		args = append(args, microsCeil(f.InvokedAfter))
	}
	if !f.InvokedBefore.IsZero() {
		where = append(where, "r.invoked_at <= ?")
		args = append(args, micros(f.InvokedBefore))
	}
	cond := ""
	if len(where) > 0 {
		cond = " WHERE " + strings.Join(where, " AND ")
	}
	order := " ORDER BY r.invoked_at DESC, r.id DESC"
	if f.OldestFirst {
		order = " ORDER BY r.invoked_at, r.id"
	}

	total, err := q.count(ctx, `SELECT COUNT(*) FROM recordings r`+cond, args...)
	if err != nil {
		return nil, 0, fmt.Errorf("sqlstore: list recordings of %q: %w", appID, err)
	}
	limit, limitArgs := q.page(f.Page)
	rs, err := selectAll(ctx, q, scanRecording, `SELECT `+recordingColumns+` FROM recordings r`+cond+order+limit,
		append(args, limitArgs...)...)
	if err != nil {
		return nil, 0, fmt.Errorf("sqlstore: list recordings of %q: %w", appID, err)
	}
	return rs, total, nil
}

// UpdateRecording replaces the mutable fields of a recording, found by its
// id and app.
func (q *queries) UpdateRecording(ctx context.Context, r store.Recording) error {
	res, err := q.exec(ctx, `UPDATE recordings SET
			session_id = ?, room_sid = ?, backend_id = ?, status = ?, start_reason = ?, stop_reason = ?, error = ?,
			file_name_prefix = ?, output_file_name = ?, max_seconds = ?, file_size = ?, duration = ?,
			config = ?, outputs = ?, backend_updated_at = ?, started_at = ?, stopped_at = ?, updated_at = ?
		WHERE app_id = ? AND id = ?`,
		nullString(r.SessionID), nullString(r.RoomSID), nullString(r.BackendID), r.Status, r.StartReason,
		nullString(r.StopReason), nullString(r.Error),
		r.FileNamePrefix, r.OutputFileName, r.MaxSeconds, r.FileSize, r.Duration,
		jsonArg(r.Config), jsonArg(r.Outputs), r.BackendUpdatedAt,
		optMicros(r.StartedAt), optMicros(r.StoppedAt), micros(r.UpdatedAt),
		r.AppID, r.ID)
	if err != nil {
		return fmt.Errorf("sqlstore: update recording %s: %w", r.ID, err)
	}
	if ok, err := affectedOne(res); err != nil {
		return fmt.Errorf("sqlstore: update recording %s: %w", r.ID, err)
	} else if !ok {
		return fmt.Errorf("sqlstore: update recording %s: %w", r.ID, store.ErrNotFound)
	}
	return nil
}

// AddRecordingJob records that a backend job works for a recording.
func (q *queries) AddRecordingJob(ctx context.Context, recordingID, backendID string) error {
	_, err := q.exec(ctx, `INSERT INTO recording_jobs (backend_id, recording_id) VALUES (?, ?)`, backendID, recordingID)
	switch {
	case q.d.isUnique(err):
		return fmt.Errorf("sqlstore: add job %s to recording %s: %w", backendID, recordingID, store.ErrConflict)
	case q.d.isForeignKey(err):
		return fmt.Errorf("sqlstore: add job %s: recording %s: %w", backendID, recordingID, store.ErrNotFound)
	case err != nil:
		return fmt.Errorf("sqlstore: add job %s to recording %s: %w", backendID, recordingID, err)
	}
	return nil
}

// GetRecordingByJob returns the recording a backend job works for.
func (q *queries) GetRecordingByJob(ctx context.Context, backendID string) (store.Recording, error) {
	row := q.queryRow(ctx, `SELECT `+recordingColumns+` FROM recordings r
		JOIN recording_jobs j ON j.recording_id = r.id WHERE j.backend_id = ?`, backendID)
	return one(row, scanRecording, "recording of job "+backendID)
}

func scanRecording(s scanner) (store.Recording, error) {
	var r store.Recording
	var session, roomSID, backendID, stopReason, errText sql.NullString
	var config, outputs []byte
	var invoked, updated int64
	var started, stopped sql.NullInt64
	err := s.Scan(&r.ID, &r.AppID, &r.MeetingID, &session, &roomSID,
		&r.Kind, &r.Backend, &backendID, &r.Status, &r.StartReason, &stopReason, &errText,
		&r.FileNamePrefix, &r.OutputFileName, &r.MaxSeconds, &r.FileSize, &r.Duration,
		&config, &outputs, &r.BackendUpdatedAt, &invoked, &started, &stopped, &updated)
	if err != nil {
		return store.Recording{}, err
	}
	r.SessionID, r.RoomSID, r.BackendID = session.String, roomSID.String, backendID.String
	r.StopReason, r.Error = stopReason.String, errText.String
	r.Config, r.Outputs = jsonValue(config), jsonValue(outputs)
	r.InvokedAt, r.UpdatedAt = fromMicros(invoked), fromMicros(updated)
	r.StartedAt, r.StoppedAt = optTime(started), optTime(stopped)
	return r, nil
}
