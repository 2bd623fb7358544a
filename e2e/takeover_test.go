//go:build e2e

package e2e

import (
	"slices"
	"testing"
	"time"

	"github.com/livekit/protocol/livekit"

	"rtk-sidecar/breakouts"
	"rtk-sidecar/protocol"
)

// TestReplicasTakeOverAMove: two replicas on one PostgreSQL, one Redis and one livekit-server.
// A participant whose client does not follow moves (a plain LiveKit client) is moved by one
// replica, which is killed with SIGKILL once its instruction is out, before the move's
// timeout. The survivor takes the move over as soon as the victim's liveness lapses
// (cluster.lease_ttl, 3 s), long before the end of the move's window (moves.timeout plus 5 s
// after the placement, when a move whose replica is not known dead is taken over): it sends
// the instruction once more, under a new move id, and when that one times out too removes the
// connection from the parent, telling the family (connectionRemoved, reason moveFailed).
// Without the takeover the connection would stay in the parent until its client left.
func TestReplicasTakeOverAMove(t *testing.T) {
	ctx := t.Context()
	cl := startCluster(t, 1)
	rdb, node, reps, sc := cl.rdb, cl.nodes[0], cl.reps, cl.sc
	sf := stubbornInParent(t, sc, "Takeover")
	fam, parent, room, obs := sf.fam, sf.parent, sf.room, sf.obs
	stubbornID, stubborn := sf.id, sf.client
	inParent := func() bool {
		res, err := node.Rooms.ListParticipants(ctx, &livekit.ListParticipantsRequest{Room: parent})
		if err != nil {
			t.Fatalf("list the parent: %v", err)
		}
		return slices.ContainsFunc(res.Participants, func(p *livekit.ParticipantInfo) bool { return p.Identity == stubbornID })
	}

	// The move goes to the victim, which dies once its instruction is out.
	victim, survivor := reps[0], reps[1]
	direct := &Sidecar{BaseURL: victim.url, AppPath: sc.AppPath}
	(&bkFamily{sc: direct, parent: parent, base: fam.base}).move(t, stubbornID, parent, room)
	placed := time.Now()
	var first string
	eventually(t, 5*time.Second, func() string {
		stubborn.mu.Lock()
		defer stubborn.mu.Unlock()
		for id := range stubborn.moves {
			first = id
			return ""
		}
		return "no instruction reached stubborn"
	})
	victim.kill(t)
	killed := time.Now()
	t.Logf("SIGKILL %s %s after the move", victim.node, time.Since(placed).Round(time.Millisecond))
	if !inParent() {
		t.Fatal("stubborn left the parent, want it to stay (its client ignores moves)")
	}

	// The survivor sends the move once more, under a new id, once the victim's liveness has
	// lapsed: before the end of the move's window (the default move timeout, 10 s, plus 5 s
	// after the placement), when a move whose replica is not known dead would be taken over.
	const window, timeout = 15 * time.Second, 10 * time.Second
	var again string
	eventually(t, window+5*time.Second, func() string {
		stubborn.mu.Lock()
		defer stubborn.mu.Unlock()
		for id := range stubborn.moves {
			if id != first {
				again = id
				return ""
			}
		}
		return "the move was not sent once more"
	})
	took := time.Since(killed)
	t.Logf("BENCH move taken over %s after the SIGKILL of its replica (%s after the placement)",
		took.Round(time.Millisecond), time.Since(placed).Round(time.Millisecond))
	if since := time.Since(placed); since >= window {
		t.Errorf("the move was sent once more %s after the placement, at the end of its window %s: not when its replica was known dead",
			since.Round(time.Millisecond), window)
	}

	// That move times out too: the survivor removes the connection from the parent.
	var removal protocol.Removal
	eventually(t, timeout+20*time.Second, func() string {
		rs := obs.removalsOf(stubbornID)
		if len(rs) == 0 {
			return "no connectionRemoved for stubborn yet"
		}
		removal = rs[0]
		return ""
	})
	t.Logf("BENCH overdue move taken over and removed %s after the placement", time.Since(placed).Round(time.Millisecond))
	if removal.MeetingID != parent || removal.PlacedMeetingID != room || removal.Reason != protocol.RemovedMoveFailed || removal.MoveID != again {
		t.Errorf("removal %+v, want stubborn from the parent, placed in %s, after the move sent once more (%s)", removal, short(room), again)
	}
	if n := stubborn.instructions(removal.MoveID); n == 0 {
		t.Errorf("stubborn got no instruction for the move %s sent once more", removal.MoveID)
	}
	eventually(t, 5*time.Second, func() string {
		if inParent() {
			return "stubborn is still listed in the parent"
		}
		return ""
	})
	if holder, err := rdb.Get(ctx, "rtk:lease:"+breakouts.MovesLease).Result(); err != nil || len(holder) < len(survivor.node) || holder[:len(survivor.node)] != survivor.node {
		t.Errorf("the moves' lease is held by %q (%v), want %s", holder, err, survivor.node)
	}
	if got := fam.state(t).roomOf(stubbornID); got != room {
		t.Errorf("state places stubborn in %s, want %s", short(got), short(room))
	}
}
