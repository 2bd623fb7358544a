// Package breakouts owns connected meetings (RealtimeKit's breakout rooms):
// a parent meeting with child meetings, the placement of every participant
// of the parent in exactly one room of that family, and the rules for
// changing it: creating, renaming and deleting rooms, assigning people
// (shuffled evenly or by hand), starting, closing (with a grace countdown)
// and moving people, each allowed by the caller's preset.
//
// The store is the source of truth for where each participant belongs.
// Every change is one transaction that takes the family version its caller
// read and increments it, so a stale change is refused (ErrStale, 409) and
// no edit is lost when several hosts work at once. After a change commits,
// the package tells every room of the family (stateUpdate and move events
// over LiveKit data) and hands the media moves to a Mover; a participant
// who is offline lands in its room when it next joins, because the join
// endpoint reads the placement. Before a start, assigned participants may
// hold hidden prepared connections to their rooms (Prepare), which the
// Mover reveals at the move.
//
// The package speaks to LiveKit only through the Rooms and Mover
// interfaces and knows nothing of HTTP.
package breakouts

import (
	"context"
	"log/slog"
	"sync"
	"time"

	"github.com/livekit/protocol/auth"
	"github.com/livekit/psrpc"

	"rtk-sidecar/bridge"
	"rtk-sidecar/eventstream"
	"rtk-sidecar/ratelimit"
	"rtk-sidecar/store"
)

// ErrStale is returned, wrapped, when a change carries a version older than
// the family's: nothing changed, the caller must refetch. It maps to 409.
var ErrStale = psrpc.NewErrorf(psrpc.Aborted, "the connected meetings changed since you read them")

// ErrForbidden is returned, wrapped with the missing permission, when the
// caller's preset does not allow a change. It maps to 403.
var ErrForbidden = psrpc.NewErrorf(psrpc.PermissionDenied, "your preset does not allow this")

// Limits.
const (
	// MaxRooms bounds the breakout rooms of one meeting (Zoom allows 50,
	// Meet and Webex 100).
	MaxRooms = 100
	// MaxGrace bounds the countdown of a close-all.
	MaxGrace = 10 * time.Minute
	// MaxDuration bounds the timer of started rooms.
	MaxDuration = 24 * time.Hour
	// DefaultWarning is the countdown before a timer closes the rooms,
	// unless the start says otherwise.
	DefaultWarning = time.Minute
)

// Rooms is the part of the LiveKit bridge the package uses.
// *bridge.Bridge implements it.
type Rooms interface {
	// EnsureRoom creates a LiveKit room unless it exists.
	EnsureRoom(ctx context.Context, room string, meta bridge.RoomMetadata) error
	// DeleteRoom closes a LiveKit room; an absent room is not an error.
	DeleteRoom(ctx context.Context, room string) error
	// SendData sends a reliable packet on a topic to a room.
	SendData(ctx context.Context, room, topic string, payload []byte, identities ...string) error
	// Admit makes sure a room exists and mints a LiveKit ticket for it.
	Admit(ctx context.Context, a bridge.Admission) (bridge.Ticket, error)
}

var _ Rooms = (*bridge.Bridge)(nil)

// Mover carries out moves on LiveKit: it tells a connected participant
// where to go and waits until it arrives, fails or turns out to be offline.
// It must be safe for concurrent use; the service calls it from many
// goroutines. *bridge.Mover implements it.
type Mover interface {
	// Move carries out one move (bridge.Mover.Move).
	Move(ctx context.Context, o bridge.MoveOrder) bridge.MoveResult
	// DropPrepared disconnects the participant's prepared connection to
	// room (Prepare), if it has one there, and nothing else.
	DropPrepared(ctx context.Context, room, participantID string) error
	// PreparedIn returns the participants that hold a prepared connection
	// to room that no move has revealed yet.
	PreparedIn(ctx context.Context, room string) ([]string, error)
	// Evict removes the participant's connection to room, one it may not
	// hold there, unless it is a prepared connection (DropPrepared's), and
	// reports whether it removed one. A move of the participant under way
	// ends first.
	Evict(ctx context.Context, room, participantID string) (bool, error)
	// Regrant gives the participant's connection to room, where it is
	// already, grant and metadata: a preset given with its move there has
	// ended. It does nothing when the participant is not connected there
	// (its next join applies them).
	Regrant(ctx context.Context, room, participantID string, grant *auth.VideoGrant, metadata string) error
	// ConnectedIn returns the participants connected to room other than
	// by a prepared connection, as LiveKit lists them now.
	ConnectedIn(ctx context.Context, room string) ([]string, error)
}

var _ Mover = (*bridge.Mover)(nil)

// Service implements connected meetings. It is safe for concurrent use.
// Changes made before Run starts are carried out (moves, events) once it runs.
type Service struct {
	st    store.Store
	rooms Rooms
	mover Mover
	log   *slog.Logger
	now   func() time.Time

	events *notifier
	moves  *dispatcher
	limits Limiter      // broadcast messages per participant
	help   Limiter      // help requests per participant
	late   lateArrivals // failed moves whose participant may still arrive
	leader Leader       // who runs the countdowns
	// elsewhere is how long after a participant's placement changed a move
	// of it may still run on another replica (WithReplicas); 0: one replica.
	elsewhere time.Duration
	// takeover is how long after a participant's placement changed a
	// connection to another room is taken over (WithTakeover); 0: never.
	takeover time.Duration
	// owners records which replica runs each move, so that the move of a
	// replica that died is taken over at once (WithMoveOwners); nil: only
	// at the end of its window.
	owners MoveOwners

	// tick is how often Run looks for families whose close countdown ended.
	tick time.Duration
	// retireGrace is how long after the last move out of a retired room
	// the room is closed in LiveKit: the clients' make-before-break overlap
	// (at most 750 ms) and the mover's sweep of leftovers (1 s) end first.
	retireGrace time.Duration
}

// Streams delivers a family's events over the event streams of its
// participants (eventstream.Hub; docs/protocol.md §4), grouped by the
// family's parent meeting id. Broadcast must not block.
type Streams interface {
	Broadcast(group string, m eventstream.Message) int
	// Send delivers m to one participant's streams.
	Send(identity string, m eventstream.Message) int
}

// Leader runs work that one replica at a time must do, while this replica
// is the one (cluster.Leases), or at once when there is a single replica
// (cluster.Local). Lead blocks until ctx ends; it cancels f's context when
// the replica stops being the one, and runs f again when it is again.
type Leader interface {
	Lead(ctx context.Context, name string, f func(context.Context) error) error
}

// CountdownsLease names the lease under which a replica runs the
// countdowns: the timers' warnings and the closes whose grace ended.
const CountdownsLease = "breakouts-countdowns"

// WithLeader runs the countdowns only while l says this replica leads
// (CountdownsLease). Without it, Run always runs them. Every replica runs
// its own moves and events.
func WithLeader(l Leader) Option { return func(svc *Service) { svc.leader = l } }

// WithReplicas says that other replicas share the store and run moves of
// their own: a move of a participant runs on the replica that changed its
// placement, and the others only see the placement. A participant whose
// placement changed less than window ago (the move timeout and a margin)
// counts as moving, wherever the move runs: its prepared connection to the
// room it is placed in stays until that move reveals it.
func WithReplicas(window time.Duration) Option { return func(svc *Service) { svc.elsewhere = window } }

// MoveOwners records which replica runs each participant's move, and hands
// the moves of a replica that died to the one asking (cluster.Owners).
type MoveOwners interface {
	// Own records that this replica runs items, for at most ttl.
	Own(ctx context.Context, items []string, ttl time.Duration) error
	// Release records that it no longer does.
	Release(ctx context.Context, item string) error
	// TakeOrphans takes over, for at most ttl, the items whose owner is
	// gone and returns them; of replicas asking at once, one gets each.
	TakeOrphans(ctx context.Context, items []string, ttl time.Duration) ([]string, error)
}

// WithMoveOwners records each move this replica runs in o, from before
// the change that makes it commits, and has the takeover (WithTakeover)
// act on a move whose replica is gone as soon as o says so, rather than at
// the end of the move's window, whether or not the move had begun.
func WithMoveOwners(o MoveOwners) Option { return func(svc *Service) { svc.owners = o } }

// Limiter allows or refuses one more event of a key (a participant):
// *ratelimit.PerKey in one process, *ratelimit.Shared across replicas.
type Limiter interface {
	Allow(key string) bool
}

// WithLimits makes the limits of broadcasts and help requests per
// participant with newLimiter: ones shared by the replicas. Without it they
// are kept in this process.
func WithLimits(newLimiter func(name string, perSecond float64, burst int) Limiter) Option {
	return func(svc *Service) {
		svc.limits = newLimiter("broadcast", broadcastRate, broadcastRate)
		svc.help = newLimiter("help", 1/helpInterval.Seconds(), 1)
	}
}

// Option configures a Service.
type Option func(*Service)

// WithStreams sends the family's events on its participants' event streams
// too, before LiveKit: under load, the SFU can hold a client's data channel
// for seconds. The client drops the copy it gets second.
func WithStreams(s Streams) Option { return func(svc *Service) { svc.events.streams = s } }

// New returns a Service. It starts nothing.
func New(st store.Store, rooms Rooms, mover Mover, log *slog.Logger, opts ...Option) *Service {
	s := &Service{st: st, rooms: rooms, mover: mover, log: log, now: time.Now, tick: 200 * time.Millisecond,
		retireGrace: 1500 * time.Millisecond, limits: ratelimit.New(broadcastRate, broadcastRate),
		help: ratelimit.New(1/helpInterval.Seconds(), 1)}
	s.events = newNotifier(rooms, log, 50*time.Millisecond)
	s.moves = newDispatcher(s)
	for _, o := range opts {
		o(s)
	}
	return s
}

// Run carries out moves, sends events, closes rooms whose countdown ended
// and takes over overdue moves (WithTakeover), the last two while it leads
// (WithLeader), until ctx ends; then it waits for the
// moves in flight to stop.
func (s *Service) Run(ctx context.Context) error {
	var wg sync.WaitGroup
	wg.Go(func() { s.events.run(ctx) })
	wg.Go(func() { s.moves.run(ctx) })
	defer wg.Wait()
	if s.takeover > 0 {
		wg.Go(func() {
			if err := s.lead(ctx, MovesLease, s.takeOver); err != nil {
				s.log.Error("breakouts: take over moves", "err", err)
			}
		})
	}
	return s.lead(ctx, CountdownsLease, s.countdowns)
}

// lead runs f under the lease name (WithLeader), or at once without a
// leader.
func (s *Service) lead(ctx context.Context, name string, f func(context.Context) error) error {
	if s.leader == nil {
		return f(ctx)
	}
	return s.leader.Lead(ctx, name, f)
}

// countdowns begins the timers' countdowns and closes the families whose
// countdown ended, every tick until ctx ends. Both read the due families
// from the store and change them at the version read, so a countdown
// acted on by two replicas at once is acted on once.
func (s *Service) countdowns(ctx context.Context) error {
	t := time.NewTicker(s.tick)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
			s.warnDue(ctx)
			s.closeDue(ctx)
		}
	}
}
