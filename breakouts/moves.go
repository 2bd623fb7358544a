package breakouts

import (
	"context"
	"errors"
	"slices"
	"sync"
	"time"

	"rtk-sidecar/bridge"
	"rtk-sidecar/protocol"
	"rtk-sidecar/store"
)

// job is one move to carry out.
type job struct {
	move   bridge.MoveOrder
	appID  string
	parent string
	dest   *destination // the room the move goes to; nil for a regrant
	done   func()       // called once, whether the move ran or was superseded
}

// slot serialises the moves of one participant: while one runs, the next
// waits, and a newer one replaces a waiting one (only the latest placement
// matters). at is where the participant was last sent.
type slot struct {
	next    *job
	running bool
	at      string
}

// dispatcher runs moves, one at a time per participant and in parallel
// across participants. Jobs queued before run starts wait for it.
type dispatcher struct {
	s *Service

	mu      sync.Mutex
	ctx     context.Context // set by run; nil before
	stopped bool            // run's ctx ended: no new work may join wg
	slots   map[string]*slot
	early   []func(ctx context.Context) // goOwned before run: started by run
	wg      sync.WaitGroup
}

func newDispatcher(s *Service) *dispatcher {
	return &dispatcher{s: s, slots: map[string]*slot{}}
}

func (d *dispatcher) enqueue(j *job) {
	d.mu.Lock()
	defer d.mu.Unlock()
	id := j.move.Identity
	d.s.late.drop(id) // a newer placement: an earlier failure no longer stands
	sl := d.slots[id]
	if sl == nil {
		sl = &slot{at: j.move.FromRoom}
		d.slots[id] = sl
	}
	if sl.next != nil {
		sl.next.done() // superseded before it ran
	}
	sl.next = j
	if !sl.running && d.ctx != nil && !d.stopped {
		sl.running = true
		d.wg.Go(func() { d.work(d.ctx, id, sl) })
	}
}

// waiting reports whether a move of the participant waits for the one
// running.
func (d *dispatcher) waiting(id string) bool {
	d.mu.Lock()
	defer d.mu.Unlock()
	sl := d.slots[id]
	return sl != nil && sl.next != nil
}

// busy reports whether a move of the participant is waiting or running.
func (d *dispatcher) busy(id string) bool {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.slots[id] != nil
}

// failed remembers a failed move of a participant for a late arrival,
// unless a newer move of the participant is waiting already (enqueue drops
// the memory under the same lock).
func (d *dispatcher) failed(id string, f failedMove) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if sl := d.slots[id]; sl != nil && sl.next != nil {
		return
	}
	d.s.late.put(id, f)
}

// run starts the waiting work and keeps running until ctx ends, then waits
// for the moves in flight (they see ctx end).
func (d *dispatcher) run(ctx context.Context) {
	d.mu.Lock()
	d.ctx = ctx
	for id, sl := range d.slots {
		if sl.next != nil && !sl.running {
			sl.running = true
			d.wg.Go(func() { d.work(ctx, id, sl) })
		}
	}
	for _, f := range d.early {
		d.wg.Go(func() { f(ctx) })
	}
	d.early = nil
	d.mu.Unlock()
	<-ctx.Done()
	// From here on nothing joins wg (a Go concurrent with Wait is a race):
	// a change committed while the Service stops starts no more work.
	d.mu.Lock()
	d.stopped = true
	d.mu.Unlock()
	d.wg.Wait()
}

// goOwned runs f as work owned by the dispatcher (waited for when run
// ends); before run starts, f waits for it.
func (d *dispatcher) goOwned(f func(ctx context.Context)) {
	d.mu.Lock()
	defer d.mu.Unlock()
	switch {
	case d.stopped:
		return // stopped: nothing may outlive run
	case d.ctx == nil:
		d.early = append(d.early, f)
		return
	}
	ctx := d.ctx
	d.wg.Go(func() { f(ctx) })
}

func (d *dispatcher) work(ctx context.Context, id string, sl *slot) {
	for {
		d.mu.Lock()
		j := sl.next
		sl.next = nil
		if j == nil || ctx.Err() != nil {
			sl.running = false
			if sl.next == nil {
				delete(d.slots, id)
			}
			d.mu.Unlock()
			if j != nil {
				j.done()
			}
			return
		}
		m := j.move
		m.FromRoom = sl.at
		d.mu.Unlock()

		switch {
		case m.FromRoom != m.ToRoom:
			d.s.ownMove(ctx, id)
			d.s.runMove(ctx, j, m, func(at string) {
				d.mu.Lock()
				sl.at = at
				d.mu.Unlock()
			})
			d.s.releaseMove(ctx, id)
		case m.Grant != nil:
			// Where it was sent already, with other rights there now.
			if err := d.s.mover.Regrant(ctx, m.ToRoom, m.Identity, m.Grant, m.Metadata); err != nil && ctx.Err() == nil {
				d.s.log.Warn("breakouts: change a participant's permissions", "participant", m.Identity, "room", m.ToRoom, "err", err)
			}
		}
		j.done()
	}
}

// moveItem names a participant's move in MoveOwners.
func moveItem(id string) string { return "move:" + id }

// ownTimeout bounds the wait for MoveOwners before a change commits: a
// Redis that does not answer delays no change, and its moves are recorded
// when they begin (ownMove).
const ownTimeout = 250 * time.Millisecond

// ownMoves records that this replica runs moves, for as long as a move may
// run (WithMoveOwners). change calls it before its commit: a replica that
// dies once the change has committed, even before its moves began, leaves
// them recorded as its own, and they are taken over as soon as its
// liveness lapses. A change that then fails to commit leaves records of
// moves that do not exist; the takeover acts only on a participant
// connected to a room it is not placed in, so they change nothing, except
// that one may replace another replica's record of a move of the same
// participant, which is then taken over at the end of its window.
func (s *Service) ownMoves(ctx context.Context, moves []bridge.MoveOrder) {
	if s.owners == nil || s.takeover <= 0 || len(moves) == 0 {
		return
	}
	items := make([]string, len(moves))
	for i, m := range moves {
		items[i] = moveItem(m.Identity)
	}
	octx, cancel := context.WithTimeout(ctx, ownTimeout)
	defer cancel()
	if err := s.owners.Own(octx, items, s.takeover); err != nil && ctx.Err() == nil {
		s.log.Warn("breakouts: record the replica of a change's moves", "moves", len(items), "err", err)
	}
}

// ownMove records that this replica runs a move of participant id, for as
// long as a move may run, as it begins: again for a move of a change
// (ownMoves), for the first time for one the takeover sends once more.
func (s *Service) ownMove(ctx context.Context, id string) {
	if s.owners == nil || s.takeover <= 0 {
		return
	}
	if err := s.owners.Own(ctx, []string{moveItem(id)}, s.takeover); err != nil && ctx.Err() == nil {
		s.log.Warn("breakouts: record the move's replica", "participant", id, "err", err)
	}
}

// releaseMove records that the move of participant id ended here. A
// replica that stops leaves its moves recorded: a survivor takes them over.
func (s *Service) releaseMove(ctx context.Context, id string) {
	if s.owners == nil || s.takeover <= 0 || ctx.Err() != nil {
		return
	}
	if err := s.owners.Release(ctx, moveItem(id)); err != nil {
		s.log.Warn("breakouts: record the end of a move", "participant", id, "err", err)
	}
}

// runMove carries out one move and tells the family how it ended.
func (s *Service) runMove(ctx context.Context, j *job, m bridge.MoveOrder, moved func(at string)) {
	start := time.Now()
	var readying sync.WaitGroup
	if j.dest != nil {
		// Made ready beside the Mover's lookups (bridge.MoveOrder.Ready).
		ready := make(chan error, 1)
		readying.Go(func() { ready <- s.ready(ctx, j) })
		m.Ready = ready
	}
	res := s.mover.Move(ctx, m)
	readying.Wait()
	if ctx.Err() != nil {
		return
	}
	arrival := protocol.Arrival{ParticipantID: m.Identity, Meeting: m.Meeting, MoveID: m.MoveID}
	switch res.Outcome {
	case bridge.MoveArrived, bridge.MoveAlreadyThere, bridge.MoveOffline:
		moved(m.ToRoom)
		if res.Outcome != bridge.MoveOffline {
			s.events.add(j.parent, nil, func(b *batch) { b.arrivals = append(b.arrivals, arrival) })
		}
		s.log.Debug("breakouts: moved", "participant", m.Identity, "from", m.FromRoom, "to", m.ToRoom,
			"outcome", res.Outcome, "elapsed", time.Since(start))
	default:
		reason := "the participant did not arrive"
		if res.Err != nil {
			reason = res.Err.Error()
		}
		s.log.Warn("breakouts: move failed", "participant", m.Identity, "from", m.FromRoom, "to", m.ToRoom, "err", res.Err)
		s.moves.failed(m.Identity, failedMove{parent: j.parent, at: s.now(), arrival: arrival})
		s.events.add(j.parent, nil, func(b *batch) {
			b.failures = append(b.failures, protocol.Failure{ParticipantID: m.Identity, ToMeetingID: m.ToRoom, MoveID: m.MoveID, Reason: reason})
		})
		if errors.Is(res.Err, bridge.ErrMoveTimeout) {
			s.evictFailed(ctx, j, m)
		}
	}
}

// committed is called after a change commits: it tells the family, starts
// the moves and drops the prepared connections the change unassigned; once
// the moves are done, it guards their destinations and closes the rooms
// the change retired.
func (s *Service) committed(ch *change, st State) {
	s.announce(ch, st)
	moved := s.startMoves(ch)
	s.dropUnassigned(ch.unassigned)
	s.guardDestinations(ch, moved)
	s.retireAfter(ch, moved)
}

// announce tells the family's rooms, and those the change retired, the new
// state, the moves begun and a countdown begun.
func (s *Service) announce(ch *change, st State) {
	f := ch.f
	rooms := []string{f.parent.ID}
	for _, r := range f.rooms {
		rooms = append(rooms, r.ID)
	}
	rooms = append(rooms, ch.retired...)
	s.events.add(f.parent.ID, rooms, func(b *batch) {
		b.state = &st
		for _, m := range ch.moves {
			b.moves = append(b.moves, protocol.MoveBegun{ParticipantID: m.Identity, FromMeetingID: m.FromRoom, ToMeetingID: m.ToRoom, MoveID: m.MoveID})
		}
		if ch.closing {
			b.closing = &protocol.Closing{ClosingAt: f.rec.ClosingAt, Seconds: int(time.Until(f.rec.ClosingAt).Round(time.Second).Seconds())}
		}
	})
}

// startMoves hands the change's moves, each with its destination, and its
// regrants to the dispatcher. The WaitGroup it returns is done once every
// move has run or been superseded.
func (s *Service) startMoves(ch *change) *sync.WaitGroup {
	f := ch.f
	var moved sync.WaitGroup
	dests := map[string]*destination{}
	for _, m := range ch.moves {
		d := dests[m.ToRoom]
		if d == nil {
			d = newDestination(f, m.ToRoom)
			dests[m.ToRoom] = d
		}
		moved.Add(1)
		done := func() {
			m.Gate.Pass(m.MoveID) // it never ran, or ended without passing
			moved.Done()
		}
		s.moves.enqueue(&job{move: m, appID: f.parent.AppID, parent: f.parent.ID, dest: d, done: sync.OnceFunc(done)})
	}
	for _, m := range ch.regrants {
		s.moves.enqueue(&job{move: m, appID: f.parent.AppID, parent: f.parent.ID, done: func() {}})
	}
	return &moved
}

// destination is a room that moves of one change go to. It is made ready
// once for all of them (Service.ready).
type destination struct {
	room string
	meta bridge.RoomMetadata
	// waiting are those assigned to the room but not placed in it by now
	// (this is no start). They may hold prepared connections there that
	// must go before anybody arrives: they would hear the arrivals.
	waiting []string

	once sync.Once
	err  error
}

func newDestination(f *family, room string) *destination {
	d := &destination{room: room, meta: roomMetadata(f.parent.AppID, f.parent.ID, room)}
	for _, p := range f.people {
		if f.placement(p.ID).AssignedID == room && f.roomOf(p.ID) != room {
			d.waiting = append(d.waiting, p.ID)
		}
	}
	return d
}

// ready makes the destination of j ready for the arrivals, once for all of
// its moves: it creates the room in LiveKit, then drops the prepared
// connections of those waiting. It returns the room's error.
func (s *Service) ready(ctx context.Context, j *job) error {
	d := j.dest
	d.once.Do(func() {
		if d.err = s.rooms.EnsureRoom(ctx, d.room, d.meta); d.err == nil && len(d.waiting) > 0 {
			s.guardPrepared(ctx, j.appID, j.parent, d.room, d.waiting)
		}
	})
	return d.err
}

// dropUnassigned drops the prepared connections of those a change assigned
// away from a breakout room (Prepare).
func (s *Service) dropUnassigned(unassigned []placedIn) {
	if len(unassigned) == 0 {
		return
	}
	s.moves.goOwned(func(ctx context.Context) {
		for _, u := range unassigned {
			if err := s.mover.DropPrepared(ctx, u.room, u.participant); err != nil && ctx.Err() == nil {
				s.log.Warn("breakouts: drop a prepared connection", "participant", u.participant, "room", u.room, "err", err)
			}
		}
	})
}

// guardDestinations drops, once the change's moves are done, the prepared
// connections in their destinations that they did not reveal (a
// participant offline at the start).
func (s *Service) guardDestinations(ch *change, moved *sync.WaitGroup) {
	f := ch.f
	var destinations []string
	for _, m := range ch.moves {
		if f.roomIndex(m.ToRoom) >= 0 && !slices.Contains(destinations, m.ToRoom) {
			destinations = append(destinations, m.ToRoom)
		}
	}
	if len(destinations) == 0 {
		return
	}
	app, parent := f.parent.AppID, f.parent.ID
	s.moves.goOwned(func(ctx context.Context) {
		moved.Wait()
		for _, room := range destinations {
			s.guardPrepared(ctx, app, parent, room, nil)
		}
	})
}

// retireAfter closes the rooms the change retired in LiveKit once the moves
// out of them are done and their clients have had the time to leave them
// (retireGrace).
func (s *Service) retireAfter(ch *change, moved *sync.WaitGroup) {
	if len(ch.retired) == 0 {
		return
	}
	app, parent, retired := ch.f.parent.AppID, ch.f.parent.ID, ch.retired
	s.moves.goOwned(func(ctx context.Context) {
		moved.Wait()
		// A move is done when the participant is present in its
		// destination, but its client still holds the source room until
		// it hears the destination (at most 750 ms, docs/protocol.md §4).
		// Closing the room now would cut that overlap: the client would
		// lose the source before it hears the destination.
		select {
		case <-ctx.Done():
			return
		case <-time.After(s.retireGrace):
		}
		s.retire(ctx, app, parent, retired)
	})
}

// roomMetadata is the LiveKit metadata of room, a meeting of the family of
// parentID: a breakout room names its parent.
func roomMetadata(appID, parentID, room string) bridge.RoomMetadata {
	meta := bridge.RoomMetadata{AppID: appID, MeetingID: room}
	if room != parentID {
		meta.ParentMeetingID = parentID
	}
	return meta
}

// retire closes LiveKit rooms that nobody is placed in any more.
func (s *Service) retire(ctx context.Context, appID, parentID string, rooms []string) {
	pls, err := s.st.ListPlacements(ctx, parentID)
	if err != nil {
		if ctx.Err() == nil {
			s.log.Error("breakouts: retire rooms", "meeting", parentID, "err", err)
		}
		return
	}
	occupied := map[string]bool{}
	for _, p := range pls {
		occupied[p.RoomID] = true
	}
	for _, room := range rooms {
		if occupied[room] {
			continue // placed again since: keep it
		}
		if err := s.rooms.DeleteRoom(ctx, room); err != nil && ctx.Err() == nil && !errors.Is(err, store.ErrNotFound) {
			s.log.Warn("breakouts: close LiveKit room", "meeting", parentID, "room", room, "err", err)
		}
	}
}
