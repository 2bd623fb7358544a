package ratelimit

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"rtk-sidecar/cluster"
)

func sharedRedis(t *testing.T) *redis.Client {
	t.Helper()
	rdb := redis.NewClient(&redis.Options{Addr: "127.0.0.1:6379"})
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	if err := rdb.Ping(ctx).Err(); err != nil {
		t.Fatalf("the shared limiter's tests need Redis at 127.0.0.1:6379: %v", err)
	}
	t.Cleanup(func() { _ = rdb.Close() })
	return rdb
}

// Two limiters over one key space (two replicas) share each key's bucket:
// together they allow the burst once, not once each; another key has its
// own bucket; the bucket refills at the rate.
func TestSharedAcrossReplicas(t *testing.T) {
	rdb := sharedRedis(t)
	prefix := fmt.Sprintf("rtktest:%s:%s:", t.Name(), cluster.NodeID())
	a := NewShared(rdb, prefix, 5, 3, nil) // 3 at once, then one per 200 ms
	b := NewShared(rdb, prefix, 5, 3, nil)
	allowed := 0
	for i := range 8 {
		l := a
		if i%2 == 1 {
			l = b
		}
		if l.Allow("ada") {
			allowed++
		}
	}
	if allowed != 3 {
		t.Errorf("two replicas allowed ada %d events at once, want the burst of 3 in all", allowed)
	}
	if !b.Allow("bob") {
		t.Error("bob shares ada's bucket")
	}
	time.Sleep(250 * time.Millisecond)
	if !a.Allow("ada") {
		t.Error("ada's bucket did not refill at the rate")
	}
	if b.Allow("ada") {
		t.Error("the refill was allowed twice, once on each replica")
	}
}

// Without Redis, each replica counts on its own rather than refusing.
func TestSharedFallsBackWithoutRedis(t *testing.T) {
	rdb := redis.NewClient(&redis.Options{Addr: "127.0.0.1:1", MaxRetries: -1})
	t.Cleanup(func() { _ = rdb.Close() })
	l := NewShared(rdb, "rtktest:none:", 0.001, 2, nil)
	if !l.Allow("ada") || !l.Allow("ada") {
		t.Fatal("the burst was refused while Redis is down")
	}
	if l.Allow("ada") {
		t.Error("a third event was allowed: the local bucket was not used")
	}
}
