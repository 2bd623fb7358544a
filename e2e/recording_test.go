//go:build e2e

package e2e

import (
	"archive/zip"
	"bytes"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"hash/crc32"
	"io"
	"maps"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"rtk-sidecar/recording"
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
	StartReason       *struct {
		Reason string `json:"reason"`
	} `json:"start_reason"`
	StopReason *struct {
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

// TestRecordingBreakouts: when a recorded meeting starts its breakout rooms,
// every room is recorded separately, under its own meeting, with only its
// own people's audio, and each room's recording stops when the room closes.
// Everything goes through the whole sidecar: the recording, the rooms and
// the moves over its REST API, the participants as rtkclient clients moved
// by the real Mover.
func TestRecordingBreakouts(t *testing.T) {
	sc := StartSidecar(t)
	parent := sc.CreateMeeting(t, "Recorded workshop")
	host := newMember(t, sc, parent, "host", "group_call_host", false, false)
	p1 := newMember(t, sc, parent, "p1", "group_call_participant", false, false)
	p2 := newMember(t, sc, parent, "p2", "group_call_participant", false, false)
	p3 := newMember(t, sc, parent, "p3", "group_call_participant", false, false)
	for _, m := range []*member{host, p1, p2, p3} {
		m.join(t)
	}

	// The parent is recorded.
	var parentRec recordingJSON
	sc.Must(t, "POST", sc.AppPath+"/recordings", map[string]any{"meeting_id": parent}, &parentRec)
	waitRecording(t, sc, parentRec.ID, "RECORDING")

	// Two breakout rooms: p1 alone in the first, p2 and p3 in the second.
	base := sc.AppPath + "/meetings/" + parent + "/connected-meetings"
	var st adminState
	sc.Must(t, "POST", base, map[string]any{"version": 0, "count": 2}, &st)
	r1, r2 := st.Meetings[0].ID, st.Meetings[1].ID
	people := map[string][]string{r1: {p1.id}, r2: {p2.id, p3.id}}
	sc.Must(t, "POST", base+"/assign", map[string]any{"version": st.Version, "mode": "manual",
		"rooms": map[string][]string{r1: people[r1], r2: people[r2]}}, &st)
	sc.Must(t, "POST", base+"/start", map[string]any{"version": st.Version}, &st)

	// Each room gets a recording of its own, listed under its meeting.
	childRec := map[string]recordingJSON{}
	eventually(t, 20*time.Second, func() string {
		for _, room := range []string{r1, r2} {
			var rs []recordingJSON
			sc.Must(t, "GET", sc.AppPath+"/recordings?meeting_id="+room, nil, &rs)
			if len(rs) != 1 || rs[0].Status != "RECORDING" {
				return fmt.Sprintf("breakout %s has recordings %+v, want one RECORDING", short(room), rs)
			}
			childRec[room] = rs[0]
		}
		return ""
	})
	for room, r := range childRec {
		if r.StartReason == nil || r.StartReason.Reason != recording.ReasonRecordOnStart {
			t.Errorf("breakout %s recording started for %+v, want %s", short(room), r.StartReason, recording.ReasonRecordOnStart)
		}
	}
	time.Sleep(5 * time.Second) // the rooms talk

	// Close the rooms: everyone goes back, the rooms close, their recordings stop.
	sc.Must(t, "POST", base+"/close", map[string]any{"version": st.Version, "grace_seconds": 0}, &st)
	for room, r := range childRec {
		got := waitRecording(t, sc, r.ID, "UPLOADED")
		if got.StopReason == nil || got.StopReason.Reason != recording.ReasonAllPeersLeft {
			t.Errorf("breakout %s recording stopped with %+v, want %s", short(room), got.StopReason, recording.ReasonAllPeersLeft)
		}
	}
	var pr recordingJSON
	sc.Must(t, "GET", sc.AppPath+"/recordings/"+parentRec.ID, nil, &pr)
	if pr.Status != "RECORDING" {
		t.Errorf("the parent's recording is %s once the rooms closed, want RECORDING", pr.Status)
	}
	sc.Must(t, "PUT", sc.AppPath+"/recordings/"+parentRec.ID, map[string]any{"action": "stop"}, nil)
	waitRecording(t, sc, parentRec.ID, "UPLOADED")

	// Each room's recording holds exactly its own people's audio; the
	// parent's holds everyone (they were all in it before and after).
	for room, r := range childRec {
		dir := filepath.Join(sc.Cfg.Recording.OutputDir, e2eApp, r.ID)
		checkRoomAudio(t, dir, readManifest(t, dir), 3*time.Second, people[room]...)
	}
	pdir := filepath.Join(sc.Cfg.Recording.OutputDir, e2eApp, parentRec.ID)
	checkRoomAudio(t, pdir, readManifest(t, pdir), time.Second, host.id, p1.id, p2.id, p3.id)
	var all []recordingJSON
	sc.Must(t, "GET", sc.AppPath+"/recordings?per_page=100", nil, &all)
	if len(all) != 3 {
		t.Errorf("%d recordings in all, want 3 (the parent and one per breakout room)", len(all))
	}
}

// checkRoomAudio checks that a recording holds valid Ogg Opus audio of
// exactly these identities, at least min of it from each (a participant who
// left and came back has a track per stay). Unlike checkAudioTracks it does
// not expect the audio to fill the recording: a room's people leave before
// the room closes.
func checkRoomAudio(t *testing.T, dir string, m manifestJSON, min time.Duration, identities ...string) {
	t.Helper()
	heard := map[string]time.Duration{}
	for _, tr := range m.Tracks {
		if tr.Kind != "audio" {
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
		if s.packets != tr.Packets {
			t.Errorf("%s: %d packets in the file, the manifest says %d", tr.File, s.packets, tr.Packets)
		}
		heard[tr.ParticipantIdentity] += time.Duration(s.packets) * 20 * time.Millisecond
	}
	got := slices.Sorted(maps.Keys(heard))
	want := slices.Sorted(slices.Values(identities))
	if !slices.Equal(got, want) {
		t.Errorf("%s: audio of %v, want exactly %v", dir, shorts(got), shorts(want))
	}
	for id, d := range heard {
		if d < min {
			t.Errorf("%s: only %s of %s's audio, want at least %s", dir, d, short(id), min)
		}
	}
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
