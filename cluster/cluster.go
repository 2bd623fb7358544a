// Package cluster lets several sidecar replicas share work through Redis:
// leases, so that timed work (countdowns, reconciliation) has exactly one
// owner at a time and a survivor takes it over when the owner dies, and a
// bus, so that a message published on one replica reaches the others (the
// event streams of participants connected to another replica).
//
// The state itself stays in the store (PostgreSQL when replicated): a lease
// only says who acts now, and every action it guards must be safe to repeat
// (a family's close takes its version, so a second close changes nothing).
// Local is the in-process implementation for a single replica: it always
// leads and has no peers.
//
// Nothing here starts before Run (Bus) or Lead (leases) is called.
package cluster

import (
	"context"
	"crypto/rand"
	"encoding/hex"
)

// Local is the single-process stand-in: it is always the leader, and its bus
// has no other replica to reach. The zero value is ready to use.
type Local struct{}

// Lead runs f until ctx ends and returns f's error: a single process owns
// all of its work.
func (Local) Lead(ctx context.Context, _ string, f func(context.Context) error) error {
	return f(ctx)
}

// NodeID returns a random name for this replica, for leases and the bus.
func NodeID() string {
	var b [8]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}
