package bridge

import (
	"context"
	"errors"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/livekit/protocol/livekit"
	lksdk "github.com/livekit/server-sdk-go/v2"

	"rtk-sidecar/eventstream"
)

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

func (m *Mover) stopped() bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.state == runStopped
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
