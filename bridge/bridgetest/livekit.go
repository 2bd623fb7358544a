package bridgetest

import (
	"context"
	"encoding/json"
	"fmt"
	"sort"
	"sync"
	"time"

	"github.com/livekit/protocol/auth"
	"github.com/livekit/protocol/livekit"
	"github.com/twitchtv/twirp"
	"google.golang.org/protobuf/proto"

	"rtk-sidecar/eventstream"
)

// LiveKit is an in-memory LiveKit RoomService with participants in rooms,
// for tests of moves. Each participant is a simulated client that follows
// move instructions (docs/protocol.md §4) as its Behavior says: it answers
// the rtk.move RPC, or takes the instruction as data, then joins the
// destination with the token of the instruction (verified with the API
// secret: a participant arrives with exactly the name, metadata, attributes
// and permissions the token carries) and leaves the source, unless it loses
// its leave.
//
// Unknown participants are twirp NotFound, as in LiveKit; SetErr simulates
// an outage. MoveParticipant answers "not implemented", like the open-source
// server, until SetMoveImplemented(true). LiveKit is safe for concurrent
// use; Close waits for the simulated clients.
type LiveKit struct {
	apiKey, apiSecret string

	stop chan struct{}
	wg   sync.WaitGroup

	mu            sync.Mutex
	closed        bool
	rooms         map[string]map[string]*livekit.ParticipantInfo // room -> identity -> participant
	behaviors     map[string]*clientState                        // by identity
	deliveries    []Delivery
	rpcCalls      map[string]int
	listCalls     map[string]int                      // ListParticipants calls by room
	getCalls      map[string]int                      // GetParticipant calls by room
	lookupDelay   time.Duration                       // SetLookupDelay
	moveCalls     map[string]int                      // MoveParticipant calls by identity
	absentMoves   int                                 // MoveParticipant calls for identities not in the room
	removed       []string                            // "room/identity" of RemoveParticipant calls that removed someone
	updates       []*livekit.UpdateParticipantRequest // UpdateParticipant calls that changed someone
	moveSupported bool
	err           error
	failNext      map[string][]error // by method: the errors its next calls answer, in order
	onEvent       func(*livekit.WebhookEvent)
	seq           int
}

// Behavior is how a simulated client reacts to move instructions. The zero
// value is a well-behaved rtkclient: it accepts the RPC and moves at once.
type Behavior struct {
	// RPC is how it answers PerformRpc of the move method.
	RPC RPCAnswer
	// Ignore is how many instructions it takes without acting on them
	// before it follows one (re-delivery tests).
	Ignore int
	// Never: it takes every instruction and never moves.
	Never bool
	// JoinDelay is how long it takes from the instruction to its presence
	// in the destination.
	JoinDelay time.Duration
	// LoseLeave: it joins the destination but its leave of the source is
	// lost, so the source keeps listing it (docs/livekit-notes.md §3).
	LoseLeave bool
	// RPCDelay delays LiveKit's answer to the RPC (the client acts at once):
	// LiveKit answers RpcError 1501 only after 2 s.
	RPCDelay time.Duration
	// Stream: it has an event stream open to the sidecar (Streams), and
	// takes instructions from it as from LiveKit.
	Stream bool
	// Deaf: nothing LiveKit sends reaches it (a data channel stalled under
	// load): data packets are lost, and RPCs fail with RpcError 1501 after
	// RPCDelay. Only its event stream, if it has one, gets through.
	Deaf bool
}

// RPCAnswer is how a simulated client answers a move RPC.
type RPCAnswer int

const (
	// RPCAccept: it registered the method and answers at once.
	RPCAccept RPCAnswer = iota
	// RPCUnsupported: no method registered; LiveKit answers RpcError 1400.
	RPCUnsupported
	// RPCNoAck: it lacks canPublishData, so LiveKit answers RpcError 1501,
	// although the handler ran and the client acts on the instruction.
	RPCNoAck
)

// Delivery is a move instruction that reached a simulated client.
type Delivery struct {
	Via      string // "rpc", "data" or "stream"
	Room     string // the room it was sent in
	Identity string
	Topic    string // data topic, or the RPC method
	Payload  []byte
	At       time.Time
}

type clientState struct {
	Behavior
	received int
	followed map[string]bool // move ids
}

// NewLiveKit returns an empty LiveKit that verifies move tokens with the
// API key and secret.
func NewLiveKit(apiKey, apiSecret string) *LiveKit {
	return &LiveKit{
		apiKey: apiKey, apiSecret: apiSecret,
		stop:      make(chan struct{}),
		rooms:     map[string]map[string]*livekit.ParticipantInfo{},
		behaviors: map[string]*clientState{},
		rpcCalls:  map[string]int{},
		listCalls: map[string]int{},
		getCalls:  map[string]int{},
		moveCalls: map[string]int{},
	}
}

// SetLookupDelay makes GetParticipant and ListParticipants answer d after
// they are called, with the room as it was when they were called: an SFU
// slow to answer under load.
func (l *LiveKit) SetLookupDelay(d time.Duration) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.lookupDelay = d
}

// answerLater waits d, or until ctx ends.
func answerLater(ctx context.Context, d time.Duration) error {
	if d == 0 {
		return nil
	}
	select {
	case <-time.After(d):
		return nil
	case <-ctx.Done():
		return twirp.NewError(twirp.DeadlineExceeded, ctx.Err().Error())
	}
}

// OnEvent sets a receiver of webhook events (participant_joined and
// participant_left), called synchronously without locks held.
func (l *LiveKit) OnEvent(fn func(*livekit.WebhookEvent)) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.onEvent = fn
}

// SetErr sets or clears a simulated outage: every RoomService call fails with err.
func (l *LiveKit) SetErr(err error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.err = err
}

// FailNext makes the next len(errs) calls of method ("GetParticipant" or
// "UpdateParticipant") fail, one error each, in order, without effect: an
// overloaded SFU that answers late or not at all.
func (l *LiveKit) FailNext(method string, errs ...error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.failNext == nil {
		l.failNext = map[string][]error{}
	}
	l.failNext[method] = append(l.failNext[method], errs...)
}

// Failing returns how many of FailNext's failures of method are still to
// come.
func (l *LiveKit) Failing(method string) int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.failNext[method])
}

// failingLocked returns the error a call of method answers, if any: the
// outage (SetErr), else the next of FailNext's.
func (l *LiveKit) failingLocked(method string) error {
	if l.err != nil {
		return l.err
	}
	if errs := l.failNext[method]; len(errs) > 0 {
		l.failNext[method] = errs[1:]
		return errs[0]
	}
	return nil
}

// SetMoveImplemented makes MoveParticipant work (LiveKit Cloud) or answer
// "not implemented" (the open-source server, the default).
func (l *LiveKit) SetMoveImplemented(ok bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.moveSupported = ok
}

// Join puts a participant in room, as a client behaving as b. p needs an
// Identity; its Sid, State and join time are set. It returns a copy.
func (l *LiveKit) Join(room string, p *livekit.ParticipantInfo, b Behavior) *livekit.ParticipantInfo {
	return l.join(room, proto.Clone(p).(*livekit.ParticipantInfo), b, true)
}

// join adds p to room as a client behaving as b (replacing the behavior of
// its identity, unless replace is false and it has one), emits the join and
// returns a copy of p.
func (l *LiveKit) join(room string, p *livekit.ParticipantInfo, b Behavior, replace bool) *livekit.ParticipantInfo {
	l.mu.Lock()
	if replace || l.behaviors[p.Identity] == nil {
		l.behaviors[p.Identity] = &clientState{Behavior: b}
	}
	ev := l.addLocked(room, p)
	out := proto.Clone(p).(*livekit.ParticipantInfo)
	fn := l.onEvent
	l.mu.Unlock()
	lkEmit(fn, ev)
	return out
}

// addLocked adds p to room, replacing (kicking) a participant of the same
// identity, and returns the participant_joined event.
func (l *LiveKit) addLocked(room string, p *livekit.ParticipantInfo) *livekit.WebhookEvent {
	l.seq++
	now := time.Now()
	p.Sid = fmt.Sprintf("PA_%s_%d", p.Identity, l.seq)
	p.State = livekit.ParticipantInfo_ACTIVE
	p.JoinedAt, p.JoinedAtMs = now.Unix(), now.UnixMilli()
	if l.rooms[room] == nil {
		l.rooms[room] = map[string]*livekit.ParticipantInfo{}
	}
	l.rooms[room][p.Identity] = p
	return lkEvent("participant_joined", room, p)
}

func lkEvent(kind, room string, p *livekit.ParticipantInfo) *livekit.WebhookEvent {
	return &livekit.WebhookEvent{Event: kind, Room: &livekit.Room{Name: room},
		Participant: proto.Clone(p).(*livekit.ParticipantInfo), CreatedAt: time.Now().Unix()}
}

func lkEmit(fn func(*livekit.WebhookEvent), evs ...*livekit.WebhookEvent) {
	if fn == nil {
		return
	}
	for _, ev := range evs {
		if ev != nil {
			fn(ev)
		}
	}
}

// JoinWithToken connects a simulated client with a LiveKit token, as a
// client with a ticket would (a prepared connection, for one), and returns
// the participant as the token admits it.
func (l *LiveKit) JoinWithToken(token string, b Behavior) (*livekit.ParticipantInfo, error) {
	p, room, err := l.verify(token)
	if err != nil {
		return nil, err
	}
	// A second connection of an identity keeps the behavior of its first.
	return l.join(room, p, b, false), nil
}

// SetState sets the state of identity's connection in room (Join makes it
// ACTIVE), for participants that are still connecting.
func (l *LiveKit) SetState(room, identity string, st livekit.ParticipantInfo_State) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if p := l.rooms[room][identity]; p != nil {
		p.State = st
	}
}

// Leave removes identity from room as its client leaving would.
func (l *LiveKit) Leave(room, identity string) {
	l.mu.Lock()
	ev := l.removeLocked(room, identity, "")
	fn := l.onEvent
	l.mu.Unlock()
	lkEmit(fn, ev)
}

// removeLocked removes identity from room (only the connection sid, unless
// sid is empty) and returns the participant_left event, or nil.
func (l *LiveKit) removeLocked(room, identity, sid string) *livekit.WebhookEvent {
	p := l.rooms[room][identity]
	if p == nil || (sid != "" && p.Sid != sid) {
		return nil
	}
	delete(l.rooms[room], identity)
	if len(l.rooms[room]) == 0 {
		delete(l.rooms, room)
	}
	return lkEvent("participant_left", room, p)
}

// Participant returns a copy of identity's info in room, or nil.
func (l *LiveKit) Participant(room, identity string) *livekit.ParticipantInfo {
	l.mu.Lock()
	defer l.mu.Unlock()
	if p := l.rooms[room][identity]; p != nil {
		return proto.Clone(p).(*livekit.ParticipantInfo)
	}
	return nil
}

// Identities lists the identities in room, sorted.
func (l *LiveKit) Identities(room string) []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	var ids []string
	for id := range l.rooms[room] {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	return ids
}

// Deliveries returns the move instructions that reached identity's client.
func (l *LiveKit) Deliveries(identity string) []Delivery {
	l.mu.Lock()
	defer l.mu.Unlock()
	var out []Delivery
	for _, d := range l.deliveries {
		if d.Identity == identity {
			out = append(out, d)
		}
	}
	return out
}

// RPCCalls counts PerformRpc calls addressed to identity, answered or not.
func (l *LiveKit) RPCCalls(identity string) int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.rpcCalls[identity]
}

// GetCalls counts GetParticipant calls for room.
func (l *LiveKit) GetCalls(room string) int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.getCalls[room]
}

// ListCalls counts ListParticipants calls for room.
func (l *LiveKit) ListCalls(room string) int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.listCalls[room]
}

// Updates returns the UpdateParticipant requests for identity that found
// it, in order.
func (l *LiveKit) Updates(identity string) []*livekit.UpdateParticipantRequest {
	l.mu.Lock()
	defer l.mu.Unlock()
	var out []*livekit.UpdateParticipantRequest
	for _, u := range l.updates {
		if u.Identity == identity {
			out = append(out, proto.Clone(u).(*livekit.UpdateParticipantRequest))
		}
	}
	return out
}

// MoveCalls counts MoveParticipant calls for identity.
func (l *LiveKit) MoveCalls(identity string) int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.moveCalls[identity]
}

// AbsentMoveCalls counts MoveParticipant calls for identities that were not
// in the room (each costs 3 s on a real server).
func (l *LiveKit) AbsentMoveCalls() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.absentMoves
}

// Removed lists the "room/identity" of participants removed by
// RemoveParticipant, in order.
func (l *LiveKit) Removed() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]string(nil), l.removed...)
}

// Close stops the simulated clients (moves not made yet are dropped) and
// waits for them.
func (l *LiveKit) Close() {
	l.mu.Lock()
	if !l.closed {
		l.closed = true
		close(l.stop)
	}
	l.mu.Unlock()
	l.wg.Wait()
}

// ---- RoomService ----

func lkNotFound() error { return twirp.NotFoundError("participant does not exist") }

// GetParticipant returns a participant, or twirp NotFound.
func (l *LiveKit) GetParticipant(ctx context.Context, req *livekit.RoomParticipantIdentity) (*livekit.ParticipantInfo, error) {
	l.mu.Lock()
	if err := l.failingLocked("GetParticipant"); err != nil {
		l.mu.Unlock()
		return nil, err
	}
	l.getCalls[req.Room]++
	var err error
	p := l.rooms[req.Room][req.Identity]
	if p == nil {
		err = lkNotFound()
	} else {
		p = proto.Clone(p).(*livekit.ParticipantInfo)
	}
	d := l.lookupDelay
	l.mu.Unlock()
	if err := answerLater(ctx, d); err != nil {
		return nil, err
	}
	return p, err
}

// ListParticipants lists a room's participants (none for an unknown room, as LiveKit does).
func (l *LiveKit) ListParticipants(ctx context.Context, req *livekit.ListParticipantsRequest) (*livekit.ListParticipantsResponse, error) {
	l.mu.Lock()
	if l.err != nil {
		l.mu.Unlock()
		return nil, l.err
	}
	l.listCalls[req.Room]++
	res := &livekit.ListParticipantsResponse{}
	for _, p := range l.rooms[req.Room] {
		res.Participants = append(res.Participants, proto.Clone(p).(*livekit.ParticipantInfo))
	}
	sort.Slice(res.Participants, func(i, j int) bool { return res.Participants[i].Identity < res.Participants[j].Identity })
	d := l.lookupDelay
	l.mu.Unlock()
	if err := answerLater(ctx, d); err != nil {
		return nil, err
	}
	return res, nil
}

// RemoveParticipant disconnects a participant.
func (l *LiveKit) RemoveParticipant(_ context.Context, req *livekit.RoomParticipantIdentity) (*livekit.RemoveParticipantResponse, error) {
	l.mu.Lock()
	if l.err != nil {
		defer l.mu.Unlock()
		return nil, l.err
	}
	ev := l.removeLocked(req.Room, req.Identity, "")
	if ev == nil {
		l.mu.Unlock()
		return nil, lkNotFound()
	}
	l.removed = append(l.removed, req.Room+"/"+req.Identity)
	fn := l.onEvent
	l.mu.Unlock()
	lkEmit(fn, ev)
	return &livekit.RemoveParticipantResponse{}, nil
}

// UpdateParticipant changes a participant's name and metadata (when not
// empty), attributes (an empty value removes one) and permission (when
// set).
func (l *LiveKit) UpdateParticipant(_ context.Context, req *livekit.UpdateParticipantRequest) (*livekit.ParticipantInfo, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if err := l.failingLocked("UpdateParticipant"); err != nil {
		return nil, err
	}
	p := l.rooms[req.Room][req.Identity]
	if p == nil {
		return nil, lkNotFound()
	}
	if req.Metadata != "" {
		p.Metadata = req.Metadata
	}
	if req.Name != "" {
		p.Name = req.Name
	}
	for k, v := range req.Attributes {
		if p.Attributes == nil {
			p.Attributes = map[string]string{}
		}
		if v == "" {
			delete(p.Attributes, k) // as LiveKit does
		} else {
			p.Attributes[k] = v
		}
	}
	if req.Permission != nil {
		p.Permission = proto.Clone(req.Permission).(*livekit.ParticipantPermission)
	}
	l.updates = append(l.updates, proto.Clone(req).(*livekit.UpdateParticipantRequest))
	return proto.Clone(p).(*livekit.ParticipantInfo), nil
}

// MoveParticipant answers "not implemented" (twirp unknown) unless
// SetMoveImplemented(true); for an identity not in the room it answers
// "no response from servers" (twirp unavailable), as LiveKit does after 3 s.
func (l *LiveKit) MoveParticipant(_ context.Context, req *livekit.MoveParticipantRequest) (*livekit.MoveParticipantResponse, error) {
	l.mu.Lock()
	if l.err != nil {
		defer l.mu.Unlock()
		return nil, l.err
	}
	l.moveCalls[req.Identity]++
	p := l.rooms[req.Room][req.Identity]
	switch {
	case p == nil:
		l.absentMoves++
		l.mu.Unlock()
		return nil, twirp.NewError(twirp.Unavailable, "no response from servers")
	case !l.moveSupported:
		l.mu.Unlock()
		return nil, twirp.NewError(twirp.Unknown, "not implemented")
	}
	left := l.removeLocked(req.Room, req.Identity, "")
	moved := proto.Clone(p).(*livekit.ParticipantInfo)
	joined := l.addLocked(req.DestinationRoom, moved)
	fn := l.onEvent
	l.mu.Unlock()
	lkEmit(fn, joined, left)
	return &livekit.MoveParticipantResponse{}, nil
}

// SendData delivers a data packet to the simulated clients named in
// DestinationIdentities (all in the room when none are named); absent ones
// are skipped silently, as in LiveKit. Packets on the move topic are
// followed as move instructions.
func (l *LiveKit) SendData(_ context.Context, req *livekit.SendDataRequest) (*livekit.SendDataResponse, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.err != nil {
		return nil, l.err
	}
	ids := req.DestinationIdentities
	if len(ids) == 0 {
		for id := range l.rooms[req.Room] {
			ids = append(ids, id)
		}
	}
	for _, id := range ids {
		if p := l.rooms[req.Room][id]; p != nil && !l.deafLocked(id) {
			l.deliverLocked(Delivery{Via: "data", Room: req.Room, Identity: id, Topic: req.GetTopic(),
				Payload: append([]byte(nil), req.Data...), At: time.Now()}, p.Sid)
		}
	}
	return &livekit.SendDataResponse{}, nil
}

// PerformRpc delivers an RPC to a simulated client and answers as its
// Behavior says: {"v":1,"accepted":true}, RpcError 1400, or RpcError 1501.
// An identity not in the room is twirp unavailable, as LiveKit answers after 3 s.
func (l *LiveKit) PerformRpc(ctx context.Context, req *livekit.PerformRpcRequest) (*livekit.PerformRpcResponse, error) {
	res, delay, err := l.performRpc(req)
	if delay > 0 {
		t := time.NewTimer(delay)
		defer t.Stop()
		select {
		case <-t.C:
		case <-ctx.Done():
			return nil, twirp.NewError(twirp.Canceled, ctx.Err().Error())
		}
	}
	return res, err
}

func (l *LiveKit) performRpc(req *livekit.PerformRpcRequest) (*livekit.PerformRpcResponse, time.Duration, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.err != nil {
		return nil, 0, l.err
	}
	l.rpcCalls[req.DestinationIdentity]++
	p := l.rooms[req.Room][req.DestinationIdentity]
	if p == nil {
		return nil, 0, twirp.NewError(twirp.Unavailable, "no response from servers")
	}
	b := l.behaviors[req.DestinationIdentity]
	if b == nil {
		b = &clientState{}
	}
	if b.RPC == RPCUnsupported {
		return nil, 0, twirp.NewError(twirp.InvalidArgument, "RpcError 1400: Method not supported at destination")
	}
	if b.Deaf {
		return nil, b.RPCDelay, twirp.NewError(twirp.Canceled, "RpcError 1501: Connection timeout")
	}
	l.deliverLocked(Delivery{Via: "rpc", Room: req.Room, Identity: req.DestinationIdentity, Topic: req.Method,
		Payload: []byte(req.Payload), At: time.Now()}, p.Sid)
	if b.RPC == RPCNoAck {
		return nil, b.RPCDelay, twirp.NewError(twirp.Canceled, "RpcError 1501: Connection timeout")
	}
	return &livekit.PerformRpcResponse{Payload: `{"v":1,"accepted":true}`}, b.RPCDelay, nil
}

func (l *LiveKit) deafLocked(identity string) bool {
	b := l.behaviors[identity]
	return b != nil && b.Deaf
}

// Streams returns the simulated clients' event streams to the sidecar, as
// a bridge.Streams: a message reaches every client with Behavior.Stream
// that is in a room, and a move instruction is followed like one that came
// through LiveKit.
func (l *LiveKit) Streams() Streams { return Streams{l} }

// Streams are the simulated clients' event streams.
type Streams struct{ l *LiveKit }

// Send delivers m to identity's stream and reports how many streams took it (0 or 1).
func (s Streams) Send(identity string, m eventstream.Message) int {
	l := s.l
	l.mu.Lock()
	defer l.mu.Unlock()
	b := l.behaviors[identity]
	if b == nil || !b.Stream {
		return 0
	}
	for room, ps := range l.rooms {
		if p := ps[identity]; p != nil {
			l.deliverLocked(Delivery{Via: "stream", Room: room, Identity: identity, Topic: m.Event,
				Payload: append([]byte(nil), m.Data...), At: time.Now()}, p.Sid)
			return 1
		}
	}
	return 0
}

// deliverLocked records d and, when the client follows it, moves the client
// in the background. sid is the connection that received it.
func (l *LiveKit) deliverLocked(d Delivery, sid string) {
	l.deliveries = append(l.deliveries, d)
	if d.Topic != "rtk.move" || l.closed {
		return
	}
	b := l.behaviors[d.Identity]
	if b == nil {
		b = &clientState{}
		l.behaviors[d.Identity] = b
	}
	b.received++
	if b.Never || b.received <= b.Ignore {
		return
	}
	// Like a real client, it follows each move once, whichever copy of its
	// instruction comes first.
	var in struct {
		MoveID string `json:"moveId"`
	}
	_ = json.Unmarshal(d.Payload, &in)
	if b.followed[in.MoveID] {
		return
	}
	if b.followed == nil {
		b.followed = map[string]bool{}
	}
	b.followed[in.MoveID] = true
	l.wg.Add(1)
	go l.follow(d, sid, b.Behavior)
}

// follow is a simulated client acting on a move instruction.
func (l *LiveKit) follow(d Delivery, sid string, b Behavior) {
	defer l.wg.Done()
	if b.JoinDelay > 0 {
		t := time.NewTimer(b.JoinDelay)
		defer t.Stop()
		select {
		case <-l.stop:
			return
		case <-t.C:
		}
	}
	var in struct {
		LiveKit struct {
			Token string `json:"token"`
			Room  string `json:"room"`
		} `json:"livekit"`
		Prepared bool `json:"prepared"`
	}
	if err := json.Unmarshal(d.Payload, &in); err != nil {
		return
	}
	p, room, err := l.verify(in.LiveKit.Token)
	if err != nil || room != in.LiveKit.Room || p.Identity != d.Identity {
		return // a client cannot join with a bad token
	}
	l.mu.Lock()
	var joined *livekit.WebhookEvent
	if !in.Prepared || l.rooms[room][d.Identity] == nil {
		// A revealed prepared connection is there already; any other
		// client joins.
		joined = l.addLocked(room, p)
	}
	var left *livekit.WebhookEvent
	if !b.LoseLeave {
		left = l.removeLocked(d.Room, d.Identity, sid)
	}
	fn := l.onEvent
	l.mu.Unlock()
	lkEmit(fn, joined, left)
}

// verify checks a join token as LiveKit would and returns the participant
// it admits and its room.
func (l *LiveKit) verify(token string) (*livekit.ParticipantInfo, string, error) {
	v, err := auth.ParseAPIToken(token)
	if err != nil {
		return nil, "", err
	}
	if v.APIKey() != l.apiKey {
		return nil, "", fmt.Errorf("unknown API key %q", v.APIKey())
	}
	_, grants, err := v.Verify(l.apiSecret)
	if err != nil {
		return nil, "", err
	}
	if grants.Video == nil || !grants.Video.RoomJoin || grants.Video.Room == "" {
		return nil, "", fmt.Errorf("token grants no room join")
	}
	return &livekit.ParticipantInfo{
		Identity: grants.Identity, Name: grants.Name, Metadata: grants.Metadata,
		Attributes: grants.Attributes, Permission: grants.Video.ToPermission(),
	}, grants.Video.Room, nil
}
