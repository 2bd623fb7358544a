package bridge

import (
	"sync"
	"time"

	"github.com/livekit/protocol/livekit"
)

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
