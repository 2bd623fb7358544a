package bridge

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/livekit/protocol/auth"
	"github.com/livekit/protocol/livekit"
	"github.com/livekit/psrpc"
	lksdk "github.com/livekit/server-sdk-go/v2"
	"github.com/twitchtv/twirp"
	"google.golang.org/protobuf/proto"

	"rtk-sidecar/eventstream"
	"rtk-sidecar/protocol"
)

// How a move instruction reached the participant (MoveResult.Via).
const (
	ViaLiveKit = "livekit" // LiveKit's own MoveParticipant (LiveKit Cloud)
	ViaRPC     = "rpc"     // RoomService.PerformRpc, method protocol.MoveMethod
	ViaData    = "data"    // RoomService.SendData, RELIABLE, topic protocol.MoveTopic
)

// Errors of failed moves (MoveResult.Err), each with its psrpc class.
var (
	// ErrMoveTimeout: the participant did not arrive in the destination
	// within the move timeout, although it was told twice.
	ErrMoveTimeout = psrpc.NewErrorf(psrpc.DeadlineExceeded, "participant did not arrive in the destination room")
	// ErrMoverStopped: the Mover's Run has returned.
	ErrMoverStopped = psrpc.NewErrorf(psrpc.Unavailable, "mover stopped")
)

// MoverRooms is the part of LiveKit's RoomService that the Mover uses.
// *lksdk.RoomServiceClient implements it; tests use bridgetest.LiveKit.
type MoverRooms interface {
	GetParticipant(ctx context.Context, req *livekit.RoomParticipantIdentity) (*livekit.ParticipantInfo, error)
	ListParticipants(ctx context.Context, req *livekit.ListParticipantsRequest) (*livekit.ListParticipantsResponse, error)
	RemoveParticipant(ctx context.Context, req *livekit.RoomParticipantIdentity) (*livekit.RemoveParticipantResponse, error)
	UpdateParticipant(ctx context.Context, req *livekit.UpdateParticipantRequest) (*livekit.ParticipantInfo, error)
	MoveParticipant(ctx context.Context, req *livekit.MoveParticipantRequest) (*livekit.MoveParticipantResponse, error)
	SendData(ctx context.Context, req *livekit.SendDataRequest) (*livekit.SendDataResponse, error)
}

var _ MoverRooms = (*lksdk.RoomServiceClient)(nil)

// RPCClient performs a server-initiated RPC to one participant: LiveKit's
// RoomService.PerformRpc. lksdk's RoomServiceClient has no wrapper for it;
// *AdminRPC implements it over LiveKit's Twirp API, tests use
// bridgetest.LiveKit. Errors are LiveKit's: twirp errors whose message holds
// the RpcError ("RpcError 1400: Method not supported at destination").
type RPCClient interface {
	PerformRpc(ctx context.Context, req *livekit.PerformRpcRequest) (*livekit.PerformRpcResponse, error)
}

var _ RPCClient = (*AdminRPC)(nil)

// AdminRPC calls RoomService.PerformRpc with a room-admin token for the
// request's room (LiveKit refuses an admin grant for another room). It is
// safe for concurrent use.
type AdminRPC struct {
	keys Keys
	svc  livekit.RoomService
}

// NewAdminRPC returns an AdminRPC for the LiveKit server at url (ws:// and
// wss:// are turned into http:// and https://), signing with keys. A nil hc
// means http.DefaultClient; opts go to the Twirp client.
func NewAdminRPC(url string, keys Keys, hc *http.Client, opts ...twirp.ClientOption) *AdminRPC {
	if hc == nil {
		hc = http.DefaultClient
	}
	if strings.HasPrefix(url, "ws") {
		url = "http" + strings.TrimPrefix(url, "ws")
	}
	return &AdminRPC{keys: keys, svc: livekit.NewRoomServiceProtobufClient(url, hc, opts...)}
}

// PerformRpc performs req with an admin token for req.Room.
func (a *AdminRPC) PerformRpc(ctx context.Context, req *livekit.PerformRpcRequest) (*livekit.PerformRpcResponse, error) {
	tok, err := auth.NewAccessToken(a.keys.APIKey, a.keys.APISecret).
		SetVideoGrant(&auth.VideoGrant{RoomAdmin: true, Room: req.Room}).
		SetValidFor(time.Minute).ToJWT()
	if err != nil {
		return nil, fmt.Errorf("bridge: sign admin token: %w", err)
	}
	h := http.Header{}
	h.Set("Authorization", "Bearer "+tok)
	ctx, err = twirp.WithHTTPRequestHeaders(ctx, h)
	if err != nil {
		return nil, err
	}
	return a.svc.PerformRpc(ctx, req)
}

// MoveOrder is one participant to move from one LiveKit room to another.
type MoveOrder struct {
	MoveID   string // unique per move; clients deduplicate instructions by it
	Identity string // LiveKit identity (the participant id)
	FromRoom string // LiveKit room the participant is expected in
	ToRoom   string // LiveKit room to move it to; created first (EnsureRoom, or in Ready), or LiveKit auto-creates it without metadata

	Meeting       protocol.MeetingRef // the destination meeting, for the instruction (ID defaults to ToMeetingID)
	FromMeetingID string              // defaults to FromRoom
	ToMeetingID   string              // defaults to ToRoom
	PresetID      string              // the participant's preset in the destination
	Permissions   any                 // effective RealtimeKit permissions in the destination, sent as JSON

	// Grant is the participant's LiveKit grant in the destination; its Room
	// must be empty or ToRoom. Nil carries the live permission set of the
	// participant over (what it has in FromRoom right now).
	Grant *auth.VideoGrant
	// Metadata is the participant's LiveKit metadata in the destination;
	// empty keeps its live metadata. Name and attributes always carry over.
	Metadata string
	// KeepSource is how long the client keeps its source connection after
	// its switch (protocol.MoveInstruction.KeepSourceMs); the sweep of a
	// leftover source connection waits for it too.
	KeepSource time.Duration
	// Gate, when not nil, holds the instruction of a reveal back until the
	// other reveals of the batch are done (RevealGate). Move passes it as
	// soon as it has revealed, or knows it will not.
	Gate *RevealGate
	// Ready, when not nil, readies ToRoom for the arrival (creates the room,
	// say). Move calls it once, beside its lookups of the participant, and
	// waits for it before it ends; it reveals, asks LiveKit to move, or sends
	// the instruction only after Ready has returned nil. An error from Ready
	// fails the move and is returned as it is.
	Ready func(ctx context.Context) error
}

// Outcome is how a move ended.
type Outcome int

const (
	// MoveFailed: the participant is connected but did not arrive, or
	// LiveKit failed; MoveResult.Err says why.
	MoveFailed Outcome = iota
	// MoveArrived: the participant is present in ToRoom now.
	MoveArrived
	// MoveAlreadyThere: the participant was in ToRoom already; nothing was sent.
	MoveAlreadyThere
	// MoveOffline: the participant is connected to neither room; nothing
	// was sent, and the join endpoint places it when it comes back.
	MoveOffline
)

func (o Outcome) String() string {
	switch o {
	case MoveArrived:
		return "arrived"
	case MoveAlreadyThere:
		return "already_there"
	case MoveOffline:
		return "offline"
	default:
		return "failed"
	}
}

// MoveResult is what became of a MoveOrder.
type MoveResult struct {
	MoveID   string
	Identity string
	Outcome  Outcome
	// Via is how the last instruction reached the participant: ViaLiveKit,
	// ViaRPC or ViaData; empty when none was sent.
	Via string
	// Deliveries counts the instructions sent (0, 1, or 2 after a re-delivery).
	Deliveries int
	// Streams counts the participant's event streams that took the last
	// instruction (WithStreams), besides LiveKit.
	Streams int
	// Err is set exactly when Outcome is MoveFailed.
	Err error
	// Elapsed runs from the call of Move to its return.
	Elapsed time.Duration
}

// MoverOption tunes a Mover.
type MoverOption func(*moverConfig)

type moverConfig struct {
	timeout      time.Duration
	redeliver    time.Duration
	grace        time.Duration
	pollInterval time.Duration
	rpcTimeout   time.Duration
	streams      Streams
	revealed     func(ctx context.Context, room string, p *livekit.ParticipantInfo)
	observer     MoveObserver
}

// MoveObserver hears of every move (metrics): MoveStarted when Move begins,
// MoveEnded with the Outcome's name and the elapsed time when it returns.
// Both are called on the moving goroutine and must not block.
type MoveObserver interface {
	MoveStarted()
	MoveEnded(outcome string, took time.Duration)
}

// WithMoveObserver has o hear of every move.
func WithMoveObserver(o MoveObserver) MoverOption { return func(c *moverConfig) { c.observer = o } }

// Streams delivers move instructions over the participants' event streams
// to the sidecar (eventstream.Hub). Send must not block; it returns how
// many streams took the message.
type Streams interface {
	Send(identity string, m eventstream.Message) int
}

// WithStreams sends every instruction on the participant's event streams
// too, before LiveKit's RPC or data packet (docs/protocol.md §4): a path
// that does not depend on the SFU's data channel to the client, which can
// stall for seconds under load. The client acts on the first copy.
func WithStreams(s Streams) MoverOption { return func(c *moverConfig) { c.streams = s } }

// WithRevealed calls f after the Mover has revealed a prepared connection
// (Move), with the participant as LiveKit now lists it in room. LiveKit
// sends no webhook when a hidden participant becomes visible, so f is where
// the arrival must be recorded as a participant_joined would be (sessions,
// outgoing webhooks). Without a gate (MoveOrder.Gate), f runs on the
// moving goroutine, once the instruction is on the participant's event
// streams (WithStreams) and before it goes through LiveKit. With a gate, f
// runs on a goroutine of its own, beside the gate's wait and the
// instruction, so f must be safe for concurrent use; Move returns only once
// f has.
func WithRevealed(f func(ctx context.Context, room string, p *livekit.ParticipantInfo)) MoverOption {
	return func(c *moverConfig) { c.revealed = f }
}

// Prepared reports whether p is a prepared connection that has not been
// revealed yet: hidden, with protocol.PreparedAttribute
// (docs/protocol.md §5). It is not an arrival, and not a participant of
// the room.
func Prepared(p *livekit.ParticipantInfo) bool {
	_, ok := p.GetAttributes()[protocol.PreparedAttribute]
	return ok && p.GetPermission().GetHidden()
}

// RevealedEvent is the participant_joined webhook event LiveKit would send
// for a prepared connection that the Mover revealed in room at at (it sends
// none): p as revealed, joined at at. Its id is unique per connection,
// which is revealed once.
func RevealedEvent(room string, p *livekit.ParticipantInfo, at time.Time) *livekit.WebhookEvent {
	p = proto.Clone(p).(*livekit.ParticipantInfo)
	p.JoinedAt, p.JoinedAtMs = at.Unix(), at.UnixMilli()
	return &livekit.WebhookEvent{Id: "RTK_REVEALED_" + p.Sid, Event: "participant_joined",
		Room: &livekit.Room{Name: room}, Participant: p, CreatedAt: at.Unix()}
}

// WithMoveTimeout sets how long Move waits for the participant to arrive
// (default 10 s).
func WithMoveTimeout(d time.Duration) MoverOption { return func(c *moverConfig) { c.timeout = d } }

// WithRedeliverAfter sets when the instruction is sent once more if the
// participant has not arrived (default 1 s, at most half the move timeout).
// A data packet is never acknowledged, and one sent before the client's
// data channel is up is lost; clients deduplicate repeats.
func WithRedeliverAfter(d time.Duration) MoverOption { return func(c *moverConfig) { c.redeliver = d } }

// WithSweepGrace sets how long after an arrival a copy of the participant
// left in the source room is removed (default 1 s).
func WithSweepGrace(d time.Duration) MoverOption { return func(c *moverConfig) { c.grace = d } }

// WithPollInterval sets how often a destination room with pending arrivals
// is listed (default 100 ms). Webhook events passed to Observe confirm
// arrivals sooner; polling is the fallback.
func WithPollInterval(d time.Duration) MoverOption {
	return func(c *moverConfig) { c.pollInterval = d }
}

// Mover moves participants between LiveKit rooms: with LiveKit's
// MoveParticipant where the server implements it, else by the client
// handoff of docs/protocol.md §4 (a destination token delivered by RPC or
// data; the client joins the destination, then leaves the source). It
// confirms arrivals from LiveKit and removes copies of moved participants
// that a lost leave left in the source room.
//
// A Mover is safe for concurrent use; moves of one identity run one at a
// time, in the order they acquire it. Run owns the goroutines the Mover
// starts (pollers and sweeps).
type Mover struct {
	rooms     MoverRooms
	lookups   *lookups  // the rooms' participants, asked together
	rpc       RPCClient // nil: data only
	keys      Keys
	publicURL string
	log       *slog.Logger
	cfg       moverConfig

	// noMove is set once LiveKit has answered MoveParticipant with "not
	// implemented" (the open-source server): it is not asked again.
	noMove atomic.Bool

	bg     context.Context // background work; cancelled when Run stops
	cancel context.CancelFunc
	stopCh chan struct{} // closed when Run stops

	mu       sync.Mutex
	state    int // runIdle, runRunning, runStopped
	wg       sync.WaitGroup
	arrivals map[string]map[string][]*arrival // room -> identity -> pending arrivals
	pollers  map[string]bool                  // rooms with a running poller
	sweeps   map[roomIdentity][]*sweep
	idLocks  map[string]*idLock
}

const (
	runIdle = iota
	runRunning
	runStopped
)

// NewMover returns a Mover. rooms is LiveKit's RoomService, rpc performs
// RPCs (NewAdminRPC; nil sends every instruction as data), keys sign the
// destination tokens, and publicURL is the LiveKit URL clients connect to.
// It starts nothing; call Run.
func NewMover(rooms MoverRooms, rpc RPCClient, keys Keys, publicURL string, log *slog.Logger, opts ...MoverOption) *Mover {
	cfg := moverConfig{
		timeout:      10 * time.Second,
		redeliver:    time.Second,
		grace:        time.Second,
		pollInterval: 100 * time.Millisecond,
		rpcTimeout:   6 * time.Second,
	}
	for _, o := range opts {
		o(&cfg)
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	bg, cancel := context.WithCancel(context.Background())
	return &Mover{
		rooms: rooms, lookups: newLookups(rooms), rpc: rpc, keys: keys, publicURL: publicURL, log: log, cfg: cfg,
		bg: bg, cancel: cancel, stopCh: make(chan struct{}),
		arrivals: map[string]map[string][]*arrival{},
		pollers:  map[string]bool{},
		sweeps:   map[roomIdentity][]*sweep{},
		idLocks:  map[string]*idLock{},
	}
}

// Run runs until ctx ends. It then stops the Mover: moves still waiting
// return MoveFailed with ErrMoverStopped, pending sweeps are dropped, and
// Run returns once every goroutine the Mover started has ended. Moves may be
// made before Run starts; after it returns they fail with ErrMoverStopped.
// Run may be called once.
func (m *Mover) Run(ctx context.Context) error {
	m.mu.Lock()
	if m.state != runIdle {
		m.mu.Unlock()
		return errors.New("bridge: Mover.Run called twice")
	}
	m.state = runRunning
	m.mu.Unlock()

	<-ctx.Done()

	m.mu.Lock()
	m.state = runStopped
	close(m.stopCh)
	m.mu.Unlock()
	m.cancel()
	m.wg.Wait()
	return nil
}

// Observe takes LiveKit webhook events: participant_joined confirms
// arrivals at once (polling is the fallback), participant_left and
// participant_connection_aborted cancel sweeps that are no longer needed.
// It never blocks on I/O; other events are ignored.
func (m *Mover) Observe(ev *livekit.WebhookEvent) {
	p := ev.GetParticipant()
	room := ev.GetRoom().GetName()
	if p == nil || room == "" {
		return
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	switch ev.GetEvent() {
	case "participant_joined":
		if Prepared(p) {
			return // not there yet: the move reveals it
		}
		for _, a := range m.arrivals[room][p.Identity] {
			a.offer(p.Sid)
		}
	case "participant_left", "participant_connection_aborted":
		for _, s := range m.sweeps[roomIdentity{room, p.Identity}] {
			if s.sid == p.Sid {
				s.cancel()
			}
		}
	}
}

// Move carries out one move order and blocks until the participant has
// arrived in o.ToRoom, the move has failed, or the participant turned out to
// be connected to neither room. It never asks LiveKit's MoveParticipant
// about an identity that is not in o.FromRoom (that costs 3 s). For the
// handoff it waits until the participant's connection is ACTIVE, sends the
// instruction by RPC (as data when the RPC fails, or straight away for a
// participant without canPublishData), sends it once more if the
// participant has not arrived after the re-delivery delay, and fails with
// ErrMoveTimeout at the move timeout.
//
// ctx bounds the whole call; its error is returned wrapped. Other errors
// carry a psrpc class: InvalidArgument for a bad order, Unavailable (or
// NotFound) from LiveKit, DeadlineExceeded for ErrMoveTimeout, Unavailable
// for ErrMoverStopped.
//
// A participant with a prepared connection in o.ToRoom (Prepared: hidden,
// connected before the move, docs/protocol.md §5) is not sent there: the
// Mover reveals that connection (UpdateParticipant), which makes it
// present at once, and then sends the instruction, marked prepared, once,
// when o.Gate lets it. A prepared connection that is still connecting is
// replaced by the handoff's join.
//
// Once the participant has arrived by handoff, the connection the
// instruction went to is removed from o.FromRoom if it is still listed
// there after the sweep grace (a lost leave), in the background.
func (m *Mover) Move(ctx context.Context, o MoveOrder) (res MoveResult) {
	start := time.Now()
	res = MoveResult{MoveID: o.MoveID, Identity: o.Identity}
	if m.cfg.observer != nil {
		m.cfg.observer.MoveStarted()
	}
	defer func() {
		o.Gate.Pass(o.MoveID) // a move that ended early
		res.Elapsed = time.Since(start)
		m.logResult(o, res)
		if m.cfg.observer != nil {
			m.cfg.observer.MoveEnded(res.Outcome.String(), res.Elapsed)
		}
	}()
	fail := func(err error) MoveResult {
		res.Outcome, res.Err = MoveFailed, err
		return res
	}

	grant, err := o.validate()
	if err != nil {
		return fail(err)
	}
	if m.stopped() {
		return fail(ErrMoverStopped)
	}
	unlock, err := m.lockIdentity(ctx, o.Identity)
	if err != nil {
		return fail(fmt.Errorf("bridge: move %s: %w", o.Identity, err))
	}
	defer unlock()
	deadline := time.Now().Add(m.cfg.timeout)

	// (a) Where is it? Both rooms at once, with the destination made ready
	// beside them: under load, each call to LiveKit takes hundreds of
	// milliseconds, and the instruction waits for them.
	var dst *livekit.ParticipantInfo
	var dstErr, readyErr error
	looked := make(chan struct{})
	go func() {
		defer close(looked)
		dst, dstErr = m.lookup(ctx, o.ToRoom, o.Identity, deadline)
	}()
	readied := make(chan struct{})
	go func() {
		defer close(readied)
		if o.Ready != nil {
			readyErr = o.Ready(ctx)
		}
	}()
	src, err := m.lookup(ctx, o.FromRoom, o.Identity, deadline)
	<-looked
	<-readied
	if readyErr != nil {
		return fail(readyErr)
	}
	if err != nil {
		return fail(err)
	}
	if dstErr != nil {
		return fail(dstErr)
	}
	prepared := dst != nil && Prepared(dst)
	reveals := prepared && src != nil && dst.State == livekit.ParticipantInfo_ACTIVE
	if !reveals {
		o.Gate.Pass(o.MoveID)
	}
	switch {
	case src == nil && (dst == nil || prepared):
		res.Outcome = MoveOffline
		return res
	case src == nil:
		res.Outcome = MoveAlreadyThere
		return res
	case prepared:
		// The client connected to the destination ahead of the move, hidden:
		// reveal that connection instead of sending it there.
		if reveals {
			if done, err := m.reveal(ctx, o, grant, src, dst, deadline, &res); done || err != nil {
				if err != nil {
					return fail(err)
				}
				return res
			}
		}
		// Still connecting, or gone: the handoff's join replaces it.
	case dst != nil && joinedMs(dst) >= joinedMs(src):
		// The destination copy is the newer connection: the participant has
		// moved already, and the source copy is a leftover.
		m.scheduleSweep(o.FromRoom, o.Identity, src.Sid, o.KeepSource)
		res.Outcome = MoveAlreadyThere
		return res
	}

	// Wait for a connection in ToRoom other than a stale one found there now.
	a := m.await(o.ToRoom, o.Identity, dst.GetSid())
	defer m.unawait(a)

	// (b) LiveKit's own move, while the server has not said it lacks one.
	if m.liveKitMove(ctx, o, src) {
		res.Via, res.Deliveries = ViaLiveKit, 1
		sid, err := m.wait(ctx, a, deadline)
		if err != nil {
			return fail(err)
		}
		if err := m.updateMoved(ctx, o, grant); err != nil {
			return fail(err)
		}
		m.log.Debug("moved by LiveKit", "identity", o.Identity, "sid", sid)
		res.Outcome = MoveArrived
		return res
	}

	// (c) Handoff: the client joins ToRoom with this token, then leaves.
	// A participant that is still connecting cannot take data yet.
	if src, err = m.whenActive(ctx, o, src, deadline); err != nil {
		return fail(err)
	}
	if src == nil {
		res.Outcome = MoveOffline
		return res
	}
	payload, err := m.instruction(o, grant, src, false)
	if err != nil {
		return fail(err)
	}
	useRPC := m.rpc != nil && src.GetPermission().GetCanPublishData()
	send := func(until time.Time) error {
		res.Deliveries++
		res.Streams = m.toStreams(o, payload)
		via, err := m.sendAndWait(ctx, a, o, payload, useRPC, until)
		switch {
		case via != "":
			res.Via = via
			useRPC = via == ViaRPC // once the RPC failed, the repeat goes as data
		case errors.Is(err, ErrMoveTimeout):
			useRPC = false // the RPC was still unanswered: repeat as data
		}
		return err
	}

	// (d) Confirm, (f) re-deliver once, then give up at the deadline.
	err = send(time.Now().Add(min(m.cfg.redeliver, time.Until(deadline)/2)))
	if errors.Is(err, ErrMoveTimeout) {
		switch gone, err2 := m.offline(ctx, o); {
		case err2 != nil:
			return fail(err2)
		case gone:
			res.Outcome = MoveOffline
			return res
		}
		err = send(deadline)
	}
	if errors.Is(err, ErrMoveTimeout) {
		// A last look, in case polling failed meanwhile.
		if p, err2 := m.participant(ctx, o.ToRoom, o.Identity); err2 == nil && p != nil && p.Sid != dst.GetSid() {
			err = nil
		}
	}
	if err != nil {
		return fail(err)
	}
	// (e) Sweep the source copy should the client's leave get lost.
	m.scheduleSweep(o.FromRoom, o.Identity, src.Sid, o.KeepSource)
	res.Outcome = MoveArrived
	return res
}

// reveal makes the participant's prepared connection dst in o.ToRoom
// visible with its permissions, name, metadata and attributes there (those a
// handoff's token would carry), reports it (WithRevealed), and tells the
// client, whose connection is in the destination already. It asks LiveKit
// to change only what dst lacks: each change of name, metadata or
// attributes costs the SFU an update and a new token for the client, so a
// connection prepared with the destination's metadata (Prepare) is revealed
// by its permission alone. protocol.PreparedAttribute stays: once visible,
// the connection is no longer Prepared. A reveal that fails in a way that
// may pass is made again until deadline (again). done is false, with no
// error, when the prepared connection has gone meanwhile: the caller hands
// off instead.
func (m *Mover) reveal(ctx context.Context, o MoveOrder, grant *auth.VideoGrant, src, dst *livekit.ParticipantInfo, deadline time.Time, res *MoveResult) (done bool, err error) {
	g := destinationGrant(o, grant, src)
	req := &livekit.UpdateParticipantRequest{Room: o.ToRoom, Identity: o.Identity, Permission: g.ToPermission()}
	if src.Name != dst.Name {
		req.Name = src.Name
	}
	if md := or(o.Metadata, src.Metadata); md != dst.Metadata {
		req.Metadata = md
	}
	for k, v := range carriedAttributes(src) {
		if dst.Attributes[k] != v {
			if req.Attributes == nil {
				req.Attributes = map[string]string{}
			}
			req.Attributes[k] = v
		}
	}
	var p *livekit.ParticipantInfo
	err = m.again(ctx, deadline, func(ctx context.Context) error {
		var err error
		p, err = m.rooms.UpdateParticipant(ctx, req)
		return err
	})
	o.Gate.Pass(o.MoveID)
	switch {
	case IsNotFound(err):
		return false, nil
	case err != nil:
		return false, fromLiveKit("reveal "+o.Identity+" in "+o.ToRoom, err)
	}
	// The arrival is recorded as of now, the reveal. Recording waits for
	// the store, and the client must not (it leaves the source only after
	// it has published in the destination and heard it, well after this).
	// With a gate, it is recorded while the gate holds the instruction back
	// and the instruction goes: a start's 100 reveals, done together, wait
	// for each other in the store, and their instructions would wait for
	// the last. The move ends once it is recorded. Without a gate, it is
	// recorded once the event stream has the instruction.
	record := func() {
		if m.cfg.revealed != nil {
			m.cfg.revealed(ctx, o.ToRoom, p)
		}
	}
	if o.Gate != nil {
		recorded := make(chan struct{})
		go func() {
			defer close(recorded)
			record()
		}()
		defer func() { <-recorded }()
		o.Gate.wait(ctx)
	}
	payload, err := m.instruction(o, grant, src, true)
	if err != nil {
		return false, err
	}
	res.Deliveries = 1
	res.Streams = m.toStreams(o, payload)
	if o.Gate == nil {
		record()
	}
	useRPC := m.rpc != nil && src.GetPermission().GetCanPublishData()
	if res.Via, err = m.deliver(ctx, o, payload, useRPC); err != nil && res.Streams == 0 {
		return false, err
	}
	// The client leaves the source once it hears the destination; should
	// its leave get lost, the sweep removes the copy.
	m.scheduleSweep(o.FromRoom, o.Identity, src.Sid, o.KeepSource)
	res.Outcome = MoveArrived
	return true, nil
}

// toStreams sends the instruction on the participant's event streams
// (WithStreams) and returns how many took it.
func (m *Mover) toStreams(o MoveOrder, payload []byte) int {
	if m.cfg.streams == nil {
		return 0
	}
	return m.cfg.streams.Send(o.Identity, eventstream.Message{Event: protocol.MoveMethod, ID: o.MoveID, Data: payload})
}

// DropPrepared disconnects identity's prepared connection in room (Prepared),
// if it has one there; any other connection of the identity stays. It is
// for a prepared connection that may not stay: its client should close it
// itself, and this makes sure it does not keep receiving the room. A move
// of identity under way ends first: one that reveals the connection leaves
// nothing to drop.
func (m *Mover) DropPrepared(ctx context.Context, room, identity string) error {
	unlock, err := m.lockIdentity(ctx, identity)
	if err != nil {
		return fmt.Errorf("bridge: drop the prepared connection of %s: %w", identity, err)
	}
	defer unlock()
	p, err := m.participant(ctx, room, identity)
	if err != nil || p == nil || !Prepared(p) {
		return err
	}
	ctx, cancel := callContext(ctx)
	defer cancel()
	_, err = m.rooms.RemoveParticipant(ctx, &livekit.RoomParticipantIdentity{Room: room, Identity: identity})
	if err != nil && !IsNotFound(err) {
		return fromLiveKit("drop the prepared connection of "+identity+" in "+room, err)
	}
	return nil
}

// Evict removes identity's connection from room, where it may not be (its
// participant is placed elsewhere), and reports whether there was one. A
// prepared connection (Prepared) stays: DropPrepared decides about those. A
// move of identity under way ends first, so that the connection a move
// deals with is not taken from under it.
func (m *Mover) Evict(ctx context.Context, room, identity string) (bool, error) {
	unlock, err := m.lockIdentity(ctx, identity)
	if err != nil {
		return false, fmt.Errorf("bridge: evict %s: %w", identity, err)
	}
	defer unlock()
	p, err := m.participant(ctx, room, identity)
	if err != nil || p == nil || Prepared(p) {
		return false, err
	}
	ctx, cancel := callContext(ctx)
	defer cancel()
	_, err = m.rooms.RemoveParticipant(ctx, &livekit.RoomParticipantIdentity{Room: room, Identity: identity})
	switch {
	case IsNotFound(err):
		return false, nil
	case err != nil:
		return false, fromLiveKit("evict "+identity+" from "+room, err)
	}
	m.log.Info("removed a connection from a room its participant is not placed in", "room", room, "identity", identity, "sid", p.Sid)
	return true, nil
}

// Regrant gives identity's connection in room the permissions of grant
// (its Room must be empty or room) and, unless empty, metadata: for a
// participant that stays where it is while its permissions there change.
// A participant not connected there, or only by a prepared connection,
// is left alone. A move of identity under way ends first.
func (m *Mover) Regrant(ctx context.Context, room, identity string, grant *auth.VideoGrant, metadata string) error {
	if grant == nil || (grant.Room != "" && grant.Room != room) {
		return psrpc.NewErrorf(psrpc.InvalidArgument, "bridge: regrant %s: needs a grant for room %q", identity, room)
	}
	unlock, err := m.lockIdentity(ctx, identity)
	if err != nil {
		return fmt.Errorf("bridge: regrant %s: %w", identity, err)
	}
	defer unlock()
	p, err := m.participant(ctx, room, identity)
	if err != nil || p == nil || Prepared(p) {
		return err
	}
	ctx, cancel := callContext(ctx)
	defer cancel()
	_, err = m.rooms.UpdateParticipant(ctx, &livekit.UpdateParticipantRequest{Room: room, Identity: identity,
		Permission: grant.ToPermission(), Metadata: metadata})
	if err != nil && !IsNotFound(err) {
		return fromLiveKit("regrant "+identity+" in "+room, err)
	}
	return nil
}

// PreparedIn returns the identities that hold a prepared connection in
// room (Prepared), none for a room LiveKit does not have.
func (m *Mover) PreparedIn(ctx context.Context, room string) ([]string, error) {
	ctx, cancel := callContext(ctx)
	defer cancel()
	res, err := m.rooms.ListParticipants(ctx, &livekit.ListParticipantsRequest{Room: room})
	switch {
	case IsNotFound(err):
		return nil, nil
	case err != nil:
		return nil, fromLiveKit("list the participants of "+room, err)
	}
	var ids []string
	for _, p := range res.Participants {
		if Prepared(p) && p.State != livekit.ParticipantInfo_DISCONNECTED {
			ids = append(ids, p.Identity)
		}
	}
	return ids, nil
}

// validate checks o and returns its destination grant (nil: carry over).
func (o *MoveOrder) validate() (*auth.VideoGrant, error) {
	switch {
	case o.MoveID == "", o.Identity == "", o.FromRoom == "", o.ToRoom == "":
		return nil, psrpc.NewErrorf(psrpc.InvalidArgument, "bridge: move order needs MoveID, Identity, FromRoom and ToRoom")
	case o.FromRoom == o.ToRoom:
		return nil, psrpc.NewErrorf(psrpc.InvalidArgument, "bridge: move %s: source and destination are both %q", o.Identity, o.ToRoom)
	case o.Grant != nil && o.Grant.Room != "" && o.Grant.Room != o.ToRoom:
		return nil, psrpc.NewErrorf(psrpc.InvalidArgument, "bridge: move %s: grant is for room %q, not %q", o.Identity, o.Grant.Room, o.ToRoom)
	case o.KeepSource < 0:
		return nil, psrpc.NewErrorf(psrpc.InvalidArgument, "bridge: move %s: KeepSource %s is negative", o.Identity, o.KeepSource)
	}
	if o.Grant == nil {
		return nil, nil
	}
	g := o.Grant.Clone()
	g.Room, g.RoomJoin = o.ToRoom, true
	return g, nil
}

func (m *Mover) stopped() bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.state == runStopped
}

// participant returns identity's info in room, or nil if it is not there.
func (m *Mover) participant(ctx context.Context, room, identity string) (*livekit.ParticipantInfo, error) {
	return m.lookup(ctx, room, identity, time.Time{})
}

// lookup is participant, asking again until deadline (again).
func (m *Mover) lookup(ctx context.Context, room, identity string, deadline time.Time) (*livekit.ParticipantInfo, error) {
	var p *livekit.ParticipantInfo
	err := m.again(ctx, deadline, func(ctx context.Context) error {
		var err error
		p, err = m.lookups.get(ctx, room, identity)
		return err
	})
	if err != nil {
		return nil, fromLiveKit("get participant "+identity+" in "+room, err)
	}
	if p == nil || p.State == livekit.ParticipantInfo_DISCONNECTED {
		return nil, nil
	}
	return p, nil
}

// activeWait is how often whenActive looks again.
const activeWait = 50 * time.Millisecond

// whenActive waits, until at most half of the time left before deadline,
// for src to become ACTIVE (connected: its data channel can carry the
// instruction), and returns it again; nil if it left.
func (m *Mover) whenActive(ctx context.Context, o MoveOrder, src *livekit.ParticipantInfo, deadline time.Time) (*livekit.ParticipantInfo, error) {
	until := time.Now().Add(time.Until(deadline) / 2)
	for src != nil && src.State != livekit.ParticipantInfo_ACTIVE && time.Now().Before(until) {
		select {
		case <-time.After(activeWait):
		case <-ctx.Done():
			return nil, fmt.Errorf("bridge: move %s: %w", o.Identity, ctx.Err())
		case <-m.stopCh:
			return nil, ErrMoverStopped
		}
		p, err := m.participant(ctx, o.FromRoom, o.Identity)
		if err != nil {
			return nil, err
		}
		src = p // possibly a new connection: the instruction goes to that one
	}
	return src, nil
}

// offline reports whether the participant has left the source room, having
// not arrived in the destination.
func (m *Mover) offline(ctx context.Context, o MoveOrder) (bool, error) {
	p, err := m.participant(ctx, o.FromRoom, o.Identity)
	return p == nil && err == nil, err
}

// callTimeout bounds one RoomService call. It stays under lksdk's 5 s
// failover threshold, above which lksdk starts a goroutine per call that
// lives as long as the caller's context.
const callTimeout = 4 * time.Second

func callContext(ctx context.Context) (context.Context, context.CancelFunc) {
	return context.WithTimeout(ctx, callTimeout)
}

// retryWait is the pause before a RoomService call that failed in a way
// that may pass is made again (again); it doubles, up to a second.
const retryWait = 100 * time.Millisecond

// again makes a RoomService call, f, each time under its own call timeout,
// until it succeeds, fails in a way that does not pass (transient), or the
// next try would start after deadline (a zero deadline: one try). It
// returns f's last error. It is for calls that have the same effect made
// twice: an overloaded SFU may have done what it did not answer in time.
func (m *Mover) again(ctx context.Context, deadline time.Time, f func(ctx context.Context) error) error {
	wait := retryWait
	for {
		cctx, cancel := callContext(ctx)
		err := f(cctx)
		cancel()
		if err == nil || !transient(err) || ctx.Err() != nil || time.Until(deadline) < wait {
			return err
		}
		m.log.Info("LiveKit call failed; trying again", "in", wait, "err", err)
		select {
		case <-time.After(wait):
		case <-ctx.Done():
			return err
		case <-m.stopCh:
			return err
		}
		wait = min(2*wait, time.Second)
	}
}

// transient reports whether a failed RoomService call may succeed when
// made again: LiveKit did not answer, or not in time, or answered that it
// could not. Under load the SFU answers "no response from servers" (twirp
// unavailable) after 3 s, and a call can outlast callTimeout (measured in
// the start of 100 participants into 10 rooms, docs/livekit-notes.md §4).
func transient(err error) bool {
	var terr twirp.Error
	if !errors.As(err, &terr) {
		return true // no twirp answer at all
	}
	switch terr.Code() {
	case twirp.Unavailable, twirp.DeadlineExceeded, twirp.Canceled, twirp.Internal, twirp.Unknown,
		twirp.ResourceExhausted, twirp.Aborted:
		return true
	}
	return false
}

// joinedMs is when p joined, in milliseconds.
func joinedMs(p *livekit.ParticipantInfo) int64 {
	if p.JoinedAtMs != 0 {
		return p.JoinedAtMs
	}
	return p.JoinedAt * 1000
}

// liveKitMove tries LiveKit's MoveParticipant and reports whether LiveKit
// accepted the move. The first "not implemented" answer disables it for the
// Mover's lifetime; any other error falls back to the handoff for this move.
func (m *Mover) liveKitMove(ctx context.Context, o MoveOrder, src *livekit.ParticipantInfo) bool {
	if m.noMove.Load() {
		return false
	}
	ctx, cancel := callContext(ctx)
	defer cancel()
	_, err := m.rooms.MoveParticipant(ctx, &livekit.MoveParticipantRequest{
		Room: o.FromRoom, Identity: o.Identity, DestinationRoom: o.ToRoom,
	})
	switch {
	case err == nil:
		return true
	case notImplemented(err):
		if !m.noMove.Swap(true) {
			m.log.Info("LiveKit does not implement MoveParticipant; moving by client handoff", "err", err)
		}
	default:
		m.log.Warn("MoveParticipant failed; moving by client handoff", "identity", o.Identity, "sid", src.Sid, "err", err)
	}
	return false
}

// notImplemented recognises the open-source server's answer to
// MoveParticipant: twirp "unknown" (HTTP 500) "not implemented"; a twirp
// "unimplemented" counts too.
func notImplemented(err error) bool {
	var terr twirp.Error
	if !errors.As(err, &terr) {
		return false
	}
	return terr.Code() == twirp.Unimplemented ||
		strings.Contains(strings.ToLower(terr.Msg()), "not implemented")
}

// updateMoved applies a new grant or metadata after LiveKit moved the
// participant itself (MoveParticipant keeps both).
func (m *Mover) updateMoved(ctx context.Context, o MoveOrder, grant *auth.VideoGrant) error {
	if grant == nil && o.Metadata == "" {
		return nil
	}
	req := &livekit.UpdateParticipantRequest{Room: o.ToRoom, Identity: o.Identity, Metadata: o.Metadata}
	if grant != nil {
		req.Permission = grant.ToPermission()
	}
	ctx, cancel := callContext(ctx)
	defer cancel()
	if _, err := m.rooms.UpdateParticipant(ctx, req); err != nil {
		return fromLiveKit("update moved participant "+o.Identity, err)
	}
	return nil
}

// destinationGrant is the participant's grant in o.ToRoom: the order's, or
// else src's live permissions.
func destinationGrant(o MoveOrder, grant *auth.VideoGrant, src *livekit.ParticipantInfo) *auth.VideoGrant {
	if grant != nil {
		return grant
	}
	grant = &auth.VideoGrant{RoomJoin: true, Room: o.ToRoom}
	grant.UpdateFromPermission(src.GetPermission())
	if len(src.GetPermission().GetCanPublishSources()) == 0 {
		grant.CanPublishSources = nil // none listed: every source, as LiveKit reads it
	}
	return grant
}

// carriedAttributes are the attributes of src that its connection in the
// destination carries: all but protocol.PreparedAttribute, which marks a
// connection, not a participant. nil when there are none.
func carriedAttributes(src *livekit.ParticipantInfo) map[string]string {
	var attrs map[string]string
	for k, v := range src.GetAttributes() {
		if k == protocol.PreparedAttribute {
			continue
		}
		if attrs == nil {
			attrs = make(map[string]string, len(src.Attributes))
		}
		attrs[k] = v
	}
	return attrs
}

// instruction mints the destination token and encodes the instruction.
// Without a grant in the order, the token carries src's live permissions.
// prepared says that the participant's prepared connection was revealed.
func (m *Mover) instruction(o MoveOrder, grant *auth.VideoGrant, src *livekit.ParticipantInfo, prepared bool) ([]byte, error) {
	grant = destinationGrant(o, grant, src)
	md := or(o.Metadata, src.Metadata)
	at := auth.NewAccessToken(m.keys.APIKey, m.keys.APISecret).
		SetIdentity(o.Identity).SetName(src.Name).SetMetadata(md).
		SetVideoGrant(grant).SetValidFor(TicketTTL)
	if attrs := carriedAttributes(src); len(attrs) > 0 {
		at.SetAttributes(attrs)
	}
	tok, err := at.ToJWT()
	if err != nil {
		return nil, fmt.Errorf("bridge: sign move token for %s: %w", o.Identity, err)
	}
	in := protocol.MoveInstruction{
		V: protocol.Version, MoveID: o.MoveID, ParticipantID: o.Identity,
		FromMeetingID: or(o.FromMeetingID, o.FromRoom), ToMeetingID: or(o.ToMeetingID, o.ToRoom),
		Meeting: o.Meeting, LiveKit: protocol.LiveKitRoom{URL: m.publicURL, Token: tok, Room: o.ToRoom},
		PresetID: o.PresetID, Prepared: prepared, KeepSourceMs: int(o.KeepSource.Milliseconds()),
	}
	in.Meeting.ID = or(in.Meeting.ID, in.ToMeetingID)
	if o.Permissions != nil {
		if in.Permissions, err = json.Marshal(o.Permissions); err != nil {
			return nil, fmt.Errorf("bridge: encode move permissions: %w", err)
		}
	}
	b, err := json.Marshal(in)
	if err != nil {
		return nil, fmt.Errorf("bridge: encode move instruction: %w", err)
	}
	return b, nil
}

func or(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

// sendAndWait delivers the instruction and waits for the arrival until
// until. It returns how the instruction went, and nil once the participant
// has arrived. An arrival while the delivery is still under way ends it: a
// client may move before its RPC answer reaches LiveKit, and LiveKit then
// takes seconds to fail the call (docs/livekit-notes.md §2).
func (m *Mover) sendAndWait(ctx context.Context, a *arrival, o MoveOrder, payload []byte, useRPC bool, until time.Time) (string, error) {
	dctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	var via string
	var derr error
	go func() {
		defer close(done)
		via, derr = m.deliver(dctx, o, payload, useRPC)
	}()
	defer func() { cancel(); <-done }()
	timer := time.NewTimer(time.Until(until))
	defer timer.Stop()
	select {
	case <-timer.C:
		// Still delivering (an RPC whose answer is slow in coming): stop
		// waiting for it so that the caller sends the instruction again.
		return "", ErrMoveTimeout
	case <-a.done:
		cancel()
		<-done
		switch {
		case derr == nil && via != "":
			return via, nil
		case useRPC:
			return ViaRPC, nil // the client moved before its RPC answer came
		default:
			return ViaData, nil
		}
	case <-done:
		if derr != nil {
			return "", derr
		}
	case <-m.stopCh:
		return "", ErrMoverStopped
	case <-ctx.Done():
		return "", fmt.Errorf("bridge: move %s: %w", o.Identity, ctx.Err())
	}
	_, err := m.wait(ctx, a, until)
	return via, err
}

// deliver sends the instruction by RPC when useRPC, else (or when the RPC
// fails in any way) as a data packet, and returns how it went.
func (m *Mover) deliver(ctx context.Context, o MoveOrder, payload []byte, useRPC bool) (string, error) {
	if useRPC {
		rctx, cancel := context.WithTimeout(ctx, m.cfg.rpcTimeout)
		_, err := m.rpc.PerformRpc(rctx, &livekit.PerformRpcRequest{
			Room: o.FromRoom, DestinationIdentity: o.Identity, Method: protocol.MoveMethod,
			Payload: string(payload), ResponseTimeoutMs: 5000,
		})
		cancel()
		if err == nil {
			return ViaRPC, nil
		}
		if ctx.Err() != nil {
			return "", fmt.Errorf("bridge: move %s: %w", o.Identity, ctx.Err())
		}
		m.log.Info("move RPC failed; sending the instruction as data", "identity", o.Identity, "move", o.MoveID, "err", err)
	}
	topic := protocol.MoveTopic
	ctx, cancel := callContext(ctx)
	defer cancel()
	_, err := m.rooms.SendData(ctx, &livekit.SendDataRequest{
		Room: o.FromRoom, Data: payload, Kind: livekit.DataPacket_RELIABLE,
		DestinationIdentities: []string{o.Identity}, Topic: &topic,
	})
	if err != nil {
		return "", fromLiveKit("send move instruction to "+o.Identity, err)
	}
	return ViaData, nil
}

func (m *Mover) logResult(o MoveOrder, r MoveResult) {
	attrs := []any{"move", o.MoveID, "identity", o.Identity, "from", o.FromRoom, "to", o.ToRoom,
		"outcome", r.Outcome.String(), "via", r.Via, "deliveries", r.Deliveries, "streams", r.Streams, "elapsed", r.Elapsed}
	if r.Err != nil {
		m.log.Warn("move failed", append(attrs, "err", r.Err)...)
		return
	}
	m.log.Info("move done", attrs...)
}

// ---- arrivals ----

// arrival is one Move waiting for identity to appear in room with a
// connection other than exclude.
type arrival struct {
	room, identity, exclude string
	done                    chan struct{}
	sid                     string // set before done is closed
}

// offer reports a connection of the identity in the room; it completes the
// arrival unless it is the excluded one. Called with Mover.mu held.
func (a *arrival) offer(sid string) {
	if sid == a.exclude || a.sid != "" {
		return
	}
	a.sid = sid
	close(a.done)
}

// await registers an arrival and makes sure its room is polled.
func (m *Mover) await(room, identity, exclude string) *arrival {
	a := &arrival{room: room, identity: identity, exclude: exclude, done: make(chan struct{})}
	m.mu.Lock()
	defer m.mu.Unlock()
	byID := m.arrivals[room]
	if byID == nil {
		byID = map[string][]*arrival{}
		m.arrivals[room] = byID
	}
	byID[identity] = append(byID[identity], a)
	if !m.pollers[room] && m.state != runStopped {
		m.pollers[room] = true
		m.wg.Add(1)
		go m.poll(room)
	}
	return a
}

func (m *Mover) unawait(a *arrival) {
	m.mu.Lock()
	defer m.mu.Unlock()
	byID := m.arrivals[a.room]
	list := byID[a.identity]
	for i, x := range list {
		if x == a {
			list = append(list[:i], list[i+1:]...)
			break
		}
	}
	if len(list) == 0 {
		delete(byID, a.identity)
	} else {
		byID[a.identity] = list
	}
	if len(byID) == 0 {
		delete(m.arrivals, a.room)
	}
}

// wait waits for a until deadline; it returns the arrived connection's SID,
// or ErrMoveTimeout, ErrMoverStopped or ctx's error.
func (m *Mover) wait(ctx context.Context, a *arrival, deadline time.Time) (string, error) {
	t := time.NewTimer(time.Until(deadline))
	defer t.Stop()
	select {
	case <-a.done:
		return a.sid, nil
	case <-t.C:
		return "", ErrMoveTimeout
	case <-m.stopCh:
		return "", ErrMoverStopped
	case <-ctx.Done():
		return "", fmt.Errorf("bridge: move %s: %w", a.identity, ctx.Err())
	}
}

// poll lists room every poll interval while moves wait for arrivals in it:
// one poller per room, shared by all of them.
func (m *Mover) poll(room string) {
	defer m.wg.Done()
	t := time.NewTicker(m.cfg.pollInterval)
	defer t.Stop()
	for {
		select {
		case <-m.bg.Done():
			return
		case <-t.C:
		}
		m.mu.Lock()
		if len(m.arrivals[room]) == 0 {
			delete(m.pollers, room)
			m.mu.Unlock()
			return
		}
		m.mu.Unlock()

		ctx, cancel := callContext(m.bg)
		res, err := m.rooms.ListParticipants(ctx, &livekit.ListParticipantsRequest{Room: room})
		cancel()
		if err != nil {
			m.log.Debug("poll for arrivals failed", "room", room, "err", err)
			continue
		}
		m.mu.Lock()
		for _, p := range res.Participants {
			if p.State == livekit.ParticipantInfo_DISCONNECTED || Prepared(p) {
				continue
			}
			for _, a := range m.arrivals[room][p.Identity] {
				a.offer(p.Sid)
			}
		}
		m.mu.Unlock()
	}
}

// ---- sweeps ----

type roomIdentity struct{ room, identity string }

// sweep removes one connection (sid) of identity from room after the grace,
// unless it leaves by itself first.
type sweep struct {
	room, identity, sid string
	after               time.Duration
	gone                chan struct{}
	once                sync.Once
}

func (s *sweep) cancel() { s.once.Do(func() { close(s.gone) }) }

// scheduleSweep removes sid, identity's connection in room, if it is still
// there after the sweep grace plus keep (how long its client keeps it).
func (m *Mover) scheduleSweep(room, identity, sid string, keep time.Duration) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.state == runStopped {
		return
	}
	s := &sweep{room: room, identity: identity, sid: sid, after: m.cfg.grace + keep, gone: make(chan struct{})}
	k := roomIdentity{room, identity}
	m.sweeps[k] = append(m.sweeps[k], s)
	m.wg.Add(1)
	go m.runSweep(s)
}

func (m *Mover) runSweep(s *sweep) {
	defer m.wg.Done()
	defer m.dropSweep(s)
	t := time.NewTimer(s.after)
	defer t.Stop()
	select {
	case <-m.bg.Done():
		return
	case <-s.gone:
		return
	case <-t.C:
	}
	ctx, cancel := callContext(m.bg)
	defer cancel()
	p, err := m.participant(ctx, s.room, s.identity)
	switch {
	case err != nil:
		m.log.Warn("sweep: cannot check the source room", "room", s.room, "identity", s.identity, "err", err)
		return
	case p == nil || p.Sid != s.sid:
		return // left, or a newer connection that is not ours to remove
	}
	_, err = m.rooms.RemoveParticipant(ctx, &livekit.RoomParticipantIdentity{Room: s.room, Identity: s.identity})
	switch {
	case err == nil:
		m.log.Info("removed a moved participant's leftover connection (lost leave)", "room", s.room, "identity", s.identity, "sid", s.sid)
	case !IsNotFound(err):
		m.log.Warn("sweep: remove failed", "room", s.room, "identity", s.identity, "err", err)
	}
}

func (m *Mover) dropSweep(s *sweep) {
	m.mu.Lock()
	defer m.mu.Unlock()
	k := roomIdentity{s.room, s.identity}
	list := m.sweeps[k]
	for i, x := range list {
		if x == s {
			list = append(list[:i], list[i+1:]...)
			break
		}
	}
	if len(list) == 0 {
		delete(m.sweeps, k)
	} else {
		m.sweeps[k] = list
	}
}

// ---- one move per identity at a time ----

type idLock struct {
	ch    chan struct{} // holds a token while the identity is locked
	users int           // holders and waiters
}

func (m *Mover) lockIdentity(ctx context.Context, identity string) (func(), error) {
	m.mu.Lock()
	l := m.idLocks[identity]
	if l == nil {
		l = &idLock{ch: make(chan struct{}, 1)}
		m.idLocks[identity] = l
	}
	l.users++
	m.mu.Unlock()
	release := func() {
		m.mu.Lock()
		if l.users--; l.users == 0 {
			delete(m.idLocks, identity)
		}
		m.mu.Unlock()
	}
	select {
	case l.ch <- struct{}{}:
		return func() { <-l.ch; release() }, nil
	case <-m.stopCh:
		release()
		return nil, ErrMoverStopped
	case <-ctx.Done():
		release()
		return nil, ctx.Err()
	}
}
