package webhooks_test

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/livekit/psrpc"

	"rtk-sidecar/store"
	"rtk-sidecar/store/sqlstore"
	"rtk-sidecar/store/storetest"
	"rtk-sidecar/webhooks"
)

var (
	keyOnce sync.Once
	testKey *rsa.PrivateKey
)

func signer(t *testing.T) *webhooks.Signer {
	t.Helper()
	keyOnce.Do(func() {
		k, err := rsa.GenerateKey(rand.Reader, 2048)
		if err != nil {
			panic(err)
		}
		testKey = k
	})
	s, err := webhooks.NewSigner(testKey)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func testLog(t *testing.T) *slog.Logger {
	return slog.New(slog.NewTextHandler(testWriter{t}, &slog.HandlerOptions{Level: slog.LevelDebug}))
}

type testWriter struct{ t *testing.T }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimSpace(string(p)))
	return len(p), nil
}

// sqliteDSN returns the DSN of a new SQLite file.
func sqliteDSN(t *testing.T) string {
	return "sqlite:" + filepath.Join(t.TempDir(), "rtk.db")
}

func openStore(t *testing.T, dsn string) *sqlstore.DB {
	t.Helper()
	st, err := sqlstore.Open(t.Context(), dsn)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return st
}

// seedApp creates app-1 and returns its id.
func seedApp(t *testing.T, st store.Store) string {
	t.Helper()
	if err := st.CreateApp(t.Context(), store.App{ID: "app-1", AccountID: "acc", Name: "app", CreatedAt: time.Now()}); err != nil {
		t.Fatal(err)
	}
	return "app-1"
}

// fastOptions retry quickly.
func fastOptions() webhooks.Options {
	return webhooks.Options{
		Timeout: 2 * time.Second, MinBackoff: 20 * time.Millisecond, MaxBackoff: 100 * time.Millisecond,
		PollInterval: 50 * time.Millisecond, Workers: 4,
	}
}

// runOutbox runs o until the test ends (or stop is called) and waits for it.
func runOutbox(t *testing.T, o *webhooks.Outbox) (stop func()) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- o.Run(ctx) }()
	var once sync.Once
	stop = func() {
		once.Do(func() {
			cancel()
			if err := <-done; err != nil {
				t.Errorf("Run: %v", err)
			}
		})
	}
	t.Cleanup(stop)
	return stop
}

// receiver is a webhook endpoint that verifies every signature with the
// public key and records, per webhook, the deliveries it accepted (answered
// 2xx), deduplicated by uuid as a receiver should.
type receiver struct {
	t   *testing.T
	srv *httptest.Server
	pub *rsa.PublicKey

	mu          sync.Mutex
	answer      func(webhookID string, n int) int // status for the n-th request of a webhook (from 1)
	block       chan struct{}                     // when set, requests wait for it to close
	requests    map[string]int
	accepted    map[string][]string // webhook id -> uuids, first acceptance order
	seen        map[string]int      // uuid -> acceptances
	bodies      map[string]string   // uuid -> body
	headers     map[string]http.Header
	inflight    map[string]int
	maxInflight int
	arrived     chan string // uuid of every request, as it arrives
}

func newReceiver(t *testing.T, publicKeyPEM string) *receiver {
	t.Helper()
	pub, err := webhooks.ParsePublicKey(publicKeyPEM)
	if err != nil {
		t.Fatal(err)
	}
	r := &receiver{t: t, pub: pub, answer: func(string, int) int { return 200 },
		requests: map[string]int{}, accepted: map[string][]string{}, seen: map[string]int{},
		bodies: map[string]string{}, headers: map[string]http.Header{}, inflight: map[string]int{},
		arrived: make(chan string, 1000)}
	r.srv = httptest.NewServer(http.HandlerFunc(r.serve))
	t.Cleanup(r.srv.Close)
	return r
}

func (r *receiver) setAnswer(f func(webhookID string, n int) int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.answer = f
}

func (r *receiver) serve(w http.ResponseWriter, req *http.Request) {
	body, _ := io.ReadAll(req.Body)
	prefix := "rtk"
	if req.Header.Get("dyte-uuid") != "" {
		prefix = "dyte"
	}
	id, hook := req.Header.Get(prefix+"-uuid"), req.Header.Get(prefix+"-webhook-id")
	if err := webhooks.Verify(r.pub, body, req.Header.Get(prefix+"-signature")); err != nil {
		r.t.Errorf("delivery %s: %v", id, err)
		w.WriteHeader(http.StatusUnauthorized)
		return
	}
	r.arrived <- id
	r.mu.Lock()
	block := r.block
	r.inflight[hook]++
	r.maxInflight = max(r.maxInflight, r.inflight[hook])
	r.requests[hook]++
	status := r.answer(hook, r.requests[hook])
	r.mu.Unlock()
	if block != nil {
		<-block
	}
	r.mu.Lock()
	r.inflight[hook]--
	if status >= 200 && status < 300 {
		if r.seen[id] == 0 {
			r.accepted[hook] = append(r.accepted[hook], id)
			r.bodies[id] = string(body)
			r.headers[id] = req.Header.Clone()
		}
		r.seen[id]++
	}
	r.mu.Unlock()
	w.WriteHeader(status)
}

func (r *receiver) acceptedOf(hook string) []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.accepted[hook])
}

// createHook adds a webhook for every event to the app.
func createHook(t *testing.T, svc *webhooks.Service, appID, flavour, url string) store.Webhook {
	t.Helper()
	name, events := "hook", slices.Clone(webhooks.EventNames)
	h, err := svc.Create(t.Context(), appID, flavour, webhooks.Input{Name: &name, URL: &url, Events: &events})
	if err != nil {
		t.Fatal(err)
	}
	return h
}

// enqueue adds n meeting.started events (titles prefix-0, prefix-1, ...),
// each in its own transaction.
func enqueue(t *testing.T, st store.Store, o *webhooks.Outbox, appID, prefix string, n int) {
	t.Helper()
	for i := range n {
		m := meetingBlock()
		m.Title = fmt.Sprintf("%s-%d", prefix, i)
		err := st.InTx(t.Context(), func(q store.Queries) error {
			return o.Enqueue(t.Context(), q, appID, webhooks.NewMeetingStarted(m))
		})
		if err != nil {
			t.Fatal(err)
		}
	}
}

// queued returns the delivery ids of a webhook in enqueue order.
func queued(t *testing.T, st store.Store, hookID string) []string {
	t.Helper()
	ds, _, err := st.ListDeliveries(t.Context(), hookID, store.DeliveryFilter{})
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, d := range ds {
		out = append(out, d.ID)
	}
	return out
}

// eventually polls cond until it returns "" or the timeout passes.
func eventually(t *testing.T, timeout time.Duration, cond func() string) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		missing := cond()
		if missing == "" {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("after %s: %s", timeout, missing)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func statusOf(t *testing.T, st store.Store, hookID, id string) store.Delivery {
	t.Helper()
	d, err := st.GetDelivery(t.Context(), hookID, id)
	if err != nil {
		t.Fatal(err)
	}
	return d
}

func TestEnqueueFansOutByEventFilter(t *testing.T) {
	st := openStore(t, sqliteDSN(t))
	appID := seedApp(t, st)
	o := webhooks.NewOutbox(st, signer(t), fastOptions(), testLog(t))
	svc := webhooks.NewService(st, signer(t), o)
	name, u := "h", "https://example.com/h"
	started := []string{webhooks.MeetingStarted}
	ended := []string{webhooks.MeetingEnded}
	off := false
	hStarted, err := svc.Create(t.Context(), appID, "", webhooks.Input{Name: &name, URL: &u, Events: &started})
	if err != nil {
		t.Fatal(err)
	}
	hEnded, err := svc.Create(t.Context(), appID, "", webhooks.Input{Name: &name, URL: &u, Events: &ended})
	if err != nil {
		t.Fatal(err)
	}
	hOff, err := svc.Create(t.Context(), appID, "", webhooks.Input{Name: &name, URL: &u, Events: &started, Enabled: &off})
	if err != nil {
		t.Fatal(err)
	}
	enqueue(t, st, o, appID, "x", 2)
	if got := queued(t, st, hStarted.ID); len(got) != 2 || got[0] == got[1] {
		t.Errorf("meeting.started webhook got %v, want 2 deliveries with distinct ids", got)
	}
	if got := queued(t, st, hEnded.ID); len(got) != 0 {
		t.Errorf("meeting.ended webhook got %v, want none", got)
	}
	if got := queued(t, st, hOff.ID); len(got) != 0 {
		t.Errorf("disabled webhook got %v, want none", got)
	}

	// Enqueue is part of the caller's transaction: a rollback leaves nothing.
	errRollback := errors.New("rollback")
	err = st.InTx(t.Context(), func(q store.Queries) error {
		if err := o.Enqueue(t.Context(), q, appID, webhooks.NewMeetingStarted(meetingBlock())); err != nil {
			return err
		}
		return errRollback
	})
	if !errors.Is(err, errRollback) {
		t.Fatal(err)
	}
	if got := queued(t, st, hStarted.ID); len(got) != 2 {
		t.Errorf("after a rolled back enqueue: %d deliveries, want 2", len(got))
	}
}

// TestReceiverDownThenUp: the receiver answers 503 for its first requests;
// every event still arrives, once per uuid, in enqueue order per webhook,
// signed; a healthy webhook is not held back by the failing one.
func TestReceiverDownThenUp(t *testing.T) {
	for _, engine := range []string{"sqlite", "postgres"} {
		t.Run(engine, func(t *testing.T) {
			dsn := sqliteDSN(t)
			if engine == "postgres" {
				dsn = storetest.PostgresDSN(t)
			}
			st := openStore(t, dsn)
			appID := seedApp(t, st)
			o := webhooks.NewOutbox(st, signer(t), fastOptions(), testLog(t))
			svc := webhooks.NewService(st, signer(t), o)
			rcv := newReceiver(t, svc.PublicKeyPEM())
			down := createHook(t, svc, appID, store.FlavourRTK, rcv.srv.URL+"/down")
			healthy := createHook(t, svc, appID, store.FlavourDyte, rcv.srv.URL+"/healthy")
			var upAt time.Time
			var mu sync.Mutex
			rcv.setAnswer(func(hook string, n int) int {
				if hook != down.ID {
					return 200
				}
				mu.Lock()
				defer mu.Unlock()
				if upAt.IsZero() || time.Now().Before(upAt) {
					return http.StatusServiceUnavailable
				}
				return 200
			})
			enqueue(t, st, o, appID, "a", 10)
			runOutbox(t, o)
			enqueue(t, st, o, appID, "b", 10)

			// While the first webhook is down, the other gets everything.
			eventually(t, 10*time.Second, func() string {
				if got := len(rcv.acceptedOf(healthy.ID)); got != 20 {
					return fmt.Sprintf("healthy webhook accepted %d of 20", got)
				}
				return ""
			})
			if got := rcv.acceptedOf(down.ID); len(got) != 0 {
				t.Fatalf("down webhook accepted %v while answering 503", got)
			}
			eventually(t, 10*time.Second, func() string {
				head := statusOf(t, st, down.ID, queued(t, st, down.ID)[0])
				if head.Attempts < 2 || head.LastStatus != 503 || head.Status != store.DeliveryPending {
					return fmt.Sprintf("down webhook's head = %s after %d attempts (last %d), want pending with several 503 attempts",
						head.Status, head.Attempts, head.LastStatus)
				}
				return ""
			})
			if got := rcv.acceptedOf(down.ID); len(got) != 0 {
				t.Fatalf("down webhook accepted %v while answering 503", got)
			}
			mu.Lock()
			upAt = time.Now().Add(200 * time.Millisecond)
			mu.Unlock()

			eventually(t, 10*time.Second, func() string {
				if got := len(rcv.acceptedOf(down.ID)); got != 20 {
					return fmt.Sprintf("down webhook accepted %d of 20", got)
				}
				return ""
			})
			for _, h := range []store.Webhook{down, healthy} {
				want := queued(t, st, h.ID)
				if got := rcv.acceptedOf(h.ID); !slices.Equal(got, want) {
					t.Errorf("webhook %s: accepted\n%v\nwant, in enqueue order,\n%v", h.ID, got, want)
				}
				waitDelivered(t, svc, appID, h.ID, 20)
			}
			rcv.wantEachOnce(t)
			rcv.mu.Lock()
			defer rcv.mu.Unlock()
			// Headers name the flavour; the body is the event.
			for id, h := range rcv.headers {
				flavour := "rtk"
				if slices.Contains(rcv.accepted[healthy.ID], id) {
					flavour = "dyte"
				}
				if h.Get(flavour+"-uuid") != id || h.Get(flavour+"-signature") == "" || h.Get(flavour+"-webhook-id") == "" ||
					h.Get("Content-Type") != "application/json" {
					t.Errorf("delivery %s headers: %v", id, h)
				}
				if !strings.HasPrefix(rcv.bodies[id], `{"event":"meeting.started","meeting":`) {
					t.Errorf("delivery %s body: %s", id, rcv.bodies[id])
				}
			}
		})
	}
}

// fastClock is a clock that runs speed times faster than real time.
type fastClock struct {
	start, realStart time.Time
	speed            time.Duration
}

func newFastClock(speed time.Duration) fastClock {
	return fastClock{start: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC), realStart: time.Now(), speed: speed}
}

func (c fastClock) Now() time.Time { return c.start.Add(time.Since(c.realStart) * c.speed) }

// sleepUntil waits (in real time) until the clock reads at least t.
func (c fastClock) sleepUntil(t time.Time) {
	for c.Now().Before(t) {
		time.Sleep(time.Millisecond)
	}
}

// TestReceiverDownForAnHour: with the production retry settings (backoff
// from 2s doubling up to 10m, max_age 24h), a receiver that is down for an
// hour loses nothing. Every event, those enqueued before the outage and
// those enqueued during it, arrives once, in order, after it is back, and
// none is dead, although the queue head failed many more times than any
// fixed attempt count would allow. The clock runs a thousand times faster
// than real time (the hour takes 3.6 s).
func TestReceiverDownForAnHour(t *testing.T) {
	clock := newFastClock(1000)
	st := openStore(t, sqliteDSN(t))
	appID := seedApp(t, st)
	o := webhooks.NewOutbox(st, signer(t), webhooks.Options{
		Timeout: 2 * time.Second, Lease: 3 * time.Hour, MaxAge: 24 * time.Hour,
		MinBackoff: 2 * time.Second, MaxBackoff: 10 * time.Minute, Workers: 4,
		PollInterval: 10 * time.Millisecond, // real time: 10 s of the clock
		Now:          clock.Now,
	}, testLog(t))
	svc := webhooks.NewService(st, signer(t), o)
	rcv := newReceiver(t, svc.PublicKeyPEM())
	h := createHook(t, svc, appID, store.FlavourRTK, rcv.srv.URL)
	upAt := clock.start.Add(time.Hour)
	rcv.setAnswer(func(string, int) int {
		if clock.Now().Before(upAt) {
			return http.StatusServiceUnavailable
		}
		return http.StatusOK
	})

	enqueue(t, st, o, appID, "before", 5)
	runOutbox(t, o)
	for _, at := range []time.Duration{10 * time.Minute, 30 * time.Minute, 55 * time.Minute} {
		clock.sleepUntil(clock.start.Add(at))
		enqueue(t, st, o, appID, fmt.Sprintf("during-%s", at), 2)
	}
	clock.sleepUntil(upAt.Add(-time.Minute))
	if got := rcv.acceptedOf(h.ID); len(got) != 0 {
		t.Fatalf("accepted %v while the receiver was down", got)
	}
	ids := queued(t, st, h.ID)
	head := statusOf(t, st, h.ID, ids[0])
	if head.Status != store.DeliveryPending || head.Attempts <= 10 {
		t.Fatalf("after 59 minutes down, the queue head is %s after %d attempts; want pending after more than 10",
			head.Status, head.Attempts)
	}

	// Back up: within max_backoff of the clock (0.6 s) the head goes, and
	// the rest after it.
	eventually(t, 15*time.Second, func() string {
		if got := len(rcv.acceptedOf(h.ID)); got != len(ids) {
			return fmt.Sprintf("accepted %d of %d", got, len(ids))
		}
		return ""
	})
	if got := rcv.acceptedOf(h.ID); !slices.Equal(got, ids) {
		t.Errorf("accepted\n%v\nwant, in enqueue order,\n%v", got, ids)
	}
	waitDelivered(t, svc, appID, h.ID, len(ids))
	rcv.wantEachOnce(t)
}

// waitDelivered waits until the store lists n deliveries of a webhook as
// delivered (the receiver answers before the dispatcher records it).
func waitDelivered(t *testing.T, svc *webhooks.Service, appID, hookID string, n int) {
	t.Helper()
	eventually(t, 5*time.Second, func() string {
		ds, total, err := svc.Deliveries(t.Context(), appID, hookID, store.DeliveryDelivered, store.Page{})
		if err != nil || total != n || len(ds) != n {
			return fmt.Sprintf("delivered deliveries of %s: %d of %d (%v)", hookID, total, n, err)
		}
		return ""
	})
}

// wantEachOnce checks that the receiver accepted every delivery once.
func (r *receiver) wantEachOnce(t *testing.T) {
	t.Helper()
	r.mu.Lock()
	defer r.mu.Unlock()
	for id, n := range r.seen {
		if n != 1 {
			t.Errorf("delivery %s accepted %d times, want once", id, n)
		}
	}
}

// TestRefusedNotRetried: a 4xx answer other than 408 and 429 fails the
// delivery at once; the webhook's next delivery goes out.
func TestRefusedNotRetried(t *testing.T) {
	st := openStore(t, sqliteDSN(t))
	appID := seedApp(t, st)
	opts := fastOptions()
	var results attemptResults
	opts.Observer = &results
	o := webhooks.NewOutbox(st, signer(t), opts, testLog(t))
	svc := webhooks.NewService(st, signer(t), o)
	rcv := newReceiver(t, svc.PublicKeyPEM())
	h := createHook(t, svc, appID, "", rcv.srv.URL)
	rcv.setAnswer(func(_ string, n int) int {
		switch n {
		case 1:
			return http.StatusBadRequest
		case 2:
			return http.StatusTooManyRequests // retried
		case 3:
			return http.StatusRequestTimeout // retried
		case 4:
			return http.StatusMovedPermanently // redirects are not followed: refused
		default:
			return 200
		}
	})
	enqueue(t, st, o, appID, "r", 3)
	runOutbox(t, o)
	ids := queued(t, st, h.ID)
	eventually(t, 10*time.Second, func() string {
		if got := rcv.acceptedOf(h.ID); len(got) != 1 {
			return fmt.Sprintf("accepted %v", got)
		}
		return ""
	})
	want := []struct {
		status   string
		attempts int
		last     int
	}{{store.DeliveryFailed, 1, 400}, {store.DeliveryFailed, 3, 301}, {store.DeliveryDelivered, 1, 200}}
	// (The receiver answers before the dispatcher records the outcome.)
	eventually(t, 5*time.Second, func() string {
		for i, w := range want {
			d := statusOf(t, st, h.ID, ids[i])
			if d.Status != w.status || d.Attempts != w.attempts || d.LastStatus != w.last {
				return fmt.Sprintf("delivery %d: status %s, attempts %d, last status %d; want %s, %d, %d",
					i, d.Status, d.Attempts, d.LastStatus, w.status, w.attempts, w.last)
			}
		}
		return ""
	})
	failed, _, err := svc.Deliveries(t.Context(), appID, h.ID, store.DeliveryFailed, store.Page{})
	if err != nil || len(failed) != 2 || !strings.Contains(failed[0].LastError, "400") {
		t.Errorf("failed deliveries: %+v, %v", failed, err)
	}
	if got, want := results.get(), []string{"refused", "retry", "retry", "refused", "delivered"}; !slices.Equal(got, want) {
		t.Errorf("the observer heard %v, want %v", got, want)
	}
}

// attemptResults is an AttemptObserver that keeps what it hears.
type attemptResults struct {
	mu   sync.Mutex
	seen []string
}

func (r *attemptResults) DeliveryAttempted(result string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.seen = append(r.seen, result)
}

func (r *attemptResults) get() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.seen)
}

// TestDeadAfterBudgetThenRetry: a delivery that keeps failing is dead once
// it fails when older than MaxAge, visible as such, and the API brings it
// back.
func TestDeadAfterBudgetThenRetry(t *testing.T) {
	st := openStore(t, sqliteDSN(t))
	appID := seedApp(t, st)
	opts := fastOptions()
	opts.MaxAge = 300 * time.Millisecond
	o := webhooks.NewOutbox(st, signer(t), opts, testLog(t))
	svc := webhooks.NewService(st, signer(t), o)
	rcv := newReceiver(t, svc.PublicKeyPEM())
	h := createHook(t, svc, appID, "", rcv.srv.URL)
	var healthy sync.Mutex
	up := false
	rcv.setAnswer(func(string, int) int {
		healthy.Lock()
		defer healthy.Unlock()
		if up {
			return 204
		}
		return 500
	})
	enqueue(t, st, o, appID, "d", 2)
	runOutbox(t, o)
	ids := queued(t, st, h.ID)
	eventually(t, 10*time.Second, func() string {
		dead, _, err := svc.Deliveries(t.Context(), appID, h.ID, store.DeliveryDead, store.Page{})
		if err != nil || len(dead) != 2 {
			return fmt.Sprintf("dead deliveries: %d (%v)", len(dead), err)
		}
		return ""
	})
	d := statusOf(t, st, h.ID, ids[0])
	if d.Attempts < 2 || d.LastStatus != 500 || d.UpdatedAt.Sub(d.CreatedAt) < opts.MaxAge {
		t.Errorf("dead delivery: attempts %d, last status %d, last attempt %s after its event; want retries, 500, past max_age %s",
			d.Attempts, d.LastStatus, d.UpdatedAt.Sub(d.CreatedAt), opts.MaxAge)
	}
	_, err := svc.Retry(t.Context(), appID, h.ID, "nope")
	if !isCode(err, psrpc.NotFound) {
		t.Errorf("Retry(unknown) = %v, want NotFound", err)
	}

	healthy.Lock()
	up = true
	healthy.Unlock()
	// (The dispatcher may deliver it before Retry reads it back.)
	if r, err := svc.Retry(t.Context(), appID, h.ID, ids[1]); err != nil || r.Status == store.DeliveryDead || r.Attempts > 1 {
		t.Fatalf("Retry = %s after %d attempts, %v; want it pending again, its attempts counted from 0", r.Status, r.Attempts, err)
	}
	eventually(t, 10*time.Second, func() string {
		if got := rcv.acceptedOf(h.ID); !slices.Equal(got, ids[1:]) {
			return fmt.Sprintf("accepted %v, want %v", got, ids[1:])
		}
		return ""
	})
	if d := statusOf(t, st, h.ID, ids[0]); d.Status != store.DeliveryDead {
		t.Errorf("the other dead delivery is %s, want it left dead", d.Status)
	}
	if _, err := svc.Retry(t.Context(), appID, h.ID, ids[1]); !isCode(err, psrpc.FailedPrecondition) {
		t.Errorf("Retry(delivered) = %v, want FailedPrecondition", err)
	}
}

func isCode(err error, code psrpc.ErrorCode) bool {
	var perr psrpc.Error
	return errors.As(err, &perr) && perr.Code() == code
}

// TestCrashMidDelivery: the process dies while a delivery is in flight (its
// store connection is gone and it never records the outcome); a new
// dispatcher over the same database delivers it once the lease lapses.
func TestCrashMidDelivery(t *testing.T) {
	for _, engine := range []string{"sqlite", "postgres"} {
		t.Run(engine, func(t *testing.T) {
			dsn := sqliteDSN(t)
			if engine == "postgres" {
				dsn = storetest.PostgresDSN(t)
			}
			st1, err := sqlstore.Open(t.Context(), dsn)
			if err != nil {
				t.Fatal(err)
			}
			appID := seedApp(t, st1)
			sig := signer(t)
			opts := fastOptions()
			opts.Timeout, opts.Lease, opts.Owner = 500*time.Millisecond, 1500*time.Millisecond, "first"
			o1 := webhooks.NewOutbox(st1, sig, opts, testLog(t))
			svc1 := webhooks.NewService(st1, sig, o1)
			rcv := newReceiver(t, sig.PublicKeyPEM())
			h := createHook(t, svc1, appID, "", rcv.srv.URL)
			block := make(chan struct{})
			rcv.mu.Lock()
			rcv.block = block
			rcv.mu.Unlock()
			enqueue(t, st1, o1, appID, "c", 2)
			ids := queued(t, st1, h.ID)

			stop1 := runOutbox(t, o1)
			select {
			case id := <-rcv.arrived:
				if id != ids[0] {
					t.Fatalf("first request is for %s, want %s", id, ids[0])
				}
			case <-time.After(10 * time.Second):
				t.Fatal("the first delivery never arrived")
			}
			// The crash: the process's database connections are gone, so
			// whatever its dispatcher does from now on is lost.
			if err := st1.Close(); err != nil {
				t.Fatal(err)
			}
			rcv.mu.Lock()
			rcv.block = nil
			rcv.mu.Unlock()
			// The receiver answers the crashed process's request, which can
			// no longer record that: the delivery goes out again, with the
			// same uuid, and the receiver dedupes it.
			close(block)

			// A new process over the same database.
			st2 := openStore(t, dsn)
			opts.Owner = "second"
			o2 := webhooks.NewOutbox(st2, sig, opts, testLog(t))
			runOutbox(t, o2)
			eventually(t, 15*time.Second, func() string {
				if got := rcv.acceptedOf(h.ID); !slices.Equal(got, ids) {
					return fmt.Sprintf("accepted %v, want %v", got, ids)
				}
				return ""
			})
			eventually(t, 5*time.Second, func() string {
				d := statusOf(t, st2, h.ID, ids[0])
				if d.Status != store.DeliveryDelivered || d.Attempts != 2 {
					return fmt.Sprintf("delivery after the crash: status %s, attempts %d; want delivered on attempt 2", d.Status, d.Attempts)
				}
				return ""
			})
			rcv.mu.Lock()
			if n := rcv.seen[ids[0]]; n < 1 || n > 2 {
				t.Errorf("the crashed delivery was accepted %d times, want once or twice (then deduped)", n)
			}
			rcv.mu.Unlock()
			stop1()
		})
	}
}

// TestTwoDispatchers: two dispatchers (two sidecar processes) over one
// database never deliver to the same webhook at the same time, and deliver
// everything once.
func TestTwoDispatchers(t *testing.T) {
	for _, engine := range []string{"sqlite", "postgres"} {
		t.Run(engine, func(t *testing.T) {
			dsn := sqliteDSN(t)
			if engine == "postgres" {
				dsn = storetest.PostgresDSN(t)
			}
			st1 := openStore(t, dsn)
			st2 := openStore(t, dsn)
			appID := seedApp(t, st1)
			sig := signer(t)
			opts := fastOptions()
			opts.Owner = "one"
			o1 := webhooks.NewOutbox(st1, sig, opts, testLog(t))
			opts.Owner = "two"
			o2 := webhooks.NewOutbox(st2, sig, opts, testLog(t))
			svc := webhooks.NewService(st1, sig, o1)
			rcv := newReceiver(t, sig.PublicKeyPEM())
			var hooks []store.Webhook
			for i := range 3 {
				hooks = append(hooks, createHook(t, svc, appID, "", fmt.Sprintf("%s/%d", rcv.srv.URL, i)))
			}
			rcv.setAnswer(func(_ string, n int) int {
				time.Sleep(5 * time.Millisecond) // widen the window for overlap
				if n%3 == 0 {
					return 503
				}
				return 200
			})
			runOutbox(t, o1)
			runOutbox(t, o2)
			enqueue(t, st1, o1, appID, "t", 15)
			o2.Wake()
			eventually(t, 20*time.Second, func() string {
				for _, h := range hooks {
					if got := len(rcv.acceptedOf(h.ID)); got != 15 {
						return fmt.Sprintf("webhook %s accepted %d of 15", h.ID, got)
					}
				}
				return ""
			})
			for _, h := range hooks {
				if got, want := rcv.acceptedOf(h.ID), queued(t, st1, h.ID); !slices.Equal(got, want) {
					t.Errorf("webhook %s: accepted %v, want %v", h.ID, got, want)
				}
			}
			rcv.mu.Lock()
			defer rcv.mu.Unlock()
			if rcv.maxInflight != 1 {
				t.Errorf("a webhook had %d requests in flight at once, want 1", rcv.maxInflight)
			}
		})
	}
}
