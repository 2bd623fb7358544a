//go:build e2e

package e2e

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"net/http"
	"os"
	"path/filepath"
	"runtime"
	"runtime/pprof"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/livekit/protocol/livekit"

	"rtk-sidecar/bridge"
	"rtk-sidecar/configs"
	"rtk-sidecar/presets"
	"rtk-sidecar/rtkclient"
	"rtk-sidecar/sfu"
)

// The benchmarks of connected meetings (docs/benchmarks.md) are tests gated by RTK_E2E_BENCH=1,
// because they need the e2e harness (*testing.T helpers, the private network namespace), and must
// not run in `make test`. Run them with `make bench`, or:
//
//	RTK_E2E_BENCH=1 go test -tags e2e -count=1 -v -run '^TestBenchmark' -timeout 30m ./e2e/
//
// RTK_BENCH_MOVES (default 24) sets the single moves per mode; RTK_BENCH_START (default 100)
// and RTK_BENCH_ROOMS (default 10) size the start benchmark, and RTK_BENCH_START_MODES (default
// "prepared,mbb,naive") picks its client modes; RTK_BENCH_NO_STREAM=1 runs the start
// without the clients' event streams, and RTK_BENCH_SFU_TRACE=1 adds the SFU's own timeline of
// each mover's join (sfutrace_test.go). RTK_BENCH_SFU_NO_COLLECT=1 leaves out the SFU's garbage
// collection before the start (its collections during the start are reported either way).
// Results are logged as lines that start with "BENCH".
const envBench = "RTK_E2E_BENCH"

func requireBench(t *testing.T) {
	t.Helper()
	if os.Getenv(envBench) != "1" {
		t.Skipf("a benchmark: set %s=1 (make bench)", envBench)
	}
}

func envInt(name string, def int) int {
	if v, err := strconv.Atoi(os.Getenv(name)); err == nil && v > 0 {
		return v
	}
	return def
}

// TestBenchmarkSingleMove measures single moves decided through the REST API (t0 = when the
// admin's POST .../connected-meetings/move is sent), against the real SFU, for a
// make-before-break rtkclient participant and, in the same run, a naive break-before-make one
// (rtkclient.WithBreakBeforeMake). The two movers take turns, going back and forth between the
// parent P and a breakout room R, where a stationary participant talks and listens:
//
//	P: alice (talks, listens)        R: bob (talks, listens)        movers: mbb, naive
//
// Per move it records, from t0:
//   - present: the mover's identity listed in the destination by LiveKit (GetParticipant polled
//     every 5 ms; any state but DISCONNECTED);
//   - audible: the first RTP packet of the mover's audio received by the destination's
//     stationary participant (its rtkclient stats, polled every 1 ms);
//   - gap: the mover's own media gap, max(0, first packet from the destination - last packet
//     from the source), over everything it receives (as in TestMoverHandoff);
//   - and, for the record, when the client got the instruction, had joined, had published, had
//     left the source, and when a room-mate got the server's meetingChanged for the move.
func TestBenchmarkSingleMove(t *testing.T) {
	requireBench(t)
	n := envInt("RTK_BENCH_MOVES", 24)
	sc := StartSidecar(t)
	t.Cleanup(func() { sc.dropLeftovers(t) })
	parent := sc.CreateMeeting(t, "Bench")
	fam := &bkFamily{sc: sc, parent: parent, base: sc.AppPath + "/meetings/" + parent + "/connected-meetings"}
	room := fam.admin(t, 201, "POST", "", map[string]any{"version": 0, "count": 1}).CreatedMeetingIDs[0]

	alice := newBenchClient(t, sc, parent, "alice", true)
	bob := newBenchClient(t, sc, parent, "bob", true)
	mbb := newBenchClient(t, sc, parent, "mbb", true)
	naive := newBenchClient(t, sc, parent, "naive", true, rtkclient.WithBreakBeforeMake())
	for _, c := range []*benchClient{alice, bob, mbb, naive} {
		c.join(t, parent)
	}
	// bob goes to R for good.
	fam.move(t, bob.id, parent, room)
	bob.waitIn(t, room)
	listener := map[string]*benchClient{parent: alice, room: bob}

	// One warm-up round trip each (the mover learns that LiveKit has no MoveParticipant; the
	// first connections to R are set up), then n measured moves per mode, taking turns.
	for _, c := range []*benchClient{mbb, naive} {
		for _, to := range []string{room, parent} {
			c.measureMove(t, fam, c.room(), to, listener[to])
		}
	}
	cpu0 := readCPU(sc)
	res := map[string]*moveSamples{"make-before-break": {}, "break-before-make": {}}
	for i := range n {
		for _, c := range []*benchClient{mbb, naive} {
			from := c.room()
			to := room
			if from == room {
				to = parent
			}
			s := c.measureMove(t, fam, from, to, listener[to])
			mode := "make-before-break"
			if c == naive {
				mode = "break-before-make"
			}
			res[mode].add(s)
			t.Logf("move %2d %-17s %s->%s: rest %s, instruction %s, joined %s, published %s, present %s, audible %s (+%d pkts), left %s, gap %s, server meetingChanged %s",
				i, mode, label(from, parent), label(to, parent), ms(s.rest), ms(s.received), ms(s.joined), ms(s.published), ms(s.present), ms(s.audible), s.burst-1, ms(s.left), ms(s.gap), ms(s.confirmed))
		}
	}
	cpu := readCPU(sc).sub(cpu0)
	for _, mode := range []string{"make-before-break", "break-before-make"} {
		r := res[mode]
		for _, m := range []struct {
			name string
			v    []time.Duration
		}{
			{"present", r.present}, {"audible", r.audible}, {"gap", r.gap},
			{"instruction", r.received}, {"joined", r.joined}, {"published", r.published}, {"left_source", r.left},
			{"server_meetingChanged", r.confirmed}, {"rest_answer", r.rest},
		} {
			t.Logf("BENCH single_move mode=%s metric=%s n=%d %s", mode, m.name, len(m.v), summary(m.v))
		}
	}
	t.Logf("BENCH single_move cpu %s over %d moves", cpu, 2*n)
	mbbR, naiveR := res["make-before-break"], res["break-before-make"]
	t.Logf("BENCH single_move targets: make-before-break audible median %s (target <= 100ms: %v), gap max %s (target 0: %v); naive gap median %s",
		ms(pct(mbbR.audible, 50)), pct(mbbR.audible, 50) <= 100*time.Millisecond, ms(pct(mbbR.gap, 100)), pct(mbbR.gap, 100) == 0, ms(pct(naiveR.gap, 50)))
}

// TestBenchmarkStart measures the start of RTK_BENCH_START (100) participants into
// RTK_BENCH_ROOMS (10) rooms: from the moment the admin's POST .../start is sent, until all of
// them are listed by LiveKit in their rooms ("all present"), and until every participant is
// audible to a room-mate ("all audible": for each, the first RTP of its audio received by any
// client in its room). All participants are rtkclient clients in this one process, each
// publishing an Opus microphone; they talk only once they are out of the parent (the feeder
// writes while the client's current room is not the parent), so the 100-person parent holds
// 100 x 99 subscriptions but no media, which 2 cores could not carry. Every client subscribes to
// everyone in its room (rtkclient always auto-subscribes).
//
// It runs once per mode on the same sidecar and SFU, one run after the other, each with a new
// family and new clients (startModes): with rtkclient's default clients, which prepare their
// connections once assigned (docs/protocol.md §5; the start waits until all have), then with
// make-before-break clients without them, then with naive break-before-make ones, the baseline the
// single moves are compared with too.
func TestBenchmarkStart(t *testing.T) {
	requireBench(t)
	n, nRooms := envInt("RTK_BENCH_START", 100), envInt("RTK_BENCH_ROOMS", 10)
	debugPort, _, _ := freePorts(t)
	scOpts := []SidecarOption{func(c *configs.Config) { c.LiveKit.Embedded.DebugPort = debugPort }} // sfuCollect
	if sfuTraced() {
		scOpts = append(scOpts, func(c *configs.Config) {
			c.LiveKit.Embedded.LogLevel = "info"
			c.LiveKit.Embedded.LogComponents = map[string]string{"transport": "debug"}
		})
	}
	sc := StartSidecar(t, scOpts...)
	t.Cleanup(func() { sc.dropLeftovers(t) })
	for _, mode := range startModes(t) {
		t.Run(mode, func(t *testing.T) { benchStart(t, sc, mode, n, nRooms) })
	}
}

// The start's modes: rtkclient's default (make-before-break moves, with connections prepared
// ahead of the start, docs/protocol.md §5), make-before-break moves that join at the start, and
// the naive break-before-make rejoin (rtkclient.WithBreakBeforeMake) as the baseline.
const (
	modePrepared = "prepared"
	modeMBB      = "make-before-break"
	modeNaive    = "break-before-make"
)

// startModes are the modes the start benchmark runs, one after the other on the same sidecar and
// SFU, each with a family and clients of its own: RTK_BENCH_START_MODES, a comma-separated list of
// "prepared", "mbb" and "naive" (default all three, in that order).
func startModes(t *testing.T) []string {
	v := os.Getenv("RTK_BENCH_START_MODES")
	if v == "" {
		return []string{modePrepared, modeMBB, modeNaive}
	}
	var modes []string
	for m := range strings.SplitSeq(v, ",") {
		switch strings.TrimSpace(m) {
		case "prepared":
			modes = append(modes, modePrepared)
		case "mbb":
			modes = append(modes, modeMBB)
		case "naive":
			modes = append(modes, modeNaive)
		default:
			t.Fatalf("RTK_BENCH_START_MODES: %q is not prepared, mbb or naive", m)
		}
	}
	return modes
}

// benchStart runs one start of n participants into nRooms rooms, its clients moving in mode, and
// logs its results as "BENCH start mode=<mode> ..." lines. The clients leave when t ends.
func benchStart(t *testing.T, sc *Sidecar, mode string, n, nRooms int) {
	tag := "BENCH start mode=" + mode
	parent := sc.CreateMeeting(t, "Bench start "+mode)
	fam := &bkFamily{sc: sc, parent: parent, base: sc.AppPath + "/meetings/" + parent + "/connected-meetings"}
	st := fam.admin(t, 201, "POST", "", map[string]any{"version": 0, "count": nRooms})

	clients := make([]*benchClient, n)
	for i := range n {
		// Joining a 100-person room on a loaded box takes longer than rtkclient's default 10 s.
		opts := []rtkclient.Option{rtkclient.WithConnectTimeout(60 * time.Second)}
		if os.Getenv("RTK_BENCH_NO_STREAM") == "1" { // instructions through LiveKit only
			opts = append(opts, rtkclient.WithoutEventStream())
		}
		name := fmt.Sprintf("m%03d", i)
		switch mode {
		case modePrepared:
			name = fmt.Sprintf("p%03d", i)
		case modeMBB:
			opts = append(opts, rtkclient.WithoutPreparedConnections())
		case modeNaive:
			opts = append(opts, rtkclient.WithBreakBeforeMake(), rtkclient.WithoutPreparedConnections())
			name = fmt.Sprintf("n%03d", i)
		}
		clients[i] = newBenchClient(t, sc, parent, name, false, opts...)
	}
	// One feeder for everyone: 20 ms Opus frames, only outside the parent.
	feedAll(t, clients, parent)

	cpuJoin, udpJoin := readCPU(sc), readUDPDrops()
	joinStart := time.Now()
	var wg sync.WaitGroup
	sem := make(chan struct{}, 2)
	var joinErr atomic.Value
	var nJoined atomic.Int32
	for _, c := range clients {
		sem <- struct{}{}
		wg.Go(func() {
			defer func() { <-sem }()
			ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
			defer cancel()
			start := time.Now()
			if _, err := c.c.Join(ctx); err != nil {
				joinErr.Store(fmt.Errorf("%s: %w", c.name, err))
				return
			}
			if k := nJoined.Add(1); k%10 == 0 {
				t.Logf("%d joined after %s (the last join took %s)", k, ms(time.Since(joinStart)), ms(time.Since(start)))
			}
		})
	}
	wg.Wait()
	if err, _ := joinErr.Load().(error); err != nil {
		t.Fatalf("join: %v", err)
	}
	joined := time.Since(joinStart)
	eventually(t, 60*time.Second, func() string {
		ids, err := sc.identities(parent)
		if err != nil || len(ids) != n {
			return fmt.Sprintf("the parent lists %d of %d (%v)", len(ids), n, err)
		}
		return ""
	})
	t.Logf(tag+" join: %d clients joined the parent in %s (%s; %d UDP datagrams dropped at full receive buffers)",
		n, ms(joined), readCPU(sc).sub(cpuJoin), readUDPDrops()-udpJoin)
	// Let the parent's subscriptions settle (100 x 99 negotiated, no media) before the start.
	idle := waitIdle(t, sc, 60*time.Second)
	t.Logf(tag+" settle: CPU quiet after %s", ms(idle))

	st = fam.admin(t, 200, "POST", "/assign", map[string]any{"version": st.Version, "mode": "auto"})
	roomOf := map[string]string{}
	for _, r := range st.Meetings {
		for _, id := range r.AssignedParticipantIDs {
			roomOf[id] = r.ID
		}
	}
	if len(roomOf) != n {
		t.Fatalf("%d of %d assigned", len(roomOf), n)
	}
	byRoom := map[string][]*benchClient{}
	for _, c := range clients {
		byRoom[roomOf[c.id]] = append(byRoom[roomOf[c.id]], c)
	}
	if mode == modePrepared {
		// The clients prepare their connections when they see the assignment; the start waits
		// for all of them. (A reveal never asks LiveKit's MoveParticipant: no warm-up.)
		cpuPrep, prepStart := readCPU(sc), time.Now()
		eventually(t, 120*time.Second, func() string {
			k := 0
			for _, c := range clients {
				if c.c.Prepared() == roomOf[c.id] {
					k++
				}
			}
			if k < n {
				return fmt.Sprintf("%d of %d clients hold their prepared connection", k, n)
			}
			return ""
		})
		t.Logf(tag+" prepare: %d clients prepared their connections %s after the assignment (%s)",
			n, ms(time.Since(prepStart)), readCPU(sc).sub(cpuPrep))
		idle := waitIdle(t, sc, 60*time.Second)
		t.Logf(tag+" settle: CPU quiet after %s", ms(idle))
	} else {
		// Warm-up: one participant there and back, so that the mover has learnt that LiveKit
		// has no MoveParticipant (it asks once per process) and the sidecar's paths are warm.
		w := clients[0]
		fam.move(t, w.id, parent, roomOf[w.id])
		w.waitIn(t, roomOf[w.id])
		fam.move(t, w.id, roomOf[w.id], parent)
		w.waitIn(t, parent)
		eventually(t, 10*time.Second, func() string {
			if ids, _ := sc.identities(roomOf[w.id]); len(ids) != 0 {
				return "the warm-up room still lists someone"
			}
			return ""
		})
		time.Sleep(time.Second)
	}
	st = fam.state(t)

	stopProfile := func() {}
	if path := os.Getenv("RTK_BENCH_CPUPROFILE"); path != "" { // the start window only, one file per mode
		f, err := os.Create(path + "." + mode)
		if err != nil {
			t.Fatal(err)
		}
		if err := pprof.StartCPUProfile(f); err != nil {
			t.Fatal(err)
		}
		var once sync.Once
		stopProfile = func() { once.Do(func() { pprof.StopCPUProfile(); f.Close() }) }
		t.Cleanup(stopProfile)
	}
	// The 100 clients share this process's heap, about 1 GB by now. Collected
	// during the start, it stalled every client at once for 0.4 to 1.1 s (so
	// that they read their instructions late), which 100 devices would not:
	// collect it before, as testing.B does before every benchmark. The SFU,
	// whose collections of a 1.4 to 2.3 GB heap take 2 to 3 s when it shares 2
	// cores with the clients, is collected before the start too, and so every
	// process of the rig starts the measured window freshly collected. The
	// collections during the start, in both processes, are reported (gcs,
	// sfuGCs).
	sfuGC := "left out"
	if os.Getenv("RTK_BENCH_SFU_NO_COLLECT") != "1" {
		sfuGC = "took " + ms(sfuCollect(t, sc))
	}
	runtime.GC()
	cpu0, udp0 := readCPU(sc), readUDPDrops()
	t0 := time.Now()
	fam.admin(t, 200, "POST", "/start", map[string]any{"version": st.Version})
	rest := time.Since(t0)

	// All present: LiveKit's own arrival time of each participant (joined_at_ms, set when the
	// SFU accepts the join, which is when it starts listing the participant), read once the
	// room lists it; for a revealed prepared connection, whose joined_at_ms is its hidden join,
	// the time the sidecar revealed it (after LiveKit's answer to UpdateParticipant), which the
	// room's session records as its join. The rooms are listed every 250 ms until everyone is
	// there.
	deadline := t0.Add(90 * time.Second)
	presentAt := make(map[string]time.Time, n)
	for len(presentAt) < n {
		if time.Now().After(deadline) {
			t.Fatalf("after %s only %d of %d are present in their rooms", time.Since(t0), len(presentAt), n)
		}
		time.Sleep(250 * time.Millisecond)
		for room, members := range byRoom {
			want := map[string]bool{}
			for _, c := range members {
				if presentAt[c.id].IsZero() {
					want[c.id] = true
				}
			}
			if len(want) == 0 {
				continue
			}
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			res, err := sc.Rooms.ListParticipants(ctx, &livekit.ListParticipantsRequest{Room: room})
			cancel()
			if err != nil {
				continue
			}
			var joins map[string]time.Time
			for _, p := range res.Participants {
				if !want[p.Identity] || p.State == livekit.ParticipantInfo_DISCONNECTED || bridge.Prepared(p) {
					continue
				}
				if mode != modePrepared {
					presentAt[p.Identity] = time.UnixMilli(p.JoinedAtMs)
					continue
				}
				if joins == nil {
					joins = sessionJoins(t, sc, room)
				}
				if at, ok := joins[p.Identity]; ok {
					presentAt[p.Identity] = at
				}
			}
		}
	}
	var presentTimes []time.Duration
	for _, at := range presentAt {
		presentTimes = append(presentTimes, at.Sub(t0))
	}
	allPresent := pct(presentTimes, 100)

	// All audible: each participant's first packet at any room-mate, from the stats (each
	// client's stats of its room start with its connection to it).
	audibleOf := func(c *benchClient) time.Time {
		var first time.Time
		for _, q := range byRoom[roomOf[c.id]] {
			if q == c {
				continue
			}
			if s := q.c.Received(roomOf[c.id], c.id, rtkclient.Audio); s.Packets > 0 && (first.IsZero() || s.First.Before(first)) {
				first = s.First
			}
		}
		return first
	}
	// Everyone hears every room-mate (the full mesh of each room), for the record.
	meshOf := func(c *benchClient) time.Time {
		var last time.Time
		for _, q := range byRoom[roomOf[c.id]] {
			if q == c {
				continue
			}
			s := q.c.Received(roomOf[c.id], c.id, rtkclient.Audio)
			if s.Packets == 0 {
				return time.Time{}
			}
			if s.First.After(last) {
				last = s.First
			}
		}
		return last
	}
	var audibleTimes, meshTimes []time.Duration
	for {
		audibleTimes, meshTimes = audibleTimes[:0], meshTimes[:0]
		for _, c := range clients {
			if at := audibleOf(c); !at.IsZero() {
				audibleTimes = append(audibleTimes, at.Sub(t0))
			}
			if at := meshOf(c); !at.IsZero() {
				meshTimes = append(meshTimes, at.Sub(t0))
			}
		}
		if len(meshTimes) == n {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("after %s only %d of %d are audible to a room-mate, %d to all of them", time.Since(t0), len(audibleTimes), n, len(meshTimes))
		}
		time.Sleep(50 * time.Millisecond)
	}
	cpu, udpDrops := readCPU(sc).sub(cpu0), readUDPDrops()-udp0
	gcs, sfuGCs := gcsSince(t0), sfuGCsSince(t, sc, t0, t0.Add(-20*time.Second))
	stopProfile()

	// Where everyone is at the end, and how the moves went.
	eventually(t, 30*time.Second, func() string {
		for room, members := range byRoom {
			ids, err := sc.identities(room)
			if err != nil {
				return err.Error()
			}
			var want []string
			for _, c := range members {
				want = append(want, c.id)
			}
			if !sameSet(ids, want) {
				return fmt.Sprintf("room %s lists %d, want %d", short(room), len(ids), len(want))
			}
		}
		if ids, _ := sc.identities(parent); len(ids) != 0 {
			return fmt.Sprintf("the parent still lists %d", len(ids))
		}
		for _, c := range clients {
			if !slices.ContainsFunc(c.reports(), func(r rtkclient.MoveReport) bool { return !r.Received.Before(t0) }) {
				return c.name + " has not reported its move"
			}
		}
		return ""
	})
	var failed, serverFailed, reports, unprepared int
	via := map[string]int{}
	var overlap, roomless, received, joinedAt, published []time.Duration
	type row struct {
		name                                                string
		received, joined, published, present, audible, left time.Duration
	}
	var rows []row
	for _, c := range clients {
		for _, r := range c.reports() {
			if r.Received.Before(t0) {
				continue // the warm-up
			}
			reports++
			if r.Err != nil {
				failed++
				continue
			}
			via[r.Via]++
			received = append(received, r.Received.Sub(t0))
			joinedAt = append(joinedAt, r.Joined.Sub(t0))
			published = append(published, r.Published.Sub(t0))

			if mode == modePrepared && !r.Prepared {
				unprepared++
			}
			switch {
			case r.Left.IsZero():
			case mode == modeNaive:
				roomless = append(roomless, r.Joined.Sub(r.Left))
			default:
				overlap = append(overlap, r.Left.Sub(r.Published))
			}
			rows = append(rows, row{c.name, r.Received.Sub(t0), r.Joined.Sub(t0), r.Published.Sub(t0), presentAt[c.id].Sub(t0), audibleOf(c).Sub(t0), r.Left.Sub(t0)})
		}
		for _, f := range c.failures() {
			if f.ParticipantID == c.id { // every client hears every failure of the family
				serverFailed++
			}
		}
	}
	slices.SortFunc(rows, func(a, b row) int { return int(b.present - a.present) })
	for _, r := range rows[:min(5, len(rows))] {
		t.Logf("slowest present: %s instruction %s, joined %s, published %s, present %s, audible %s, left the parent %s",
			r.name, ms(r.received), ms(r.joined), ms(r.published), ms(r.present), ms(r.audible), ms(r.left))
	}
	t.Logf(tag+" metric=instruction_received n=%d %s", len(received), summary(received))
	t.Logf(tag+" metric=client_joined n=%d %s", len(joinedAt), summary(joinedAt))
	t.Logf(tag+" metric=client_published n=%d %s", len(published), summary(published))
	t.Logf(tag+" n=%d rooms=%d rest_answer=%s", n, nRooms, ms(rest))
	t.Logf(tag+" metric=present n=%d %s", len(presentTimes), summary(presentTimes))
	t.Logf(tag+" metric=audible_to_a_roommate n=%d %s", len(audibleTimes), summary(audibleTimes))
	t.Logf(tag+" metric=heard_by_every_roommate n=%d %s", len(meshTimes), summary(meshTimes))
	if mode == modeNaive { // left the parent, then joined the destination
		t.Logf(tag+" metric=in_no_room n=%d %s", len(roomless), summary(roomless))
	} else { // joined and published in the destination, then left the parent
		t.Logf(tag+" metric=source_overlap n=%d %s", len(overlap), summary(overlap))
	}
	t.Logf(tag+" moves: %d client move reports, %d failed at the client, %d moveFailed from the server, %d joined instead of switching to a prepared connection, instructions followed by path %v; cpu %s; %d UDP datagrams dropped at full receive buffers; test process collections ended at %v; SFU collections ended at %v (from 20 s before the start on; its collection before the start %s)",
		reports, failed, serverFailed, unprepared, via, cpu, udpDrops, gcs, sfuGCs, sfuGC)
	t.Logf(tag+" targets: all present %s (target <= 1.5s: %v), all audible %s (target <= 3s: %v)",
		ms(allPresent), allPresent <= 1500*time.Millisecond, ms(pct(audibleTimes, 100)), pct(audibleTimes, 100) <= 3*time.Second)

	if sfuTraced() {
		logSFUTrace(t, tag, filepath.Join(sc.Cfg.LiveKit.Embedded.DataDir, sfu.LogFile), t0, clients, roomOf, presentAt, audibleOf)
	}
}

// sessionJoins returns when each participant of room's live session joined it, by the sidecar's
// record (millisecond resolution); none while the room has no live session.
func sessionJoins(t *testing.T, sc *Sidecar, room string) map[string]time.Time {
	var active struct {
		ID string `json:"id"`
	}
	if sc.Call(t, "GET", sc.AppPath+"/meetings/"+room+"/active-session", "", nil, &active) != 200 {
		return nil
	}
	var parts struct {
		Participants []struct {
			UserID   string `json:"user_id"`
			JoinedAt string `json:"joined_at"`
		} `json:"participants"`
	}
	if sc.Call(t, "GET", sc.AppPath+"/sessions/"+active.ID+"/participants?per_page=100", "", nil, &parts) != 200 {
		return nil
	}
	out := map[string]time.Time{}
	for _, p := range parts.Participants {
		if at, err := time.Parse(time.RFC3339Nano, p.JoinedAt); err == nil {
			out[p.UserID] = at
		}
	}
	return out
}

// ---- measuring one move ----

type moveSample struct {
	rest, received, joined, published, present, audible, left, gap, confirmed time.Duration
	burst                                                                     int // packets seen at the first look (1 = exact)
}

type moveSamples struct {
	present, audible, gap, received, joined, published, left, confirmed, rest []time.Duration
}

func (m *moveSamples) add(s moveSample) {
	m.present = append(m.present, s.present)
	m.audible = append(m.audible, s.audible)
	m.gap = append(m.gap, s.gap)
	m.received = append(m.received, s.received)
	m.joined = append(m.joined, s.joined)
	m.published = append(m.published, s.published)
	m.left = append(m.left, s.left)
	if s.confirmed > 0 {
		m.confirmed = append(m.confirmed, s.confirmed)
	}
	m.rest = append(m.rest, s.rest)
}

// move moves one participant as the admin, with the version of the state now.
func (f *bkFamily) move(t *testing.T, id, from, to string) time.Duration {
	t.Helper()
	body := map[string]any{"version": f.state(t).Version, "source_meeting_id": from, "destination_meeting_id": to, "participant_ids": []string{id}}
	t0 := time.Now()
	f.admin(t, 200, "POST", "/move", body)
	return time.Since(t0)
}

// measureMove moves c from one room to another through the REST API and measures the move.
func (c *benchClient) measureMove(t *testing.T, fam *bkFamily, from, to string, listener *benchClient) moveSample {
	t.Helper()
	sc := fam.sc
	if ids, _ := sc.identities(to); slices.Contains(ids, c.id) {
		t.Fatalf("%s is still listed in %s before the move", c.name, label(to, fam.parent))
	}
	base := listener.c.Received(to, c.id, rtkclient.Audio).Packets
	nReports := len(c.reports())
	body := map[string]any{"version": fam.state(t).Version, "source_meeting_id": from, "destination_meeting_id": to, "participant_ids": []string{c.id}}

	var present, audible time.Time
	var burst int
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() { // LiveKit lists the mover in the destination
		for {
			ctx, cancel := context.WithTimeout(context.Background(), time.Second)
			p, err := sc.Rooms.GetParticipant(ctx, &livekit.RoomParticipantIdentity{Room: to, Identity: c.id})
			cancel()
			if err == nil && p.State != livekit.ParticipantInfo_DISCONNECTED {
				present = time.Now()
				return
			}
			select {
			case <-done:
				return
			case <-time.After(5 * time.Millisecond):
			}
		}
	})
	wg.Go(func() { // the destination's participant receives the mover's audio
		for {
			if s := listener.c.Received(to, c.id, rtkclient.Audio); s.Packets > base {
				audible, burst = s.Last, s.Packets-base
				return
			}
			select {
			case <-done:
				return
			case <-time.After(time.Millisecond):
			}
		}
	})

	t0 := time.Now()
	fam.admin(t, 200, "POST", "/move", body)
	rest := time.Since(t0)

	var rep rtkclient.MoveReport
	eventually(t, 15*time.Second, func() string {
		r := c.reports()
		if len(r) <= nReports {
			return c.name + " has not finished its move to " + label(to, fam.parent)
		}
		rep = r[len(r)-1]
		if rep.Err != nil || rep.To != to {
			t.Fatalf("%s's move: %+v", c.name, rep)
		}
		return ""
	})
	eventually(t, 15*time.Second, func() string {
		if present.IsZero() || audible.IsZero() {
			return fmt.Sprintf("%s: present %v, audible %v", c.name, !present.IsZero(), !audible.IsZero())
		}
		return ""
	})
	close(done)
	wg.Wait()
	// The mover's own ears: the source's stats are final (it has left), the destination's
	// start with the new connection.
	var firstDst time.Time
	eventually(t, 5*time.Second, func() string {
		if firstDst = firstFrom(c.c, to); firstDst.IsZero() {
			return c.name + " hears nobody in " + label(to, fam.parent)
		}
		return ""
	})
	lastSrc := lastFrom(c.c, from)
	s := moveSample{
		rest: rest, received: rep.Received.Sub(t0), joined: rep.Joined.Sub(t0), published: rep.Published.Sub(t0),
		present: present.Sub(t0), audible: audible.Sub(t0), left: rep.Left.Sub(t0), gap: max(0, firstDst.Sub(lastSrc)), burst: burst,
	}
	// The server's arrival event, as a room-mate in the destination got it.
	eventually(t, 5*time.Second, func() string {
		if at, ok := listener.arrival(rep.MoveID); ok {
			s.confirmed = at.Sub(t0)
			return ""
		}
		return listener.name + " got no meetingChanged for " + c.name
	})
	// Settle: the source is gone (the mover's sweep removes a lost leave after 1 s).
	eventually(t, 10*time.Second, func() string {
		if ids, _ := sc.identities(from); slices.Contains(ids, c.id) {
			return c.name + " is still listed in " + label(from, fam.parent)
		}
		return ""
	})
	time.Sleep(200 * time.Millisecond)
	return s
}

func label(room, parent string) string {
	if room == parent {
		return "P"
	}
	return "R"
}

// ---- bench clients ----

type benchClient struct {
	name, id string
	c        *rtkclient.Client
	mic      *rtkclient.Track

	mu       sync.Mutex
	reps     []rtkclient.MoveReport
	failed   []rtkclient.MoveFailed
	arrivals map[string]time.Time // move id -> when this client got the server's meetingChanged
}

// newBenchClient adds a participant and prepares its client with a published microphone; with
// feeder, a goroutine feeds the microphone with Opus frames every 20 ms.
func newBenchClient(t *testing.T, sc *Sidecar, meeting, name string, feeder bool, opts ...rtkclient.Option) *benchClient {
	t.Helper()
	b := &benchClient{name: name, arrivals: map[string]time.Time{}}
	var tok string
	b.id, tok = sc.AddParticipant(t, meeting, name, presets.GroupCallParticipant)
	log := clientLog(t, name)
	b.c = rtkclient.New(sc.BaseURL, tok, append([]rtkclient.Option{rtkclient.WithLogger(log), rtkclient.WithHandlers(rtkclient.Handlers{
		MoveDone: func(r rtkclient.MoveReport) {
			if r.Err != nil {
				log.Warn("move failed", "move", r.MoveID, "to", r.To, "err", r.Err)
			}
			b.mu.Lock()
			defer b.mu.Unlock()
			b.reps = append(b.reps, r)
		},
		MoveFailed: func(f rtkclient.MoveFailed) {
			b.mu.Lock()
			defer b.mu.Unlock()
			b.failed = append(b.failed, f)
		},
		MeetingChanged: func(m rtkclient.MeetingChanged) {
			now := time.Now()
			b.mu.Lock()
			defer b.mu.Unlock()
			if _, ok := b.arrivals[m.MoveID]; !ok && m.MoveID != "" {
				b.arrivals[m.MoveID] = now
			}
		},
	})}, opts...)...)
	t.Cleanup(b.c.Close)
	var err error
	if b.mic, err = b.c.Publish(rtkclient.Microphone()); err != nil {
		t.Fatalf("%s: publish: %v", name, err)
	}
	if feeder {
		feed(t, b.mic, opusFrame, audioFrameInterval, nil)
	}
	return b
}

func (b *benchClient) join(t *testing.T, want string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	j, err := b.c.Join(ctx)
	if err != nil || j.Room != want {
		t.Fatalf("%s joined %q: %v", b.name, j.Room, err)
	}
}

func (b *benchClient) room() string { return b.c.Room() }

func (b *benchClient) waitIn(t *testing.T, room string) {
	t.Helper()
	eventually(t, 15*time.Second, func() string {
		if r := b.c.Rooms(); len(r) != 1 || r[0] != room {
			return fmt.Sprintf("%s is in %v", b.name, shorts(r))
		}
		return ""
	})
}

func (b *benchClient) reports() []rtkclient.MoveReport {
	b.mu.Lock()
	defer b.mu.Unlock()
	return slices.Clone(b.reps)
}

func (b *benchClient) failures() []rtkclient.MoveFailed {
	b.mu.Lock()
	defer b.mu.Unlock()
	return slices.Clone(b.failed)
}

func (b *benchClient) arrival(moveID string) (time.Time, bool) {
	b.mu.Lock()
	defer b.mu.Unlock()
	at, ok := b.arrivals[moveID]
	return at, ok
}

// feedAll writes an Opus frame every 20 ms to the microphone of every client that is not in
// the parent, from one goroutine, until the test ends.
func feedAll(t *testing.T, clients []*benchClient, parent string) {
	every(t, audioFrameInterval, func() {
		for _, c := range clients {
			if r := c.c.Room(); r != "" && r != parent {
				_ = c.mic.WriteSample(mediaSample(opusFrame, audioFrameInterval))
			}
		}
	})
}

// ---- statistics ----

// pct is the p-th percentile (nearest rank) of ds; 0 for none.
func pct(ds []time.Duration, p float64) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	s := slices.Clone(ds)
	slices.Sort(s)
	i := int(math.Ceil(p/100*float64(len(s)))) - 1
	return s[max(0, min(i, len(s)-1))]
}

func summary(ds []time.Duration) string {
	return fmt.Sprintf("min=%s median=%s p95=%s max=%s", ms(pct(ds, 0)), ms(pct(ds, 50)), ms(pct(ds, 95)), ms(pct(ds, 100)))
}

func ms(d time.Duration) string {
	return strconv.FormatFloat(float64(d)/float64(time.Millisecond), 'f', 1, 64) + "ms"
}

// ---- CPU ----

// cpuSample is CPU time used so far by this process (clients, sidecar) and by the SFU, and the
// wall clock.
type cpuSample struct {
	at       time.Time
	self     time.Duration
	sfu      time.Duration
	sfuFound bool
}

// readUDPDrops is the network namespace's count of UDP datagrams dropped
// because a socket's receive buffer was full (RcvbufErrors of
// /proc/net/snmp): the SFU's and the clients' sockets together. 0 when
// unreadable.
func readUDPDrops() int64 {
	raw, err := os.ReadFile("/proc/net/snmp")
	if err != nil {
		return 0
	}
	var names []string
	for line := range strings.Lines(string(raw)) {
		fields := strings.Fields(line)
		if len(fields) == 0 || fields[0] != "Udp:" {
			continue
		}
		if names == nil {
			names = fields
			continue
		}
		for i, name := range names {
			if name == "RcvbufErrors" && i < len(fields) {
				v, _ := strconv.ParseInt(fields[i], 10, 64)
				return v
			}
		}
	}
	return 0
}

func readCPU(sc *Sidecar) cpuSample {
	s := cpuSample{at: time.Now()}
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) == nil {
		s.self = time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
	}
	s.sfu, s.sfuFound = sfuCPU(sc.Cfg.LiveKit.Embedded.DataDir)
	return s
}

func (a cpuSample) sub(b cpuSample) string {
	wall := a.at.Sub(b.at)
	out := fmt.Sprintf("test process (clients + sidecar) %.0f%% of one core", 100*float64(a.self-b.self)/float64(wall))
	if a.sfuFound && b.sfuFound {
		out += fmt.Sprintf(", livekit-server %.0f%%", 100*float64(a.sfu-b.sfu)/float64(wall))
	}
	return out + fmt.Sprintf(" over %s", ms(wall))
}

// sfuCPU is the CPU time of the livekit-server whose command line names dataDir.
func sfuCPU(dataDir string) (time.Duration, bool) {
	procs, _ := filepath.Glob("/proc/[0-9]*/cmdline")
	for _, p := range procs {
		b, err := os.ReadFile(p)
		if err != nil || !strings.Contains(string(b), dataDir) || !strings.Contains(string(b), "livekit") {
			continue
		}
		stat, err := os.ReadFile(filepath.Join(filepath.Dir(p), "stat"))
		if err != nil {
			continue
		}
		f := strings.Fields(string(stat[strings.LastIndexByte(string(stat), ')')+2:]))
		if len(f) < 13 {
			continue
		}
		ut, _ := strconv.ParseInt(f[11], 10, 64)
		st, _ := strconv.ParseInt(f[12], 10, 64)
		return time.Duration(ut+st) * 10 * time.Millisecond, true // USER_HZ = 100
	}
	return 0, false
}

// waitIdle waits until the test process and the SFU together use less than half a core over
// a second, and returns how long that took.
func waitIdle(t *testing.T, sc *Sidecar, timeout time.Duration) time.Duration {
	t.Helper()
	start := time.Now()
	var last string
	for time.Since(start) < timeout {
		a := readCPU(sc)
		time.Sleep(time.Second)
		b := readCPU(sc)
		if float64(b.self-a.self+b.sfu-a.sfu) < 0.5*float64(b.at.Sub(a.at)) {
			return time.Since(start)
		}
		last = b.sub(a)
	}
	t.Logf("CPU still busy after %s (the last second: %s); going on", timeout, last)
	return time.Since(start)
}

// gcsSince returns when this process's garbage collections since t0 ended
// (the last 256 at most), from t0.
func gcsSince(t0 time.Time) []string {
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return endsSince(t0, t0, m.NumGC, m.PauseEnd[:])
}

// endsSince returns the collection ends in pauseEnd (runtime.MemStats.PauseEnd, a circular
// buffer of UnixNano times whose latest is at (numGC-1) % len) that fell after since, oldest
// first, as durations from t0.
func endsSince(t0, since time.Time, numGC uint32, pauseEnd []uint64) []string {
	var ends []string
	for i := range min(numGC, uint32(len(pauseEnd))) {
		end := time.Unix(0, int64(pauseEnd[(numGC-1-i)%uint32(len(pauseEnd))]))
		if end.Before(since) {
			break
		}
		ends = append([]string{ms(end.Sub(t0))}, ends...)
	}
	return ends
}

// sfuCollect runs a garbage collection in the SFU (Go's pprof heap handler with gc=1, on
// LiveKit's debug port) and returns how long the call took; it fails t if the SFU has no debug
// port or does not answer.
func sfuCollect(t *testing.T, sc *Sidecar) time.Duration {
	t.Helper()
	start := time.Now()
	if _, err := sfuDebugGet(sc, "/debug/pprof/heap?gc=1"); err != nil {
		t.Fatalf("collect the SFU's garbage: %v", err)
	}
	return time.Since(start)
}

// sfuGCsSince returns when the SFU's garbage collections since since ended, from t0, read off
// the runtime.MemStats that Go's pprof heap handler prints with debug=1.
func sfuGCsSince(t *testing.T, sc *Sidecar, t0, since time.Time) []string {
	t.Helper()
	body, err := sfuDebugGet(sc, "/debug/pprof/heap?debug=1")
	if err != nil {
		t.Fatalf("read the SFU's memory statistics: %v", err)
	}
	numGC, pauseEnd, err := parseGCStats(body)
	if err != nil {
		t.Fatalf("the SFU's memory statistics: %v", err)
	}
	return endsSince(t0, since, numGC, pauseEnd)
}

func sfuDebugGet(sc *Sidecar, path string) ([]byte, error) {
	port := sc.Cfg.LiveKit.Embedded.DebugPort
	if port == 0 {
		return nil, errors.New("the SFU has no debug port (livekit.embedded.debug_port)")
	}
	res, err := http.Get(fmt.Sprintf("http://127.0.0.1:%d%s", port, path))
	if err != nil {
		return nil, err
	}
	defer res.Body.Close()
	body, err := io.ReadAll(res.Body)
	if err != nil {
		return nil, err
	}
	if res.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("GET %s: %s", path, res.Status)
	}
	return body, nil
}

// parseGCStats reads "# NumGC = N" and "# PauseEnd = [t1 t2 ...]" out of a heap profile
// written with debug=1.
func parseGCStats(profile []byte) (numGC uint32, pauseEnd []uint64, err error) {
	var haveNum, haveEnd bool
	for line := range strings.Lines(string(profile)) {
		line = strings.TrimSpace(line)
		if v, ok := strings.CutPrefix(line, "# NumGC = "); ok {
			n, err := strconv.ParseUint(v, 10, 32)
			if err != nil {
				return 0, nil, fmt.Errorf("NumGC: %w", err)
			}
			numGC, haveNum = uint32(n), true
		}
		if v, ok := strings.CutPrefix(line, "# PauseEnd = "); ok {
			for f := range strings.FieldsSeq(strings.Trim(v, "[]")) {
				n, err := strconv.ParseUint(f, 10, 64)
				if err != nil {
					return 0, nil, fmt.Errorf("PauseEnd: %w", err)
				}
				pauseEnd = append(pauseEnd, n)
			}
			haveEnd = true
		}
	}
	if !haveNum || !haveEnd || len(pauseEnd) == 0 {
		return 0, nil, errors.New("no NumGC or PauseEnd in the heap profile")
	}
	return numGC, pauseEnd, nil
}

// TestParseGCStats reads this process's own heap profile, as the start benchmark reads the
// SFU's, and checks it against runtime.ReadMemStats.
func TestParseGCStats(t *testing.T) {
	runtime.GC()
	var buf strings.Builder
	if err := pprof.Lookup("heap").WriteTo(&buf, 1); err != nil {
		t.Fatal(err)
	}
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	numGC, pauseEnd, err := parseGCStats([]byte(buf.String()))
	if err != nil {
		t.Fatal(err)
	}
	if numGC == 0 || numGC > m.NumGC || len(pauseEnd) != len(m.PauseEnd) {
		t.Fatalf("parsed NumGC %d and %d PauseEnd values; the runtime says NumGC %d with %d", numGC, len(pauseEnd), m.NumGC, len(m.PauseEnd))
	}
	i := (numGC - 1) % uint32(len(pauseEnd)) // the parsed profile's last collection
	if pauseEnd[i] != m.PauseEnd[i] {
		t.Fatalf("the last collection parsed ended at %d, the runtime says %d", pauseEnd[i], m.PauseEnd[i])
	}
	last := time.Unix(0, int64(pauseEnd[i]))
	if got := endsSince(last, last, numGC, pauseEnd); len(got) != 1 || got[0] != ms(0) {
		t.Fatalf("endsSince the last collection = %v, want that one", got)
	}
	if _, _, err := parseGCStats([]byte("heap profile: 0: 0 [0: 0] @ heap/1048576\n")); err == nil {
		t.Fatal("a profile without memory statistics parsed")
	}
}
