package bridge

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/livekit/protocol/auth"
	"github.com/livekit/protocol/livekit"
	"github.com/twitchtv/twirp"

	"rtk-sidecar/eventstream"
	"rtk-sidecar/protocol"
)

// RPCClient performs a server-initiated RPC to one participant: LiveKit's
// RoomService.PerformRpc. lksdk's RoomServiceClient has no wrapper for it;
// *AdminRPC implements it over LiveKit's Twirp API, tests use
// bridgetest.LiveKit. Errors are LiveKit's: twirp errors whose message holds
// the RpcError ("RpcError 1400: Method not supported at destination").
type RPCClient interface {
	PerformRpc(ctx context.Context, req *livekit.PerformRpcRequest) (*livekit.PerformRpcResponse, error)
}

var _ RPCClient = (*AdminRPC)(nil)

// AdminRPC calls RoomService.PerformRpc with a room-admin token for the
// request's room (LiveKit refuses an admin grant for another room). It is
// safe for concurrent use.
type AdminRPC struct {
	keys Keys
	svc  livekit.RoomService
}

// NewAdminRPC returns an AdminRPC for the LiveKit server at url (ws:// and
// wss:// are turned into http:// and https://), signing with keys. A nil hc
// means http.DefaultClient; opts go to the Twirp client.
func NewAdminRPC(url string, keys Keys, hc *http.Client, opts ...twirp.ClientOption) *AdminRPC {
	if hc == nil {
		hc = http.DefaultClient
	}
	if strings.HasPrefix(url, "ws") {
		url = "http" + strings.TrimPrefix(url, "ws")
	}
	return &AdminRPC{keys: keys, svc: livekit.NewRoomServiceProtobufClient(url, hc, opts...)}
}

// PerformRpc performs req with an admin token for req.Room.
func (a *AdminRPC) PerformRpc(ctx context.Context, req *livekit.PerformRpcRequest) (*livekit.PerformRpcResponse, error) {
	tok, err := auth.NewAccessToken(a.keys.APIKey, a.keys.APISecret).
		SetVideoGrant(&auth.VideoGrant{RoomAdmin: true, Room: req.Room}).
		SetValidFor(time.Minute).ToJWT()
	if err != nil {
		return nil, fmt.Errorf("bridge: sign admin token: %w", err)
	}
	h := http.Header{}
	h.Set("Authorization", "Bearer "+tok)
	ctx, err = twirp.WithHTTPRequestHeaders(ctx, h)
	if err != nil {
		return nil, err
	}
	return a.svc.PerformRpc(ctx, req)
}

// handOff moves the participant by the client handoff: the client joins
// o.ToRoom with the token of an instruction, then leaves o.FromRoom. It
// waits until src, the participant's connection in the source, is ACTIVE
// (one still connecting cannot take data yet), sends the instruction,
// confirms the arrival a, sends it once more if the participant has not
// arrived after the re-delivery delay, and gives up at the deadline. Once
// the participant has arrived, the source copy is swept should the
// client's leave get lost.
func (m *Mover) handOff(ctx context.Context, o MoveOrder, grant *auth.VideoGrant, src *livekit.ParticipantInfo, a *arrival, deadline time.Time, res *MoveResult) error {
	src, err := m.whenActive(ctx, o, src, deadline)
	if err != nil {
		return err
	}
	if src == nil {
		res.Outcome = MoveOffline
		return nil
	}
	payload, err := m.instruction(o, grant, src, false)
	if err != nil {
		return err
	}
	h := &handoff{m: m, o: o, a: a, payload: payload, res: res, useRPC: m.rpc != nil && src.GetPermission().GetCanPublishData()}

	// Confirm, re-deliver once, then give up at the deadline.
	err = h.send(ctx, time.Now().Add(min(m.cfg.redeliver, time.Until(deadline)/2)))
	if errors.Is(err, ErrMoveTimeout) {
		switch gone, err2 := m.offline(ctx, o); {
		case err2 != nil:
			return err2
		case gone:
			res.Outcome = MoveOffline
			return nil
		}
		err = h.send(ctx, deadline)
	}
	if errors.Is(err, ErrMoveTimeout) {
		// A last look, in case polling failed meanwhile.
		if p, err2 := m.participant(ctx, o.ToRoom, o.Identity); err2 == nil && p != nil && p.Sid != a.exclude {
			err = nil
		}
	}
	if err != nil {
		return err
	}
	m.scheduleSweep(o.FromRoom, o.Identity, src.Sid, o.KeepSource)
	res.Outcome = MoveArrived
	return nil
}

// handoff is the instruction of one handoff under way.
type handoff struct {
	m       *Mover
	o       MoveOrder
	a       *arrival // the participant's arrival in o.ToRoom
	payload []byte
	res     *MoveResult
	useRPC  bool // the next delivery goes by RPC
}

// send delivers the instruction, on the event streams and through LiveKit,
// and waits for the arrival until until (sendAndWait). A repeat goes as
// data once the RPC has failed, or was still unanswered.
func (h *handoff) send(ctx context.Context, until time.Time) error {
	h.res.Deliveries++
	h.res.Streams = h.m.toStreams(h.o, h.payload)
	via, err := h.m.sendAndWait(ctx, h.a, h.o, h.payload, h.useRPC, until)
	switch {
	case via != "":
		h.res.Via = via
		h.useRPC = via == ViaRPC // once the RPC failed, the repeat goes as data
	case errors.Is(err, ErrMoveTimeout):
		h.useRPC = false // the RPC was still unanswered: repeat as data
	}
	return err
}

// activeWait is how often whenActive looks again.
const activeWait = 50 * time.Millisecond

// whenActive waits, until at most half of the time left before deadline,
// for src to become ACTIVE (connected: its data channel can carry the
// instruction), and returns it again; nil if it left.
func (m *Mover) whenActive(ctx context.Context, o MoveOrder, src *livekit.ParticipantInfo, deadline time.Time) (*livekit.ParticipantInfo, error) {
	until := time.Now().Add(time.Until(deadline) / 2)
	for src != nil && src.State != livekit.ParticipantInfo_ACTIVE && time.Now().Before(until) {
		select {
		case <-time.After(activeWait):
		case <-ctx.Done():
			return nil, fmt.Errorf("bridge: move %s: %w", o.Identity, ctx.Err())
		case <-m.stopCh:
			return nil, ErrMoverStopped
		}
		p, err := m.participant(ctx, o.FromRoom, o.Identity)
		if err != nil {
			return nil, err
		}
		src = p // possibly a new connection: the instruction goes to that one
	}
	return src, nil
}

// offline reports whether the participant has left the source room, having
// not arrived in the destination.
func (m *Mover) offline(ctx context.Context, o MoveOrder) (bool, error) {
	p, err := m.participant(ctx, o.FromRoom, o.Identity)
	return p == nil && err == nil, err
}

// destinationGrant is the participant's grant in o.ToRoom: the order's, or
// else src's live permissions.
func destinationGrant(o MoveOrder, grant *auth.VideoGrant, src *livekit.ParticipantInfo) *auth.VideoGrant {
	if grant != nil {
		return grant
	}
	grant = &auth.VideoGrant{RoomJoin: true, Room: o.ToRoom}
	grant.UpdateFromPermission(src.GetPermission())
	if len(src.GetPermission().GetCanPublishSources()) == 0 {
		grant.CanPublishSources = nil // none listed: every source, as LiveKit reads it
	}
	return grant
}

// carriedAttributes are the attributes of src that its connection in the
// destination carries: all but protocol.PreparedAttribute, which marks a
// connection, not a participant. nil when there are none.
func carriedAttributes(src *livekit.ParticipantInfo) map[string]string {
	var attrs map[string]string
	for k, v := range src.GetAttributes() {
		if k == protocol.PreparedAttribute {
			continue
		}
		if attrs == nil {
			attrs = make(map[string]string, len(src.Attributes))
		}
		attrs[k] = v
	}
	return attrs
}

// instruction mints the destination token and encodes the instruction.
// Without a grant in the order, the token carries src's live permissions.
// prepared says that the participant's prepared connection was revealed.
func (m *Mover) instruction(o MoveOrder, grant *auth.VideoGrant, src *livekit.ParticipantInfo, prepared bool) ([]byte, error) {
	grant = destinationGrant(o, grant, src)
	md := or(o.Metadata, src.Metadata)
	at := auth.NewAccessToken(m.keys.APIKey, m.keys.APISecret).
		SetIdentity(o.Identity).SetName(src.Name).SetMetadata(md).
		SetVideoGrant(grant).SetValidFor(TicketTTL)
	if attrs := carriedAttributes(src); len(attrs) > 0 {
		at.SetAttributes(attrs)
	}
	tok, err := at.ToJWT()
	if err != nil {
		return nil, fmt.Errorf("bridge: sign move token for %s: %w", o.Identity, err)
	}
	in := protocol.MoveInstruction{
		V: protocol.Version, MoveID: o.MoveID, ParticipantID: o.Identity,
		FromMeetingID: or(o.FromMeetingID, o.FromRoom), ToMeetingID: or(o.ToMeetingID, o.ToRoom),
		Meeting: o.Meeting, LiveKit: protocol.LiveKitRoom{URL: m.publicURL, Token: tok, Room: o.ToRoom},
		PresetID: o.PresetID, Prepared: prepared, KeepSourceMs: int(o.KeepSource.Milliseconds()),
	}
	in.Meeting.ID = or(in.Meeting.ID, in.ToMeetingID)
	if o.Permissions != nil {
		if in.Permissions, err = json.Marshal(o.Permissions); err != nil {
			return nil, fmt.Errorf("bridge: encode move permissions: %w", err)
		}
	}
	b, err := json.Marshal(in)
	if err != nil {
		return nil, fmt.Errorf("bridge: encode move instruction: %w", err)
	}
	return b, nil
}

func or(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

// sendAndWait delivers the instruction and waits for the arrival until
// until. It returns how the instruction went, and nil once the participant
// has arrived. An arrival while the delivery is still under way ends it: a
// client may move before its RPC answer reaches LiveKit, and LiveKit then
// takes seconds to fail the call (docs/livekit-notes.md §2).
func (m *Mover) sendAndWait(ctx context.Context, a *arrival, o MoveOrder, payload []byte, useRPC bool, until time.Time) (string, error) {
	dctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	var via string
	var derr error
	go func() {
		defer close(done)
		via, derr = m.deliver(dctx, o, payload, useRPC)
	}()
	defer func() { cancel(); <-done }()
	timer := time.NewTimer(time.Until(until))
	defer timer.Stop()
	select {
	case <-timer.C:
		// Still delivering (an RPC whose answer is slow in coming): stop
		// waiting for it so that the caller sends the instruction again.
		return "", ErrMoveTimeout
	case <-a.done:
		cancel()
		<-done
		switch {
		case derr == nil && via != "":
			return via, nil
		case useRPC:
			return ViaRPC, nil // the client moved before its RPC answer came
		default:
			return ViaData, nil
		}
	case <-done:
		if derr != nil {
			return "", derr
		}
	case <-m.stopCh:
		return "", ErrMoverStopped
	case <-ctx.Done():
		return "", fmt.Errorf("bridge: move %s: %w", o.Identity, ctx.Err())
	}
	_, err := m.wait(ctx, a, until)
	return via, err
}

// deliver sends the instruction by RPC when useRPC, else (or when the RPC
// fails in any way) as a data packet, and returns how it went.
func (m *Mover) deliver(ctx context.Context, o MoveOrder, payload []byte, useRPC bool) (string, error) {
	if useRPC {
		rctx, cancel := context.WithTimeout(ctx, m.cfg.rpcTimeout)
		_, err := m.rpc.PerformRpc(rctx, &livekit.PerformRpcRequest{
			Room: o.FromRoom, DestinationIdentity: o.Identity, Method: protocol.MoveMethod,
			Payload: string(payload), ResponseTimeoutMs: 5000,
		})
		cancel()
		if err == nil {
			return ViaRPC, nil
		}
		if ctx.Err() != nil {
			return "", fmt.Errorf("bridge: move %s: %w", o.Identity, ctx.Err())
		}
		m.log.Info("move RPC failed; sending the instruction as data", "identity", o.Identity, "move", o.MoveID, "err", err)
	}
	topic := protocol.MoveTopic
	ctx, cancel := callContext(ctx)
	defer cancel()
	_, err := m.rooms.SendData(ctx, &livekit.SendDataRequest{
		Room: o.FromRoom, Data: payload, Kind: livekit.DataPacket_RELIABLE,
		DestinationIdentities: []string{o.Identity}, Topic: &topic,
	})
	if err != nil {
		return "", fromLiveKit("send move instruction to "+o.Identity, err)
	}
	return ViaData, nil
}

// toStreams sends the instruction on the participant's event streams
// (WithStreams) and returns how many took it.
func (m *Mover) toStreams(o MoveOrder, payload []byte) int {
	if m.cfg.streams == nil {
		return 0
	}
	return m.cfg.streams.Send(o.Identity, eventstream.Message{Event: protocol.MoveMethod, ID: o.MoveID, Data: payload})
}
