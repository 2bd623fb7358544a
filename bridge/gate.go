package bridge

import (
	"context"
	"sync"
	"time"
)

// A RevealGate holds back the instructions of a batch of moves that reveal
// prepared connections (a start) until the batch's reveals are done: a
// move that reveals its participant's connection sends its instruction
// once every move of the batch has made its reveal or gone another way
// (Pass), or once the gate's limit has passed since it was made, whichever
// comes first. A participant is present from its reveal; the gate delays
// only the instruction, which starts its media. The instructions' media
// would otherwise load the SFU while it still answers the batch's other
// reveals: measured in the start of 100 participants into 10 rooms
// (docs/livekit-notes.md §5).
//
// A RevealGate is safe for concurrent use. A nil *RevealGate holds nothing.
type RevealGate struct {
	made  time.Time
	limit time.Duration
	open  chan struct{}

	mu   sync.Mutex
	left map[string]bool // the moves that have not passed
}

// NewRevealGate returns a gate for the moves with the given ids (MoveOrder.MoveID)
// that opens when all of them have passed, or limit after now.
func NewRevealGate(moveIDs []string, limit time.Duration) *RevealGate {
	g := &RevealGate{made: time.Now(), limit: limit, open: make(chan struct{}), left: map[string]bool{}}
	for _, id := range moveIDs {
		g.left[id] = true
	}
	if len(g.left) == 0 {
		close(g.open)
	}
	return g
}

// Pass records that move id has made its reveal, or will make none (it
// hands off, failed, or never ran). Passing twice, or an id the gate does
// not hold, changes nothing.
func (g *RevealGate) Pass(id string) {
	if g == nil {
		return
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	if !g.left[id] {
		return
	}
	delete(g.left, id)
	if len(g.left) == 0 {
		close(g.open)
	}
}

// wait returns once the gate is open, its limit has passed, or ctx ends.
func (g *RevealGate) wait(ctx context.Context) {
	if g == nil {
		return
	}
	t := time.NewTimer(time.Until(g.made.Add(g.limit)))
	defer t.Stop()
	select {
	case <-g.open:
	case <-t.C:
	case <-ctx.Done():
	}
}
