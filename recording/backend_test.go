package recording

import (
	"archive/zip"
	"bytes"
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/livekit/protocol/livekit"
	"github.com/livekit/psrpc"
	"github.com/pion/rtp"
	"github.com/twitchtv/twirp"
)

func TestSigner(t *testing.T) {
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	s := NewSigner([]byte("key-0123456789abcdef"), "https://rtk.example/", time.Hour)
	link, exp := s.URL("app 1", "rec-1", "a b.zip", now)
	if !exp.Equal(now.Add(time.Hour)) {
		t.Errorf("expiry %v", exp)
	}
	if !strings.HasPrefix(link, "https://rtk.example/recordings/files/app%201/rec-1/a%20b.zip?expires=") {
		t.Errorf("link %s", link)
	}
	expires, sig := linkParam(t, link, "expires"), linkParam(t, link, "signature")
	tampered := "A" + sig[1:]
	if sig[0] == 'A' {
		tampered = "B" + sig[1:]
	}
	for _, tc := range []struct {
		name                         string
		app, rec, file, expires, sig string
		at                           time.Time
		want                         error
	}{
		{"valid", "app 1", "rec-1", "a b.zip", expires, sig, now, nil},
		{"valid until the last second", "app 1", "rec-1", "a b.zip", expires, sig, now.Add(time.Hour), nil},
		{"expired", "app 1", "rec-1", "a b.zip", expires, sig, now.Add(time.Hour + time.Second), ErrLinkExpired},
		{"expiry moved", "app 1", "rec-1", "a b.zip", "99999999999", sig, now, ErrLinkInvalid},
		{"expiry not a number", "app 1", "rec-1", "a b.zip", "soon", sig, now, ErrLinkInvalid},
		{"other file", "app 1", "rec-1", "other.zip", expires, sig, now, ErrLinkInvalid},
		{"other recording", "app 1", "rec-2", "a b.zip", expires, sig, now, ErrLinkInvalid},
		{"other app", "app 2", "rec-1", "a b.zip", expires, sig, now, ErrLinkInvalid},
		{"tampered signature", "app 1", "rec-1", "a b.zip", expires, tampered, now, ErrLinkInvalid},
		{"no signature", "app 1", "rec-1", "a b.zip", expires, "", now, ErrLinkInvalid},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if err := s.Check(tc.app, tc.rec, tc.file, tc.expires, tc.sig, tc.at); !errors.Is(err, tc.want) {
				t.Errorf("Check = %v, want %v", err, tc.want)
			}
		})
	}
	other := NewSigner([]byte("another-key-0123456"), "https://rtk.example", time.Hour)
	if err := other.Check("app 1", "rec-1", "a b.zip", expires, sig, now); !errors.Is(err, ErrLinkInvalid) {
		t.Errorf("a link signed with another key: %v", err)
	}
	// Another scope: same key, its own path, and links that do not cross over.
	chat := s.For("rtk-chat-download", "/sessions/files")
	clink, _ := chat.URL("app 1", "rec-1", "a b.zip", now)
	if !strings.HasPrefix(clink, "https://rtk.example/sessions/files/app%201/rec-1/a%20b.zip?expires=") {
		t.Errorf("link of another scope %s", clink)
	}
	csig := linkParam(t, clink, "signature")
	if err := chat.Check("app 1", "rec-1", "a b.zip", expires, csig, now); err != nil {
		t.Errorf("a link of the other scope, checked there: %v", err)
	}
	if err := chat.Check("app 1", "rec-1", "a b.zip", expires, sig, now); !errors.Is(err, ErrLinkInvalid) {
		t.Errorf("a recording link checked as a chat link: %v", err)
	}
	if err := s.Check("app 1", "rec-1", "a b.zip", expires, csig, now); !errors.Is(err, ErrLinkInvalid) {
		t.Errorf("a chat link checked as a recording link: %v", err)
	}
	for _, err := range []error{ErrLinkExpired, ErrLinkInvalid} {
		if code, _ := psrpc.GetErrorCode(err); code != psrpc.PermissionDenied {
			t.Errorf("%v is %s, want PermissionDenied (403)", err, code)
		}
	}
}

func TestLocalFiles(t *testing.T) {
	root := t.TempDir()
	dir := filepath.Join(root, "app", "rec")
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(os.MkdirAll(filepath.Join(dir, "sub"), 0o750))
	for _, f := range []string{"b.ivf", "a.ogg", "manifest.json"} {
		must(os.WriteFile(filepath.Join(dir, f), []byte(f), 0o600))
	}
	outside := t.TempDir()
	must(os.WriteFile(filepath.Join(outside, "secret"), []byte("x"), 0o600))

	files, err := localFiles(root, dir, anyFile)
	if err != nil || len(files) != 3 || filepath.Base(files[0]) != "a.ogg" {
		t.Fatalf("localFiles(dir) = %v, %v", files, err)
	}
	files, _ = localFiles(root, dir, isAudioFile)
	if len(files) != 2 {
		t.Errorf("audio files %v", files)
	}
	if _, err := localFiles(root, filepath.Join(outside, "secret"), anyFile); !errors.Is(err, ErrFileNotFound) {
		t.Errorf("a file outside the output dir: %v", err)
	}
	if _, err := localFiles(root, filepath.Join(dir, "..", "..", "..", filepath.Base(outside)), anyFile); !errors.Is(err, ErrFileNotFound) {
		t.Errorf("a path escaping the output dir: %v", err)
	}
	if _, err := localFiles(root, filepath.Join(dir, "gone"), anyFile); !errors.Is(err, ErrFileNotFound) {
		t.Errorf("a missing file: %v", err)
	}

	var buf bytes.Buffer
	d := Download{Name: "x.zip", files: files}
	must(d.WriteZip(&buf))
	zr, err := zip.NewReader(bytes.NewReader(buf.Bytes()), int64(buf.Len()))
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, f := range zr.File {
		names = append(names, f.Name)
		rc, _ := f.Open()
		b, _ := io.ReadAll(rc)
		rc.Close()
		if string(b) != f.Name {
			t.Errorf("%s holds %q", f.Name, b)
		}
	}
	if strings.Join(names, ",") != "a.ogg,manifest.json" {
		t.Errorf("zip entries %v", names)
	}
}

// fakeEgress is an in-memory Egress API.
type fakeEgress struct {
	mu        sync.Mutex
	composite []*livekit.RoomCompositeEgressRequest
	track     []*livekit.TrackEgressRequest
	stopped   []string
	stopErr   error
	startErr  error
	n         int
}

func (f *fakeEgress) StartRoomCompositeEgress(_ context.Context, req *livekit.RoomCompositeEgressRequest) (*livekit.EgressInfo, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.startErr != nil {
		return nil, f.startErr
	}
	f.composite = append(f.composite, req)
	f.n++
	return &livekit.EgressInfo{EgressId: "EG_c" + string(rune('0'+f.n)), RoomName: req.RoomName, Status: livekit.EgressStatus_EGRESS_STARTING}, nil
}

func (f *fakeEgress) StartTrackEgress(_ context.Context, req *livekit.TrackEgressRequest) (*livekit.EgressInfo, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.startErr != nil && len(f.track) == 1 { // fail the second track
		return nil, f.startErr
	}
	f.track = append(f.track, req)
	return &livekit.EgressInfo{EgressId: "EG_" + req.TrackId, RoomName: req.RoomName}, nil
}

func (f *fakeEgress) StopEgress(_ context.Context, req *livekit.StopEgressRequest) (*livekit.EgressInfo, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.stopped = append(f.stopped, req.EgressId)
	if f.stopErr != nil {
		return nil, f.stopErr
	}
	return &livekit.EgressInfo{EgressId: req.EgressId, Status: livekit.EgressStatus_EGRESS_ENDING}, nil
}

type fakeRooms struct {
	participants []*livekit.ParticipantInfo
	err          error
}

func (r fakeRooms) ListParticipants(context.Context, *livekit.ListParticipantsRequest) (*livekit.ListParticipantsResponse, error) {
	return &livekit.ListParticipantsResponse{Participants: r.participants}, r.err
}

func TestEgressBackend(t *testing.T) {
	ctx := t.Context()
	eg := &fakeEgress{}
	rooms := fakeRooms{participants: []*livekit.ParticipantInfo{
		{Identity: "alice", Tracks: []*livekit.TrackInfo{{Sid: "TR_a1"}, {Sid: "TR_a2"}}},
		{Identity: "rec-123", Tracks: []*livekit.TrackInfo{{Sid: "TR_rec"}}},
		{Identity: "EG_xyz", Tracks: []*livekit.TrackInfo{{Sid: "TR_eg"}}},
		{Identity: "bob", Tracks: []*livekit.TrackInfo{{Sid: "TR_b1"}}},
	}}
	b := NewEgress(eg, rooms, EgressConfig{AudioOnly: true})
	job := Job{RecordingID: "r1", Room: "m-1", Kind: KindComposite, Dir: "/rec/app/r1", FilePrefix: "pre"}
	infos, err := b.Start(ctx, job)
	if err != nil || len(infos) != 1 {
		t.Fatalf("composite: %v %v", infos, err)
	}
	req := eg.composite[0]
	if req.RoomName != "m-1" || !req.AudioOnly || req.FileOutputs[0].FileType != livekit.EncodedFileType_OGG ||
		req.FileOutputs[0].Filepath != "/rec/app/r1/pre_r1.ogg" {
		t.Errorf("composite request %v", req)
	}
	job.Segment = 1
	if _, err := b.Start(ctx, job); err != nil {
		t.Fatal(err)
	}
	if p := eg.composite[1].FileOutputs[0].Filepath; p != "/rec/app/r1/pre_r1-part2.ogg" {
		t.Errorf("second segment's file %s", p)
	}

	job = Job{RecordingID: "r2", Room: "m-1", Kind: KindTrack, Dir: "/rec/app/r2"}
	infos, err = b.Start(ctx, job)
	if err != nil || len(infos) != 3 {
		t.Fatalf("tracks: %v %v", infos, err)
	}
	var sids []string
	for _, r := range eg.track {
		sids = append(sids, r.TrackId)
		if r.GetFile().GetFilepath() != "/rec/app/r2/{publisher_identity}-{track_source}-{track_id}" {
			t.Errorf("track file %s", r.GetFile().GetFilepath())
		}
	}
	if strings.Join(sids, ",") != "TR_a1,TR_a2,TR_b1" {
		t.Errorf("track egresses for %v, want the people's tracks only", sids)
	}

	empty := NewEgress(eg, fakeRooms{participants: []*livekit.ParticipantInfo{{Identity: "alice"}}}, EgressConfig{})
	if _, err := empty.Start(ctx, job); !errors.Is(err, ErrNoTracks) {
		t.Errorf("no tracks: %v", err)
	}
	gone := NewEgress(eg, fakeRooms{err: twirp.NotFoundError("room")}, EgressConfig{})
	if _, err := gone.Start(ctx, job); !errors.Is(err, ErrNoTracks) {
		t.Errorf("no room: %v", err)
	}

	// A failing second track egress stops the first.
	eg2 := &fakeEgress{startErr: twirp.NewError(twirp.Unavailable, "no egress")}
	_, err = NewEgress(eg2, rooms, EgressConfig{}).Start(ctx, job)
	if code, _ := psrpc.GetErrorCode(err); code != psrpc.Unavailable {
		t.Errorf("failed track egress: %v", err)
	}
	if len(eg2.stopped) != 1 || eg2.stopped[0] != "EG_TR_a1" {
		t.Errorf("after a failure, stopped %v", eg2.stopped)
	}

	for _, tc := range []struct {
		name string
		err  error
		ok   bool
		code psrpc.ErrorCode
	}{
		{"stopped", nil, true, ""},
		{"unknown egress", twirp.NotFoundError("egress not found"), true, ""},
		{"already ended", twirp.NewError(twirp.FailedPrecondition, "egress with status EGRESS_COMPLETE cannot be stopped"), true, ""},
		{"egress down", twirp.NewError(twirp.Unavailable, "down"), false, psrpc.Unavailable},
		{"network", errors.New("connection refused"), false, psrpc.Unavailable},
	} {
		t.Run("stop "+tc.name, func(t *testing.T) {
			b := NewEgress(&fakeEgress{stopErr: tc.err}, rooms, EgressConfig{})
			err := b.Stop(ctx, "EG_1")
			if tc.ok != (err == nil) {
				t.Fatalf("Stop = %v", err)
			}
			if code, _ := psrpc.GetErrorCode(err); err != nil && code != tc.code {
				t.Errorf("Stop = %v, want %s", err, tc.code)
			}
		})
	}
	if err := b.Pause(ctx, "EG_1"); !errors.Is(err, ErrPauseUnsupported) {
		t.Errorf("Pause = %v", err)
	}
	if err := b.Resume(ctx, "EG_1"); !errors.Is(err, ErrPauseUnsupported) {
		t.Errorf("Resume = %v", err)
	}
	bad := NewEgress(&fakeEgress{startErr: twirp.InvalidArgumentError("layout", "unknown")}, rooms, EgressConfig{})
	if _, err := bad.Start(ctx, Job{Room: "m", Dir: "/d", Kind: KindComposite}); err == nil {
		t.Error("a refused request succeeded")
	} else if code, _ := psrpc.GetErrorCode(err); code != psrpc.InvalidArgument {
		t.Errorf("refused request: %v", err)
	}
}

// TestTrackPause: the local recorder drops packets while paused and cuts
// the paused time out of the file's timeline.
func TestTrackPause(t *testing.T) {
	var buf bytes.Buffer
	w, err := newOggOpusWriter(&buf, 2)
	if err != nil {
		t.Fatal(err)
	}
	j := &localJob{}
	tf := &trackFile{job: j, ogg: w, step: 960, codec: "audio/opus"}
	ts := uint32(1000)
	send := func(n int) {
		for range n {
			if err := tf.write(&rtp.Packet{Header: rtp.Header{Timestamp: ts}, Payload: []byte{0xfc, 1}}); err != nil {
				t.Fatal(err)
			}
			ts += 960
		}
	}
	send(10)
	j.setPaused(true)
	send(50) // one second paused: dropped
	j.setPaused(false)
	send(10)
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	pages, err := parseOgg(buf.Bytes())
	if err != nil {
		t.Fatal(err)
	}
	if n := len(pages) - 2; n != 20 || tf.packetCount() != 20 {
		t.Fatalf("%d packets written (%d counted), want 20", n, tf.packetCount())
	}
	if g := pages[len(pages)-1].granule; g != oggPreSkip+20*960 {
		t.Errorf("final granule %d, want %d: the pause must not leave a gap", g, oggPreSkip+20*960)
	}
}
