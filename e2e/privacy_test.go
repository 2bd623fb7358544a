//go:build e2e

package e2e

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"sync"
	"testing"
	"time"

	lksdk "github.com/livekit/server-sdk-go/v2"

	"rtk-sidecar/configs"
	"rtk-sidecar/presets"
	"rtk-sidecar/protocol"
	"rtk-sidecar/redact"
	"rtk-sidecar/sfu"
)

// TestPlacementEnforced: a plain LiveKit client (lksdk, no protocol: no rtk.move method, no
// event stream) that the start sends to a breakout room stays in the parent; by the move's
// deadline plus a second it hears nothing of the parent and the parent hears nothing of it,
// counted in RTP packets, because the sidecar removed it. It then reconnects to the parent with
// the LiveKit ticket it kept: it is removed again, and hears nothing meanwhile. The family is
// told each time (connectionRemoved).
func TestPlacementEnforced(t *testing.T) {
	const timeout = 3 * time.Second
	sc := StartSidecar(t, func(c *configs.Config) {
		c.Moves.Timeout, c.Moves.RedeliverAfter = timeout, 500*time.Millisecond
	})
	parent := sc.CreateMeeting(t, "Enforced")
	fam := &bkFamily{sc: sc, parent: parent, base: sc.AppPath + "/meetings/" + parent + "/connected-meetings"}
	st := fam.admin(t, 201, "POST", "", map[string]any{"version": 0, "count": 1})
	room := st.Meetings[0].ID
	obs := newFamilyObserver(t, sc, parent)

	hostID, hostToken := sc.AddParticipant(t, parent, "host", presets.GroupCallHost)
	plainID, plainToken := sc.AddParticipant(t, parent, "plain", presets.GroupCallParticipant)
	host := sc.Connect(t, hostToken)
	if err := host.PublishAudio(); err != nil {
		t.Fatal(err)
	}
	kept := sc.Join(t, plainToken) // the ticket the client keeps for later
	if kept.Room != parent {
		t.Fatalf("plain joins %s, want the parent", short(kept.Room))
	}
	plain := Join(t, kept.URL, kept.Token)
	if err := plain.PublishAudio(); err != nil {
		t.Fatal(err)
	}
	host.WaitHeard(t, plainID, 15*time.Second)
	plain.WaitHeard(t, hostID, 15*time.Second)

	st = fam.admin(t, 200, "POST", "/assign", map[string]any{"version": st.Version, "mode": "manual",
		"rooms": map[string][]string{room: {plainID}}})
	t0 := time.Now()
	fam.admin(t, 200, "POST", "/start", map[string]any{"version": st.Version})

	// From the deadline plus a second on, no packet goes either way.
	time.Sleep(time.Until(t0.Add(timeout + time.Second)))
	heard, heardBy := plain.PacketsFrom(hostID), host.PacketsFrom(plainID)
	time.Sleep(1500 * time.Millisecond)
	if n := plain.PacketsFrom(hostID) - heard; n != 0 {
		t.Errorf("plain received %d packets of the host in the parent after the deadline plus 1 s", n)
	}
	if n := host.PacketsFrom(plainID) - heardBy; n != 0 {
		t.Errorf("the host received %d packets of plain in the parent after the deadline plus 1 s", n)
	}
	if ids, err := sc.identities(parent); err != nil || slices.Contains(ids, plainID) {
		t.Errorf("the parent lists %v (%v), want plain gone", ids, err)
	}
	eventually(t, 5*time.Second, func() string {
		if rs := obs.removalsOf(plainID); len(rs) != 1 || rs[0].MeetingID != parent || rs[0].PlacedMeetingID != room ||
			rs[0].Reason != protocol.RemovedMoveFailed || rs[0].MoveID == "" {
			return fmt.Sprintf("removals of plain %+v, want one from the parent after its failed move", rs)
		}
		return ""
	})

	// It comes back to the parent with the ticket it kept.
	heardBy = host.PacketsFrom(plainID)
	back, err := JoinErr(t, kept.URL, kept.Token)
	if err != nil {
		t.Logf("the kept ticket's connection was removed while it came up: %v", err)
	}
	eventually(t, 5*time.Second, func() string {
		if ids, err := sc.identities(parent); err != nil || slices.Contains(ids, plainID) {
			return fmt.Sprintf("the parent lists %v (%v), want plain removed again", ids, err)
		}
		return ""
	})
	time.Sleep(500 * time.Millisecond)
	if back != nil {
		if n := back.PacketsFrom(hostID); n != 0 {
			t.Errorf("the connection with the kept ticket received %d packets of the host", n)
		}
	}
	if n := host.PacketsFrom(plainID) - heardBy; n != 0 {
		t.Errorf("the host received %d packets of plain after it came back", n)
	}
	eventually(t, 5*time.Second, func() string {
		if rs := obs.removalsOf(plainID); len(rs) != 2 || rs[1].MeetingID != parent || rs[1].PlacedMeetingID != room ||
			rs[1].Reason != protocol.RemovedNotPlaced {
			return fmt.Sprintf("removals of plain %+v, want a second one: not placed in the parent", rs)
		}
		return ""
	})
	// Its join lands in its room.
	if j := sc.Join(t, plainToken); j.Room != room {
		t.Errorf("plain's next join is to %s, want its room %s", short(j.Room), short(room))
	}
}

// TestNoSecretsInLogs runs a breakout with moves, among them rtk.move RPCs that the sidecar
// cancels because the client arrived before it answered (livekit-server then warns, with the
// whole request), a move that fails, a prepared connection and a listening one, with the
// sidecar logging everything and the SFU at debug. Neither log holds any token the run handed
// out (participant tokens, LiveKit tickets, the tokens of move instructions), the API key, the
// LiveKit secret, or anything shaped like a JWT.
func TestNoSecretsInLogs(t *testing.T) {
	var logs lockedBuffer
	sc := startSidecar(t, &logs, func(c *configs.Config) {
		c.Moves.Timeout, c.Moves.RedeliverAfter = 3*time.Second, 500*time.Millisecond
		c.LiveKit.Embedded.LogLevel = "debug"
	})
	secrets := &tokenSet{}
	secrets.add(e2eKey, sc.APISecret)
	parent := sc.CreateMeeting(t, "Secrets")
	fam := &bkFamily{sc: sc, parent: parent, base: sc.AppPath + "/meetings/" + parent + "/connected-meetings"}
	st := fam.admin(t, 201, "POST", "", map[string]any{"version": 0, "count": 2})
	r1, r2 := st.Meetings[0].ID, st.Meetings[1].ID
	obs := newFamilyObserver(t, sc, parent)

	add := func(name, preset string) (string, string, JoinInfo) {
		id, tok := sc.AddParticipant(t, parent, name, preset)
		j := sc.Join(t, tok)
		secrets.add(tok, j.Token)
		return id, tok, j
	}
	_, hostToken, hj := add("host", presets.GroupCallHost)
	clients := []*Participant{Join(t, hj.URL, hj.Token)}
	aID, aToken, aj := add("a", presets.GroupCallParticipant)
	a := joinLateAnswerer(t, aj, secrets)
	bID, _, bj := add("b", presets.GroupCallParticipant)
	b := joinLateAnswerer(t, bj, secrets)
	cID, _, cj := add("c", presets.GroupCallParticipant) // follows nothing
	clients = append(clients, Join(t, cj.URL, cj.Token))

	st = fam.admin(t, 200, "POST", "/assign", map[string]any{"version": st.Version, "mode": "manual",
		"rooms": map[string][]string{r1: {aID, cID}, r2: {bID}}})
	var prepared protocol.PrepareTicket
	if code := sc.Call(t, "POST", "/client/v1/connected-meetings/prepare", "Bearer "+aToken, nil, &prepared); code != 200 {
		t.Fatalf("prepare: %d", code)
	}
	secrets.add(prepared.Token)
	st = fam.admin(t, 200, "POST", "/start", map[string]any{"version": st.Version})
	var listen protocol.ListenTicket
	if code := sc.Call(t, "POST", "/client/v1/connected-meetings/listen", "Bearer "+hostToken, map[string]any{"meetingId": r1}, &listen); code != 200 {
		t.Fatalf("listen: %d", code)
	}
	secrets.add(listen.Token)
	eventually(t, 15*time.Second, func() string {
		switch {
		case a.moved() != 1 || b.moved() != 1:
			return fmt.Sprintf("a moved %d times, b %d, want once each", a.moved(), b.moved())
		case len(obs.failuresOf(cID)) != 1:
			return "no moveFailed for c yet"
		}
		return ""
	})
	fam.move(t, aID, r1, r2)
	eventually(t, 15*time.Second, func() string {
		if a.moved() != 2 {
			return fmt.Sprintf("a moved %d times, want twice", a.moved())
		}
		return ""
	})
	fam.admin(t, 200, "POST", "/close", map[string]any{"version": fam.state(t).Version})
	time.Sleep(2 * time.Second) // the close's moves, their cancelled RPCs and sweeps
	for _, c := range clients {
		c.Close()
	}
	a.close()
	b.close()
	sc.Stop(t)

	sfuLog, err := os.ReadFile(filepath.Join(sc.Cfg.LiveKit.Embedded.DataDir, sfu.LogFile))
	if err != nil {
		t.Fatal(err)
	}
	// The cancelled RPCs' warnings are there, their tokens redacted.
	cancelled := false
	for _, l := range bytes.Split(sfuLog, []byte("\n")) {
		cancelled = cancelled || (bytes.Contains(l, []byte(`"level":"warn"`)) && bytes.Contains(l, []byte("PerformRpc")) &&
			bytes.Contains(l, []byte(protocol.MoveMethod)) && bytes.Contains(l, []byte(redact.Marker)))
	}
	if !cancelled {
		t.Errorf("the SFU's log has no warning of a cancelled rtk.move RPC: the run did not test what it should")
	}
	for name, out := range map[string][]byte{"the sidecar's log": logs.Bytes(), "the SFU's log": sfuLog} {
		for _, s := range secrets.all() {
			if i := bytes.Index(out, []byte(s)); i >= 0 {
				t.Errorf("%s holds a secret (%.12s…): %s", name, s, line(out, i))
			}
		}
		if loc := jwtShape.FindIndex(out); loc != nil {
			t.Errorf("%s holds a JWT: %s", name, line(out, loc[0]))
		}
	}
}

// jwtShape is what a JWT looks like.
var jwtShape = regexp.MustCompile(`eyJ[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]{4,}\.`)

// line returns the line of out around offset i, shortened.
func line(out []byte, i int) string {
	start := bytes.LastIndexByte(out[:i], '\n') + 1
	end := bytes.IndexByte(out[i:], '\n')
	if end < 0 {
		end = len(out) - i
	}
	l := string(out[start : i+end])
	if len(l) > 400 {
		l = l[:400] + "…"
	}
	return l
}

// tokenSet collects the secrets a run hands out. It is safe for concurrent use.
type tokenSet struct {
	mu  sync.Mutex
	set []string
}

func (s *tokenSet) add(secrets ...string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, x := range secrets {
		if x != "" && !slices.Contains(s.set, x) {
			s.set = append(s.set, x)
		}
	}
}

func (s *tokenSet) all() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.set)
}

// lockedBuffer is a bytes.Buffer safe for concurrent use.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) Bytes() []byte {
	l.mu.Lock()
	defer l.mu.Unlock()
	return bytes.Clone(l.b.Bytes())
}

// lateAnswerer is an lksdk client that follows the move instructions it gets by RPC, but
// answers each only after it has moved: the sidecar sees it arrive first and cancels the RPC.
// It collects the instructions' tokens.
type lateAnswerer struct {
	t       *testing.T
	secrets *tokenSet
	mu      sync.Mutex
	rooms   []*lksdk.Room
	moves   int
}

func joinLateAnswerer(t *testing.T, j JoinInfo, secrets *tokenSet) *lateAnswerer {
	t.Helper()
	la := &lateAnswerer{t: t, secrets: secrets}
	t.Cleanup(la.close)
	if err := la.connect(j.URL, j.Token); err != nil {
		t.Fatalf("join %s: %v", short(j.Room), err)
	}
	return la
}

func (la *lateAnswerer) connect(url, token string) error {
	r := lksdk.NewRoom(lksdk.NewRoomCallback())
	err := r.RegisterRpcMethod(protocol.MoveMethod, func(d lksdk.RpcInvocationData) (string, error) {
		var in protocol.MoveInstruction
		if err := json.Unmarshal([]byte(d.Payload), &in); err != nil {
			return "", err
		}
		la.secrets.add(in.LiveKit.Token)
		if err := la.connect(in.LiveKit.URL, in.LiveKit.Token); err != nil {
			la.t.Errorf("follow move %s: %v", in.MoveID, err)
			return "", err
		}
		la.mu.Lock()
		la.moves++
		la.mu.Unlock()
		time.Sleep(700 * time.Millisecond) // the sidecar has seen the arrival and given up on this answer
		go r.Disconnect()
		return `{"v":1,"accepted":true}`, nil
	})
	if err != nil {
		return err
	}
	if err := r.JoinWithToken(url, token, lksdk.WithAutoSubscribe(false)); err != nil {
		return err
	}
	la.mu.Lock()
	la.rooms = append(la.rooms, r)
	la.mu.Unlock()
	return nil
}

// close leaves every room.
func (la *lateAnswerer) close() {
	la.mu.Lock()
	defer la.mu.Unlock()
	for _, r := range la.rooms {
		r.Disconnect()
	}
	la.rooms = nil
}

func (la *lateAnswerer) moved() int {
	la.mu.Lock()
	defer la.mu.Unlock()
	return la.moves
}
