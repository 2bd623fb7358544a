package ratelimit

import (
	"context"
	"log/slog"
	"strconv"
	"time"

	"github.com/redis/go-redis/v9"
)

// gcraScript is the token bucket of one key in Redis, as GCRA: the key
// holds the bucket's theoretical arrival time (µs, Redis's clock, so every
// replica counts alike). ARGV: the interval between events (µs) and the
// burst. It returns 1 and counts the event when allowed, else 0.
var gcraScript = redis.NewScript(`
local t = redis.call("TIME")
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local interval = tonumber(ARGV[1])
local burst = tonumber(ARGV[2])
local tat = tonumber(redis.call("GET", KEYS[1]) or now)
if tat < now then tat = now end
local new = tat + interval
if new - burst * interval > now then return 0 end
local ttl = math.ceil((new - now) / 1000)
if ttl < 1 then ttl = 1 end
redis.call("SET", KEYS[1], string.format("%.0f", new), "PX", ttl)
return 1`)

// Shared is PerKey with the buckets in Redis: every replica of a cluster
// counts a key's events in the same bucket, so N replicas allow what one
// does. Each check is one script, atomic in Redis. When Redis does not
// answer (within timeout), the key is checked in this replica's own
// buckets instead: a limit per replica for that time, no event refused for
// Redis's sake. It is safe for concurrent use.
type Shared struct {
	rdb      redis.UniversalClient
	prefix   string
	interval time.Duration
	burst    int
	local    *PerKey
	log      *slog.Logger
	timeout  time.Duration
}

// NewShared returns a Shared that allows each key perSecond events a
// second, and burst at once, in the keys prefix+key of rdb (prefix names
// the limit, such as "rtk:rate:chat:").
func NewShared(rdb redis.UniversalClient, prefix string, perSecond float64, burst int, log *slog.Logger) *Shared {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Shared{rdb: rdb, prefix: prefix, interval: time.Duration(float64(time.Second) / perSecond), burst: burst,
		local: New(perSecond, burst), log: log, timeout: 250 * time.Millisecond}
}

// Allow reports whether key may have one more event now, and counts it if so.
func (s *Shared) Allow(key string) bool {
	if s == nil || s.burst <= 0 || s.interval <= 0 {
		return false
	}
	ctx, cancel := context.WithTimeout(context.Background(), s.timeout)
	defer cancel()
	n, err := gcraScript.Run(ctx, s.rdb, []string{s.prefix + key},
		strconv.FormatInt(s.interval.Microseconds(), 10), strconv.Itoa(s.burst)).Int()
	if err != nil {
		s.log.Warn("ratelimit: shared bucket unavailable; counting on this replica", "limit", s.prefix, "err", err)
		return s.local.Allow(key)
	}
	return n == 1
}
