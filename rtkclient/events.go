package rtkclient

import (
	"context"
	"encoding/json"
	"slices"
	"sync"
	"time"

	"rtk-sidecar/protocol"
)

// Data topics and the RPC method of the client protocol (docs/protocol.md §3, §4).
const (
	// EventsTopic is the data topic of connected-meetings events.
	EventsTopic = protocol.EventsTopic
	// MoveTopic is the data topic of move instructions.
	MoveTopic = protocol.MoveTopic
	// ChatTopic is the data topic of chat messages.
	ChatTopic = protocol.ChatTopic
	// MoveMethod is the RPC method of move instructions.
	MoveMethod = protocol.MoveMethod
)

// The connected-meetings events (docs/protocol.md §3), as the handlers get
// them: one call per entry of a move event.
type (
	// ChangingMeeting: a participant's move has begun.
	ChangingMeeting = protocol.MoveBegun
	// MeetingChanged: a participant has arrived in its new meeting. For
	// this client's own moves it is emitted when the client switches rooms.
	MeetingChanged = protocol.Arrival
	// MoveFailed: the server gave up on a participant's move; the
	// participant stays placed in ToMeetingID and lands there on its next
	// join.
	MoveFailed = protocol.Failure
	// Closing: all breakout rooms close at ClosingAt.
	Closing = protocol.Closing
	// BroadcastedMessage: a message sent to the meeting this client is in.
	BroadcastedMessage = protocol.BroadcastedMessage
	// ChatMessage: a chat message sent to everyone in one meeting's room.
	ChatMessage = protocol.ChatMessage
	// HelpRequested: a participant asks the family's hosts for help.
	HelpRequested = protocol.HelpRequested
	// ConnectionRemoved: the server removed a participant's connection from
	// a room it may not be in (docs/protocol.md §6).
	ConnectionRemoved = protocol.Removal
)

// Disconnected: the server ended the connection to the current room (not
// one this client left itself).
type Disconnected struct {
	Room   string
	Reason string
}

// MoveReport describes one attempt of this client to follow a move
// instruction, for instrumentation. Err is set when the attempt failed; the
// client then stays where it was and performs a repeated instruction again.
type MoveReport struct {
	MoveID    string
	Via       string // "stream", "rpc", "data" or "livekit" (LiveKit's own room move)
	From, To  string // LiveKit rooms
	Received  time.Time
	Joined    time.Time // connected to the destination (switched to the prepared connection, if Prepared)
	Prepared  bool      // the move revealed the prepared connection (docs/protocol.md §5): no join
	Published time.Time // own tracks published there (and the application switched)
	Left      time.Time // source disconnected
	Err       error
}

// Handlers receive the client's events. Every field is optional. They are
// called one at a time, in order, from one goroutine of the client; a
// handler may call the client's methods but must not call Close.
type Handlers struct {
	StateUpdate     func(State)
	ChangingMeeting func(ChangingMeeting)
	MeetingChanged  func(MeetingChanged)
	MoveFailed      func(MoveFailed)
	Closing         func(Closing)
	// BroadcastedMessage gets the messages sent to the meeting this client
	// is in when they arrive, once each.
	BroadcastedMessage func(BroadcastedMessage)
	// ChatMessage gets the chat messages of the meeting this client is in
	// when they arrive, once each, its own included. What was said in a
	// room before the client switched to it is in ChatHistory.
	ChatMessage func(ChatMessage)
	// HelpRequested gets, for a host, each participant's request for help,
	// once (AskForHelp).
	HelpRequested func(HelpRequested)
	// ConnectionRemoved gets, once each, the connections the server
	// removed from rooms their participants may not be in; for this
	// client's own, the Disconnected of that room follows or came first.
	ConnectionRemoved func(ConnectionRemoved)
	Disconnected      func(Disconnected)
	// MoveDone reports each attempt of this client to move.
	MoveDone func(MoveReport)
	// FirstPacket reports the first RTP packet with media (MediaStats) of
	// each remote identity and kind in each room (Packets is 1).
	FirstPacket func(MediaStats)
}

// dispatcher runs handler calls in order on one goroutine.
type dispatcher struct {
	mu   sync.Mutex
	q    []func()
	wake chan struct{}
}

func newDispatcher() *dispatcher { return &dispatcher{wake: make(chan struct{}, 1)} }

func (d *dispatcher) push(f func()) {
	d.mu.Lock()
	d.q = append(d.q, f)
	d.mu.Unlock()
	select {
	case d.wake <- struct{}{}:
	default:
	}
}

// run calls queued functions until stop is closed, then drains the queue.
func (d *dispatcher) run(stop <-chan struct{}) {
	for {
		d.mu.Lock()
		q := d.q
		d.q = nil
		d.mu.Unlock()
		for _, f := range q {
			f()
		}
		if len(q) > 0 {
			continue
		}
		select {
		case <-d.wake:
		case <-stop:
			d.mu.Lock()
			q := d.q
			d.q = nil
			d.mu.Unlock()
			for _, f := range q {
				f()
			}
			return
		}
	}
}

// emit queues a handler call with its argument when the handler is set.
func emit[T any](c *Client, h func(T), v T) {
	if h != nil {
		c.events.push(func() { h(v) })
	}
}

// seenSet remembers the last keys it was given.
type seenSet struct {
	set   map[string]struct{}
	order []string
}

const seenMax = 1024

// add reports whether key is new, and remembers it.
func (s *seenSet) add(key string) bool {
	if s.set == nil {
		s.set = map[string]struct{}{}
	}
	if _, ok := s.set[key]; ok {
		return false
	}
	s.set[key] = struct{}{}
	s.order = append(s.order, key)
	if len(s.order) > seenMax {
		delete(s.set, s.order[0])
		s.order = s.order[1:]
	}
	return true
}

// onEvent handles a packet on EventsTopic. The client may be in two rooms
// of the family at once, so it sees every event twice then: events are
// deduplicated (state by version, the others by type, participant and move).
func (c *Client) onEvent(payload []byte) {
	var env protocol.Event
	if err := json.Unmarshal(payload, &env); err != nil {
		c.log.Debug("bad event", "err", err)
		return
	}
	switch env.Type {
	case protocol.EventStateUpdate:
		var s State
		var trunc protocol.TruncatedState
		if json.Unmarshal(env.Data, &s) != nil || json.Unmarshal(env.Data, &trunc) != nil {
			return
		}
		if trunc.Truncated {
			c.fetchState(trunc.Version)
			return
		}
		c.offerState(s)
	case protocol.EventChangingMeeting:
		var d protocol.ChangingMeetingData
		for _, e := range entries(env.Data, &d, &d.Moves) {
			if c.firstSeen(protocol.EventChangingMeeting, e.ParticipantID, e.MoveID) {
				emit(c, c.h.ChangingMeeting, e)
			}
		}
	case protocol.EventMeetingChanged:
		var d protocol.MeetingChangedData
		for _, e := range entries(env.Data, &d, &d.Arrivals) {
			c.mu.Lock()
			// This client announces its own arrivals when it switches rooms. The
			// server's can come first, while the client is still on its way (it
			// confirms the arrival once the client is connected, before the
			// client publishes and switches): those are dropped too.
			st := c.moves[e.MoveID]
			own := e.ParticipantID == c.identity &&
				(e.Meeting.ID == c.announced || st == moveQueued || st == moveRunning)
			c.mu.Unlock()
			if !own && c.firstSeen(protocol.EventMeetingChanged, e.ParticipantID, e.MoveID) {
				emit(c, c.h.MeetingChanged, e)
			}
		}
	case protocol.EventMoveFailed:
		var d protocol.MoveFailedData
		for _, e := range entries(env.Data, &d, &d.Failures) {
			if c.firstSeen(protocol.EventMoveFailed, e.ParticipantID, e.MoveID) {
				emit(c, c.h.MoveFailed, e)
			}
		}
	case protocol.EventBroadcastedMessage:
		var m BroadcastedMessage
		if json.Unmarshal(env.Data, &m) != nil || m.ID == "" {
			return
		}
		c.mu.Lock()
		// The event stream carries the family's messages for every room.
		here := slices.Contains(m.MeetingIDs, c.meeting.ID)
		c.mu.Unlock()
		if here && c.firstSeen(protocol.EventBroadcastedMessage, m.ID, "") {
			emit(c, c.h.BroadcastedMessage, m)
		}
	case protocol.EventHelpRequested:
		var m HelpRequested
		if json.Unmarshal(env.Data, &m) == nil && m.ID != "" && c.firstSeen(protocol.EventHelpRequested, m.ID, "") {
			emit(c, c.h.HelpRequested, m)
		}
	case protocol.EventConnectionRemoved:
		var d protocol.ConnectionRemovedData
		for _, e := range entries(env.Data, &d, &d.Removals) {
			if e.ID != "" && c.firstSeen(protocol.EventConnectionRemoved, e.ID, "") {
				emit(c, c.h.ConnectionRemoved, e)
			}
		}
	case protocol.EventClosing:
		var e Closing
		if json.Unmarshal(env.Data, &e) == nil && c.firstSeen(protocol.EventClosing, e.ClosingAt.String(), "") {
			emit(c, c.h.Closing, e)
		}
	}
}

// entries decodes the list of a move event: data is {"<list>": [...]},
// decoded into d, whose field list points to.
func entries[T any](data json.RawMessage, d any, list *[]T) []T {
	if json.Unmarshal(data, d) != nil {
		return nil
	}
	return *list
}

func (c *Client) firstSeen(kind, participant, move string) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.seen.add(kind + "\x00" + participant + "\x00" + move)
}

// offerState emits s if it is newer than every state seen.
func (c *Client) offerState(s State) {
	c.mu.Lock()
	newer := s.Version > c.version || !c.haveVersion
	if newer {
		c.version, c.haveVersion = s.Version, true
		c.lastState = &s
	}
	c.mu.Unlock()
	if newer {
		emit(c, c.h.StateUpdate, s)
		c.considerPrepare()
	}
}

// fetchState fetches the state over HTTP after a truncated stateUpdate of
// version v, unless a state that new was seen; one fetch runs at a time.
func (c *Client) fetchState(v int64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed || c.haveVersion && v <= c.version {
		return
	}
	if c.fetching {
		c.refetch = true
		return
	}
	c.fetching = true
	c.wg.Add(1)
	go func() {
		defer c.wg.Done()
		for {
			ctx, cancel := context.WithTimeout(c.ctx, 10*time.Second)
			s, err := c.GetConnectedMeetings(ctx)
			cancel()
			if err != nil {
				c.log.Warn("fetch connected-meetings state", "err", err)
			} else {
				c.offerState(s)
			}
			c.mu.Lock()
			if !c.refetch || c.closed {
				c.fetching = false
				c.mu.Unlock()
				return
			}
			c.refetch = false
			c.mu.Unlock()
		}
	}()
}

// onChat handles a packet on ChatTopic: a message of the room it came from,
// passed on if that is the client's meeting now (during a move the client
// hears two rooms), once.
func (c *Client) onChat(payload []byte) {
	var p protocol.ChatPacket
	if err := json.Unmarshal(payload, &p); err != nil || p.Type != protocol.ChatTypeMessage || p.Message.ID == "" {
		c.log.Debug("bad chat packet", "err", err)
		return
	}
	c.mu.Lock()
	here := p.Message.MeetingID == c.meeting.ID
	c.mu.Unlock()
	if here && c.firstSeen(protocol.ChatTopic, p.Message.ID, "") {
		emit(c, c.h.ChatMessage, p.Message)
	}
}
