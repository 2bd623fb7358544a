package bridge

import (
	"context"
	"testing"
	"time"
)

// isOpen reports whether g's moves have all passed.
func isOpen(g *RevealGate) bool {
	select {
	case <-g.open:
		return true
	default:
		return false
	}
}

// A gate opens when each of its moves has passed, once; repeated passes and
// unknown moves count for nothing. Without moves it is open; its wait ends
// at its limit; a nil gate holds nothing.
func TestRevealGate(t *testing.T) {
	g := NewRevealGate([]string{"a", "b"}, time.Minute)
	g.Pass("a")
	g.Pass("a")
	g.Pass("x")
	if isOpen(g) {
		t.Fatal("open before b passed")
	}
	g.Pass("b")
	if !isOpen(g) {
		t.Fatal("closed after a and b passed")
	}
	g.Pass("b") // no second close
	g.wait(context.Background())

	if !isOpen(NewRevealGate(nil, time.Minute)) {
		t.Error("a gate of no moves is closed")
	}

	start := time.Now()
	NewRevealGate([]string{"a"}, 100*time.Millisecond).wait(context.Background())
	if d := time.Since(start); d < 100*time.Millisecond || d > 5*time.Second {
		t.Errorf("wait took %s, want the limit of 100ms", d)
	}

	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	NewRevealGate([]string{"a"}, time.Hour).wait(ctx) // returns: ctx ended

	var none *RevealGate
	none.Pass("a")
	none.wait(context.Background())
}
