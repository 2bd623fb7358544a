//go:build e2e

package e2e

import (
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/livekit/protocol/livekit"
	lksdk "github.com/livekit/server-sdk-go/v2"
	"github.com/pion/webrtc/v4"
	"github.com/pion/webrtc/v4/pkg/media"
)

// Media the synthetic tracks send.
const (
	audioFrameInterval = 20 * time.Millisecond
	videoFrameInterval = time.Second / 15
	videoWidth         = 320
	videoHeight        = 240
	videoFrameSize     = 1200
)

// opusFrame is one 20 ms Opus packet that decodes to noise rather than silence: TOC byte 0xfc
// (config 31 = CELT-only fullband 20 ms, stereo, one frame) followed by pseudo-random bytes.
// Opus has no checksum, so any payload after a valid TOC is a decodable CELT frame; with these
// bytes the range decoder does not take the silence flag. (The silence frame f8 ff fe would do
// for RTP flow too.)
var opusFrame = func() []byte {
	b := make([]byte, 1+80)
	b[0] = 0xfc
	x := uint32(2463534242)
	for i := 1; i < len(b); i++ { // xorshift32
		x ^= x << 13
		x ^= x >> 17
		x ^= x << 5
		b[i] = byte(x)
	}
	return b
}()

// vp8KeyFrame is a synthetic VP8 key frame of videoFrameSize bytes: a valid uncompressed header
// (frame tag with key_frame=0, show_frame=1 and the first partition size, start code 9d 01 2a,
// 320x240) and filler for the compressed data. The SFU only parses the header (key frame flag
// and dimensions) and forwards it; nobody decodes it.
var vp8KeyFrame = func() []byte {
	b := make([]byte, videoFrameSize)
	firstPart := uint32(videoFrameSize - 10)
	tag := firstPart<<5 | 1<<4 // bit 0 key_frame=0 (key frame), bits 1-3 version 0, bit 4 show_frame
	b[0], b[1], b[2] = byte(tag), byte(tag>>8), byte(tag>>16)
	b[3], b[4], b[5] = 0x9d, 0x01, 0x2a
	w, h := uint16(videoWidth), uint16(videoHeight) // 14 bits each, scale bits 0
	b[6], b[7] = byte(w), byte(w>>8)&0x3f
	b[8], b[9] = byte(h), byte(h>>8)&0x3f
	for i := 10; i < len(b); i++ {
		b[i] = byte(i * 7)
	}
	return b
}()

// rtpStats is what a participant received from one remote identity on one kind of track.
type rtpStats struct {
	first   time.Time // arrival of the first RTP packet
	packets int
}

// Participant is an lksdk client in a room that can publish synthetic audio and video and
// records the RTP it receives, per remote identity. Its goroutines (feeders and RTP readers)
// end in Close, which runs at test cleanup.
type Participant struct {
	t        *testing.T
	identity string
	room     *lksdk.Room

	stop chan struct{} // closed by Close: feeders stop
	wg   sync.WaitGroup

	mu       sync.Mutex
	closed   bool
	audio    map[string]*rtpStats // by remote identity
	video    map[string]*rtpStats
	audioPub *lksdk.LocalTrackPublication
	videoPub *lksdk.LocalTrackPublication
}

// Join connects identity (from the token) to url with auto-subscribe on, failing the test on
// error, and closes the participant at cleanup.
func Join(t *testing.T, url, token string) *Participant {
	t.Helper()
	p, err := JoinErr(t, url, token)
	if err != nil {
		t.Fatalf("join %s: %v", url, err)
	}
	return p
}

// JoinErr is Join for tests that expect the join to fail: it returns the error.
func JoinErr(t *testing.T, url, token string) (*Participant, error) {
	t.Helper()
	p := &Participant{
		t:     t,
		stop:  make(chan struct{}),
		audio: map[string]*rtpStats{},
		video: map[string]*rtpStats{},
	}
	cb := lksdk.NewRoomCallback()
	cb.OnTrackSubscribed = p.onTrackSubscribed
	p.room = lksdk.NewRoom(cb)
	if err := p.room.JoinWithToken(url, token, lksdk.WithAutoSubscribe(true)); err != nil {
		return nil, err
	}
	p.identity = p.room.LocalParticipant.Identity()
	t.Cleanup(p.Close)
	return p, nil
}

// Identity is the participant's identity.
func (p *Participant) Identity() string { return p.identity }

// Room is the underlying lksdk room, for what the helpers do not cover.
func (p *Participant) Room() *lksdk.Room { return p.room }

// onTrackSubscribed runs when the first RTP packet of a remote track arrives (a muted track
// never gets here: the SFU forwards no RTP for it). It counts that track's packets until the
// track ends.
func (p *Participant) onTrackSubscribed(track *webrtc.TrackRemote, _ *lksdk.RemoteTrackPublication, rp *lksdk.RemoteParticipant) {
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		return
	}
	byID := p.audio
	if track.Kind() == webrtc.RTPCodecTypeVideo {
		byID = p.video
	}
	st := byID[rp.Identity()]
	if st == nil {
		st = &rtpStats{}
		byID[rp.Identity()] = st
	}
	p.wg.Add(1)
	p.mu.Unlock()

	go func() {
		defer p.wg.Done()
		buf := make([]byte, 1500)
		for {
			// Read returns an error once the peer connection is closed (Close disconnects).
			if _, _, err := track.Read(buf); err != nil {
				return
			}
			p.mu.Lock()
			if st.packets == 0 {
				st.first = time.Now()
			}
			st.packets++
			p.mu.Unlock()
		}
	}()
}

// PublishAudio publishes a microphone track and feeds it one Opus frame (opusFrame) every 20 ms
// until Close. The feeder starts before the publish request, so if the server refuses the track
// the client still sends RTP for it, like a misbehaving client would; the error is returned.
func (p *Participant) PublishAudio() error {
	track, err := webrtc.NewTrackLocalStaticSample(
		webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeOpus, ClockRate: 48000, Channels: 2},
		"audio", p.identity)
	if err != nil {
		return err
	}
	p.feed(track, opusFrame, audioFrameInterval)
	pub, err := p.room.LocalParticipant.PublishTrack(track, &lksdk.TrackPublicationOptions{
		Name: "microphone", Source: livekit.TrackSource_MICROPHONE,
	})
	if err != nil {
		return fmt.Errorf("publish audio as %s: %w", p.identity, err)
	}
	p.mu.Lock()
	p.audioPub = pub
	p.mu.Unlock()
	return nil
}

// PublishVideo publishes a camera track of synthetic VP8 key frames (320x240, 15 fps, 1.2 KB
// each) until Close.
func (p *Participant) PublishVideo() error {
	track, err := webrtc.NewTrackLocalStaticSample(
		webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeVP8, ClockRate: 90000},
		"video", p.identity)
	if err != nil {
		return err
	}
	p.feed(track, vp8KeyFrame, videoFrameInterval)
	pub, err := p.room.LocalParticipant.PublishTrack(track, &lksdk.TrackPublicationOptions{
		Name: "camera", Source: livekit.TrackSource_CAMERA, VideoWidth: videoWidth, VideoHeight: videoHeight,
	})
	if err != nil {
		return fmt.Errorf("publish video as %s: %w", p.identity, err)
	}
	p.mu.Lock()
	p.videoPub = pub
	p.mu.Unlock()
	return nil
}

// feed writes frame to track every interval until Close. Before the track is bound to a peer
// connection, writes are dropped.
func (p *Participant) feed(track *webrtc.TrackLocalStaticSample, frame []byte, interval time.Duration) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		return
	}
	p.wg.Add(1)
	go func() {
		defer p.wg.Done()
		tick := time.NewTicker(interval)
		defer tick.Stop()
		for {
			select {
			case <-p.stop:
				return
			case <-tick.C:
				// Errors mean the track is not bound (yet) or the connection closed; keep going.
				_ = track.WriteSample(media.Sample{Data: frame, Duration: interval})
			}
		}
	}()
}

// SetAudioMuted mutes or unmutes the published microphone. The feeder keeps sending RTP while
// muted, so what stops reaching the others is the SFU's doing.
func (p *Participant) SetAudioMuted(muted bool) error {
	p.mu.Lock()
	pub := p.audioPub
	p.mu.Unlock()
	if pub == nil {
		return errors.New("no audio published")
	}
	pub.SetMuted(muted)
	return nil
}

// HeardFrom reports whether any RTP of identity's audio has arrived.
func (p *Participant) HeardFrom(identity string) bool { return p.PacketsFrom(identity) > 0 }

// PacketsFrom returns how many RTP packets of identity's audio have arrived.
func (p *Participant) PacketsFrom(identity string) int {
	p.mu.Lock()
	defer p.mu.Unlock()
	if st := p.audio[identity]; st != nil {
		return st.packets
	}
	return 0
}

// FirstHeard returns when the first RTP packet of identity's audio arrived (zero if none has).
func (p *Participant) FirstHeard(identity string) time.Time {
	p.mu.Lock()
	defer p.mu.Unlock()
	if st := p.audio[identity]; st != nil {
		return st.first
	}
	return time.Time{}
}

// VideoPacketsFrom returns how many RTP packets of identity's video have arrived.
func (p *Participant) VideoPacketsFrom(identity string) int {
	p.mu.Lock()
	defer p.mu.Unlock()
	if st := p.video[identity]; st != nil {
		return st.packets
	}
	return 0
}

// WaitHeard waits until identity's audio has delivered more than 10 RTP packets (200 ms of
// audio), failing the test after timeout. A muted track never arrives (use WaitTrack instead).
func (p *Participant) WaitHeard(t *testing.T, identity string, timeout time.Duration) {
	t.Helper()
	eventually(t, timeout, func() string {
		if n := p.PacketsFrom(identity); n <= 10 {
			return fmt.Sprintf("%s has received %d audio packets from %s, want > 10", p.identity, n, identity)
		}
		return ""
	})
}

// RemoteTrack returns identity's published track of source as this participant sees it (its
// muted flag included), or nil.
func (p *Participant) RemoteTrack(identity string, source livekit.TrackSource) *lksdk.RemoteTrackPublication {
	rp := p.room.GetParticipantByIdentity(identity)
	if rp == nil {
		return nil
	}
	pub, _ := rp.GetTrackPublication(source).(*lksdk.RemoteTrackPublication)
	return pub
}

// WaitTrack waits until identity has a published track of source with the given muted state,
// as this participant sees it. This is the completion signal for muted tracks, which never
// deliver their publisher's media (docs/livekit-notes.md §7).
func (p *Participant) WaitTrack(t *testing.T, identity string, source livekit.TrackSource, muted bool, timeout time.Duration) {
	t.Helper()
	eventually(t, timeout, func() string {
		pub := p.RemoteTrack(identity, source)
		switch {
		case pub == nil:
			return fmt.Sprintf("%s sees no %s track of %s", p.identity, source, identity)
		case pub.IsMuted() != muted:
			return fmt.Sprintf("%s sees %s's %s track with muted=%v, want %v", p.identity, identity, source, pub.IsMuted(), muted)
		}
		return ""
	})
}

// Close leaves the room and stops the participant's goroutines. It is idempotent and runs at
// test cleanup.
func (p *Participant) Close() {
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		return
	}
	p.closed = true
	p.mu.Unlock()

	close(p.stop)
	p.room.Disconnect()
	done := make(chan struct{})
	go func() { p.wg.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		p.t.Errorf("participant %s: goroutines still running 10s after Disconnect", p.identity)
	}
}
