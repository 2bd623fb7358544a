// Package eventstream fans messages out to the participants' open event
// streams (GET /client/v1/events, docs/protocol.md §4), by LiveKit identity
// or by group (a meeting family).
//
// A stream is a path from the sidecar to the client that does not go
// through the SFU. Under load, the SFU can hold a client's data channel for
// seconds; an instruction sent on both paths takes the first to arrive, and
// the client drops the copy. Nothing relies on a stream being open: what is
// sent here is also sent over LiveKit.
//
// With several replicas, a participant's stream may be open on another
// replica than the one that sends to it: a Hub with a Relay (SetRelay)
// hands every Send and Broadcast to it as well, and the Relay's other ends
// pass them to their hubs' Receive.
package eventstream

import (
	"encoding/json"
	"sync"
)

// Message is one server-sent event.
type Message struct {
	Event string `json:"e"`           // the event's name (the SSE "event" field)
	ID    string `json:"i,omitempty"` // the event's id, for the client's deduplication; may be empty
	Data  []byte `json:"d"`           // the payload: one line of JSON
}

// Relay carries what a Hub sends to the hubs of the other replicas
// (cluster.Bus's topic publisher implements it). Publish must not block;
// each payload must reach the other hubs' Receive in the order published.
type Relay interface {
	Publish(payload []byte)
}

// relayed is a message on its way to the other replicas: for one identity
// or for one group.
type relayed struct {
	Identity string  `json:"id,omitempty"`
	Group    string  `json:"g,omitempty"`
	Message  Message `json:"m"`
}

// buffered is how many messages a stream holds for a slow reader before the
// hub drops it. A family's events come at most five per notifier interval
// (50 ms), and the handler writes them out as they come.
const buffered = 64

// Hub holds the open streams. The zero value is not usable; call NewHub.
// A Hub is safe for concurrent use.
type Hub struct {
	relay Relay // nil: a single replica

	mu     sync.Mutex
	subs   map[string]map[*Sub]struct{} // identity -> streams
	groups map[string]map[*Sub]struct{} // group -> streams
}

// NewHub returns an empty Hub.
func NewHub() *Hub {
	return &Hub{subs: map[string]map[*Sub]struct{}{}, groups: map[string]map[*Sub]struct{}{}}
}

// SetRelay has the hub hand every message it sends to r too, for the
// streams open on other replicas. It must be called before the hub is used.
func (h *Hub) SetRelay(r Relay) { h.relay = r }

// Receive delivers a message that another replica's hub relayed to the
// streams open here, and returns how many took it; a payload it cannot read
// is dropped (0).
func (h *Hub) Receive(payload []byte) int {
	var r relayed
	if err := json.Unmarshal(payload, &r); err != nil {
		return 0
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	if r.Group != "" {
		return h.offerLocked(h.groups[r.Group], r.Message)
	}
	return h.offerLocked(h.subs[r.Identity], r.Message)
}

func (h *Hub) publish(r relayed) {
	if h.relay == nil {
		return
	}
	if b, err := json.Marshal(r); err == nil {
		h.relay.Publish(b)
	}
}

// Sub is one open stream of one identity.
type Sub struct {
	hub      *Hub
	identity string
	groups   []string
	c        chan Message
	done     chan struct{}
	once     sync.Once
}

// Subscribe opens a stream for identity, member of groups. Messages sent
// to identity (Send) or to one of its groups (Broadcast) from the moment
// Subscribe returns are delivered to it, until it is closed.
func (h *Hub) Subscribe(identity string, groups ...string) *Sub {
	s := &Sub{hub: h, identity: identity, groups: groups, c: make(chan Message, buffered), done: make(chan struct{})}
	h.mu.Lock()
	defer h.mu.Unlock()
	add(h.subs, identity, s)
	for _, g := range groups {
		add(h.groups, g, s)
	}
	return s
}

func add(m map[string]map[*Sub]struct{}, key string, s *Sub) {
	if m[key] == nil {
		m[key] = map[*Sub]struct{}{}
	}
	m[key][s] = struct{}{}
}

func remove(m map[string]map[*Sub]struct{}, key string, s *Sub) {
	if set := m[key]; set != nil {
		delete(set, s)
		if len(set) == 0 {
			delete(m, key)
		}
	}
}

// C delivers the stream's messages in the order they were sent.
func (s *Sub) C() <-chan Message { return s.c }

// Done is closed when the stream is closed: by Close, or by the hub when
// the stream fell behind by more than its buffer. A stream that is done
// gets nothing more; its client should reconnect.
func (s *Sub) Done() <-chan struct{} { return s.done }

// Close closes the stream. It is idempotent.
func (s *Sub) Close() {
	s.hub.mu.Lock()
	defer s.hub.mu.Unlock()
	s.closeLocked()
}

func (s *Sub) closeLocked() {
	s.once.Do(func() {
		close(s.done)
		remove(s.hub.subs, s.identity, s)
		for _, g := range s.groups {
			remove(s.hub.groups, g, s)
		}
	})
}

// Send offers m to every open stream of identity and returns how many took
// it here; with a Relay it goes to the other replicas' streams too, which
// the count does not include. It never blocks: a stream whose buffer is
// full is closed instead, so that its client reconnects rather than miss
// messages unknowingly.
func (h *Hub) Send(identity string, m Message) int {
	h.publish(relayed{Identity: identity, Message: m})
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.offerLocked(h.subs[identity], m)
}

// Broadcast offers m to every open stream in group, as Send does, and
// returns how many took it here.
func (h *Hub) Broadcast(group string, m Message) int {
	h.publish(relayed{Group: group, Message: m})
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.offerLocked(h.groups[group], m)
}

func (h *Hub) offerLocked(subs map[*Sub]struct{}, m Message) int {
	n := 0
	for s := range subs {
		select {
		case s.c <- m:
			n++
		default:
			s.closeLocked() // removes s from subs: allowed while ranging
		}
	}
	return n
}

// Open reports how many streams of identity are open.
func (h *Hub) Open(identity string) int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return len(h.subs[identity])
}

// Total reports how many streams are open, of every identity.
func (h *Hub) Total() int {
	h.mu.Lock()
	defer h.mu.Unlock()
	n := 0
	for _, set := range h.subs {
		n += len(set)
	}
	return n
}
