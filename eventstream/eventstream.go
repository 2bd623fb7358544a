// Package eventstream fans messages out to the participants' open event
// streams (GET /client/v1/events, docs/protocol.md §4), by LiveKit identity.
//
// A stream is a path from the sidecar to the client that does not go
// through the SFU. Under load, the SFU can hold a client's data channel for
// seconds; an instruction sent on both paths takes the first to arrive, and
// the client drops the copy. Nothing relies on a stream being open: what is
// sent here is also sent over LiveKit.
package eventstream

import "sync"

// Message is one server-sent event.
type Message struct {
	Event string // the event's name (the SSE "event" field)
	ID    string // the event's id, for the client's deduplication; may be empty
	Data  []byte // the payload: one line of JSON
}

// buffered is how many messages a stream holds for a slow reader before the
// hub drops it.
const buffered = 16

// Hub holds the open streams. The zero value is not usable; call NewHub.
// A Hub is safe for concurrent use.
type Hub struct {
	mu   sync.Mutex
	subs map[string]map[*Sub]struct{} // identity -> streams
}

// NewHub returns an empty Hub.
func NewHub() *Hub { return &Hub{subs: map[string]map[*Sub]struct{}{}} }

// Sub is one open stream of one identity.
type Sub struct {
	hub      *Hub
	identity string
	c        chan Message
	done     chan struct{}
	once     sync.Once
}

// Subscribe opens a stream for identity. Messages sent to identity from
// the moment Subscribe returns are delivered to it, until it is closed.
func (h *Hub) Subscribe(identity string) *Sub {
	s := &Sub{hub: h, identity: identity, c: make(chan Message, buffered), done: make(chan struct{})}
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.subs[identity] == nil {
		h.subs[identity] = map[*Sub]struct{}{}
	}
	h.subs[identity][s] = struct{}{}
	return s
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
		if m := s.hub.subs[s.identity]; m != nil {
			delete(m, s)
			if len(m) == 0 {
				delete(s.hub.subs, s.identity)
			}
		}
	})
}

// Send offers m to every open stream of identity and returns how many took
// it. It never blocks: a stream whose buffer is full is closed instead, so
// that its client reconnects rather than miss messages unknowingly.
func (h *Hub) Send(identity string, m Message) int {
	h.mu.Lock()
	defer h.mu.Unlock()
	n := 0
	for s := range h.subs[identity] {
		select {
		case s.c <- m:
			n++
		default:
			s.closeLocked()
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
