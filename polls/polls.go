// Package polls runs RealtimeKit polls in live sessions: a poll is created
// through the REST API (Service.Create) and announced to the meeting's
// LiveKit room over data; participants vote over LiveKit data, received by
// a hidden "agent" participant the sidecar connects to the room while it has
// polls; results go back to the room over data. The data protocol (topic
// "rtk.poll") is documented in docs/protocol.md, "Polls".
//
// The sender of a vote is LiveKit's (the server sets it; a client cannot
// forge it). A participant votes once per poll, if its effective preset has
// polls.can_vote; a vote cannot be changed.
package polls

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/google/uuid"
	"github.com/livekit/protocol/livekit"
	"github.com/livekit/psrpc"

	"rtk-sidecar/apierr"
	"rtk-sidecar/bridge"
	"rtk-sidecar/presets"
	"rtk-sidecar/store"
)

// Topic is the LiveKit data topic of the polls protocol.
const Topic = "rtk.poll"

// Message types of the polls protocol.
const (
	TypeCreated = "poll.created" // server → room: a new poll
	TypeVote    = "poll.vote"    // participant → agent: a vote
	TypeUpdated = "poll.updated" // server → room (or a voter): the results
	TypeError   = "poll.error"   // server → a voter: the vote was refused
)

// Error codes of poll.error.
const (
	ErrCodeBadRequest   = "bad_request"   // not a vote the server understands
	ErrCodeUnknownPoll  = "unknown_poll"  // no such poll in this room's live session
	ErrCodeBadOption    = "bad_option"    // option out of range
	ErrCodeNotAllowed   = "not_allowed"   // the voter's preset lacks polls.can_vote
	ErrCodeAlreadyVoted = "already_voted" // one vote per participant and poll
)

// DataSender sends data packets to a room. *lksdk.RoomServiceClient
// implements it.
type DataSender interface {
	SendData(ctx context.Context, req *livekit.SendDataRequest) (*livekit.SendDataResponse, error)
}

// Packet is a data packet the agent received.
type Packet struct {
	Room    string
	Sender  string // the sender's identity, as LiveKit reports it
	Topic   string
	Payload []byte
}

// Connector connects the polls agent to a room. LiveKitAgent implements it.
type Connector interface {
	// Connect joins room as a hidden participant that subscribes to
	// nothing and hands every data packet it receives to onData. onGone is
	// called once when the connection ends, whoever ends it. Both may be
	// called on any goroutine and must not block.
	Connect(ctx context.Context, room string, onData func(Packet), onGone func()) (Conn, error)
}

// Conn is an agent's connection to a room.
type Conn interface {
	// SID returns LiveKit's id of the connection (the participant's sid).
	SID() string
	// Close disconnects the agent.
	Close()
}

// Owners records which replica runs the agent of each room and hands the
// agent of a replica that died to a survivor. *cluster.Owners implements
// it; a single replica has none.
type Owners interface {
	// Own records that this replica runs items, for at most ttl.
	Own(ctx context.Context, items []string, ttl time.Duration) error
	// Release records that this replica no longer runs item.
	Release(ctx context.Context, item string) error
	// TakeOrphans takes over those of items whose owner is no longer
	// alive, for at most ttl, and returns them; of replicas asking at once,
	// one takes each orphan.
	TakeOrphans(ctx context.Context, items []string, ttl time.Duration) ([]string, error)
}

// Leader runs work while this replica holds a lease (*cluster.Leases).
type Leader interface {
	Lead(ctx context.Context, name string, f func(context.Context) error) error
}

// AgentsLease is the lease under which one replica checks, every check
// interval of WithReplicas, whether the agent of a room with live polls
// belongs to a replica that died.
const AgentsLease = "polls-agents"

// agentTTL is how long a replica's ownership of an agent lasts unless it
// is recorded again: the validity of the agent's token.
const agentTTL = 24 * time.Hour

// ServiceOption tunes a Service.
type ServiceOption func(*Service)

// WithReplicas has the Service run beside other replicas: it records in
// owners which replica runs the agent of each room, and the holder of
// AgentsLease (through leader) reconnects, every check interval, the
// agents of replicas that died.
func WithReplicas(owners Owners, leader Leader, check time.Duration) ServiceOption {
	return func(s *Service) { s.owners, s.leader, s.checkEvery = owners, leader, check }
}

// Service creates polls and counts votes. It is safe for concurrent use;
// votes are processed by Run.
type Service struct {
	st     store.Store
	rooms  DataSender
	agents Connector
	log    *slog.Logger
	now    func() time.Time

	owners     Owners // nil: a single replica
	leader     Leader
	checkEvery time.Duration

	packets chan Packet
	rejoins chan left
	wg      sync.WaitGroup // closers of agents

	mu         sync.Mutex
	conns      map[string]Conn          // by room
	connecting map[string]chan struct{} // rooms being connected; closed when done
}

// New returns a Service. It starts nothing: Run processes the votes.
func New(st store.Store, rooms DataSender, agents Connector, log *slog.Logger, opts ...ServiceOption) *Service {
	s := &Service{st: st, rooms: rooms, agents: agents, log: log, now: time.Now, checkEvery: time.Second,
		packets: make(chan Packet, 256), rejoins: make(chan left, 64),
		conns: map[string]Conn{}, connecting: map[string]chan struct{}{}}
	for _, o := range opts {
		o(s)
	}
	return s
}

// left is an agent's connection that left its room.
type left struct{ room, sid string }

// Poll is a poll as RealtimeKit shows it (the REST answer, and the "poll"
// of the data messages).
type Poll struct {
	ID        string   `json:"id"`
	Question  string   `json:"question"`
	Options   []Option `json:"options"`
	Anonymous bool     `json:"anonymous"`
	HideVotes bool     `json:"hide_votes"`
	CreatedBy string   `json:"created_by"`
	Voted     []string `json:"voted"` // participant ids that voted
	// Sidecar extensions.
	MeetingID string `json:"meeting_id"`
	SessionID string `json:"session_id"`
	CreatedAt string `json:"created_at"`
}

// Option is one answer of a poll, with its votes.
type Option struct {
	Text  string `json:"text"`
	Count int    `json:"count"`
	Votes []Vote `json:"votes"` // empty for an anonymous poll
}

// Vote names a voter.
type Vote struct {
	ID   string `json:"id"`
	Name string `json:"name"`
}

// Input is the body of a poll creation.
type Input struct {
	Question  *string   `json:"question"`
	Options   *[]string `json:"options"`
	Anonymous bool      `json:"anonymous"`
	HideVotes bool      `json:"hide_votes"`
}

// Limits of a poll.
const (
	maxQuestion = 1000
	maxOption   = 500
	maxOptions  = 50
)

// CreatedByAPI is the created_by of polls created through the REST API; a
// participant's poll has the participant's id.
const CreatedByAPI = "api"

// Create creates a poll in the meeting's live session (NotFound without
// one), connects the polls agent to the room if it is not there yet, and
// announces the poll to the room.
func (s *Service) Create(ctx context.Context, appID, meetingID string, in Input) (Poll, error) {
	q, opts, err := in.check()
	if err != nil {
		return Poll{}, err
	}
	if _, err := s.st.GetMeeting(ctx, appID, meetingID); err != nil {
		return Poll{}, apierr.NotFound("meeting", meetingID, err)
	}
	live, err := s.st.GetLiveSession(ctx, meetingID)
	if err != nil {
		if errors.Is(err, store.ErrNotFound) {
			return Poll{}, psrpc.NewErrorf(psrpc.NotFound, "meeting %s has no active session", meetingID)
		}
		return Poll{}, err
	}
	return s.create(ctx, appID, meetingID, live.ID, CreatedByAPI, q, opts, in)
}

// CreateAs creates a poll as participant p (the participant API), in the
// live session of the room p is in now (FailedPrecondition when it is in
// none), if p's effective preset there has polls.can_create
// (PermissionDenied otherwise). Its created_by is p's id.
func (s *Service) CreateAs(ctx context.Context, p store.Participant, in Input) (Poll, error) {
	q, opts, err := in.check()
	if err != nil {
		return Poll{}, err
	}
	stint, doc, err := s.roomOf(ctx, p)
	if err != nil {
		return Poll{}, err
	}
	if !doc.Permissions.Polls.CanCreate {
		return Poll{}, psrpc.NewErrorf(psrpc.PermissionDenied, "the participant's preset does not allow creating polls in meeting %s", stint.MeetingID)
	}
	return s.create(ctx, p.AppID, stint.MeetingID, stint.SessionID, p.ID, q, opts, in)
}

// ListAs returns the room participant p is in now and the polls of its
// live session, oldest first, as p may see them: a hide_votes poll shows
// its counts and votes only once p has voted. p's effective preset there
// must have polls.can_view (PermissionDenied otherwise).
func (s *Service) ListAs(ctx context.Context, p store.Participant) (string, []Poll, error) {
	stint, doc, err := s.roomOf(ctx, p)
	if err != nil {
		return "", nil, err
	}
	if !doc.Permissions.Polls.CanView {
		return "", nil, psrpc.NewErrorf(psrpc.PermissionDenied, "the participant's preset does not allow viewing polls in meeting %s", stint.MeetingID)
	}
	ps, err := s.st.ListPolls(ctx, stint.SessionID)
	if err != nil {
		return "", nil, err
	}
	out := make([]Poll, 0, len(ps))
	for _, poll := range ps {
		votes, err := s.st.ListPollVotes(ctx, poll.ID)
		if err != nil {
			return "", nil, err
		}
		view := render(poll, votes, true)
		if !slices.Contains(view.Voted, p.ID) {
			view = *hidden(view, poll)
		}
		out = append(out, view)
	}
	return stint.MeetingID, out, nil
}

// roomOf returns p's stay in the room it is in now and its effective
// preset there.
func (s *Service) roomOf(ctx context.Context, p store.Participant) (store.SessionParticipant, presets.Preset, error) {
	stint, err := store.CurrentStint(ctx, s.st, p.AppID, p.ID)
	if errors.Is(err, store.ErrNotFound) {
		return stint, presets.Preset{}, psrpc.NewErrorf(psrpc.FailedPrecondition, "participant %s is in no room: join a meeting first", p.ID)
	}
	if err != nil {
		return stint, presets.Preset{}, err
	}
	doc, err := presets.Effective(ctx, s.st, p, stint.MeetingID)
	return stint, doc, err
}

// check validates a poll's question and options and returns them trimmed.
func (in Input) check() (string, []string, error) {
	if in.Question == nil || strings.TrimSpace(*in.Question) == "" {
		return "", nil, apierr.Invalid("question", "is required")
	}
	if len(*in.Question) > maxQuestion {
		return "", nil, apierr.Invalid("question", "must be at most %d characters", maxQuestion)
	}
	if in.Options == nil {
		return "", nil, apierr.Invalid("options", "is required")
	}
	opts := make([]string, 0, len(*in.Options))
	for _, o := range *in.Options {
		o = strings.TrimSpace(o)
		if o == "" || len(o) > maxOption {
			return "", nil, apierr.Invalid("options", "must hold non-empty texts of at most %d characters", maxOption)
		}
		opts = append(opts, o)
	}
	if len(opts) < 2 || len(opts) > maxOptions {
		return "", nil, apierr.Invalid("options", "must have between 2 and %d entries", maxOptions)
	}
	return strings.TrimSpace(*in.Question), opts, nil
}

// create stores a poll of the live session sessionID of meetingID, with the
// agent in the room, and announces it there.
func (s *Service) create(ctx context.Context, appID, meetingID, sessionID, createdBy, question string, opts []string, in Input) (Poll, error) {
	if err := s.ensureAgent(ctx, meetingID); err != nil {
		return Poll{}, err
	}
	p := store.Poll{ID: uuid.NewString(), AppID: appID, SessionID: sessionID, MeetingID: meetingID,
		Question: question, Options: opts, Anonymous: in.Anonymous, HideVotes: in.HideVotes,
		CreatedBy: createdBy, CreatedAt: s.now().UTC()}
	if err := s.st.CreatePoll(ctx, p); err != nil {
		return Poll{}, fmt.Errorf("polls: create: %w", err)
	}
	view := render(p, nil, true)
	s.send(ctx, meetingID, nil, message{Type: TypeCreated, Poll: hidden(view, p)})
	s.log.Info("poll created", "meeting", meetingID, "session", sessionID, "poll", p.ID)
	return view, nil
}

// List returns the polls of a session of the app, with every vote.
func (s *Service) List(ctx context.Context, appID, sessionID string) ([]Poll, error) {
	if _, err := s.st.GetSession(ctx, appID, sessionID); err != nil {
		return nil, apierr.NotFound("session", sessionID, err)
	}
	ps, err := s.st.ListPolls(ctx, sessionID)
	if err != nil {
		return nil, err
	}
	out := make([]Poll, 0, len(ps))
	for _, p := range ps {
		votes, err := s.st.ListPollVotes(ctx, p.ID)
		if err != nil {
			return nil, err
		}
		out = append(out, render(p, votes, true))
	}
	return out, nil
}

// OnLiveKitEvent is a sessions.Tracker subscriber: when a room finishes,
// the agent leaves it; when an agent's connection leaves a room for
// another reason than a room's end or a newer agent's connection (the
// replica that ran it stopped, or lost LiveKit), Run connects the agent
// again if the room still has live polls. It returns at once.
func (s *Service) OnLiveKitEvent(ctx context.Context, ev *livekit.WebhookEvent) {
	switch ev.GetEvent() {
	case "room_finished":
		s.dropAgent(ctx, ev.GetRoom().GetName(), true)
	case "participant_left", "participant_connection_aborted":
		p := ev.GetParticipant()
		if p.GetIdentity() != AgentIdentity || !rejoinAfter(p.GetDisconnectReason()) {
			return
		}
		select {
		case s.rejoins <- left{room: ev.GetRoom().GetName(), sid: p.GetSid()}:
		default:
			s.log.Warn("polls: rejoin queue full", "room", ev.GetRoom().GetName())
		}
	}
}

// rejoinAfter reports whether an agent that left its room for reason may
// have left live polls without an agent. It did not when the room closed
// or was deleted, when the room's agent was replaced by a newer connection
// under the same identity (each replica connects one), when it was removed
// on purpose, or when LiveKit moved it to another node.
func rejoinAfter(reason livekit.DisconnectReason) bool {
	switch reason {
	case livekit.DisconnectReason_DUPLICATE_IDENTITY, livekit.DisconnectReason_ROOM_CLOSED,
		livekit.DisconnectReason_ROOM_DELETED, livekit.DisconnectReason_PARTICIPANT_REMOVED,
		livekit.DisconnectReason_MIGRATION:
		return false
	}
	return true
}

// Run processes votes until ctx ends. At start it connects the agent to
// the rooms of live sessions that have polls (after a restart); it
// reconnects an agent whose connection left a room with live polls
// (OnLiveKitEvent) and, with WithReplicas, while it holds AgentsLease, the
// agents of replicas that died. On the way out it disconnects every agent,
// leaving them recorded as this replica's: another replica reconnects them
// once this one's liveness is gone. It returns nil when ctx ends.
func (s *Service) Run(ctx context.Context) error {
	s.reconnect(ctx)
	var work sync.WaitGroup
	work.Go(func() { // one at a time, in the order the events came
		for {
			select {
			case <-ctx.Done():
				return
			case l := <-s.rejoins:
				s.rejoin(ctx, l)
			}
		}
	})
	if s.owners != nil && s.leader != nil {
		work.Go(func() {
			if err := s.leader.Lead(ctx, AgentsLease, s.watch); err != nil && ctx.Err() == nil {
				s.log.Error("polls: watch the agents", "err", err)
			}
		})
	}
	for {
		select {
		case <-ctx.Done():
			work.Wait()
			s.mu.Lock()
			rooms := make([]string, 0, len(s.conns))
			for room := range s.conns {
				rooms = append(rooms, room)
			}
			s.mu.Unlock()
			for _, room := range rooms {
				s.dropAgent(ctx, room, false)
			}
			s.wg.Wait()
			return nil
		case p := <-s.packets:
			s.handle(ctx, p)
		}
	}
}

// rejoin connects the agent to l.room again unless the room has no live
// polls any more or this replica's agent is there under another
// connection.
func (s *Service) rejoin(ctx context.Context, l left) {
	s.mu.Lock()
	if c, ok := s.conns[l.room]; ok {
		if c.SID() != l.sid {
			s.mu.Unlock()
			return // this replica's agent is there, newer than the one that left
		}
		delete(s.conns, l.room) // it left; its callback has not come yet
	}
	s.mu.Unlock()
	live, err := s.st.GetLiveSession(ctx, l.room)
	if err != nil {
		if !errors.Is(err, store.ErrNotFound) && ctx.Err() == nil {
			s.log.Warn("polls: rejoin the agent", "room", l.room, "err", err)
		}
		return
	}
	ps, err := s.st.ListPolls(ctx, live.ID)
	if err != nil || len(ps) == 0 {
		return
	}
	if err := s.ensureAgent(ctx, l.room); err != nil {
		if ctx.Err() == nil {
			s.log.Warn("polls: rejoin the agent", "room", l.room, "err", err)
		}
		return
	}
	s.log.Info("polls agent rejoined", "room", l.room, "left", l.sid)
}

// watch reconnects, every check interval until ctx ends, the agents that
// replicas which died ran in rooms with live polls.
func (s *Service) watch(ctx context.Context) error {
	t := time.NewTicker(s.checkEvery)
	defer t.Stop()
	for {
		s.takeOrphans(ctx)
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
	}
}

// takeOrphans connects the agent to the rooms with live polls whose agent
// belongs to a replica that is no longer alive.
func (s *Service) takeOrphans(ctx context.Context) {
	rooms, err := s.roomsWithPolls(ctx)
	if err != nil {
		if ctx.Err() == nil {
			s.log.Warn("polls: list the rooms with polls", "err", err)
		}
		return
	}
	items := make([]string, len(rooms))
	for i, r := range rooms {
		items[i] = agentItem(r)
	}
	taken, err := s.owners.TakeOrphans(ctx, items, agentTTL)
	if err != nil {
		if ctx.Err() == nil {
			s.log.Warn("polls: take over agents", "err", err)
		}
		return
	}
	for _, it := range taken {
		// An agent of this replica still connected there is the room's
		// now; otherwise one connects.
		room := strings.TrimPrefix(it, agentItemPrefix)
		if err := s.ensureAgent(ctx, room); err != nil {
			if ctx.Err() == nil {
				s.log.Warn("polls: take over the agent", "room", room, "err", err)
			}
			continue
		}
		s.log.Info("polls agent taken over from a replica that died", "room", room)
	}
}

// agentItemPrefix starts the Owners item of a room's agent.
const agentItemPrefix = "polls-agent:"

func agentItem(room string) string { return agentItemPrefix + room }

// roomsWithPolls returns the rooms of live sessions that have polls.
func (s *Service) roomsWithPolls(ctx context.Context) ([]string, error) {
	live, err := s.st.ListLiveSessionsWithPolls(ctx)
	if err != nil {
		return nil, err
	}
	rooms := make([]string, len(live))
	for i, x := range live {
		rooms[i] = x.MeetingID
	}
	return rooms, nil
}

// reconnect connects the agent to the rooms of live sessions with polls.
func (s *Service) reconnect(ctx context.Context) {
	rooms, err := s.roomsWithPolls(ctx)
	if err != nil {
		s.log.Warn("polls: list the rooms with polls", "err", err)
		return
	}
	for _, room := range rooms {
		if err := s.ensureAgent(ctx, room); err != nil {
			s.log.Warn("polls: reconnect agent", "meeting", room, "err", err)
		}
	}
}

// ensureAgent connects the agent to room unless it is there (or being
// connected by another caller, which it then waits for).
func (s *Service) ensureAgent(ctx context.Context, room string) error {
	for {
		s.mu.Lock()
		if _, ok := s.conns[room]; ok {
			s.mu.Unlock()
			return nil
		}
		wait, busy := s.connecting[room]
		if !busy {
			break // with s.mu held
		}
		s.mu.Unlock()
		select {
		case <-wait:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	done := make(chan struct{})
	s.connecting[room] = done
	s.mu.Unlock()

	var conn Conn
	lost := false
	gone := func() {
		s.mu.Lock()
		defer s.mu.Unlock()
		if conn == nil {
			lost = true // gone before Connect returned
			return
		}
		if s.conns[room] == conn {
			delete(s.conns, room)
			s.log.Info("polls agent left", "room", room)
		}
	}
	c, err := s.agents.Connect(ctx, room, s.receive(room), gone)

	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.connecting, room)
	close(done)
	if err != nil {
		return fmt.Errorf("polls: connect the agent to %s: %w: %v", room, bridge.ErrLiveKitUnavailable, err)
	}
	if lost {
		return fmt.Errorf("polls: the agent's connection to %s ended at once: %w", room, bridge.ErrLiveKitUnavailable)
	}
	conn = c
	s.conns[room] = c
	s.log.Info("polls agent joined", "room", room)
	if s.owners != nil {
		if err := s.owners.Own(ctx, []string{agentItem(room)}, agentTTL); err != nil {
			s.log.Warn("polls: record the agent as this replica's", "room", room, "err", err)
		}
	}
	return nil
}

// dropAgent disconnects the agent from room, in the background; for
// good (the room finished), it also records that no replica runs it.
func (s *Service) dropAgent(ctx context.Context, room string, forGood bool) {
	s.mu.Lock()
	c, ok := s.conns[room]
	delete(s.conns, room)
	s.mu.Unlock()
	if !ok {
		return
	}
	ctx = context.WithoutCancel(ctx)
	s.wg.Go(func() {
		c.Close()
		if forGood && s.owners != nil {
			rctx, cancel := context.WithTimeout(ctx, time.Second)
			defer cancel()
			if err := s.owners.Release(rctx, agentItem(room)); err != nil {
				s.log.Warn("polls: release the agent", "room", room, "err", err)
			}
		}
	})
}

// receive returns the agent's data callback for room: packets of the polls
// topic are queued for Run; the queue drops what it cannot hold.
func (s *Service) receive(room string) func(Packet) {
	return func(p Packet) {
		if p.Topic != Topic {
			return
		}
		p.Room = room
		select {
		case s.packets <- p:
		default:
			s.log.Warn("polls: vote queue full; vote dropped", "room", room, "sender", p.Sender)
		}
	}
}

// message is a message of the polls protocol.
type message struct {
	V       int    `json:"v"`
	Type    string `json:"type"`
	Poll    *Poll  `json:"poll,omitempty"`
	PollID  string `json:"pollId,omitempty"`
	Option  *int   `json:"option,omitempty"`
	Code    string `json:"code,omitempty"`
	Message string `json:"message,omitempty"`
}

// handle processes one packet of the polls topic.
func (s *Service) handle(ctx context.Context, p Packet) {
	var in message
	if err := json.Unmarshal(p.Payload, &in); err != nil || in.Type != TypeVote {
		if err == nil && in.Type != TypeVote {
			return // not for the server
		}
		s.refuse(ctx, p, "", ErrCodeBadRequest, "not a poll.vote message")
		return
	}
	if in.PollID == "" || in.Option == nil {
		s.refuse(ctx, p, in.PollID, ErrCodeBadRequest, "pollId and option are required")
		return
	}
	code, msg, err := s.vote(ctx, p, in.PollID, *in.Option)
	if err != nil {
		s.log.Error("polls: vote", "poll", in.PollID, "sender", p.Sender, "err", err)
		return
	}
	if code != "" {
		s.refuse(ctx, p, in.PollID, code, msg)
	}
}

// vote records a vote and sends the results; a refusal is returned as an
// error code and message.
func (s *Service) vote(ctx context.Context, p Packet, pollID string, option int) (string, string, error) {
	m, err := s.st.GetMeetingByID(ctx, p.Room)
	if err != nil {
		return ErrCodeUnknownPoll, "this room is not a meeting", nil
	}
	poll, err := s.st.GetPoll(ctx, m.AppID, pollID)
	if errors.Is(err, store.ErrNotFound) || (err == nil && poll.MeetingID != m.ID) {
		return ErrCodeUnknownPoll, "no such poll in this meeting", nil
	}
	if err != nil {
		return "", "", err
	}
	live, err := s.st.GetLiveSession(ctx, m.ID)
	if err != nil || live.ID != poll.SessionID {
		return ErrCodeUnknownPoll, "the poll's session is over", nil
	}
	if option < 0 || option >= len(poll.Options) {
		return ErrCodeBadOption, fmt.Sprintf("option must be between 0 and %d", len(poll.Options)-1), nil
	}
	voter, name, ok, err := s.mayVote(ctx, m, p.Sender)
	if err != nil {
		return "", "", err
	}
	if !ok {
		return ErrCodeNotAllowed, "your preset does not allow voting", nil
	}
	err = s.st.CreatePollVote(ctx, store.PollVote{PollID: poll.ID, ParticipantID: voter, Name: name, Option: option, CreatedAt: s.now().UTC()})
	if errors.Is(err, store.ErrConflict) {
		return ErrCodeAlreadyVoted, "you have voted in this poll already", nil
	}
	if err != nil {
		return "", "", err
	}
	votes, err := s.st.ListPollVotes(ctx, poll.ID)
	if err != nil {
		return "", "", err
	}
	full := render(poll, votes, true)
	s.send(ctx, m.ID, nil, message{Type: TypeUpdated, Poll: hidden(full, poll)})
	if poll.HideVotes {
		s.send(ctx, m.ID, []string{p.Sender}, message{Type: TypeUpdated, Poll: &full})
	}
	s.log.Info("poll vote", "meeting", m.ID, "poll", poll.ID, "voter", voter, "option", option)
	return "", "", nil
}

// mayVote reports whether identity is a participant whose effective preset
// in meeting m allows voting, with its id and name.
func (s *Service) mayVote(ctx context.Context, m store.Meeting, identity string) (string, string, bool, error) {
	part, err := s.st.GetParticipantByID(ctx, m.AppID, identity)
	if errors.Is(err, store.ErrNotFound) {
		return "", "", false, nil
	}
	if err != nil {
		return "", "", false, err
	}
	doc, err := presets.Effective(ctx, s.st, part, m.ID)
	if err != nil {
		return "", "", false, err
	}
	return part.ID, part.Name, doc.Permissions.Polls.CanVote, nil
}

func (s *Service) refuse(ctx context.Context, p Packet, pollID, code, msg string) {
	s.send(ctx, p.Room, []string{p.Sender}, message{Type: TypeError, PollID: pollID, Code: code, Message: msg})
}

// send sends a message to the room (to everyone when to is empty).
func (s *Service) send(ctx context.Context, room string, to []string, msg message) {
	msg.V = 1
	b, err := json.Marshal(msg)
	if err != nil {
		s.log.Error("polls: encode", "err", err)
		return
	}
	topic := Topic
	_, err = s.rooms.SendData(ctx, &livekit.SendDataRequest{Room: room, Data: b, Kind: livekit.DataPacket_RELIABLE,
		Topic: &topic, DestinationIdentities: to})
	if err != nil {
		s.log.Warn("polls: send", "room", room, "type", msg.Type, "err", err)
	}
}

// render shows a poll with its votes; withVoters includes who voted what
// (never for an anonymous poll).
func render(p store.Poll, votes []store.PollVote, withVoters bool) Poll {
	out := Poll{ID: p.ID, Question: p.Question, Anonymous: p.Anonymous, HideVotes: p.HideVotes, CreatedBy: p.CreatedBy,
		Voted: []string{}, MeetingID: p.MeetingID, SessionID: p.SessionID,
		CreatedAt: p.CreatedAt.UTC().Format("2006-01-02T15:04:05.000Z")}
	for _, text := range p.Options {
		out.Options = append(out.Options, Option{Text: text, Votes: []Vote{}})
	}
	for _, v := range votes {
		out.Voted = append(out.Voted, v.ParticipantID)
		if v.Option < 0 || v.Option >= len(out.Options) {
			continue
		}
		o := &out.Options[v.Option]
		o.Count++
		if withVoters && !p.Anonymous {
			o.Votes = append(o.Votes, Vote{ID: v.ParticipantID, Name: v.Name})
		}
	}
	return out
}

// hidden returns what everyone in the room may see of a poll: with
// hide_votes, who voted but not the counts or votes.
func hidden(view Poll, p store.Poll) *Poll {
	if !p.HideVotes {
		return &view
	}
	out := view
	out.Options = make([]Option, len(view.Options))
	for i, o := range view.Options {
		out.Options[i] = Option{Text: o.Text, Votes: []Vote{}}
	}
	return &out
}
