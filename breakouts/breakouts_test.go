package breakouts_test

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"fmt"
	"io"
	"log/slog"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/livekit/psrpc"

	"rtk-sidecar/breakouts"
	"rtk-sidecar/breakouts/breakoutstest"
	"rtk-sidecar/bridge"
	"rtk-sidecar/bridge/bridgetest"
	"rtk-sidecar/meetings"
	"rtk-sidecar/presets"
	"rtk-sidecar/store"
	"rtk-sidecar/store/sqlstore"
	"rtk-sidecar/tokens"
)

const appID = "0d9c8b7a-6e5f-4a3b-9c2d-1e0f9a8b7c6d"

type world struct {
	st      store.Store
	bridge  *bridge.Bridge
	rooms   *bridgetest.Rooms
	meeting string
	host    string
	people  []string
	log     *slog.Logger
	svc     *meetings.Service
}

// add adds a participant to the world's meeting.
func (w *world) add(t *testing.T, custom, preset string) store.Participant {
	t.Helper()
	p, _, err := w.svc.AddParticipant(t.Context(), appID, w.meeting, meetings.ParticipantInput{CustomParticipantID: &custom, PresetName: &preset})
	if err != nil {
		t.Fatal(err)
	}
	return p.Participant
}

func newWorld(t *testing.T, n int) *world {
	t.Helper()
	ctx := t.Context()
	st, err := sqlstore.Open(ctx, "sqlite:"+filepath.Join(t.TempDir(), "rtk.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	rooms := bridgetest.NewRooms()
	br := bridge.New(rooms, bridge.Keys{APIKey: "k", APISecret: "s"}, "ws://sfu")
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	svc := meetings.New(st, tokens.NewIssuer(key, time.Hour), br, log)
	if _, err := svc.EnsureApp(ctx, "acc", appID, "app"); err != nil {
		t.Fatal(err)
	}
	m, err := svc.CreateMeeting(ctx, appID, meetings.MeetingInput{Title: "Main"})
	if err != nil {
		t.Fatal(err)
	}
	w := &world{st: st, bridge: br, rooms: rooms, meeting: m.ID, log: log, svc: svc}
	add := func(custom, preset string) string {
		p, _, err := svc.AddParticipant(ctx, appID, m.ID, meetings.ParticipantInput{CustomParticipantID: &custom, PresetName: &preset})
		if err != nil {
			t.Fatal(err)
		}
		return p.ID
	}
	w.host = add("host", presets.GroupCallHost)
	for i := range n {
		w.people = append(w.people, add(fmt.Sprintf("p%02d", i), presets.GroupCallParticipant))
	}
	return w
}

// run starts a Service's Run for the rest of the test.
func run(t *testing.T, s *breakouts.Service) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error)
	go func() { done <- s.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Run: %v", err)
		}
	})
}

func ptr[T any](v T) *T { return &v }

func wait(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// A participant moved again while its first move is still running goes
// where it was sent last, and a move that was overtaken before it ran is
// never carried out.
func TestLatestPlacementWins(t *testing.T) {
	w := newWorld(t, 1)
	ctx := t.Context()
	mover := breakoutstest.NewMover()
	mover.Delay = 200 * time.Millisecond
	s := breakouts.New(w.st, w.bridge, mover, w.log)
	run(t, s)
	p := w.people[0]
	mover.Connect(p, w.meeting)

	st, ids, err := s.CreateRooms(ctx, appID, w.meeting, breakouts.Admin, ptr[int64](0), make([]breakouts.RoomTitle, 3))
	if err != nil {
		t.Fatal(err)
	}
	a, b, c := ids[0], ids[1], ids[2]
	move := func(from, to string) {
		t.Helper()
		var err error
		st, err = s.MoveParticipants(ctx, appID, w.meeting, breakouts.Admin, &st.Version,
			breakouts.MoveRequest{From: from, To: to, Participants: []breakouts.MoveParticipant{{ID: p}}})
		if err != nil {
			t.Fatal(err)
		}
	}
	move(w.meeting, a) // runs at once (takes 200 ms)
	wait(t, "the first move to begin", func() bool { return mover.Begun() == 1 })
	move(a, b) // waits behind it...
	move(b, c) // ...and is overtaken by this one
	if st.RoomOf(p) != c {
		t.Fatalf("placed in %s, want %s", st.RoomOf(p), c)
	}
	wait(t, "the participant to reach its last room", func() bool { return mover.Where(p) == c })
	time.Sleep(300 * time.Millisecond) // room for a stray move to show up
	var path []string
	for _, m := range mover.Moves() {
		path = append(path, m.FromRoom+">"+m.ToRoom)
	}
	if len(path) != 2 || path[0] != w.meeting+">"+a || path[1] != a+">"+c {
		t.Fatalf("moves = %v, want main>a then a>c", path)
	}
}

// A close countdown survives a restart: a new service closes the rooms
// when the countdown ends.
func TestCountdownSurvivesRestart(t *testing.T) {
	w := newWorld(t, 2)
	ctx := t.Context()
	first := breakouts.New(w.st, w.bridge, breakoutstest.NewMover(), w.log) // never runs: it "crashes"
	st, ids, err := first.CreateRooms(ctx, appID, w.meeting, breakouts.Admin, ptr[int64](0), make([]breakouts.RoomTitle, 1))
	if err != nil {
		t.Fatal(err)
	}
	st, err = first.Assign(ctx, appID, w.meeting, breakouts.Admin, &st.Version,
		breakouts.Assignment{Manual: map[string][]string{ids[0]: w.people}})
	if err != nil {
		t.Fatal(err)
	}
	if st, err = first.Start(ctx, appID, w.meeting, breakouts.Admin, &st.Version, breakouts.StartOptions{}); err != nil {
		t.Fatal(err)
	}
	if st, err = first.Close(ctx, appID, w.meeting, breakouts.Admin, &st.Version, time.Second); err != nil {
		t.Fatal(err)
	}
	if st.Status != store.FamilyClosing {
		t.Fatalf("status %s, want closing", st.Status)
	}

	mover := breakoutstest.NewMover()
	for _, p := range w.people {
		mover.Connect(p, ids[0])
	}
	second := breakouts.New(w.st, w.bridge, mover, w.log)
	run(t, second)
	wait(t, "the countdown to close the rooms", func() bool {
		st, err := second.State(ctx, appID, w.meeting, breakouts.Admin)
		return err == nil && st.Status == store.FamilyIdle && len(st.Parent.Participants) == 3
	})
	wait(t, "everyone to be moved back", func() bool {
		return mover.Where(w.people[0]) == w.meeting && mover.Where(w.people[1]) == w.meeting
	})
}

// The auto assignment is even whatever the numbers.
func TestAutoAssignIsEven(t *testing.T) {
	for _, tc := range []struct{ people, rooms int }{{9, 3}, {10, 3}, {2, 5}, {7, 1}} {
		w := newWorld(t, tc.people)
		ctx := t.Context()
		s := breakouts.New(w.st, w.bridge, breakoutstest.NewMover(), w.log)
		st, _, err := s.CreateRooms(ctx, appID, w.meeting, breakouts.Admin, ptr[int64](0), make([]breakouts.RoomTitle, tc.rooms))
		if err != nil {
			t.Fatal(err)
		}
		st, err = s.Assign(ctx, appID, w.meeting, breakouts.Admin, &st.Version, breakouts.Assignment{Auto: true})
		if err != nil {
			t.Fatal(err)
		}
		lo, hi, total := tc.people, 0, 0
		for _, r := range st.Rooms {
			lo, hi, total = min(lo, len(r.Assigned)), max(hi, len(r.Assigned)), total+len(r.Assigned)
		}
		if total != tc.people || hi-lo > 1 {
			t.Errorf("%d people in %d rooms: sizes from %d to %d, %d assigned", tc.people, tc.rooms, lo, hi, total)
		}
		st, err = s.Assign(ctx, appID, w.meeting, breakouts.Admin, &st.Version, breakouts.Assignment{Auto: true, IncludeHosts: true})
		if err != nil {
			t.Fatal(err)
		}
		total = 0
		for _, r := range st.Rooms {
			total += len(r.Assigned)
		}
		if total != tc.people+1 {
			t.Errorf("with hosts: %d assigned, want %d", total, tc.people+1)
		}
	}
}

// A timer closes started rooms: the family runs with endsAt, turns closing (with the closing
// event to the rooms) when the warning begins, and closes at endsAt. A start without a timer
// keeps the one set; a zero duration removes it; bad timers are refused.
func TestTimer(t *testing.T) {
	w := newWorld(t, 2)
	ctx := t.Context()
	mover := breakoutstest.NewMover()
	for _, p := range w.people {
		mover.Connect(p, w.meeting)
	}
	s := breakouts.New(w.st, w.bridge, mover, w.log)
	run(t, s)
	st, ids, err := s.CreateRooms(ctx, appID, w.meeting, breakouts.Admin, ptr[int64](0), make([]breakouts.RoomTitle, 1))
	if err != nil {
		t.Fatal(err)
	}
	st, err = s.Assign(ctx, appID, w.meeting, breakouts.Admin, &st.Version, breakouts.Assignment{Manual: map[string][]string{ids[0]: w.people}})
	if err != nil {
		t.Fatal(err)
	}
	for _, bad := range []breakouts.Timer{{Duration: -time.Second}, {Duration: 25 * time.Hour}, {Duration: time.Minute, Warning: 11 * time.Minute}} {
		if _, err := s.Start(ctx, appID, w.meeting, breakouts.Admin, &st.Version, breakouts.StartOptions{Timer: &bad}); code(err) != psrpc.InvalidArgument {
			t.Errorf("timer %+v: %v, want InvalidArgument", bad, err)
		}
	}
	// A long timer, then a start without one (it stays), then a zero one (it goes).
	start := time.Now()
	if st, err = s.Start(ctx, appID, w.meeting, breakouts.Admin, &st.Version, breakouts.StartOptions{Timer: &breakouts.Timer{Duration: time.Hour, Warning: time.Minute}}); err != nil {
		t.Fatal(err)
	}
	if st.Status != store.FamilyRunning || st.EndsAt.Sub(start) < time.Hour-time.Second || st.EndsAt.Sub(start) > time.Hour+time.Second || !st.ClosingAt.IsZero() {
		t.Fatalf("started with a timer: status %s, ends %v, closing %v", st.Status, st.EndsAt, st.ClosingAt)
	}
	ends := st.EndsAt
	if st, err = s.Start(ctx, appID, w.meeting, breakouts.Admin, &st.Version, breakouts.StartOptions{}); err != nil || !st.EndsAt.Equal(ends) {
		t.Fatalf("a start without a timer: ends %v (%v), want %v kept", st.EndsAt, err, ends)
	}
	if st, err = s.Start(ctx, appID, w.meeting, breakouts.Admin, &st.Version, breakouts.StartOptions{Timer: &breakouts.Timer{}}); err != nil || !st.EndsAt.IsZero() {
		t.Fatalf("a zero timer: ends %v (%v), want none", st.EndsAt, err)
	}

	// A short one: 1.5 s, the last second of it a countdown.
	packets := len(w.rooms.Packets())
	if st, err = s.Start(ctx, appID, w.meeting, breakouts.Admin, &st.Version, breakouts.StartOptions{Timer: &breakouts.Timer{Duration: 1500 * time.Millisecond, Warning: time.Second}}); err != nil {
		t.Fatal(err)
	}
	ends = st.EndsAt
	wait(t, "the countdown to begin", func() bool {
		st, err := s.State(ctx, appID, w.meeting, breakouts.Admin)
		return err == nil && st.Status == store.FamilyClosing
	})
	if began := time.Now(); began.Before(ends.Add(-time.Second - 100*time.Millisecond)) {
		t.Errorf("the countdown began %s before the end, want about 1 s", ends.Sub(began))
	}
	if st, _ := s.State(ctx, appID, w.meeting, breakouts.Admin); !st.ClosingAt.Equal(ends) {
		t.Errorf("closing at %v, want the timer's end %v", st.ClosingAt, ends)
	}
	wait(t, "the closing event", func() bool {
		for _, p := range w.rooms.Packets()[packets:] {
			if strings.Contains(string(p.Data), `"type":"closing"`) {
				return true
			}
		}
		return false
	})
	wait(t, "the rooms to close at the end", func() bool {
		st, err := s.State(ctx, appID, w.meeting, breakouts.Admin)
		return err == nil && st.Status == store.FamilyIdle && len(st.Parent.Participants) == 3 && st.EndsAt.IsZero()
	})
	if now := time.Now(); now.Before(ends) {
		t.Errorf("closed %s before the timer's end", ends.Sub(now))
	}
}

// Late joiners: with AssignLateJoiners, a participant added after the start is placed in the
// least full room when it joins, once; hosts are not, nor anyone once the rooms are closed or
// without the setting.
func TestLateJoiners(t *testing.T) {
	w := newWorld(t, 3)
	ctx := t.Context()
	s := breakouts.New(w.st, w.bridge, breakoutstest.NewMover(), w.log)
	st, ids, err := s.CreateRooms(ctx, appID, w.meeting, breakouts.Admin, ptr[int64](0), make([]breakouts.RoomTitle, 2))
	if err != nil {
		t.Fatal(err)
	}
	// Two in the first room, one in the second: the second is the least full.
	st, err = s.Assign(ctx, appID, w.meeting, breakouts.Admin, &st.Version,
		breakouts.Assignment{Manual: map[string][]string{ids[0]: w.people[:2], ids[1]: w.people[2:]}})
	if err != nil {
		t.Fatal(err)
	}
	late := w.add(t, "late", presets.GroupCallParticipant)
	if room, err := s.PlaceLateJoiner(ctx, late); err != nil || room != "" {
		t.Fatalf("before the start: placed in %q (%v)", room, err)
	}
	on := true
	if st, err = s.Start(ctx, appID, w.meeting, breakouts.Admin, &st.Version, breakouts.StartOptions{AssignLateJoiners: &on}); err != nil || !st.AssignLateJoiners {
		t.Fatalf("start: %+v, %v", st, err)
	}
	room, err := s.PlaceLateJoiner(ctx, late)
	if err != nil || room != ids[1] {
		t.Fatalf("late joiner placed in %q (%v), want the least full room %s", room, err, ids[1])
	}
	if again, err := s.PlaceLateJoiner(ctx, late); err != nil || again != "" {
		t.Errorf("placed twice: %q (%v)", again, err)
	}
	st, _ = s.State(ctx, appID, w.meeting, breakouts.Admin)
	if r := st.Rooms[1]; len(r.Participants) != 2 || !slices.Contains(r.Assigned, late.ID) {
		t.Errorf("room %s: %+v", ids[1], r)
	}
	// The next one goes to the first room (2 and 2: the oldest of the least full).
	next := w.add(t, "next", presets.GroupCallParticipant)
	if room, err := s.PlaceLateJoiner(ctx, next); err != nil || room != ids[0] {
		t.Errorf("the next late joiner placed in %q (%v), want %s", room, err, ids[0])
	}
	host := w.add(t, "cohost", presets.GroupCallHost)
	if room, err := s.PlaceLateJoiner(ctx, host); err != nil || room != "" {
		t.Errorf("a host placed in %q (%v)", room, err)
	}
	// Once closed, nobody is placed, and the setting is gone.
	st, _ = s.State(ctx, appID, w.meeting, breakouts.Admin)
	if st, err = s.Close(ctx, appID, w.meeting, breakouts.Admin, &st.Version, 0); err != nil || st.AssignLateJoiners {
		t.Fatalf("close: %+v, %v", st, err)
	}
	last := w.add(t, "last", presets.GroupCallParticipant)
	if room, err := s.PlaceLateJoiner(ctx, last); err != nil || room != "" {
		t.Errorf("after the close: placed in %q (%v)", room, err)
	}
}

// gate is a Leader that lets its work run only once opened: a replica that
// waits for the countdowns' lease.
type gate struct {
	open chan struct{}
	name string
}

func (g *gate) Lead(ctx context.Context, name string, f func(context.Context) error) error {
	g.name = name
	select {
	case <-g.open:
		return f(ctx)
	case <-ctx.Done():
		return nil
	}
}

// closing starts the world's family with everyone in one room and closes
// it with a countdown of grace.
func closing(t *testing.T, w *world, s *breakouts.Service, grace time.Duration) (room string) {
	t.Helper()
	ctx := t.Context()
	st, ids, err := s.CreateRooms(ctx, appID, w.meeting, breakouts.Admin, ptr[int64](0), make([]breakouts.RoomTitle, 1))
	if err != nil {
		t.Fatal(err)
	}
	if st, err = s.Assign(ctx, appID, w.meeting, breakouts.Admin, &st.Version,
		breakouts.Assignment{Manual: map[string][]string{ids[0]: w.people}}); err != nil {
		t.Fatal(err)
	}
	if st, err = s.Start(ctx, appID, w.meeting, breakouts.Admin, &st.Version, breakouts.StartOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err = s.Close(ctx, appID, w.meeting, breakouts.Admin, &st.Version, grace); err != nil {
		t.Fatal(err)
	}
	return ids[0]
}

// Countdowns run only while the replica leads: a replica that does not
// lead leaves an ended countdown alone until it does.
func TestCountdownsRunOnlyWhileLeading(t *testing.T) {
	w := newWorld(t, 2)
	g := &gate{open: make(chan struct{})}
	mover := breakoutstest.NewMover()
	s := breakouts.New(w.st, w.bridge, mover, w.log, breakouts.WithLeader(g))
	run(t, s)
	room := closing(t, w, s, 300*time.Millisecond)
	for _, p := range w.people {
		mover.Connect(p, room)
	}
	time.Sleep(800 * time.Millisecond) // the countdown ended; nobody leads
	if st, err := s.State(t.Context(), appID, w.meeting, breakouts.Admin); err != nil || st.Status != store.FamilyClosing {
		t.Fatalf("without the lease: status %s (err %v), want closing", st.Status, err)
	}
	if g.name != breakouts.CountdownsLease {
		t.Fatalf("lease %q, want %q", g.name, breakouts.CountdownsLease)
	}
	close(g.open)
	wait(t, "the leader to close the rooms", func() bool {
		st, err := s.State(t.Context(), appID, w.meeting, breakouts.Admin)
		return err == nil && st.Status == store.FamilyIdle
	})
}

// Two replicas that both act on one ended countdown (leases overlapping)
// close the family once: each participant is moved back once.
func TestCountdownActedOnTwiceClosesOnce(t *testing.T) {
	w := newWorld(t, 6)
	movers := []*breakoutstest.Mover{breakoutstest.NewMover(), breakoutstest.NewMover()}
	a := breakouts.New(w.st, w.bridge, movers[0], w.log)
	b := breakouts.New(w.st, w.bridge, movers[1], w.log)
	room := closing(t, w, a, 400*time.Millisecond)
	for _, m := range movers {
		for _, p := range w.people {
			m.Connect(p, room)
		}
	}
	run(t, a)
	run(t, b)
	wait(t, "the rooms to close", func() bool {
		st, err := a.State(t.Context(), appID, w.meeting, breakouts.Admin)
		return err == nil && st.Status == store.FamilyIdle
	})
	wait(t, "everyone to be moved back", func() bool {
		n := 0
		for _, m := range movers {
			for _, p := range w.people {
				if m.Where(p) == w.meeting {
					n++
				}
			}
		}
		return n == len(w.people)
	})
	time.Sleep(500 * time.Millisecond) // room for a second close to show up
	back := 0
	for _, m := range movers {
		for _, mv := range m.Moves() {
			if mv.ToRoom == w.meeting {
				back++
			}
		}
	}
	if back != len(w.people) {
		t.Fatalf("%d moves back for %d participants: the close ran twice", back, len(w.people))
	}
}
