// Package breakoutstest provides an in-memory Mover for tests of code that
// moves participants: it keeps which room each connected participant is in
// and which prepared connections it holds, moves connected ones at once
// (revealing a prepared connection in the destination), reports the others
// offline, and records every move it was asked for.
package breakoutstest

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/livekit/protocol/auth"

	"rtk-sidecar/breakouts"
	"rtk-sidecar/bridge"
)

// Mover is an in-memory breakouts.Mover. It is safe for concurrent use.
type Mover struct {
	mu       sync.Mutex
	at       map[string]string // connected participant -> room
	failing  map[string]bool
	begun    int
	moves    []bridge.MoveOrder
	dropped  []string
	evicted  []string
	regrants []Regrant
	prepared map[string]string   // participant -> room of its prepared connection
	leftover map[string][]string // participant -> rooms of connections a lost leave left
	// Delay, when set, is how long each move takes.
	Delay time.Duration
}

var _ breakouts.Mover = (*Mover)(nil)

// NewMover returns a Mover with nobody connected.
func NewMover() *Mover {
	return &Mover{at: map[string]string{}, failing: map[string]bool{}, prepared: map[string]string{}, leftover: map[string][]string{}}
}

// Leave says that a participant keeps a connection to room besides the one
// Connect or a move gave it: a leave that was lost. Only Evict removes it.
func (m *Mover) Leave(participantID, room string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.leftover[participantID] = append(m.leftover[participantID], room)
}

// Connect says that a participant is connected to a room.
func (m *Mover) Connect(participantID, room string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.at[participantID] = room
}

// Fail makes every move of a participant fail as one whose participant
// never arrives (bridge.ErrMoveTimeout).
func (m *Mover) Fail(participantID string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.failing[participantID] = true
}

// Where returns the room a connected participant is in, or "".
func (m *Mover) Where(participantID string) string {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.at[participantID]
}

// Begun returns how many moves have begun (a move ends Delay later).
func (m *Mover) Begun() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.begun
}

// Moves returns the moves carried out so far, in the order they ended.
func (m *Mover) Moves() []bridge.MoveOrder {
	m.mu.Lock()
	defer m.mu.Unlock()
	return append([]bridge.MoveOrder(nil), m.moves...)
}

// Prepare says that a participant holds a prepared connection to a room
// (one at most: a newer one replaces it).
func (m *Mover) Prepare(participantID, room string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.prepared[participantID] = room
}

// PreparedIn returns the participants holding a prepared connection to
// room, sorted.
func (m *Mover) PreparedIn(_ context.Context, room string) ([]string, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	var ids []string
	for id, r := range m.prepared {
		if r == room {
			ids = append(ids, id)
		}
	}
	slices.Sort(ids)
	return ids, nil
}

// ConnectedIn returns the participants connected to room, sorted.
func (m *Mover) ConnectedIn(_ context.Context, room string) ([]string, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	var ids []string
	for id, r := range m.at {
		if r == room || slices.Contains(m.leftover[id], room) {
			ids = append(ids, id)
		}
	}
	slices.Sort(ids)
	return ids, nil
}

// DropPrepared drops the participant's prepared connection to room, if it
// holds one there (Prepare).
func (m *Mover) DropPrepared(_ context.Context, room, participantID string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.prepared[participantID] == room {
		delete(m.prepared, participantID)
		m.dropped = append(m.dropped, room+"/"+participantID)
	}
	return nil
}

// Dropped returns the prepared connections dropped so far (not those a move
// revealed), as "room/participant", in order.
func (m *Mover) Dropped() []string {
	m.mu.Lock()
	defer m.mu.Unlock()
	return append([]string(nil), m.dropped...)
}

// Evict disconnects a participant connected to room, a connection Leave
// left there first.
func (m *Mover) Evict(_ context.Context, room, participantID string) (bool, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if i := slices.Index(m.leftover[participantID], room); i >= 0 {
		m.leftover[participantID] = slices.Delete(m.leftover[participantID], i, i+1)
		m.evicted = append(m.evicted, room+"/"+participantID)
		return true, nil
	}
	if m.at[participantID] != room {
		return false, nil
	}
	delete(m.at, participantID)
	m.evicted = append(m.evicted, room+"/"+participantID)
	return true, nil
}

// Evicted returns the connections evicted so far, as "room/participant",
// in order.
func (m *Mover) Evicted() []string {
	m.mu.Lock()
	defer m.mu.Unlock()
	return append([]string(nil), m.evicted...)
}

// Regrant is a change of permissions of a participant connected to Room
// (Mover.Regrant).
type Regrant struct {
	Room, ParticipantID string
	Grant               *auth.VideoGrant
	Metadata            string
}

// Regrant records the change of permissions of a participant connected to
// room.
func (m *Mover) Regrant(_ context.Context, room, participantID string, grant *auth.VideoGrant, metadata string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.at[participantID] == room {
		m.regrants = append(m.regrants, Regrant{Room: room, ParticipantID: participantID, Grant: grant, Metadata: metadata})
	}
	return nil
}

// Regrants returns the changes of permissions made so far, in order.
func (m *Mover) Regrants() []Regrant {
	m.mu.Lock()
	defer m.mu.Unlock()
	return append([]Regrant(nil), m.regrants...)
}

// Move moves a connected participant that is in o.FromRoom (MoveArrived); a
// participant that is not connected is MoveOffline. It waits for o.Ready
// first; its error fails the move.
func (m *Mover) Move(ctx context.Context, o bridge.MoveOrder) bridge.MoveResult {
	res := bridge.MoveResult{MoveID: o.MoveID, Identity: o.Identity}
	fail := func(err error) bridge.MoveResult {
		res.Outcome, res.Err = bridge.MoveFailed, err
		return res
	}
	m.mu.Lock()
	m.begun++
	m.mu.Unlock()
	if o.Ready != nil {
		select {
		case err := <-o.Ready:
			if err != nil {
				return fail(err)
			}
		case <-ctx.Done():
			return fail(ctx.Err())
		}
	}
	if m.Delay > 0 {
		select {
		case <-time.After(m.Delay):
		case <-ctx.Done():
			return fail(ctx.Err())
		}
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	m.moves = append(m.moves, o)
	if m.failing[o.Identity] {
		return fail(fmt.Errorf("breakoutstest: %w", bridge.ErrMoveTimeout))
	}
	room, ok := m.at[o.Identity]
	if !ok {
		res.Outcome = bridge.MoveOffline
		return res
	}
	if room != o.FromRoom && room != o.ToRoom {
		return fail(errors.New("breakoutstest: the participant is in " + room + ", not in " + o.FromRoom))
	}
	m.at[o.Identity] = o.ToRoom
	if m.prepared[o.Identity] == o.ToRoom {
		delete(m.prepared, o.Identity) // revealed
	}
	res.Outcome = bridge.MoveArrived
	return res
}
