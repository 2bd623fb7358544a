package cluster

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"
)

// takeOrphansScript hands each item (KEYS) whose owner's liveness key is
// gone to the caller, atomically: of two callers, one gets it. ARGV: the
// caller's token, the items' TTL in ms, the liveness keys' prefix. It
// returns 1 for each item taken, 0 otherwise. The liveness key is named by
// the owner's token, read here: the script reads a key it was not given,
// which a single Redis (not Redis Cluster) allows.
var takeOrphansScript = redis.NewScript(`
local out = {}
for i, key in ipairs(KEYS) do
	out[i] = 0
	local owner = redis.call("GET", key)
	if owner and owner ~= ARGV[1] and redis.call("EXISTS", ARGV[3] .. owner) == 0 then
		redis.call("SET", key, ARGV[1], "PX", ARGV[2])
		out[i] = 1
	end
end
return out`)

// Owners records which replica runs each piece of work (a participant's
// move) and hands the work of a replica that died to a survivor as soon as
// that is known: each replica keeps a liveness key of its own, renewed
// every third of the TTL, that lapses at most TTL after the replica died;
// each piece of work names its owner's token. It is safe for concurrent
// use.
//
// The liveness key of a replica that is alive but cut off from Redis for
// longer than the TTL lapses too: its work is then taken over while it may
// still act on it, as with the leases. The work must tolerate that (a move
// sent twice is obeyed once: clients follow the latest instruction).
type Owners struct {
	rdb    redis.UniversalClient
	token  string
	prefix string
	ttl    time.Duration
	log    *slog.Logger
}

// OwnersOption tunes Owners.
type OwnersOption func(*Owners)

// OwnersPrefix sets the prefix of the Redis keys (default "rtk:").
func OwnersPrefix(p string) OwnersOption { return func(o *Owners) { o.prefix = p } }

// NewOwners returns the Owners of replica node in rdb, whose liveness
// lasts ttl (DefaultLeaseTTL when 0) unless renewed. Call Alive before the
// replica owns any work, then Run.
func NewOwners(rdb redis.UniversalClient, node string, ttl time.Duration, log *slog.Logger, opts ...OwnersOption) *Owners {
	if ttl <= 0 {
		ttl = DefaultLeaseTTL
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	o := &Owners{rdb: rdb, token: node + "/" + NodeID(), prefix: "rtk:", ttl: ttl, log: log}
	for _, opt := range opts {
		opt(o)
	}
	return o
}

// Token returns the name this replica owns work under.
func (o *Owners) Token() string { return o.token }

func (o *Owners) aliveKey(token string) string { return o.prefix + "alive:" + token }
func (o *Owners) itemKey(item string) string   { return o.prefix + "owner:" + item }

// Alive marks this replica alive for one TTL.
func (o *Owners) Alive(ctx context.Context) error {
	if err := o.rdb.Set(ctx, o.aliveKey(o.token), time.Now().UTC().Format(time.RFC3339Nano), o.ttl).Err(); err != nil {
		return fmt.Errorf("cluster: mark replica alive: %w", err)
	}
	return nil
}

// Run keeps this replica alive until ctx ends, then deletes its liveness
// key: work left unfinished by a replica that stops is taken over at once.
func (o *Owners) Run(ctx context.Context) error {
	t := time.NewTicker(o.ttl / 3)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			dctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), time.Second)
			defer cancel()
			if err := o.rdb.Del(dctx, o.aliveKey(o.token)).Err(); err != nil {
				o.log.Warn("cluster: drop the replica's liveness", "err", err)
			}
			return nil
		case <-t.C:
			rctx, cancel := context.WithTimeout(ctx, o.ttl/3)
			err := o.Alive(rctx)
			cancel()
			if err != nil && ctx.Err() == nil {
				o.log.Warn("cluster: renew the replica's liveness", "err", err)
			}
		}
	}
}

// Own records that this replica runs items, for at most ttl (the longest
// the work may run), in one round trip.
func (o *Owners) Own(ctx context.Context, items []string, ttl time.Duration) error {
	if len(items) == 0 {
		return nil
	}
	_, err := o.rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
		for _, it := range items {
			p.Set(ctx, o.itemKey(it), o.token, ttl)
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("cluster: own %s and %d more: %w", items[0], len(items)-1, err)
	}
	return nil
}

// Release records that this replica no longer runs item (unless another
// took it over since).
func (o *Owners) Release(ctx context.Context, item string) error {
	err := releaseScript.Run(ctx, o.rdb, []string{o.itemKey(item)}, o.token).Err()
	if err != nil && !errors.Is(err, redis.Nil) {
		return fmt.Errorf("cluster: release %s: %w", item, err)
	}
	return nil
}

// TakeOrphans takes over, for at most ttl, those of items whose owner is
// no longer alive, and returns them. An item nobody owns, or whose owner
// is alive, is left alone. Of replicas asking at once, one takes each
// orphan.
func (o *Owners) TakeOrphans(ctx context.Context, items []string, ttl time.Duration) ([]string, error) {
	if len(items) == 0 {
		return nil, nil
	}
	keys := make([]string, len(items))
	for i, it := range items {
		keys[i] = o.itemKey(it)
	}
	res, err := takeOrphansScript.Run(ctx, o.rdb, keys, o.token, ttl.Milliseconds(), o.prefix+"alive:").Int64Slice()
	if err != nil {
		return nil, fmt.Errorf("cluster: take orphaned work: %w", err)
	}
	var taken []string
	for i, n := range res {
		if n == 1 {
			taken = append(taken, items[i])
		}
	}
	return taken, nil
}

// Owner returns the token of the replica that runs item ("" when none is
// recorded) and whether that replica is alive.
func (o *Owners) Owner(ctx context.Context, item string) (token string, alive bool, err error) {
	token, err = o.rdb.Get(ctx, o.itemKey(item)).Result()
	if errors.Is(err, redis.Nil) {
		return "", false, nil
	}
	if err != nil {
		return "", false, fmt.Errorf("cluster: owner of %s: %w", item, err)
	}
	n, err := o.rdb.Exists(ctx, o.aliveKey(token)).Result()
	if err != nil {
		return "", false, fmt.Errorf("cluster: liveness of %s: %w", token, err)
	}
	return token, n == 1, nil
}

// NodeOf returns the node name of a replica's token (Owners.Token).
func NodeOf(token string) string {
	if i := strings.LastIndexByte(token, '/'); i >= 0 {
		return token[:i]
	}
	return token
}
