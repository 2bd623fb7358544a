package ratelimit

import (
	"fmt"
	"testing"
	"time"
)

func TestPerKey(t *testing.T) {
	l := New(0.001, 3) // a burst of 3, then (practically) nothing
	for i := range 3 {
		if !l.Allow("ada") {
			t.Fatalf("event %d of the burst refused", i+1)
		}
	}
	if l.Allow("ada") {
		t.Error("a fourth event within the burst was allowed")
	}
	if !l.Allow("bob") {
		t.Error("another key shares ada's bucket")
	}
	if (*PerKey)(nil).Allow("x") || (&PerKey{}).Allow("x") {
		t.Error("a nil or zero PerKey allowed an event")
	}
}

// TestPerKeyForgetsIdleKeys: beyond forgetAbove keys, keys whose bucket is full again are
// forgotten; a key that used its burst is kept (forgetting it would give it a new burst).
func TestPerKeyForgetsIdleKeys(t *testing.T) {
	l := New(1000, 1) // refills within a millisecond
	busy := New(0.001, 1)
	busy.Allow("ada")
	for i := range forgetAbove + 1 {
		busy.Allow(fmt.Sprint(i))
		l.Allow(fmt.Sprint(i))
	}
	if busy.Allow("ada") {
		t.Error("ada's used bucket was forgotten")
	}
	time.Sleep(10 * time.Millisecond) // l's buckets are full again
	l.Allow("x")
	if n := len(l.byID); n > forgetAbove {
		t.Errorf("%d keys kept, want the idle ones forgotten", n)
	}
}
