package recording

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/livekit/protocol/livekit"
	"github.com/livekit/psrpc"

	"rtk-sidecar/store"
	"rtk-sidecar/store/sqlstore"
	"rtk-sidecar/webhooks"
)

// fakeBackend is a Backend in memory: it records calls, starts jobs named
// EG_1, EG_2, ... (tracks: one per entry of Tracks), and fails when Err is set.
type fakeBackend struct {
	mu       sync.Mutex
	name     string
	canPause bool
	tracks   int // jobs per track recording
	err      error
	n        int
	jobs     []Job
	stopped  []string
	paused   []string
	resumed  []string
}

func (b *fakeBackend) Name() string { return b.name }

func (b *fakeBackend) Start(_ context.Context, job Job) ([]*livekit.EgressInfo, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.err != nil {
		return nil, b.err
	}
	b.jobs = append(b.jobs, job)
	count := 1
	if job.Kind == KindTrack && b.tracks > 0 {
		count = b.tracks
	}
	var infos []*livekit.EgressInfo
	for range count {
		b.n++
		infos = append(infos, &livekit.EgressInfo{EgressId: fmt.Sprintf("EG_%d", b.n), RoomName: job.Room,
			Status: livekit.EgressStatus_EGRESS_STARTING, UpdatedAt: 1})
	}
	return infos, nil
}

func (b *fakeBackend) Stop(_ context.Context, id string) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.stopped = append(b.stopped, id)
	return nil
}

func (b *fakeBackend) Pause(_ context.Context, id string) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	if !b.canPause {
		return ErrPauseUnsupported
	}
	b.paused = append(b.paused, id)
	return nil
}

func (b *fakeBackend) Resume(_ context.Context, id string) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	if !b.canPause {
		return ErrPauseUnsupported
	}
	b.resumed = append(b.resumed, id)
	return nil
}

func (b *fakeBackend) calls() (stopped, paused, resumed []string) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return append([]string(nil), b.stopped...), append([]string(nil), b.paused...), append([]string(nil), b.resumed...)
}

// recordingNotifier keeps every webhook, and fails while fail is set.
type recordingNotifier struct {
	mu     sync.Mutex
	events []webhooks.Event
	fail   error
}

func (n *recordingNotifier) Enqueue(_ context.Context, q store.Queries, _ string, e webhooks.Event) error {
	n.mu.Lock()
	defer n.mu.Unlock()
	if q == nil {
		return errors.New("no queries")
	}
	if n.fail != nil {
		return n.fail
	}
	n.events = append(n.events, e)
	return nil
}

// webhook is a decoded recording.statusUpdate body.
type webhook map[string]any

// absent stands for a field a body must not have (a JSON null is nil).
type absent struct{}

// at returns the value at a dotted path ("recording.stopReason.reason") and
// whether the body has it.
func (w webhook) at(path string) (any, bool) {
	var v any = map[string]any(w)
	for k := range strings.SplitSeq(path, ".") {
		m, ok := v.(map[string]any)
		if !ok {
			return nil, false
		}
		if v, ok = m[k]; !ok {
			return nil, false
		}
	}
	return v, true
}

// check reports every field of want that w does not have with that value
// (strings, float64 for numbers, nil for null, absent{} for no field).
func (w webhook) check(t *testing.T, want map[string]any) {
	t.Helper()
	for _, path := range slices.Sorted(maps.Keys(want)) {
		got, ok := w.at(path)
		switch {
		case want[path] == absent{} && ok:
			t.Errorf("webhook has %s = %#v, want none", path, got)
		case want[path] != absent{} && (!ok || got != want[path]):
			t.Errorf("webhook %s = %#v (present %v), want %#v", path, got, ok, want[path])
		}
	}
}

// updates decodes the webhooks of recording id, in order.
func (n *recordingNotifier) updates(t *testing.T, id string) []webhook {
	t.Helper()
	n.mu.Lock()
	defer n.mu.Unlock()
	var out []webhook
	for _, e := range n.events {
		var w webhook
		if err := json.Unmarshal(e.Body, &w); err != nil {
			t.Fatalf("webhook %s: %v: %s", e.Name, err, e.Body)
		}
		if e.Name != webhooks.RecordingStatusUpdate || w["event"] != e.Name {
			t.Fatalf("webhook named %q: %s", e.Name, e.Body)
		}
		if got, _ := w.at("recording.id"); got == id {
			out = append(out, w)
		}
	}
	return out
}

func (n *recordingNotifier) statuses(t *testing.T, id string) []string {
	t.Helper()
	var out []string
	for _, w := range n.updates(t, id) {
		st, _ := w.at("recording.status")
		out = append(out, fmt.Sprint(st))
	}
	return out
}

// with returns the fields of every map in ms, the later ones winning.
func with(ms ...map[string]any) map[string]any {
	out := map[string]any{}
	for _, m := range ms {
		maps.Copy(out, m)
	}
	return out
}

func (n *recordingNotifier) last(t *testing.T, id string) webhook {
	t.Helper()
	ws := n.updates(t, id)
	if len(ws) == 0 {
		t.Fatalf("no webhook for recording %s", id)
	}
	return ws[len(ws)-1]
}

const testApp = "app-1"

type testEnv struct {
	t        *testing.T
	st       store.Store
	backend  *fakeBackend
	notifier *recordingNotifier
	svc      *Service
	dir      string
	now      time.Time
}

func newTestEnv(t *testing.T, backendName string) *testEnv {
	t.Helper()
	ctx := t.Context()
	st, err := sqlstore.Open(ctx, "sqlite:"+filepath.Join(t.TempDir(), "rtk.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	now := time.Date(2026, 2, 3, 4, 5, 6, 0, time.UTC)
	if err := st.CreateApp(ctx, store.App{ID: testApp, AccountID: "acc", Name: "App One", CreatedAt: now}); err != nil {
		t.Fatal(err)
	}
	e := &testEnv{t: t, st: st, backend: &fakeBackend{name: backendName, canPause: backendName == BackendLocal},
		notifier: &recordingNotifier{}, dir: t.TempDir(), now: now}
	e.svc = New(st, e.backend, e.notifier, Options{
		OutputDir: e.dir, Signer: NewSigner([]byte("test-key-0123456789"), "https://rtk.example", time.Hour),
	})
	e.svc.now = func() time.Time { return e.now }
	return e
}

func (e *testEnv) meeting(id, parent string, recordOnStart bool) store.Meeting {
	e.t.Helper()
	m := store.Meeting{ID: id, AppID: testApp, ParentID: parent, Title: "Meeting " + id, Status: store.MeetingActive,
		RecordOnStart: recordOnStart, CreatedAt: e.now, UpdatedAt: e.now}
	if err := e.st.CreateMeeting(e.t.Context(), m); err != nil {
		e.t.Fatal(err)
	}
	return m
}

func (e *testEnv) get(id string) store.Recording {
	e.t.Helper()
	r, err := e.st.GetRecording(e.t.Context(), testApp, id)
	if err != nil {
		e.t.Fatal(err)
	}
	return r
}

func (e *testEnv) start(meetingID string, in StartInput) View {
	e.t.Helper()
	in.MeetingID = &meetingID
	v, err := e.svc.Start(e.t.Context(), testApp, in)
	if err != nil {
		e.t.Fatalf("Start: %v", err)
	}
	return v
}

// report applies a backend report synchronously, as Run would.
func (e *testEnv) report(job string, status livekit.EgressStatus, updatedAt int64, files ...*livekit.FileInfo) {
	e.svc.applyReport(e.t.Context(), &livekit.EgressInfo{EgressId: job, Status: status, UpdatedAt: updatedAt,
		StartedAt: e.now.Add(time.Second).UnixNano(), FileResults: files, RoomId: "RM_1"})
}

func wantCode(t *testing.T, err error, code psrpc.ErrorCode, parts ...string) {
	t.Helper()
	got, _ := psrpc.GetErrorCode(err)
	if err == nil || got != code {
		t.Fatalf("err = %v, want %s", err, code)
	}
	for _, p := range parts {
		if !strings.Contains(err.Error(), p) {
			t.Errorf("error %q lacks %q", err, p)
		}
	}
}

func TestLifecycle(t *testing.T) {
	e := newTestEnv(t, BackendLocal)
	m := e.meeting("m-1", "", false)
	ctx := t.Context()
	v := e.start(m.ID, StartInput{FileNamePrefix: ptr("standup")})
	if v.Status != store.RecordingInvoked || v.BackendID != "EG_1" || v.StartReason != ReasonAPICall || v.Meeting.ID != m.ID {
		t.Fatalf("started: %+v", v.Recording)
	}
	if v.OutputFileName != "standup_"+v.ID+".zip" {
		t.Errorf("output file name %q", v.OutputFileName)
	}
	job := e.backend.jobs[0]
	if job.Room != m.ID || job.Dir != filepath.Join(e.dir, testApp, v.ID) || job.FilePrefix != "standup" || job.Report == nil {
		t.Errorf("job: %+v", job)
	}

	// The room is open: its session becomes the recording's.
	if err := e.st.CreateSession(ctx, store.Session{ID: "s-1", AppID: testApp, MeetingID: m.ID, Title: m.Title, RoomSID: "RM_1",
		Status: store.SessionLive, StartedAt: e.now, CreatedAt: e.now, UpdatedAt: e.now}); err != nil {
		t.Fatal(err)
	}
	e.report("EG_1", livekit.EgressStatus_EGRESS_ACTIVE, 10)
	r := e.get(v.ID)
	if r.Status != store.RecordingRecording || !r.StartedAt.Equal(e.now.Add(time.Second)) || r.RoomSID != "RM_1" || r.BackendUpdatedAt != 10 ||
		r.SessionID != "s-1" {
		t.Fatalf("after ACTIVE: %+v", r)
	}

	// A stale report (older UpdatedAt) is dropped: it must not undo anything.
	e.report("EG_1", livekit.EgressStatus_EGRESS_ENDING, 5)
	if r := e.get(v.ID); r.Status != store.RecordingRecording {
		t.Fatalf("stale ENDING applied: %s", r.Status)
	}

	e.now = e.now.Add(time.Minute)
	got, err := e.svc.Act(ctx, testApp, v.ID, ActionStop)
	if err != nil {
		t.Fatal(err)
	}
	if got.Status != store.RecordingUploading || got.StopReason != ReasonAPICall || !got.StoppedAt.Equal(e.now) {
		t.Fatalf("after stop: %+v", got.Recording)
	}
	if stopped, _, _ := e.backend.calls(); len(stopped) != 1 || stopped[0] != "EG_1" {
		t.Errorf("backend stops: %v", stopped)
	}

	// The job's files: a directory under the output dir.
	dir := job.Dir
	if err := os.MkdirAll(dir, 0o750); err != nil {
		t.Fatal(err)
	}
	for name, body := range map[string]string{"alice_microphone_TR_1.ogg": "OggS-alice", "bob_camera_TR_2.ivf": "DKIF-bob", "manifest.json": "{}"} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	e.report("EG_1", livekit.EgressStatus_EGRESS_ENDING, 20)
	e.report("EG_1", livekit.EgressStatus_EGRESS_COMPLETE, 30, &livekit.FileInfo{
		Filename: filepath.Base(dir), Location: dir, Size: 12345, Duration: int64(61500 * time.Millisecond)})
	v, err = e.svc.Get(ctx, testApp, v.ID)
	if err != nil {
		t.Fatal(err)
	}
	if v.Status != store.RecordingUploaded || v.FileSize != 12345 || v.Duration != 62 || v.StopReason != ReasonAPICall {
		t.Fatalf("after COMPLETE: %+v", v.Recording)
	}
	if !strings.HasPrefix(v.DownloadURL, "https://rtk.example/recordings/files/app-1/"+v.ID+"/standup_"+v.ID+".zip?") ||
		!strings.Contains(v.AudioDownloadURL, "_audio.zip?") || !v.DownloadURLExpiry.Equal(e.now.Add(time.Hour)) {
		t.Errorf("links: %q %q %v", v.DownloadURL, v.AudioDownloadURL, v.DownloadURLExpiry)
	}

	// Webhooks: one per transition after INVOKED, in order, each with what
	// was known then.
	if got := e.notifier.statuses(t, v.ID); strings.Join(got, ",") != "RECORDING,UPLOADING,UPLOADED" {
		t.Fatalf("status updates %v", got)
	}
	ws := e.notifier.updates(t, v.ID)
	always := map[string]any{
		"event": "recording.statusUpdate", "recording.id": v.ID, "recording.recordingId": v.ID, "recording.meetingId": "m-1",
		"recording.organizationId": "app-1", "recording.roomUUID": "s-1", "recording.invokedTime": "2026-02-03T04:05:06.000Z",
		"recording.startedTime": "2026-02-03T04:05:07.000Z",
		"meeting.id":            "m-1", "meeting.sessionId": "s-1", "meeting.title": "Meeting m-1", "meeting.roomName": "m-1",
		"meeting.status": "LIVE", "meeting.createdAt": "2026-02-03T04:05:06.000Z", "meeting.startedAt": "2026-02-03T04:05:06.000Z",
		"meeting.endedAt": absent{}, "meeting.organizedBy.id": "app-1", "meeting.organizedBy.name": "App One",
		"meeting.parentMeetingId": absent{}, "meeting.parentSessionId": absent{},
	}
	stopped := map[string]any{
		"recording.stoppedTime": "2026-02-03T04:06:06.000Z", "recording.outputFileName": "standup_" + v.ID + ".zip",
		"recording.stopReason.reason": "API_CALL", "recording.stopReason.caller.type": "ORGANIZATION",
	}
	ws[0].check(t, with(always, map[string]any{"recording.status": "RECORDING", "recording.stoppedTime": absent{},
		"recording.outputFileName": absent{}, "recording.stopReason": absent{}, "recording.fileSize": absent{}}))
	ws[1].check(t, with(always, stopped, map[string]any{"recording.status": "UPLOADING", "recording.fileSize": absent{},
		"recording.recordingDuration": absent{}, "recording.downloadUrl": absent{}, "recording.downloadUrlExpiry": absent{}}))
	ws[2].check(t, with(always, stopped, map[string]any{"recording.status": "UPLOADED", "recording.fileSize": "12345",
		"recording.recordingDuration": 62.0, "recording.downloadUrl": v.DownloadURL, "recording.audioDownloadUrl": v.AudioDownloadURL,
		"recording.downloadUrlExpiry": "2026-02-03T05:06:06.000Z"}))

	// Actions on a finished recording are refused, naming what they need.
	_, err = e.svc.Act(ctx, testApp, v.ID, ActionPause)
	wantCode(t, err, psrpc.FailedPrecondition, "it is UPLOADED", "only a recording that is RECORDING can be paused")
	_, err = e.svc.Act(ctx, testApp, v.ID, ActionStop)
	wantCode(t, err, psrpc.FailedPrecondition, "it is UPLOADED")
	_, err = e.svc.Act(ctx, testApp, "nope", ActionStop)
	wantCode(t, err, psrpc.NotFound, "recording nope not found")

	// Late reports change nothing.
	e.report("EG_1", livekit.EgressStatus_EGRESS_FAILED, 40)
	if r := e.get(v.ID); r.Status != store.RecordingUploaded {
		t.Errorf("a report after UPLOADED changed the status to %s", r.Status)
	}

	// Downloads: the archive and the audio archive.
	d, err := e.svc.Download(ctx, testApp, v.ID, v.OutputFileName, linkParam(t, v.DownloadURL, "expires"), linkParam(t, v.DownloadURL, "signature"))
	if err != nil {
		t.Fatal(err)
	}
	if !d.IsArchive() || len(d.files) != 3 {
		t.Errorf("download: %+v", d)
	}
	d, err = e.svc.Download(ctx, testApp, v.ID, audioName(v.Recording), linkParam(t, v.AudioDownloadURL, "expires"), linkParam(t, v.AudioDownloadURL, "signature"))
	if err != nil {
		t.Fatal(err)
	}
	if len(d.files) != 2 || !strings.HasSuffix(d.files[0], ".ogg") || !strings.HasSuffix(d.files[1], "manifest.json") {
		t.Errorf("audio download files: %v", d.files)
	}
}

func linkParam(t *testing.T, link, name string) string {
	t.Helper()
	_, q, _ := strings.Cut(link, "?")
	for _, kv := range strings.Split(q, "&") {
		if k, v, _ := strings.Cut(kv, "="); k == name {
			return v
		}
	}
	t.Fatalf("%s has no %s", link, name)
	return ""
}

func ptr[T any](v T) *T { return &v }

func TestStartValidation(t *testing.T) {
	e := newTestEnv(t, BackendLocal)
	e.meeting("m-1", "", false)
	ctx := t.Context()
	for _, tc := range []struct {
		name string
		in   StartInput
		code psrpc.ErrorCode
		want string
	}{
		{"no meeting id", StartInput{}, psrpc.InvalidArgument, `"meeting_id" is required`},
		{"unknown meeting", StartInput{MeetingID: ptr("nope")}, psrpc.NotFound, "meeting nope not found"},
		{"max_seconds too small", StartInput{MeetingID: ptr("m-1"), MaxSeconds: ptr(59.0)}, psrpc.InvalidArgument, `"max_seconds" must be between 60 and 86400`},
		{"max_seconds too large", StartInput{MeetingID: ptr("m-1"), MaxSeconds: ptr(86401.0)}, psrpc.InvalidArgument, `"max_seconds" must be between 60 and 86400`},
		{"max_seconds fractional", StartInput{MeetingID: ptr("m-1"), MaxSeconds: ptr(60.5)}, psrpc.InvalidArgument, `"max_seconds"`},
		{"bad prefix", StartInput{MeetingID: ptr("m-1"), FileNamePrefix: ptr("../etc")}, psrpc.InvalidArgument, `"file_name_prefix"`},
		{"bad video codec", StartInput{MeetingID: ptr("m-1"), VideoConfig: &VideoConfig{Codec: "AV1"}}, psrpc.InvalidArgument, `"video_config.codec" must be one of [H264, VP8]`},
		{"bad width", StartInput{MeetingID: ptr("m-1"), VideoConfig: &VideoConfig{Width: ptr(0.0)}}, psrpc.InvalidArgument, `"video_config.width"`},
		{"bad audio channel", StartInput{MeetingID: ptr("m-1"), AudioConfig: &AudioConfig{Channel: "5.1"}}, psrpc.InvalidArgument, `"audio_config.channel"`},
		{"bad storage type", StartInput{MeetingID: ptr("m-1"), StorageConfig: json.RawMessage(`{"type":"ftp"}`)}, psrpc.InvalidArgument, `"storage_config.type"`},
		{"url", StartInput{URL: ptr("https://example.com")}, psrpc.InvalidArgument, `"url" is not supported`},
		{"rtmp", StartInput{MeetingID: ptr("m-1"), RTMPOutConfig: &RTMPOutConfig{RTMPURL: "rtmp://x"}}, psrpc.InvalidArgument, `"rtmp_out_config" is not supported`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := e.svc.Start(ctx, testApp, tc.in)
			wantCode(t, err, tc.code, tc.want)
		})
	}
	if len(e.backend.jobs) != 0 {
		t.Errorf("invalid requests started jobs: %v", e.backend.jobs)
	}
}

func TestOneActiveRecording(t *testing.T) {
	e := newTestEnv(t, BackendLocal)
	e.meeting("m-1", "", false)
	ctx := t.Context()
	first := e.start("m-1", StartInput{})
	_, err := e.svc.Start(ctx, testApp, StartInput{MeetingID: ptr("m-1")})
	wantCode(t, err, psrpc.AlreadyExists, "already being recorded", first.ID, "allow_multiple_recordings")
	e.now = e.now.Add(time.Second)
	second := e.start("m-1", StartInput{AllowMultipleRecordings: true})

	active, err := e.svc.Active(ctx, testApp, "m-1")
	if err != nil || active.ID != second.ID {
		t.Fatalf("Active = %v, %v; want the newest, %s", active.ID, err, second.ID)
	}
	for _, id := range []string{first.ID, second.ID} {
		if _, err := e.svc.Act(ctx, testApp, id, ActionStop); err != nil {
			t.Fatal(err)
		}
	}
	_, err = e.svc.Active(ctx, testApp, "m-1")
	wantCode(t, err, psrpc.NotFound, "has no active recording")
	_, err = e.svc.Active(ctx, testApp, "nope")
	wantCode(t, err, psrpc.NotFound, "meeting nope not found")
	e.start("m-1", StartInput{}) // allowed again once stopped
}

func TestStartFailure(t *testing.T) {
	e := newTestEnv(t, BackendEgress)
	e.meeting("m-1", "", false)
	e.backend.err = fmt.Errorf("recording: start: %w: connection refused", ErrEgressUnavailable)
	_, err := e.svc.Start(t.Context(), testApp, StartInput{MeetingID: ptr("m-1")})
	wantCode(t, err, psrpc.Unavailable, "connection refused")
	rs, _, _ := e.st.ListRecordings(t.Context(), testApp, store.RecordingFilter{})
	if len(rs) != 1 || rs[0].Status != store.RecordingErrored || rs[0].StopReason != ReasonInternalError || !strings.Contains(rs[0].Error, "connection refused") {
		t.Fatalf("recordings after a failed start: %+v", rs)
	}
	if got := e.notifier.statuses(t, rs[0].ID); len(got) != 1 || got[0] != store.RecordingErrored {
		t.Fatalf("status updates %v", got)
	}
	// It never started, and the meeting has no session.
	e.notifier.last(t, rs[0].ID).check(t, map[string]any{
		"recording.status": "ERRORED", "recording.roomUUID": "", "recording.invokedTime": "2026-02-03T04:05:06.000Z",
		"recording.startedTime": nil, "recording.stoppedTime": "2026-02-03T04:05:06.000Z",
		"recording.stopReason.reason": "INTERNAL_ERROR", "recording.stopReason.caller": absent{}, "recording.fileSize": absent{},
		"meeting.id": "m-1", "meeting.sessionId": "", "meeting.status": "ENDED", "meeting.startedAt": nil, "meeting.endedAt": absent{},
	})
}

func TestPauseInPlace(t *testing.T) {
	e := newTestEnv(t, BackendLocal)
	e.meeting("m-1", "", false)
	ctx := t.Context()
	v := e.start("m-1", StartInput{})
	_, err := e.svc.Act(ctx, testApp, v.ID, ActionPause)
	wantCode(t, err, psrpc.FailedPrecondition, "it is INVOKED")
	e.report("EG_1", livekit.EgressStatus_EGRESS_ACTIVE, 10)
	got, err := e.svc.Act(ctx, testApp, v.ID, ActionPause)
	if err != nil || got.Status != store.RecordingPaused || got.BackendID != "EG_1" {
		t.Fatalf("pause: %v %+v", err, got.Recording)
	}
	// A late ACTIVE report does not unpause it.
	e.report("EG_1", livekit.EgressStatus_EGRESS_ACTIVE, 11)
	if r := e.get(v.ID); r.Status != store.RecordingPaused {
		t.Fatalf("ACTIVE report unpaused the recording: %s", r.Status)
	}
	_, err = e.svc.Act(ctx, testApp, v.ID, ActionPause)
	wantCode(t, err, psrpc.FailedPrecondition, "it is PAUSED")
	got, err = e.svc.Act(ctx, testApp, v.ID, ActionResume)
	if err != nil || got.Status != store.RecordingRecording {
		t.Fatalf("resume: %v %+v", err, got.Recording)
	}
	_, paused, resumed := e.backend.calls()
	if len(paused) != 1 || len(resumed) != 1 {
		t.Errorf("backend pauses %v resumes %v", paused, resumed)
	}
	if got := e.notifier.statuses(t, v.ID); strings.Join(got, ",") != "RECORDING,PAUSED,RECORDING" {
		t.Errorf("status updates %v", got)
	}
}

// TestPauseBySegments: Egress cannot pause, so pause stops the job and
// resume starts another; the recording ends with both jobs' files.
func TestPauseBySegments(t *testing.T) {
	e := newTestEnv(t, BackendEgress)
	e.meeting("m-1", "", false)
	ctx := t.Context()
	v := e.start("m-1", StartInput{})
	e.report("EG_1", livekit.EgressStatus_EGRESS_ACTIVE, 10)
	if _, err := e.svc.Act(ctx, testApp, v.ID, ActionPause); err != nil {
		t.Fatal(err)
	}
	r := e.get(v.ID)
	if r.Status != store.RecordingPaused || r.BackendID != "" {
		t.Fatalf("paused: %+v", r)
	}
	// The stopped job ends: its file is kept, the status stays PAUSED.
	e.report("EG_1", livekit.EgressStatus_EGRESS_COMPLETE, 20, &livekit.FileInfo{Filename: "/x/a.mp4", Location: "/x/a.mp4", Size: 100, Duration: int64(10 * time.Second)})
	if r := e.get(v.ID); r.Status != store.RecordingPaused || r.FileSize != 100 {
		t.Fatalf("after the paused job's end: %+v", r)
	}
	if _, err := e.svc.Act(ctx, testApp, v.ID, ActionResume); err != nil {
		t.Fatal(err)
	}
	r = e.get(v.ID)
	if r.Status != store.RecordingRecording || r.BackendID != "EG_2" || e.backend.jobs[1].Segment != 1 {
		t.Fatalf("resumed: %+v (job %+v)", r, e.backend.jobs[1])
	}
	if _, err := e.svc.Act(ctx, testApp, v.ID, ActionStop); err != nil {
		t.Fatal(err)
	}
	e.report("EG_2", livekit.EgressStatus_EGRESS_COMPLETE, 30, &livekit.FileInfo{Filename: "/x/b.mp4", Location: "/x/b.mp4", Size: 50, Duration: int64(5 * time.Second)})
	r = e.get(v.ID)
	if r.Status != store.RecordingUploaded || r.FileSize != 150 || r.Duration != 15 || r.OutputFileName != v.ID+".zip" {
		t.Fatalf("after both jobs: %+v", r)
	}
	stopped, _, _ := e.backend.calls()
	if strings.Join(stopped, ",") != "EG_1,EG_2" {
		t.Errorf("stopped jobs %v", stopped)
	}
}

// TestStopWhilePausedBySegments: stopping a recording paused by stopping its
// job completes it once that job's files are in.
func TestStopWhilePausedBySegments(t *testing.T) {
	e := newTestEnv(t, BackendEgress)
	e.meeting("m-1", "", false)
	ctx := t.Context()
	v := e.start("m-1", StartInput{})
	e.report("EG_1", livekit.EgressStatus_EGRESS_ACTIVE, 10)
	if _, err := e.svc.Act(ctx, testApp, v.ID, ActionPause); err != nil {
		t.Fatal(err)
	}
	got, err := e.svc.Act(ctx, testApp, v.ID, ActionStop)
	if err != nil || got.Status != store.RecordingUploading {
		t.Fatalf("stop while paused: %v %+v", err, got.Recording)
	}
	e.report("EG_1", livekit.EgressStatus_EGRESS_COMPLETE, 20, &livekit.FileInfo{Filename: "/x/a.mp4", Location: "/x/a.mp4", Size: 100, Duration: int64(10 * time.Second)})
	if r := e.get(v.ID); r.Status != store.RecordingUploaded || r.OutputFileName != "a.mp4" {
		t.Fatalf("after the job's end: %+v", r)
	}
}

func TestFailedEgress(t *testing.T) {
	e := newTestEnv(t, BackendEgress)
	e.meeting("m-1", "", false)
	v := e.start("m-1", StartInput{})
	e.svc.applyReport(t.Context(), &livekit.EgressInfo{EgressId: "EG_1", Status: livekit.EgressStatus_EGRESS_ABORTED,
		Error: "Start signal not received", UpdatedAt: 5})
	r := e.get(v.ID)
	if r.Status != store.RecordingErrored || r.Error != "Start signal not received" || r.StopReason != ReasonInternalError || r.StoppedAt.IsZero() {
		t.Fatalf("after ABORTED: %+v", r)
	}
}

// TestEarlyReportsWait: reports of a job that Start has not stored yet wait
// for it (the local recorder may report ACTIVE before Start returns).
func TestEarlyReportsWait(t *testing.T) {
	e := newTestEnv(t, BackendLocal)
	e.meeting("m-1", "", false)
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() { done <- e.svc.Run(ctx) }()
	defer func() { cancel(); <-done }()

	e.svc.Report(&livekit.EgressInfo{EgressId: "EG_1", Status: livekit.EgressStatus_EGRESS_ACTIVE, UpdatedAt: 10, StartedAt: 1})
	waitFor(t, func() bool { e.svc.mu.Lock(); defer e.svc.mu.Unlock(); return len(e.svc.parked["EG_1"]) == 1 })
	v := e.start("m-1", StartInput{})
	waitFor(t, func() bool { return e.get(v.ID).Status == store.RecordingRecording })
}

func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("condition not met within 5s")
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func TestTrackRecordings(t *testing.T) {
	e := newTestEnv(t, BackendEgress)
	e.meeting("m-1", "", false)
	e.backend.tracks = 3
	ctx := t.Context()
	_, err := e.svc.StartTracks(ctx, testApp, TrackInput{MeetingID: ptr("m-1")})
	wantCode(t, err, psrpc.InvalidArgument, `"layers" is required`)
	_, err = e.svc.StartTracks(ctx, testApp, TrackInput{MeetingID: ptr("m-1"), Layers: map[string]TrackLayer{"default": {FileNamePrefix: "a/b"}}})
	wantCode(t, err, psrpc.InvalidArgument, `"layers.default.file_name_prefix"`)
	composite := e.start("m-1", StartInput{}) // track recordings run alongside
	vs, err := e.svc.StartTracks(ctx, testApp, TrackInput{MeetingID: ptr("m-1"), MaxSeconds: ptr(120.0),
		Layers: map[string]TrackLayer{"default": {FileNamePrefix: "trk", Outputs: []json.RawMessage{json.RawMessage(`{"type":"STORAGE_CONFIG","storage_config":{"secret":"s3cr3t"}}`)}}}})
	if err != nil {
		t.Fatal(err)
	}
	if len(vs) != 3 {
		t.Fatalf("%d track recordings, want one per egress (3)", len(vs))
	}
	seen := map[string]bool{}
	for _, v := range vs {
		if v.Kind != KindTrack || v.MaxSeconds != 120 || v.FileNamePrefix != "trk" || seen[v.BackendID] || strings.Contains(string(v.Config), "s3cr3t") {
			t.Errorf("track recording %+v", v.Recording)
		}
		seen[v.BackendID] = true
	}
	if active, err := e.svc.Active(ctx, testApp, "m-1"); err != nil || active.ID != composite.ID {
		t.Errorf("Active = %v %v, want the composite recording", active.ID, err)
	}
}

func TestListFilters(t *testing.T) {
	e := newTestEnv(t, BackendLocal)
	e.meeting("m-1", "", false)
	e.meeting("m-2", "", false)
	ctx := t.Context()
	a := e.start("m-1", StartInput{})
	e.now = e.now.Add(time.Minute)
	b := e.start("m-2", StartInput{})
	if _, err := e.svc.Act(ctx, testApp, a.ID, ActionStop); err != nil {
		t.Fatal(err)
	}
	vs, total, err := e.svc.List(ctx, testApp, ListFilter{})
	if err != nil || total != 2 || vs[0].ID != b.ID || vs[0].Meeting.ID != "m-2" || vs[1].Meeting.ID != "m-1" {
		t.Fatalf("List = %v %d %v", vs, total, err)
	}
	vs, total, _ = e.svc.List(ctx, testApp, ListFilter{RecordingFilter: store.RecordingFilter{Statuses: []string{store.RecordingUploading}}})
	if total != 1 || vs[0].ID != a.ID {
		t.Errorf("status filter: %v", vs)
	}
	vs, total, _ = e.svc.List(ctx, testApp, ListFilter{Expired: ptr(true)})
	if total != 0 || len(vs) != 0 {
		t.Errorf("expired=true: %v", vs)
	}
	_, total, _ = e.svc.List(ctx, testApp, ListFilter{Expired: ptr(false)})
	if total != 2 {
		t.Errorf("expired=false: total %d", total)
	}
}

func lkRoom(m store.Meeting, sid string) *livekit.Room {
	meta, _ := json.Marshal(roomMeta{AppID: m.AppID, MeetingID: m.ID, ParentMeetingID: m.ParentID})
	return &livekit.Room{Name: m.ID, Sid: sid, Metadata: string(meta)}
}

func person(id string) *livekit.ParticipantInfo { return &livekit.ParticipantInfo{Identity: id} }

// joined runs a participant_joined event through HandleLiveKitEvent and
// the queue, as Run would.
func (e *testEnv) event(name string, room *livekit.Room, p *livekit.ParticipantInfo) {
	e.svc.HandleLiveKitEvent(e.t.Context(), &livekit.WebhookEvent{Event: name, Room: room, Participant: p})
	for _, f := range e.svc.work.take() {
		f(e.t.Context())
	}
}

func (e *testEnv) recordingsOf(meetingID string) []store.Recording {
	e.t.Helper()
	rs, _, err := e.st.ListRecordings(e.t.Context(), testApp, store.RecordingFilter{MeetingID: meetingID})
	if err != nil {
		e.t.Fatal(err)
	}
	return rs
}

func TestRecordOnStart(t *testing.T) {
	e := newTestEnv(t, BackendLocal)
	m := e.meeting("m-1", "", true)
	plain := e.meeting("m-plain", "", false)
	cfg := json.RawMessage(`{"max_seconds": 600, "file_name_prefix": "auto"}`)
	m.RecordingConfig = cfg
	if err := e.st.UpdateMeeting(t.Context(), m); err != nil {
		t.Fatal(err)
	}

	// Hidden participants (recorders, egress, hidden grants) start nothing.
	e.event("participant_joined", lkRoom(m, "RM_a"), person("rec-xyz"))
	e.event("participant_joined", lkRoom(m, "RM_a"), person("EG_abc"))
	e.event("participant_joined", lkRoom(m, "RM_a"), &livekit.ParticipantInfo{Identity: "ghost", Permission: &livekit.ParticipantPermission{Hidden: true}})
	e.event("participant_joined", lkRoom(plain, "RM_p"), person("alice"))
	if rs := e.recordingsOf(m.ID); len(rs) != 0 {
		t.Fatalf("hidden joins started %d recordings", len(rs))
	}
	if rs := e.recordingsOf(plain.ID); len(rs) != 0 {
		t.Fatalf("a meeting without record_on_start was recorded")
	}

	e.event("participant_joined", lkRoom(m, "RM_a"), person("alice"))
	e.event("participant_joined", lkRoom(m, "RM_a"), person("bob"))
	rs := e.recordingsOf(m.ID)
	if len(rs) != 1 || rs[0].StartReason != ReasonRecordOnStart || rs[0].RoomSID != "RM_a" || rs[0].MaxSeconds != 600 || rs[0].FileNamePrefix != "auto" {
		t.Fatalf("record on start: %+v", rs)
	}
	// Stopped by the API: later joins of the same room session do not restart it.
	if _, err := e.svc.Act(t.Context(), testApp, rs[0].ID, ActionStop); err != nil {
		t.Fatal(err)
	}
	e.event("participant_joined", lkRoom(m, "RM_a"), person("carol"))
	if rs := e.recordingsOf(m.ID); len(rs) != 1 {
		t.Fatalf("%d recordings after a stop and a join in the same session", len(rs))
	}
	e.event("room_finished", lkRoom(m, "RM_a"), nil)
	if r := e.get(rs[0].ID); r.StopReason != ReasonAPICall {
		t.Errorf("room_finished overwrote the stop reason: %s", r.StopReason)
	}
	// A new room session records again, and room_finished stops it.
	e.now = e.now.Add(time.Hour)
	e.event("participant_joined", lkRoom(m, "RM_b"), person("alice"))
	rs = e.recordingsOf(m.ID)
	if len(rs) != 2 || rs[0].RoomSID != "RM_b" {
		t.Fatalf("second session: %+v", rs)
	}
	e.event("room_finished", lkRoom(m, "RM_b"), nil)
	if r := e.get(rs[0].ID); r.Status != store.RecordingUploading || r.StopReason != ReasonAllPeersLeft {
		t.Fatalf("after room_finished: %+v", r)
	}
}

// TestBreakoutRecordings: while the parent is recorded, each breakout room
// that starts gets its own recording under its own meeting, stopped when
// that room closes; the parent's recording is not affected.
func TestBreakoutRecordings(t *testing.T) {
	e := newTestEnv(t, BackendLocal)
	parent := e.meeting("parent", "", false)
	c1 := e.meeting("child-1", "parent", false)
	c2 := e.meeting("child-2", "parent", false)

	// Not recorded yet: a breakout room starting is not recorded.
	e.event("participant_joined", lkRoom(c1, "RM_c1a"), person("alice"))
	if rs := e.recordingsOf(c1.ID); len(rs) != 0 {
		t.Fatal("a breakout of an unrecorded meeting was recorded")
	}
	e.event("room_finished", lkRoom(c1, "RM_c1a"), nil)

	pv := e.start(parent.ID, StartInput{})
	for _, sess := range []store.Session{
		{ID: "s-parent", MeetingID: parent.ID, RoomSID: "RM_p"},
		{ID: "s-c1", MeetingID: c1.ID, ParentSessionID: "s-parent", RoomSID: "RM_c1"},
	} {
		sess.AppID, sess.Status, sess.StartedAt, sess.CreatedAt, sess.UpdatedAt = testApp, store.SessionLive, e.now, e.now, e.now
		if err := e.st.CreateSession(t.Context(), sess); err != nil {
			t.Fatal(err)
		}
	}
	e.event("participant_joined", lkRoom(c1, "RM_c1"), person("alice"))
	e.event("participant_joined", lkRoom(c2, "RM_c2"), person("bob"))
	e.event("participant_joined", lkRoom(c2, "RM_c2"), person("carol"))
	r1, r2 := e.recordingsOf(c1.ID), e.recordingsOf(c2.ID)
	if len(r1) != 1 || len(r2) != 1 {
		t.Fatalf("breakout recordings: %d and %d, want one each", len(r1), len(r2))
	}
	for _, r := range []store.Recording{r1[0], r2[0]} {
		if r.StartReason != ReasonRecordOnStart || r.Status != store.RecordingInvoked || r.Kind != KindComposite {
			t.Errorf("breakout recording %+v", r)
		}
	}
	jobs := map[string]string{}
	for _, j := range e.backend.jobs {
		jobs[j.RecordingID] = j.Room
	}
	if jobs[r1[0].ID] != c1.ID || jobs[r2[0].ID] != c2.ID {
		t.Errorf("jobs record rooms %v", jobs)
	}

	e.event("room_finished", lkRoom(c1, "RM_c1"), nil)
	if r := e.get(r1[0].ID); r.Status != store.RecordingUploading || r.StopReason != ReasonAllPeersLeft {
		t.Errorf("child-1 after its room closed: %+v", r)
	}
	// Its webhook names the breakout's session and its parent's.
	e.notifier.last(t, r1[0].ID).check(t, map[string]any{
		"recording.status": "UPLOADING", "recording.meetingId": c1.ID, "recording.roomUUID": "s-c1", "recording.startedTime": nil,
		"recording.stopReason.reason": "ALL_PEERS_LEFT", "recording.stopReason.caller": absent{},
		"meeting.id": c1.ID, "meeting.sessionId": "s-c1", "meeting.status": "LIVE", "meeting.startedAt": "2026-02-03T04:05:06.000Z",
		"meeting.parentMeetingId": parent.ID, "meeting.parentSessionId": "s-parent",
	})
	if r := e.get(r2[0].ID); r.Status != store.RecordingInvoked {
		t.Errorf("child-2 changed when child-1 closed: %s", r.Status)
	}
	if r := e.get(pv.ID); r.Status != store.RecordingInvoked {
		t.Errorf("the parent's recording changed: %s", r.Status)
	}
	// A parent with record_on_start has its breakouts recorded too.
	p2 := e.meeting("parent-2", "", true)
	c3 := e.meeting("child-3", p2.ID, false)
	e.event("participant_joined", lkRoom(c3, "RM_c3"), person("dave"))
	if rs := e.recordingsOf(c3.ID); len(rs) != 1 {
		t.Errorf("breakout of a record_on_start parent: %d recordings", len(rs))
	}
}

func TestRecoverOrphans(t *testing.T) {
	e := newTestEnv(t, BackendLocal)
	e.meeting("m-1", "", false)
	v := e.start("m-1", StartInput{})
	// A new process over the same store: the recorder of v died with the old one.
	e2 := New(e.st, &fakeBackend{name: BackendLocal}, e.notifier, Options{})
	e2.created = time.Now().Add(time.Hour)
	e2.recoverOrphans(t.Context())
	r := e.get(v.ID)
	if r.Status != store.RecordingErrored || !strings.Contains(r.Error, "stopped while this recording was running") {
		t.Fatalf("orphan: %+v", r)
	}
}

func TestNotifierErrorRollsBack(t *testing.T) {
	e := newTestEnv(t, BackendLocal)
	e.meeting("m-1", "", false)
	v := e.start("m-1", StartInput{})
	e.notifier.fail = errors.New("outbox down")
	e.report("EG_1", livekit.EgressStatus_EGRESS_ACTIVE, 10)
	if r := e.get(v.ID); r.Status != store.RecordingInvoked {
		t.Fatalf("the transition committed although its webhook failed: %s", r.Status)
	}
	e.notifier.fail = nil
	e.report("EG_1", livekit.EgressStatus_EGRESS_ACTIVE, 10)
	if r := e.get(v.ID); r.Status != store.RecordingRecording {
		t.Fatalf("retry: %s", r.Status)
	}
}
