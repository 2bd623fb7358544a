// Package rtkclient is the Go client of rtk-sidecar's client protocol
// (docs/protocol.md): it joins a meeting with a participant token, connects
// to LiveKit, publishes media the application provides, follows moves
// between the rooms of a meeting family without a gap (make-before-break),
// reports the connected-meetings events, and calls the connected-meetings
// HTTP API. Participants, bots and tests use it.
//
// A Client owns every goroutine it starts and stops them in Close. Media
// goes through Tracks that outlive moves: the application writes samples
// into a Track once, and the client feeds them to a publication in each
// room it is connected to.
package rtkclient

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"slices"
	"sync"
	"time"

	"github.com/pion/webrtc/v4/pkg/media"
)

// ErrClosed is returned by a Client after Close.
var ErrClosed = errors.New("rtkclient: client closed")

// connector opens LiveKit connections; lkConnector is the real one, tests
// inject fakes.
type connector interface {
	// connect joins the room of token at url. It registers h (the move RPC,
	// data topics) before joining, so that nothing can race the
	// registration. Handlers may run before connect returns.
	connect(ctx context.Context, url, token string, h connHandlers) (conn, error)
}

// connHandlers are what a connection reports to its client.
type connHandlers struct {
	rpc          func(payload string) string // MoveMethod; returns the answer at once
	data         func(topic string, payload []byte)
	packet       func(room, identity string, kind Kind, at time.Time)
	disconnected func(reason string) // the server ended the connection
	roomMoved    func(room string)   // LiveKit moved the connection to room
}

// conn is one connection to one LiveKit room.
type conn interface {
	room() string
	identity() string
	// publish publishes a new local track made from opts and returns its sink.
	publish(opts TrackOptions) (sink, error)
	// audible lists the remote identities that publish unmuted audio now.
	audible() []string
	// disconnect leaves the room and waits for the connection's goroutines.
	disconnect()
}

// sink is one publication of a Track in one room.
type sink interface {
	WriteSample(media.Sample) error
	SetMuted(bool)
	// Unpublish removes the publication from its room.
	Unpublish() error
}

// Option configures a Client.
type Option func(*Client)

// WithHTTPClient sets the HTTP client for the sidecar (default http.DefaultClient).
// The event stream uses it too: a Timeout on it cuts the stream, which then
// reconnects.
func WithHTTPClient(hc *http.Client) Option { return func(c *Client) { c.hc = hc } }

// WithLogger sets the logger (default: discard).
func WithLogger(l *slog.Logger) Option { return func(c *Client) { c.log = l } }

// WithHandlers sets the event handlers.
func WithHandlers(h Handlers) Option { return func(c *Client) { c.h = h } }

// WithBreakBeforeMake makes moves naive: leave the source, then join the
// destination. This loses audio during the move (and a failed join leaves
// the client in no room); it exists to compare with the default
// make-before-break in benchmarks.
func WithBreakBeforeMake() Option { return func(c *Client) { c.naive = true } }

// WithMaxOverlap bounds how long, after a move, the client stays in the
// source room while it waits to hear the destination (default 750 ms; the
// server removes a leftover connection 1 s after the arrival).
func WithMaxOverlap(d time.Duration) Option { return func(c *Client) { c.maxOverlap = d } }

// WithConnectTimeout bounds a connection to a LiveKit room (default 10 s).
func WithConnectTimeout(d time.Duration) Option { return func(c *Client) { c.connectTimeout = d } }

// WithoutPreparedConnections: the client does not connect to the breakout
// room it is assigned to ahead of the start (docs/protocol.md §5); every
// move joins the destination when its instruction comes.
func WithoutPreparedConnections() Option { return func(c *Client) { c.noPrepare = true } }

// Client is one participant of rtk-sidecar's meetings. It is safe for
// concurrent use.
type Client struct {
	baseURL        string
	token          string
	hc             *http.Client
	log            *slog.Logger
	h              Handlers
	naive          bool
	noStream       bool
	noPrepare      bool
	maxOverlap     time.Duration
	connectTimeout time.Duration
	connector      connector

	ctx    context.Context // cancelled by Close
	cancel context.CancelFunc
	events *dispatcher
	stopEv chan struct{} // closed by Close: the dispatcher drains and ends
	evDone chan struct{}
	wg     sync.WaitGroup // move worker, state fetches

	mu          sync.Mutex
	started     bool
	streaming   bool
	closed      bool
	cur         *roomConn              // the room the application is in
	conns       map[*roomConn]struct{} // every open connection (two during a move)
	listeners   map[*Listener]struct{} // open ListenIn connections
	prep        *roomConn              // the prepared connection (hidden), or nil
	prepRoom    string                 // its room, or the room being prepared
	prepBusy    chan struct{}          // closed when the prepare under way ends; nil when none is
	lastState   *State                 // the newest family state seen
	tracks      []*Track
	identity    string
	meeting     MeetingRef // current meeting
	announced   string     // meeting id of the last own MeetingChanged
	moves       map[string]moveStatus
	queue       []moveRequest
	wake        chan struct{}
	seen        seenSet
	version     int64
	haveVersion bool
	fetching    bool
	refetch     bool

	statsMu sync.Mutex
	stats   map[statsKey]*MediaStats
}

// New returns a Client for the sidecar at baseURL (for example
// "https://sidecar.example"), authenticated by a participant token. It
// starts nothing; call Join (or Connect).
func New(baseURL, participantToken string, opts ...Option) *Client {
	ctx, cancel := context.WithCancel(context.Background())
	c := &Client{
		baseURL: baseURL, token: participantToken,
		hc: http.DefaultClient, log: slog.New(slog.DiscardHandler),
		maxOverlap: 750 * time.Millisecond, connectTimeout: 10 * time.Second,
		connector: lkConnector{},
		ctx:       ctx, cancel: cancel,
		events: newDispatcher(), stopEv: make(chan struct{}), evDone: make(chan struct{}),
		conns: map[*roomConn]struct{}{}, listeners: map[*Listener]struct{}{}, moves: map[string]moveStatus{},
		wake: make(chan struct{}, 1), stats: map[statsKey]*MediaStats{},
	}
	for _, o := range opts {
		o(c)
	}
	return c
}

// Join asks the sidecar where the participant belongs (POST
// /client/v1/join) and connects there.
func (c *Client) Join(ctx context.Context) (JoinInfo, error) {
	j, err := c.join(ctx)
	if err != nil {
		return JoinInfo{}, err
	}
	c.mu.Lock()
	c.meeting = MeetingRef{ID: j.MeetingID}
	c.startStreamLocked()
	c.mu.Unlock()
	return j, c.Connect(ctx, j.URL, j.Token)
}

// Connect connects to a LiveKit room directly with a LiveKit token, for a
// join answer obtained elsewhere. It publishes the tracks published so far.
// A client that is connected already returns an error.
func (c *Client) Connect(ctx context.Context, url, token string) error {
	c.mu.Lock()
	switch {
	case c.closed:
		c.mu.Unlock()
		return ErrClosed
	case c.cur != nil && !c.cur.isClosed():
		c.mu.Unlock()
		return errors.New("rtkclient: already connected")
	}
	c.startLocked()
	c.mu.Unlock()

	rc, err := c.open(ctx, url, token, "", false)
	if err != nil {
		return err
	}
	c.mu.Lock()
	c.cur = rc
	c.identity = rc.conn.identity()
	if c.meeting.ID == "" || c.meeting.ID != rc.conn.room() {
		c.meeting = MeetingRef{ID: rc.conn.room()}
	}
	c.mu.Unlock()
	return c.publishAll(rc)
}

// startLocked starts the dispatcher and the move worker once.
func (c *Client) startLocked() {
	if c.started {
		return
	}
	c.started = true
	go func() {
		defer close(c.evDone)
		c.events.run(c.stopEv)
	}()
	c.wg.Add(1)
	go c.moveLoop()
}

// Publish adds a local track and publishes it in every room the client is
// connected to, and in every room it joins later. It returns the track even
// when a publication failed (with the error).
func (c *Client) Publish(opts TrackOptions) (*Track, error) {
	if opts.Name == "" {
		opts.Name = string(opts.kind())
	}
	t := &Track{opts: opts, muted: opts.Muted}
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return nil, ErrClosed
	}
	c.tracks = append(c.tracks, t)
	conns := c.openConnsLocked()
	c.mu.Unlock()
	var first error
	for _, rc := range conns {
		if err := c.publishTrack(rc, t); err != nil && first == nil {
			first = err
		}
	}
	return t, first
}

// Unpublish stops publishing t: it leaves every room the client is
// connected to, and no later room gets it. Samples written to t afterwards
// are dropped. It returns the first error of a room that refused (the
// track is gone from the client all the same); a track that is not
// published is no error.
func (c *Client) Unpublish(t *Track) error {
	c.mu.Lock()
	i := slices.Index(c.tracks, t)
	if i >= 0 {
		c.tracks = slices.Delete(c.tracks, i, i+1)
	}
	c.mu.Unlock()
	var first error
	for _, so := range t.detachAll() {
		so.rc.unclaim(t)
		if err := so.s.Unpublish(); err != nil && first == nil && !so.rc.isClosed() {
			first = fmt.Errorf("rtkclient: unpublish %s in %s: %w", t.opts.Name, so.rc.conn.room(), err)
		}
	}
	return first
}

// Identity is the participant's LiveKit identity (its participant id),
// known once connected.
func (c *Client) Identity() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.identity
}

// Room is the LiveKit room the client is in (its meeting id), or "".
func (c *Client) Room() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.cur == nil {
		return ""
	}
	return c.cur.conn.room()
}

// Meeting is the meeting the client is in.
func (c *Client) Meeting() MeetingRef {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.meeting
}

// Rooms lists the LiveKit rooms the client is connected to: one, or two
// during a move.
func (c *Client) Rooms() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	var out []string
	for _, rc := range c.openConnsLocked() {
		out = append(out, rc.conn.room())
	}
	return out
}

// Close leaves every room and stops every goroutine of the client, after
// delivering the events queued so far. It is idempotent. It must not be
// called from a handler.
func (c *Client) Close() {
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return
	}
	c.closed = true
	started := c.started
	conns := c.openConnsLocked()
	if c.prep != nil {
		conns = append(conns, c.prep)
		c.prep = nil
	}
	listeners := make([]*Listener, 0, len(c.listeners))
	for l := range c.listeners {
		listeners = append(listeners, l)
	}
	c.mu.Unlock()

	c.cancel()
	for _, l := range listeners {
		l.Close()
	}
	for _, rc := range conns {
		c.closeConn(rc)
	}
	c.wg.Wait()
	if started {
		close(c.stopEv)
		<-c.evDone
	}
}

// ---- connections ----

// roomConn is one open connection and the tracks published through it.
type roomConn struct {
	conn conn

	mu        sync.Mutex
	published map[*Track]bool // claimed or published
	closed    bool            // left by this client, or ended by the server
	hidden    bool            // a prepared connection not revealed yet: it takes no instructions, events or chat
	pending   map[*Track]sink // published while hidden, not fed yet
}

func (rc *roomConn) isHidden() bool {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	return rc.hidden
}

func (rc *roomConn) isClosed() bool {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	return rc.closed
}

// claim reports whether t still needs publishing in rc, and claims it.
func (rc *roomConn) claim(t *Track) bool {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	if rc.closed || rc.published[t] {
		return false
	}
	rc.published[t] = true
	return true
}

func (rc *roomConn) unclaim(t *Track) {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	delete(rc.published, t)
}

// markClosed marks rc closed and reports whether it was open.
func (rc *roomConn) markClosed() bool {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	was := !rc.closed
	rc.closed = true
	return was
}

func (c *Client) openConnsLocked() []*roomConn {
	out := make([]*roomConn, 0, len(c.conns))
	for rc := range c.conns {
		out = append(out, rc)
	}
	return out
}

// open connects to a room with the client's handlers and registers the
// connection. The media stats of the room restart with it; room is the
// room the token is for, when known. A hidden connection (a prepared one)
// is not registered: the caller keeps it, and it ignores what it receives
// until it is revealed.
func (c *Client) open(ctx context.Context, url, token, room string, hidden bool) (*roomConn, error) {
	if room != "" {
		c.resetStats(room)
	}
	ctx, cancel := context.WithTimeout(ctx, c.connectTimeout)
	defer cancel()
	rc := &roomConn{published: map[*Track]bool{}, hidden: hidden}
	h := connHandlers{
		rpc: func(payload string) string {
			if !rc.isHidden() && c.onInstruction([]byte(payload), "rpc") {
				return `{"v":1,"accepted":true}`
			}
			return `{"v":1,"accepted":false}`
		},
		data: func(topic string, payload []byte) {
			if rc.isHidden() {
				return
			}
			switch topic {
			case MoveTopic:
				c.onInstruction(payload, "data")
			case EventsTopic:
				c.onEvent(payload)
			case ChatTopic:
				c.onChat(payload)
			}
		},
		packet:       c.recordPacket,
		disconnected: func(reason string) { c.onDisconnected(rc, reason) },
		roomMoved:    func(room string) { c.onRoomMoved(rc, room) },
	}
	cn, err := c.connector.connect(ctx, url, token, h)
	if err != nil {
		return nil, fmt.Errorf("rtkclient: connect to LiveKit: %w", err)
	}
	rc.conn = cn
	if room == "" {
		c.resetStats(cn.room())
	}
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		cn.disconnect()
		return nil, ErrClosed
	}
	if !hidden {
		c.conns[rc] = struct{}{}
	}
	c.mu.Unlock()
	return rc, nil
}

// publishAll publishes every track in rc.
func (c *Client) publishAll(rc *roomConn) error {
	var first error
	for _, t := range c.trackList() {
		if err := c.publishTrack(rc, t); err != nil && first == nil {
			first = err
		}
	}
	return first
}

// publishTrack publishes t in rc unless it is there already.
func (c *Client) publishTrack(rc *roomConn, t *Track) error {
	if !rc.claim(t) {
		return nil
	}
	s, err := rc.conn.publish(t.opts)
	if err != nil {
		rc.unclaim(t)
		return fmt.Errorf("rtkclient: publish %s in %s: %w", t.opts.Name, rc.conn.room(), err)
	}
	c.feed(rc, t, s, t.attach)
	return nil
}

// feed starts feeding publication s of t in rc with attach (Track.attach
// or Track.adopt), unless t was unpublished meanwhile: s goes then. It
// attaches under c.mu, so that an Unpublish either sees the publication or
// has removed t before it is attached.
func (c *Client) feed(rc *roomConn, t *Track, s sink, attach func(*roomConn, sink)) {
	c.mu.Lock()
	kept := slices.Contains(c.tracks, t)
	if kept {
		attach(rc, s)
	}
	c.mu.Unlock()
	if !kept {
		rc.unclaim(t)
		_ = s.Unpublish()
	}
}

// trackList returns the client's tracks as of now.
func (c *Client) trackList() []*Track {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]*Track(nil), c.tracks...)
}

// unfeed stops every track of the client feeding rc.
func (c *Client) unfeed(rc *roomConn) {
	for _, t := range c.trackList() {
		t.detach(rc)
	}
}

// closeConn stops feeding rc and leaves its room.
func (c *Client) closeConn(rc *roomConn) {
	wasOpen := rc.markClosed()
	c.mu.Lock()
	delete(c.conns, rc)
	c.mu.Unlock()
	c.unfeed(rc)
	if wasOpen {
		rc.conn.disconnect()
	}
}

// onDisconnected: the server ended rc. Only the current room's end is news
// to the application; a source room may end while the client leaves it.
func (c *Client) onDisconnected(rc *roomConn, reason string) {
	if !rc.markClosed() {
		return
	}
	c.mu.Lock()
	delete(c.conns, rc)
	current := c.cur == rc
	prepared := c.prep == rc
	if prepared {
		c.prep, c.prepRoom = nil, ""
	}
	c.mu.Unlock()
	c.unfeed(rc)
	if current {
		emit(c, c.h.Disconnected, Disconnected{Room: rc.conn.room(), Reason: reason})
	}
	if prepared {
		c.reprepare()
	}
}

// onRoomMoved: LiveKit moved rc to room itself (MoveParticipant, where the
// server implements it). The connection and its tracks stay; the client's
// idea of where it is follows.
func (c *Client) onRoomMoved(rc *roomConn, room string) {
	now := time.Now()
	c.mu.Lock()
	if c.cur != rc {
		c.mu.Unlock()
		return
	}
	from := c.meeting.ID
	c.meeting = MeetingRef{ID: room}
	c.announced = room
	self := c.identity
	c.mu.Unlock()
	emit(c, c.h.MeetingChanged, MeetingChanged{ParticipantID: self, Meeting: MeetingRef{ID: room}})
	emit(c, c.h.MoveDone, MoveReport{Via: "livekit", From: from, To: room, Received: now, Joined: now, Published: now, Left: now})
}
