package breakouts_test

import (
	"context"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/livekit/protocol/livekit"

	"rtk-sidecar/breakouts"
	"rtk-sidecar/bridge"
	"rtk-sidecar/bridge/bridgetest"
)

// TestBenchmarkStartSidecar measures the sidecar's own time for a start: the
// breakouts service and the real bridge.Mover against in-memory LiveKits
// (bridgetest), whose simulated clients follow their instructions at once,
// so that nothing but the sidecar's work is timed. Each size is a meeting of
// n participants, all connected to the parent, assigned automatically to
// n/10 rooms; the time is from the Start call to the moment the last of
// them is listed in its room, as LiveKit's participant_joined reports it.
//
// Gated by RTK_BENCH_SIDECAR_START=1 (make bench-api runs it);
// RTK_BENCH_SIDECAR_START_SIZES sets the sizes (default 100,250,500,1000).
// It fails when the largest size is over StartSidecarTarget or grows faster
// than linearly (twice the time per participant of the smallest).
func TestBenchmarkStartSidecar(t *testing.T) {
	if os.Getenv("RTK_BENCH_SIDECAR_START") != "1" {
		t.Skip("a benchmark: set RTK_BENCH_SIDECAR_START=1 (make bench-api)")
	}
	sizes := []int{100, 250, 500, 1000}
	if s := os.Getenv("RTK_BENCH_SIDECAR_START_SIZES"); s != "" {
		sizes = nil
		for _, f := range strings.Split(s, ",") {
			n, err := strconv.Atoi(strings.TrimSpace(f))
			if err != nil || n < 10 {
				t.Fatalf("RTK_BENCH_SIDECAR_START_SIZES: %q is not a size of at least 10", f)
			}
			sizes = append(sizes, n)
		}
	}
	const runs = 3 // per size; the median is reported
	perParticipant := map[int]time.Duration{}
	for _, n := range sizes {
		var took []time.Duration
		for range runs {
			took = append(took, startOnce(t, n))
		}
		slices.Sort(took)
		med := took[len(took)/2]
		perParticipant[n] = med / time.Duration(n)
		t.Logf("BENCH start_sidecar participants=%d rooms=%d median_ms=%.1f min_ms=%.1f max_ms=%.1f us_per_participant=%.0f",
			n, n/10, ms(med), ms(took[0]), ms(took[len(took)-1]), float64(med.Microseconds())/float64(n))
	}
	largest, smallest := slices.Max(sizes), slices.Min(sizes)
	slowest := perParticipant[largest] * time.Duration(largest)
	linear := perParticipant[largest] <= 2*perParticipant[smallest]
	met := largest < 1000 || slowest <= startSidecarTarget
	t.Logf("BENCH start_sidecar targets: %d participants %.1f ms (target ≤ %v: %v), per participant %d: %v vs %d: %v (linear: %v)",
		largest, ms(slowest), startSidecarTarget, met, largest, perParticipant[largest], smallest, perParticipant[smallest], linear)
	if !met || !linear {
		t.Errorf("start targets missed")
	}
}

// startSidecarTarget is the sidecar's own time for a start of 1,000
// participants into 100 rooms (docs/benchmarks-scale.md).
const startSidecarTarget = 250 * time.Millisecond

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

// startOnce runs one start of n participants into n/10 rooms and returns
// how long it took until the last was listed in its room.
func startOnce(t *testing.T, n int) time.Duration {
	t.Helper()
	w := newWorld(t, n)
	ctx := t.Context()
	lk := bridgetest.NewLiveKit("k", "s-0123456789abcdef0123456789abcdef")
	mover := bridge.NewMover(lk, lk, bridge.Keys{APIKey: "k", APISecret: "s-0123456789abcdef0123456789abcdef"}, "ws://sfu", w.log)
	s := breakouts.New(w.st, w.bridge, mover, w.log)

	// Arrivals: the Mover learns them as from LiveKit's webhooks; the
	// benchmark notes when the last expected one came.
	var mu sync.Mutex
	var want map[string]string // participant -> room it must arrive in
	var last time.Time
	arrived := make(chan struct{})
	lk.OnEvent(func(ev *livekit.WebhookEvent) {
		mover.Observe(ev)
		if ev.Event != "participant_joined" {
			return
		}
		mu.Lock()
		defer mu.Unlock()
		if room, ok := want[ev.Participant.Identity]; ok && room == ev.Room.Name {
			delete(want, ev.Participant.Identity)
			if len(want) == 0 {
				last = time.Now()
				close(arrived)
			}
		}
	})
	runCtx, stop := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Go(func() { _ = mover.Run(runCtx) })
	wg.Go(func() { _ = s.Run(runCtx) })
	defer func() { stop(); wg.Wait(); lk.Close() }()

	for _, id := range w.people {
		lk.Join(w.meeting, &livekit.ParticipantInfo{Identity: id, Name: id,
			Permission: &livekit.ParticipantPermission{CanPublish: true, CanSubscribe: true, CanPublishData: true}},
			bridgetest.Behavior{})
	}
	st, _, err := s.CreateRooms(ctx, appID, w.meeting, breakouts.Admin, ptr[int64](0), make([]breakouts.RoomTitle, n/10))
	if err != nil {
		t.Fatal(err)
	}
	if st, err = s.Assign(ctx, appID, w.meeting, breakouts.Admin, &st.Version, breakouts.Assignment{Auto: true}); err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	want = map[string]string{}
	for _, r := range st.Rooms {
		for _, id := range r.Assigned {
			want[id] = r.ID
		}
	}
	mu.Unlock()
	if len(want) != n {
		t.Fatalf("%d participants assigned, want %d", len(want), n)
	}

	t0 := time.Now()
	if _, err := s.Start(ctx, appID, w.meeting, breakouts.Admin, &st.Version, breakouts.StartOptions{}); err != nil {
		t.Fatal(err)
	}
	select {
	case <-arrived:
	case <-time.After(30 * time.Second):
		mu.Lock()
		defer mu.Unlock()
		t.Fatalf("start of %d: %d participants not in their rooms after 30s", n, len(want))
	}
	mu.Lock()
	defer mu.Unlock()
	return last.Sub(t0)
}
