//go:build e2e

package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/livekit/protocol/auth"
	"github.com/livekit/protocol/livekit"
	"github.com/livekit/protocol/webhook"
	lksdk "github.com/livekit/server-sdk-go/v2"
	"github.com/pion/webrtc/v4"
	"github.com/pion/webrtc/v4/pkg/media"

	"rtk-sidecar/bridge"
	"rtk-sidecar/protocol"
	"rtk-sidecar/rtkclient"
)

// TestMoverHandoff drives bridge.Mover directly (no breakouts API) against the real SFU, with
// rtkclient participants in two rooms:
//
//	main: p-av (audio + video), p-muted (muted microphone), alice (audio), obs-main (observer)
//	bo-1: bob (audio), obs-bo (observer)
//
// and checks the handoff of docs/protocol.md §4 end to end: where participants end up, what
// the observers hear, that a muted microphone stays muted and video stays on, that the mover
// itself hears no gap, the data fallback for a client without the rtk.move RPC (and the sweep
// of its lost leave), the data path for a client without canPublishData, and the offline and
// already-there outcomes.
func TestMoverHandoff(t *testing.T) {
	requireMedia(t)
	top := t // participants that outlive a subtest belong to the whole test
	hooks := newWebhookSink(t)
	lk := StartSFU(t, SFUConfig{WebhookURLs: []string{hooks.URL}})
	keys := bridge.Keys{APIKey: lk.APIKey, APISecret: lk.APISecret}
	log := slog.New(slog.NewTextHandler(testWriter{t}, &slog.HandlerOptions{Level: slog.LevelInfo}))
	mover := bridge.NewMover(lk.Rooms, bridge.NewAdminRPC(lk.HTTPURL, keys, nil), keys, lk.URL, log)
	runMover(t, mover)
	hooks.forward(mover.Observe)

	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	for _, room := range []string{"main", "bo-1"} {
		if _, err := lk.Rooms.CreateRoom(ctx, &livekit.CreateRoomRequest{Name: room}); err != nil {
			t.Fatalf("CreateRoom %s: %v", room, err)
		}
	}

	av := joinClient(t, lk, "main", "p-av", lk.Token(t, "main", "p-av"))
	av.publish(t, rtkclient.Microphone(), opusFrame, audioFrameInterval)
	av.publish(t, rtkclient.Camera(videoWidth, videoHeight), vp8KeyFrame, videoFrameInterval)
	muted := joinClient(t, lk, "main", "p-muted", lk.Token(t, "main", "p-muted"))
	mutedOpts := rtkclient.Microphone()
	mutedOpts.Muted = true
	mutedMic := muted.publish(t, mutedOpts, opusFrame, audioFrameInterval)
	alice := joinClient(t, lk, "main", "alice", lk.Token(t, "main", "alice"))
	alice.publish(t, rtkclient.Microphone(), opusFrame, audioFrameInterval)
	bob := joinClient(t, lk, "bo-1", "bob", lk.Token(t, "bo-1", "bob"))
	bob.publish(t, rtkclient.Microphone(), opusFrame, audioFrameInterval)
	obsMain := Join(t, lk.URL, lk.Token(t, "main", "obs-main"))
	obsBo := Join(t, lk.URL, lk.Token(t, "bo-1", "obs-bo"))
	ears := listen(t, lk, "bo-1", "ears-bo") // tells the clients' Opus frames from the SFU's silence

	// The mesh is up before anything moves.
	obsMain.WaitHeard(t, "p-av", 10*time.Second)
	obsMain.WaitHeard(t, "alice", 10*time.Second)
	obsMain.WaitTrack(t, "p-muted", livekit.TrackSource_MICROPHONE, true, 10*time.Second)
	obsBo.WaitHeard(t, "bob", 10*time.Second)
	eventually(t, 10*time.Second, func() string {
		if n := av.c.Received("main", "alice", rtkclient.Audio).Packets; n <= 10 {
			return fmt.Sprintf("p-av received %d packets from alice", n)
		}
		return ""
	})

	order := func(id, moveID string) bridge.MoveOrder {
		return bridge.MoveOrder{MoveID: moveID, Identity: id, FromRoom: "main", ToRoom: "bo-1",
			Meeting: protocol.MeetingRef{Title: "Breakout 1"}, PresetID: "group_call_participant",
			Permissions: map[string]any{"can_switch_to_parent_meeting": true}}
	}

	t.Run("audio and video participant", func(t *testing.T) {
		t0 := time.Now()
		present := watchPresence(t, lk, "bo-1", "p-av")
		res := mover.Move(ctx, order("p-av", "move-av"))
		if res.Outcome != bridge.MoveArrived || res.Via != bridge.ViaRPC || res.Deliveries != 1 {
			t.Fatalf("Move = %+v, want arrived via rpc after one instruction", res)
		}
		obsBo.WaitHeard(t, "p-av", 5*time.Second)
		audible := obsBo.FirstHeard("p-av").Sub(t0)
		eventually(t, 5*time.Second, func() string {
			if n := obsBo.VideoPacketsFrom("p-av"); n == 0 {
				return "obs-bo received no video from p-av"
			}
			return ""
		})
		video := time.Since(t0)
		eventually(t, 5*time.Second, func() string {
			if n := obsBo.VideoPacketsFrom("p-av"); n <= 10 {
				return fmt.Sprintf("obs-bo received %d video packets from p-av", n)
			}
			return ""
		})
		rep := av.waitMove(t, "move-av")
		if rep.Via != "rpc" {
			t.Errorf("client followed via %s, want rpc", rep.Via)
		}
		waitSilent(t, obsMain, "p-av")
		eventually(t, 5*time.Second, func() string { return roomIs(lk, "main", "alice", "obs-main", "p-muted") })
		eventually(t, 5*time.Second, func() string { return roomIs(lk, "bo-1", "bob", "obs-bo", "ears-bo", "p-av") })

		// The mover's own ears: it hears bo-1 before it stops hearing main.
		lastSrc, firstDst := lastFrom(av.c, "main"), firstFrom(av.c, "bo-1")
		gap := max(0, firstDst.Sub(lastSrc))
		if firstDst.IsZero() || lastSrc.IsZero() {
			t.Fatalf("p-av heard main until %v and bo-1 from %v", lastSrc, firstDst)
		}
		if gap > 0 {
			t.Errorf("p-av's media gap is %s (heard bo-1 from %s after the move started, main until %s), want 0",
				gap, firstDst.Sub(t0), lastSrc.Sub(t0))
		}
		before := av.c.Received("bo-1", "bob", rtkclient.Audio).Packets
		time.Sleep(200 * time.Millisecond)
		if after := av.c.Received("bo-1", "bob", rtkclient.Audio).Packets; after <= before {
			t.Errorf("p-av stopped hearing bob after the move: %d -> %d packets", before, after)
		}
		t.Logf("single move p-av (audio+video): Move returned in %s; present in bo-1 at %s; obs-bo heard audio at %s, "+
			"video by %s; p-av left main at %s (overlap %s); p-av gap %s (heard bo-1 at %s, main until %s)",
			res.Elapsed.Round(time.Millisecond), present().Sub(t0).Round(time.Millisecond), audible.Round(time.Millisecond),
			video.Round(time.Millisecond), rep.Left.Sub(t0).Round(time.Millisecond), rep.Left.Sub(rep.Published).Round(time.Millisecond),
			gap, firstDst.Sub(t0).Round(time.Millisecond), lastSrc.Sub(t0).Round(time.Millisecond))
	})

	t.Run("muted participant stays muted", func(t *testing.T) {
		t0 := time.Now()
		res := mover.Move(ctx, order("p-muted", "move-muted"))
		if res.Outcome != bridge.MoveArrived {
			t.Fatalf("Move = %+v", res)
		}
		obsBo.WaitTrack(t, "p-muted", livekit.TrackSource_MICROPHONE, true, 5*time.Second)
		seen := time.Since(t0)
		muted.waitMove(t, "move-muted")
		eventually(t, 5*time.Second, func() string {
			p, err := lk.Rooms.GetParticipant(ctx, &livekit.RoomParticipantIdentity{Room: "bo-1", Identity: "p-muted"})
			if err != nil {
				return err.Error()
			}
			for _, tr := range p.Tracks {
				if tr.Source == livekit.TrackSource_MICROPHONE {
					if !tr.Muted {
						return "the server lists p-muted's microphone unmuted in bo-1"
					}
					return ""
				}
			}
			return "the server lists no microphone of p-muted in bo-1"
		})
		time.Sleep(500 * time.Millisecond)
		// LiveKit sends subscribers about 1 s of Opus silence frames when a publisher mutes
		// (DownTrack.handleMute); what must never arrive is the client's own audio.
		if n := ears.media("p-muted"); n != 0 || !mutedMic.Muted() {
			t.Errorf("ears-bo received %d of muted p-muted's own audio packets (track muted: %v)", n, mutedMic.Muted())
		}
		if ears.media("p-av") == 0 {
			t.Error("ears-bo never received p-av's own audio: the payload check is broken")
		}
		t.Logf("muted move: Move returned in %s, obs-bo saw the muted microphone by %s", res.Elapsed.Round(time.Millisecond), seen.Round(time.Millisecond))
	})

	t.Run("client without the RPC method gets data, lost leave swept", func(t *testing.T) {
		raw := joinRaw(t, lk, "main", "raw")
		t0 := time.Now()
		moved := make(chan struct{})
		go func() { // the "client": follow the data instruction but never leave main
			defer close(moved)
			select {
			case in := <-raw.instructions:
				raw.joinDestination(t, lk, in)
			case <-time.After(10 * time.Second):
			}
		}()
		res := mover.Move(ctx, order("raw", "move-raw"))
		<-moved
		if res.Outcome != bridge.MoveArrived || res.Via != bridge.ViaData {
			t.Fatalf("Move = %+v, want arrived via data", res)
		}
		if res.Elapsed > 2*time.Second {
			t.Errorf("Move took %s: the 1400 answer should make the fallback immediate", res.Elapsed)
		}
		// raw never leaves main: the Mover's sweep removes it 1 s after the arrival.
		eventually(t, 5*time.Second, func() string { return roomIs(lk, "main", "alice", "obs-main") })
		t.Logf("raw client: arrived via data in %s; its leftover in main was removed %s after the move began",
			res.Elapsed.Round(time.Millisecond), time.Since(t0).Round(time.Millisecond))
	})

	t.Run("client without canPublishData gets data", func(t *testing.T) {
		grant := &auth.VideoGrant{RoomJoin: true, Room: "main"}
		grant.SetCanPublishData(false)
		quiet := joinClient(top, lk, "main", "quiet", lk.TokenWithGrant(t, "quiet", grant))
		res := mover.Move(ctx, order("quiet", "move-quiet"))
		if res.Outcome != bridge.MoveArrived || res.Via != bridge.ViaData || res.Elapsed > 1500*time.Millisecond {
			t.Fatalf("Move = %+v, want arrived via data at once (no 2 s RPC timeout)", res)
		}
		if rep := quiet.waitMove(t, "move-quiet"); rep.Via != "data" {
			t.Errorf("client followed via %s", rep.Via)
		}
		p, err := lk.Rooms.GetParticipant(ctx, &livekit.RoomParticipantIdentity{Room: "bo-1", Identity: "quiet"})
		if err != nil || p.Permission.CanPublishData {
			t.Errorf("quiet in bo-1: %v, %v; want present without canPublishData", p, err)
		}
	})

	t.Run("three back at once", func(t *testing.T) {
		back := func(id string) bridge.MoveOrder {
			o := order(id, "back-"+id)
			o.FromRoom, o.ToRoom = "bo-1", "main"
			return o
		}
		t0 := time.Now()
		ids := []string{"p-av", "p-muted", "quiet"}
		results := make([]bridge.MoveResult, len(ids))
		var wg sync.WaitGroup
		for i, id := range ids {
			wg.Go(func() { results[i] = mover.Move(ctx, back(id)) })
		}
		wg.Wait()
		for _, r := range results {
			if r.Outcome != bridge.MoveArrived {
				t.Errorf("%s: %+v", r.Identity, r)
			}
		}
		av.waitMove(t, "back-p-av")
		muted.waitMove(t, "back-p-muted")
		eventually(t, 5*time.Second, func() string {
			return roomIs(lk, "main", "alice", "obs-main", "p-av", "p-muted", "quiet")
		})
		eventually(t, 5*time.Second, func() string { return roomIs(lk, "bo-1", "bob", "obs-bo", "ears-bo") })
		obsMain.WaitTrack(t, "p-muted", livekit.TrackSource_MICROPHONE, true, 5*time.Second)
		eventually(t, 5*time.Second, func() string {
			if n := av.c.Received("main", "alice", rtkclient.Audio).Packets; n == 0 {
				return "p-av does not hear alice again"
			}
			return ""
		})
		// p-av heard main again before it stopped hearing bo-1 (stats restart with each
		// connection to a room).
		lastSrc, firstDst := lastFrom(av.c, "bo-1"), firstFrom(av.c, "main")
		if !firstDst.After(t0) {
			t.Fatalf("p-av's stats of main start at %v, before the move back", firstDst)
		}
		if gap := firstDst.Sub(lastSrc); gap > 0 {
			t.Errorf("p-av's media gap coming back is %s", gap)
		}
		var slowest time.Duration
		for _, r := range results {
			slowest = max(slowest, r.Elapsed)
		}
		t.Logf("three moves at once: every Move returned (arrived) within %s", slowest.Round(time.Millisecond))
	})

	t.Run("break-before-make has a gap", func(t *testing.T) {
		naive := joinClient(t, lk, "main", "naive", lk.Token(t, "main", "naive"), rtkclient.WithBreakBeforeMake())
		eventually(t, 10*time.Second, func() string {
			if naive.c.Received("main", "alice", rtkclient.Audio).Packets == 0 {
				return "naive does not hear alice"
			}
			return ""
		})
		res := mover.Move(ctx, order("naive", "move-naive"))
		if res.Outcome != bridge.MoveArrived {
			t.Fatalf("Move = %+v", res)
		}
		naive.waitMove(t, "move-naive")
		eventually(t, 5*time.Second, func() string {
			if naive.c.Received("bo-1", "bob", rtkclient.Audio).Packets == 0 {
				return "naive does not hear bob"
			}
			return ""
		})
		gap := firstFrom(naive.c, "bo-1").Sub(lastFrom(naive.c, "main"))
		if gap <= 0 {
			t.Errorf("break-before-make gap %s, want > 0", gap)
		}
		t.Logf("break-before-make (naive) client: media gap %s", gap.Round(time.Millisecond))
	})

	t.Run("offline", func(t *testing.T) {
		res := mover.Move(ctx, order("nobody", "move-nobody"))
		if res.Outcome != bridge.MoveOffline || res.Elapsed > 500*time.Millisecond {
			t.Errorf("Move = %+v, want offline at once", res)
		}
	})

	t.Run("already there", func(t *testing.T) {
		res := mover.Move(ctx, order("bob", "move-bob"))
		if res.Outcome != bridge.MoveAlreadyThere || res.Deliveries != 0 {
			t.Errorf("Move = %+v, want already there", res)
		}
	})
}

// runMover runs m until the test ends.
func runMover(t *testing.T, m *bridge.Mover) {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- m.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Mover.Run: %v", err)
		}
	})
}

// webhookSink receives LiveKit's webhooks, verified with the test key, and forwards them.
type webhookSink struct {
	*httptest.Server
	mu sync.Mutex
	fn func(*livekit.WebhookEvent)
}

func newWebhookSink(t *testing.T) *webhookSink {
	s := &webhookSink{}
	keys := auth.NewSimpleKeyProvider(testAPIKey, testAPISecret)
	s.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ev, err := webhook.ReceiveWebhookEvent(r, keys)
		if err != nil {
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		s.mu.Lock()
		fn := s.fn
		s.mu.Unlock()
		if fn != nil {
			fn(ev)
		}
		w.WriteHeader(http.StatusNoContent)
	}))
	t.Cleanup(s.Close)
	return s
}

func (s *webhookSink) forward(fn func(*livekit.WebhookEvent)) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.fn = fn
}

// moveClient is an rtkclient participant with its move reports.
type moveClient struct {
	c     *rtkclient.Client
	mu    sync.Mutex
	moves map[string]rtkclient.MoveReport
}

// joinClient connects an rtkclient participant to room with token and closes it at cleanup.
func joinClient(t *testing.T, lk *SFU, room, identity, token string, opts ...rtkclient.Option) *moveClient {
	t.Helper()
	mc := &moveClient{moves: map[string]rtkclient.MoveReport{}}
	log := slog.New(slog.NewTextHandler(testWriter{t}, &slog.HandlerOptions{Level: slog.LevelDebug})).With("client", identity)
	mc.c = rtkclient.New("", "", append([]rtkclient.Option{rtkclient.WithLogger(log), rtkclient.WithHandlers(rtkclient.Handlers{
		MoveDone: func(r rtkclient.MoveReport) {
			log.Info("move report", "move", r.MoveID, "via", r.Via, "from", r.From, "to", r.To, "err", r.Err)
			mc.mu.Lock()
			defer mc.mu.Unlock()
			mc.moves[r.MoveID] = r
		},
		Disconnected: func(d rtkclient.Disconnected) {
			log.Warn("disconnected by the server", "room", d.Room, "reason", d.Reason)
		},
	})}, opts...)...)
	t.Cleanup(mc.c.Close)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := mc.c.Connect(ctx, lk.URL, token); err != nil {
		t.Fatalf("connect %s to %s: %v", identity, room, err)
	}
	return mc
}

// publish publishes a track and feeds it frame every interval until the test ends.
func (mc *moveClient) publish(t *testing.T, opts rtkclient.TrackOptions, frame []byte, interval time.Duration) *rtkclient.Track {
	t.Helper()
	tr, err := mc.c.Publish(opts)
	if err != nil {
		t.Fatalf("publish %s: %v", opts.Name, err)
	}
	every(t, interval, func() { _ = tr.WriteSample(media.Sample{Data: frame, Duration: interval}) })
	return tr
}

// waitMove waits for the client's report of a successful move.
func (mc *moveClient) waitMove(t *testing.T, moveID string) rtkclient.MoveReport {
	t.Helper()
	var rep rtkclient.MoveReport
	eventually(t, 5*time.Second, func() string {
		mc.mu.Lock()
		defer mc.mu.Unlock()
		r, ok := mc.moves[moveID]
		switch {
		case !ok:
			return "client has not finished move " + moveID
		case r.Err != nil:
			return fmt.Sprintf("client move %s failed: %v", moveID, r.Err)
		}
		rep = r
		return ""
	})
	return rep
}

// lastFrom is when c last received RTP from anyone in room.
func lastFrom(c *rtkclient.Client, room string) time.Time {
	var last time.Time
	for _, st := range c.Stats() {
		if st.Room == room && st.Last.After(last) {
			last = st.Last
		}
	}
	return last
}

// firstFrom is when c first received RTP from anyone in room.
func firstFrom(c *rtkclient.Client, room string) time.Time {
	var first time.Time
	for _, st := range c.Stats() {
		if st.Room == room && (first.IsZero() || st.First.Before(first)) {
			first = st.First
		}
	}
	return first
}

// watchPresence polls room every 5 ms until identity is listed; the returned function waits
// for that and returns when it was first seen.
func watchPresence(t *testing.T, lk *SFU, room, identity string) func() time.Time {
	done := make(chan time.Time, 1)
	go func() {
		deadline := time.Now().Add(10 * time.Second)
		for time.Now().Before(deadline) {
			ctx, cancel := context.WithTimeout(context.Background(), time.Second)
			_, err := lk.Rooms.GetParticipant(ctx, &livekit.RoomParticipantIdentity{Room: room, Identity: identity})
			cancel()
			if err == nil {
				done <- time.Now()
				return
			}
			time.Sleep(5 * time.Millisecond)
		}
		done <- time.Time{}
	}()
	var at time.Time
	var once sync.Once
	t.Cleanup(func() { once.Do(func() { at = <-done }) })
	return func() time.Time {
		once.Do(func() { at = <-done })
		return at
	}
}

// roomIs reports how room's participant list differs from want ("" when equal).
func roomIs(lk *SFU, room string, want ...string) string {
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	res, err := lk.Rooms.ListParticipants(ctx, &livekit.ListParticipantsRequest{Room: room})
	if err != nil {
		return err.Error()
	}
	var ids []string
	for _, p := range res.Participants {
		ids = append(ids, p.Identity)
	}
	slices.Sort(ids)
	slices.Sort(want)
	if !slices.Equal(ids, want) {
		return fmt.Sprintf("%s lists %v, want %v", room, ids, want)
	}
	return ""
}

// waitSilent waits until obs no longer receives identity's audio.
func waitSilent(t *testing.T, obs *Participant, identity string) {
	t.Helper()
	eventually(t, 5*time.Second, func() string {
		before := obs.PacketsFrom(identity)
		time.Sleep(300 * time.Millisecond)
		if after := obs.PacketsFrom(identity); after != before {
			return fmt.Sprintf("%s still receives %s: %d -> %d packets in 300ms", obs.Identity(), identity, before, after)
		}
		return ""
	})
}

// earsObserver is a subscriber that tells the participants' own Opus frames (opusFrame, TOC
// byte 0xfc) from the SFU's silence frames (TOC 0xf8).
type earsObserver struct {
	mu    sync.Mutex
	own   map[string]int // packets carrying opusFrame, by identity
	wg    sync.WaitGroup
	room  *lksdk.Room
	ended bool
}

// listen joins room as a subscribe-only observer that inspects audio payloads.
func listen(t *testing.T, lk *SFU, room, identity string) *earsObserver {
	t.Helper()
	e := &earsObserver{own: map[string]int{}}
	cb := lksdk.NewRoomCallback()
	cb.OnTrackSubscribed = func(track *webrtc.TrackRemote, _ *lksdk.RemoteTrackPublication, rp *lksdk.RemoteParticipant) {
		if track.Kind() != webrtc.RTPCodecTypeAudio {
			return
		}
		e.mu.Lock()
		defer e.mu.Unlock()
		if e.ended {
			return
		}
		e.wg.Add(1)
		go func() {
			defer e.wg.Done()
			for {
				p, _, err := track.ReadRTP()
				if err != nil {
					return
				}
				if len(p.Payload) > 0 && p.Payload[0] == opusFrame[0] {
					e.mu.Lock()
					e.own[rp.Identity()]++
					e.mu.Unlock()
				}
			}
		}()
	}
	e.room = lksdk.NewRoom(cb)
	if err := e.room.JoinWithToken(lk.URL, lk.Token(t, room, identity), lksdk.WithAutoSubscribe(true)); err != nil {
		t.Fatalf("join %s: %v", identity, err)
	}
	t.Cleanup(func() {
		e.mu.Lock()
		e.ended = true
		e.mu.Unlock()
		e.room.Disconnect()
		e.wg.Wait()
	})
	return e
}

// media counts the packets of identity's own audio received.
func (e *earsObserver) media(identity string) int {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.own[identity]
}

// rawClient is a plain lksdk participant without the rtk.move RPC method; it hands the move
// instructions it receives as data to the test.
type rawClient struct {
	room         *lksdk.Room
	instructions chan []byte
	mu           sync.Mutex
	rooms        []*lksdk.Room
}

func joinRaw(t *testing.T, lk *SFU, room, identity string) *rawClient {
	t.Helper()
	rc := &rawClient{instructions: make(chan []byte, 4)}
	cb := lksdk.NewRoomCallback()
	cb.OnDataPacket = func(p lksdk.DataPacket, _ lksdk.DataReceiveParams) {
		if u, ok := p.(*lksdk.UserDataPacket); ok && u.Topic == protocol.MoveTopic {
			select {
			case rc.instructions <- u.Payload:
			default:
			}
		}
	}
	rc.room = lksdk.NewRoom(cb)
	if err := rc.room.JoinWithToken(lk.URL, lk.Token(t, room, identity), lksdk.WithAutoSubscribe(false)); err != nil {
		t.Fatalf("join %s: %v", identity, err)
	}
	rc.rooms = append(rc.rooms, rc.room)
	t.Cleanup(func() {
		rc.mu.Lock()
		defer rc.mu.Unlock()
		for _, r := range rc.rooms {
			r.Disconnect()
		}
	})
	return rc
}

// joinDestination joins the destination of a move instruction with its token.
func (rc *rawClient) joinDestination(t *testing.T, lk *SFU, payload []byte) {
	var in struct {
		V       int    `json:"v"`
		MoveID  string `json:"moveId"`
		LiveKit struct {
			URL, Token, Room string
		} `json:"livekit"`
	}
	if err := json.Unmarshal(payload, &in); err != nil || in.V != 1 || in.LiveKit.Token == "" {
		t.Errorf("bad instruction %s: %v", payload, err)
		return
	}
	r := lksdk.NewRoom(lksdk.NewRoomCallback())
	if err := r.JoinWithToken(in.LiveKit.URL, in.LiveKit.Token, lksdk.WithAutoSubscribe(false)); err != nil {
		t.Errorf("join %s with the instruction's token: %v", in.LiveKit.Room, err)
		return
	}
	rc.mu.Lock()
	rc.rooms = append(rc.rooms, r)
	rc.mu.Unlock()
}
