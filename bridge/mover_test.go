package bridge_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"reflect"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/livekit/protocol/auth"
	"github.com/livekit/protocol/livekit"
	"github.com/livekit/psrpc"
	"github.com/twitchtv/twirp"

	"rtk-sidecar/bridge"
	"rtk-sidecar/bridge/bridgetest"
	"rtk-sidecar/protocol"
)

const (
	testKey    = "test-key"
	testSecret = "test-secret-0123456789abcdefghijklmnop"
	publicURL  = "ws://livekit.test"
)

var testKeys = bridge.Keys{APIKey: testKey, APISecret: testSecret}

var (
	_ bridge.MoverRooms = (*bridgetest.LiveKit)(nil)
	_ bridge.RPCClient  = (*bridgetest.LiveKit)(nil)
)

// fast keeps unit tests quick: a 400 ms move timeout (re-delivery at 200 ms),
// a 50 ms sweep grace and 20 ms polling.
var fast = []bridge.MoverOption{
	bridge.WithMoveTimeout(400 * time.Millisecond),
	bridge.WithSweepGrace(50 * time.Millisecond),
	bridge.WithPollInterval(20 * time.Millisecond),
}

// newMover returns a running Mover over lk (which also performs RPCs) and
// stops both at cleanup, checking that Run returns.
func newMover(t *testing.T, lk *bridgetest.LiveKit, opts ...bridge.MoverOption) *bridge.Mover {
	t.Helper()
	m := bridge.NewMover(lk, lk, testKeys, publicURL, slog.New(slog.DiscardHandler), opts...)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- m.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("Run: %v", err)
			}
		case <-time.After(5 * time.Second):
			t.Error("Run did not return 5s after its context ended")
		}
		lk.Close()
	})
	return m
}

// moveObserver is a bridge.MoveObserver for one move at a time.
type moveObserver struct {
	started int
	ended   []string
	took    time.Duration
}

func (o *moveObserver) MoveStarted() { o.started++ }
func (o *moveObserver) MoveEnded(outcome string, took time.Duration) {
	o.ended, o.took = append(o.ended, outcome), took
}

func newLiveKit() *bridgetest.LiveKit { return bridgetest.NewLiveKit(testKey, testSecret) }

// participant is a connected participant with every right, like a preset
// host's grants.
func participant(id string) *livekit.ParticipantInfo {
	return &livekit.ParticipantInfo{Identity: id, Name: "name of " + id,
		Permission: &livekit.ParticipantPermission{CanPublish: true, CanSubscribe: true, CanPublishData: true}}
}

func order(id string) bridge.MoveOrder {
	return bridge.MoveOrder{MoveID: "move-" + id, Identity: id, FromRoom: "main", ToRoom: "bo-1",
		Meeting: protocol.MeetingRef{Title: "Room 1"}}
}

// codeOf is the psrpc class of err, or "".
func codeOf(err error) psrpc.ErrorCode {
	var perr psrpc.Error
	if errors.As(err, &perr) {
		return perr.Code()
	}
	return ""
}

// TestMoveOutcomes covers every outcome and delivery path against simulated
// clients: what Move answers, where the participant ends up, and what was sent.
func TestMoveOutcomes(t *testing.T) {
	noData := participant("x")
	noData.Permission.CanPublishData = false

	cases := []struct {
		name  string
		setup func(lk *bridgetest.LiveKit) // puts "p" somewhere
		want  bridge.Outcome
		via   string
		sent  int    // instructions sent (MoveResult.Deliveries)
		rpcs  int    // PerformRpc calls
		code  string // psrpc class of Err
		inDst bool
		inSrc bool // still in the source once the sweep grace has passed
		swept bool // removed from the source by the Mover
		quick bool // Move returns within 300 ms
	}{
		{name: "arrives by RPC", setup: func(lk *bridgetest.LiveKit) {
			lk.Join("main", participant("p"), bridgetest.Behavior{})
		}, want: bridge.MoveArrived, via: bridge.ViaRPC, sent: 1, rpcs: 1, inDst: true},
		{name: "method not registered (1400): data", setup: func(lk *bridgetest.LiveKit) {
			lk.Join("main", participant("p"), bridgetest.Behavior{RPC: bridgetest.RPCUnsupported})
		}, want: bridge.MoveArrived, via: bridge.ViaData, sent: 1, rpcs: 1, inDst: true},
		{name: "no ack (1501): data as well", setup: func(lk *bridgetest.LiveKit) {
			lk.Join("main", participant("p"), bridgetest.Behavior{RPC: bridgetest.RPCNoAck})
		}, want: bridge.MoveArrived, via: bridge.ViaData, sent: 1, rpcs: 1, inDst: true},
		{name: "answer lost after the client moved: arrival ends the wait", setup: func(lk *bridgetest.LiveKit) {
			lk.Join("main", participant("p"), bridgetest.Behavior{RPC: bridgetest.RPCNoAck, RPCDelay: 2 * time.Second})
		}, want: bridge.MoveArrived, via: bridge.ViaRPC, sent: 1, rpcs: 1, inDst: true, quick: true},
		{name: "no canPublishData: data without trying RPC", setup: func(lk *bridgetest.LiveKit) {
			p := participant("p")
			p.Permission = noData.Permission
			lk.Join("main", p, bridgetest.Behavior{})
		}, want: bridge.MoveArrived, via: bridge.ViaData, sent: 1, rpcs: 0, inDst: true},
		{name: "ignores the first instruction: re-delivered", setup: func(lk *bridgetest.LiveKit) {
			lk.Join("main", participant("p"), bridgetest.Behavior{Ignore: 1})
		}, want: bridge.MoveArrived, via: bridge.ViaRPC, sent: 2, rpcs: 2, inDst: true},
		{name: "RPC answer slow in coming, first instruction lost: repeated as data on time", setup: func(lk *bridgetest.LiveKit) {
			lk.Join("main", participant("p"), bridgetest.Behavior{Ignore: 1, RPCDelay: 2 * time.Second})
		}, want: bridge.MoveArrived, via: bridge.ViaData, sent: 2, rpcs: 1, inDst: true},
		{name: "never moves: failed after two instructions", setup: func(lk *bridgetest.LiveKit) {
			lk.Join("main", participant("p"), bridgetest.Behavior{Never: true})
		}, want: bridge.MoveFailed, via: bridge.ViaRPC, sent: 2, rpcs: 2, code: string(psrpc.DeadlineExceeded), inSrc: true},
		{name: "lost leave: swept", setup: func(lk *bridgetest.LiveKit) {
			lk.Join("main", participant("p"), bridgetest.Behavior{LoseLeave: true})
		}, want: bridge.MoveArrived, via: bridge.ViaRPC, sent: 1, rpcs: 1, inDst: true, swept: true},
		{name: "slow client", setup: func(lk *bridgetest.LiveKit) {
			lk.Join("main", participant("p"), bridgetest.Behavior{JoinDelay: 120 * time.Millisecond})
		}, want: bridge.MoveArrived, via: bridge.ViaRPC, sent: 1, rpcs: 1, inDst: true},
		{name: "offline", setup: func(lk *bridgetest.LiveKit) {},
			want: bridge.MoveOffline},
		{name: "already there", setup: func(lk *bridgetest.LiveKit) {
			lk.Join("bo-1", participant("p"), bridgetest.Behavior{})
		}, want: bridge.MoveAlreadyThere, inDst: true},
		{name: "already there, leftover in the source: swept", setup: func(lk *bridgetest.LiveKit) {
			lk.Join("main", participant("p"), bridgetest.Behavior{})
			time.Sleep(2 * time.Millisecond) // joined later
			lk.Join("bo-1", participant("p"), bridgetest.Behavior{})
		}, want: bridge.MoveAlreadyThere, inDst: true, swept: true},
		{name: "in both, the source is newer: moved, stale destination copy ignored", setup: func(lk *bridgetest.LiveKit) {
			lk.Join("bo-1", participant("p"), bridgetest.Behavior{})
			time.Sleep(2 * time.Millisecond) // joined later
			lk.Join("main", participant("p"), bridgetest.Behavior{JoinDelay: 60 * time.Millisecond})
		}, want: bridge.MoveArrived, via: bridge.ViaRPC, sent: 1, rpcs: 1, inDst: true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			lk := newLiveKit()
			obs := &moveObserver{}
			m := newMover(t, lk, append(slices.Clone(fast), bridge.WithMoveObserver(obs))...)
			lk.OnEvent(m.Observe)
			tc.setup(lk)
			staleDst := lk.Participant("bo-1", "p").GetSid()

			res := m.Move(context.Background(), order("p"))
			if obs.started != 1 || !slices.Equal(obs.ended, []string{tc.want.String()}) || obs.took != res.Elapsed {
				t.Errorf("the observer heard %d starts and the ends %v after %s, want 1 and [%s] after %s",
					obs.started, obs.ended, obs.took, tc.want, res.Elapsed)
			}

			if res.Outcome != tc.want || res.Via != tc.via || res.Deliveries != tc.sent {
				t.Fatalf("Move = %v via %q after %d instructions (err %v), want %v via %q after %d",
					res.Outcome, res.Via, res.Deliveries, res.Err, tc.want, tc.via, tc.sent)
			}
			if got := string(codeOf(res.Err)); got != tc.code || (tc.code == "") != (res.Err == nil) {
				t.Errorf("Err = %v (class %q), want class %q", res.Err, got, tc.code)
			}
			if tc.quick && res.Elapsed > 300*time.Millisecond {
				t.Errorf("Move took %s", res.Elapsed)
			}
			if ds := lk.Deliveries("p"); tc.quick && len(ds) != 1 {
				t.Errorf("deliveries %+v, want the RPC only", ds)
			}
			if res.MoveID != "move-p" || res.Identity != "p" || res.Elapsed <= 0 {
				t.Errorf("result %+v lacks its move id, identity or elapsed time", res)
			}
			if n := lk.RPCCalls("p"); n != tc.rpcs {
				t.Errorf("PerformRpc called %d times, want %d", n, tc.rpcs)
			}
			if n := lk.AbsentMoveCalls(); n != 0 {
				t.Errorf("MoveParticipant called %d times for an absent identity (3 s each on LiveKit)", n)
			}
			if dst := lk.Participant("bo-1", "p"); (dst != nil) != tc.inDst {
				t.Errorf("in destination = %v, want %v", dst != nil, tc.inDst)
			} else if tc.want == bridge.MoveArrived && dst.Sid == staleDst {
				t.Errorf("arrival confirmed by the stale destination copy %s", staleDst)
			}
			time.Sleep(150 * time.Millisecond) // sweep grace (50 ms) and more
			if src := lk.Participant("main", "p"); (src != nil) != tc.inSrc {
				t.Errorf("in source after the grace = %v, want %v", src != nil, tc.inSrc)
			}
			if swept := slices.Contains(lk.Removed(), "main/p"); swept != tc.swept {
				t.Errorf("swept = %v, want %v (removed %v)", swept, tc.swept, lk.Removed())
			}
		})
	}
}

// TestMoveInstruction checks the instruction a client receives against
// docs/protocol.md §4, and that the token carries the live name, metadata,
// attributes and permission set into the destination.
func TestMoveInstruction(t *testing.T) {
	lk := newLiveKit()
	m := newMover(t, lk, fast...)
	p := participant("p")
	p.Metadata = `{"participant_id":"p"}`
	p.Attributes = map[string]string{"role": "student", "group": "g7"}
	p.Permission = &livekit.ParticipantPermission{CanSubscribe: true, CanPublish: true, CanPublishData: true,
		CanUpdateMetadata: true, CanPublishSources: []livekit.TrackSource{livekit.TrackSource_MICROPHONE}}
	lk.Join("main", p, bridgetest.Behavior{})

	o := order("p")
	o.FromMeetingID, o.ToMeetingID = "meeting-main", "meeting-bo-1"
	o.PresetID = "preset-1"
	o.Permissions = map[string]any{"can_switch_to_parent_meeting": true}
	if res := m.Move(context.Background(), o); res.Outcome != bridge.MoveArrived {
		t.Fatalf("Move = %v: %v", res.Outcome, res.Err)
	}

	ds := lk.Deliveries("p")
	if len(ds) != 1 || ds[0].Via != "rpc" || ds[0].Topic != "rtk.move" || ds[0].Room != "main" {
		t.Fatalf("deliveries = %+v, want one RPC rtk.move in main", ds)
	}
	var got map[string]any
	if err := json.Unmarshal(ds[0].Payload, &got); err != nil {
		t.Fatal(err)
	}
	lkPart, _ := got["livekit"].(map[string]any)
	token, _ := lkPart["token"].(string)
	delete(lkPart, "token")
	want := map[string]any{
		"v": 1.0, "moveId": "move-p", "participantId": "p",
		"fromMeetingId": "meeting-main", "toMeetingId": "meeting-bo-1",
		"meeting":     map[string]any{"id": "meeting-bo-1", "title": "Room 1"},
		"livekit":     map[string]any{"url": publicURL, "room": "bo-1"},
		"presetId":    "preset-1",
		"permissions": map[string]any{"can_switch_to_parent_meeting": true},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("instruction =\n%v\nwant\n%v", got, want)
	}
	if token == "" {
		t.Error("instruction has no token")
	} else if d := ticketLife(t, token); d != bridge.TicketTTL {
		t.Errorf("the instruction's token is valid for %s, want %s", d, bridge.TicketTTL)
	}

	moved := lk.Participant("bo-1", "p")
	if moved.Name != p.Name || moved.Metadata != p.Metadata || !reflect.DeepEqual(moved.Attributes, p.Attributes) {
		t.Errorf("moved participant %q %q %v, want %q %q %v", moved.Name, moved.Metadata, moved.Attributes, p.Name, p.Metadata, p.Attributes)
	}
	perm := moved.Permission
	if !perm.CanSubscribe || !perm.CanPublish || !perm.CanPublishData || !perm.CanUpdateMetadata ||
		!slices.Equal(perm.CanPublishSources, []livekit.TrackSource{livekit.TrackSource_MICROPHONE}) {
		t.Errorf("moved permission %v, want the live one %v", perm, p.Permission)
	}
}

// TestMoveWithGrantAndMetadata: a grant in the order replaces the live
// permission set, and metadata in the order replaces the live metadata.
func TestMoveWithGrantAndMetadata(t *testing.T) {
	lk := newLiveKit()
	m := newMover(t, lk, fast...)
	lk.Join("main", participant("p"), bridgetest.Behavior{})

	o := order("p")
	o.Grant = &auth.VideoGrant{RoomJoin: true, Room: "bo-1"}
	o.Grant.SetCanPublish(false)
	o.Grant.SetCanPublishData(true)
	o.Grant.SetCanSubscribe(true)
	o.Metadata = `{"preset_id":"listener"}`
	if res := m.Move(context.Background(), o); res.Outcome != bridge.MoveArrived {
		t.Fatalf("Move = %v: %v", res.Outcome, res.Err)
	}
	moved := lk.Participant("bo-1", "p")
	if moved.Permission.CanPublish || !moved.Permission.CanSubscribe || moved.Metadata != o.Metadata {
		t.Errorf("moved with %v and metadata %q, want the order's grant and metadata", moved.Permission, moved.Metadata)
	}

	bad := order("q")
	bad.Grant = &auth.VideoGrant{RoomJoin: true, Room: "elsewhere"}
	if res := m.Move(context.Background(), bad); res.Outcome != bridge.MoveFailed || codeOf(res.Err) != psrpc.InvalidArgument {
		t.Errorf("grant for another room: %v %v, want failed InvalidArgument", res.Outcome, res.Err)
	}
}

// TestMoveParticipantNotImplemented: MoveParticipant is asked once, never for
// an absent identity, and never again once LiveKit said "not implemented".
func TestMoveParticipantNotImplemented(t *testing.T) {
	lk := newLiveKit()
	m := newMover(t, lk, fast...)
	for _, id := range []string{"a", "b", "c"} {
		lk.Join("main", participant(id), bridgetest.Behavior{})
	}
	if res := m.Move(context.Background(), order("nobody")); res.Outcome != bridge.MoveOffline {
		t.Fatalf("absent: %v %v", res.Outcome, res.Err)
	}
	for _, id := range []string{"a", "b", "c"} {
		if res := m.Move(context.Background(), order(id)); res.Outcome != bridge.MoveArrived || res.Via != bridge.ViaRPC {
			t.Fatalf("%s: %v via %s: %v", id, res.Outcome, res.Via, res.Err)
		}
	}
	calls := []int{lk.MoveCalls("nobody"), lk.MoveCalls("a"), lk.MoveCalls("b"), lk.MoveCalls("c")}
	if !slices.Equal(calls, []int{0, 1, 0, 0}) {
		t.Errorf("MoveParticipant calls for nobody, a, b, c = %v, want [0 1 0 0]", calls)
	}
}

// TestMoveParticipantImplemented: where LiveKit moves participants itself,
// no instruction is sent, and the order's grant is applied afterwards.
func TestMoveParticipantImplemented(t *testing.T) {
	lk := newLiveKit()
	lk.SetMoveImplemented(true)
	m := newMover(t, lk, fast...)
	lk.OnEvent(m.Observe)
	lk.Join("main", participant("p"), bridgetest.Behavior{})
	o := order("p")
	o.Grant = &auth.VideoGrant{}
	o.Grant.SetCanPublish(false)
	o.Grant.SetCanSubscribe(true)

	res := m.Move(context.Background(), o)
	if res.Outcome != bridge.MoveArrived || res.Via != bridge.ViaLiveKit {
		t.Fatalf("Move = %v via %s: %v", res.Outcome, res.Via, res.Err)
	}
	if ds := lk.Deliveries("p"); len(ds) != 0 {
		t.Errorf("instructions sent although LiveKit moved the participant: %+v", ds)
	}
	if p := lk.Participant("bo-1", "p"); p == nil || p.Permission.CanPublish {
		t.Errorf("in destination: %v, want present without canPublish", p)
	}
}

// TestMoveConfirmation: arrivals are confirmed by webhook events alone (no
// useful polling), and by polling alone (no events).
func TestMoveConfirmation(t *testing.T) {
	t.Run("events", func(t *testing.T) {
		lk := newLiveKit()
		m := newMover(t, lk, bridge.WithPollInterval(time.Hour), bridge.WithMoveTimeout(2*time.Second))
		lk.OnEvent(m.Observe)
		lk.Join("main", participant("p"), bridgetest.Behavior{})
		res := m.Move(context.Background(), order("p"))
		if res.Outcome != bridge.MoveArrived || res.Elapsed > 500*time.Millisecond {
			t.Errorf("Move = %v in %s (%v), want arrived at once", res.Outcome, res.Elapsed, res.Err)
		}
		if n := lk.ListCalls("bo-1"); n != 0 {
			t.Errorf("ListParticipants called %d times, want 0", n)
		}
	})
	t.Run("polling", func(t *testing.T) {
		lk := newLiveKit()
		m := newMover(t, lk, bridge.WithPollInterval(50*time.Millisecond), bridge.WithMoveTimeout(2*time.Second))
		lk.Join("main", participant("p"), bridgetest.Behavior{})
		res := m.Move(context.Background(), order("p"))
		if res.Outcome != bridge.MoveArrived || res.Elapsed > 500*time.Millisecond {
			t.Errorf("Move = %v in %s (%v), want arrived within a few polls", res.Outcome, res.Elapsed, res.Err)
		}
	})
}

// TestConcurrentMoves moves 100 participants at once. Every one arrives, and
// the destination is polled by one shared poller, not one per move.
func TestConcurrentMoves(t *testing.T) {
	lk := newLiveKit()
	m := newMover(t, lk, bridge.WithPollInterval(50*time.Millisecond), bridge.WithSweepGrace(50*time.Millisecond))
	const n = 100
	for i := range n {
		lk.Join("main", participant(fmt.Sprint("p", i)), bridgetest.Behavior{
			JoinDelay: time.Duration(i%10) * 20 * time.Millisecond, LoseLeave: i%7 == 0})
	}
	start := time.Now()
	results := make([]bridge.MoveResult, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() { results[i] = m.Move(context.Background(), order(fmt.Sprint("p", i))) })
	}
	wg.Wait()
	elapsed := time.Since(start)
	for _, r := range results {
		if r.Outcome != bridge.MoveArrived {
			t.Errorf("%s: %v %v", r.Identity, r.Outcome, r.Err)
		}
	}
	if got := len(lk.Identities("bo-1")); got != n {
		t.Errorf("%d in the destination, want %d", got, n)
	}
	// One poller lists the destination every 50 ms (a poller per move would
	// list it about n times as often); the moves' lookups of it, asked
	// together, add a few lists of their own (TestMoveLookupsTogether).
	if max := int(elapsed/(50*time.Millisecond)) + 2 + 4; lk.ListCalls("bo-1") > max {
		t.Errorf("destination listed %d times in %s, want at most %d (one poller, a few lookups)", lk.ListCalls("bo-1"), elapsed, max)
	}
	eventually(t, 2*time.Second, func() string {
		if ids := lk.Identities("main"); len(ids) != 0 {
			return fmt.Sprintf("left in the source: %v", ids)
		}
		return ""
	})
}

// TestMoveLookupsTogether: 100 moves at once from one room ask LiveKit about
// it a few times, not once each, when LiveKit is slow to answer; and every
// one arrives.
func TestMoveLookupsTogether(t *testing.T) {
	lk := newLiveKit()
	lk.SetLookupDelay(50 * time.Millisecond)
	m := newMover(t, lk, bridge.WithPollInterval(50*time.Millisecond), bridge.WithSweepGrace(50*time.Millisecond))
	const n = 100
	for i := range n {
		lk.Join("main", participant(fmt.Sprint("p", i)), bridgetest.Behavior{})
	}
	var wg sync.WaitGroup
	results := make([]bridge.MoveResult, n)
	for i := range n {
		wg.Go(func() { results[i] = m.Move(context.Background(), order(fmt.Sprint("p", i))) })
	}
	wg.Wait()
	for _, r := range results {
		if r.Outcome != bridge.MoveArrived {
			t.Errorf("%s: %v %v", r.Identity, r.Outcome, r.Err)
		}
	}
	// Each move looks once before it sends the instruction; the sweeps,
	// after the grace, look again.
	if calls := lk.GetCalls("main") + lk.ListCalls("main"); calls > 10 {
		t.Errorf("the source was asked about %d times for %d moves (%d GetParticipant), want a few lists",
			calls, n, lk.GetCalls("main"))
	}
	if got := lk.GetCalls("bo-1"); got > 2 {
		t.Errorf("GetParticipant in the destination called %d times, want its lookups listed together", got)
	}
}

// TestMoveLookupFresh: a lookup asked while LiveKit is answering an earlier
// one does not take that answer, which may be from before the question: a
// participant that joined the source meanwhile is found and moved.
func TestMoveLookupFresh(t *testing.T) {
	lk := newLiveKit()
	lk.SetLookupDelay(200 * time.Millisecond)
	m := newMover(t, lk, bridge.WithMoveTimeout(5*time.Second), bridge.WithPollInterval(20*time.Millisecond))
	lk.Join("main", participant("early"), bridgetest.Behavior{})
	early := make(chan bridge.MoveResult, 1)
	go func() { early <- m.Move(context.Background(), order("early")) }()
	eventually(t, 2*time.Second, func() string { // its lookups are with LiveKit
		if lk.GetCalls("main")+lk.ListCalls("main") == 0 {
			return "no lookup of early has begun"
		}
		return ""
	})
	lk.Join("main", participant("late"), bridgetest.Behavior{})
	if res := m.Move(context.Background(), order("late")); res.Outcome != bridge.MoveArrived {
		t.Errorf("late: %v %v, want arrived", res.Outcome, res.Err)
	}
	if res := <-early; res.Outcome != bridge.MoveArrived {
		t.Errorf("early: %v %v, want arrived", res.Outcome, res.Err)
	}
}

// TestSameIdentityMovesInTurn: two moves of one participant at once run one
// after the other; the second finds it there already.
func TestSameIdentityMovesInTurn(t *testing.T) {
	lk := newLiveKit()
	m := newMover(t, lk, fast...)
	lk.Join("main", participant("p"), bridgetest.Behavior{JoinDelay: 30 * time.Millisecond})
	var wg sync.WaitGroup
	results := make([]bridge.MoveResult, 2)
	for i := range results {
		wg.Go(func() {
			o := order("p")
			o.MoveID = fmt.Sprint("move-", i)
			results[i] = m.Move(context.Background(), o)
		})
	}
	wg.Wait()
	outcomes := []bridge.Outcome{results[0].Outcome, results[1].Outcome}
	slices.Sort(outcomes)
	if !slices.Equal(outcomes, []bridge.Outcome{bridge.MoveArrived, bridge.MoveAlreadyThere}) {
		t.Errorf("outcomes %v, want one arrived and one already there", outcomes)
	}
	if n := len(lk.Deliveries("p")); n != 1 {
		t.Errorf("%d instructions sent, want 1", n)
	}
}

// TestMoveLeavesMeanwhile: a participant that disconnects instead of
// moving is offline at the re-delivery point, not failed.
func TestMoveLeavesMeanwhile(t *testing.T) {
	lk := newLiveKit()
	m := newMover(t, lk, fast...)
	lk.Join("main", participant("p"), bridgetest.Behavior{Never: true})
	time.AfterFunc(50*time.Millisecond, func() { lk.Leave("main", "p") })
	res := m.Move(context.Background(), order("p"))
	if res.Outcome != bridge.MoveOffline || res.Deliveries != 1 {
		t.Errorf("Move = %v after %d instructions (%v), want offline after 1", res.Outcome, res.Deliveries, res.Err)
	}
}

// TestMoveWaitsUntilActive: a participant that is still connecting gets its
// instruction once it is ACTIVE (before, its data channel would drop it).
func TestMoveWaitsUntilActive(t *testing.T) {
	lk := newLiveKit()
	m := newMover(t, lk, fast...)
	lk.Join("main", participant("p"), bridgetest.Behavior{})
	lk.SetState("main", "p", livekit.ParticipantInfo_JOINED)
	start := time.Now()
	time.AfterFunc(100*time.Millisecond, func() { lk.SetState("main", "p", livekit.ParticipantInfo_ACTIVE) })
	res := m.Move(context.Background(), order("p"))
	if res.Outcome != bridge.MoveArrived || res.Deliveries != 1 {
		t.Fatalf("Move = %v after %d instructions: %v", res.Outcome, res.Deliveries, res.Err)
	}
	if ds := lk.Deliveries("p"); len(ds) != 1 || ds[0].At.Sub(start) < 100*time.Millisecond {
		t.Errorf("instruction sent %s after the start, before the participant was ACTIVE", ds[0].At.Sub(start))
	}
}

// TestSweepSparesNewerConnection: a sweep removes only the connection it was
// scheduled for; if the participant came back to the source meanwhile, its
// new connection stays.
func TestSweepSparesNewerConnection(t *testing.T) {
	lk := newLiveKit()
	m := newMover(t, lk, bridge.WithSweepGrace(100*time.Millisecond), bridge.WithPollInterval(10*time.Millisecond))
	lk.OnEvent(m.Observe)
	lk.Join("main", participant("p"), bridgetest.Behavior{LoseLeave: true})
	if res := m.Move(context.Background(), order("p")); res.Outcome != bridge.MoveArrived {
		t.Fatalf("Move = %v: %v", res.Outcome, res.Err)
	}
	lk.Join("main", participant("p"), bridgetest.Behavior{}) // back, with a new connection
	// Past the sweep grace (100 ms): a sweep of it would have come.
	time.Sleep(250 * time.Millisecond)
	if lk.Participant("main", "p") == nil || len(lk.Removed()) != 0 {
		t.Errorf("the newer connection was removed (removed %v)", lk.Removed())
	}
}

// TestMoveErrors: bad orders and LiveKit failures fail with their class.
func TestMoveErrors(t *testing.T) {
	lk := newLiveKit()
	m := newMover(t, lk, fast...)
	lk.Join("main", participant("p"), bridgetest.Behavior{})
	same := order("p")
	same.ToRoom = "main"
	for _, tc := range []struct {
		name string
		o    bridge.MoveOrder
		err  error
		code psrpc.ErrorCode
	}{
		{"no move id", bridge.MoveOrder{Identity: "p", FromRoom: "main", ToRoom: "bo-1"}, nil, psrpc.InvalidArgument},
		{"same room", same, nil, psrpc.InvalidArgument},
		{"LiveKit down", order("p"), errors.New("connection refused"), psrpc.Unavailable},
		{"LiveKit answers an error", order("p"), twirp.InternalError("boom"), psrpc.Unavailable},
	} {
		t.Run(tc.name, func(t *testing.T) {
			lk.SetErr(tc.err)
			defer lk.SetErr(nil)
			res := m.Move(context.Background(), tc.o)
			if res.Outcome != bridge.MoveFailed || codeOf(res.Err) != tc.code {
				t.Errorf("Move = %v, %v; want failed with class %s", res.Outcome, res.Err, tc.code)
			}
		})
	}
}

// TestMoverStop: stopping Run ends waiting moves with ErrMoverStopped, and
// later moves fail the same way.
func TestMoverStop(t *testing.T) {
	lk := newLiveKit()
	defer lk.Close()
	m := bridge.NewMover(lk, lk, testKeys, publicURL, nil, bridge.WithMoveTimeout(time.Minute))
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- m.Run(ctx) }()
	lk.Join("main", participant("p"), bridgetest.Behavior{Never: true})

	moved := make(chan bridge.MoveResult, 1)
	go func() { moved <- m.Move(context.Background(), order("p")) }()
	eventually(t, time.Second, func() string {
		if len(lk.Deliveries("p")) == 0 {
			return "no instruction sent yet"
		}
		return ""
	})
	cancel()
	select {
	case res := <-moved:
		if !errors.Is(res.Err, bridge.ErrMoverStopped) {
			t.Errorf("waiting move: %v %v, want ErrMoverStopped", res.Outcome, res.Err)
		}
	case <-time.After(2 * time.Second):
		t.Fatal("waiting move did not return after Run stopped")
	}
	if err := <-done; err != nil {
		t.Errorf("Run: %v", err)
	}
	if res := m.Move(context.Background(), order("p")); !errors.Is(res.Err, bridge.ErrMoverStopped) {
		t.Errorf("move after stop: %v", res.Err)
	}
	if err := m.Run(context.Background()); err == nil {
		t.Error("second Run did not fail")
	}
}

// TestMoveContextCancelled: the caller's context bounds Move.
func TestMoveContextCancelled(t *testing.T) {
	lk := newLiveKit()
	m := newMover(t, lk, bridge.WithMoveTimeout(time.Minute))
	lk.Join("main", participant("p"), bridgetest.Behavior{Never: true})
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	res := m.Move(ctx, order("p"))
	if res.Outcome != bridge.MoveFailed || !errors.Is(res.Err, context.DeadlineExceeded) {
		t.Errorf("Move = %v %v, want failed with the context's deadline", res.Outcome, res.Err)
	}
}

// TestAdminRPC: AdminRPC reaches LiveKit's Twirp PerformRpc with a
// room-admin token for exactly the request's room.
func TestAdminRPC(t *testing.T) {
	var mu sync.Mutex
	var gotAuth []string
	svc := livekit.NewRoomServiceServer(rpcServer{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		gotAuth = append(gotAuth, r.Header.Get("Authorization"))
		mu.Unlock()
		svc.ServeHTTP(w, r)
	}))
	defer srv.Close()

	rpc := bridge.NewAdminRPC(strings.Replace(srv.URL, "http", "ws", 1), testKeys, srv.Client())
	res, err := rpc.PerformRpc(context.Background(), &livekit.PerformRpcRequest{
		Room: "main", DestinationIdentity: "p", Method: "rtk.move", Payload: "{}"})
	if err != nil || res.Payload != "main/p/rtk.move" {
		t.Fatalf("PerformRpc = %v, %v", res, err)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(gotAuth) != 1 || !strings.HasPrefix(gotAuth[0], "Bearer ") {
		t.Fatalf("Authorization headers %q", gotAuth)
	}
	v, err := auth.ParseAPIToken(strings.TrimPrefix(gotAuth[0], "Bearer "))
	if err != nil {
		t.Fatal(err)
	}
	_, grants, err := v.Verify(testSecret)
	if err != nil {
		t.Fatalf("token does not verify: %v", err)
	}
	if g := grants.Video; g == nil || !g.RoomAdmin || g.Room != "main" || g.RoomJoin {
		t.Errorf("grant %+v, want room admin of main only", g)
	}
}

// rpcServer is a RoomService that answers PerformRpc only.
type rpcServer struct{ livekit.RoomService }

func (rpcServer) PerformRpc(_ context.Context, req *livekit.PerformRpcRequest) (*livekit.PerformRpcResponse, error) {
	return &livekit.PerformRpcResponse{Payload: req.Room + "/" + req.DestinationIdentity + "/" + req.Method}, nil
}

func eventually(t *testing.T, timeout time.Duration, cond func() string) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		missing := cond()
		if missing == "" {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("still not true after %s: %s", timeout, missing)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// TestMoveOverStream: an instruction also goes out on the participant's
// event stream, first, and a client that LiveKit cannot reach (its data
// channel stalled) moves on that copy, at once rather than at a timeout.
func TestMoveOverStream(t *testing.T) {
	t.Run("deaf to LiveKit: arrives by the stream", func(t *testing.T) {
		lk := newLiveKit()
		m := newMover(t, lk, slices.Concat(fast, []bridge.MoverOption{bridge.WithStreams(lk.Streams())})...)
		lk.Join("main", participant("p"), bridgetest.Behavior{Stream: true, Deaf: true, RPCDelay: time.Second})
		start := time.Now()
		res := m.Move(context.Background(), order("p"))
		if res.Outcome != bridge.MoveArrived || res.Streams != 1 || res.Deliveries != 1 {
			t.Fatalf("Move = %+v, want arrived after one delivery that one stream took", res)
		}
		if d := time.Since(start); d > 150*time.Millisecond {
			t.Errorf("Move took %s: it waited for LiveKit", d)
		}
		ds := lk.Deliveries("p")
		if len(ds) != 1 || ds[0].Via != "stream" || ds[0].Topic != protocol.MoveMethod || ds[0].Room != "main" {
			t.Fatalf("deliveries = %+v, want the stream's copy only", ds)
		}
		if lk.Participant("bo-1", "p") == nil || lk.Participant("main", "p") != nil {
			t.Errorf("p is in bo-1: %v, in main: %v", lk.Identities("bo-1"), lk.Identities("main"))
		}
	})
	t.Run("both paths: the stream's copy first, followed once", func(t *testing.T) {
		lk := newLiveKit()
		m := newMover(t, lk, slices.Concat(fast, []bridge.MoverOption{bridge.WithStreams(lk.Streams())})...)
		lk.Join("main", participant("p"), bridgetest.Behavior{Stream: true})
		res := m.Move(context.Background(), order("p"))
		if res.Outcome != bridge.MoveArrived || res.Streams != 1 {
			t.Fatalf("Move = %+v", res)
		}
		ds := lk.Deliveries("p")
		if len(ds) == 0 || ds[0].Via != "stream" {
			t.Fatalf("deliveries = %+v, want the stream's copy first", ds)
		}
		if string(ds[0].Payload) != string(ds[len(ds)-1].Payload) {
			t.Errorf("the copies differ:\n%s\n%s", ds[0].Payload, ds[len(ds)-1].Payload)
		}
		if got := lk.Identities("bo-1"); !slices.Equal(got, []string{"p"}) {
			t.Errorf("bo-1 lists %v", got)
		}
	})
	t.Run("no stream open: LiveKit alone", func(t *testing.T) {
		lk := newLiveKit()
		m := newMover(t, lk, slices.Concat(fast, []bridge.MoverOption{bridge.WithStreams(lk.Streams())})...)
		lk.Join("main", participant("p"), bridgetest.Behavior{})
		res := m.Move(context.Background(), order("p"))
		if res.Outcome != bridge.MoveArrived || res.Streams != 0 || res.Via != bridge.ViaRPC {
			t.Fatalf("Move = %+v, want arrived by RPC with no stream", res)
		}
	})
}

// preparedToken is a prepared connection's ticket: hidden, with no right
// to publish or subscribe, marked with protocol.PreparedAttribute, with no
// name or metadata.
func preparedToken(t *testing.T, id, room string) string {
	t.Helper()
	return preparedTokenAs(t, id, room, "", "")
}

// preparedTokenAs is preparedToken with a name and metadata.
func preparedTokenAs(t *testing.T, id, room, name, metadata string) string {
	t.Helper()
	g := &auth.VideoGrant{RoomJoin: true, Room: room, Hidden: true}
	g.SetCanPublish(false)
	g.SetCanSubscribe(false)
	g.SetCanPublishData(false)
	tok, err := auth.NewAccessToken(testKey, testSecret).SetIdentity(id).SetName(name).SetMetadata(metadata).SetVideoGrant(g).
		SetAttributes(map[string]string{protocol.PreparedAttribute: "1"}).SetValidFor(time.Minute).ToJWT()
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

// TestMovePrepared: a participant with a prepared connection in the
// destination is revealed there, not sent there. It is present at once with
// the permissions, name, metadata and attributes a handoff's token would
// give (and keeps protocol.PreparedAttribute), the revealed hook sees it,
// the instruction says so, and no second connection joins. The prepared
// connection's join confirms nothing. The reveal asks LiveKit to change
// only what the prepared connection lacked.
func TestMovePrepared(t *testing.T) {
	lk := newLiveKit()
	var mu sync.Mutex
	var revealed []*livekit.ParticipantInfo
	m := newMover(t, lk, append(fast, bridge.WithRevealed(func(_ context.Context, room string, p *livekit.ParticipantInfo) {
		mu.Lock()
		defer mu.Unlock()
		if room == "bo-1" {
			revealed = append(revealed, p)
		}
	}))...)
	var joins []string
	var jmu sync.Mutex
	lk.OnEvent(func(ev *livekit.WebhookEvent) {
		m.Observe(ev)
		if ev.Event == "participant_joined" {
			jmu.Lock()
			joins = append(joins, ev.Room.Name+"/"+ev.Participant.Sid)
			jmu.Unlock()
		}
	})
	p := participant("p")
	p.Metadata = `{"participant_id":"p"}`
	p.Attributes = map[string]string{"role": "student"}
	lk.Join("main", p, bridgetest.Behavior{})
	hidden, err := lk.JoinWithToken(preparedToken(t, "p", "bo-1"), bridgetest.Behavior{})
	if err != nil {
		t.Fatal(err)
	}
	if !bridge.Prepared(hidden) {
		t.Fatalf("the prepared connection %v is not Prepared", hidden)
	}

	res := m.Move(context.Background(), order("p"))
	if res.Outcome != bridge.MoveArrived || res.Deliveries != 1 || res.Via != bridge.ViaRPC {
		t.Fatalf("Move = %v via %q, %d deliveries (%v); want arrived via rpc, 1", res.Outcome, res.Via, res.Deliveries, res.Err)
	}
	got := lk.Participant("bo-1", "p")
	if got.Sid != hidden.Sid {
		t.Errorf("in bo-1: %s, want the prepared connection %s", got.Sid, hidden.Sid)
	}
	if bridge.Prepared(got) || got.Permission.Hidden || !got.Permission.CanPublish || !got.Permission.CanSubscribe ||
		!got.Permission.CanPublishData {
		t.Errorf("revealed permission %v, want visible with the live rights", got.Permission)
	}
	wantAttrs := map[string]string{"role": "student", protocol.PreparedAttribute: "1"}
	if got.Name != p.Name || got.Metadata != p.Metadata || !reflect.DeepEqual(got.Attributes, wantAttrs) {
		t.Errorf("revealed %q %q %v, want %q %q %v", got.Name, got.Metadata, got.Attributes, p.Name, p.Metadata, wantAttrs)
	}
	if ups := lk.Updates("p"); len(ups) != 1 || ups[0].Name != p.Name || ups[0].Metadata != p.Metadata ||
		!reflect.DeepEqual(ups[0].Attributes, p.Attributes) || ups[0].Permission == nil {
		t.Errorf("updates %v, want one with the name, metadata, attributes and permission", ups)
	}
	mu.Lock()
	if len(revealed) != 1 || revealed[0].Sid != hidden.Sid || revealed[0].Permission.Hidden {
		t.Errorf("revealed hook got %v, want the visible prepared connection once", revealed)
	}
	mu.Unlock()

	ds := lk.Deliveries("p")
	if len(ds) != 1 {
		t.Fatalf("deliveries %+v, want 1", ds)
	}
	var in protocol.MoveInstruction
	if err := json.Unmarshal(ds[0].Payload, &in); err != nil || !in.Prepared || in.LiveKit.Token == "" {
		t.Errorf("instruction %+v (%v), want prepared, with a token", in, err)
	}
	// The simulated client leaves the source; nothing joined bo-1 but the
	// prepared connection.
	eventually(t, time.Second, func() string {
		if lk.Participant("main", "p") != nil {
			return "p is still in main"
		}
		return ""
	})
	jmu.Lock()
	if len(joins) != 2 || joins[1] != "bo-1/"+hidden.Sid {
		t.Errorf("joins %v, want main's, then only the prepared one in bo-1 (%s)", joins, hidden.Sid)
	}
	jmu.Unlock()
}

// TestMovePreparedPermissionOnly: a prepared connection that carries the
// participant's name and metadata in the destination (as Prepare gives it)
// is revealed by its permission alone: LiveKit then sends the participant
// one update, not three. A participant that moves on from a revealed
// connection does not take protocol.PreparedAttribute along.
func TestMovePreparedPermissionOnly(t *testing.T) {
	lk := newLiveKit()
	m := newMover(t, lk, fast...)
	lk.OnEvent(m.Observe)
	p := participant("p")
	lk.Join("main", p, bridgetest.Behavior{})
	o := order("p")
	o.Metadata = `{"participant_id":"p","meeting_id":"bo-1"}`
	if _, err := lk.JoinWithToken(preparedTokenAs(t, "p", "bo-1", p.Name, o.Metadata), bridgetest.Behavior{}); err != nil {
		t.Fatal(err)
	}
	if res := m.Move(context.Background(), o); res.Outcome != bridge.MoveArrived || res.Deliveries != 1 {
		t.Fatalf("Move = %v, %d deliveries (%v); want arrived, 1", res.Outcome, res.Deliveries, res.Err)
	}
	ups := lk.Updates("p")
	if len(ups) != 1 || ups[0].Name != "" || ups[0].Metadata != "" || ups[0].Attributes != nil ||
		ups[0].Permission == nil || ups[0].Permission.Hidden {
		t.Fatalf("updates %v, want one that changes the permission only", ups)
	}
	got := lk.Participant("bo-1", "p")
	if bridge.Prepared(got) || got.Name != p.Name || got.Metadata != o.Metadata {
		t.Errorf("revealed %v, want visible with %q and %q", got, p.Name, o.Metadata)
	}

	// On to bo-2 by handoff: the new connection has no PreparedAttribute.
	on := bridge.MoveOrder{MoveID: "move-on", Identity: "p", FromRoom: "bo-1", ToRoom: "bo-2"}
	if res := m.Move(context.Background(), on); res.Outcome != bridge.MoveArrived {
		t.Fatalf("Move on = %v (%v), want arrived", res.Outcome, res.Err)
	}
	if got := lk.Participant("bo-2", "p"); got == nil || len(got.Attributes) != 0 {
		t.Errorf("in bo-2: %v, want no attributes", got)
	}
}

// TestMoveRevealGate: the moves of a batch that reveal prepared
// connections hold their instructions back until every move of the batch
// has revealed, or will not reveal, or until the gate's limit; each
// participant is present from its reveal. A move that hands off passes the
// gate at once and does not wait for it.
func TestMoveRevealGate(t *testing.T) {
	setup := func(t *testing.T, ids ...string) (*bridgetest.LiveKit, *bridge.Mover) {
		lk := newLiveKit()
		m := newMover(t, lk, bridge.WithMoveTimeout(5*time.Second), bridge.WithSweepGrace(50*time.Millisecond))
		lk.OnEvent(m.Observe)
		for _, id := range ids {
			lk.Join("main", participant(id), bridgetest.Behavior{})
		}
		return lk, m
	}
	prepare := func(t *testing.T, lk *bridgetest.LiveKit, id string) {
		if _, err := lk.JoinWithToken(preparedToken(t, id, "bo-1"), bridgetest.Behavior{}); err != nil {
			t.Fatal(err)
		}
	}
	gated := func(g *bridge.RevealGate, id string) bridge.MoveOrder {
		o := order(id)
		o.Gate = g
		return o
	}

	t.Run("together", func(t *testing.T) {
		lk, m := setup(t, "p", "q", "h")
		prepare(t, lk, "p")
		prepare(t, lk, "q")
		g := bridge.NewRevealGate([]string{"move-p", "move-q", "move-h"}, time.Minute)
		done := make(chan bridge.MoveResult, 1)
		go func() { done <- m.Move(context.Background(), gated(g, "p")) }()
		eventually(t, 2*time.Second, func() string {
			if p := lk.Participant("bo-1", "p"); p == nil || p.Permission.Hidden {
				return "p is not revealed"
			}
			return ""
		})
		if res := m.Move(context.Background(), gated(g, "h")); res.Outcome != bridge.MoveArrived {
			t.Fatalf("h's handoff = %v (%v), want arrived", res.Outcome, res.Err)
		}
		time.Sleep(100 * time.Millisecond) // time for p's instruction to go out, which the gate holds back
		if ds := lk.Deliveries("p"); len(ds) != 0 {
			t.Fatalf("p's instruction went out before q was revealed (%d deliveries)", len(ds))
		}
		if res := m.Move(context.Background(), gated(g, "q")); res.Outcome != bridge.MoveArrived || res.Deliveries != 1 {
			t.Fatalf("q's move = %v, %d deliveries (%v), want arrived, 1", res.Outcome, res.Deliveries, res.Err)
		}
		select {
		case res := <-done:
			if res.Outcome != bridge.MoveArrived || len(lk.Deliveries("p")) != 1 {
				t.Errorf("p's move = %v (%v), %d deliveries; want arrived, 1", res.Outcome, res.Err, len(lk.Deliveries("p")))
			}
		case <-time.After(5 * time.Second):
			t.Fatal("p's move still waits after every move of the gate passed")
		}
	})

	t.Run("limit", func(t *testing.T) {
		lk, m := setup(t, "p")
		prepare(t, lk, "p")
		g := bridge.NewRevealGate([]string{"move-p", "move-never"}, 300*time.Millisecond)
		start := time.Now()
		res := m.Move(context.Background(), gated(g, "p"))
		if res.Outcome != bridge.MoveArrived || len(lk.Deliveries("p")) != 1 {
			t.Fatalf("Move = %v (%v), %d deliveries; want arrived, 1", res.Outcome, res.Err, len(lk.Deliveries("p")))
		}
		if d := time.Since(start); d < 250*time.Millisecond {
			t.Errorf("the instruction went out after %s, before the gate's limit", d)
		}
	})
}

// TestMoveRevealRecordedAside: a gated reveal's instruction does not wait
// for its arrival to be recorded (a start's records queue in the store), but
// the move ends only once it is.
func TestMoveRevealRecordedAside(t *testing.T) {
	lk := newLiveKit()
	release := make(chan struct{})
	var recorded atomic.Bool
	m := newMover(t, lk, bridge.WithMoveTimeout(5*time.Second), bridge.WithSweepGrace(50*time.Millisecond),
		bridge.WithRevealed(func(context.Context, string, *livekit.ParticipantInfo) {
			<-release
			recorded.Store(true)
		}))
	lk.OnEvent(m.Observe)
	lk.Join("main", participant("p"), bridgetest.Behavior{})
	if _, err := lk.JoinWithToken(preparedToken(t, "p", "bo-1"), bridgetest.Behavior{}); err != nil {
		t.Fatal(err)
	}
	o := order("p")
	o.Gate = bridge.NewRevealGate([]string{o.MoveID}, time.Minute)
	done := make(chan bridge.MoveResult, 1)
	go func() { done <- m.Move(context.Background(), o) }()
	eventually(t, 2*time.Second, func() string {
		if len(lk.Deliveries("p")) == 0 {
			return "the instruction waits for the record"
		}
		return ""
	})
	select {
	case res := <-done:
		t.Fatalf("the move ended (%v) before its arrival was recorded", res.Outcome)
	case <-time.After(50 * time.Millisecond):
	}
	close(release)
	if res := <-done; res.Outcome != bridge.MoveArrived || !recorded.Load() {
		t.Errorf("Move = %v (%v), recorded %v; want arrived, recorded", res.Outcome, res.Err, recorded.Load())
	}
}

// TestMoveReadyBeside: Move looks the participant up while the destination
// is readied (MoveOrder.Ready), not after, and reveals the participant
// there, or sends it anything, only once Ready has given nil.
func TestMoveReadyBeside(t *testing.T) {
	lk := newLiveKit()
	lk.SetLookupDelay(100 * time.Millisecond)
	m := newMover(t, lk, bridge.WithMoveTimeout(5*time.Second), bridge.WithSweepGrace(50*time.Millisecond))
	lk.OnEvent(m.Observe)
	lk.Join("main", participant("p"), bridgetest.Behavior{})
	if _, err := lk.JoinWithToken(preparedToken(t, "p", "bo-1"), bridgetest.Behavior{}); err != nil {
		t.Fatal(err)
	}
	release := make(chan struct{})
	ready := make(chan error, 1)
	o := order("p")
	o.Ready = ready
	go func() {
		// The lookups are under way while the destination is readied.
		deadline := time.Now().Add(time.Second)
		for lk.GetCalls("main")+lk.ListCalls("main") == 0 {
			if time.Now().After(deadline) {
				ready <- errors.New("no lookup began while the destination was readied")
				return
			}
			time.Sleep(time.Millisecond)
		}
		<-release
		ready <- nil
	}()
	done := make(chan bridge.MoveResult, 1)
	go func() { done <- m.Move(context.Background(), o) }()
	time.Sleep(300 * time.Millisecond) // the lookups (100 ms) are answered: time for a reveal that must wait for Ready
	if u, d := lk.Updates("p"), lk.Deliveries("p"); len(u) != 0 || len(d) != 0 {
		t.Errorf("before the destination was ready: %d updates, %d deliveries; want none", len(u), len(d))
	}
	close(release)
	res := <-done
	if res.Outcome != bridge.MoveArrived {
		t.Fatalf("Move = %v (%v), want arrived", res.Outcome, res.Err)
	}
	if got := lk.Participant("bo-1", "p"); got == nil || bridge.Prepared(got) {
		t.Errorf("in bo-1: %v, want the revealed connection", got)
	}
}

// TestMoveReadyFails: a destination that cannot be readied fails the move
// with Ready's error; the participant is neither revealed nor sent there.
func TestMoveReadyFails(t *testing.T) {
	for _, prepared := range []bool{false, true} {
		t.Run(fmt.Sprint("prepared=", prepared), func(t *testing.T) {
			lk := newLiveKit()
			m := newMover(t, lk, bridge.WithMoveTimeout(2*time.Second))
			lk.OnEvent(m.Observe)
			lk.Join("main", participant("p"), bridgetest.Behavior{})
			if prepared {
				if _, err := lk.JoinWithToken(preparedToken(t, "p", "bo-1"), bridgetest.Behavior{}); err != nil {
					t.Fatal(err)
				}
			}
			errRoom := errors.New("the room could not be created")
			o := order("p")
			ready := make(chan error, 1)
			ready <- errRoom
			o.Ready = ready
			res := m.Move(context.Background(), o)
			if res.Outcome != bridge.MoveFailed || !errors.Is(res.Err, errRoom) {
				t.Errorf("Move = %v (%v), want failed with the Ready error", res.Outcome, res.Err)
			}
			if u, d := lk.Updates("p"), lk.Deliveries("p"); len(u) != 0 || len(d) != 0 {
				t.Errorf("%d updates, %d deliveries; want none", len(u), len(d))
			}
			if lk.MoveCalls("p") != 0 {
				t.Error("LiveKit was asked to move the participant")
			}
		})
	}
}

// TestMovePreparedRetried: an overloaded SFU that does not answer a lookup
// or the reveal in time, or answers that it cannot, is asked again, and the
// participant arrives; an answer that will not change (a bad request) fails
// the move at once; and the asking stops at the move's deadline.
func TestMovePreparedRetried(t *testing.T) {
	unavailable := twirp.NewError(twirp.Unavailable, "no response from servers")
	noAnswer := twirp.InternalErrorWith(context.DeadlineExceeded) // lksdk's error when the call timed out
	setup := func(t *testing.T, opts ...bridge.MoverOption) (*bridgetest.LiveKit, *bridge.Mover) {
		lk := newLiveKit()
		m := newMover(t, lk, opts...)
		lk.OnEvent(m.Observe)
		lk.Join("main", participant("p"), bridgetest.Behavior{})
		if _, err := lk.JoinWithToken(preparedToken(t, "p", "bo-1"), bridgetest.Behavior{}); err != nil {
			t.Fatal(err)
		}
		return lk, m
	}

	t.Run("arrives", func(t *testing.T) {
		lk, m := setup(t, bridge.WithMoveTimeout(5*time.Second), bridge.WithSweepGrace(50*time.Millisecond))
		lk.FailNext("GetParticipant", unavailable)
		lk.FailNext("UpdateParticipant", unavailable, noAnswer)
		res := m.Move(context.Background(), order("p"))
		if res.Outcome != bridge.MoveArrived {
			t.Fatalf("Move = %v (%v), want arrived", res.Outcome, res.Err)
		}
		if got := lk.Participant("bo-1", "p"); got == nil || bridge.Prepared(got) || got.Permission.Hidden {
			t.Errorf("in bo-1: %v, want the revealed connection", got)
		}
		var in protocol.MoveInstruction
		if ds := lk.Deliveries("p"); len(ds) != 1 || json.Unmarshal(ds[0].Payload, &in) != nil || !in.Prepared {
			t.Errorf("deliveries %+v, want one prepared instruction", ds)
		}
	})
	t.Run("bad request", func(t *testing.T) {
		lk, m := setup(t, bridge.WithMoveTimeout(5*time.Second))
		lk.FailNext("UpdateParticipant", twirp.InvalidArgumentError("metadata", "exceeds limits"))
		res := m.Move(context.Background(), order("p"))
		if res.Outcome != bridge.MoveFailed || res.Elapsed > time.Second {
			t.Fatalf("Move = %v after %s (%v), want failed at once", res.Outcome, res.Elapsed, res.Err)
		}
		if !bridge.Prepared(lk.Participant("bo-1", "p")) {
			t.Error("revealed after a bad request: it was asked again")
		}
	})
	t.Run("deadline", func(t *testing.T) {
		lk, m := setup(t, bridge.WithMoveTimeout(500*time.Millisecond))
		for range 50 {
			lk.FailNext("UpdateParticipant", unavailable)
		}
		res := m.Move(context.Background(), order("p"))
		if res.Outcome != bridge.MoveFailed || !errors.Is(res.Err, bridge.ErrLiveKitUnavailable) {
			t.Fatalf("Move = %v (%v), want failed, LiveKit unavailable", res.Outcome, res.Err)
		}
		if res.Elapsed > time.Second {
			t.Errorf("Move took %s with a 500 ms deadline", res.Elapsed)
		}
		if len(lk.Deliveries("p")) != 0 {
			t.Error("an instruction went out for a connection that was not revealed")
		}
	})
}

// TestMovePreparedConnecting: a prepared connection that is still connecting is
// not revealed, and is no arrival: the handoff's join replaces it.
func TestMovePreparedConnecting(t *testing.T) {
	lk := newLiveKit()
	m := newMover(t, lk, fast...)
	lk.OnEvent(m.Observe)
	lk.Join("main", participant("p"), bridgetest.Behavior{})
	hidden, err := lk.JoinWithToken(preparedToken(t, "p", "bo-1"), bridgetest.Behavior{})
	if err != nil {
		t.Fatal(err)
	}
	lk.SetState("bo-1", "p", livekit.ParticipantInfo_JOINING)

	res := m.Move(context.Background(), order("p"))
	if res.Outcome != bridge.MoveArrived {
		t.Fatalf("Move = %v (%v), want arrived", res.Outcome, res.Err)
	}
	got := lk.Participant("bo-1", "p")
	if got.Sid == hidden.Sid || bridge.Prepared(got) || got.Permission.Hidden {
		t.Errorf("in bo-1: %v, want a new, visible connection", got)
	}
	var in protocol.MoveInstruction
	if ds := lk.Deliveries("p"); len(ds) != 1 || json.Unmarshal(ds[0].Payload, &in) != nil || in.Prepared {
		t.Errorf("deliveries %+v, want one instruction, not prepared", ds)
	}
}

// TestMovePreparedOffline: a participant that left the source but still has
// a prepared connection is offline (it lands in its room when it joins),
// not already there.
func TestMovePreparedOffline(t *testing.T) {
	lk := newLiveKit()
	m := newMover(t, lk, fast...)
	if _, err := lk.JoinWithToken(preparedToken(t, "p", "bo-1"), bridgetest.Behavior{}); err != nil {
		t.Fatal(err)
	}
	if res := m.Move(context.Background(), order("p")); res.Outcome != bridge.MoveOffline {
		t.Fatalf("Move = %v (%v), want offline", res.Outcome, res.Err)
	}
	if !bridge.Prepared(lk.Participant("bo-1", "p")) {
		t.Error("the prepared connection was revealed")
	}
}

// TestRevealedEvent: the participant_joined a revealed connection stands
// for: the participant as revealed, joined at the reveal, with an id of its
// connection.
func TestRevealedEvent(t *testing.T) {
	p := participant("p")
	p.Sid, p.JoinedAt, p.JoinedAtMs = "PA_1", 100, 100_000
	at := time.UnixMilli(1_700_000_000_123)
	ev := bridge.RevealedEvent("bo-1", p, at)
	if ev.Event != "participant_joined" || ev.Id != "RTK_REVEALED_PA_1" || ev.Room.Name != "bo-1" ||
		ev.Participant.Identity != "p" || ev.Participant.JoinedAtMs != at.UnixMilli() || ev.Participant.JoinedAt != at.Unix() {
		t.Errorf("event %v", ev)
	}
	if p.JoinedAt != 100 {
		t.Error("RevealedEvent changed its argument")
	}
}

// TestDropPrepared: a prepared connection goes; any other connection of the identity, or none,
// is left alone.
func TestDropPrepared(t *testing.T) {
	lk := newLiveKit()
	m := newMover(t, lk, fast...)
	ctx := context.Background()
	if _, err := lk.JoinWithToken(preparedToken(t, "p", "bo-1"), bridgetest.Behavior{}); err != nil {
		t.Fatal(err)
	}
	lk.Join("bo-2", participant("p"), bridgetest.Behavior{})
	for _, room := range []string{"bo-1", "bo-2", "bo-3"} {
		if err := m.DropPrepared(ctx, room, "p"); err != nil {
			t.Errorf("DropPrepared in %s: %v", room, err)
		}
	}
	if lk.Participant("bo-1", "p") != nil {
		t.Error("the prepared connection is still in bo-1")
	}
	if lk.Participant("bo-2", "p") == nil {
		t.Error("the visible connection in bo-2 was removed")
	}
}

// TestDropPreparedWaitsForMove: a drop asked for while a move of the identity is under way
// waits for it; the move revealed the connection, so nothing is dropped.
func TestDropPreparedWaitsForMove(t *testing.T) {
	lk := newLiveKit()
	m := newMover(t, lk, bridge.WithMoveTimeout(5*time.Second), bridge.WithSweepGrace(50*time.Millisecond))
	lk.OnEvent(m.Observe)
	lk.Join("main", participant("p"), bridgetest.Behavior{})
	if _, err := lk.JoinWithToken(preparedToken(t, "p", "bo-1"), bridgetest.Behavior{}); err != nil {
		t.Fatal(err)
	}
	unavailable := twirp.NewError(twirp.Unavailable, "no response from servers")
	lk.FailNext("UpdateParticipant", unavailable, unavailable, unavailable) // the reveal takes 700 ms
	moved := make(chan bridge.MoveResult, 1)
	go func() { moved <- m.Move(context.Background(), order("p")) }()
	eventually(t, 2*time.Second, func() string { // the move is pausing between two tries
		if lk.Failing("UpdateParticipant") == 3 {
			return "the reveal has not been tried yet"
		}
		return ""
	})
	if err := m.DropPrepared(context.Background(), "bo-1", "p"); err != nil {
		t.Fatal(err)
	}
	if res := <-moved; res.Outcome != bridge.MoveArrived {
		t.Fatalf("Move = %v (%v), want arrived", res.Outcome, res.Err)
	}
	if got := lk.Participant("bo-1", "p"); got == nil || bridge.Prepared(got) {
		t.Errorf("in bo-1: %v, want the revealed connection", got)
	}
}

// TestPreparedIn: the identities with a prepared connection in a room, not those with a visible
// one; none for a room LiveKit does not have. ConnectedIn lists the visible ones.
func TestPreparedIn(t *testing.T) {
	lk := newLiveKit()
	m := newMover(t, lk, fast...)
	for _, id := range []string{"p", "q"} {
		if _, err := lk.JoinWithToken(preparedToken(t, id, "bo-1"), bridgetest.Behavior{}); err != nil {
			t.Fatal(err)
		}
	}
	lk.Join("bo-1", participant("r"), bridgetest.Behavior{})
	ids, err := m.PreparedIn(context.Background(), "bo-1")
	slices.Sort(ids)
	if err != nil || !slices.Equal(ids, []string{"p", "q"}) {
		t.Errorf("PreparedIn(bo-1) = %v, %v; want [p q]", ids, err)
	}
	if ids, err := m.PreparedIn(context.Background(), "nowhere"); err != nil || len(ids) != 0 {
		t.Errorf("PreparedIn(nowhere) = %v, %v; want none", ids, err)
	}
	if ids, err := m.ConnectedIn(context.Background(), "bo-1"); err != nil || !slices.Equal(ids, []string{"r"}) {
		t.Errorf("ConnectedIn(bo-1) = %v, %v; want [r]", ids, err)
	}
	if ids, err := m.ConnectedIn(context.Background(), "nowhere"); err != nil || len(ids) != 0 {
		t.Errorf("ConnectedIn(nowhere) = %v, %v; want none", ids, err)
	}
}

// TestMoveKeepSource: the instruction tells the client how long to keep its source connection,
// and the sweep of a copy left in the source waits that long on top of its grace.
func TestMoveKeepSource(t *testing.T) {
	lk := newLiveKit()
	m := newMover(t, lk, fast...) // sweep grace 50 ms
	lk.OnEvent(m.Observe)
	lk.Join("main", participant("p"), bridgetest.Behavior{LoseLeave: true})
	o := order("p")
	o.KeepSource = 300 * time.Millisecond
	if res := m.Move(context.Background(), o); res.Outcome != bridge.MoveArrived {
		t.Fatalf("Move = %v: %v", res.Outcome, res.Err)
	}
	var in protocol.MoveInstruction
	if ds := lk.Deliveries("p"); len(ds) != 1 || json.Unmarshal(ds[0].Payload, &in) != nil || in.KeepSourceMs != 300 {
		t.Errorf("deliveries %+v, want one instruction with keepSourceMs 300", ds)
	}
	time.Sleep(150 * time.Millisecond) // past the sweep grace, within the keep: a sweep must wait for both
	if lk.Participant("main", "p") == nil {
		t.Fatal("the source copy was swept while the client may still keep it")
	}
	eventually(t, 2*time.Second, func() string {
		if lk.Participant("main", "p") != nil {
			return "the source copy is still there after the grace and the keep"
		}
		return ""
	})

	bad := order("q")
	bad.KeepSource = -time.Second
	if res := m.Move(context.Background(), bad); res.Outcome != bridge.MoveFailed || codeOf(res.Err) != psrpc.InvalidArgument {
		t.Errorf("negative KeepSource: %v %v, want failed InvalidArgument", res.Outcome, res.Err)
	}
}

// TestRegrant: a participant that stays in its room gets new permissions and metadata there; a
// prepared connection, or a participant not in the room, is left alone.
func TestRegrant(t *testing.T) {
	lk := newLiveKit()
	m := newMover(t, lk, fast...)
	ctx := context.Background()
	lk.Join("main", participant("p"), bridgetest.Behavior{})
	if _, err := lk.JoinWithToken(preparedToken(t, "q", "main"), bridgetest.Behavior{}); err != nil {
		t.Fatal(err)
	}
	g := &auth.VideoGrant{RoomJoin: true, Room: "main"}
	g.SetCanPublish(false)
	g.SetCanSubscribe(true)
	for _, id := range []string{"p", "q", "nobody"} {
		if err := m.Regrant(ctx, "main", id, g, `{"preset_id":"own"}`); err != nil {
			t.Errorf("Regrant(%s): %v", id, err)
		}
	}
	if p := lk.Participant("main", "p"); p.GetPermission().GetCanPublish() || !p.GetPermission().GetCanSubscribe() || p.GetMetadata() != `{"preset_id":"own"}` {
		t.Errorf("p after the regrant: permission %v, metadata %q", p.GetPermission(), p.GetMetadata())
	}
	if q := lk.Participant("main", "q"); !bridge.Prepared(q) || q.GetPermission().GetCanSubscribe() || q.GetMetadata() != "" {
		t.Errorf("the prepared connection changed: permission %v, metadata %q", q.GetPermission(), q.GetMetadata())
	}
	if err := m.Regrant(ctx, "main", "p", &auth.VideoGrant{RoomJoin: true, Room: "other"}, ""); codeOf(err) != psrpc.InvalidArgument {
		t.Errorf("a grant for another room: %v, want InvalidArgument", err)
	}
}

// TestEvict: a participant's visible connection is removed from a room, once; a prepared
// connection there is DropPrepared's to decide about, and stays.
func TestEvict(t *testing.T) {
	lk := newLiveKit()
	m := newMover(t, lk, fast...)
	ctx := context.Background()
	lk.Join("main", participant("p"), bridgetest.Behavior{})
	if _, err := lk.JoinWithToken(preparedToken(t, "q", "main"), bridgetest.Behavior{}); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		room, id string
		want     bool
	}{{"main", "p", true}, {"main", "p", false}, {"main", "q", false}, {"main", "nobody", false}, {"nowhere", "p", false}} {
		if got, err := m.Evict(ctx, tc.room, tc.id); err != nil || got != tc.want {
			t.Errorf("Evict(%s, %s) = %v, %v; want %v", tc.room, tc.id, got, err, tc.want)
		}
	}
	if lk.Participant("main", "p") != nil {
		t.Error("p is still in main")
	}
	if q := lk.Participant("main", "q"); !bridge.Prepared(q) {
		t.Errorf("the prepared connection is gone: %v", q)
	}
}
