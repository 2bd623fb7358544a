package sqlstore

import (
	"context"
	"database/sql"
	"fmt"
	"strings"

	"rtk-sidecar/store"
)

const meetingColumns = `id, app_id, parent_id, title, status,
	record_on_start, live_stream_on_start, persist_chat, summarize_on_end,
	session_keep_alive_time_in_secs, preferred_region, ai_config, recording_config,
	created_at, updated_at`

// CreateMeeting stores a new meeting. A non-empty ParentID must name a
// meeting of the same app, and the app must exist, else ErrNotFound.
func (q *queries) CreateMeeting(ctx context.Context, m store.Meeting) error {
	_, err := q.exec(ctx, `INSERT INTO meetings (`+meetingColumns+`, title_folded)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		m.ID, m.AppID, nullString(m.ParentID), m.Title, m.Status,
		m.RecordOnStart, m.LiveStreamOnStart, m.PersistChat, m.SummarizeOnEnd,
		m.SessionKeepAliveTimeInSecs, m.PreferredRegion, jsonArg(m.AIConfig), jsonArg(m.RecordingConfig),
		micros(m.CreatedAt), micros(m.UpdatedAt), fold(m.Title))
	switch {
	case q.d.isUnique(err):
		return fmt.Errorf("sqlstore: create meeting %s: %w", m.ID, store.ErrConflict)
	case q.d.isForeignKey(err):
		return fmt.Errorf("sqlstore: create meeting %s: app %s or parent meeting %q: %w",
			m.ID, m.AppID, m.ParentID, store.ErrNotFound)
	case err != nil:
		return fmt.Errorf("sqlstore: create meeting %s: %w", m.ID, err)
	}
	return nil
}

// GetMeeting returns the meeting with this id in this app.
func (q *queries) GetMeeting(ctx context.Context, appID, id string) (store.Meeting, error) {
	row := q.queryRow(ctx, `SELECT `+meetingColumns+` FROM meetings WHERE app_id = ? AND id = ?`, appID, id)
	return one(row, scanMeeting, "meeting "+id)
}

// ListMeetings returns the app's meetings that match the filter, newest
// first. Search matches a substring of the title, ignoring case; % and _ in
// it match themselves.
func (q *queries) ListMeetings(ctx context.Context, appID string, f store.MeetingFilter) ([]store.Meeting, int, error) {
	where := []string{"app_id = ?"}
	args := []any{appID}
	if f.Search != "" {
		where = append(where, `title_folded LIKE ? ESCAPE '\'`)
		args = append(args, "%"+escapeLike(fold(f.Search))+"%")
	}
	if !f.CreatedAfter.IsZero() {
		where = append(where, "created_at >= ?")
		args = append(args, microsCeil(f.CreatedAfter))
	}
	if !f.CreatedBefore.IsZero() {
		where = append(where, "created_at <= ?")
		args = append(args, micros(f.CreatedBefore))
	}
	switch {
	case f.ParentID == nil:
	case *f.ParentID == "":
		where = append(where, "parent_id IS NULL")
	default:
		where = append(where, "parent_id = ?")
		args = append(args, *f.ParentID)
	}
	cond := strings.Join(where, " AND ")

	total, err := q.count(ctx, `SELECT COUNT(*) FROM meetings WHERE `+cond, args...)
	if err != nil {
		return nil, 0, fmt.Errorf("sqlstore: list meetings of %s: %w", appID, err)
	}
	limit, limitArgs := q.page(f.Page)
	ms, err := selectAll(ctx, q, scanMeeting, `SELECT `+meetingColumns+` FROM meetings WHERE `+cond+`
		ORDER BY created_at DESC, id DESC`+limit, append(args, limitArgs...)...)
	if err != nil {
		return nil, 0, fmt.Errorf("sqlstore: list meetings of %s: %w", appID, err)
	}
	return ms, total, nil
}

// UpdateMeeting replaces the mutable fields of a meeting: everything but its
// id, app, parent and CreatedAt.
func (q *queries) UpdateMeeting(ctx context.Context, m store.Meeting) error {
	res, err := q.exec(ctx, `UPDATE meetings SET
			title = ?, title_folded = ?, status = ?,
			record_on_start = ?, live_stream_on_start = ?, persist_chat = ?, summarize_on_end = ?,
			session_keep_alive_time_in_secs = ?, preferred_region = ?,
			ai_config = ?, recording_config = ?, updated_at = ?
		WHERE app_id = ? AND id = ?`,
		m.Title, fold(m.Title), m.Status,
		m.RecordOnStart, m.LiveStreamOnStart, m.PersistChat, m.SummarizeOnEnd,
		m.SessionKeepAliveTimeInSecs, m.PreferredRegion,
		jsonArg(m.AIConfig), jsonArg(m.RecordingConfig), micros(m.UpdatedAt),
		m.AppID, m.ID)
	if err != nil {
		return fmt.Errorf("sqlstore: update meeting %s: %w", m.ID, err)
	}
	if ok, err := affectedOne(res); err != nil {
		return fmt.Errorf("sqlstore: update meeting %s: %w", m.ID, err)
	} else if !ok {
		return fmt.Errorf("sqlstore: update meeting %s: %w", m.ID, store.ErrNotFound)
	}
	return nil
}

func scanMeeting(s scanner) (store.Meeting, error) {
	var m store.Meeting
	var parent sql.NullString
	var ai, rec []byte
	var created, updated int64
	err := s.Scan(&m.ID, &m.AppID, &parent, &m.Title, &m.Status,
		&m.RecordOnStart, &m.LiveStreamOnStart, &m.PersistChat, &m.SummarizeOnEnd,
		&m.SessionKeepAliveTimeInSecs, &m.PreferredRegion, &ai, &rec,
		&created, &updated)
	if err != nil {
		return store.Meeting{}, err
	}
	m.ParentID = parent.String
	m.AIConfig = jsonValue(ai)
	m.RecordingConfig = jsonValue(rec)
	m.CreatedAt = fromMicros(created)
	m.UpdatedAt = fromMicros(updated)
	return m, nil
}

// fold is the form of a title that search compares: lower case. It is
// computed here rather than with SQL's LOWER, which SQLite applies to ASCII
// letters only.
func fold(s string) string { return strings.ToLower(s) }

// likeEscaper makes a string match itself in a LIKE pattern with ESCAPE '\'.
var likeEscaper = strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`)

func escapeLike(s string) string { return likeEscaper.Replace(s) }
