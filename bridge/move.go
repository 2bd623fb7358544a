package bridge

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/livekit/protocol/auth"
	"github.com/livekit/protocol/livekit"
	"github.com/livekit/psrpc"
	"github.com/twitchtv/twirp"

	"rtk-sidecar/protocol"
)

// MoveOrder is one participant to move from one LiveKit room to another.
type MoveOrder struct {
	MoveID   string // unique per move; clients deduplicate instructions by it
	Identity string // LiveKit identity (the participant id)
	FromRoom string // LiveKit room the participant is expected in
	ToRoom   string // LiveKit room to move it to; created first (EnsureRoom, or before Ready), or LiveKit auto-creates it without metadata

	Meeting       protocol.MeetingRef // the destination meeting, for the instruction (ID defaults to ToMeetingID)
	FromMeetingID string              // defaults to FromRoom
	ToMeetingID   string              // defaults to ToRoom
	PresetID      string              // the participant's preset in the destination
	Permissions   any                 // effective RealtimeKit permissions in the destination, sent as JSON

	// Grant is the participant's LiveKit grant in the destination; its Room
	// must be empty or ToRoom. Nil carries the live permission set of the
	// participant over (what it has in FromRoom right now).
	Grant *auth.VideoGrant
	// Metadata is the participant's LiveKit metadata in the destination;
	// empty keeps its live metadata. Name and attributes always carry over.
	Metadata string
	// KeepSource is how long the client keeps its source connection after
	// its switch (protocol.MoveInstruction.KeepSourceMs); the sweep of a
	// leftover source connection waits for it too.
	KeepSource time.Duration
	// Gate, when not nil, holds the instruction of a reveal back until the
	// other reveals of the batch are done (RevealGate). Move passes it as
	// soon as it has revealed, or knows it will not.
	Gate *RevealGate
	// Ready, when not nil, tells how the caller's readying of ToRoom for
	// the arrival (creating the room, say), made beside the Move, went.
	// Move takes one value from it after its lookups of the participant,
	// and reveals, asks LiveKit to move, or sends the instruction only once
	// that value is nil; an error fails the move and is returned as it is.
	// A buffer of one leaves the sender free when Move ends before it takes
	// the value.
	Ready <-chan error
}

// Outcome is how a move ended.
type Outcome int

const (
	// MoveFailed: the participant is connected but did not arrive, or
	// LiveKit failed; MoveResult.Err says why.
	MoveFailed Outcome = iota
	// MoveArrived: the participant is present in ToRoom now.
	MoveArrived
	// MoveAlreadyThere: the participant was in ToRoom already; nothing was sent.
	MoveAlreadyThere
	// MoveOffline: the participant is connected to neither room; nothing
	// was sent, and the join endpoint places it when it comes back.
	MoveOffline
)

func (o Outcome) String() string {
	switch o {
	case MoveArrived:
		return "arrived"
	case MoveAlreadyThere:
		return "already_there"
	case MoveOffline:
		return "offline"
	default:
		return "failed"
	}
}

// How a move instruction reached the participant (MoveResult.Via).
const (
	ViaLiveKit = "livekit" // LiveKit's own MoveParticipant (LiveKit Cloud)
	ViaRPC     = "rpc"     // RoomService.PerformRpc, method protocol.MoveMethod
	ViaData    = "data"    // RoomService.SendData, RELIABLE, topic protocol.MoveTopic
)

// Errors of failed moves (MoveResult.Err), each with its psrpc class.
var (
	// ErrMoveTimeout: the participant did not arrive in the destination
	// within the move timeout, although it was told twice.
	ErrMoveTimeout = psrpc.NewErrorf(psrpc.DeadlineExceeded, "participant did not arrive in the destination room")
	// ErrMoverStopped: the Mover's Run has returned.
	ErrMoverStopped = psrpc.NewErrorf(psrpc.Unavailable, "mover stopped")
)

// MoveResult is what became of a MoveOrder.
type MoveResult struct {
	MoveID   string
	Identity string
	Outcome  Outcome
	// Via is how the last instruction reached the participant: ViaLiveKit,
	// ViaRPC or ViaData; empty when none was sent.
	Via string
	// Deliveries counts the instructions sent (0, 1, or 2 after a re-delivery).
	Deliveries int
	// Streams counts the participant's event streams that took the last
	// instruction (WithStreams), besides LiveKit.
	Streams int
	// Err is set exactly when Outcome is MoveFailed.
	Err error
	// Elapsed runs from the call of Move to its return.
	Elapsed time.Duration
}

// Move carries out one move order and blocks until the participant has
// arrived in o.ToRoom, the move has failed, or the participant turned out to
// be connected to neither room. It never asks LiveKit's MoveParticipant
// about an identity that is not in o.FromRoom (that costs 3 s). For the
// handoff it waits until the participant's connection is ACTIVE, sends the
// instruction by RPC (as data when the RPC fails, or straight away for a
// participant without canPublishData), sends it once more if the
// participant has not arrived after the re-delivery delay, and fails with
// ErrMoveTimeout at the move timeout.
//
// ctx bounds the whole call; its error is returned wrapped. Other errors
// carry a psrpc class: InvalidArgument for a bad order, Unavailable (or
// NotFound) from LiveKit, DeadlineExceeded for ErrMoveTimeout, Unavailable
// for ErrMoverStopped.
//
// A participant with a prepared connection in o.ToRoom (Prepared: hidden,
// connected before the move, docs/protocol.md §5) is not sent there: the
// Mover reveals that connection (UpdateParticipant), which makes it
// present at once, and then sends the instruction, marked prepared, once,
// when o.Gate lets it. A prepared connection that is still connecting is
// replaced by the handoff's join.
//
// Once the participant has arrived by handoff, the connection the
// instruction went to is removed from o.FromRoom if it is still listed
// there after the sweep grace (a lost leave), in the background.
func (m *Mover) Move(ctx context.Context, o MoveOrder) (res MoveResult) {
	start := time.Now()
	res = MoveResult{MoveID: o.MoveID, Identity: o.Identity}
	if m.cfg.observer != nil {
		m.cfg.observer.MoveStarted()
	}
	defer func() {
		o.Gate.Pass(o.MoveID) // a move that ended early
		res.Elapsed = time.Since(start)
		m.logResult(o, res)
		if m.cfg.observer != nil {
			m.cfg.observer.MoveEnded(res.Outcome.String(), res.Elapsed)
		}
	}()
	if err := m.move(ctx, o, &res); err != nil {
		res.Outcome, res.Err = MoveFailed, err
	}
	return res
}

// move carries out o, holding its identity, and sets res.Outcome unless it
// fails: it finds the participant (locate), ends the moves that need no
// instruction (settle), and moves the others by LiveKit's own move or by
// the handoff.
func (m *Mover) move(ctx context.Context, o MoveOrder, res *MoveResult) error {
	grant, err := o.validate()
	if err != nil {
		return err
	}
	if m.stopped() {
		return ErrMoverStopped
	}
	unlock, err := m.lockIdentity(ctx, o.Identity)
	if err != nil {
		return fmt.Errorf("bridge: move %s: %w", o.Identity, err)
	}
	defer unlock()
	deadline := time.Now().Add(m.cfg.timeout)

	src, dst, err := m.locate(ctx, o, deadline)
	if err != nil {
		return err
	}
	if done, err := m.settle(ctx, o, grant, src, dst, deadline, res); done || err != nil {
		return err
	}

	// Wait for a connection in ToRoom other than a stale one found there now.
	a := m.await(o.ToRoom, o.Identity, dst.GetSid())
	defer m.unawait(a)
	if m.liveKitMove(ctx, o, src) {
		return m.movedByLiveKit(ctx, o, grant, a, deadline, res)
	}
	return m.handOff(ctx, o, grant, src, a, deadline, res)
}

// locate looks the participant up in both rooms at once, src in o.FromRoom
// and dst in o.ToRoom (nil where it is not), while the caller makes the
// destination ready (o.Ready): under load, each call to LiveKit takes
// hundreds of milliseconds, and the instruction waits for them. Ready's
// error comes first.
func (m *Mover) locate(ctx context.Context, o MoveOrder, deadline time.Time) (src, dst *livekit.ParticipantInfo, err error) {
	var dstErr, readyErr error
	looked := make(chan struct{})
	go func() {
		defer close(looked)
		dst, dstErr = m.lookup(ctx, o.ToRoom, o.Identity, deadline)
	}()
	src, err = m.lookup(ctx, o.FromRoom, o.Identity, deadline)
	<-looked
	if o.Ready != nil {
		select {
		case readyErr = <-o.Ready:
		case <-ctx.Done():
			readyErr = fmt.Errorf("bridge: move %s: %w", o.Identity, ctx.Err())
		}
	}
	switch {
	case readyErr != nil:
		return nil, nil, readyErr
	case err != nil:
		return nil, nil, err
	case dstErr != nil:
		return nil, nil, dstErr
	}
	return src, dst, nil
}

// settle ends the moves that need no instruction to join o.ToRoom, and
// reports whether it did (done) or failed: a participant connected to
// neither room (offline) or to the destination only (already there), one
// whose prepared connection there it reveals, and one that has moved
// already (the destination holds its newer connection).
func (m *Mover) settle(ctx context.Context, o MoveOrder, grant *auth.VideoGrant, src, dst *livekit.ParticipantInfo, deadline time.Time, res *MoveResult) (done bool, err error) {
	prepared := dst != nil && Prepared(dst)
	reveals := prepared && src != nil && dst.State == livekit.ParticipantInfo_ACTIVE
	if !reveals {
		o.Gate.Pass(o.MoveID)
	}
	switch {
	case src == nil && (dst == nil || prepared):
		res.Outcome = MoveOffline
		return true, nil
	case src == nil:
		res.Outcome = MoveAlreadyThere
		return true, nil
	case reveals:
		// The client connected to the destination ahead of the move, hidden:
		// reveal that connection instead of sending it there. Gone
		// meanwhile (not done), the handoff's join replaces it.
		return m.reveal(ctx, o, grant, src, dst, deadline, res)
	case prepared:
		return false, nil // still connecting: the handoff's join replaces it
	case dst != nil && joinedMs(dst) >= joinedMs(src):
		// The destination copy is the newer connection: the participant has
		// moved already, and the source copy is a leftover.
		m.scheduleSweep(o.FromRoom, o.Identity, src.Sid, o.KeepSource)
		res.Outcome = MoveAlreadyThere
		return true, nil
	}
	return false, nil
}

// movedByLiveKit waits for the arrival a that LiveKit's MoveParticipant
// makes, then gives the participant the order's grant and metadata there
// (MoveParticipant keeps the old ones).
func (m *Mover) movedByLiveKit(ctx context.Context, o MoveOrder, grant *auth.VideoGrant, a *arrival, deadline time.Time, res *MoveResult) error {
	res.Via, res.Deliveries = ViaLiveKit, 1
	sid, err := m.wait(ctx, a, deadline)
	if err != nil {
		return err
	}
	if err := m.updateMoved(ctx, o, grant); err != nil {
		return err
	}
	m.log.Debug("moved by LiveKit", "identity", o.Identity, "sid", sid)
	res.Outcome = MoveArrived
	return nil
}

// validate checks o and returns its destination grant (nil: carry over).
func (o *MoveOrder) validate() (*auth.VideoGrant, error) {
	switch {
	case o.MoveID == "", o.Identity == "", o.FromRoom == "", o.ToRoom == "":
		return nil, psrpc.NewErrorf(psrpc.InvalidArgument, "bridge: move order needs MoveID, Identity, FromRoom and ToRoom")
	case o.FromRoom == o.ToRoom:
		return nil, psrpc.NewErrorf(psrpc.InvalidArgument, "bridge: move %s: source and destination are both %q", o.Identity, o.ToRoom)
	case o.Grant != nil && o.Grant.Room != "" && o.Grant.Room != o.ToRoom:
		return nil, psrpc.NewErrorf(psrpc.InvalidArgument, "bridge: move %s: grant is for room %q, not %q", o.Identity, o.Grant.Room, o.ToRoom)
	case o.KeepSource < 0:
		return nil, psrpc.NewErrorf(psrpc.InvalidArgument, "bridge: move %s: KeepSource %s is negative", o.Identity, o.KeepSource)
	}
	if o.Grant == nil {
		return nil, nil
	}
	g := o.Grant.Clone()
	g.Room, g.RoomJoin = o.ToRoom, true
	return g, nil
}

// joinedMs is when p joined, in milliseconds.
func joinedMs(p *livekit.ParticipantInfo) int64 {
	if p.JoinedAtMs != 0 {
		return p.JoinedAtMs
	}
	return p.JoinedAt * 1000
}

// liveKitMove tries LiveKit's MoveParticipant and reports whether LiveKit
// accepted the move. The first "not implemented" answer disables it for the
// Mover's lifetime; any other error falls back to the handoff for this move.
func (m *Mover) liveKitMove(ctx context.Context, o MoveOrder, src *livekit.ParticipantInfo) bool {
	if m.noMove.Load() {
		return false
	}
	ctx, cancel := callContext(ctx)
	defer cancel()
	_, err := m.rooms.MoveParticipant(ctx, &livekit.MoveParticipantRequest{
		Room: o.FromRoom, Identity: o.Identity, DestinationRoom: o.ToRoom,
	})
	switch {
	case err == nil:
		return true
	case notImplemented(err):
		if !m.noMove.Swap(true) {
			m.log.Info("LiveKit does not implement MoveParticipant; moving by client handoff", "err", err)
		}
	default:
		m.log.Warn("MoveParticipant failed; moving by client handoff", "identity", o.Identity, "sid", src.Sid, "err", err)
	}
	return false
}

// notImplemented recognises the open-source server's answer to
// MoveParticipant: twirp "unknown" (HTTP 500) "not implemented"; a twirp
// "unimplemented" counts too.
func notImplemented(err error) bool {
	var terr twirp.Error
	if !errors.As(err, &terr) {
		return false
	}
	return terr.Code() == twirp.Unimplemented ||
		strings.Contains(strings.ToLower(terr.Msg()), "not implemented")
}

// updateMoved applies a new grant or metadata after LiveKit moved the
// participant itself (MoveParticipant keeps both).
func (m *Mover) updateMoved(ctx context.Context, o MoveOrder, grant *auth.VideoGrant) error {
	if grant == nil && o.Metadata == "" {
		return nil
	}
	req := &livekit.UpdateParticipantRequest{Room: o.ToRoom, Identity: o.Identity, Metadata: o.Metadata}
	if grant != nil {
		req.Permission = grant.ToPermission()
	}
	ctx, cancel := callContext(ctx)
	defer cancel()
	if _, err := m.rooms.UpdateParticipant(ctx, req); err != nil {
		return fromLiveKit("update moved participant "+o.Identity, err)
	}
	return nil
}

func (m *Mover) logResult(o MoveOrder, r MoveResult) {
	attrs := []any{"move", o.MoveID, "identity", o.Identity, "from", o.FromRoom, "to", o.ToRoom,
		"outcome", r.Outcome.String(), "via", r.Via, "deliveries", r.Deliveries, "streams", r.Streams, "elapsed", r.Elapsed}
	if r.Err != nil {
		m.log.Warn("move failed", append(attrs, "err", r.Err)...)
		return
	}
	m.log.Info("move done", attrs...)
}
