package recording

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/google/uuid"
	"github.com/livekit/psrpc"

	"rtk-sidecar/cluster"
	"rtk-sidecar/store"
)

// Owners records which replica runs each local recording, and which
// replicas are alive. *cluster.Owners implements it.
type Owners interface {
	// Token returns the name this replica owns work under.
	Token() string
	// Own records that this replica runs items, for at most ttl.
	Own(ctx context.Context, items []string, ttl time.Duration) error
	// Release records that this replica no longer runs item.
	Release(ctx context.Context, item string) error
	// Owner returns the token of the replica that runs item ("" for none
	// recorded) and whether that replica is alive.
	Owner(ctx context.Context, item string) (token string, alive bool, err error)
	// TakeOrphans takes over those of items whose owner is no longer
	// alive and returns them; of replicas asking at once, one takes each.
	TakeOrphans(ctx context.Context, items []string, ttl time.Duration) ([]string, error)
}

var _ Owners = (*cluster.Owners)(nil)

// Relay publishes a message to the other replicas (cluster.Publisher).
type Relay interface {
	Publish(payload []byte)
}

// Timings of local recordings among replicas.
const (
	// ownFor is how long a replica's record of running a local recording
	// lasts: longer than any recording runs. It is released when the
	// recording ends.
	ownFor = 31 * 24 * time.Hour
	// forwardTimeout bounds the wait for the owner's answer to a forwarded
	// stop, pause or resume.
	forwardTimeout = 10 * time.Second
	// orphansEvery is how often a replica looks for the local recordings
	// of replicas that died.
	orphansEvery = 5 * time.Second
)

// ErrRecorderGone is returned for an action on a local recording whose
// replica is gone: the recording is then marked ERRORED.
var ErrRecorderGone = psrpc.NewErrorf(psrpc.FailedPrecondition, "the replica that ran this local recording is gone; the recording is now ERRORED")

func recordingItem(id string) string { return "recording:" + id }

// replicated reports whether local recordings are run beside other
// replicas, each recording on the replica that started it.
func (s *Service) replicated() bool {
	return s.owners != nil && s.backend.Name() == BackendLocal
}

// own records this replica as the one running the local recordings ids.
func (s *Service) own(ctx context.Context, ids ...string) error {
	if !s.replicated() {
		return nil
	}
	items := make([]string, len(ids))
	for i, id := range ids {
		items[i] = recordingItem(id)
	}
	if err := s.owners.Own(ctx, items, ownFor); err != nil {
		return fmt.Errorf("recording: record the replica running %s: %w", ids[0], err)
	}
	return nil
}

// released records, once r has ended, that no replica runs it.
func (s *Service) released(ctx context.Context, r store.Recording) {
	if !s.replicated() || r.Backend != BackendLocal {
		return
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), time.Second)
	defer cancel()
	if err := s.owners.Release(ctx, recordingItem(r.ID)); err != nil {
		s.log.Warn("release a recording", "recording", r.ID, "err", err)
	}
}

// isLeftover reports whether this replica, starting, should mark the
// unfinished local recording r ERRORED: its recorder was this replica's
// previous run (the same node name), a replica that is no longer alive,
// or one that recorded no owner (a single replica's previous run).
func (s *Service) isLeftover(ctx context.Context, r store.Recording) (bool, error) {
	if !s.replicated() {
		return true, nil
	}
	token, alive, err := s.owners.Owner(ctx, recordingItem(r.ID))
	if err != nil {
		return false, err
	}
	switch {
	case token == "", !alive, token == s.owners.Token():
		return true, nil
	default:
		return cluster.NodeOf(token) == cluster.NodeOf(s.owners.Token()), nil
	}
}

// failOrphans marks ERRORED the unfinished local recordings of replicas
// that died since this one started (those of before are recoverOrphans').
func (s *Service) failOrphans(ctx context.Context) {
	rs, _, err := s.st.ListRecordings(ctx, "", store.RecordingFilter{Statuses: unfinished})
	if err != nil {
		s.log.Warn("list unfinished recordings", "err", err)
		return
	}
	byItem := map[string]store.Recording{}
	var items []string
	for _, r := range rs {
		if r.Backend == BackendLocal {
			byItem[recordingItem(r.ID)] = r
			items = append(items, recordingItem(r.ID))
		}
	}
	taken, err := s.owners.TakeOrphans(ctx, items, time.Minute)
	if err != nil {
		s.log.Warn("take over recordings", "err", err)
		return
	}
	for _, it := range taken {
		r := byItem[it]
		s.log.Warn("recording left unfinished by a replica that died", "recording", r.ID, "status", r.Status)
		s.fail(ctx, r, errors.New("the replica running this recording stopped"))
	}
}

// relayMsg is a stop, pause or resume forwarded to the replica that runs
// a local recording (kind "act"), or its answer (kind "done").
type relayMsg struct {
	Kind      string `json:"kind"`
	ID        string `json:"id"` // the request's
	To        string `json:"to"` // the token of the replica meant
	From      string `json:"from"`
	AppID     string `json:"app_id,omitempty"`
	Recording string `json:"recording,omitempty"`
	Action    string `json:"action,omitempty"`
	Code      string `json:"code,omitempty"` // the answer's error: a psrpc code, "" for none
	Message   string `json:"message,omitempty"`
}

// relaying is the state of forwarded actions.
type relaying struct {
	mu      sync.Mutex
	waiting map[string]chan relayMsg // by request id
	closed  bool                     // Run ended: no more actions for other replicas
	wg      sync.WaitGroup           // actions run for other replicas
}

// stop waits for the actions run for other replicas and refuses new ones.
func (r *relaying) stop() {
	r.mu.Lock()
	r.closed = true
	r.mu.Unlock()
	r.wg.Wait()
}

// route forwards action on local recording r to the replica that runs it,
// and reports whether it did (false: this replica runs it, or nobody is
// recorded as running it, and acts itself).
func (s *Service) route(ctx context.Context, r store.Recording, action string) (bool, error) {
	if !s.replicated() || r.Backend != BackendLocal || s.relay == nil {
		return false, nil
	}
	token, alive, err := s.owners.Owner(ctx, recordingItem(r.ID))
	if err != nil {
		return true, psrpc.NewError(psrpc.Unavailable, err)
	}
	if token == "" || token == s.owners.Token() {
		return false, nil
	}
	if !alive {
		s.fail(context.WithoutCancel(ctx), r, errors.New("the replica running this recording stopped"))
		return true, fmt.Errorf("recording %s: %w", r.ID, ErrRecorderGone)
	}
	return true, s.forward(ctx, token, r, action)
}

// forward asks the replica token to apply action to r and waits for its
// answer.
func (s *Service) forward(ctx context.Context, token string, r store.Recording, action string) error {
	req := relayMsg{Kind: "act", ID: uuid.NewString(), To: token, From: s.owners.Token(),
		AppID: r.AppID, Recording: r.ID, Action: action}
	answer := make(chan relayMsg, 1)
	s.relaying.mu.Lock()
	s.relaying.waiting[req.ID] = answer
	s.relaying.mu.Unlock()
	defer func() {
		s.relaying.mu.Lock()
		delete(s.relaying.waiting, req.ID)
		s.relaying.mu.Unlock()
	}()
	b, err := json.Marshal(req)
	if err != nil {
		return err
	}
	s.relay.Publish(b)
	t := time.NewTimer(forwardTimeout)
	defer t.Stop()
	select {
	case a := <-answer:
		if a.Code == "" {
			return nil
		}
		return psrpc.NewErrorf(psrpc.ErrorCode(a.Code), "%s", a.Message)
	case <-t.C:
		return psrpc.NewErrorf(psrpc.DeadlineExceeded, "the replica running recording %s did not answer in %s", r.ID, forwardTimeout)
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Receive takes a message another replica relayed (the bus's handler of
// the recordings topic). It never blocks: a forwarded action runs on its
// own goroutine, which Run waits for.
func (s *Service) Receive(payload []byte) {
	if s.owners == nil {
		return
	}
	var m relayMsg
	if err := json.Unmarshal(payload, &m); err != nil {
		s.log.Warn("bad relayed recording message", "err", err)
		return
	}
	if m.To != s.owners.Token() {
		return
	}
	switch m.Kind {
	case "done":
		s.relaying.mu.Lock()
		ch := s.relaying.waiting[m.ID]
		s.relaying.mu.Unlock()
		if ch != nil {
			select {
			case ch <- m:
			default:
			}
		}
	case "act":
		s.relaying.mu.Lock()
		defer s.relaying.mu.Unlock()
		if s.relaying.closed {
			return // stopping: the caller times out
		}
		s.relaying.wg.Go(func() { s.actFor(m) })
	}
}

// actFor applies an action another replica forwarded and answers it.
func (s *Service) actFor(m relayMsg) {
	ctx, cancel := context.WithTimeout(context.Background(), forwardTimeout)
	defer cancel()
	err := s.actHere(ctx, m.AppID, m.Recording, m.Action)
	answer := relayMsg{Kind: "done", ID: m.ID, To: m.From, From: s.owners.Token()}
	if err != nil {
		var perr psrpc.Error
		if errors.As(err, &perr) {
			answer.Code, answer.Message = string(perr.Code()), perr.Error()
		} else {
			s.log.Error("forwarded recording action", "recording", m.Recording, "action", m.Action, "err", err)
			answer.Code, answer.Message = string(psrpc.Internal), "the recording's replica failed to "+m.Action+" it"
		}
	}
	b, err := json.Marshal(answer)
	if err != nil {
		return
	}
	s.relay.Publish(b)
}
