package cluster

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/redis/go-redis/v9"
)

// Lease timing defaults: a lease lasts DefaultLeaseTTL unless renewed; its
// holder renews it every third of that, and a replica without it tries to
// take it every DefaultAcquireEvery. A survivor therefore takes over at
// most TTL + AcquireEvery after its owner died without releasing it (3.5 s).
const (
	DefaultLeaseTTL     = 3 * time.Second
	DefaultAcquireEvery = 500 * time.Millisecond
)

// renewScript extends the lease only while it is still the caller's.
var renewScript = redis.NewScript(`
if redis.call("GET", KEYS[1]) == ARGV[1] then
	return redis.call("PEXPIRE", KEYS[1], ARGV[2])
end
return 0`)

// releaseScript deletes the lease only while it is still the caller's.
var releaseScript = redis.NewScript(`
if redis.call("GET", KEYS[1]) == ARGV[1] then
	return redis.call("DEL", KEYS[1])
end
return 0`)

// Leases hands out named leases held in Redis (SET NX PX, renewed and
// released by a Lua script that checks the holder's token). It is safe for
// concurrent use.
type Leases struct {
	rdb          redis.UniversalClient
	node         string
	prefix       string
	ttl          time.Duration
	acquireEvery time.Duration
	log          *slog.Logger
	now          func() time.Time
}

// LeaseOption tunes Leases.
type LeaseOption func(*Leases)

// WithLeaseTTL sets how long a lease lasts without renewal.
func WithLeaseTTL(d time.Duration) LeaseOption { return func(l *Leases) { l.ttl = d } }

// WithAcquireEvery sets how often a replica without a lease tries to take it.
func WithAcquireEvery(d time.Duration) LeaseOption { return func(l *Leases) { l.acquireEvery = d } }

// WithPrefix sets the prefix of the leases' Redis keys (default "rtk:lease:").
func WithPrefix(p string) LeaseOption { return func(l *Leases) { l.prefix = p } }

// NewLeases returns Leases in rdb held in the name of node (unique per
// replica and per start). It starts nothing.
func NewLeases(rdb redis.UniversalClient, node string, log *slog.Logger, opts ...LeaseOption) *Leases {
	l := &Leases{rdb: rdb, node: node, prefix: "rtk:lease:", ttl: DefaultLeaseTTL, acquireEvery: DefaultAcquireEvery,
		log: log, now: time.Now}
	for _, o := range opts {
		o(l)
	}
	if l.log == nil {
		l.log = slog.New(slog.DiscardHandler)
	}
	return l
}

// Lead runs f whenever this replica holds the lease name, until ctx ends.
// It tries to take the lease every acquire interval; once it has it, it
// runs f with a context that ends when the lease may be lost: renewal
// failed, or could not be confirmed, a safety margin before the lease
// would lapse in Redis. After f returns Lead goes back to trying. When ctx
// ends, Lead cancels f, waits for it, releases the lease (so that another
// replica takes over at once) and returns nil. An error of f other than its
// context's is logged, and the lease released, and f is run again at the
// next acquisition.
//
// A holder acts only while its lease is valid by its own clock, which it
// measures from before its SET or renewal reached Redis; two holders can
// therefore overlap only by the clock drift of one TTL, and the work under
// a lease must be safe to repeat.
func (l *Leases) Lead(ctx context.Context, name string, f func(context.Context) error) error {
	key := l.prefix + name
	token := l.node + "/" + NodeID() // unique per holding
	t := time.NewTimer(0)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
		sent := l.now()
		ok, err := l.rdb.SetNX(ctx, key, token, l.ttl).Result()
		if err != nil && ctx.Err() == nil {
			l.log.Warn("cluster: take lease", "lease", name, "err", err)
		}
		if ok {
			l.log.Info("cluster: lease taken", "lease", name, "node", l.node)
			l.hold(ctx, name, key, token, sent, f)
			l.log.Info("cluster: lease given up", "lease", name, "node", l.node)
		}
		t.Reset(l.acquireEvery)
	}
}

// hold runs f while the lease is renewed, then releases it.
func (l *Leases) hold(ctx context.Context, name, key, token string, since time.Time, f func(context.Context) error) {
	fctx, cancel := context.WithCancel(ctx)
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- f(fctx) }()

	margin := l.ttl / 6
	valid := since.Add(l.ttl - margin)
	renew := time.NewTicker(l.ttl / 3)
	defer renew.Stop()
	expiry := time.NewTimer(time.Until(valid))
	defer expiry.Stop()
	defer l.release(context.WithoutCancel(ctx), name, key, token)
	for {
		select {
		case err := <-done:
			if err != nil && fctx.Err() == nil {
				l.log.Error("cluster: work under lease failed", "lease", name, "err", err)
			}
			return
		case <-ctx.Done():
			<-done
			return
		case <-expiry.C:
			l.log.Warn("cluster: lease lost: not renewed in time", "lease", name)
			cancel()
			<-done
			return
		case <-renew.C:
			sent := l.now()
			rctx, rcancel := context.WithTimeout(fctx, l.ttl/3)
			n, err := renewScript.Run(rctx, l.rdb, []string{key}, token, l.ttl.Milliseconds()).Int()
			rcancel()
			switch {
			case err != nil:
				if fctx.Err() == nil {
					l.log.Warn("cluster: renew lease", "lease", name, "err", err)
				}
			case n == 0:
				l.log.Warn("cluster: lease lost: held by another replica", "lease", name)
				cancel()
				<-done
				return
			default:
				valid = sent.Add(l.ttl - margin)
				expiry.Reset(time.Until(valid))
			}
		}
	}
}

func (l *Leases) release(ctx context.Context, name, key, token string) {
	ctx, cancel := context.WithTimeout(ctx, time.Second)
	defer cancel()
	if err := releaseScript.Run(ctx, l.rdb, []string{key}, token).Err(); err != nil && !errors.Is(err, redis.Nil) {
		l.log.Warn("cluster: release lease", "lease", name, "err", err)
	}
}

// Holder returns the token of the current holder of lease name ("" when
// nobody holds it); a token starts with the holder's node name and "/".
func (l *Leases) Holder(ctx context.Context, name string) (string, error) {
	v, err := l.rdb.Get(ctx, l.prefix+name).Result()
	if errors.Is(err, redis.Nil) {
		return "", nil
	}
	if err != nil {
		return "", fmt.Errorf("cluster: lease %s: %w", name, err)
	}
	return v, nil
}
