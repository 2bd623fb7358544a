package bridge

import (
	"context"
	"maps"
	"sync"

	"github.com/livekit/protocol/livekit"
)

// lookups answers the Mover's question "how is identity connected to room"
// with as few calls to LiveKit as keep every answer fresh. Each answer comes
// from a call that started after the question was asked. At most one call
// per room is in flight: the questions about a room asked meanwhile wait
// for it to end and are then answered together, by one ListParticipants
// when there are several, by GetParticipant when there is one.
//
// A start asks about 100 participants in the parent and in 10 rooms at
// once; as GetParticipant calls, those were 200 calls to an SFU busy with
// the start, and each waited hundreds of milliseconds for its answer.
type lookups struct {
	rooms MoverRooms

	mu     sync.Mutex
	byRoom map[string]*roomLookups
}

// roomLookups are the calls about one room: the last one started (done
// when it has ended), and the batch of questions waiting for it to end.
type roomLookups struct {
	last chan struct{}
	next *lookupBatch
}

// lookupBatch is the questions one call answers. Its first asker makes the
// call for all.
type lookupBatch struct {
	identities map[string]bool
	done       chan struct{}
	found      map[string]*livekit.ParticipantInfo // valid once done
	err        error
}

func newLookups(rooms MoverRooms) *lookups {
	return &lookups{rooms: rooms, byRoom: map[string]*roomLookups{}}
}

// get returns identity's info in room as LiveKit gives it (nil when it is
// not there), or the call's error, which, from a call made for a batch, is
// the same for every question in it. ctx bounds the wait; the call, made by
// the batch's first asker, has callTimeout and outlives that asker's ctx
// when other questions wait for it.
func (l *lookups) get(ctx context.Context, room, identity string) (*livekit.ParticipantInfo, error) {
	l.mu.Lock()
	r := l.byRoom[room]
	if r == nil {
		r = &roomLookups{}
		l.byRoom[room] = r
	}
	b := r.next
	first := b == nil
	if first {
		b = &lookupBatch{identities: map[string]bool{}, done: make(chan struct{})}
		r.next = b
	}
	b.identities[identity] = true
	after := r.last
	l.mu.Unlock()

	if !first {
		select {
		case <-b.done:
			return b.found[identity], b.err
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
	// The batch's call waits for the room's call in flight, which started
	// before some of its questions were asked. Those waiting with it depend
	// on this goroutine: it waits even if its own ctx ends (at most a call's
	// timeout).
	if after != nil {
		<-after
	}
	l.mu.Lock()
	r.next, r.last = nil, b.done
	ids := maps.Clone(b.identities)
	l.mu.Unlock()

	if len(ids) == 1 && ctx.Err() != nil {
		b.err = ctx.Err() // nobody else waits for this one
	} else {
		cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), callTimeout)
		b.found, b.err = l.call(cctx, room, ids)
		cancel()
	}
	close(b.done)

	l.mu.Lock()
	if r.last == b.done && r.next == nil {
		delete(l.byRoom, room)
	}
	l.mu.Unlock()
	return b.found[identity], b.err
}

// call asks LiveKit about ids in room. A room LiveKit does not know has
// nobody in it.
func (l *lookups) call(ctx context.Context, room string, ids map[string]bool) (map[string]*livekit.ParticipantInfo, error) {
	found := map[string]*livekit.ParticipantInfo{}
	if len(ids) == 1 {
		for id := range ids {
			p, err := l.rooms.GetParticipant(ctx, &livekit.RoomParticipantIdentity{Room: room, Identity: id})
			switch {
			case IsNotFound(err):
			case err != nil:
				return nil, err
			default:
				found[id] = p
			}
		}
		return found, nil
	}
	res, err := l.rooms.ListParticipants(ctx, &livekit.ListParticipantsRequest{Room: room})
	switch {
	case IsNotFound(err):
		return found, nil
	case err != nil:
		return nil, err
	}
	for _, p := range res.Participants {
		if ids[p.Identity] {
			found[p.Identity] = p
		}
	}
	return found, nil
}
