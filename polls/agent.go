package polls

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/livekit/protocol/auth"
	"github.com/livekit/protocol/livekit"
	lksdk "github.com/livekit/server-sdk-go/v2"
)

// AgentIdentity is the LiveKit identity of the polls agent in every room:
// participants address their votes to it. It starts with
// sessions.AgentIdentityPrefix, so the agent is no session participant.
const AgentIdentity = "rtk-agent"

// LiveKitAgent connects the polls agent to LiveKit rooms with lksdk: a
// hidden participant of kind AGENT (LiveKit closes a room whose only
// participants are agents) that may publish data and subscribes to
// nothing.
type LiveKitAgent struct {
	URL       string // LiveKit URL as the sidecar reaches it
	APIKey    string
	APISecret string
}

var _ Connector = (*LiveKitAgent)(nil)

// Connect joins room as the agent; see Connector.
func (a *LiveKitAgent) Connect(ctx context.Context, room string, onData func(Packet), onGone func()) (Conn, error) {
	grant := &auth.VideoGrant{RoomJoin: true, Room: room, Hidden: true}
	grant.SetCanPublish(false)
	grant.SetCanPublishData(true)
	grant.SetCanSubscribe(true)
	tok, err := auth.NewAccessToken(a.APIKey, a.APISecret).
		SetIdentity(AgentIdentity).SetName("RealtimeKit polls").
		SetKind(livekit.ParticipantInfo_AGENT).
		SetVideoGrant(grant).SetValidFor(24 * time.Hour).ToJWT()
	if err != nil {
		return nil, fmt.Errorf("polls: agent token: %w", err)
	}
	var once sync.Once
	gone := func() { once.Do(onGone) }
	cb := lksdk.NewRoomCallback()
	cb.OnDataPacket = func(p lksdk.DataPacket, params lksdk.DataReceiveParams) {
		if u, ok := p.(*lksdk.UserDataPacket); ok {
			onData(Packet{Sender: params.SenderIdentity, Topic: u.Topic, Payload: u.Payload})
		}
	}
	cb.OnDisconnected = gone
	r := lksdk.NewRoom(cb)
	if err := r.JoinWithContextAndToken(ctx, a.URL, tok, lksdk.WithAutoSubscribe(false)); err != nil {
		return nil, err
	}
	return agentConn{r}, nil
}

type agentConn struct{ r *lksdk.Room }

func (c agentConn) SID() string { return c.r.LocalParticipant.SID() }

func (c agentConn) Close() { c.r.Disconnect() }
