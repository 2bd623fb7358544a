package cluster

import (
	"context"
	"slices"
	"sync"
	"testing"
	"time"
)

// A replica's work is taken over only once its liveness is gone: while it
// renews it, nobody takes anything; once it stops renewing (it died), its
// liveness lapses within the TTL and the first replica to ask gets its
// work, once, never work nobody owns nor work it released.
func TestOwnersHandOverADeadReplicasWork(t *testing.T) {
	rdb := newRedis(t)
	p := prefix(t)
	const ttl = 600 * time.Millisecond
	a := NewOwners(rdb, "a", ttl, nil, OwnersPrefix(p))
	b := NewOwners(rdb, "b", ttl, nil, OwnersPrefix(p))
	c := NewOwners(rdb, "c", ttl, nil, OwnersPrefix(p))
	ctx := t.Context()
	for _, o := range []*Owners{a, b, c} {
		if err := o.Alive(ctx); err != nil {
			t.Fatal(err)
		}
	}
	for _, o := range []*Owners{b, c} { // b and c live on
		rctx, stop := context.WithCancel(context.Background())
		done := make(chan error, 1)
		go func() { done <- o.Run(rctx) }()
		t.Cleanup(func() { stop(); <-done })
	}
	actx, die := context.WithCancel(context.Background())
	aDone := make(chan struct{})
	go func() { // a renews its liveness until it dies
		defer close(aDone)
		for {
			select {
			case <-actx.Done():
				return // killed: no clean exit, the key is left to lapse
			case <-time.After(ttl / 3):
				_ = a.Alive(context.Background())
			}
		}
	}()
	t.Cleanup(func() { die(); <-aDone })
	if err := a.Own(ctx, []string{"move:1", "move:2", "move:3"}, time.Minute); err != nil {
		t.Fatal(err)
	}
	if err := a.Release(ctx, "move:3"); err != nil {
		t.Fatal(err)
	}
	items := []string{"move:1", "move:2", "move:3", "move:none"}
	for end := time.Now().Add(2 * ttl); time.Now().Before(end); time.Sleep(50 * time.Millisecond) {
		if got, err := b.TakeOrphans(ctx, items, time.Minute); err != nil || len(got) > 0 {
			t.Fatalf("while a lives, b took %v (%v), want nothing", got, err)
		}
	}

	die()
	<-aDone
	died := time.Now()
	var gotB, gotC []string
	for len(gotB)+len(gotC) < 2 {
		if time.Since(died) > 2*ttl {
			t.Fatalf("%s after a died, b took %v and c %v; want move:1 and move:2", time.Since(died), gotB, gotC)
		}
		var wg sync.WaitGroup
		var tb, tc []string
		wg.Go(func() { tb, _ = b.TakeOrphans(ctx, items, time.Minute) })
		wg.Go(func() { tc, _ = c.TakeOrphans(ctx, items, time.Minute) })
		wg.Wait()
		gotB, gotC = append(gotB, tb...), append(gotC, tc...)
		time.Sleep(20 * time.Millisecond)
	}
	all := append(slices.Clone(gotB), gotC...)
	slices.Sort(all)
	if !slices.Equal(all, []string{"move:1", "move:2"}) {
		t.Errorf("b took %v and c %v; want move:1 and move:2, each once", gotB, gotC)
	}
	t.Logf("a's work taken over %s after it died (TTL %s)", time.Since(died).Round(time.Millisecond), ttl)

	// The taker owns the work now: nobody takes it from a live replica.
	for _, o := range []*Owners{b, c} {
		if got, err := o.TakeOrphans(ctx, items, time.Minute); err != nil || len(got) > 0 {
			t.Errorf("%s took %v (%v) after the takeover, want nothing", o.Token(), got, err)
		}
	}
}

// A replica that stops cleanly drops its liveness at once: its work is
// taken over without waiting for the TTL.
func TestOwnersStoppedReplicaIsGoneAtOnce(t *testing.T) {
	rdb := newRedis(t)
	p := prefix(t)
	a := NewOwners(rdb, "a", time.Minute, nil, OwnersPrefix(p))
	b := NewOwners(rdb, "b", time.Minute, nil, OwnersPrefix(p))
	ctx := t.Context()
	if err := a.Alive(ctx); err != nil {
		t.Fatal(err)
	}
	if err := a.Own(ctx, []string{"move:1"}, time.Minute); err != nil {
		t.Fatal(err)
	}
	actx, stop := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- a.Run(actx) }()
	if got, err := b.TakeOrphans(ctx, []string{"move:1"}, time.Minute); err != nil || len(got) > 0 {
		t.Fatalf("while a runs, b took %v (%v)", got, err)
	}
	stop()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if got, err := b.TakeOrphans(ctx, []string{"move:1"}, time.Minute); err != nil || !slices.Equal(got, []string{"move:1"}) {
		t.Errorf("after a stopped, b took %v (%v), want move:1", got, err)
	}
}

// Owner names the replica that runs an item and tells whether it lives.
func TestOwnersOwner(t *testing.T) {
	rdb := newRedis(t)
	p := prefix(t)
	ctx := t.Context()
	a := NewOwners(rdb, "a", time.Minute, nil, OwnersPrefix(p))
	b := NewOwners(rdb, "b", time.Minute, nil, OwnersPrefix(p))
	if err := a.Alive(ctx); err != nil {
		t.Fatal(err)
	}
	if err := a.Own(ctx, []string{"rec:1"}, time.Minute); err != nil {
		t.Fatal(err)
	}
	if err := b.Own(ctx, []string{"rec:2"}, time.Minute); err != nil { // b never said it lives
		t.Fatal(err)
	}
	for _, tc := range []struct {
		item  string
		token string
		alive bool
	}{
		{"rec:1", a.Token(), true},
		{"rec:2", b.Token(), false},
		{"rec:none", "", false},
	} {
		token, alive, err := b.Owner(ctx, tc.item)
		if err != nil || token != tc.token || alive != tc.alive {
			t.Errorf("Owner(%s) = %q, %v, %v; want %q, %v", tc.item, token, alive, err, tc.token, tc.alive)
		}
	}
	if n := NodeOf(a.Token()); n != "a" {
		t.Errorf("NodeOf(%s) = %q, want a", a.Token(), n)
	}
}
