// Package store keeps the sidecar's durable state: apps, meetings, presets and
// participants. It owns the storage contract (Store) and its record types;
// implementations live in sub-packages (store/sqlstore: SQLite and PostgreSQL)
// and every one of them must pass store/storetest.
//
// The store validates nothing beyond what its schema enforces (unique names,
// existing parents): rules about what a valid meeting or preset is belong to
// the packages that own those concepts. Records are plain values; nested
// documents (a preset's body, a meeting's AI and recording configs) are kept as
// opaque JSON.
package store

import (
	"context"
	"encoding/json"
	"time"

	"github.com/livekit/psrpc"
)

// ErrNotFound is returned, possibly wrapped, when a record does not exist
// (or does not belong to the app it was asked under). It maps to HTTP 404.
var ErrNotFound = psrpc.NewErrorf(psrpc.NotFound, "not found")

// ErrConflict is returned, possibly wrapped, when a write would break a
// uniqueness rule (a preset name taken in the app, a custom participant id
// taken in the meeting) or a record with the same id exists. It maps to HTTP 409.
var ErrConflict = psrpc.NewErrorf(psrpc.AlreadyExists, "already exists")

// App is a RealtimeKit app: the tenant that owns meetings and presets.
type App struct {
	ID        string
	AccountID string // the Cloudflare account (or Dyte org) the app belongs to
	Name      string
	CreatedAt time.Time
}

// Meeting statuses.
const (
	MeetingActive   = "ACTIVE"
	MeetingInactive = "INACTIVE"
)

// Meeting is a RealtimeKit meeting. One meeting is one LiveKit room.
type Meeting struct {
	ID       string
	AppID    string
	ParentID string // "" for a top-level meeting; the parent's id for a breakout room
	Title    string
	Status   string // MeetingActive or MeetingInactive

	RecordOnStart              bool
	LiveStreamOnStart          bool
	PersistChat                bool
	SummarizeOnEnd             bool
	SessionKeepAliveTimeInSecs int
	PreferredRegion            string

	AIConfig        json.RawMessage // nil when unset
	RecordingConfig json.RawMessage // nil when unset

	CreatedAt time.Time
	UpdatedAt time.Time
}

// Preset is a named set of permissions and UI settings. Body holds the
// preset document ({config, ui, permissions}) as the presets package encodes it.
type Preset struct {
	ID        string
	AppID     string
	Name      string
	Body      json.RawMessage
	CreatedAt time.Time
	UpdatedAt time.Time
}

// Participant is someone allowed into a meeting, with the preset that decides
// what they may do there.
type Participant struct {
	ID                  string
	AppID               string
	MeetingID           string
	CustomParticipantID string
	PresetID            string
	Name                string // "" when unset
	Picture             string // "" when unset
	CreatedAt           time.Time
	UpdatedAt           time.Time
}

// Page selects a window of a list: skip Offset records, return at most Limit.
// A Limit of 0 means no limit.
type Page struct {
	Offset int
	Limit  int
}

// MeetingFilter narrows ListMeetings. Zero values mean "no condition".
type MeetingFilter struct {
	Search        string    // case-insensitive substring of the title
	CreatedAfter  time.Time // created_at >= CreatedAfter
	CreatedBefore time.Time // created_at <= CreatedBefore
	ParentID      *string   // nil: any; "": top-level only; id: children of that meeting
	Page          Page
}

// Queries are the reads and writes of the store. Lists return the records of
// the requested page and the total number matching the filter, newest first
// unless stated otherwise. Create methods reject a record whose id, or whose
// unique key, is already taken with ErrConflict. Update methods replace the
// mutable fields of an existing record (everything but ids, the owning app
// and meeting, and CreatedAt) and return ErrNotFound for an unknown one.
// Times are stored with microsecond precision and returned in UTC.
type Queries interface {
	SessionQueries   // sessions.go
	WebhookQueries   // webhooks.go
	BreakoutQueries  // breakouts.go
	RecordingQueries // recordings.go
	StatsQueries     // stats.go

	// CreateApp stores a new app.
	CreateApp(ctx context.Context, a App) error
	// GetApp returns the app with this id.
	GetApp(ctx context.Context, id string) (App, error)
	// ListApps returns the apps of an account, oldest first.
	ListApps(ctx context.Context, accountID string, p Page) ([]App, int, error)

	// CreateMeeting stores a new meeting. A non-empty ParentID must name a
	// meeting of the same app, else ErrNotFound.
	CreateMeeting(ctx context.Context, m Meeting) error
	// GetMeeting returns the meeting with this id in this app.
	GetMeeting(ctx context.Context, appID, id string) (Meeting, error)
	// ListMeetings returns the app's meetings that match the filter.
	ListMeetings(ctx context.Context, appID string, f MeetingFilter) ([]Meeting, int, error)
	// UpdateMeeting replaces the mutable fields of a meeting.
	UpdateMeeting(ctx context.Context, m Meeting) error

	// CreatePreset stores a new preset; its name must be unused in the app.
	CreatePreset(ctx context.Context, p Preset) error
	// GetPreset returns the preset with this id in this app.
	GetPreset(ctx context.Context, appID, id string) (Preset, error)
	// GetPresetByName returns the preset with this name in this app.
	GetPresetByName(ctx context.Context, appID, name string) (Preset, error)
	// ListPresets returns the app's presets, oldest first.
	ListPresets(ctx context.Context, appID string, p Page) ([]Preset, int, error)
	// UpdatePreset replaces a preset's name and body; the new name must be
	// unused by other presets of the app.
	UpdatePreset(ctx context.Context, p Preset) error
	// DeletePreset removes a preset. A preset still assigned to a participant
	// is not removed: ErrConflict.
	DeletePreset(ctx context.Context, appID, id string) error

	// CreateParticipant stores a new participant of an existing meeting
	// (else ErrNotFound) with an existing preset of the same app (else
	// ErrNotFound). Its custom participant id must be unused in the meeting.
	CreateParticipant(ctx context.Context, p Participant) error
	// CreateParticipantWithPreset is CreateParticipant with the preset
	// named by presetName in p's app, in one statement: p.PresetID is
	// ignored and the preset's id is returned. ErrNotFound when the meeting
	// or the preset does not exist in the app; ErrConflict as
	// CreateParticipant.
	CreateParticipantWithPreset(ctx context.Context, p Participant, presetName string) (presetID string, err error)
	// GetParticipant returns the participant with this id in this meeting.
	GetParticipant(ctx context.Context, meetingID, id string) (Participant, error)
	// GetParticipantByID returns the participant with this id in this app,
	// whatever its meeting.
	GetParticipantByID(ctx context.Context, appID, id string) (Participant, error)
	// ListParticipants returns a meeting's participants, oldest first.
	ListParticipants(ctx context.Context, meetingID string, p Page) ([]Participant, int, error)
	// UpdateParticipant replaces a participant's custom id, preset, name and
	// picture.
	UpdateParticipant(ctx context.Context, p Participant) error
	// DeleteParticipant removes a participant.
	DeleteParticipant(ctx context.Context, meetingID, id string) error
}

// Store is a durable Queries with transactions. Implementations are safe for
// concurrent use.
type Store interface {
	Queries
	// InTx runs fn in one transaction: every write fn makes through q is
	// committed together when fn returns nil, and none is when it returns an
	// error (which InTx returns). fn must use only q, never the Store itself,
	// and must not start another transaction. Implementations may run fn
	// again when the database reports a serialization failure, so fn must
	// have no effects outside q.
	InTx(ctx context.Context, fn func(q Queries) error) error
	// Close releases the store's resources.
	Close() error
}
