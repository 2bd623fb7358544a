package bridge

import (
	"context"
	"fmt"
	"time"

	"github.com/livekit/protocol/livekit"
)

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
