package breakouts

import (
	"context"
	"log/slog"
	"sync"
	"time"

	"rtk-sidecar/eventstream"
	"rtk-sidecar/protocol"
)

// notifier tells the rooms of a family what happens, over LiveKit data, and
// the family's event streams when it has streams. It coalesces: per family
// it keeps the latest state and the move events since the last flush, and
// sends at most one packet of each type to each room and stream per
// interval. Send never blocks; run owns the sending.
type notifier struct {
	rooms   Rooms
	streams Streams // nil: LiveKit only
	log     *slog.Logger
	every   time.Duration

	mu      sync.Mutex
	pending map[string]*batch   // by parent meeting id
	known   map[string][]string // each family's rooms as of its latest change, by parent meeting id
	kick    chan struct{}
}

// batch is what a family's rooms are due to hear.
type batch struct {
	rooms    []string // the family's rooms, as of its latest state
	state    *State
	closing  *protocol.Closing
	moves    []protocol.MoveBegun
	arrivals []protocol.Arrival
	failures []protocol.Failure
	removals []protocol.Removal
}

func newNotifier(rooms Rooms, log *slog.Logger, every time.Duration) *notifier {
	return &notifier{rooms: rooms, log: log, every: every, pending: map[string]*batch{}, known: map[string][]string{},
		kick: make(chan struct{}, 1)}
}

// add queues events for a family; rooms, when not nil, replaces the rooms
// the family's events go to. A batch started without rooms (move events
// that come after the change's own batch went out) goes to the rooms the
// family had at its latest change.
func (n *notifier) add(parentID string, rooms []string, f func(b *batch)) {
	n.mu.Lock()
	if rooms != nil {
		n.known[parentID] = rooms
	}
	b := n.pending[parentID]
	if b == nil {
		b = &batch{}
		n.pending[parentID] = b
	}
	b.rooms = n.known[parentID]
	f(b)
	n.mu.Unlock()
	select {
	case n.kick <- struct{}{}:
	default:
	}
}

// run flushes queued events until ctx ends.
func (n *notifier) run(ctx context.Context) {
	for {
		select {
		case <-ctx.Done():
			return
		case <-n.kick:
		}
		n.flush(ctx)
		// Coalesce what arrives during the next interval.
		select {
		case <-ctx.Done():
			return
		case <-time.After(n.every):
		}
	}
}

func (n *notifier) flush(ctx context.Context) {
	n.mu.Lock()
	pending := n.pending
	n.pending = map[string]*batch{}
	n.mu.Unlock()
	var wg sync.WaitGroup
	for parent, b := range pending {
		streamed, packets := b.packets()
		if n.streams != nil {
			// First: it does not block, and it does not wait for the SFU.
			for _, p := range streamed {
				n.streams.Broadcast(parent, eventstream.Message{Event: protocol.EventsTopic, Data: p})
			}
		}
		for _, room := range b.rooms {
			wg.Go(func() {
				for _, p := range packets {
					if err := n.rooms.SendData(ctx, room, protocol.EventsTopic, p); err != nil && ctx.Err() == nil {
						n.log.Warn("breakouts: event not delivered", "meeting", parent, "room", room, "err", err)
					}
				}
			})
		}
	}
	wg.Wait()
}

// packets encodes a batch once, state first: for the event streams, with
// the state whole up to maxStateStream bytes, and for LiveKit, up to
// maxStatePacket. Both share every packet but the state.
func (b *batch) packets() (streamed, livekit [][]byte) {
	var rest [][]byte
	if len(b.moves) > 0 {
		rest = append(rest, encodeEvent(protocol.EventChangingMeeting, protocol.ChangingMeetingData{Moves: b.moves}))
	}
	if len(b.arrivals) > 0 {
		rest = append(rest, encodeEvent(protocol.EventMeetingChanged, protocol.MeetingChangedData{Arrivals: b.arrivals}))
	}
	if len(b.failures) > 0 {
		rest = append(rest, encodeEvent(protocol.EventMoveFailed, protocol.MoveFailedData{Failures: b.failures}))
	}
	if len(b.removals) > 0 {
		rest = append(rest, encodeEvent(protocol.EventConnectionRemoved, protocol.ConnectionRemovedData{Removals: b.removals}))
	}
	if b.closing != nil {
		rest = append(rest, encodeEvent(protocol.EventClosing, *b.closing))
	}
	if b.state == nil {
		return rest, rest
	}
	whole := encodeEvent(protocol.EventStateUpdate, b.state.Client())
	streamed = append([][]byte{fitState(whole, b.state.Version, maxStateStream)}, rest...)
	livekit = append([][]byte{fitState(whole, b.state.Version, maxStatePacket)}, rest...)
	return streamed, livekit
}
