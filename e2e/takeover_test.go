//go:build e2e

package e2e

import (
	"maps"
	"slices"
	"sync"
	"syscall"
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
func TestReplicasTakeOverAMove(t *testing.T) { replicaDiesDuringAMove(t, false) }

// TestReplicasTakeOverAMoveNotSent is TestReplicasTakeOverAMove with a replica that dies once
// the admin's move call is accepted, before the move's instruction goes out: livekit-server
// is stopped (SIGSTOP) while the call is made, so the move waits there for its lookups, which
// come before the instruction, and the replica is killed before livekit-server resumes. The
// move is taken over as soon as the victim's liveness lapses too, and the only instruction the
// participant ever gets is the survivor's. (A replica that dies between the commit and the
// move's start, which no real ordering holds open here, is breakouts'
// TestTakeoverOfAMoveWhoseReplicaDiedBeforeItBegan.)
func TestReplicasTakeOverAMoveNotSent(t *testing.T) { replicaDiesDuringAMove(t, true) }

// replicaDiesDuringAMove runs TestReplicasTakeOverAMove, with the victim killed before its
// instruction goes out when early.
func replicaDiesDuringAMove(t *testing.T, early bool) {
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
	instructed := func() []string {
		stubborn.mu.Lock()
		defer stubborn.mu.Unlock()
		return slices.Collect(maps.Keys(stubborn.moves))
	}

	// The move goes to the victim, which dies once its instruction is out, or, early, before.
	victim, survivor := reps[0], reps[1]
	victimFam := &bkFamily{sc: cl.direct(victim), parent: parent, base: fam.base}
	var first string
	var placed time.Time
	if early {
		body := map[string]any{"version": fam.state(t).Version, "source_meeting_id": parent, "destination_meeting_id": room,
			"participant_ids": []string{stubbornID}}
		resume := stopProcess(t, node.Server.PID())
		victimFam.admin(t, 200, "POST", "/move", body)
		placed = time.Now()
		victim.kill(t)
		resume()
	} else {
		victimFam.move(t, stubbornID, parent, room)
		placed = time.Now()
		eventually(t, 5*time.Second, func() string {
			if ids := instructed(); len(ids) > 0 {
				first = ids[0]
				return ""
			}
			return "no instruction reached stubborn"
		})
		victim.kill(t)
	}
	killed := time.Now()
	t.Logf("SIGKILL %s %s after the move", victim.node, time.Since(placed).Round(time.Millisecond))
	if !inParent() {
		t.Fatal("stubborn left the parent, want it to stay (its client ignores moves)")
	}
	if ids := instructed(); early && len(ids) > 0 {
		t.Fatalf("stubborn got the instructions %v from the victim, want none", ids)
	}

	// The survivor sends the move once more, under a new id, once the victim's liveness has
	// lapsed: before the end of the move's window (the default move timeout, 10 s, plus 5 s
	// after the placement), when a move whose replica is not known dead would be taken over.
	const window, timeout = 15 * time.Second, 10 * time.Second
	var again string
	eventually(t, window+5*time.Second, func() string {
		for _, id := range instructed() {
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
	if ids := instructed(); early && len(ids) != 1 {
		t.Errorf("stubborn got instructions of the moves %v, want only the survivor's %s", ids, again)
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

// stopProcess stops process pid (SIGSTOP) and returns the function that resumes it (SIGCONT),
// which also runs when the test ends.
func stopProcess(t *testing.T, pid int) (resume func()) {
	t.Helper()
	if err := syscall.Kill(pid, syscall.SIGSTOP); err != nil {
		t.Fatalf("stop process %d: %v", pid, err)
	}
	resume = sync.OnceFunc(func() {
		if err := syscall.Kill(pid, syscall.SIGCONT); err != nil {
			t.Errorf("resume process %d: %v", pid, err)
		}
	})
	t.Cleanup(resume)
	return resume
}
