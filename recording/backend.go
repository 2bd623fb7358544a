package recording

import (
	"context"
	"time"

	"github.com/livekit/protocol/livekit"
	"github.com/livekit/psrpc"
)

// Backend names, as stored in store.Recording.Backend.
const (
	BackendLocal  = "local"
	BackendEgress = "egress"
)

// Recording kinds, as stored in store.Recording.Kind.
const (
	KindComposite = "composite" // POST /recordings: the whole room
	KindTrack     = "track"     // POST /recordings/track: track by track
)

// ErrPauseUnsupported is returned by a Backend that cannot pause a job in
// place. The service then stops the job on pause and starts a new one on
// resume, so one recording gets several jobs (and files).
var ErrPauseUnsupported = psrpc.NewErrorf(psrpc.Unimplemented, "this recording backend cannot pause a job")

// ErrNoTracks is returned by Start for a track recording of a room where
// nothing is published.
var ErrNoTracks = psrpc.NewErrorf(psrpc.FailedPrecondition, "the meeting has no published tracks to record")

// Job is one recording for a backend to run.
type Job struct {
	RecordingID string
	AppID       string
	Room        string // the LiveKit room: the meeting id
	Kind        string // KindComposite or KindTrack
	// Dir is the directory, under the configured output directory, that the
	// job's files go to; the backend creates it.
	Dir string
	// FilePrefix starts the names of the job's files ("" for none).
	FilePrefix string
	// MaxDuration ends the job (LIMIT_REACHED) after this much recorded
	// time; 0 means no limit.
	MaxDuration time.Duration
	// Segment counts the jobs of one recording: 0 for the first, n for the
	// n-th restart after a pause (backends without in-place pause).
	Segment int
	// Report receives the job's later reports (EgressInfo as LiveKit Egress
	// sends them in its webhooks). It does not block for long and may be
	// called from any goroutine. Backends whose reports reach the service
	// another way (Egress: LiveKit webhooks) may ignore it.
	Report func(*livekit.EgressInfo)
}

// Backend runs recording jobs. The service calls it outside any store
// transaction. Implementations are safe for concurrent use, and report a
// job's progress as LiveKit Egress does: STARTING, ACTIVE (recording),
// ENDING (finalizing), then COMPLETE or LIMIT_REACHED with FileResults, or
// FAILED/ABORTED with Error.
type Backend interface {
	// Name is the backend's name: BackendLocal or BackendEgress.
	Name() string
	// Start starts recording job.Room and returns the first report of
	// every job it started, each with its EgressId: one for a composite
	// recording; for a track recording one per track, or one job that
	// records every track into its own file. A room with nothing to record
	// for a track recording is ErrNoTracks.
	Start(ctx context.Context, job Job) ([]*livekit.EgressInfo, error)
	// Stop asks a job to end; its final report comes later. Stopping a job
	// that already ended, or that the backend does not know, is not an error.
	Stop(ctx context.Context, jobID string) error
	// Pause stops writing media of a running job until Resume, or returns
	// ErrPauseUnsupported.
	Pause(ctx context.Context, jobID string) error
	// Resume resumes a paused job, or returns ErrPauseUnsupported.
	Resume(ctx context.Context, jobID string) error
}
