// Package recording owns RealtimeKit recordings: the REST rules (start,
// stop, pause, resume, list), the status machine (INVOKED, RECORDING,
// PAUSED, UPLOADING, UPLOADED, ERRORED), record_on_start, the recording of
// every breakout room of a recorded meeting, download links, and what the
// recording.statusUpdate webhook says (built with package webhooks, which
// owns the payloads). Recorders are Backends: LiveKit Egress
// (EgressBackend), or the sidecar's own hidden participant that writes one
// file per track (LocalBackend). Both report progress as
// LiveKit Egress does (EgressInfo), and one mapping turns that into
// RealtimeKit statuses.
//
// The package knows nothing of HTTP. Its errors carry a psrpc class
// (InvalidArgument, NotFound, AlreadyExists, FailedPrecondition,
// PermissionDenied, Unimplemented, Unavailable) that the HTTP edge maps to a
// status.
package recording

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/google/uuid"
	"github.com/livekit/protocol/livekit"
	"github.com/livekit/psrpc"

	"rtk-sidecar/apierr"
	"rtk-sidecar/store"
)

// Sessions tells which RealtimeKit session a recording belongs to.
// StoreSessions, the default, reads the sessions the sessions package keeps
// in the store.
type Sessions interface {
	// Session returns the session of recording r, read through q: the one
	// it names, else the one of its LiveKit room session, else the
	// meeting's live one; a zero SessionInfo when there is none.
	Session(ctx context.Context, q store.Queries, r store.Recording) (SessionInfo, error)
}

// StoreSessions finds sessions in the store.
type StoreSessions struct{}

// Session implements Sessions.
func (StoreSessions) Session(ctx context.Context, q store.Queries, r store.Recording) (SessionInfo, error) {
	var sess store.Session
	var err error = store.ErrNotFound
	switch {
	case r.SessionID != "":
		sess, err = q.GetSession(ctx, r.AppID, r.SessionID)
	case r.RoomSID != "":
		sess, err = q.GetSessionByRoom(ctx, r.MeetingID, r.RoomSID)
	}
	if errors.Is(err, store.ErrNotFound) && r.SessionID == "" {
		sess, err = q.GetLiveSession(ctx, r.MeetingID)
	}
	if errors.Is(err, store.ErrNotFound) {
		return SessionInfo{}, nil
	}
	if err != nil {
		return SessionInfo{}, err
	}
	return SessionInfo{ID: sess.ID, ParentID: sess.ParentSessionID, Live: sess.Status == store.SessionLive,
		StartedAt: sess.StartedAt, EndedAt: sess.EndedAt}, nil
}

// SessionInfo is what recordings need to know of a session.
type SessionInfo struct {
	ID        string // a uuid
	ParentID  string // a breakout room's: the parent's session live with it
	Live      bool
	StartedAt time.Time
	EndedAt   time.Time
}

// Options configure a Service. Every field is optional.
type Options struct {
	// OutputDir holds recordings' files, in OutputDir/<app>/<recording>/.
	OutputDir string
	// Signer makes download links; without one, recordings have none.
	Signer *Signer
	// Sessions gives recordings their session; nil means StoreSessions.
	Sessions Sessions
	// Owners, with replicas, records which replica runs each local
	// recording; nil for a single replica.
	Owners Owners
	// Relay, with Owners, carries a stop, pause or resume of a local
	// recording to the replica that runs it; that replica's Receive takes
	// it.
	Relay Relay
	// Log receives what goes wrong in the background.
	Log *slog.Logger
}

// Service implements recordings over a store and a backend. It is safe for
// concurrent use. Its background work (LiveKit events, backend reports,
// max_seconds) runs in Run.
type Service struct {
	st        store.Store
	backend   Backend
	notifier  Notifier
	signer    *Signer
	sessions  Sessions
	outputDir string
	log       *slog.Logger
	now       func() time.Time
	created   time.Time
	tick      time.Duration

	work queue

	owners   Owners // nil: a single replica
	relay    Relay
	relaying relaying

	mu     sync.Mutex
	parked map[string][]parkedInfo // reports of jobs not registered yet, by job id
	known  map[string]time.Time    // jobs registered lately, by job id
}

type parkedInfo struct {
	info *livekit.EgressInfo
	at   time.Time
}

// parkFor is how long a report of an unknown job waits for its job to be
// registered, and how long a registered job id is remembered for that.
const parkFor = 2 * time.Minute

// New returns a Service that hands the webhooks of its recordings to
// notifier (nil: a LogNotifier over opts.Log). It starts nothing.
func New(st store.Store, backend Backend, notifier Notifier, opts Options) *Service {
	log := opts.Log
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	if notifier == nil {
		notifier = LogNotifier{Log: log}
	}
	if opts.Sessions == nil {
		opts.Sessions = StoreSessions{}
	}
	return &Service{
		st: st, backend: backend, notifier: notifier, signer: opts.Signer, sessions: opts.Sessions,
		outputDir: opts.OutputDir, log: log, now: time.Now, created: time.Now(), tick: time.Second,
		work:   queue{wake: make(chan struct{}, 1)},
		parked: map[string][]parkedInfo{}, known: map[string]time.Time{},
		owners: opts.Owners, relay: opts.Relay, relaying: relaying{waiting: map[string]chan relayMsg{}},
	}
}

// View is a recording as the API shows it: with its meeting and, once it
// is UPLOADED, its download links.
type View struct {
	store.Recording
	Meeting           store.Meeting
	DownloadURL       string
	AudioDownloadURL  string
	DownloadURLExpiry time.Time
}

// ---- the API ----

// Start starts a composite recording of a meeting (POST /recordings).
func (s *Service) Start(ctx context.Context, appID string, in StartInput) (View, error) {
	v, err := in.validate()
	if err != nil {
		return View{}, err
	}
	views, err := s.start(ctx, appID, KindComposite, v, ReasonAPICall, "")
	if err != nil {
		return View{}, err
	}
	return views[0], nil
}

// StartTracks starts a track recording of a meeting (POST
// /recordings/track): each track in its own file. With the local backend
// that is one recording; with Egress one recording per published track.
func (s *Service) StartTracks(ctx context.Context, appID string, in TrackInput) ([]View, error) {
	v, err := in.validate()
	if err != nil {
		return nil, err
	}
	return s.start(ctx, appID, KindTrack, v, ReasonAPICall, "")
}

// Get returns one recording of the app.
func (s *Service) Get(ctx context.Context, appID, id string) (View, error) {
	r, err := s.st.GetRecording(ctx, appID, id)
	if err != nil {
		return View{}, apierr.NotFound("recording", id, err)
	}
	m, err := s.st.GetMeeting(ctx, appID, r.MeetingID)
	if err != nil {
		return View{}, err
	}
	return s.view(r, m), nil
}

// ListFilter narrows List.
type ListFilter struct {
	store.RecordingFilter
	// Expired, when set, keeps the recordings whose files have (true) or
	// have not (false) expired. Files here never expire, so true lists none.
	Expired *bool
}

// List returns the app's recordings matching the filter, each with its meeting.
func (s *Service) List(ctx context.Context, appID string, f ListFilter) ([]View, int, error) {
	if f.Expired != nil && *f.Expired {
		return []View{}, 0, nil
	}
	rs, total, err := s.st.ListRecordings(ctx, appID, f.RecordingFilter)
	if err != nil {
		return nil, 0, err
	}
	meetings := map[string]store.Meeting{}
	out := make([]View, 0, len(rs))
	for _, r := range rs {
		m, ok := meetings[r.MeetingID]
		if !ok {
			if m, err = s.st.GetMeeting(ctx, appID, r.MeetingID); err != nil {
				return nil, 0, err
			}
			meetings[r.MeetingID] = m
		}
		out = append(out, s.view(r, m))
	}
	return out, total, nil
}

// Active returns the meeting's active recording (the newest INVOKED,
// RECORDING or PAUSED composite one), or NotFound.
func (s *Service) Active(ctx context.Context, appID, meetingID string) (View, error) {
	m, err := s.st.GetMeeting(ctx, appID, meetingID)
	if err != nil {
		return View{}, apierr.NotFound("meeting", meetingID, err)
	}
	rs, _, err := s.st.ListRecordings(ctx, appID, store.RecordingFilter{MeetingID: meetingID, Statuses: activeStatuses})
	if err != nil {
		return View{}, err
	}
	for _, r := range rs {
		if r.Kind == KindComposite {
			return s.view(r, m), nil
		}
	}
	return View{}, psrpc.NewErrorf(psrpc.NotFound, "meeting %s has no active recording", meetingID)
}

// Act applies PUT /recordings/{id} {action}: stop, pause or resume. An
// action that does not apply to the recording's status is
// FailedPrecondition, naming the statuses it needs.
//
// With replicas, the action on a local recording is applied by the replica
// that runs it: forwarded to it, and answered with its result; when that
// replica is gone the recording is marked ERRORED and the answer is
// ErrRecorderGone.
func (s *Service) Act(ctx context.Context, appID, id, action string) (View, error) {
	r, err := s.st.GetRecording(ctx, appID, id)
	if err != nil {
		return View{}, apierr.NotFound("recording", id, err)
	}
	if err := checkAction(action, id, r.Status); err != nil {
		return View{}, err
	}
	routed, err := s.route(ctx, r, action)
	if !routed {
		err = s.act(ctx, r, action)
	}
	if err != nil {
		return View{}, err
	}
	return s.Get(ctx, appID, id)
}

// actHere applies action to recording id of appID on this replica.
func (s *Service) actHere(ctx context.Context, appID, id, action string) error {
	r, err := s.st.GetRecording(ctx, appID, id)
	if err != nil {
		return apierr.NotFound("recording", id, err)
	}
	if err := checkAction(action, id, r.Status); err != nil {
		return err
	}
	return s.act(ctx, r, action)
}

// act applies action to r with this replica's backend.
func (s *Service) act(ctx context.Context, r store.Recording, action string) error {
	switch action {
	case ActionStop:
		return s.stop(ctx, r, ReasonAPICall)
	case ActionPause:
		return s.pause(ctx, r)
	case ActionResume:
		return s.resume(ctx, r)
	}
	return nil
}

// Download checks a download link and returns what it names.
func (s *Service) Download(ctx context.Context, appID, id, name, expires, signature string) (Download, error) {
	if s.signer == nil {
		return Download{}, ErrFileNotFound
	}
	if err := s.signer.Check(appID, id, name, expires, signature, s.now()); err != nil {
		return Download{}, err
	}
	r, err := s.st.GetRecording(ctx, appID, id)
	if err != nil {
		if errors.Is(err, store.ErrNotFound) {
			return Download{}, ErrFileNotFound
		}
		return Download{}, err
	}
	if r.Status != store.RecordingUploaded {
		return Download{}, ErrFileNotFound
	}
	keep := anyFile
	switch name {
	case r.OutputFileName:
	case audioName(r):
		keep = isAudioFile
	default:
		return Download{}, ErrFileNotFound
	}
	var files []string
	for _, o := range decodeOutputs(r.Outputs) {
		fs, err := localFiles(s.outputDir, o.Location, keep)
		if err != nil && !errors.Is(err, ErrFileNotFound) {
			return Download{}, err
		}
		files = append(files, fs...)
	}
	if len(files) == 0 {
		return Download{}, ErrFileNotFound
	}
	d := Download{Name: name, ModTime: r.StoppedAt}
	if len(files) == 1 && !strings.HasSuffix(name, ".zip") {
		d.Path = files[0]
	} else {
		d.files = files
	}
	return d, nil
}

// ---- starting ----

// start creates the recording(s) and starts the backend's job(s).
func (s *Service) start(ctx context.Context, appID, kind string, v validated, reason, roomSID string) ([]View, error) {
	now := s.now().UTC()
	rec := store.Recording{
		ID: uuid.NewString(), AppID: appID, MeetingID: v.meetingID, RoomSID: roomSID,
		Kind: kind, Backend: s.backend.Name(), Status: store.RecordingInvoked, StartReason: reason,
		FileNamePrefix: v.prefix, MaxSeconds: v.maxSeconds, Config: v.config,
		InvokedAt: now, UpdatedAt: now,
	}
	rec.OutputFileName = s.plannedName(rec)
	// Recorded as this replica's before anyone can see it: a replica that
	// starts meanwhile must not take it for a leftover.
	if err := s.own(ctx, rec.ID); err != nil {
		return nil, err
	}
	err := s.st.InTx(ctx, func(q store.Queries) error {
		if _, err := q.GetMeeting(ctx, appID, v.meetingID); err != nil {
			return apierr.NotFound("meeting", v.meetingID, err)
		}
		if !v.multiple {
			active, _, err := q.ListRecordings(ctx, appID, store.RecordingFilter{MeetingID: v.meetingID, Statuses: activeStatuses})
			if err != nil {
				return err
			}
			for _, a := range active {
				if a.Kind == KindComposite {
					return psrpc.NewErrorf(psrpc.AlreadyExists,
						"meeting %s is already being recorded (recording %s is %s): stop that recording first, or set allow_multiple_recordings",
						v.meetingID, a.ID, a.Status)
				}
			}
		}
		return q.CreateRecording(ctx, rec)
	})
	if err != nil {
		s.released(ctx, rec)
		return nil, err
	}

	job := s.job(rec, 0)
	infos, err := s.backend.Start(ctx, job)
	if err == nil && len(infos) == 0 {
		err = fmt.Errorf("recording: backend %s started no job", s.backend.Name())
	}
	if err != nil {
		s.fail(context.WithoutCancel(ctx), rec, err)
		return nil, fmt.Errorf("recording: start recording of meeting %s: %w", v.meetingID, err)
	}

	var recs []store.Recording
	var stopAfter []string
	err = s.st.InTx(ctx, func(q store.Queries) error {
		recs, stopAfter = recs[:0], stopAfter[:0]
		for i, info := range infos {
			var r store.Recording
			if i == 0 {
				cur, err := q.GetRecording(ctx, appID, rec.ID)
				if err != nil {
					return err
				}
				r = cur
			} else { // Egress records track by track: one recording per track
				r = rec
				r.ID = uuid.NewString()
				if err := s.own(ctx, r.ID); err != nil {
					return err
				}
				if err := q.CreateRecording(ctx, r); err != nil {
					return err
				}
			}
			if err := q.AddRecordingJob(ctx, r.ID, info.EgressId); err != nil {
				return err
			}
			next := r
			next.BackendID = info.EgressId
			outs := decodeOutputs(r.Outputs)
			outs = append(outs, output{Job: info.EgressId, Location: s.initialLocation(job)})
			next.Outputs = outs.encode()
			if !isActive(r.Status) { // stopped while it was starting
				stopAfter = append(stopAfter, info.EgressId)
			}
			if err := s.save(ctx, q, r, next); err != nil {
				return err
			}
			recs = append(recs, next)
		}
		return nil
	})
	if err != nil {
		for _, info := range infos {
			_ = s.backend.Stop(context.WithoutCancel(ctx), info.EgressId)
		}
		return nil, err
	}
	for _, jobID := range stopAfter {
		if err := s.backend.Stop(ctx, jobID); err != nil {
			s.log.Warn("stop recording job", "job", jobID, "err", err)
		}
	}
	for _, info := range infos {
		s.registered(info.EgressId)
		s.Report(info) // the first report may already say ACTIVE
	}
	views := make([]View, 0, len(recs))
	for _, r := range recs {
		v, err := s.Get(ctx, appID, r.ID)
		if err != nil {
			return nil, err
		}
		views = append(views, v)
	}
	return views, nil
}

// job describes segment n of a recording to the backend.
func (s *Service) job(r store.Recording, segment int) Job {
	var limit time.Duration
	if r.MaxSeconds > 0 {
		limit = time.Duration(r.MaxSeconds) * time.Second
	}
	return Job{
		RecordingID: r.ID, AppID: r.AppID, Room: r.MeetingID, Kind: r.Kind,
		Dir: s.dirOf(r), FilePrefix: r.FileNamePrefix, MaxDuration: limit, Segment: segment,
		Report: s.Report,
	}
}

func (s *Service) dirOf(r store.Recording) string {
	return filepath.Join(s.outputDir, r.AppID, r.ID)
}

// initialLocation is where a job's files will be before it reports them:
// the local recorder writes into the job's directory.
func (s *Service) initialLocation(j Job) string {
	if s.backend.Name() == BackendLocal {
		return j.Dir
	}
	return ""
}

// fileStem is the name recordings' files start with.
func fileStem(r store.Recording) string {
	if r.FileNamePrefix != "" {
		return r.FileNamePrefix + "_" + r.ID
	}
	return r.ID
}

// plannedName is output_file_name before the backend reports its files:
// the local recorder's recordings download as a zip archive of their
// per-track files; Egress names its file itself.
func (s *Service) plannedName(r store.Recording) string {
	return fileStem(r) + ".zip"
}

// audioName is the name of the archive of a recording's audio files.
func audioName(r store.Recording) string { return fileStem(r) + "_audio.zip" }

// fail marks a recording whose backend failed ERRORED.
func (s *Service) fail(ctx context.Context, r store.Recording, cause error) {
	err := s.st.InTx(ctx, func(q store.Queries) error {
		cur, err := q.GetRecording(ctx, r.AppID, r.ID)
		if err != nil {
			return err
		}
		if !canTransition(cur.Status, store.RecordingErrored) {
			return nil
		}
		next := cur
		next.Status, next.Error = store.RecordingErrored, cause.Error()
		if next.StopReason == "" {
			next.StopReason = ReasonInternalError
		}
		if next.StoppedAt.IsZero() {
			next.StoppedAt = s.now().UTC()
		}
		return s.save(ctx, q, cur, next)
	})
	if err != nil {
		s.log.Error("mark recording errored", "recording", r.ID, "err", err)
	}
}

// ---- stop, pause, resume ----

// stop ends an active recording for reason.
func (s *Service) stop(ctx context.Context, r store.Recording, reason string) error {
	if r.BackendID != "" {
		if err := s.backend.Stop(ctx, r.BackendID); err != nil {
			return fmt.Errorf("recording: stop %s: %w", r.ID, err)
		}
	}
	return s.st.InTx(ctx, func(q store.Queries) error {
		cur, err := q.GetRecording(ctx, r.AppID, r.ID)
		if err != nil {
			return err
		}
		next := cur
		if next.StopReason == "" {
			next.StopReason = reason
		}
		if isActive(cur.Status) {
			next.Status = store.RecordingUploading
			if cur.BackendID == "" && cur.Status == store.RecordingPaused {
				// Paused by stopping its job (Egress): nothing runs; done once
				// the last job's files are in.
				if outs := decodeOutputs(cur.Outputs); outs.allEnded() {
					next.Status = store.RecordingUploaded
				}
			}
			if next.StoppedAt.IsZero() {
				next.StoppedAt = s.now().UTC()
			}
		}
		return s.save(ctx, q, cur, next)
	})
}

// pause pauses a RECORDING recording: in place if the backend can, else by
// stopping its job (a new one starts on resume).
func (s *Service) pause(ctx context.Context, r store.Recording) error {
	stopped := false
	if err := s.backend.Pause(ctx, r.BackendID); errors.Is(err, ErrPauseUnsupported) {
		if err := s.backend.Stop(ctx, r.BackendID); err != nil {
			return fmt.Errorf("recording: pause %s: %w", r.ID, err)
		}
		stopped = true
	} else if err != nil {
		return fmt.Errorf("recording: pause %s: %w", r.ID, err)
	}
	return s.st.InTx(ctx, func(q store.Queries) error {
		cur, err := q.GetRecording(ctx, r.AppID, r.ID)
		if err != nil {
			return err
		}
		if err := checkAction(ActionPause, r.ID, cur.Status); err != nil {
			return err
		}
		next := cur
		next.Status = store.RecordingPaused
		if stopped {
			next.BackendID = ""
		}
		return s.save(ctx, q, cur, next)
	})
}

// resume resumes a PAUSED recording.
func (s *Service) resume(ctx context.Context, r store.Recording) error {
	var info *livekit.EgressInfo
	if r.BackendID != "" {
		if err := s.backend.Resume(ctx, r.BackendID); err != nil {
			return fmt.Errorf("recording: resume %s: %w", r.ID, err)
		}
	} else {
		infos, err := s.backend.Start(ctx, s.job(r, len(decodeOutputs(r.Outputs))))
		if err != nil {
			return fmt.Errorf("recording: resume %s: %w", r.ID, err)
		}
		for _, extra := range infos[1:] {
			_ = s.backend.Stop(ctx, extra.EgressId)
		}
		info = infos[0]
	}
	err := s.st.InTx(ctx, func(q store.Queries) error {
		cur, err := q.GetRecording(ctx, r.AppID, r.ID)
		if err != nil {
			return err
		}
		if err := checkAction(ActionResume, r.ID, cur.Status); err != nil {
			return err
		}
		next := cur
		next.Status = store.RecordingRecording
		if info != nil {
			if err := q.AddRecordingJob(ctx, r.ID, info.EgressId); err != nil {
				return err
			}
			next.BackendID = info.EgressId
			next.Outputs = append(decodeOutputs(cur.Outputs), output{Job: info.EgressId}).encode()
		}
		return s.save(ctx, q, cur, next)
	})
	if err != nil && info != nil {
		_ = s.backend.Stop(context.WithoutCancel(ctx), info.EgressId)
	}
	if err == nil && info != nil {
		s.registered(info.EgressId)
	}
	return err
}

// ---- saving, and the webhook ----

// save writes next, a changed copy of prev, and tells the notifier when the
// status changed. It runs in the transaction q belongs to.
func (s *Service) save(ctx context.Context, q store.Queries, prev, next store.Recording) error {
	if prev.Status != next.Status && !canTransition(prev.Status, next.Status) {
		return fmt.Errorf("recording: %s cannot go from %s to %s", prev.ID, prev.Status, next.Status)
	}
	next.UpdatedAt = s.now().UTC()
	var sess SessionInfo
	if next.SessionID == "" || prev.Status != next.Status {
		var err error
		if sess, err = s.sessions.Session(ctx, q, next); err != nil {
			return err
		}
		if next.SessionID == "" && (sess.Live || next.RoomSID != "") {
			next.SessionID = sess.ID
		}
	}
	if err := q.UpdateRecording(ctx, next); err != nil {
		return err
	}
	if prev.Status == next.Status {
		return nil
	}
	if next.Status == store.RecordingUploaded || next.Status == store.RecordingErrored {
		s.released(ctx, next) // its recorder is done
	}
	m, err := q.GetMeeting(ctx, next.AppID, next.MeetingID)
	if err != nil {
		return err
	}
	app, err := q.GetApp(ctx, next.AppID)
	if err != nil {
		return err
	}
	return s.notifier.Enqueue(ctx, q, next.AppID, statusUpdate(s.view(next, m), app, sess))
}

// view adds the meeting and the download links to a recording.
func (s *Service) view(r store.Recording, m store.Meeting) View {
	v := View{Recording: r, Meeting: m}
	if r.Status != store.RecordingUploaded || s.signer == nil || decodeConfig(r.Config).BucketDisabled {
		return v
	}
	outs := decodeOutputs(r.Outputs)
	if len(outs) == 1 && isURL(outs[0].Location) {
		v.DownloadURL = outs[0].Location // Egress uploaded it to storage it names
		return v
	}
	servable, audio := false, false
	for _, o := range outs {
		if fs, err := localFiles(s.outputDir, o.Location, anyFile); err == nil && len(fs) > 0 {
			servable = true
			for _, f := range fs {
				audio = audio || strings.HasSuffix(f, ".ogg")
			}
		}
	}
	if !servable {
		return v
	}
	now := s.now()
	v.DownloadURL, v.DownloadURLExpiry = s.signer.URL(r.AppID, r.ID, r.OutputFileName, now)
	if audio && r.Backend == BackendLocal {
		v.AudioDownloadURL, _ = s.signer.URL(r.AppID, r.ID, audioName(r), now)
	}
	return v
}

func isURL(s string) bool {
	return strings.HasPrefix(s, "http://") || strings.HasPrefix(s, "https://")
}

// ---- outputs ----

// output is one job's files, as Recording.Outputs keeps them.
type output struct {
	Job      string `json:"job"`
	Location string `json:"location,omitempty"` // a file or directory, or a URL
	Filename string `json:"filename,omitempty"`
	Size     int64  `json:"size,omitempty"`
	Duration int64  `json:"duration_ns,omitempty"`
	Ended    bool   `json:"ended,omitempty"`
}

type outputs []output

func decodeOutputs(raw json.RawMessage) outputs {
	var outs outputs
	if len(raw) > 0 {
		_ = json.Unmarshal(raw, &outs)
	}
	return outs
}

func (o outputs) encode() json.RawMessage {
	if len(o) == 0 {
		return nil
	}
	b, _ := json.Marshal(o)
	return b
}

func (o outputs) allEnded() bool {
	for _, x := range o {
		if !x.Ended {
			return false
		}
	}
	return true
}

// merge records what a report says of its job's files.
func (o outputs) merge(info *livekit.EgressInfo) outputs {
	i := slices.IndexFunc(o, func(x output) bool { return x.Job == info.EgressId })
	if i < 0 {
		o = append(o, output{Job: info.EgressId})
		i = len(o) - 1
	}
	x := &o[i]
	if files := info.GetFileResults(); len(files) > 0 {
		f := files[0]
		if f.Location != "" {
			x.Location = f.Location
		} else if f.Filename != "" && x.Location == "" {
			x.Location = f.Filename
		}
		if f.Filename != "" {
			x.Filename = f.Filename
		}
		x.Size, x.Duration = f.Size, f.Duration
	}
	if egressEnded(info.Status) {
		x.Ended = true
	}
	return o
}

// sums sets the size, duration and (Egress) file name from the outputs.
func sums(r *store.Recording, o outputs) {
	var size, dur int64
	for _, x := range o {
		size += x.Size
		dur += x.Duration
	}
	r.FileSize = size
	r.Duration = int((time.Duration(dur) + time.Second/2) / time.Second)
	if r.Backend != BackendLocal {
		if len(o) == 1 && o[0].Filename != "" {
			r.OutputFileName = filepath.Base(o[0].Filename)
		} else if len(o) > 1 {
			r.OutputFileName = fileStem(*r) + ".zip"
		}
	}
}
