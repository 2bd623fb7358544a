// Package clustertest has in-memory fakes of the cluster package's types,
// for the tests of the packages that use them.
package clustertest

import (
	"context"
	"sync"
	"time"
)

// Owners is what cluster.Owners keeps in Redis for every replica: which
// replica runs each item, and which replicas are alive. Replica gives one
// replica's view of it. Records never expire (ttl is ignored). It is safe
// for concurrent use.
type Owners struct {
	mu    sync.Mutex
	owner map[string]string // item → token
	alive map[string]bool   // by token
	takes map[string]int    // TakeOrphans calls by token
}

// NewOwners returns an empty record.
func NewOwners() *Owners {
	return &Owners{owner: map[string]string{}, alive: map[string]bool{}, takes: map[string]int{}}
}

// Replica returns the view of the replica token, which is alive from now
// until Die.
func (f *Owners) Replica(token string) Replica {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.alive[token] = true
	return Replica{f, token}
}

// Die makes the replica token dead: its items are orphans.
func (f *Owners) Die(token string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	delete(f.alive, token)
}

// OwnerOf returns the token of the replica recorded for item, or "".
func (f *Owners) OwnerOf(item string) string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.owner[item]
}

// Takes returns how many times the replica token called TakeOrphans.
func (f *Owners) Takes(token string) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.takes[token]
}

// Replica is one replica's view of Owners, with cluster.Owners' methods.
type Replica struct {
	f     *Owners
	token string
}

// Token returns the replica's token.
func (r Replica) Token() string { return r.token }

// Own records the replica as the owner of items.
func (r Replica) Own(_ context.Context, items []string, _ time.Duration) error {
	r.f.mu.Lock()
	defer r.f.mu.Unlock()
	for _, it := range items {
		r.f.owner[it] = r.token
	}
	return nil
}

// Release forgets item if the replica owns it.
func (r Replica) Release(_ context.Context, item string) error {
	r.f.mu.Lock()
	defer r.f.mu.Unlock()
	if r.f.owner[item] == r.token {
		delete(r.f.owner, item)
	}
	return nil
}

// Owner returns the owner of item ("" for none) and whether it is alive.
func (r Replica) Owner(_ context.Context, item string) (string, bool, error) {
	r.f.mu.Lock()
	defer r.f.mu.Unlock()
	t := r.f.owner[item]
	return t, r.f.alive[t], nil
}

// TakeOrphans makes the replica the owner of those of items whose owner is
// another replica that is not alive, and returns them.
func (r Replica) TakeOrphans(_ context.Context, items []string, _ time.Duration) ([]string, error) {
	r.f.mu.Lock()
	defer r.f.mu.Unlock()
	r.f.takes[r.token]++
	var taken []string
	for _, it := range items {
		if o, ok := r.f.owner[it]; ok && o != r.token && !r.f.alive[o] {
			r.f.owner[it] = r.token
			taken = append(taken, it)
		}
	}
	return taken, nil
}
