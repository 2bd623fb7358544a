package sidecar_test

import (
	"archive/zip"
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cloudflare/cloudflare-go/v6"
	"github.com/cloudflare/cloudflare-go/v6/realtime_kit"
	"github.com/google/uuid"
	"github.com/livekit/protocol/livekit"

	"rtk-sidecar/bridge/bridgetest"
	"rtk-sidecar/recording"
	"rtk-sidecar/sidecar"
)

// fakeRecorder is a recording backend in memory: the test plays its reports.
type fakeRecorder struct {
	mu   sync.Mutex
	n    int
	jobs map[string]recording.Job
}

func (f *fakeRecorder) Name() string { return recording.BackendLocal }

func (f *fakeRecorder) Start(_ context.Context, job recording.Job) ([]*livekit.EgressInfo, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.n++
	id := fmt.Sprintf("EG_%d", f.n)
	f.jobs[id] = job
	return []*livekit.EgressInfo{{EgressId: id, RoomName: job.Room, Status: livekit.EgressStatus_EGRESS_STARTING, UpdatedAt: 1}}, nil
}

func (f *fakeRecorder) Stop(context.Context, string) error   { return nil }
func (f *fakeRecorder) Pause(context.Context, string) error  { return nil }
func (f *fakeRecorder) Resume(context.Context, string) error { return nil }

// report sends a report of the job that records recording id.
func (f *fakeRecorder) report(t *testing.T, recordingID string, status livekit.EgressStatus, files ...string) {
	t.Helper()
	f.mu.Lock()
	var id string
	var job recording.Job
	for jid, j := range f.jobs {
		if j.RecordingID == recordingID {
			id, job = jid, j
		}
	}
	f.mu.Unlock()
	if id == "" {
		t.Fatalf("no job records %s", recordingID)
	}
	info := &livekit.EgressInfo{EgressId: id, Status: status, UpdatedAt: time.Now().UnixNano(), StartedAt: time.Now().UnixNano()}
	if len(files) > 0 {
		if err := os.MkdirAll(job.Dir, 0o750); err != nil {
			t.Fatal(err)
		}
		var size int64
		for _, name := range files {
			if err := os.WriteFile(filepath.Join(job.Dir, name), []byte("data of "+name), 0o600); err != nil {
				t.Fatal(err)
			}
			size += int64(len("data of " + name))
		}
		info.FileResults = []*livekit.FileInfo{{Filename: filepath.Base(job.Dir), Location: job.Dir, Size: size, Duration: int64(90 * time.Second)}}
	}
	job.Report(info)
}

const recSigningKey = "recording-signing-key-0123456789"

// newRecordingEnv is newEnv with recordings over a fakeRecorder.
func newRecordingEnv(t *testing.T) (*env, *fakeRecorder) {
	t.Helper()
	log := slog.New(slog.NewTextHandler(testWriter{t}, nil))
	rooms := bridgetest.NewRooms()
	st, _, _, svc := newMeetings(t, rooms, log)
	keys := []sidecar.APIKey{
		sidecar.NewAPIKey(account, org, appID, secret),
		sidecar.NewAPIKey(otherAcc, "org-2", otherApp, otherKey),
	}
	rec := &fakeRecorder{jobs: map[string]recording.Job{}}
	var srv *httptest.Server
	handler := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { srv.Config.Handler.ServeHTTP(w, r) })
	srv = httptest.NewUnstartedServer(handler)
	recs := recording.New(st, rec, nil, recording.Options{
		OutputDir: t.TempDir(), Log: log,
		Signer: recording.NewSigner([]byte(recSigningKey), "http://"+srv.Listener.Addr().String(), time.Hour),
	})
	runCtx, stop := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); _ = recs.Run(runCtx) }()
	t.Cleanup(func() { stop(); <-done })
	api := sidecar.New(sidecar.Deps{Meetings: svc, Keys: keys, Log: log, Recordings: recs})
	srv.Config.Handler = api.Handler()
	srv.Start()
	t.Cleanup(srv.Close)
	return &env{t: t, srv: srv, rooms: rooms, svc: svc}, rec
}

// waitStatus polls a recording until it has status want.
func (e *env) waitStatus(id, want string) response {
	e.t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		r := e.must(200, "GET", basePathF+"/recordings/"+id, nil)
		if r.data()["status"] == want {
			return r
		}
		if time.Now().After(deadline) {
			e.t.Fatalf("recording %s is %v, want %s", id, r.data()["status"], want)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func TestRecordingsHTTP(t *testing.T) {
	e, rec := newRecordingEnv(t)
	mid := e.createMeeting("Standup")
	other := e.createMeeting("Other")
	base := basePathF + "/recordings"

	wantError(t, e.do("POST", base, "", map[string]any{}), 400, `"meeting_id" is required`)
	wantError(t, e.do("POST", base, "", map[string]any{"meeting_id": mid, "max_seconds": 10}), 400, `"max_seconds" must be between 60 and 86400`)
	wantError(t, e.do("POST", base, "", map[string]any{"meeting_id": mid, "max_seconds": "long"}), 400, `"max_seconds" must be a number`)
	wantError(t, e.do("POST", base, "", map[string]any{"meeting_id": mid, "file_name_prefix": "a/b"}), 400, `"file_name_prefix"`)
	wantError(t, e.do("POST", base, "", map[string]any{"meeting_id": uuid.NewString()}), 404, "not found")
	wantError(t, e.do("POST", base, "-", map[string]any{"meeting_id": mid}), 401)

	r := e.must(200, "POST", base, map[string]any{"meeting_id": mid, "max_seconds": 3600, "file_name_prefix": "standup",
		"storage_config": map[string]any{"type": "aws", "bucket": "b", "secret": "s3cr3t", "access_key": "AK"}})
	d := r.data()
	id, _ := d["id"].(string)
	if _, err := uuid.Parse(id); err != nil || d["status"] != "INVOKED" || d["file_size"] != nil || d["download_url"] != nil ||
		d["output_file_name"] != "standup_"+id+".zip" || d["started_time"] != nil || d["invoked_time"] == "" {
		t.Fatalf("started: %s", r.Raw)
	}
	if sr, _ := d["start_reason"].(map[string]any); sr["reason"] != "API_CALL" {
		t.Errorf("start_reason %v", d["start_reason"])
	}
	if strings.Contains(string(r.Raw), "s3cr3t") || strings.Contains(string(r.Raw), `"AK"`) {
		t.Errorf("storage credentials echoed: %s", r.Raw)
	}
	if sc, _ := d["storage_config"].(map[string]any); sc["bucket"] != "b" {
		t.Errorf("storage_config %v", d["storage_config"])
	}
	wantError(t, e.do("POST", base, "", map[string]any{"meeting_id": mid}), 409, "already being recorded", id)

	active := e.must(200, "GET", base+"/active-recording/"+mid, nil)
	if active.data()["id"] != id {
		t.Errorf("active recording %s", active.Raw)
	}
	wantError(t, e.do("GET", base+"/active-recording/"+other, "", nil), 404, "has no active recording")

	rec.report(t, id, livekit.EgressStatus_EGRESS_ACTIVE)
	r = e.waitStatus(id, "RECORDING")
	if r.data()["started_time"] == nil {
		t.Errorf("no started_time: %s", r.Raw)
	}

	act := func(action string) response { return e.do("PUT", base+"/"+id, "", map[string]any{"action": action}) }
	if r := act("pause"); r.Status != 200 || r.data()["status"] != "PAUSED" {
		t.Fatalf("pause: %s", r.Raw)
	}
	wantError(t, act("pause"), 412, "cannot pause recording "+id+": it is PAUSED")
	wantError(t, act("rewind"), 400, `"action" must be one of [stop, pause, resume]`)
	wantError(t, e.do("PUT", base+"/"+id, "", map[string]any{}), 400, `"action" is required`)
	if r := act("resume"); r.Status != 200 || r.data()["status"] != "RECORDING" {
		t.Fatalf("resume: %s", r.Raw)
	}
	r = act("stop")
	if r.Status != 200 || r.data()["status"] != "UPLOADING" || r.data()["stopped_time"] == nil {
		t.Fatalf("stop: %s", r.Raw)
	}
	if sr, _ := r.data()["stop_reason"].(map[string]any); sr["reason"] != "API_CALL" {
		t.Errorf("stop_reason %v", r.data()["stop_reason"])
	}
	wantError(t, act("resume"), 412, "it is UPLOADING")

	rec.report(t, id, livekit.EgressStatus_EGRESS_COMPLETE, "alice_microphone_TR_a.ogg", "bob_camera_TR_b.ivf", "manifest.json")
	r = e.waitStatus(id, "UPLOADED")
	d = r.data()
	if d["recording_duration"] != 90.0 || d["file_size"] == nil || d["download_url_expiry"] == nil {
		t.Fatalf("uploaded: %s", r.Raw)
	}
	wantError(t, act("pause"), 412, "it is UPLOADED", "only a recording that is RECORDING can be paused")

	// The download link needs no API key; it serves a zip of the files.
	link, _ := d["download_url"].(string)
	res, body := get(t, link)
	if res.StatusCode != 200 || res.Header.Get("Content-Type") != "application/zip" ||
		!strings.Contains(res.Header.Get("Content-Disposition"), "standup_"+id+".zip") {
		t.Fatalf("download: %d %v", res.StatusCode, res.Header)
	}
	if names := zipNames(t, body); names != "alice_microphone_TR_a.ogg,bob_camera_TR_b.ivf,manifest.json" {
		t.Errorf("zip entries %s", names)
	}
	audio, _ := d["audio_download_url"].(string)
	if res, body := get(t, audio); res.StatusCode != 200 || zipNames(t, body) != "alice_microphone_TR_a.ogg,manifest.json" {
		t.Errorf("audio download: %d %s", res.StatusCode, zipNames(t, body))
	}
	// Tampered, expired, or for another file: 403 or 404, in the error envelope.
	tampered := strings.Replace(link, "signature=", "signature=x", 1)
	wantError(t, e.do("GET", strings.TrimPrefix(tampered, e.srv.URL), "-", nil), 403, "signature does not match")
	otherFile := strings.Replace(link, "standup_"+id+".zip", "other.zip", 1)
	wantError(t, e.do("GET", strings.TrimPrefix(otherFile, e.srv.URL), "-", nil), 403)
	expired, _ := recording.NewSigner([]byte(recSigningKey), e.srv.URL, -time.Minute).URL(appID, id, "standup_"+id+".zip", time.Now())
	wantError(t, e.do("GET", strings.TrimPrefix(expired, e.srv.URL), "-", nil), 403, "expired")
	signedUnknown, _ := recording.NewSigner([]byte(recSigningKey), e.srv.URL, time.Hour).URL(appID, id, "nope.zip", time.Now())
	wantError(t, e.do("GET", strings.TrimPrefix(signedUnknown, e.srv.URL), "-", nil), 404, "no such recording file")

	// Lists: filters, paging, the embedded meeting.
	second := e.must(200, "POST", base, map[string]any{"meeting_id": other}).data()["id"].(string)
	list := e.must(200, "GET", base, nil)
	items := list.list()
	if len(items) != 2 || items[0].(map[string]any)["id"] != second {
		t.Fatalf("list: %s", list.Raw)
	}
	if m, _ := items[1].(map[string]any)["meeting"].(map[string]any); m["id"] != mid || m["title"] != "Standup" {
		t.Errorf("embedded meeting %v", items[1].(map[string]any)["meeting"])
	}
	for _, tc := range []struct {
		query string
		want  []string
		total int
	}{
		{"?meeting_id=" + mid, []string{id}, 1},
		{"?status=UPLOADED", []string{id}, 1},
		{"?status=INVOKED&status=UPLOADED", []string{second, id}, 2},
		{"?status=INVOKED,RECORDING", []string{second}, 1},
		{"?sort_order=ASC", []string{id, second}, 2},
		{"?per_page=1&page_no=2", []string{id}, 2},
		{"?search=standup", []string{id}, 1},
		{"?search=" + other, []string{second}, 1},
		{"?expired=true", nil, 0},
		{"?end_time=2000-01-01T00:00:00Z", nil, 0},
	} {
		r := e.must(200, "GET", base+tc.query, nil)
		var got []string
		for _, it := range r.list() {
			got = append(got, it.(map[string]any)["id"].(string))
		}
		paging, _ := r.Body["paging"].(map[string]any)
		if strings.Join(got, ",") != strings.Join(tc.want, ",") || paging["total_count"] != float64(tc.total) {
			t.Errorf("GET %s: %v (paging %v), want %v (total %d)", tc.query, got, paging, tc.want, tc.total)
		}
	}
	wantError(t, e.do("GET", base+"?status=DONE", "", nil), 400, `"status" must be one of`)
	wantError(t, e.do("GET", base+"?sort_by=size", "", nil), 400, `"sort_by"`)
	wantError(t, e.do("GET", base+"?sort_order=UP", "", nil), 400, `"sort_order"`)
	wantError(t, e.do("GET", base+"?expired=maybe", "", nil), 400, `"expired"`)
	wantError(t, e.do("GET", base+"?per_page=1000", "", nil), 400, `"per_page"`)
	wantError(t, e.do("GET", base+"/"+uuid.NewString(), "", nil), 404, "not found")

	// Another app sees none of it; the Dyte path sees the default app's.
	otherBase := "/accounts/" + otherAcc + "/realtime/kit/" + otherApp + "/recordings"
	r = e.do("GET", otherBase+"/"+id, "Bearer "+otherKey, nil)
	wantError(t, r, 404)
	if r := e.do("GET", "/v2/recordings/"+id, basic(org, secret), nil); r.Status != 200 || r.data()["id"] != id {
		t.Errorf("Dyte path: %s", r.Raw)
	}

	// Track recordings.
	wantError(t, e.do("POST", base+"/track", "", map[string]any{"meeting_id": mid}), 400, `"layers" is required`)
	r = e.must(200, "POST", base+"/track", map[string]any{"meeting_id": mid, "layers": map[string]any{"default": map[string]any{"file_name_prefix": "t"}}})
	recs, _ := r.data()["recordings"].([]any)
	if len(recs) != 1 || recs[0].(map[string]any)["status"] != "INVOKED" {
		t.Errorf("track recording: %s", r.Raw)
	}
}

func get(t *testing.T, link string) (*http.Response, []byte) {
	t.Helper()
	res, err := http.Get(link)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return res, b
}

func zipNames(t *testing.T, b []byte) string {
	t.Helper()
	zr, err := zip.NewReader(bytes.NewReader(b), int64(len(b)))
	if err != nil {
		t.Fatalf("not a zip: %v", err)
	}
	var names []string
	for _, f := range zr.File {
		names = append(names, f.Name)
	}
	return strings.Join(names, ",")
}

func TestRecordingsDisabled(t *testing.T) {
	e := newEnv(t)
	wantError(t, e.do("GET", basePathF+"/recordings", "", nil), 404, "no such endpoint")
}

// TestSDKRecordings drives every recordings endpoint with Cloudflare's SDK.
func TestSDKRecordings(t *testing.T) {
	e, rec := newRecordingEnv(t)
	ctx := context.Background()
	mid := e.createMeeting("SDK meeting")
	api := sdkClient(e, secret).RealtimeKit.Recordings
	acc := cloudflare.F(account)

	_, err := api.StartRecordings(ctx, appID, realtime_kit.RecordingStartRecordingsParams{AccountID: acc,
		MeetingID: cloudflare.F(mid), MaxSeconds: cloudflare.F(int64(30))})
	wantSDKError(t, "StartRecordings(max_seconds 30)", err, 400, `"max_seconds" must be between 60 and 86400`)

	started := mustRecSDK(api.StartRecordings(ctx, appID, realtime_kit.RecordingStartRecordingsParams{AccountID: acc,
		MeetingID: cloudflare.F(mid), MaxSeconds: cloudflare.F(int64(600)), FileNamePrefix: cloudflare.F("sdk"),
		VideoConfig: cloudflare.F(realtime_kit.RecordingStartRecordingsParamsVideoConfig{
			Codec: cloudflare.F(realtime_kit.RecordingStartRecordingsParamsVideoConfigCodecVp8),
			Width: cloudflare.F(int64(1280)), Height: cloudflare.F(int64(720))}),
		AudioConfig: cloudflare.F(realtime_kit.RecordingStartRecordingsParamsAudioConfig{
			Codec: cloudflare.F(realtime_kit.RecordingStartRecordingsParamsAudioConfigCodecAac)}),
	}))(t, "StartRecordings")
	id := started.Data.ID
	if started.Data.Status != realtime_kit.RecordingStartRecordingsResponseDataStatusInvoked || !near(started.Data.InvokedTime) ||
		started.Data.StartReason.Reason != realtime_kit.RecordingStartRecordingsResponseDataStartReasonReasonAPICall ||
		started.Data.StartReason.Caller.Type != realtime_kit.RecordingStartRecordingsResponseDataStartReasonCallerTypeOrganization {
		t.Fatalf("started %+v", started.Data)
	}

	one := mustRecSDK(api.GetOneRecording(ctx, appID, id, realtime_kit.RecordingGetOneRecordingParams{AccountID: acc}))(t, "GetOneRecording")
	if one.Data.ID != id || one.Data.OutputFileName != "sdk_"+id+".zip" {
		t.Errorf("one %+v", one.Data)
	}
	active := mustRecSDK(api.GetActiveRecordings(ctx, appID, mid, realtime_kit.RecordingGetActiveRecordingsParams{AccountID: acc}))(t, "GetActiveRecordings")
	if active.Data.ID != id {
		t.Errorf("active %+v", active.Data)
	}

	rec.report(t, id, livekit.EgressStatus_EGRESS_ACTIVE)
	e.waitStatus(id, "RECORDING")
	for _, step := range []struct {
		action realtime_kit.RecordingPauseResumeStopRecordingParamsAction
		want   realtime_kit.RecordingPauseResumeStopRecordingResponseDataStatus
	}{
		{realtime_kit.RecordingPauseResumeStopRecordingParamsActionPause, realtime_kit.RecordingPauseResumeStopRecordingResponseDataStatusPaused},
		{realtime_kit.RecordingPauseResumeStopRecordingParamsActionResume, realtime_kit.RecordingPauseResumeStopRecordingResponseDataStatusRecording},
		{realtime_kit.RecordingPauseResumeStopRecordingParamsActionStop, realtime_kit.RecordingPauseResumeStopRecordingResponseDataStatusUploading},
	} {
		call := "PauseResumeStopRecording(" + string(step.action) + ")"
		res := mustRecSDK(api.PauseResumeStopRecording(ctx, appID, id, realtime_kit.RecordingPauseResumeStopRecordingParams{
			AccountID: acc, Action: cloudflare.F(step.action)}))(t, call)
		if res.Data.Status != step.want {
			t.Errorf("%s: status %s, want %s", call, res.Data.Status, step.want)
		}
	}
	_, err = api.PauseResumeStopRecording(ctx, appID, id, realtime_kit.RecordingPauseResumeStopRecordingParams{
		AccountID: acc, Action: cloudflare.F(realtime_kit.RecordingPauseResumeStopRecordingParamsActionPause)})
	wantSDKError(t, "pause of an UPLOADING recording", err, 412, "it is UPLOADING")

	rec.report(t, id, livekit.EgressStatus_EGRESS_COMPLETE, "alice_microphone_TR_a.ogg", "manifest.json")
	e.waitStatus(id, "UPLOADED")
	done := mustRecSDK(api.GetOneRecording(ctx, appID, id, realtime_kit.RecordingGetOneRecordingParams{AccountID: acc}))(t, "GetOneRecording(UPLOADED)")
	if done.Data.DownloadURL == "" || done.Data.FileSize == 0 || done.Data.RecordingDuration != 90 || done.Data.StoppedTime.IsZero() ||
		done.Data.DownloadURLExpiry.Before(time.Now()) || done.Data.StopReason.Reason != realtime_kit.RecordingGetOneRecordingResponseDataStopReasonReasonAPICall {
		t.Errorf("uploaded %+v", done.Data)
	}
	if res, _ := get(t, done.Data.DownloadURL); res.StatusCode != 200 {
		t.Errorf("download: %d", res.StatusCode)
	}

	list := mustRecSDK(api.GetRecordings(ctx, appID, realtime_kit.RecordingGetRecordingsParams{AccountID: acc,
		MeetingID: cloudflare.F(mid), PageNo: cloudflare.F(1.0), PerPage: cloudflare.F(10.0),
		Status:    cloudflare.F([]realtime_kit.RecordingGetRecordingsParamsStatus{realtime_kit.RecordingGetRecordingsParamsStatusUploaded}),
		SortBy:    cloudflare.F(realtime_kit.RecordingGetRecordingsParamsSortByInvokedTime),
		SortOrder: cloudflare.F(realtime_kit.RecordingGetRecordingsParamsSortOrderDesc),
		StartTime: cloudflare.F(time.Now().Add(-time.Hour)), EndTime: cloudflare.F(time.Now().Add(time.Hour)),
		Search: cloudflare.F("SDK"),
	}))(t, "GetRecordings")
	if len(list.Data) != 1 || list.Data[0].ID != id || list.Data[0].Meeting.ID != mid || list.Paging.TotalCount != 1 {
		t.Errorf("list %+v", list)
	}

	err = api.StartTrackRecording(ctx, appID, realtime_kit.RecordingStartTrackRecordingParams{AccountID: acc,
		MeetingID: cloudflare.F(mid),
		Layers: cloudflare.F(map[string]realtime_kit.RecordingStartTrackRecordingParamsLayers{
			"default": {FileNamePrefix: cloudflare.F("layer")}}),
	})
	if err != nil {
		t.Fatalf("StartTrackRecording: %v", err)
	}
	err = api.StartTrackRecording(ctx, appID, realtime_kit.RecordingStartTrackRecordingParams{AccountID: acc,
		MeetingID: cloudflare.F(mid)})
	wantSDKError(t, "StartTrackRecording without layers", err, 400, `"layers" is required`)

	_, err = api.GetOneRecording(ctx, appID, uuid.NewString(), realtime_kit.RecordingGetOneRecordingParams{AccountID: acc})
	wantSDKError(t, "GetOneRecording(unknown)", err, 404, "not found")
	_, err = api.GetActiveRecordings(ctx, appID, mid, realtime_kit.RecordingGetActiveRecordingsParams{AccountID: acc})
	wantSDKError(t, "GetActiveRecordings(none)", err, 404, "has no active recording")
}

// mustRecSDK is mustSDK for recordings, whose SDK models mark many fields
// "required,nullable": null is what RealtimeKit sends until a value exists
// (no download URL before UPLOADED), so null is accepted there.
func mustRecSDK[T any](res *T, err error) func(t *testing.T, call string) *T {
	return func(t *testing.T, call string) *T {
		t.Helper()
		if err != nil {
			t.Fatalf("%s: %v", call, err)
		}
		if res == nil {
			t.Fatalf("%s: nil response", call)
		}
		nullable := nullableFields(reflect.TypeOf(res).Elem(), map[reflect.Type]bool{})
		problems, _ := sdkProblems(reflect.ValueOf(res), "")
		for _, p := range problems {
			field, _, _ := strings.Cut(p, ":")
			name := field[strings.LastIndex(field, ".")+1:]
			if strings.HasSuffix(p, "required by the SDK but null") && nullable[name] {
				continue
			}
			t.Errorf("%s: %s", call, p)
		}
		if s := reflect.ValueOf(res).Elem().FieldByName("Success"); s.IsValid() && !s.Bool() {
			t.Errorf("%s: success is false", call)
		}
		return res
	}
}

// nullableFields returns the JSON names of the fields that the SDK's models
// under t tag nullable.
func nullableFields(t reflect.Type, seen map[reflect.Type]bool) map[string]bool {
	out := map[string]bool{}
	for t.Kind() == reflect.Pointer || t.Kind() == reflect.Slice {
		t = t.Elem()
	}
	if t.Kind() != reflect.Struct || seen[t] {
		return out
	}
	seen[t] = true
	for i := range t.NumField() {
		f := t.Field(i)
		name, opts, _ := strings.Cut(f.Tag.Get("json"), ",")
		if strings.Contains(opts, "nullable") {
			out[name] = true
		}
		for k := range nullableFields(f.Type, seen) {
			out[k] = true
		}
	}
	return out
}
