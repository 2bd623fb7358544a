// Package ratelimit limits how often each key (a participant) may do
// something, in memory: a token bucket per key.
package ratelimit

import (
	"sync"
	"time"

	"golang.org/x/time/rate"
)

// forgetAbove is how many keys a PerKey holds before it forgets the idle
// ones (those whose bucket is full again: for them a new bucket is the same).
const forgetAbove = 1024

// PerKey allows each key perSecond events a second, with bursts of burst.
// The zero value allows nothing; use New. It is safe for concurrent use.
type PerKey struct {
	limit rate.Limit
	burst int

	mu   sync.Mutex
	byID map[string]*rate.Limiter
}

// New returns a PerKey that allows each key perSecond events a second, and
// burst at once.
func New(perSecond float64, burst int) *PerKey {
	return &PerKey{limit: rate.Limit(perSecond), burst: burst, byID: map[string]*rate.Limiter{}}
}

// Allow reports whether key may have one more event now, and counts it if so.
func (l *PerKey) Allow(key string) bool {
	if l == nil || l.byID == nil {
		return false
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if len(l.byID) > forgetAbove {
		now := time.Now()
		for k, lim := range l.byID {
			if lim.TokensAt(now) >= float64(l.burst) {
				delete(l.byID, k)
			}
		}
	}
	lim := l.byID[key]
	if lim == nil {
		lim = rate.NewLimiter(l.limit, l.burst)
		l.byID[key] = lim
	}
	return lim.Allow()
}
