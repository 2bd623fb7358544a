//go:build e2e

package e2e

import (
	"archive/zip"
	"bytes"
	"context"
	"crypto/rand"
	"crypto/rsa"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"hash/crc32"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/livekit/protocol/livekit"

	"rtk-sidecar/bridge"
	"rtk-sidecar/bridge/bridgetest"
	"rtk-sidecar/meetings"
	"rtk-sidecar/recording"
	"rtk-sidecar/sidecar"
	"rtk-sidecar/store"
	"rtk-sidecar/store/sqlstore"
	"rtk-sidecar/tokens"
)

// recordingJSON is the part of a REST recording the tests read.
type recordingJSON struct {
	ID                string  `json:"id"`
	Status            string  `json:"status"`
	OutputFileName    string  `json:"output_file_name"`
	DownloadURL       *string `json:"download_url"`
	AudioDownloadURL  *string `json:"audio_download_url"`
	FileSize          *int64  `json:"file_size"`
	RecordingDuration int     `json:"recording_duration"`
	StartedTime       *string `json:"started_time"`
	StopReason        *struct {
		Reason string `json:"reason"`
	} `json:"stop_reason"`
}

// manifestJSON is the local recorder's manifest.json.
type manifestJSON struct {
	RecordingID string  `json:"recording_id"`
	Room        string  `json:"room"`
	Duration    float64 `json:"duration_seconds"`
	Tracks      []struct {
		File                string `json:"file"`
		Kind                string `json:"kind"`
		Codec               string `json:"codec"`
		ParticipantIdentity string `json:"participant_identity"`
		Packets             int    `json:"packets"`
	} `json:"tracks"`
}

// TestRecordingLocal records a real meeting with the built-in recorder
// through the REST API of the whole sidecar (service.Run): two people
// publish Opus, a recording is started and stopped, and its files exist and
// decode: one Ogg Opus file per person whose packet count matches the
// recorded time, served as a zip by the download link.
func TestRecordingLocal(t *testing.T) {
	sc := StartSidecar(t)
	meeting := sc.CreateMeeting(t, "Recorded standup")
	aliceID, aliceTok := sc.AddParticipant(t, meeting, "alice", "group_call_host")
	bobID, bobTok := sc.AddParticipant(t, meeting, "bob", "group_call_host")
	alice := sc.Connect(t, aliceTok)
	bob := sc.Connect(t, bobTok)
	for _, p := range []*Participant{alice, bob} {
		if err := p.PublishAudio(); err != nil {
			t.Fatal(err)
		}
	}
	if err := alice.PublishVideo(); err != nil {
		t.Fatal(err)
	}
	bob.WaitHeard(t, aliceID, 5*time.Second)
	alice.WaitHeard(t, bobID, 5*time.Second)

	base := sc.AppPath + "/recordings"
	var rec recordingJSON
	sc.Must(t, "POST", base, map[string]any{"meeting_id": meeting, "file_name_prefix": "standup"}, &rec)
	if rec.Status != "INVOKED" || rec.OutputFileName != "standup_"+rec.ID+".zip" {
		t.Fatalf("started: %+v", rec)
	}
	waitRecording(t, sc, rec.ID, "RECORDING")
	if st := sc.Call(t, "POST", base, "", map[string]any{"meeting_id": meeting}, &json.RawMessage{}); st != 409 {
		t.Errorf("a second recording of the meeting: status %d, want 409", st)
	}

	// The recorder is hidden: the participants do not see it.
	time.Sleep(4 * time.Second)
	for _, p := range []*Participant{alice, bob} {
		for _, rp := range p.Room().GetRemoteParticipants() {
			if strings.HasPrefix(rp.Identity(), "rec-") {
				t.Errorf("%s sees the recorder %s", p.Identity(), rp.Identity())
			}
		}
	}
	sc.Must(t, "PUT", base+"/"+rec.ID, map[string]any{"action": "stop"}, &rec)
	if rec.Status != "UPLOADING" {
		t.Errorf("after stop: %s", rec.Status)
	}
	rec = waitRecording(t, sc, rec.ID, "UPLOADED")
	if rec.DownloadURL == nil || rec.FileSize == nil || *rec.FileSize == 0 || rec.RecordingDuration < 3 || rec.RecordingDuration > 7 ||
		rec.StopReason == nil || rec.StopReason.Reason != "API_CALL" {
		t.Fatalf("uploaded: %+v", rec)
	}

	dir := filepath.Join(sc.Cfg.Recording.OutputDir, e2eApp, rec.ID)
	m := readManifest(t, dir)
	checkAudioTracks(t, dir, m, aliceID, bobID)
	checkVideoTrack(t, dir, m, aliceID)

	// The download link serves the same files, without an API key.
	res, err := http.Get(*rec.DownloadURL)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if res.StatusCode != 200 {
		t.Fatalf("download: %d %s", res.StatusCode, body)
	}
	zr, err := zip.NewReader(bytes.NewReader(body), int64(len(body)))
	if err != nil {
		t.Fatalf("download is not a zip: %v", err)
	}
	var names []string
	for _, f := range zr.File {
		names = append(names, f.Name)
		if strings.HasSuffix(f.Name, ".ogg") {
			rc, _ := f.Open()
			b, _ := io.ReadAll(rc)
			rc.Close()
			if _, err := parseOggOpus(b); err != nil {
				t.Errorf("%s in the zip: %v", f.Name, err)
			}
		}
	}
	var want []string
	for _, tr := range m.Tracks {
		want = append(want, tr.File)
	}
	want = append(want, "manifest.json")
	slices.Sort(want)
	if !slices.Equal(names, want) {
		t.Errorf("zip holds %v, want %v", names, want)
	}
	tampered := strings.Replace(*rec.DownloadURL, "signature=", "signature=x", 1)
	if res, err := http.Get(tampered); err != nil || res.StatusCode != 403 {
		t.Errorf("tampered link: %v %v", res.StatusCode, err)
	} else {
		res.Body.Close()
	}
}

// TestRecordingBreakouts: a recorded meeting's breakout rooms are each
// recorded separately, under their own meeting, with only their own
// people's audio, and each stops when its room closes. Child meetings are
// created in the store (as the breakouts feature does: meetings with a
// ParentID); LiveKit's webhooks reach the recordings service directly.
func TestRecordingBreakouts(t *testing.T) {
	requireMedia(t)
	sink := newWebhookSink(t)
	lk := StartSFU(t, SFUConfig{WebhookURLs: []string{sink.URL}})
	ctx := context.Background()
	log := slog.New(slog.NewTextHandler(testWriter{t}, &slog.HandlerOptions{Level: slog.LevelWarn}))

	st, err := sqlstore.Open(ctx, "sqlite:"+filepath.Join(t.TempDir(), "rtk.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	now := time.Now().UTC()
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(st.CreateApp(ctx, store.App{ID: e2eApp, AccountID: e2eAccount, Name: "e2e", CreatedAt: now}))
	mk := func(id, parent string) string {
		must(st.CreateMeeting(ctx, store.Meeting{ID: id, AppID: e2eApp, ParentID: parent, Title: id,
			Status: store.MeetingActive, CreatedAt: now, UpdatedAt: now}))
		return id
	}
	parent := mk("6d4a0a52-0000-4000-8000-00000000000a", "")
	child1 := mk("6d4a0a52-0000-4000-8000-0000000000c1", parent)
	child2 := mk("6d4a0a52-0000-4000-8000-0000000000c2", parent)

	outDir := t.TempDir()
	backend := recording.NewLocal(recording.LocalConfig{URL: lk.URL, APIKey: lk.APIKey, APISecret: lk.APISecret}, log)
	recs := recording.New(st, backend, recording.LogNotifier{Log: log}, recording.Options{OutputDir: outDir, Log: log,
		Signer: recording.NewSigner([]byte("e2e-signing-key-0123456789"), "http://127.0.0.1", time.Hour)})
	runCtx, stop := context.WithCancel(context.Background())
	backendDone, svcDone := make(chan error, 1), make(chan error, 1)
	svcCtx, stopSvc := context.WithCancel(context.Background())
	go func() { backendDone <- backend.Run(runCtx) }()
	go func() { svcDone <- recs.Run(svcCtx) }()
	t.Cleanup(func() { // the backend first: its last reports still get written
		stop()
		<-backendDone
		stopSvc()
		<-svcDone
	})
	sink.forward(func(ev *livekit.WebhookEvent) { recs.HandleLiveKitEvent(ctx, ev) })

	// The REST API of an in-process sidecar, over the same store.
	gin.SetMode(gin.TestMode)
	mtg := meetings.New(st, tokens.NewIssuer(testRSAKey(t), time.Hour), bridge.New(bridgetest.NewRooms(), bridge.Keys{}, ""), log)
	api := sidecar.New(sidecar.Deps{Meetings: mtg, Log: log, Recordings: recs,
		Keys: []sidecar.APIKey{sidecar.NewAPIKey(e2eAccount, e2eOrg, e2eApp, e2eKey)}})
	srv := httptest.NewServer(api.Handler())
	t.Cleanup(srv.Close)
	call := func(method, path string, body any) recordingJSON {
		t.Helper()
		b, _ := json.Marshal(body)
		req, _ := http.NewRequest(method, srv.URL+"/v2"+path, bytes.NewReader(b))
		req.Header.Set("Authorization", "Bearer "+e2eKey)
		req.Header.Set("Content-Type", "application/json")
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		var env struct {
			Data recordingJSON `json:"data"`
		}
		raw, _ := io.ReadAll(res.Body)
		if res.StatusCode != 200 || json.Unmarshal(raw, &env) != nil {
			t.Fatalf("%s %s: %d %s", method, path, res.StatusCode, raw)
		}
		return env.Data
	}

	// The main room: a host talks; the meeting is recorded.
	host := Join(t, lk.URL, lk.Token(t, parent, "host"))
	must(host.PublishAudio())
	parentRec := call("POST", "/recordings", map[string]any{"meeting_id": parent})

	// Breakout rooms start: p1 alone in child 1; p2 and p3 in child 2.
	people := map[string][]string{child1: {"p1"}, child2: {"p2", "p3"}}
	var joined []*Participant
	for _, room := range []string{child1, child2} {
		for _, id := range people[room] {
			p := Join(t, lk.URL, lk.Token(t, room, id))
			must(p.PublishAudio())
			joined = append(joined, p)
		}
	}
	childRec := map[string]store.Recording{}
	eventually(t, 15*time.Second, func() string {
		for _, room := range []string{child1, child2} {
			rs, _, err := st.ListRecordings(ctx, e2eApp, store.RecordingFilter{MeetingID: room})
			if err != nil {
				return err.Error()
			}
			if len(rs) != 1 || rs[0].Status != store.RecordingRecording {
				return fmt.Sprintf("breakout %s has recordings %v, want one RECORDING", room, statuses(rs))
			}
			childRec[room] = rs[0]
		}
		return ""
	})
	for room, r := range childRec {
		if r.StartReason != recording.ReasonRecordOnStart || r.Kind != recording.KindComposite {
			t.Errorf("breakout %s recording: %+v", room, r)
		}
	}
	time.Sleep(3 * time.Second)

	// The breakouts close: each room's recording stops with ALL_PEERS_LEFT.
	for _, p := range joined {
		p.Close()
	}
	for _, room := range []string{child1, child2} {
		if _, err := lk.Rooms.DeleteRoom(ctx, &livekit.DeleteRoomRequest{Room: room}); err != nil {
			t.Fatalf("delete room %s: %v", room, err)
		}
	}
	for room, r := range childRec {
		eventually(t, 15*time.Second, func() string {
			got, err := st.GetRecording(ctx, e2eApp, r.ID)
			if err != nil {
				return err.Error()
			}
			if got.Status != store.RecordingUploaded || got.StopReason != recording.ReasonAllPeersLeft {
				return fmt.Sprintf("breakout %s recording is %s (stop reason %q), want UPLOADED, ALL_PEERS_LEFT", room, got.Status, got.StopReason)
			}
			return ""
		})
	}
	if r := call("GET", "/recordings/"+parentRec.ID, nil); r.Status != "RECORDING" {
		t.Errorf("the parent's recording is %s after the breakouts closed, want RECORDING", r.Status)
	}
	call("PUT", "/recordings/"+parentRec.ID, map[string]any{"action": "stop"})
	eventually(t, 15*time.Second, func() string {
		if r := call("GET", "/recordings/"+parentRec.ID, nil); r.Status != "UPLOADED" {
			return "parent recording is " + r.Status
		}
		return ""
	})

	// One recording per room, each with exactly its own people's audio.
	for room, r := range childRec {
		dir := filepath.Join(outDir, e2eApp, r.ID)
		checkAudioTracks(t, dir, readManifest(t, dir), people[room]...)
	}
	pdir := filepath.Join(outDir, e2eApp, parentRec.ID)
	checkAudioTracks(t, pdir, readManifest(t, pdir), "host")
	all, _, _ := st.ListRecordings(ctx, e2eApp, store.RecordingFilter{})
	if len(all) != 3 {
		t.Errorf("%d recordings in all, want 3 (parent + one per breakout): %v", len(all), statuses(all))
	}
}

// testRSAKey is a key for participant tokens (unused by these tests, but
// the meetings service needs an issuer).
func testRSAKey(t *testing.T) *rsa.PrivateKey {
	t.Helper()
	k, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func statuses(rs []store.Recording) []string {
	var out []string
	for _, r := range rs {
		out = append(out, r.MeetingID[len(r.MeetingID)-2:]+":"+r.Status)
	}
	return out
}

// waitRecording polls a recording over REST until it has status want.
func waitRecording(t *testing.T, sc *Sidecar, id, want string) recordingJSON {
	t.Helper()
	var rec recordingJSON
	eventually(t, 15*time.Second, func() string {
		sc.Must(t, "GET", sc.AppPath+"/recordings/"+id, nil, &rec)
		if rec.Status != want {
			return fmt.Sprintf("recording %s is %s, want %s", id, rec.Status, want)
		}
		return ""
	})
	return rec
}

func readManifest(t *testing.T, dir string) manifestJSON {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(dir, "manifest.json"))
	if err != nil {
		t.Fatalf("manifest: %v", err)
	}
	var m manifestJSON
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatalf("manifest: %v", err)
	}
	return m
}

// checkAudioTracks checks that a recording has exactly one Opus track per
// identity, each a valid Ogg Opus file whose packets (20 ms each) add up to
// the recorded time, ±20%.
func checkAudioTracks(t *testing.T, dir string, m manifestJSON, identities ...string) {
	t.Helper()
	var got []string
	for _, tr := range m.Tracks {
		if tr.Kind == "video" {
			continue
		}
		got = append(got, tr.ParticipantIdentity)
		if tr.Kind != "audio" || tr.Codec != "audio/opus" || !strings.HasSuffix(tr.File, ".ogg") {
			t.Errorf("%s: track %+v", dir, tr)
			continue
		}
		b, err := os.ReadFile(filepath.Join(dir, tr.File))
		if err != nil {
			t.Errorf("%s: %v", tr.File, err)
			continue
		}
		s, err := parseOggOpus(b)
		if err != nil {
			t.Errorf("%s: %v", tr.File, err)
			continue
		}
		audio := time.Duration(s.packets) * 20 * time.Millisecond
		recorded := time.Duration(m.Duration * float64(time.Second))
		t.Logf("%s: %d Opus packets = %s of audio; recorded %s; granule span %s",
			tr.File, s.packets, audio, recorded.Round(time.Millisecond), s.span)
		if audio < recorded*8/10 || audio > recorded*12/10 {
			t.Errorf("%s: %d packets = %s of audio, want %s ±20%%", tr.File, s.packets, audio, recorded.Round(time.Millisecond))
		}
		if s.packets != tr.Packets {
			t.Errorf("%s: %d packets in the file, the manifest says %d", tr.File, s.packets, tr.Packets)
		}
		if d := s.span - audio; d < -100*time.Millisecond || d > 100*time.Millisecond {
			t.Errorf("%s: granule positions span %s for %s of packets", tr.File, s.span, audio)
		}
	}
	slices.Sort(got)
	want := slices.Sorted(slices.Values(identities))
	if !slices.Equal(got, want) {
		t.Errorf("%s: audio of %v, want exactly %v", dir, got, want)
	}
}

// checkVideoTrack checks that identity's camera was recorded as an IVF
// file of VP8 frames with the track's dimensions, at about the publisher's
// frame rate (15 fps) over the recorded time.
func checkVideoTrack(t *testing.T, dir string, m manifestJSON, identity string) {
	t.Helper()
	var file string
	for _, tr := range m.Tracks {
		if tr.Kind == "video" {
			if tr.ParticipantIdentity != identity || tr.Codec != "video/vp8" || file != "" {
				t.Errorf("video track %+v", tr)
			}
			file = tr.File
		}
	}
	if file == "" {
		t.Fatalf("%s: no video track of %s", dir, identity)
	}
	b, err := os.ReadFile(filepath.Join(dir, file))
	if err != nil {
		t.Fatal(err)
	}
	if len(b) < 32 || string(b[:4]) != "DKIF" || string(b[8:12]) != "VP80" ||
		binary.LittleEndian.Uint16(b[12:]) != videoWidth || binary.LittleEndian.Uint16(b[14:]) != videoHeight {
		t.Fatalf("%s: bad IVF header % x", file, b[:min(32, len(b))])
	}
	frames := 0
	var lastPTS uint64
	for p := b[32:]; len(p) > 0; frames++ {
		if len(p) < 12 {
			t.Fatalf("%s: truncated frame header", file)
		}
		size := int(binary.LittleEndian.Uint32(p))
		pts := binary.LittleEndian.Uint64(p[4:])
		if len(p) < 12+size || size == 0 || p[12]&0x01 != 0 { // every synthetic frame is a key frame
			t.Fatalf("%s: frame %d: size %d, first byte %#x", file, frames, size, p[12])
		}
		if frames > 0 && pts <= lastPTS {
			t.Errorf("%s: frame %d: pts %d after %d", file, frames, pts, lastPTS)
		}
		lastPTS = pts
		p = p[12+size:]
	}
	if n := binary.LittleEndian.Uint32(b[24:]); int(n) != frames {
		t.Errorf("%s: header counts %d frames, file has %d", file, n, frames)
	}
	want := m.Duration * 15
	t.Logf("%s: %d VP8 frames over %.2fs recorded", file, frames, m.Duration)
	if float64(frames) < want*0.6 || float64(frames) > want*1.2 {
		t.Errorf("%s: %d frames, want about %.0f", file, frames, want)
	}
}

// oggStats is what parseOggOpus found.
type oggStats struct {
	packets int           // Opus packets after the two header packets
	span    time.Duration // last granule position less pre-skip, at 48 kHz
}

// oggCRC is Ogg's CRC-32: polynomial 0x04c11db7, not reflected, no final xor.
var oggCRCTable = func() *crc32.Table {
	var t crc32.Table
	for i := range t {
		r := uint32(i) << 24
		for range 8 {
			if r&0x80000000 != 0 {
				r = r<<1 ^ 0x04c11db7
			} else {
				r <<= 1
			}
		}
		t[i] = r
	}
	return &t
}()

func oggCRC(b []byte) uint32 {
	var crc uint32
	for _, c := range b {
		crc = crc<<8 ^ oggCRCTable[byte(crc>>24)^c]
	}
	return crc
}

// parseOggOpus parses an Ogg Opus file page by page (capture pattern,
// version, CRC, page sequence), checks the OpusHead and OpusTags headers and
// each audio packet's TOC byte, and counts the audio packets.
func parseOggOpus(b []byte) (oggStats, error) {
	var s oggStats
	var packets [][]byte
	var partial []byte
	var seq uint32
	var granule uint64
	eos := false
	for len(b) > 0 {
		if eos {
			return s, fmt.Errorf("data after the end-of-stream page")
		}
		if len(b) < 27 || string(b[:4]) != "OggS" || b[4] != 0 {
			return s, fmt.Errorf("page %d: no Ogg page header", seq)
		}
		nseg := int(b[26])
		if len(b) < 27+nseg {
			return s, fmt.Errorf("page %d: truncated", seq)
		}
		size := 0
		for _, l := range b[27 : 27+nseg] {
			size += int(l)
		}
		end := 27 + nseg + size
		if len(b) < end {
			return s, fmt.Errorf("page %d: truncated body", seq)
		}
		page := append([]byte(nil), b[:end]...)
		want := binary.LittleEndian.Uint32(page[22:26])
		copy(page[22:26], []byte{0, 0, 0, 0})
		if got := oggCRC(page); got != want {
			return s, fmt.Errorf("page %d: CRC %08x, header says %08x", seq, got, want)
		}
		if got := binary.LittleEndian.Uint32(b[18:22]); got != seq {
			return s, fmt.Errorf("page sequence %d, want %d", got, seq)
		}
		granule = binary.LittleEndian.Uint64(b[6:14])
		eos = b[5]&0x04 != 0
		body := b[27+nseg : end]
		for _, l := range b[27 : 27+nseg] {
			partial = append(partial, body[:l]...)
			body = body[l:]
			if l < 255 {
				packets = append(packets, partial)
				partial = nil
			}
		}
		b = b[end:]
		seq++
	}
	if !eos {
		return s, fmt.Errorf("no end-of-stream page")
	}
	if len(packets) < 2 || !bytes.HasPrefix(packets[0], []byte("OpusHead")) || !bytes.HasPrefix(packets[1], []byte("OpusTags")) {
		return s, fmt.Errorf("missing OpusHead/OpusTags headers")
	}
	preSkip := uint64(binary.LittleEndian.Uint16(packets[0][10:12]))
	for i, p := range packets[2:] {
		if len(p) == 0 {
			continue // an empty end-of-stream page
		}
		if p[0]>>3 != 31 || p[0]&3 != 0 { // what the e2e publishers send: CELT FB 20 ms, one frame
			return s, fmt.Errorf("packet %d: unexpected TOC %#x", i, p[0])
		}
		s.packets++
	}
	if granule > preSkip {
		s.span = time.Duration(granule-preSkip) * time.Second / 48000
	}
	return s, nil
}
