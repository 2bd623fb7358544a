package recording

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/livekit/protocol/auth"
	"github.com/livekit/protocol/livekit"
	"github.com/livekit/psrpc"
	lksdk "github.com/livekit/server-sdk-go/v2"
	"github.com/pion/rtp"
	"github.com/pion/rtp/codecs"
	"github.com/pion/webrtc/v4"
	"github.com/pion/webrtc/v4/pkg/media/ivfwriter"
)

// LocalConfig configures the LocalBackend.
type LocalConfig struct {
	// URL is the LiveKit server's URL (ws:// or http://), as the sidecar reaches it.
	URL       string
	APIKey    string
	APISecret string
}

// LocalBackend is the built-in recorder: for each job a hidden participant
// (identity "rec-<recording id>", grant Hidden + Recorder + CanSubscribe,
// no publishing) joins the room, subscribes to every track, present and
// future, and writes each track to its own file in the job's directory,
// without transcoding:
//
//   - Opus audio: <identity>_<source>_<track sid>.ogg (Ogg Opus);
//   - VP8, VP9 and AV1 video: .ivf, starting at the first key frame (the
//     recorder asks for one, PLI, when it subscribes and every 2 s until it
//     gets one, and again on resume);
//   - other codecs are not recorded (logged);
//
// plus manifest.json, which lists the tracks (participant, source, codec,
// packets, bytes, times). A muted track sends no RTP, so nothing is
// written while it is muted; its timeline keeps the gap (the file's
// timestamps follow the RTP clock). Pause drops every packet until resume
// and cuts the paused time out of each file's timeline. A job ends on Stop,
// on reaching its MaxDuration of recorded time (LIMIT_REACHED, paused time
// not counted), when the room closes or the recorder is disconnected, and
// when the backend's Run ends; then the files are closed and synced.
//
// Reports follow LiveKit Egress: STARTING from Start; ACTIVE once the
// recorder is in the room; ENDING when it leaves; COMPLETE or
// LIMIT_REACHED with one FileResult (Location = the job's directory, Size =
// all files, Duration = recorded time), or FAILED with Error.
type LocalBackend struct {
	cfg LocalConfig
	log *slog.Logger

	mu      sync.Mutex
	jobs    map[string]*localJob
	stopped bool
	wg      sync.WaitGroup
}

var _ Backend = (*LocalBackend)(nil)

// NewLocal returns a LocalBackend. It starts nothing: jobs start with Start
// and end, at the latest, when Run's context ends.
func NewLocal(cfg LocalConfig, log *slog.Logger) *LocalBackend {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &LocalBackend{cfg: cfg, log: log, jobs: map[string]*localJob{}}
}

// Name returns BackendLocal.
func (b *LocalBackend) Name() string { return BackendLocal }

// Run waits for ctx to end, then ends every job and waits until their
// files are closed and their last reports sent.
func (b *LocalBackend) Run(ctx context.Context) error {
	<-ctx.Done()
	b.mu.Lock()
	b.stopped = true
	jobs := make([]*localJob, 0, len(b.jobs))
	for _, j := range b.jobs {
		jobs = append(jobs, j)
	}
	b.mu.Unlock()
	for _, j := range jobs {
		j.end("end reason: recorder shut down", false)
	}
	b.wg.Wait()
	return nil
}

// ErrBackendStopped is returned by Start once the backend has stopped.
var ErrBackendStopped = psrpc.NewErrorf(psrpc.Unavailable, "the recorder is shutting down")

// Start starts a job (one for both kinds: every track gets its own file).
func (b *LocalBackend) Start(_ context.Context, job Job) ([]*livekit.EgressInfo, error) {
	if job.Dir == "" || job.Room == "" {
		return nil, errors.New("recording: local job needs a room and a directory")
	}
	var idb [8]byte
	_, _ = rand.Read(idb[:])
	id := "EG_" + hex.EncodeToString(idb[:])
	now := time.Now()
	j := &localJob{
		b: b, id: id, job: job, log: b.log.With("recording", job.RecordingID, "job", id, "room", job.Room),
		stop: make(chan string, 1), tracks: map[string]*trackFile{},
		info: &livekit.EgressInfo{
			EgressId: id, RoomName: job.Room, SourceType: livekit.EgressSourceType_EGRESS_SOURCE_TYPE_SDK,
			Status: livekit.EgressStatus_EGRESS_STARTING, UpdatedAt: now.UnixNano(),
		},
	}
	b.mu.Lock()
	if b.stopped {
		b.mu.Unlock()
		return nil, ErrBackendStopped
	}
	b.jobs[id] = j
	b.wg.Add(1)
	b.mu.Unlock()
	first := j.snapshot()
	go j.run()
	return []*livekit.EgressInfo{first}, nil
}

// Stop ends a job; an unknown or ended job is not an error.
func (b *LocalBackend) Stop(_ context.Context, jobID string) error {
	if j := b.job(jobID); j != nil {
		j.end("end reason: stopped", false)
	}
	return nil
}

// Pause stops writing a job's media.
func (b *LocalBackend) Pause(_ context.Context, jobID string) error {
	j := b.job(jobID)
	if j == nil {
		return psrpc.NewErrorf(psrpc.NotFound, "recording job %s is not running", jobID)
	}
	j.setPaused(true)
	return nil
}

// Resume resumes writing a paused job's media.
func (b *LocalBackend) Resume(_ context.Context, jobID string) error {
	j := b.job(jobID)
	if j == nil {
		return psrpc.NewErrorf(psrpc.NotFound, "recording job %s is not running", jobID)
	}
	j.setPaused(false)
	return nil
}

func (b *LocalBackend) job(id string) *localJob {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.jobs[id]
}

// token mints the recorder's LiveKit token.
func (b *LocalBackend) token(j *localJob) (string, error) {
	g := &auth.VideoGrant{RoomJoin: true, Room: j.job.Room, Hidden: true, Recorder: true}
	g.SetCanPublish(false)
	g.SetCanPublishData(false)
	g.SetCanSubscribe(true)
	return auth.NewAccessToken(b.cfg.APIKey, b.cfg.APISecret).
		SetIdentity(RecorderIdentity(j.job.RecordingID)).
		SetName("Recorder").
		SetVideoGrant(g).
		SetValidFor(24 * time.Hour).
		ToJWT()
}

// RecorderIdentity is the LiveKit identity of the local recorder of a recording.
func RecorderIdentity(recordingID string) string { return "rec-" + recordingID }

// localJob is one recording in progress.
type localJob struct {
	b   *LocalBackend
	id  string
	job Job
	log *slog.Logger

	stop    chan string // the end reason; capacity 1
	endOnce sync.Once
	limit   atomic.Bool // ended by MaxDuration

	mu          sync.Mutex
	info        *livekit.EgressInfo
	room        *lksdk.Room
	tracks      map[string]*trackFile // by track sid
	order       []*trackFile
	readers     sync.WaitGroup // track readers, and the room sid lookup
	plis        sync.WaitGroup // key frame requesters; they end when their track is closed
	paused      bool
	pausedAt    time.Time
	pausedTotal time.Duration
	activeAt    time.Time
	ending      bool // no new tracks
	writeErr    error
}

// end asks the job to end, once.
func (j *localJob) end(reason string, limit bool) {
	j.endOnce.Do(func() {
		j.limit.Store(limit)
		j.stop <- reason
	})
}

func (j *localJob) snapshot() *livekit.EgressInfo {
	j.mu.Lock()
	defer j.mu.Unlock()
	return cloneInfo(j.info)
}

// report updates the job's info and sends a copy to the service.
func (j *localJob) report(update func(info *livekit.EgressInfo)) {
	j.mu.Lock()
	update(j.info)
	j.info.UpdatedAt = max(time.Now().UnixNano(), j.info.UpdatedAt+1)
	info := cloneInfo(j.info)
	j.mu.Unlock()
	if j.job.Report != nil {
		j.job.Report(info)
	}
}

func cloneInfo(in *livekit.EgressInfo) *livekit.EgressInfo {
	out := &livekit.EgressInfo{
		EgressId: in.EgressId, RoomId: in.RoomId, RoomName: in.RoomName, SourceType: in.SourceType,
		Status: in.Status, StartedAt: in.StartedAt, EndedAt: in.EndedAt, UpdatedAt: in.UpdatedAt,
		Error: in.Error, ErrorCode: in.ErrorCode, Details: in.Details,
	}
	for _, f := range in.FileResults {
		out.FileResults = append(out.FileResults, &livekit.FileInfo{
			Filename: f.Filename, StartedAt: f.StartedAt, EndedAt: f.EndedAt,
			Duration: f.Duration, Size: f.Size, Location: f.Location,
		})
	}
	return out
}

// run is the job's life: join, record, leave, finish the files.
func (j *localJob) run() {
	defer j.b.wg.Done()
	defer func() {
		j.b.mu.Lock()
		delete(j.b.jobs, j.id)
		j.b.mu.Unlock()
	}()

	if err := os.MkdirAll(j.job.Dir, 0o750); err != nil {
		j.fail(fmt.Errorf("create %s: %w", j.job.Dir, err))
		return
	}
	tok, err := j.b.token(j)
	if err != nil {
		j.fail(fmt.Errorf("recorder token: %w", err))
		return
	}
	cb := lksdk.NewRoomCallback()
	cb.OnTrackSubscribed = j.onTrackSubscribed
	cb.OnDisconnectedWithReason = func(reason lksdk.DisconnectionReason) {
		j.end("end reason: room closed ("+string(reason)+")", false)
	}
	room := lksdk.NewRoom(cb)
	j.mu.Lock()
	j.room = room
	j.mu.Unlock()
	if err := room.JoinWithToken(j.b.cfg.URL, tok, lksdk.WithAutoSubscribe(true)); err != nil {
		j.fail(fmt.Errorf("join room %s: %w", j.job.Room, err))
		return
	}
	now := time.Now()
	j.mu.Lock()
	j.activeAt = now
	j.mu.Unlock()
	j.report(func(info *livekit.EgressInfo) {
		info.Status = livekit.EgressStatus_EGRESS_ACTIVE
		info.StartedAt = now.UnixNano()
	})
	j.readers.Add(1)
	go func() { // the room's sid may come up to 2 s after the join; Disconnect releases SID
		defer j.readers.Done()
		if sid := room.SID(); sid != "" {
			j.report(func(info *livekit.EgressInfo) { info.RoomId = sid })
		}
	}()

	var limit <-chan time.Time
	if j.job.MaxDuration > 0 {
		t := time.NewTicker(250 * time.Millisecond)
		defer t.Stop()
		limit = t.C
	}
	var reason string
wait:
	for {
		select {
		case reason = <-j.stop:
			break wait
		case <-limit:
			if j.recorded() >= j.job.MaxDuration {
				j.end("end reason: max duration reached", true)
			}
		}
	}

	ended := time.Now()
	j.mu.Lock()
	j.ending = true
	j.mu.Unlock()
	j.report(func(info *livekit.EgressInfo) {
		info.Status = livekit.EgressStatus_EGRESS_ENDING
		info.EndedAt = ended.UnixNano()
		info.Details = reason
	})
	room.Disconnect()
	j.readers.Wait() // reads fail once the peer connection is closed
	j.finish(reason, ended)
}

// recorded returns the recorded time so far: active time less paused time.
func (j *localJob) recorded() time.Duration {
	j.mu.Lock()
	defer j.mu.Unlock()
	if j.activeAt.IsZero() {
		return 0
	}
	d := time.Since(j.activeAt) - j.pausedTotal
	if j.paused {
		d -= time.Since(j.pausedAt)
	}
	return d
}

func (j *localJob) setPaused(p bool) {
	j.mu.Lock()
	if p == j.paused {
		j.mu.Unlock()
		return
	}
	j.paused = p
	if p {
		j.pausedAt = time.Now()
	} else {
		j.pausedTotal += time.Since(j.pausedAt)
	}
	tracks := append([]*trackFile(nil), j.order...)
	j.mu.Unlock()
	if !p {
		for _, t := range tracks {
			t.requestKeyFrame()
		}
	}
}

func (j *localJob) isPaused() bool {
	j.mu.Lock()
	defer j.mu.Unlock()
	return j.paused
}

// fail reports a job that could not record.
func (j *localJob) fail(err error) {
	j.log.Error("recording failed", "err", err)
	now := time.Now().UnixNano()
	j.report(func(info *livekit.EgressInfo) {
		info.Status = livekit.EgressStatus_EGRESS_FAILED
		info.Error = err.Error()
		info.EndedAt = now
	})
}

var unsafeName = regexp.MustCompile(`[^A-Za-z0-9._-]+`)

// safeName makes s usable in a file name.
func safeName(s string) string {
	s = unsafeName.ReplaceAllString(s, "-")
	if len(s) > 64 {
		s = s[:64]
	}
	if s == "" {
		s = "x"
	}
	return s
}

// onTrackSubscribed starts writing a track (lksdk calls it for tracks
// present at join and published later, on their first RTP packet).
func (j *localJob) onTrackSubscribed(track *webrtc.TrackRemote, pub *lksdk.RemoteTrackPublication, rp *lksdk.RemoteParticipant) {
	mime := strings.ToLower(track.Codec().MimeType)
	base := fmt.Sprintf("%s_%s_%s", safeName(rp.Identity()), strings.ToLower(pub.Source().String()), safeName(pub.SID()))
	if j.job.FilePrefix != "" {
		base = j.job.FilePrefix + "_" + base
	}
	t := &trackFile{
		job: j, track: track, rp: rp, sid: pub.SID(), identity: rp.Identity(), name: rp.Name(),
		source: pub.Source().String(), codec: mime, started: time.Now(),
	}
	var err error
	switch mime {
	case "audio/opus":
		t.kind, t.file = "audio", base+".ogg"
		err = t.openOgg(int(track.Codec().Channels))
	case "video/vp8", "video/vp9", "video/av1":
		t.kind, t.file = "video", base+".ivf"
		info := pub.TrackInfo()
		err = t.openIVF(mime, uint16(info.GetWidth()), uint16(info.GetHeight()))
	default:
		j.log.Warn("track not recorded: codec not supported", "participant", rp.Identity(), "track", pub.SID(), "codec", mime)
		return
	}
	if err != nil {
		j.writeFailed(fmt.Errorf("open %s: %w", t.file, err))
		return
	}
	j.mu.Lock()
	if _, dup := j.tracks[t.sid]; dup || j.ending {
		j.mu.Unlock()
		_ = t.close()
		_ = os.Remove(filepath.Join(j.job.Dir, t.file))
		return
	}
	j.tracks[t.sid] = t
	j.order = append(j.order, t)
	j.readers.Add(1)
	j.mu.Unlock()
	j.log.Debug("recording track", "participant", rp.Identity(), "track", pub.SID(), "codec", mime, "file", t.file)
	go t.read()
}

// writeFailed keeps the first write error; the job ends as FAILED.
func (j *localJob) writeFailed(err error) {
	j.mu.Lock()
	if j.writeErr == nil {
		j.writeErr = err
	}
	j.mu.Unlock()
	j.end("end reason: write error", false)
}

// manifest is manifest.json of a local recording.
type manifest struct {
	RecordingID string          `json:"recording_id"`
	JobID       string          `json:"job_id"`
	Room        string          `json:"room"`
	RoomSID     string          `json:"room_sid,omitempty"`
	StartedAt   time.Time       `json:"started_at"`
	EndedAt     time.Time       `json:"ended_at"`
	Duration    float64         `json:"duration_seconds"` // recorded, without pauses
	EndReason   string          `json:"end_reason"`
	Tracks      []manifestTrack `json:"tracks"`
}

type manifestTrack struct {
	File                string    `json:"file"`
	Kind                string    `json:"kind"` // audio or video
	Codec               string    `json:"codec"`
	Source              string    `json:"source"`
	TrackSID            string    `json:"track_sid"`
	ParticipantIdentity string    `json:"participant_identity"` // the RealtimeKit participant id
	ParticipantName     string    `json:"participant_name,omitempty"`
	StartedAt           time.Time `json:"started_at"`
	Packets             int       `json:"packets"`
	Bytes               int64     `json:"bytes"`
}

// finish closes the files, writes the manifest and sends the final report.
func (j *localJob) finish(reason string, ended time.Time) {
	j.mu.Lock()
	tracks := append([]*trackFile(nil), j.order...)
	started := j.activeAt
	roomSID := j.info.RoomId
	j.mu.Unlock()
	recorded := j.recorded()

	m := manifest{RecordingID: j.job.RecordingID, JobID: j.id, Room: j.job.Room, RoomSID: roomSID,
		StartedAt: started.UTC(), EndedAt: ended.UTC(), Duration: recorded.Seconds(), EndReason: reason,
		Tracks: []manifestTrack{}}
	var size int64
	for _, t := range tracks {
		if err := t.close(); err != nil {
			j.writeFailed(fmt.Errorf("close %s: %w", t.file, err))
		}
		syncFile(filepath.Join(j.job.Dir, t.file))
		var n int64
		if st, err := os.Stat(filepath.Join(j.job.Dir, t.file)); err == nil {
			n = st.Size()
		}
		size += n
		m.Tracks = append(m.Tracks, manifestTrack{File: t.file, Kind: t.kind, Codec: t.codec, Source: t.source,
			TrackSID: t.sid, ParticipantIdentity: t.identity, ParticipantName: t.name,
			StartedAt: t.started.UTC(), Packets: t.packetCount(), Bytes: n})
	}
	j.plis.Wait()
	if b, err := json.MarshalIndent(m, "", "  "); err == nil {
		path := filepath.Join(j.job.Dir, "manifest.json")
		if err := writeFileSync(path, b); err != nil {
			j.writeFailed(fmt.Errorf("write manifest: %w", err))
		} else {
			size += int64(len(b))
		}
	}
	syncDir(j.job.Dir)

	j.mu.Lock()
	writeErr := j.writeErr
	j.mu.Unlock()
	now := time.Now()
	j.report(func(info *livekit.EgressInfo) {
		info.EndedAt = ended.UnixNano()
		if writeErr != nil {
			info.Status = livekit.EgressStatus_EGRESS_FAILED
			info.Error = writeErr.Error()
			return
		}
		info.Status = livekit.EgressStatus_EGRESS_COMPLETE
		if j.limit.Load() {
			info.Status = livekit.EgressStatus_EGRESS_LIMIT_REACHED
		}
		info.FileResults = []*livekit.FileInfo{{
			Filename: filepath.Base(j.job.Dir), Location: j.job.Dir, Size: size,
			Duration: int64(recorded), StartedAt: started.UnixNano(), EndedAt: now.UnixNano(),
		}}
	})
}

func writeFileSync(path string, b []byte) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if _, err := f.Write(b); err != nil {
		f.Close()
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// syncFile flushes a closed file to disk.
func syncFile(path string) {
	if f, err := os.OpenFile(path, os.O_RDWR, 0); err == nil {
		_ = f.Sync()
		_ = f.Close()
	}
}

func syncDir(dir string) {
	if d, err := os.Open(dir); err == nil {
		_ = d.Sync()
		_ = d.Close()
	}
}

// trackFile writes one track.
type trackFile struct {
	job      *localJob
	track    *webrtc.TrackRemote
	rp       *lksdk.RemoteParticipant
	sid      string
	identity string
	name     string
	source   string
	codec    string
	kind     string
	file     string
	started  time.Time

	f   *os.File
	ogg *oggOpusWriter
	ivf *ivfwriter.IVFWriter

	// Timestamps: pause cuts its time out of the timeline.
	mu        sync.Mutex
	packets   int
	haveLast  bool
	lastTS    uint32 // last timestamp written (after the shift)
	lastRaw   uint32 // its timestamp as received
	step      uint32 // typical timestamp step between packets
	shift     uint32 // subtracted from received timestamps
	gap       bool   // packets were dropped by a pause
	keyFrame  bool   // a video key frame was seen
	closed    bool
	stopPLI   chan struct{}
	closeOnce sync.Once
}

func (t *trackFile) openOgg(channels int) error {
	f, err := os.Create(filepath.Join(t.job.job.Dir, t.file))
	if err != nil {
		return err
	}
	w, err := newOggOpusWriter(f, channels)
	if err != nil {
		f.Close()
		return err
	}
	t.f, t.ogg, t.step = f, w, 960
	return nil
}

func (t *trackFile) openIVF(mime string, width, height uint16) error {
	if width == 0 || height == 0 {
		width, height = 640, 480
	}
	codecName := map[string]string{"video/vp8": webrtc.MimeTypeVP8, "video/vp9": webrtc.MimeTypeVP9, "video/av1": webrtc.MimeTypeAV1}[mime]
	w, err := ivfwriter.New(filepath.Join(t.job.job.Dir, t.file),
		ivfwriter.WithCodec(codecName), ivfwriter.WithWidthAndHeight(width, height),
		ivfwriter.WithFrameRate(1, 90000), ivfwriter.WithDirectPTS())
	if err != nil {
		return err
	}
	t.ivf, t.step = w, 3000
	t.stopPLI = make(chan struct{})
	t.job.plis.Add(1)
	go func() {
		defer t.job.plis.Done()
		t.askForKeyFrames()
	}()
	return nil
}

// askForKeyFrames sends a PLI now and every 2 s until a key frame arrives.
func (t *trackFile) askForKeyFrames() {
	tick := time.NewTicker(2 * time.Second)
	defer tick.Stop()
	for {
		t.requestKeyFrame()
		select {
		case <-t.stopPLI:
			return
		case <-tick.C:
			t.mu.Lock()
			done := t.keyFrame || t.closed
			t.mu.Unlock()
			if done {
				return
			}
		}
	}
}

func (t *trackFile) requestKeyFrame() {
	if t.ivf != nil {
		t.rp.WritePLI(t.track.SSRC())
	}
}

// read copies the track's RTP into the file until the track or the
// connection ends.
func (t *trackFile) read() {
	defer t.job.readers.Done()
	for {
		pkt, _, err := t.track.ReadRTP()
		if err != nil {
			return
		}
		if err := t.write(pkt); err != nil {
			t.job.writeFailed(fmt.Errorf("write %s: %w", t.file, err))
			return
		}
	}
}

// write writes one packet, unless the job is paused. The first packet after
// a pause is placed one step after the last one written.
func (t *trackFile) write(pkt *rtp.Packet) error {
	paused := t.job.isPaused()
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.closed {
		return nil
	}
	if paused {
		t.gap = true
		return nil
	}
	if len(pkt.Payload) == 0 {
		return nil
	}
	if t.gap && t.haveLast {
		t.shift = pkt.Timestamp - (t.lastTS + t.step)
	}
	t.gap = false
	if t.haveLast {
		if d := pkt.Timestamp - t.lastRaw; d > 0 && d < 90000 {
			t.step = d
		}
	}
	t.lastRaw = pkt.Timestamp
	ts := pkt.Timestamp - t.shift
	t.lastTS, t.haveLast = ts, true
	t.packets++
	if t.ogg != nil {
		return t.ogg.WritePacket(pkt.Payload, ts)
	}
	if !t.keyFrame && isKeyFrame(t.codec, pkt.Payload) {
		t.keyFrame = true
	}
	out := *pkt
	out.Timestamp = ts
	return t.ivf.WriteRTP(&out)
}

// isKeyFrame reports whether an RTP payload starts a key frame (VP8 only;
// for other codecs the writer waits for one itself).
func isKeyFrame(codec string, payload []byte) bool {
	if codec != "video/vp8" {
		return true
	}
	var p codecs.VP8Packet
	if _, err := p.Unmarshal(payload); err != nil || len(p.Payload) == 0 {
		return false
	}
	return p.S == 1 && p.PID == 0 && p.Payload[0]&0x01 == 0
}

func (t *trackFile) packetCount() int {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.packets
}

// close finishes the file (headers, end of stream) and syncs it.
func (t *trackFile) close() error {
	var err error
	t.closeOnce.Do(func() {
		t.mu.Lock()
		t.closed = true
		t.mu.Unlock()
		if t.stopPLI != nil {
			close(t.stopPLI)
		}
		if t.ogg != nil {
			err = t.ogg.Close()
			if serr := t.f.Sync(); err == nil {
				err = serr
			}
			if cerr := t.f.Close(); err == nil {
				err = cerr
			}
		}
		if t.ivf != nil {
			err = t.ivf.Close() // rewrites the frame count, closes the file
		}
	})
	return err
}
