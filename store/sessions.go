package store

import (
	"context"
	"fmt"
	"time"
)

// Session statuses.
const (
	SessionLive  = "LIVE"
	SessionEnded = "ENDED"
)

// Session is one life of a meeting's LiveKit room: it opens when the room
// starts (or when its first participant joins, if the start was missed) and
// ends when the room finishes. A meeting has at most one LIVE session.
type Session struct {
	ID        string
	AppID     string
	MeetingID string // RealtimeKit's associated_id
	// ParentSessionID links a breakout room's session to the session of its
	// parent meeting that was live with it; "" for a top-level meeting's.
	ParentSessionID string
	Title           string // the meeting's title when the session opened (meeting_display_name)
	RoomSID         string // the LiveKit room's sid; "" when unknown
	Status          string // SessionLive or SessionEnded

	LiveParticipants          int // participants in the room now
	MaxConcurrentParticipants int
	// ParticipantTime is the total time of the participants' finished stints
	// in the room (the open ones are counted by whoever reads the session).
	ParticipantTime time.Duration
	// EndReason is why the session ended (ALL_PARTICIPANTS_LEFT,
	// HOST_ENDED_MEETING). While LIVE it holds a requested reason: an end by
	// the API records HOST_ENDED_MEETING before it closes the room.
	EndReason string

	StartedAt time.Time
	EndedAt   time.Time // zero while LIVE
	CreatedAt time.Time
	UpdatedAt time.Time
}

// SessionParticipant is one participant's presence in one session. Someone
// who leaves and comes back keeps one record: JoinedAt is the first join,
// LeftAt the last leave, and Duration the sum of the finished stints.
type SessionParticipant struct {
	ID                  string
	SessionID           string
	MeetingID           string // the session's meeting
	ParticipantID       string // RealtimeKit participant id = LiveKit identity (user_id)
	CustomParticipantID string
	DisplayName         string
	PresetName          string
	// PeerID is the LiveKit participant sid of the current (or last)
	// connection.
	PeerID string
	// LastLeftPeerID is the sid of the connection whose leave was recorded
	// last: a join of that sid arriving later is stale.
	LastLeftPeerID string

	JoinedAt  time.Time     // first join in the session
	LeftAt    time.Time     // last leave; zero while in the room
	LiveSince time.Time     // start of the current stint; zero when not in the room
	Duration  time.Duration // sum of the finished stints
	// LeaveReason is why the last stint ended (LEFT, KICKED, MOVED, ENDED).
	// While in the room it holds a requested reason: a kick records KICKED
	// before it removes the participant from LiveKit.
	LeaveReason string

	CreatedAt time.Time
	UpdatedAt time.Time
}

// Live reports whether the participant is in the room now.
func (p SessionParticipant) Live() bool { return !p.LiveSince.IsZero() }

// StintLister lists a participant's live stints (Queries.ListLiveStints).
type StintLister interface {
	ListLiveStints(ctx context.Context, appID, participantID string) ([]SessionParticipant, error)
}

// CurrentStint returns the record, in the live session of the room the
// participant is in now, of its stay there: of its live stints, the one
// that began last (a move overlaps two rooms for a moment). It returns
// ErrNotFound, wrapped, when the participant is in no room.
func CurrentStint(ctx context.Context, q StintLister, appID, participantID string) (SessionParticipant, error) {
	stints, err := q.ListLiveStints(ctx, appID, participantID)
	if err != nil {
		return SessionParticipant{}, err
	}
	if len(stints) == 0 {
		return SessionParticipant{}, fmt.Errorf("participant %s is in no room: %w", participantID, ErrNotFound)
	}
	cur := stints[0]
	for _, x := range stints[1:] {
		if x.LiveSince.After(cur.LiveSince) {
			cur = x
		}
	}
	return cur, nil
}

// Session sort keys.
const (
	SortByCreatedAt       = "createdAt"
	SortByMinutesConsumed = "minutesConsumed"
	SortByJoinedAt        = "joinedAt"
	SortByDuration        = "duration"
)

// SessionFilter narrows ListSessions. Zero values mean "no condition".
type SessionFilter struct {
	MeetingID     string    // associated_id
	Status        string    // SessionLive or SessionEnded
	StartedAfter  time.Time // started_at >= StartedAfter
	StartedBefore time.Time // started_at <= StartedBefore
	// Search matches a substring of the title (any case), or the exact
	// session or meeting id.
	Search string
	// Participant keeps the sessions in which a participant with this id or
	// custom participant id took part.
	Participant string
	// ParentSessionID: nil means any; "" top-level sessions only; an id the
	// breakout sessions of that session.
	ParentSessionID *string
	SortBy          string // SortByCreatedAt (default) or SortByMinutesConsumed
	Ascending       bool   // default newest (or largest) first
	Page            Page
}

// SessionParticipantFilter narrows ListSessionParticipants.
type SessionParticipantFilter struct {
	// Search matches a substring of the display name or custom participant
	// id (any case), or the exact participant id.
	Search    string
	LiveOnly  bool   // only those in the room now
	SortBy    string // SortByJoinedAt (default) or SortByDuration
	Ascending bool   // default ascending for joinedAt, descending for duration
	Page      Page
}

// Poll is a poll created in a live session.
type Poll struct {
	ID        string
	AppID     string
	SessionID string
	MeetingID string
	Question  string
	Options   []string
	Anonymous bool
	HideVotes bool
	CreatedBy string
	CreatedAt time.Time
}

// PollVote is one participant's vote in a poll.
type PollVote struct {
	PollID        string
	ParticipantID string
	Name          string // the voter's display name when voting
	Option        int    // index into Poll.Options
	CreatedAt     time.Time
}

// ChatMessage is a chat message sent in a live session (to everyone in its room).
type ChatMessage struct {
	ID            string
	AppID         string
	SessionID     string
	MeetingID     string
	ParticipantID string // the sender
	Name          string // the sender's display name when sending
	Message       string
	// ToParticipantID is the one recipient of a private message; "" for a
	// message to everyone in the room.
	ToParticipantID string
	CreatedAt       time.Time
}

// SessionQueries keep LiveKit room sessions and their participants, the ids
// of the LiveKit webhook events already applied, polls and chat messages.
type SessionQueries interface {
	// GetMeetingByID returns the meeting with this id, whatever its app:
	// LiveKit names a room by the meeting id alone.
	GetMeetingByID(ctx context.Context, id string) (Meeting, error)

	// MarkLiveKitEvent records that the LiveKit webhook event with this id
	// has been applied. An id recorded before is ErrConflict.
	MarkLiveKitEvent(ctx context.Context, id, event, room string, at time.Time) error
	// PruneLiveKitEvents forgets the events recorded before t and returns
	// how many it forgot.
	PruneLiveKitEvents(ctx context.Context, before time.Time) (int, error)

	// CreateSession stores a new session of an existing meeting (else
	// ErrNotFound). A LIVE session for a meeting that has one is ErrConflict.
	CreateSession(ctx context.Context, s Session) error
	// GetSession returns the session with this id in this app.
	GetSession(ctx context.Context, appID, id string) (Session, error)
	// GetLiveSession returns the meeting's LIVE session; ErrNotFound when
	// there is none.
	GetLiveSession(ctx context.Context, meetingID string) (Session, error)
	// GetSessionByRoom returns the meeting's latest session of the LiveKit
	// room with this sid, whatever its status.
	GetSessionByRoom(ctx context.Context, meetingID, roomSID string) (Session, error)
	// ListSessions returns the app's sessions that match the filter.
	ListSessions(ctx context.Context, appID string, f SessionFilter) ([]Session, int, error)
	// ListLiveSessions returns every LIVE session of every app, oldest first.
	ListLiveSessions(ctx context.Context) ([]Session, error)
	// ListLiveSessionsWithPolls returns the LIVE sessions of every app that
	// have at least one poll, oldest first, in one query.
	ListLiveSessionsWithPolls(ctx context.Context) ([]Session, error)
	// UpdateSession replaces the mutable fields of a session: everything
	// but its id, app, meeting, StartedAt and CreatedAt. Making a session
	// LIVE while its meeting has another LIVE one is ErrConflict.
	UpdateSession(ctx context.Context, s Session) error

	// CreateSessionParticipant stores a participant of an existing session
	// (else ErrNotFound); one per participant id and session (else
	// ErrConflict).
	CreateSessionParticipant(ctx context.Context, p SessionParticipant) error
	// GetSessionParticipant returns the record of a participant (by
	// RealtimeKit participant id) in a session.
	GetSessionParticipant(ctx context.Context, sessionID, participantID string) (SessionParticipant, error)
	// GetSessionParticipantByID returns a session participant record by its
	// own id.
	GetSessionParticipantByID(ctx context.Context, sessionID, id string) (SessionParticipant, error)
	// ListSessionParticipants returns a session's participants that match
	// the filter.
	ListSessionParticipants(ctx context.Context, sessionID string, f SessionParticipantFilter) ([]SessionParticipant, int, error)
	// ListLiveStints returns the records, in every LIVE session of the app,
	// of the participant with this id while it is in the room.
	ListLiveStints(ctx context.Context, appID, participantID string) ([]SessionParticipant, error)
	// ListRecentStints returns the records, in every session of the app, of
	// the participant with this id that are live or that ended at or after
	// leftSince, in the order they began.
	ListRecentStints(ctx context.Context, appID, participantID string, leftSince time.Time) ([]SessionParticipant, error)
	// UpdateSessionParticipant replaces the mutable fields of a record:
	// everything but its ids, JoinedAt and CreatedAt.
	UpdateSessionParticipant(ctx context.Context, p SessionParticipant) error

	// CreatePoll stores a poll of an existing session (else ErrNotFound).
	CreatePoll(ctx context.Context, p Poll) error
	// GetPoll returns the poll with this id in this app.
	GetPoll(ctx context.Context, appID, id string) (Poll, error)
	// ListPolls returns a session's polls, oldest first.
	ListPolls(ctx context.Context, sessionID string) ([]Poll, error)
	// CreatePollVote stores a vote in an existing poll (else ErrNotFound); a
	// second vote of the same participant is ErrConflict.
	CreatePollVote(ctx context.Context, v PollVote) error
	// ListPollVotes returns a poll's votes, oldest first.
	ListPollVotes(ctx context.Context, pollID string) ([]PollVote, error)

	// CreateChatMessage stores a chat message of an existing session (else
	// ErrNotFound); a second message with the same id is ErrConflict.
	CreateChatMessage(ctx context.Context, m ChatMessage) error
	// ListChatMessages returns a session's chat messages, oldest first
	// (by CreatedAt, then by insertion order), at most limit of them when
	// limit > 0: the latest limit, still oldest first.
	ListChatMessages(ctx context.Context, sessionID string, limit int) ([]ChatMessage, error)
}
