package polls_test

import (
	"context"
	"log/slog"
	"slices"
	"testing"
	"time"

	"github.com/livekit/protocol/livekit"

	"rtk-sidecar/cluster"
	"rtk-sidecar/cluster/clustertest"
	"rtk-sidecar/polls"
	"rtk-sidecar/store"
)

// replica is a polls service of replica node, on e's store, SFU and agents, recording its
// agents in owners and looking for orphans every check.
func (e *env) replica(owners *clustertest.Owners, node string, check time.Duration) *polls.Service {
	log := slog.New(slog.NewTextHandler(testWriter{e.t}, nil))
	return polls.New(e.st, e.sfu, e.agents, log, polls.WithReplicas(owners.Replica(node), cluster.Local{}, check))
}

// runService runs s until the test ends.
func runService(t *testing.T, s *polls.Service) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Run: %v", err)
		}
	})
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal(what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func agentLeft(room, sid string, reason livekit.DisconnectReason) *livekit.WebhookEvent {
	return &livekit.WebhookEvent{Id: "EV_" + sid, Event: "participant_left", Room: &livekit.Room{Name: room},
		Participant: &livekit.ParticipantInfo{Sid: sid, Identity: polls.AgentIdentity, Kind: livekit.ParticipantInfo_AGENT,
			DisconnectReason: reason}}
}

// TestAgentRejoinsAfterItLeft: a LiveKit participant_left of the agent,
// whichever replica receives it, connects the agent again while the room
// has live polls, unless the leave was a normal one.
func TestAgentRejoinsAfterItLeft(t *testing.T) {
	e := newEnv(t)
	e.run()
	q := polls.Input{Question: ptr("Q?"), Options: ptr([]string{"a", "b"})}
	withPolls := func(title string) string {
		m, _ := e.live(title)
		if _, err := e.polls.Create(e.ctx, appID, m.ID, q); err != nil {
			t.Fatal(err)
		}
		return m.ID
	}
	// marker is a room whose rejoin shows that the events before it were
	// handled: rejoins are handled one at a time, in order.
	marker := func() {
		t.Helper()
		room := withPolls("Marker")
		sid := e.agents.current(room).sid
		e.polls.OnLiveKitEvent(e.ctx, agentLeft(room, sid, livekit.DisconnectReason_SIGNAL_CLOSE))
		waitFor(t, "the marker's agent did not rejoin", func() bool { return e.agents.joins(room) == 2 })
	}

	t.Run("its replica stopped", func(t *testing.T) {
		room := withPolls("Stopped")
		sid := e.agents.current(room).sid
		// The replica that ran the agent (here: this one) let it go.
		e.agents.current(room).closed = true
		e.polls.OnLiveKitEvent(e.ctx, agentLeft(room, sid, livekit.DisconnectReason_CLIENT_INITIATED))
		waitFor(t, "the agent did not rejoin", func() bool { return e.agents.current(room) != nil })
		if n := e.agents.joins(room); n != 2 {
			t.Errorf("the agent joined %d times, want 2", n)
		}
	})
	t.Run("lost LiveKit", func(t *testing.T) {
		room := withPolls("Timed out")
		e.polls.OnLiveKitEvent(e.ctx, agentLeft(room, e.agents.current(room).sid, livekit.DisconnectReason_CONNECTION_TIMEOUT))
		waitFor(t, "the agent did not rejoin", func() bool { return e.agents.joins(room) == 2 })
	})

	for _, tc := range []struct {
		name   string
		reason livekit.DisconnectReason
		setup  func() (room, sid string)
	}{
		{"replaced by another replica's agent", livekit.DisconnectReason_DUPLICATE_IDENTITY, func() (string, string) {
			room := withPolls("Replaced")
			return room, e.agents.current(room).sid
		}},
		{"room closed", livekit.DisconnectReason_ROOM_CLOSED, func() (string, string) {
			room := withPolls("Closed")
			return room, e.agents.current(room).sid
		}},
		{"room deleted", livekit.DisconnectReason_ROOM_DELETED, func() (string, string) {
			room := withPolls("Deleted")
			return room, e.agents.current(room).sid
		}},
		{"an older connection, this replica's agent is there", livekit.DisconnectReason_SIGNAL_CLOSE, func() (string, string) {
			return withPolls("Older"), "PA_older"
		}},
		{"session over", livekit.DisconnectReason_CLIENT_INITIATED, func() (string, string) {
			room := withPolls("Over")
			sid := e.agents.current(room).sid
			s, err := e.st.GetLiveSession(e.ctx, room)
			if err != nil {
				t.Fatal(err)
			}
			s.Status, s.EndedAt = store.SessionEnded, time.Now().UTC()
			if err := e.st.UpdateSession(e.ctx, s); err != nil {
				t.Fatal(err)
			}
			e.polls.OnLiveKitEvent(e.ctx, roomFinished(room))
			waitFor(t, "the agent stayed", func() bool { return e.agents.current(room) == nil })
			return room, sid
		}},
		{"no polls", livekit.DisconnectReason_SIGNAL_CLOSE, func() (string, string) {
			m, _ := e.live("No polls")
			return m.ID, "PA_gone"
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			room, sid := tc.setup()
			before := e.agents.joins(room)
			e.polls.OnLiveKitEvent(e.ctx, agentLeft(room, sid, tc.reason))
			marker()
			if n := e.agents.joins(room); n != before {
				t.Errorf("the agent joined %d times, want %d: a leave that needs no agent reconnected it", n, before)
			}
		})
	}
}

// TestAgentOfADeadReplicaIsTakenOver: the agent of a replica that died is
// reconnected by the replica that checks, and only once that replica is
// known dead; the votes then reach the survivor.
func TestAgentOfADeadReplicaIsTakenOver(t *testing.T) {
	e := newEnv(t)
	owners := clustertest.NewOwners()
	a := e.replica(owners, "a/1", time.Hour)
	b := e.replica(owners, "b/1", 10*time.Millisecond)
	runService(t, b) // a does not run: it dies
	waitFor(t, "b did not start", func() bool { return owners.Takes("b/1") >= 1 })
	m, _ := e.live("Takeover")
	ada := e.participant(m, "ada", "group_call_host")
	poll, err := a.Create(e.ctx, appID, m.ID, polls.Input{Question: ptr("Q?"), Options: ptr([]string{"a", "b"})})
	if err != nil {
		t.Fatal(err)
	}
	item := "polls-agent:" + m.ID
	if o := owners.OwnerOf(item); o != "a/1" {
		t.Fatalf("the agent's owner is %q, want a/1", o)
	}
	e.sent(1) // poll.created

	// While a is alive, b checks and leaves its agent alone.
	checked := owners.Takes("b/1")
	waitFor(t, "b did not check", func() bool { return owners.Takes("b/1") >= checked+3 })
	if n := e.agents.joins(m.ID); n != 1 {
		t.Fatalf("the agent joined %d times while its replica lived, want 1", n)
	}

	owners.Die("a/1")
	waitFor(t, "b did not take the agent over", func() bool { return e.agents.joins(m.ID) == 2 })
	if o := owners.OwnerOf(item); o != "b/1" {
		t.Errorf("the agent's owner is %q, want b/1", o)
	}
	e.agents.deliver(t, m.ID, ada.ID, polls.Topic, map[string]any{"v": 1, "type": "poll.vote", "pollId": poll.ID, "option": 1})
	got := e.sent(1)
	if got[0].Type != polls.TypeUpdated || got[0].Poll.Options[1].Count != 1 {
		t.Fatalf("after the takeover, a vote gave %+v, want poll.updated with the vote counted", got[0])
	}
	ps, err := b.List(e.ctx, appID, poll.SessionID)
	if err != nil || len(ps) != 1 || !slices.Equal(ps[0].Voted, []string{ada.ID}) {
		t.Errorf("stored polls %+v, %v: want ada's vote", ps, err)
	}
}

// TestRoomFinishedReleasesTheAgent: a room's end records that no replica
// runs its agent, so no survivor reconnects it.
func TestRoomFinishedReleasesTheAgent(t *testing.T) {
	e := newEnv(t)
	owners := clustertest.NewOwners()
	a := e.replica(owners, "a/1", time.Hour)
	runService(t, a)
	waitFor(t, "a did not start", func() bool { return owners.Takes("a/1") >= 1 })
	m, _ := e.live("Ends")
	if _, err := a.Create(e.ctx, appID, m.ID, polls.Input{Question: ptr("Q?"), Options: ptr([]string{"a", "b"})}); err != nil {
		t.Fatal(err)
	}
	a.OnLiveKitEvent(e.ctx, roomFinished(m.ID))
	waitFor(t, "the agent was not released", func() bool { return owners.OwnerOf("polls-agent:"+m.ID) == "" })
}
