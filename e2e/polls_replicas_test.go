//go:build e2e

package e2e

import (
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/livekit/protocol/livekit"
)

// TestReplicasReconnectThePollsAgent: the replica whose polls agent is in a room is killed
// with SIGKILL; the survivor connects the agent again once the victim's liveness has lapsed,
// and a vote sent afterwards is counted.
func TestReplicasReconnectThePollsAgent(t *testing.T) {
	ctx := t.Context()
	cl := startCluster(t, 1)
	node, sc := cl.nodes[0], cl.sc
	victim, survivor := cl.reps[0], cl.reps[1]

	meeting := sc.CreateMeeting(t, "Polls across replicas")
	guestID, guestTok := sc.AddParticipant(t, meeting, "guest", "group_call_participant")
	guest := connectData(t, sc, guestTok)
	active := waitLive(t, sc, meeting, 1)

	// The poll is created on the victim: its agent joins the room.
	onVictim := cl.direct(victim)
	pollID := askShipIt(t, onVictim, meeting, guest)
	agentSID := func() string {
		p, err := node.Rooms.GetParticipant(ctx, &livekit.RoomParticipantIdentity{Room: meeting, Identity: "rtk-agent"})
		if err != nil {
			return ""
		}
		return p.Sid
	}
	first := agentSID()
	if first == "" {
		t.Fatal("no polls agent in the room after the poll was created")
	}

	victim.kill(t)
	killed := time.Now()
	t.Logf("SIGKILL %s, whose agent %s is in the room", victim.node, first)

	// The survivor's agent replaces the victim's.
	var second string
	eventually(t, 20*time.Second, func() string {
		if sid := agentSID(); sid != "" && sid != first {
			second = sid
			return ""
		}
		return "the victim's agent is still the room's"
	})
	t.Logf("BENCH polls agent reconnected %s after the SIGKILL of its replica (%s)",
		time.Since(killed).Round(time.Millisecond), second)
	// It is the survivor's, which says why it connected it.
	var lines []string
	eventually(t, 5*time.Second, func() string {
		lines = lines[:0]
		for line := range strings.Lines(string(survivor.logs.Bytes())) {
			if strings.Contains(line, "polls agent") {
				lines = append(lines, strings.TrimSpace(line))
			}
		}
		if len(lines) == 0 {
			return survivor.node + " logged no polls agent"
		}
		return ""
	})
	for _, l := range lines {
		t.Logf("%s: %s", survivor.node, l)
	}

	// A vote now is counted.
	voteYes(t, guest, pollID, guestID)
	onSurvivor := cl.direct(survivor)
	var listed struct {
		Polls []struct {
			Voted []string `json:"voted"`
		} `json:"polls"`
	}
	onSurvivor.Must(t, "GET", sc.AppPath+"/sessions/"+active.ID+"/polls", nil, &listed)
	if len(listed.Polls) != 1 || !slices.Equal(listed.Polls[0].Voted, []string{guestID}) {
		t.Errorf("stored polls = %+v, want the guest's vote", listed.Polls)
	}
}
