package recording

import (
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/livekit/protocol/livekit"

	"rtk-sidecar/cluster/clustertest"
	"rtk-sidecar/store"
)

// fakeBus hands what one replica publishes to every other one, on a
// goroutine of its own, as cluster.Bus does.
type fakeBus struct {
	mu   sync.Mutex
	subs []*Service
	wg   sync.WaitGroup
}

type busRelay struct {
	b    *fakeBus
	from *Service
}

func (r *busRelay) Publish(payload []byte) {
	r.b.mu.Lock()
	subs := append([]*Service(nil), r.b.subs...)
	r.b.mu.Unlock()
	for _, s := range subs {
		if s != r.from {
			r.b.wg.Go(func() { s.Receive(payload) })
		}
	}
}

// replicaEnv is a testEnv whose service is one of several replicas.
type replicaEnv struct {
	*testEnv
	owners *clustertest.Owners
	bus    *fakeBus
}

func newReplicaEnv(t *testing.T) *replicaEnv {
	e := &replicaEnv{testEnv: newTestEnv(t, BackendLocal), owners: clustertest.NewOwners(), bus: &fakeBus{}}
	t.Cleanup(e.bus.wg.Wait)
	e.svc = e.replica("a/1", e.backend)
	return e
}

// replica returns the service of replica token over the env's store.
func (e *replicaEnv) replica(token string, backend *fakeBackend) *Service {
	relay := &busRelay{b: e.bus}
	s := New(e.st, backend, e.notifier, Options{OutputDir: e.dir, Owners: e.owners.Replica(token), Relay: relay})
	s.now = func() time.Time { return e.now }
	relay.from = s
	e.bus.mu.Lock()
	e.bus.subs = append(e.bus.subs, s)
	e.bus.mu.Unlock()
	e.t.Cleanup(s.relaying.stop)
	return s
}

// TestReplicasRecoverOnlyTheirLeftovers: a replica that starts marks
// ERRORED the unfinished local recordings of its own previous run, of
// replicas that are not alive and of a single replica's run, and leaves
// those of live replicas alone.
func TestReplicasRecoverOnlyTheirLeftovers(t *testing.T) {
	e := newReplicaEnv(t)
	ctx := t.Context()
	startOn := func(s *Service, meeting string) string {
		t.Helper()
		e.meeting(meeting, "", false)
		v, err := s.Start(ctx, testApp, StartInput{MeetingID: &meeting})
		if err != nil {
			t.Fatal(err)
		}
		return v.ID
	}
	live := startOn(e.svc, "m-live")                                                                          // a/1 lives on
	dead := startOn(e.replica("b/1", &fakeBackend{name: BackendLocal, n: 100}), "m-dead")                     // b/1 dies
	previous := startOn(e.replica("c/1", &fakeBackend{name: BackendLocal, n: 200}), "m-previous")             // c's previous run
	single := startOn(New(e.st, &fakeBackend{name: BackendLocal, n: 300}, e.notifier, Options{}), "m-single") // no owner recorded
	e.owners.Die("b/1")

	c := e.replica("c/2", &fakeBackend{name: BackendLocal}) // c/1 restarted before its liveness lapsed
	c.created = time.Now().Add(time.Hour)
	c.recoverOrphans(ctx)
	for _, tc := range []struct {
		name, id, status string
	}{
		{"a live replica's", live, store.RecordingInvoked},
		{"a dead replica's", dead, store.RecordingErrored},
		{"its own previous run's", previous, store.RecordingErrored},
		{"a single replica's", single, store.RecordingErrored},
	} {
		if r := e.get(tc.id); r.Status != tc.status {
			t.Errorf("%s recording is %s, want %s", tc.name, r.Status, tc.status)
		}
	}
	// The recordings of the replica that died meanwhile are found later.
	e.owners.Die("a/1")
	c.failOrphans(ctx)
	if r := e.get(live); r.Status != store.RecordingErrored || !strings.Contains(r.Error, "replica running this recording stopped") {
		t.Errorf("after its replica died, the recording is %s (%q), want ERRORED", r.Status, r.Error)
	}
}

// TestReplicasForwardActions: a stop, pause or resume that reaches
// another replica is applied by the recorder of the replica that runs the
// recording, and answered with its result.
func TestReplicasForwardActions(t *testing.T) {
	e := newReplicaEnv(t)
	ctx := t.Context()
	e.meeting("m-1", "", false)
	v := e.start("m-1", StartInput{})
	e.report("EG_1", livekit.EgressStatus_EGRESS_ACTIVE, 10)
	otherBackend := &fakeBackend{name: BackendLocal, canPause: true, n: 100}
	other := e.replica("b/1", otherBackend)

	got, err := other.Act(ctx, testApp, v.ID, ActionPause)
	if err != nil || got.Status != store.RecordingPaused {
		t.Fatalf("pause through the other replica: %v, %v; want PAUSED", got.Status, err)
	}
	got, err = other.Act(ctx, testApp, v.ID, ActionResume)
	if err != nil || got.Status != store.RecordingRecording {
		t.Fatalf("resume through the other replica: %v, %v; want RECORDING", got.Status, err)
	}
	// The owner's refusal reaches the caller as it is.
	_, err = other.Act(ctx, testApp, v.ID, ActionResume)
	wantCode(t, err, "failed_precondition")
	got, err = other.Act(ctx, testApp, v.ID, ActionStop)
	if err != nil || got.Status != store.RecordingUploading {
		t.Fatalf("stop through the other replica: %v, %v; want UPLOADING", got.Status, err)
	}
	stopped, paused, resumed := e.backend.calls()
	if len(stopped) != 1 || len(paused) != 1 || len(resumed) != 1 {
		t.Errorf("the owner's recorder got stop %v, pause %v, resume %v; want one each", stopped, paused, resumed)
	}
	if s, p, r := otherBackend.calls(); len(s)+len(p)+len(r) != 0 {
		t.Errorf("the other replica's recorder got stop %v, pause %v, resume %v; want nothing", s, p, r)
	}
}

// TestReplicasRecorderGone: an action on a local recording whose replica is
// gone fails clearly, and the recording is marked ERRORED.
func TestReplicasRecorderGone(t *testing.T) {
	e := newReplicaEnv(t)
	e.meeting("m-1", "", false)
	v := e.start("m-1", StartInput{})
	other := e.replica("b/1", &fakeBackend{name: BackendLocal})
	e.owners.Die("a/1")
	_, err := other.Act(t.Context(), testApp, v.ID, ActionStop)
	wantCode(t, err, "failed_precondition", "gone", "ERRORED")
	if r := e.get(v.ID); r.Status != store.RecordingErrored {
		t.Errorf("the recording is %s, want ERRORED", r.Status)
	}
}
