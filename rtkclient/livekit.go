package rtkclient

import (
	"bytes"
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	lksdk "github.com/livekit/server-sdk-go/v2"
	"github.com/pion/rtp"
	"github.com/pion/webrtc/v4"
)

// lkConnector connects with lksdk.
type lkConnector struct{}

// lkConn is a connection through lksdk. Its RTP readers end when the room
// disconnects; disconnect waits for them.
type lkConn struct {
	room_ *lksdk.Room
	h     connHandlers
	wg    sync.WaitGroup

	mu     sync.Mutex
	closed bool
}

func (lkConnector) connect(ctx context.Context, url, token string, h connHandlers) (conn, error) {
	lc := &lkConn{h: h}
	cb := lksdk.NewRoomCallback()
	cb.OnDataPacket = func(p lksdk.DataPacket, _ lksdk.DataReceiveParams) {
		if u, ok := p.(*lksdk.UserDataPacket); ok {
			h.data(u.Topic, u.Payload)
		}
	}
	cb.OnTrackSubscribed = lc.onTrackSubscribed
	cb.OnDisconnectedWithReason = func(r lksdk.DisconnectionReason) { h.disconnected(string(r)) }
	cb.OnRoomMoved = func(room, _ string) { h.roomMoved(room) }
	room := lksdk.NewRoom(cb)
	lc.room_ = room
	// Registered before the join, so no instruction can race it.
	if err := room.RegisterRpcMethod(MoveMethod, func(d lksdk.RpcInvocationData) (string, error) {
		return h.rpc(d.Payload), nil
	}); err != nil {
		return nil, err
	}
	opts := []lksdk.ConnectOption{lksdk.WithAutoSubscribe(true)}
	if dl, ok := ctx.Deadline(); ok {
		// lksdk waits for the peer connections for its own 5 s unless told
		// otherwise; the client's connect timeout (ctx) is the bound.
		opts = append(opts, lksdk.WithConnectTimeout(time.Until(dl)))
	}
	if err := room.JoinWithContextAndToken(ctx, url, token, opts...); err != nil {
		return nil, err
	}
	return lc, nil
}

func (lc *lkConn) room() string     { return lc.room_.Name() }
func (lc *lkConn) identity() string { return lc.room_.LocalParticipant.Identity() }

// trackSeq numbers local tracks, whose ids LiveKit wants unique per participant.
var trackSeq atomic.Uint64

func (lc *lkConn) publish(opts TrackOptions) (sink, error) {
	id := fmt.Sprintf("%s-%d", opts.Name, trackSeq.Add(1))
	track, err := webrtc.NewTrackLocalStaticSample(opts.Codec, id, lc.identity())
	if err != nil {
		return nil, err
	}
	pub, err := lc.room_.LocalParticipant.PublishTrack(track, &lksdk.TrackPublicationOptions{
		Name: opts.Name, Source: opts.Source, VideoWidth: opts.VideoWidth, VideoHeight: opts.VideoHeight,
	})
	if err != nil {
		return nil, err
	}
	return lkSink{track, pub, lc.room_}, nil
}

type lkSink struct {
	*webrtc.TrackLocalStaticSample
	pub  *lksdk.LocalTrackPublication
	room *lksdk.Room
}

func (s lkSink) SetMuted(m bool) { s.pub.SetMuted(m) }

func (s lkSink) Unpublish() error {
	return s.room.LocalParticipant.UnpublishTrack(s.pub.SID())
}

func (lc *lkConn) audible() []string {
	var ids []string
	for _, rp := range lc.room_.GetRemoteParticipants() {
		for _, pub := range rp.TrackPublications() {
			if pub.Kind() == lksdk.TrackKindAudio && !pub.IsMuted() {
				ids = append(ids, rp.Identity())
				break
			}
		}
	}
	return ids
}

// onTrackSubscribed runs at the first RTP packet of a remote track; it
// reads the track's packets until the track ends, and counts those that
// carry media.
func (lc *lkConn) onTrackSubscribed(track *webrtc.TrackRemote, _ *lksdk.RemoteTrackPublication, rp *lksdk.RemoteParticipant) {
	lc.mu.Lock()
	if lc.closed {
		lc.mu.Unlock()
		return
	}
	lc.wg.Add(1)
	lc.mu.Unlock()
	kind := Audio
	if track.Kind() == webrtc.RTPCodecTypeVideo {
		kind = Video
	}
	identity := rp.Identity()
	go func() {
		defer lc.wg.Done()
		buf := make([]byte, 1500)
		for {
			n, _, err := track.Read(buf)
			if err != nil {
				return // the peer connection closed
			}
			if carriesMedia(buf[:n]) {
				lc.h.packet(lc.room(), identity, kind, time.Now())
			}
		}
	}()
}

func (lc *lkConn) disconnect() {
	lc.mu.Lock()
	lc.closed = true
	lc.mu.Unlock()
	lc.room_.Disconnect()
	done := make(chan struct{})
	go func() { lc.wg.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		// A reader stuck in Read; it ends with the peer connection.
	}
}

// opusSilence is the Opus frame livekit-server sends on its own to the
// subscribers of a muted audio track: to a new subscriber of a track that
// is muted already, and at a mute (DownTrack, OpusSilenceFrame).
var opusSilence = []byte{0xf8, 0xff, 0xfe}

// carriesMedia reports whether the RTP packet pkt carries the publisher's
// media: it is not padding only, and not the SFU's silence frame
// (opusSilence). A subscriber gets that frame from a track that is muted,
// so it says nothing about hearing the publisher: a track published on a
// prepared connection (docs/protocol.md §5) while muted sends it to the
// room-mates, who may subscribe ahead of the start, before the mover sends
// anything. A packet that does not parse counts as media.
func carriesMedia(pkt []byte) bool {
	var p rtp.Packet
	if err := p.Unmarshal(pkt); err != nil {
		return true
	}
	return len(p.Payload) > 0 && !isOpusSilence(p.Payload)
}

// isOpusSilence reports whether payload is the SFU's silence frame, as it
// sends it: opusSilence, followed by nothing but zero bytes (seen 80 bytes
// long in all on a subscription that binds to a muted track).
func isOpusSilence(payload []byte) bool {
	rest, ok := bytes.CutPrefix(payload, opusSilence)
	return ok && bytes.Count(rest, []byte{0}) == len(rest)
}
