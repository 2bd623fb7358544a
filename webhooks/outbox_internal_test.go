package webhooks

import (
	"testing"
	"time"
)

// TestBackoffIsCappedExponential: the wait after the n-th failure is at
// least min_backoff/2 and at most min(max_backoff, min_backoff·2^(n-1)),
// and reaches up to max_backoff however many attempts failed.
func TestBackoffIsCappedExponential(t *testing.T) {
	o := NewOutbox(nil, nil, Options{MinBackoff: 2 * time.Second, MaxBackoff: 10 * time.Minute}, nil)
	for _, n := range []int{1, 2, 3, 5, 9, 10, 11, 50, 1000, 1 << 30} {
		ceiling := min(10*time.Minute, 2*time.Second<<min(n-1, 20))
		var most time.Duration
		for range 2000 {
			w := o.backoff(n)
			if w < time.Second || w > ceiling {
				t.Fatalf("backoff(%d) = %s, want within [1s, %s]", n, w, ceiling)
			}
			most = max(most, w)
		}
		if most < ceiling*9/10 {
			t.Errorf("backoff(%d): the longest of 2000 waits is %s, want near %s (full jitter up to the cap)", n, most, ceiling)
		}
	}
}
