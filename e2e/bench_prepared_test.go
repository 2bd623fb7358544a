//go:build e2e

package e2e

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"rtk-sidecar/presets"
	"rtk-sidecar/rtkclient"
)

// TestBenchmarkPublishBurst is an experiment, not a product path: how soon would the start of
// RTK_BENCH_START (100) participants into RTK_BENCH_ROOMS (10) rooms be audible if every client
// were already connected to its room before the start (prepared connections, docs/protocol.md §5)?
// The clients join their rooms first, with nothing published; at t0 all of them publish their
// microphone at once, and each is audible when a room-mate receives its first RTP packet. There
// is no parent here, and so no parent teardown: the result is a lower bound for a start with
// prepared connections on the host that runs it.
func TestBenchmarkPublishBurst(t *testing.T) {
	requireBench(t)
	n, nRooms := envInt("RTK_BENCH_START", 100), envInt("RTK_BENCH_ROOMS", 10)
	sc := StartSidecar(t)
	t.Cleanup(func() { sc.dropLeftovers(t) })

	type client struct {
		name, id, room string
		c              *rtkclient.Client
		mic            atomic.Pointer[rtkclient.Track]
	}
	rooms := make([]string, nRooms)
	for i := range rooms {
		rooms[i] = sc.CreateMeeting(t, fmt.Sprintf("Burst %d", i))
	}
	clients := make([]*client, n)
	for i := range clients {
		cl := &client{name: fmt.Sprintf("b%03d", i), room: rooms[i%nRooms]}
		var tok string
		cl.id, tok = sc.AddParticipant(t, cl.room, cl.name, presets.GroupCallParticipant)
		cl.c = rtkclient.New(sc.BaseURL, tok, rtkclient.WithLogger(clientLog(t, cl.name)), rtkclient.WithConnectTimeout(60*time.Second))
		t.Cleanup(cl.c.Close)
		clients[i] = cl
	}
	// One feeder: 20 ms Opus frames to every microphone once it exists.
	every(t, audioFrameInterval, func() {
		for _, cl := range clients {
			if m := cl.mic.Load(); m != nil {
				_ = m.WriteSample(mediaSample(opusFrame, audioFrameInterval))
			}
		}
	})

	joinStart := time.Now()
	var wg sync.WaitGroup
	sem := make(chan struct{}, 2)
	var joinErr atomic.Value
	for _, cl := range clients {
		sem <- struct{}{}
		wg.Go(func() {
			defer func() { <-sem }()
			ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
			defer cancel()
			if _, err := cl.c.Join(ctx); err != nil {
				joinErr.Store(fmt.Errorf("%s: %w", cl.name, err))
			}
		})
	}
	wg.Wait()
	if err, _ := joinErr.Load().(error); err != nil {
		t.Fatalf("join: %v", err)
	}
	t.Logf("BENCH publish_burst join: %d clients joined %d rooms in %s", n, nRooms, ms(time.Since(joinStart)))
	t.Logf("BENCH publish_burst settle: CPU quiet after %s", ms(waitIdle(t, sc, 60*time.Second)))

	cpu0 := readCPU(sc)
	t0 := time.Now()
	published := make([]time.Duration, n)
	for i, cl := range clients {
		wg.Go(func() {
			m, err := cl.c.Publish(rtkclient.Microphone())
			if err != nil {
				t.Errorf("%s: publish: %v", cl.name, err)
				return
			}
			cl.mic.Store(m)
			published[i] = time.Since(t0)
		})
	}
	wg.Wait()

	audibleOf := func(cl *client) time.Time {
		var first time.Time
		for _, q := range clients {
			if q == cl || q.room != cl.room {
				continue
			}
			if s := q.c.Received(cl.room, cl.id, rtkclient.Audio); s.Packets > 0 && (first.IsZero() || s.First.Before(first)) {
				first = s.First
			}
		}
		return first
	}
	deadline := t0.Add(60 * time.Second)
	var audible []time.Duration
	for {
		audible = audible[:0]
		for _, cl := range clients {
			if at := audibleOf(cl); !at.IsZero() {
				audible = append(audible, at.Sub(t0))
			}
		}
		if len(audible) == n {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("after %s only %d of %d are audible to a room-mate", time.Since(t0), len(audible), n)
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Logf("BENCH publish_burst metric=published n=%d %s", n, summary(published))
	t.Logf("BENCH publish_burst metric=audible_to_a_roommate n=%d %s; cpu %s", n, summary(audible), readCPU(sc).sub(cpu0))
}
