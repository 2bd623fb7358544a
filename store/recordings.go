package store

import (
	"context"
	"encoding/json"
	"time"
)

// Recording statuses, as RealtimeKit names them. INVOKED, RECORDING and
// PAUSED are active (a recorder runs or may run); UPLOADING is the stopping
// phase; UPLOADED and ERRORED are final.
const (
	RecordingInvoked   = "INVOKED"
	RecordingRecording = "RECORDING"
	RecordingPaused    = "PAUSED"
	RecordingUploading = "UPLOADING"
	RecordingUploaded  = "UPLOADED"
	RecordingErrored   = "ERRORED"
)

// Recording is one recording of a meeting's LiveKit room, run by a recording
// backend (LiveKit Egress, or the sidecar's own recorder). The store keeps it
// as written: which status changes are legal is package recording's business.
type Recording struct {
	ID        string
	AppID     string
	MeetingID string
	SessionID string // the RealtimeKit session recorded; "" when unknown
	RoomSID   string // the LiveKit room session (room sid) recorded; "" until known

	Kind      string // "composite" (POST /recordings) or "track" (POST /recordings/track)
	Backend   string // the backend that runs it, e.g. "local" or "egress"
	BackendID string // the backend's current job id (an egress id); "" before it starts
	Status    string // one of the Recording* statuses

	StartReason string // API_CALL or RECORD_ON_START
	StopReason  string // "" until stopped; API_CALL, INTERNAL_ERROR or ALL_PEERS_LEFT
	Error       string // why an ERRORED recording failed; "" otherwise

	FileNamePrefix string
	OutputFileName string
	MaxSeconds     int   // 0: no limit
	FileSize       int64 // bytes; 0 until known
	Duration       int   // recorded seconds; 0 until known

	Config  json.RawMessage // the start request's options; nil when none
	Outputs json.RawMessage // where the files are; nil until known

	// BackendUpdatedAt is the UpdatedAt (unix nanoseconds) of the last
	// backend report applied, so older reports can be told apart; 0 before any.
	BackendUpdatedAt int64

	InvokedAt time.Time // when it was asked for
	StartedAt time.Time // zero until it records
	StoppedAt time.Time // zero until it stops
	UpdatedAt time.Time
}

// RecordingFilter narrows ListRecordings. Zero values mean "no condition".
type RecordingFilter struct {
	MeetingID     string
	RoomSID       string
	Statuses      []string  // any of these statuses
	Search        string    // case-insensitive substring of the meeting's title, or its exact id
	InvokedAfter  time.Time // invoked at or after
	InvokedBefore time.Time // invoked at or before
	OldestFirst   bool      // sort by invocation time ascending instead of descending
	Page          Page
}

// RecordingQueries keep recordings, and the ids of the backend jobs that
// worked for them (a paused and resumed Egress recording has several).
type RecordingQueries interface {
	// CreateRecording stores a new recording of an existing meeting of the
	// app (else ErrNotFound).
	CreateRecording(ctx context.Context, r Recording) error
	// GetRecording returns the recording with this id in this app.
	GetRecording(ctx context.Context, appID, id string) (Recording, error)
	// ListRecordings returns the recordings matching the filter, newest
	// invocation first unless OldestFirst. An empty appID lists the
	// recordings of every app.
	ListRecordings(ctx context.Context, appID string, f RecordingFilter) ([]Recording, int, error)
	// UpdateRecording replaces the mutable fields of a recording: all but
	// its id, app, meeting, kind, backend and InvokedAt.
	UpdateRecording(ctx context.Context, r Recording) error

	// AddRecordingJob records that the backend job backendID works for the
	// recording. An unknown recording is ErrNotFound; a job id already
	// recorded is ErrConflict.
	AddRecordingJob(ctx context.Context, recordingID, backendID string) error
	// GetRecordingByJob returns the recording a backend job works for,
	// whatever its app.
	GetRecordingByJob(ctx context.Context, backendID string) (Recording, error)
}
