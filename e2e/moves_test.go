//go:build e2e

package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	lksdk "github.com/livekit/server-sdk-go/v2"

	"rtk-sidecar/configs"
	"rtk-sidecar/presets"
	"rtk-sidecar/protocol"
	"rtk-sidecar/rtkclient"
)

// TestMoveNeverArrives: a participant whose client does not follow move
// instructions (a plain LiveKit client, without the rtk.move RPC method) is
// told twice, then reported to the family with moveFailed at the move
// timeout and removed from the room it did not leave; the sidecar keeps it
// placed in the destination, so when it comes back through the join
// endpoint it lands there, and the family gets the failed move's
// meetingChanged after all.
func TestMoveNeverArrives(t *testing.T) {
	const timeout = 3 * time.Second
	sc := StartSidecar(t, func(c *configs.Config) {
		c.Moves.Timeout, c.Moves.RedeliverAfter = timeout, 500*time.Millisecond
	})
	sf := stubbornInParent(t, sc, "Never arrives")
	fam, parent, room, obs := sf.fam, sf.parent, sf.room, sf.obs
	stubbornID, stubbornToken, stubborn := sf.id, sf.token, sf.client

	t0 := time.Now()
	fam.move(t, stubbornID, parent, room)

	// Reported once, at the timeout, with the move's id.
	var failed rtkclient.MoveFailed
	eventually(t, timeout+10*time.Second, func() string {
		f := obs.failuresOf(stubbornID)
		if len(f) == 0 {
			return "no moveFailed for stubborn yet"
		}
		failed = f[0]
		return ""
	})
	if at := time.Since(t0); at < timeout {
		t.Errorf("moveFailed after %s, before the move timeout %s", at.Round(time.Millisecond), timeout)
	}
	if failed.ToMeetingID != room || failed.MoveID == "" || failed.Reason == "" {
		t.Errorf("moveFailed = %+v, want the move to %s with a move id and a reason", failed, short(room))
	}
	// Told twice: the first instruction, and the repeat.
	if n := stubborn.instructions(failed.MoveID); n != 2 {
		t.Errorf("stubborn got %d instructions for move %s, want 2 (the instruction and its repeat)", n, failed.MoveID)
	}
	// It did not leave the parent, so the sidecar removed it from there.
	eventually(t, 2*time.Second, func() string {
		if ids, err := sc.identities(parent); err != nil || slices.Contains(ids, stubbornID) {
			return fmt.Sprintf("the parent lists %v (%v), want stubborn removed", ids, err)
		}
		return ""
	})
	// The sidecar stays the source of truth: stubborn is placed in the room.
	if got := fam.state(t).roomOf(stubbornID); got != room {
		t.Errorf("state places stubborn in %s, want %s", short(got), short(room))
	}
	if n := len(obs.arrivalsOf(stubbornID)); n != 0 {
		t.Errorf("%d meetingChanged for stubborn before it arrived", n)
	}

	// It comes back later through the join endpoint and lands in its room;
	// the family hears of the failed move's arrival.
	stubborn.close()
	back := joinPlain(t, sc, stubbornToken)
	if back.room != room {
		t.Fatalf("stubborn rejoined %s, want its room %s", short(back.room), short(room))
	}
	eventually(t, 10*time.Second, func() string {
		for _, a := range obs.arrivalsOf(stubbornID) {
			if a.MoveID == failed.MoveID && a.Meeting.ID == room {
				return ""
			}
		}
		return fmt.Sprintf("no meetingChanged for move %s yet (got %+v)", failed.MoveID, obs.arrivalsOf(stubbornID))
	})
	if f := obs.failuresOf(stubbornID); len(f) != 1 {
		t.Errorf("%d moveFailed for stubborn, want 1: %+v", len(f), f)
	}
}

// familyObserver is an rtkclient participant of a family that records the
// family's moveFailed and meetingChanged events.
type familyObserver struct {
	mu       sync.Mutex
	failed   []rtkclient.MoveFailed
	arrivals []rtkclient.MeetingChanged
	removed  []rtkclient.ConnectionRemoved
}

func newFamilyObserver(t *testing.T, sc *Sidecar, meeting string) *familyObserver {
	t.Helper()
	o := &familyObserver{}
	_, tok := sc.AddParticipant(t, meeting, "observer", presets.GroupCallHost)
	c := rtkclient.New(sc.BaseURL, tok, rtkclient.WithLogger(clientLog(t, "observer")), rtkclient.WithHandlers(rtkclient.Handlers{
		MoveFailed: func(f rtkclient.MoveFailed) {
			o.mu.Lock()
			defer o.mu.Unlock()
			o.failed = append(o.failed, f)
		},
		MeetingChanged: func(m rtkclient.MeetingChanged) {
			o.mu.Lock()
			defer o.mu.Unlock()
			o.arrivals = append(o.arrivals, m)
		},
		ConnectionRemoved: func(r rtkclient.ConnectionRemoved) {
			o.mu.Lock()
			defer o.mu.Unlock()
			o.removed = append(o.removed, r)
		},
	}))
	t.Cleanup(c.Close)
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	if _, err := c.Join(ctx); err != nil {
		t.Fatalf("observer: join: %v", err)
	}
	return o
}

func (o *familyObserver) failuresOf(id string) []rtkclient.MoveFailed {
	o.mu.Lock()
	defer o.mu.Unlock()
	return ofParticipant(o.failed, id, func(f rtkclient.MoveFailed) string { return f.ParticipantID })
}

func (o *familyObserver) arrivalsOf(id string) []rtkclient.MeetingChanged {
	o.mu.Lock()
	defer o.mu.Unlock()
	return ofParticipant(o.arrivals, id, func(m rtkclient.MeetingChanged) string { return m.ParticipantID })
}

func (o *familyObserver) removalsOf(id string) []rtkclient.ConnectionRemoved {
	o.mu.Lock()
	defer o.mu.Unlock()
	return ofParticipant(o.removed, id, func(r rtkclient.ConnectionRemoved) string { return r.ParticipantID })
}

// ofParticipant returns the events in evs about participant id, in order.
func ofParticipant[T any](evs []T, id string, participant func(T) string) []T {
	var out []T
	for _, e := range evs {
		if participant(e) == id {
			out = append(out, e)
		}
	}
	return out
}

// plainClient is a LiveKit client that joins through the join endpoint and
// knows nothing of moves: it registers no RPC method and only counts the
// instructions that reach it on the data topic, by move id.
type plainClient struct {
	room  string
	lk    *lksdk.Room
	mu    sync.Mutex
	moves map[string]int
	once  sync.Once
}

func joinPlain(t *testing.T, sc *Sidecar, token string) *plainClient {
	t.Helper()
	j := sc.Join(t, token)
	p := &plainClient{room: j.Room, moves: map[string]int{}}
	cb := lksdk.NewRoomCallback()
	cb.OnDataPacket = func(d lksdk.DataPacket, _ lksdk.DataReceiveParams) {
		u, ok := d.(*lksdk.UserDataPacket)
		if !ok || u.Topic != rtkclient.MoveTopic {
			return
		}
		var in protocol.MoveInstruction
		if err := json.Unmarshal(u.Payload, &in); err == nil && in.MoveID != "" {
			p.mu.Lock()
			p.moves[in.MoveID]++
			p.mu.Unlock()
		}
	}
	p.lk = lksdk.NewRoom(cb)
	if err := p.lk.JoinWithToken(j.URL, j.Token, lksdk.WithAutoSubscribe(false)); err != nil {
		t.Fatalf("plain client: join %s: %v", short(j.Room), err)
	}
	t.Cleanup(p.close)
	return p
}

func (p *plainClient) instructions(moveID string) int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.moves[moveID]
}

func (p *plainClient) close() { p.once.Do(p.lk.Disconnect) }

// stubbornFamily is a family with one room, observed by a family observer,
// whose participant "stubborn" sits in the parent with a plain client.
type stubbornFamily struct {
	fam          *bkFamily
	parent, room string
	obs          *familyObserver
	id, token    string
	client       *plainClient
}

// stubbornInParent creates a meeting titled title with one connected room,
// joins a family observer, and joins "stubborn" to the parent with a plain
// client, which ignores moves.
func stubbornInParent(t *testing.T, sc *Sidecar, title string) stubbornFamily {
	t.Helper()
	parent := sc.CreateMeeting(t, title)
	fam := &bkFamily{sc: sc, parent: parent, base: sc.AppPath + "/meetings/" + parent + "/connected-meetings"}
	room := fam.admin(t, 201, "POST", "", map[string]any{"version": 0, "count": 1}).Meetings[0].ID
	obs := newFamilyObserver(t, sc, parent)
	id, token := sc.AddParticipant(t, parent, "stubborn", presets.GroupCallParticipant)
	client := joinPlain(t, sc, token)
	if client.room != parent {
		t.Fatalf("stubborn joined %s, want the parent", short(client.room))
	}
	return stubbornFamily{fam: fam, parent: parent, room: room, obs: obs, id: id, token: token, client: client}
}
