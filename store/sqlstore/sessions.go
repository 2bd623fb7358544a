package sqlstore

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"rtk-sidecar/store"
)

// GetMeetingByID returns the meeting with this id, whatever its app.
func (q *queries) GetMeetingByID(ctx context.Context, id string) (store.Meeting, error) {
	row := q.queryRow(ctx, `SELECT `+meetingColumns+` FROM meetings WHERE id = ?`, id)
	return one(row, scanMeeting, "meeting "+id)
}

// ---- LiveKit events ----

// MarkLiveKitEvent records an applied LiveKit webhook event; a known id is
// ErrConflict.
func (q *queries) MarkLiveKitEvent(ctx context.Context, id, event, room string, at time.Time) error {
	_, err := q.exec(ctx, `INSERT INTO livekit_events (id, event, room, received_at) VALUES (?, ?, ?, ?)`,
		id, event, room, micros(at))
	switch {
	case q.d.isUnique(err):
		return fmt.Errorf("sqlstore: LiveKit event %s: %w", id, store.ErrConflict)
	case err != nil:
		return fmt.Errorf("sqlstore: LiveKit event %s: %w", id, err)
	}
	return nil
}

// PruneLiveKitEvents forgets the events recorded before t.
func (q *queries) PruneLiveKitEvents(ctx context.Context, before time.Time) (int, error) {
	res, err := q.exec(ctx, `DELETE FROM livekit_events WHERE received_at < ?`, micros(before))
	if err != nil {
		return 0, fmt.Errorf("sqlstore: prune LiveKit events: %w", err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return 0, fmt.Errorf("sqlstore: prune LiveKit events: %w", err)
	}
	return int(n), nil
}

// ---- sessions ----

const sessionColumns = `id, app_id, meeting_id, parent_session_id, title, room_sid, status,
	live_participants, max_concurrent_participants, participant_time, end_reason,
	started_at, ended_at, created_at, updated_at`

// CreateSession stores a new session. A second LIVE session of a meeting,
// or a taken id, is ErrConflict; an unknown meeting is ErrNotFound.
func (q *queries) CreateSession(ctx context.Context, s store.Session) error {
	_, err := q.exec(ctx, `INSERT INTO sessions (`+sessionColumns+`, title_folded)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		s.ID, s.AppID, s.MeetingID, nullString(s.ParentSessionID), s.Title, s.RoomSID, s.Status,
		s.LiveParticipants, s.MaxConcurrentParticipants, int64(s.ParticipantTime/time.Microsecond), s.EndReason,
		micros(s.StartedAt), optMicros(s.EndedAt), micros(s.CreatedAt), micros(s.UpdatedAt), fold(s.Title))
	switch {
	case q.d.isUnique(err):
		return fmt.Errorf("sqlstore: create session %s of meeting %s: %w", s.ID, s.MeetingID, store.ErrConflict)
	case q.d.isForeignKey(err):
		return fmt.Errorf("sqlstore: create session %s: meeting %s of app %s: %w", s.ID, s.MeetingID, s.AppID, store.ErrNotFound)
	case err != nil:
		return fmt.Errorf("sqlstore: create session %s: %w", s.ID, err)
	}
	return nil
}

// GetSession returns the session with this id in this app.
func (q *queries) GetSession(ctx context.Context, appID, id string) (store.Session, error) {
	row := q.queryRow(ctx, `SELECT `+sessionColumns+` FROM sessions WHERE app_id = ? AND id = ?`, appID, id)
	return one(row, scanSession, "session "+id)
}

// GetLiveSession returns the meeting's LIVE session.
func (q *queries) GetLiveSession(ctx context.Context, meetingID string) (store.Session, error) {
	row := q.queryRow(ctx, `SELECT `+sessionColumns+` FROM sessions WHERE meeting_id = ? AND status = ?`,
		meetingID, store.SessionLive)
	return one(row, scanSession, "live session of meeting "+meetingID)
}

// GetSessionByRoom returns the meeting's latest session of a LiveKit room.
func (q *queries) GetSessionByRoom(ctx context.Context, meetingID, roomSID string) (store.Session, error) {
	row := q.queryRow(ctx, `SELECT `+sessionColumns+` FROM sessions WHERE meeting_id = ? AND room_sid = ?
		ORDER BY created_at DESC, id DESC LIMIT 1`, meetingID, roomSID)
	return one(row, scanSession, "session of room "+roomSID)
}

// ListSessions returns the app's sessions that match the filter.
func (q *queries) ListSessions(ctx context.Context, appID string, f store.SessionFilter) ([]store.Session, int, error) {
	where := []string{"app_id = ?"}
	args := []any{appID}
	if f.MeetingID != "" {
		where = append(where, "meeting_id = ?")
		args = append(args, f.MeetingID)
	}
	if f.Status != "" {
		where = append(where, "status = ?")
		args = append(args, f.Status)
	}
	if !f.StartedAfter.IsZero() {
		where = append(where, "started_at >= ?")
		args = append(args, microsCeil(f.StartedAfter))
	}
	if !f.StartedBefore.IsZero() {
		where = append(where, "started_at <= ?")
		args = append(args, micros(f.StartedBefore))
	}
	if f.Search != "" {
		where = append(where, `(title_folded LIKE ? ESCAPE '\' OR id = ? OR meeting_id = ?)`)
		args = append(args, "%"+escapeLike(fold(f.Search))+"%", f.Search, f.Search)
	}
	if f.Participant != "" {
		where = append(where, `id IN (SELECT session_id FROM session_participants
			WHERE app_id = ? AND (participant_id = ? OR custom_participant_id = ?))`)
		args = append(args, appID, f.Participant, f.Participant)
	}
	switch {
	case f.ParentSessionID == nil:
	case *f.ParentSessionID == "":
		where = append(where, "parent_session_id IS NULL")
	default:
		where = append(where, "parent_session_id = ?")
		args = append(args, *f.ParentSessionID)
	}
	cond := strings.Join(where, " AND ")

	total, err := q.count(ctx, `SELECT COUNT(*) FROM sessions WHERE `+cond, args...)
	if err != nil {
		return nil, 0, fmt.Errorf("sqlstore: list sessions of %s: %w", appID, err)
	}
	dir := " DESC"
	if f.Ascending {
		dir = " ASC"
	}
	order := "created_at" + dir + ", id" + dir
	if f.SortBy == store.SortByMinutesConsumed {
		order = "participant_time" + dir + ", " + order
	}
	limit, limitArgs := q.page(f.Page)
	ss, err := selectAll(ctx, q, scanSession, `SELECT `+sessionColumns+` FROM sessions WHERE `+cond+` ORDER BY `+order+limit,
		append(args, limitArgs...)...)
	if err != nil {
		return nil, 0, fmt.Errorf("sqlstore: list sessions of %s: %w", appID, err)
	}
	return ss, total, nil
}

// ListLiveSessions returns every LIVE session, oldest first.
func (q *queries) ListLiveSessions(ctx context.Context) ([]store.Session, error) {
	ss, err := selectAll(ctx, q, scanSession, `SELECT `+sessionColumns+` FROM sessions WHERE status = ?
		ORDER BY created_at, id`, store.SessionLive)
	if err != nil {
		return nil, fmt.Errorf("sqlstore: list live sessions: %w", err)
	}
	return ss, nil
}

// ListLiveSessionsWithPolls returns the LIVE sessions that have polls,
// oldest first (the polls_session index answers the EXISTS).
func (q *queries) ListLiveSessionsWithPolls(ctx context.Context) ([]store.Session, error) {
	ss, err := selectAll(ctx, q, scanSession, `SELECT `+sessionColumns+` FROM sessions WHERE status = ?
		AND EXISTS (SELECT 1 FROM polls WHERE polls.session_id = sessions.id)
		ORDER BY created_at, id`, store.SessionLive)
	if err != nil {
		return nil, fmt.Errorf("sqlstore: list live sessions with polls: %w", err)
	}
	return ss, nil
}

// UpdateSession replaces the mutable fields of a session.
func (q *queries) UpdateSession(ctx context.Context, s store.Session) error {
	res, err := q.exec(ctx, `UPDATE sessions SET
			parent_session_id = ?, title = ?, title_folded = ?, room_sid = ?, status = ?,
			live_participants = ?, max_concurrent_participants = ?, participant_time = ?, end_reason = ?,
			ended_at = ?, updated_at = ?
		WHERE app_id = ? AND id = ?`,
		nullString(s.ParentSessionID), s.Title, fold(s.Title), s.RoomSID, s.Status,
		s.LiveParticipants, s.MaxConcurrentParticipants, int64(s.ParticipantTime/time.Microsecond), s.EndReason,
		optMicros(s.EndedAt), micros(s.UpdatedAt),
		s.AppID, s.ID)
	switch {
	case q.d.isUnique(err):
		return fmt.Errorf("sqlstore: update session %s: meeting %s has a LIVE session: %w", s.ID, s.MeetingID, store.ErrConflict)
	case err != nil:
		return fmt.Errorf("sqlstore: update session %s: %w", s.ID, err)
	}
	if ok, err := affectedOne(res); err != nil {
		return fmt.Errorf("sqlstore: update session %s: %w", s.ID, err)
	} else if !ok {
		return fmt.Errorf("sqlstore: update session %s: %w", s.ID, store.ErrNotFound)
	}
	return nil
}

func scanSession(s scanner) (store.Session, error) {
	var x store.Session
	var parent sql.NullString
	var ended sql.NullInt64
	var ptime, started, created, updated int64
	err := s.Scan(&x.ID, &x.AppID, &x.MeetingID, &parent, &x.Title, &x.RoomSID, &x.Status,
		&x.LiveParticipants, &x.MaxConcurrentParticipants, &ptime, &x.EndReason,
		&started, &ended, &created, &updated)
	if err != nil {
		return store.Session{}, err
	}
	x.ParentSessionID = parent.String
	x.ParticipantTime = time.Duration(ptime) * time.Microsecond
	x.StartedAt = fromMicros(started)
	x.EndedAt = optTime(ended)
	x.CreatedAt = fromMicros(created)
	x.UpdatedAt = fromMicros(updated)
	return x, nil
}

// ---- session participants ----

const sessionParticipantColumns = `id, session_id, meeting_id, participant_id, custom_participant_id,
	display_name, preset_name, peer_id, last_left_peer_id, joined_at, left_at, live_since, duration,
	leave_reason, created_at, updated_at`

// CreateSessionParticipant stores a participant of an existing session.
func (q *queries) CreateSessionParticipant(ctx context.Context, p store.SessionParticipant) error {
	var appID string
	err := q.queryRow(ctx, `SELECT app_id FROM sessions WHERE id = ?`, p.SessionID).Scan(&appID)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return fmt.Errorf("sqlstore: create session participant %s: session %s: %w", p.ParticipantID, p.SessionID, store.ErrNotFound)
	case err != nil:
		return fmt.Errorf("sqlstore: create session participant %s: %w", p.ParticipantID, err)
	}
	_, err = q.exec(ctx, `INSERT INTO session_participants (`+sessionParticipantColumns+`, app_id, display_name_folded)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		p.ID, p.SessionID, p.MeetingID, p.ParticipantID, p.CustomParticipantID,
		p.DisplayName, p.PresetName, p.PeerID, p.LastLeftPeerID, micros(p.JoinedAt), optMicros(p.LeftAt),
		optMicros(p.LiveSince), int64(p.Duration/time.Microsecond), p.LeaveReason,
		micros(p.CreatedAt), micros(p.UpdatedAt), appID, fold(p.DisplayName))
	switch {
	case q.d.isUnique(err):
		return fmt.Errorf("sqlstore: create session participant %s of session %s: %w", p.ParticipantID, p.SessionID, store.ErrConflict)
	case q.d.isForeignKey(err):
		return fmt.Errorf("sqlstore: create session participant %s: session %s: %w", p.ParticipantID, p.SessionID, store.ErrNotFound)
	case err != nil:
		return fmt.Errorf("sqlstore: create session participant %s: %w", p.ParticipantID, err)
	}
	return nil
}

// GetSessionParticipant returns a participant's record in a session.
func (q *queries) GetSessionParticipant(ctx context.Context, sessionID, participantID string) (store.SessionParticipant, error) {
	row := q.queryRow(ctx, `SELECT `+sessionParticipantColumns+` FROM session_participants
		WHERE session_id = ? AND participant_id = ?`, sessionID, participantID)
	return one(row, scanSessionParticipant, "session participant "+participantID)
}

// GetSessionParticipantByID returns a session participant record by its id.
func (q *queries) GetSessionParticipantByID(ctx context.Context, sessionID, id string) (store.SessionParticipant, error) {
	row := q.queryRow(ctx, `SELECT `+sessionParticipantColumns+` FROM session_participants
		WHERE session_id = ? AND id = ?`, sessionID, id)
	return one(row, scanSessionParticipant, "session participant "+id)
}

// ListSessionParticipants returns a session's participants that match the
// filter.
func (q *queries) ListSessionParticipants(ctx context.Context, sessionID string, f store.SessionParticipantFilter) ([]store.SessionParticipant, int, error) {
	where := []string{"session_id = ?"}
	args := []any{sessionID}
	if f.Search != "" {
		pat := "%" + escapeLike(fold(f.Search)) + "%"
		where = append(where, `(display_name_folded LIKE ? ESCAPE '\' OR LOWER(custom_participant_id) LIKE ? ESCAPE '\' OR participant_id = ?)`)
		args = append(args, pat, pat, f.Search)
	}
	if f.LiveOnly {
		where = append(where, "live_since IS NOT NULL")
	}
	cond := strings.Join(where, " AND ")
	total, err := q.count(ctx, `SELECT COUNT(*) FROM session_participants WHERE `+cond, args...)
	if err != nil {
		return nil, 0, fmt.Errorf("sqlstore: list participants of session %s: %w", sessionID, err)
	}
	var order string
	switch f.SortBy {
	case store.SortByDuration:
		dir := " DESC"
		if f.Ascending {
			dir = " ASC"
		}
		order = "duration" + dir + ", joined_at, id"
	default:
		dir := " ASC"
		if !f.Ascending && f.SortBy == store.SortByJoinedAt {
			dir = " DESC"
		}
		order = "joined_at" + dir + ", id" + dir
	}
	limit, limitArgs := q.page(f.Page)
	ps, err := selectAll(ctx, q, scanSessionParticipant, `SELECT `+sessionParticipantColumns+` FROM session_participants WHERE `+cond+
		` ORDER BY `+order+limit, append(args, limitArgs...)...)
	if err != nil {
		return nil, 0, fmt.Errorf("sqlstore: list participants of session %s: %w", sessionID, err)
	}
	return ps, total, nil
}

// ListLiveStints returns a participant's records in the room, in every LIVE
// session of the app.
func (q *queries) ListLiveStints(ctx context.Context, appID, participantID string) ([]store.SessionParticipant, error) {
	ps, err := selectAll(ctx, q, scanSessionParticipant, `SELECT `+sessionParticipantColumns+` FROM session_participants
		WHERE app_id = ? AND participant_id = ? AND live_since IS NOT NULL
		ORDER BY live_since, id`, appID, participantID)
	if err != nil {
		return nil, fmt.Errorf("sqlstore: live stints of %s: %w", participantID, err)
	}
	return ps, nil
}

// ListRecentStints returns a participant's records, in every session of the
// app, that are live or ended at or after leftSince.
func (q *queries) ListRecentStints(ctx context.Context, appID, participantID string, leftSince time.Time) ([]store.SessionParticipant, error) {
	ps, err := selectAll(ctx, q, scanSessionParticipant, `SELECT `+sessionParticipantColumns+` FROM session_participants
		WHERE app_id = ? AND participant_id = ? AND (live_since IS NOT NULL OR left_at >= ?)
		ORDER BY joined_at, id`, appID, participantID, micros(leftSince))
	if err != nil {
		return nil, fmt.Errorf("sqlstore: recent stints of %s: %w", participantID, err)
	}
	return ps, nil
}

// UpdateSessionParticipant replaces the mutable fields of a record.
func (q *queries) UpdateSessionParticipant(ctx context.Context, p store.SessionParticipant) error {
	res, err := q.exec(ctx, `UPDATE session_participants SET
			custom_participant_id = ?, display_name = ?, display_name_folded = ?, preset_name = ?,
			peer_id = ?, last_left_peer_id = ?, left_at = ?, live_since = ?, duration = ?,
			leave_reason = ?, updated_at = ?
		WHERE session_id = ? AND id = ?`,
		p.CustomParticipantID, p.DisplayName, fold(p.DisplayName), p.PresetName,
		p.PeerID, p.LastLeftPeerID, optMicros(p.LeftAt), optMicros(p.LiveSince), int64(p.Duration/time.Microsecond),
		p.LeaveReason, micros(p.UpdatedAt),
		p.SessionID, p.ID)
	if err != nil {
		return fmt.Errorf("sqlstore: update session participant %s: %w", p.ID, err)
	}
	if ok, err := affectedOne(res); err != nil {
		return fmt.Errorf("sqlstore: update session participant %s: %w", p.ID, err)
	} else if !ok {
		return fmt.Errorf("sqlstore: update session participant %s: %w", p.ID, store.ErrNotFound)
	}
	return nil
}

func scanSessionParticipant(s scanner) (store.SessionParticipant, error) {
	var p store.SessionParticipant
	var left, live sql.NullInt64
	var joined, dur, created, updated int64
	err := s.Scan(&p.ID, &p.SessionID, &p.MeetingID, &p.ParticipantID, &p.CustomParticipantID,
		&p.DisplayName, &p.PresetName, &p.PeerID, &p.LastLeftPeerID, &joined, &left, &live, &dur,
		&p.LeaveReason, &created, &updated)
	if err != nil {
		return store.SessionParticipant{}, err
	}
	p.JoinedAt = fromMicros(joined)
	p.LeftAt = optTime(left)
	p.LiveSince = optTime(live)
	p.Duration = time.Duration(dur) * time.Microsecond
	p.CreatedAt = fromMicros(created)
	p.UpdatedAt = fromMicros(updated)
	return p, nil
}

// ---- polls ----

const pollColumns = `id, app_id, session_id, meeting_id, question, options, anonymous, hide_votes, created_by, created_at`

// CreatePoll stores a poll of an existing session.
func (q *queries) CreatePoll(ctx context.Context, p store.Poll) error {
	opts, err := json.Marshal(p.Options)
	if err != nil {
		return fmt.Errorf("sqlstore: create poll %s: %w", p.ID, err)
	}
	_, err = q.exec(ctx, `INSERT INTO polls (`+pollColumns+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		p.ID, p.AppID, p.SessionID, p.MeetingID, p.Question, string(opts), p.Anonymous, p.HideVotes,
		p.CreatedBy, micros(p.CreatedAt))
	switch {
	case q.d.isUnique(err):
		return fmt.Errorf("sqlstore: create poll %s: %w", p.ID, store.ErrConflict)
	case q.d.isForeignKey(err):
		return fmt.Errorf("sqlstore: create poll %s: session %s: %w", p.ID, p.SessionID, store.ErrNotFound)
	case err != nil:
		return fmt.Errorf("sqlstore: create poll %s: %w", p.ID, err)
	}
	return nil
}

// GetPoll returns the poll with this id in this app.
func (q *queries) GetPoll(ctx context.Context, appID, id string) (store.Poll, error) {
	row := q.queryRow(ctx, `SELECT `+pollColumns+` FROM polls WHERE app_id = ? AND id = ?`, appID, id)
	return one(row, scanPoll, "poll "+id)
}

// ListPolls returns a session's polls, oldest first.
func (q *queries) ListPolls(ctx context.Context, sessionID string) ([]store.Poll, error) {
	ps, err := selectAll(ctx, q, scanPoll, `SELECT `+pollColumns+` FROM polls WHERE session_id = ? ORDER BY created_at, id`, sessionID)
	if err != nil {
		return nil, fmt.Errorf("sqlstore: list polls of session %s: %w", sessionID, err)
	}
	return ps, nil
}

func scanPoll(s scanner) (store.Poll, error) {
	var p store.Poll
	var opts string
	var created int64
	err := s.Scan(&p.ID, &p.AppID, &p.SessionID, &p.MeetingID, &p.Question, &opts, &p.Anonymous, &p.HideVotes,
		&p.CreatedBy, &created)
	if err != nil {
		return store.Poll{}, err
	}
	if err := json.Unmarshal([]byte(opts), &p.Options); err != nil {
		return store.Poll{}, fmt.Errorf("options of poll %s: %w", p.ID, err)
	}
	p.CreatedAt = fromMicros(created)
	return p, nil
}

// CreatePollVote stores a vote; a participant votes once per poll.
func (q *queries) CreatePollVote(ctx context.Context, v store.PollVote) error {
	_, err := q.exec(ctx, `INSERT INTO poll_votes (poll_id, participant_id, name, option_index, created_at)
		VALUES (?, ?, ?, ?, ?)`, v.PollID, v.ParticipantID, v.Name, v.Option, micros(v.CreatedAt))
	switch {
	case q.d.isUnique(err):
		return fmt.Errorf("sqlstore: vote of %s in poll %s: %w", v.ParticipantID, v.PollID, store.ErrConflict)
	case q.d.isForeignKey(err):
		return fmt.Errorf("sqlstore: vote in poll %s: %w", v.PollID, store.ErrNotFound)
	case err != nil:
		return fmt.Errorf("sqlstore: vote in poll %s: %w", v.PollID, err)
	}
	return nil
}

// ListPollVotes returns a poll's votes, oldest first.
func (q *queries) ListPollVotes(ctx context.Context, pollID string) ([]store.PollVote, error) {
	vs, err := selectAll(ctx, q, func(s scanner) (store.PollVote, error) {
		var v store.PollVote
		var created int64
		if err := s.Scan(&v.PollID, &v.ParticipantID, &v.Name, &v.Option, &created); err != nil {
			return store.PollVote{}, err
		}
		v.CreatedAt = fromMicros(created)
		return v, nil
	}, `SELECT poll_id, participant_id, name, option_index, created_at FROM poll_votes
		WHERE poll_id = ? ORDER BY created_at, participant_id`, pollID)
	if err != nil {
		return nil, fmt.Errorf("sqlstore: votes of poll %s: %w", pollID, err)
	}
	return vs, nil
}

// ---- chat ----

// chatColumns are a chat message's fields; the table's seq column, the
// insertion order, is not one of them.
const chatColumns = `id, app_id, session_id, meeting_id, participant_id, name, message, to_participant_id, created_at`

// CreateChatMessage stores a chat message of an existing session.
func (q *queries) CreateChatMessage(ctx context.Context, m store.ChatMessage) error {
	_, err := q.exec(ctx, `INSERT INTO chat_messages (`+chatColumns+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		m.ID, m.AppID, m.SessionID, m.MeetingID, m.ParticipantID, m.Name, m.Message, nullString(m.ToParticipantID), micros(m.CreatedAt))
	switch {
	case q.d.isUnique(err):
		return fmt.Errorf("sqlstore: create chat message %s: %w", m.ID, store.ErrConflict)
	case q.d.isForeignKey(err):
		return fmt.Errorf("sqlstore: create chat message %s: session %s: %w", m.ID, m.SessionID, store.ErrNotFound)
	case err != nil:
		return fmt.Errorf("sqlstore: create chat message %s: %w", m.ID, err)
	}
	return nil
}

// ListChatMessages returns a session's chat messages, oldest first (by
// created_at, then insertion order); with limit > 0, the latest limit of them.
func (q *queries) ListChatMessages(ctx context.Context, sessionID string, limit int) ([]store.ChatMessage, error) {
	query := `SELECT ` + chatColumns + ` FROM chat_messages WHERE session_id = ? ORDER BY created_at, seq`
	args := []any{sessionID}
	if limit > 0 {
		query = `SELECT ` + chatColumns + ` FROM (
				SELECT seq, ` + chatColumns + ` FROM chat_messages WHERE session_id = ?
				ORDER BY created_at DESC, seq DESC LIMIT ?
			) AS latest ORDER BY created_at, seq`
		args = append(args, limit)
	}
	ms, err := selectAll(ctx, q, scanChatMessage, query, args...)
	if err != nil {
		return nil, fmt.Errorf("sqlstore: list chat messages of session %s: %w", sessionID, err)
	}
	return ms, nil
}

func scanChatMessage(s scanner) (store.ChatMessage, error) {
	var m store.ChatMessage
	var to sql.NullString
	var created int64
	err := s.Scan(&m.ID, &m.AppID, &m.SessionID, &m.MeetingID, &m.ParticipantID, &m.Name, &m.Message, &to, &created)
	if err != nil {
		return store.ChatMessage{}, err
	}
	m.ToParticipantID = to.String
	m.CreatedAt = fromMicros(created)
	return m, nil
}

// optMicros stores a zero time as NULL.
func optMicros(t time.Time) any {
	if t.IsZero() {
		return nil
	}
	return micros(t)
}

// optTime turns a nullable stored time back into a time.Time: NULL is zero.
func optTime(v sql.NullInt64) time.Time {
	if !v.Valid {
		return time.Time{}
	}
	return fromMicros(v.Int64)
}
