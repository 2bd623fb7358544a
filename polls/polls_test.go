package polls_test

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/livekit/protocol/livekit"
	"github.com/livekit/psrpc"

	"rtk-sidecar/bridge"
	"rtk-sidecar/bridge/bridgetest"
	"rtk-sidecar/meetings"
	"rtk-sidecar/polls"
	"rtk-sidecar/presets"
	"rtk-sidecar/store"
	"rtk-sidecar/store/sqlstore"
	"rtk-sidecar/tokens"
)

const appID = "app-1"

type testWriter struct{ t *testing.T }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimSpace(string(p)))
	return len(p), nil
}

// fakeAgents connects pretend agents: a test hands them packets.
type fakeAgents struct {
	mu     sync.Mutex
	conns  map[string]*fakeConn
	joined map[string]int
	err    error
}

type fakeConn struct {
	a      *fakeAgents
	sid    string
	room   string
	onData func(polls.Packet)
	onGone func()
	closed bool
}

func (f *fakeAgents) Connect(_ context.Context, room string, onData func(polls.Packet), onGone func()) (polls.Conn, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.err != nil {
		return nil, f.err
	}
	f.joined[room]++
	c := &fakeConn{a: f, sid: fmt.Sprintf("PA_%s_%d", room, f.joined[room]), room: room, onData: onData, onGone: onGone}
	if old := f.conns[room]; old != nil && !old.closed {
		// LiveKit keeps one connection per identity: the older one goes.
		old.closed = true
		go old.onGone()
	}
	f.conns[room] = c
	return c, nil
}

// current returns the connection LiveKit keeps in room, nil for none.
func (f *fakeAgents) current(room string) *fakeConn {
	f.mu.Lock()
	defer f.mu.Unlock()
	if c := f.conns[room]; c != nil && !c.closed {
		return c
	}
	return nil
}

// joins returns how many times an agent connected to room.
func (f *fakeAgents) joins(room string) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.joined[room]
}

func (c *fakeConn) SID() string { return c.sid }

func (c *fakeConn) Close() {
	c.a.mu.Lock()
	defer c.a.mu.Unlock()
	c.closed = true
}

// connected reports whether an agent is connected to room.
func (f *fakeAgents) connected(room string) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	c := f.conns[room]
	return c != nil && !c.closed
}

// deliver hands the agent of room a data packet from sender.
func (f *fakeAgents) deliver(t *testing.T, room, sender, topic string, payload any) {
	t.Helper()
	f.mu.Lock()
	c := f.conns[room]
	f.mu.Unlock()
	if c == nil || c.closed {
		t.Fatalf("no agent in %s", room)
	}
	b, ok := payload.([]byte)
	if !ok {
		b, _ = json.Marshal(payload)
	}
	c.onData(polls.Packet{Sender: sender, Topic: topic, Payload: b})
}

type env struct {
	t      *testing.T
	ctx    context.Context
	st     *sqlstore.DB
	sfu    *bridgetest.SFU
	agents *fakeAgents
	svc    *meetings.Service
	polls  *polls.Service
	seen   int
}

func newEnv(t *testing.T) *env {
	t.Helper()
	ctx := t.Context()
	st, err := sqlstore.Open(ctx, "sqlite:"+filepath.Join(t.TempDir(), "rtk.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	log := slog.New(slog.NewTextHandler(testWriter{t}, &slog.HandlerOptions{Level: slog.LevelDebug}))
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	sfu := bridgetest.NewSFU()
	svc := meetings.New(st, tokens.NewIssuer(key, time.Hour), bridge.New(sfu, bridge.Keys{APIKey: "k", APISecret: "s"}, "ws://sfu"), log)
	if _, err := svc.EnsureApp(ctx, "acc", appID, "app"); err != nil {
		t.Fatal(err)
	}
	agents := &fakeAgents{conns: map[string]*fakeConn{}, joined: map[string]int{}}
	e := &env{t: t, ctx: ctx, st: st, sfu: sfu, agents: agents, svc: svc, polls: polls.New(st, sfu, agents, log)}
	return e
}

// run runs the service until the test ends.
func (e *env) run() {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- e.polls.Run(ctx) }()
	e.t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			e.t.Errorf("Run: %v", err)
		}
	})
}

// live creates a meeting with a running room and a LIVE session.
func (e *env) live(title string) (store.Meeting, store.Session) {
	e.t.Helper()
	m, err := e.svc.CreateMeeting(e.ctx, appID, meetings.MeetingInput{Title: title})
	if err != nil {
		e.t.Fatal(err)
	}
	e.sfu.StartRoom(m.ID, "")
	now := time.Now().UTC()
	s := store.Session{ID: "s-" + m.ID, AppID: appID, MeetingID: m.ID, Title: title, Status: store.SessionLive,
		StartedAt: now, CreatedAt: now, UpdatedAt: now}
	if err := e.st.CreateSession(e.ctx, s); err != nil {
		e.t.Fatal(err)
	}
	return m, s
}

func (e *env) participant(m store.Meeting, custom, preset string) meetings.Participant {
	e.t.Helper()
	name := "Name " + custom
	p, _, err := e.svc.AddParticipant(e.ctx, appID, m.ID, meetings.ParticipantInput{CustomParticipantID: &custom, PresetName: &preset, Name: &name})
	if err != nil {
		e.t.Fatal(err)
	}
	return p
}

// msg is a sent message of the polls protocol.
type msg struct {
	To      []string
	V       int         `json:"v"`
	Type    string      `json:"type"`
	Poll    *polls.Poll `json:"poll"`
	PollID  string      `json:"pollId"`
	Code    string      `json:"code"`
	Message string      `json:"message"`
}

// sent returns the messages sent to rooms since the last call, waiting up
// to a few seconds for at least n.
func (e *env) sent(n int) []msg {
	e.t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		ps := e.sfu.Packets()
		if len(ps)-e.seen >= n || time.Now().After(deadline) {
			var out []msg
			for _, p := range ps[e.seen:] {
				if p.Topic != polls.Topic {
					e.t.Errorf("packet on topic %q", p.Topic)
				}
				var m msg
				if err := json.Unmarshal(p.Data, &m); err != nil || m.V != 1 {
					e.t.Fatalf("packet %s: %v", p.Data, err)
				}
				m.To = p.Identities
				out = append(out, m)
			}
			e.seen = len(ps)
			if len(out) < n {
				e.t.Fatalf("%d messages sent, want %d", len(out), n)
			}
			return out
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func wantCode(t *testing.T, what string, err error, code psrpc.ErrorCode) {
	t.Helper()
	var perr psrpc.Error
	if !errors.As(err, &perr) || perr.Code() != code {
		t.Errorf("%s: err = %v, want %s", what, err, code)
	}
}

func ptr[T any](v T) *T { return &v }

func TestCreate(t *testing.T) {
	e := newEnv(t)
	idle, err := e.svc.CreateMeeting(e.ctx, appID, meetings.MeetingInput{Title: "Idle"})
	if err != nil {
		t.Fatal(err)
	}
	_, err = e.polls.Create(e.ctx, appID, idle.ID, polls.Input{Question: ptr("Q?"), Options: ptr([]string{"a", "b"})})
	wantCode(t, "Create(no live session)", err, psrpc.NotFound)
	m, s := e.live("Live")
	for _, tc := range []struct {
		in   polls.Input
		want string
	}{
		{polls.Input{Options: ptr([]string{"a", "b"})}, `"question" is required`},
		{polls.Input{Question: ptr("  "), Options: ptr([]string{"a", "b"})}, `"question" is required`},
		{polls.Input{Question: ptr("Q?")}, `"options" is required`},
		{polls.Input{Question: ptr("Q?"), Options: ptr([]string{"only"})}, `"options" must have between 2`},
		{polls.Input{Question: ptr("Q?"), Options: ptr([]string{"a", ""})}, `"options" must hold non-empty`},
	} {
		_, err := e.polls.Create(e.ctx, appID, m.ID, tc.in)
		if wantCode(t, tc.want, err, psrpc.InvalidArgument); err != nil && !strings.Contains(err.Error(), tc.want) {
			t.Errorf("err = %v, want %q", err, tc.want)
		}
	}
	if e.agents.connected(m.ID) {
		t.Error("an invalid poll connected the agent")
	}

	p, err := e.polls.Create(e.ctx, appID, m.ID, polls.Input{Question: ptr(" Lunch? "), Options: ptr([]string{"Pizza", "Sushi"}), Anonymous: true})
	if err != nil {
		t.Fatal(err)
	}
	if p.ID == "" || p.Question != "Lunch?" || len(p.Options) != 2 || p.Options[1].Text != "Sushi" || p.Options[0].Votes == nil ||
		!p.Anonymous || p.HideVotes || p.CreatedBy != polls.CreatedByAPI || p.Voted == nil || p.SessionID != s.ID || p.MeetingID != m.ID {
		t.Errorf("poll = %+v", p)
	}
	if !e.agents.connected(m.ID) {
		t.Error("the agent is not in the room")
	}
	msgs := e.sent(1)
	if msgs[0].Type != polls.TypeCreated || msgs[0].Poll == nil || msgs[0].Poll.ID != p.ID || len(msgs[0].To) != 0 {
		t.Errorf("announcement = %+v", msgs[0])
	}
	// A second poll reuses the agent.
	if _, err := e.polls.Create(e.ctx, appID, m.ID, polls.Input{Question: ptr("Again?"), Options: ptr([]string{"y", "n"})}); err != nil {
		t.Fatal(err)
	}
	if n := e.agents.joined[m.ID]; n != 1 {
		t.Errorf("agent joined %d times, want 1", n)
	}
	list, err := e.polls.List(e.ctx, appID, s.ID)
	if err != nil || len(list) != 2 || list[0].ID != p.ID {
		t.Errorf("List = %v, %v", list, err)
	}

	// LiveKit down: no agent, no poll.
	m2, s2 := e.live("Outage")
	e.agents.mu.Lock()
	e.agents.err = errors.New("connection refused")
	e.agents.mu.Unlock()
	_, err = e.polls.Create(e.ctx, appID, m2.ID, polls.Input{Question: ptr("Q?"), Options: ptr([]string{"a", "b"})})
	wantCode(t, "Create(LiveKit down)", err, psrpc.Unavailable)
	if list, _ := e.polls.List(e.ctx, appID, s2.ID); len(list) != 0 {
		t.Errorf("polls after a failed create: %v", list)
	}
}

func TestVotes(t *testing.T) {
	e := newEnv(t)
	e.run()
	m, _ := e.live("Votes")
	ada := e.participant(m, "ada", presets.GroupCallHost)
	bob := e.participant(m, "bob", presets.WebinarViewer)
	rec := e.participant(m, "rec", presets.Recorder) // polls.can_vote false
	p, err := e.polls.Create(e.ctx, appID, m.ID, polls.Input{Question: ptr("Lunch?"), Options: ptr([]string{"Pizza", "Sushi"})})
	if err != nil {
		t.Fatal(err)
	}
	e.sent(1)

	vote := func(sender string, option any) {
		e.agents.deliver(t, m.ID, sender, polls.Topic, map[string]any{"v": 1, "type": polls.TypeVote, "pollId": p.ID, "option": option})
	}
	vote(ada.ID, 1)
	got := e.sent(1)[0]
	if got.Type != polls.TypeUpdated || got.Poll.Options[1].Count != 1 || len(got.Poll.Options[1].Votes) != 1 ||
		got.Poll.Options[1].Votes[0].ID != ada.ID || got.Poll.Options[1].Votes[0].Name != "Name ada" || got.Poll.Voted[0] != ada.ID || len(got.To) != 0 {
		t.Errorf("results after ada's vote = %+v", got)
	}
	vote(bob.ID, 0)
	if got := e.sent(1)[0]; got.Poll.Options[0].Count != 1 || got.Poll.Options[1].Count != 1 || len(got.Poll.Voted) != 2 {
		t.Errorf("results after bob's vote = %+v", got.Poll)
	}

	for _, tc := range []struct {
		name    string
		sender  string
		payload any
		code    string
	}{
		{"second vote", ada.ID, map[string]any{"v": 1, "type": polls.TypeVote, "pollId": p.ID, "option": 0}, polls.ErrCodeAlreadyVoted},
		{"preset without can_vote", rec.ID, map[string]any{"v": 1, "type": polls.TypeVote, "pollId": p.ID, "option": 0}, polls.ErrCodeNotAllowed},
		{"a stranger", "someone-else", map[string]any{"v": 1, "type": polls.TypeVote, "pollId": p.ID, "option": 0}, polls.ErrCodeNotAllowed},
		{"option out of range", rec.ID, map[string]any{"v": 1, "type": polls.TypeVote, "pollId": p.ID, "option": 2}, polls.ErrCodeBadOption},
		{"unknown poll", ada.ID, map[string]any{"v": 1, "type": polls.TypeVote, "pollId": "nope", "option": 0}, polls.ErrCodeUnknownPoll},
		{"no option", ada.ID, map[string]any{"v": 1, "type": polls.TypeVote, "pollId": p.ID}, polls.ErrCodeBadRequest},
		{"not JSON", ada.ID, []byte("vote!"), polls.ErrCodeBadRequest},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e.agents.deliver(t, m.ID, tc.sender, polls.Topic, tc.payload)
			got := e.sent(1)[0]
			if got.Type != polls.TypeError || got.Code != tc.code || len(got.To) != 1 || got.To[0] != tc.sender || got.Message == "" {
				t.Errorf("answer = %+v, want %s to %s", got, tc.code, tc.sender)
			}
		})
	}
	// Other topics and other message types are not the server's business:
	// packets are handled in order, and the first answer after them is the
	// one to a vote for an unknown poll sent last.
	e.agents.deliver(t, m.ID, ada.ID, "chat", map[string]any{"type": polls.TypeVote, "pollId": p.ID, "option": 0})
	e.agents.deliver(t, m.ID, ada.ID, polls.Topic, map[string]any{"v": 1, "type": polls.TypeUpdated})
	e.agents.deliver(t, m.ID, ada.ID, polls.Topic, map[string]any{"v": 1, "type": polls.TypeVote, "pollId": "nope", "option": 0})
	if got := e.sent(1); len(got) != 1 || got[0].Code != polls.ErrCodeUnknownPoll {
		t.Errorf("answers = %+v, want only the one to the unknown poll: none to packets not for the server", got)
	}
	list, err := e.polls.List(e.ctx, appID, p.SessionID)
	if err != nil || list[0].Options[0].Count != 1 || list[0].Options[1].Count != 1 {
		t.Errorf("stored results = %+v, %v", list, err)
	}
}

func TestAnonymousAndHiddenVotes(t *testing.T) {
	e := newEnv(t)
	e.run()
	m, _ := e.live("Secret")
	ada := e.participant(m, "ada", presets.GroupCallHost)
	anon, err := e.polls.Create(e.ctx, appID, m.ID, polls.Input{Question: ptr("A?"), Options: ptr([]string{"x", "y"}), Anonymous: true})
	if err != nil {
		t.Fatal(err)
	}
	hid, err := e.polls.Create(e.ctx, appID, m.ID, polls.Input{Question: ptr("H?"), Options: ptr([]string{"x", "y"}), HideVotes: true})
	if err != nil {
		t.Fatal(err)
	}
	e.sent(2)
	e.agents.deliver(t, m.ID, ada.ID, polls.Topic, map[string]any{"v": 1, "type": polls.TypeVote, "pollId": anon.ID, "option": 0})
	if got := e.sent(1)[0]; got.Poll.Options[0].Count != 1 || len(got.Poll.Options[0].Votes) != 0 {
		t.Errorf("anonymous results name the voter: %+v", got.Poll)
	}
	e.agents.deliver(t, m.ID, ada.ID, polls.Topic, map[string]any{"v": 1, "type": polls.TypeVote, "pollId": hid.ID, "option": 1})
	got := e.sent(2)
	if room := got[0]; len(room.To) != 0 || room.Poll.Options[1].Count != 0 || len(room.Poll.Voted) != 1 {
		t.Errorf("room's view of a hide_votes poll: %+v", room)
	}
	if mine := got[1]; len(mine.To) != 1 || mine.To[0] != ada.ID || mine.Poll.Options[1].Count != 1 {
		t.Errorf("voter's view of a hide_votes poll: %+v", mine)
	}
}

func TestAgentLifecycle(t *testing.T) {
	e := newEnv(t)
	m, _ := e.live("Lifecycle")
	if _, err := e.polls.Create(e.ctx, appID, m.ID, polls.Input{Question: ptr("Q?"), Options: ptr([]string{"a", "b"})}); err != nil {
		t.Fatal(err)
	}
	// The room finishes: the agent leaves.
	e.polls.OnLiveKitEvent(e.ctx, roomFinished(m.ID))
	waitFor(t, "the agent stayed in a finished room", func() bool { return !e.agents.connected(m.ID) })

	// After a restart, Run brings the agent back to live sessions with polls.
	other, _ := e.live("No polls")
	restarted := polls.New(e.st, e.sfu, e.agents, slog.New(slog.NewTextHandler(testWriter{t}, nil)))
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- restarted.Run(ctx) }()
	deadline := time.Now().Add(5 * time.Second)
	for !e.agents.connected(m.ID) && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	if !e.agents.connected(m.ID) || e.agents.connected(other.ID) {
		t.Errorf("after restart: agent in %s %v (want true), in %s %v (want false)", m.ID, e.agents.connected(m.ID), other.ID, e.agents.connected(other.ID))
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if e.agents.connected(m.ID) {
		t.Error("Run left its agent connected")
	}
}

func roomFinished(room string) *livekit.WebhookEvent {
	return &livekit.WebhookEvent{Id: "EV_1", Event: "room_finished", Room: &livekit.Room{Name: room}}
}
