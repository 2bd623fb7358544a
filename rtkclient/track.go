package rtkclient

import (
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/livekit/protocol/livekit"
	"github.com/pion/webrtc/v4"
	"github.com/pion/webrtc/v4/pkg/media"
)

// Kind is a media kind.
type Kind string

// Media kinds.
const (
	Audio Kind = "audio"
	Video Kind = "video"
)

// TrackOptions describe a local track.
type TrackOptions struct {
	Name   string
	Source livekit.TrackSource
	Codec  webrtc.RTPCodecCapability
	// VideoWidth and VideoHeight are the video's dimensions.
	VideoWidth, VideoHeight int
	// Muted publishes the track muted.
	Muted bool
}

// Microphone is an Opus microphone track.
func Microphone() TrackOptions {
	return TrackOptions{Name: "microphone", Source: livekit.TrackSource_MICROPHONE,
		Codec: webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeOpus, ClockRate: 48000, Channels: 2}}
}

// Camera is a VP8 camera track of the given dimensions.
func Camera(width, height int) TrackOptions {
	return TrackOptions{Name: "camera", Source: livekit.TrackSource_CAMERA,
		Codec:      webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeVP8, ClockRate: 90000},
		VideoWidth: width, VideoHeight: height}
}

func (o TrackOptions) kind() Kind {
	if strings.HasPrefix(strings.ToLower(o.Codec.MimeType), "video/") {
		return Video
	}
	return Audio
}

// Track is a local track that lives across moves: the application writes
// samples once, and the client fans them out to a publication in every room
// it is connected to (a pion LocalTrack binds to one peer connection, so
// each room gets its own). Its mute state carries over to every new room.
// A Track is safe for concurrent use.
type Track struct {
	opts TrackOptions

	mu    sync.Mutex
	muted bool
	sinks []sinkOf // copied on change, so WriteSample reads it without copying
}

type sinkOf struct {
	rc *roomConn
	s  sink
}

// Options returns the options the track was published with.
func (t *Track) Options() TrackOptions { return t.opts }

// WriteSample sends one sample in every room the client is connected to.
// While the track is muted, samples are dropped: nothing leaves the process.
// A room whose connection cannot take samples yet drops them too.
func (t *Track) WriteSample(s media.Sample) error {
	t.mu.Lock()
	muted, sinks := t.muted, t.sinks
	t.mu.Unlock()
	if muted {
		return nil
	}
	for _, so := range sinks {
		_ = so.s.WriteSample(s) // not bound yet, or closing: drop
	}
	return nil
}

// SetMuted mutes or unmutes the track in every room, now and after moves.
func (t *Track) SetMuted(muted bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.muted == muted {
		return
	}
	t.muted = muted
	for _, so := range t.sinks {
		so.s.SetMuted(muted)
	}
}

// Muted reports whether the track is muted.
func (t *Track) Muted() bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.muted
}

// attach starts feeding s (the track's publication in rc), muting it first
// if the track is muted.
func (t *Track) attach(rc *roomConn, s sink) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.muted {
		s.SetMuted(true)
	}
	t.sinks = append(append([]sinkOf(nil), t.sinks...), sinkOf{rc, s})
}

// adopt feeds s, a publication of t in rc made ahead of time (muted as t
// was then), from now on, muted as t is now.
func (t *Track) adopt(rc *roomConn, s sink) {
	t.mu.Lock()
	defer t.mu.Unlock()
	s.SetMuted(t.muted)
	t.sinks = append(append([]sinkOf(nil), t.sinks...), sinkOf{rc, s})
}

// detach stops feeding rc.
func (t *Track) detach(rc *roomConn) {
	t.mu.Lock()
	defer t.mu.Unlock()
	var keep []sinkOf
	for _, so := range t.sinks {
		if so.rc != rc {
			keep = append(keep, so)
		}
	}
	t.sinks = keep
}

// detachAll stops feeding every room and returns what was fed.
func (t *Track) detachAll() []sinkOf {
	t.mu.Lock()
	defer t.mu.Unlock()
	all := t.sinks
	t.sinks = nil
	return all
}

// MediaStats is what this client received from one remote identity, of one
// kind, in one room. It counts the RTP packets that carry the publisher's
// media only: not padding, and not the silence frames the SFU sends on its
// own for a muted audio track (carriesMedia).
type MediaStats struct {
	Room     string
	Identity string
	Kind     Kind
	First    time.Time // arrival of the first packet with media
	Last     time.Time // arrival of the latest packet with media
	Packets  int
}

type statsKey struct {
	room, identity string
	kind           Kind
}

// recordPacket counts one RTP packet.
func (c *Client) recordPacket(room, identity string, kind Kind, at time.Time) {
	k := statsKey{room, identity, kind}
	c.statsMu.Lock()
	st := c.stats[k]
	first := st == nil
	if first {
		st = &MediaStats{Room: room, Identity: identity, Kind: kind, First: at}
		c.stats[k] = st
	}
	st.Packets++
	st.Last = at
	snapshot := *st
	c.statsMu.Unlock()
	if first {
		emit(c, c.h.FirstPacket, snapshot)
	}
}

// resetStats forgets what was received in room: a new connection to it
// starts afresh.
func (c *Client) resetStats(room string) {
	c.statsMu.Lock()
	defer c.statsMu.Unlock()
	for k := range c.stats {
		if k.room == room {
			delete(c.stats, k)
		}
	}
}

// Stats returns what this client has received, per room, remote identity
// and kind, sorted by room, identity and kind. The stats of a room describe
// the latest connection to it: they restart when the client joins it again.
func (c *Client) Stats() []MediaStats {
	c.statsMu.Lock()
	out := make([]MediaStats, 0, len(c.stats))
	for _, st := range c.stats {
		out = append(out, *st)
	}
	c.statsMu.Unlock()
	sort.Slice(out, func(i, j int) bool {
		a, b := out[i], out[j]
		if a.Room != b.Room {
			return a.Room < b.Room
		}
		if a.Identity != b.Identity {
			return a.Identity < b.Identity
		}
		return a.Kind < b.Kind
	})
	return out
}

// Received returns what this client has received from identity of kind in
// room (zero Packets if nothing).
func (c *Client) Received(room, identity string, kind Kind) MediaStats {
	c.statsMu.Lock()
	defer c.statsMu.Unlock()
	if st := c.stats[statsKey{room, identity, kind}]; st != nil {
		return *st
	}
	return MediaStats{Room: room, Identity: identity, Kind: kind}
}
