// Package bridge maps RealtimeKit meetings onto LiveKit: one meeting is one
// LiveKit room named by the meeting id, and a participant joins it with a
// LiveKit access token whose grants the caller derived from the preset. The
// bridge talks to LiveKit's RoomService and mints tokens with the LiveKit API
// key; it keeps no state of its own and knows nothing of HTTP or the store.
package bridge

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/livekit/protocol/auth"
	"github.com/livekit/protocol/livekit"
	"github.com/livekit/psrpc"
	lksdk "github.com/livekit/server-sdk-go/v2"
	"github.com/twitchtv/twirp"
)

// ErrLiveKitUnavailable is returned, wrapped with the cause, when LiveKit
// cannot be reached or fails. It maps to HTTP 503.
var ErrLiveKitUnavailable = psrpc.NewErrorf(psrpc.Unavailable, "LiveKit is unavailable")

// RoomClient is the part of LiveKit's RoomService that the bridge uses.
// *lksdk.RoomServiceClient implements it; tests use bridgetest.Rooms.
type RoomClient interface {
	CreateRoom(ctx context.Context, req *livekit.CreateRoomRequest) (*livekit.Room, error)
	DeleteRoom(ctx context.Context, req *livekit.DeleteRoomRequest) (*livekit.DeleteRoomResponse, error)
	ListRooms(ctx context.Context, req *livekit.ListRoomsRequest) (*livekit.ListRoomsResponse, error)
	SendData(ctx context.Context, req *livekit.SendDataRequest) (*livekit.SendDataResponse, error)
}

var _ RoomClient = (*lksdk.RoomServiceClient)(nil)

// TicketTTL is how long the LiveKit access tokens the sidecar hands out
// stay valid (join, prepared and listening tickets, and the tokens of move
// instructions): long enough to connect, short enough that a ticket kept
// for later is soon worthless. A connection made with one outlives it:
// LiveKit gives a connected client tokens of its own (valid 10 minutes,
// renewed every 5), and the sidecar removes any connection to a room its
// participant is not placed in (breakouts), whatever token it came with.
const TicketTTL = 2 * time.Minute

// Keys are the LiveKit API key and secret the bridge signs tokens with.
type Keys struct {
	APIKey    string
	APISecret string
}

// Bridge admits participants to LiveKit rooms. It is safe for concurrent use.
type Bridge struct {
	rooms     RoomClient
	keys      Keys
	publicURL string
}

// New returns a Bridge that manages rooms through rooms, signs tokens with
// keys and tells clients to connect to publicURL.
func New(rooms RoomClient, keys Keys, publicURL string) *Bridge {
	return &Bridge{rooms: rooms, keys: keys, publicURL: publicURL}
}

// RoomMetadata is the JSON metadata of every LiveKit room the bridge
// creates, so LiveKit events can be traced back to meetings.
type RoomMetadata struct {
	AppID           string `json:"app_id"`
	MeetingID       string `json:"meeting_id"`
	ParentMeetingID string `json:"parent_meeting_id,omitempty"`
}

// Admission is one participant to let into one room.
type Admission struct {
	Room     string // LiveKit room name (the meeting id)
	RoomMeta RoomMetadata
	Identity string // LiveKit identity (the participant id)
	Name     string
	Metadata string // LiveKit participant metadata
	// Attributes are LiveKit participant attributes; nil sets none.
	Attributes map[string]string
	// Grant holds the participant's permissions in the room; its Room must
	// equal Room. The caller derives it from the preset.
	Grant *auth.VideoGrant
}

// Ticket is what a client needs to connect to its LiveKit room.
type Ticket struct {
	URL      string // LiveKit URL for clients
	Token    string // LiveKit access token
	Room     string
	Identity string
}

// Admit makes sure the room exists and mints the participant's access
// token, valid for TicketTTL.
func (b *Bridge) Admit(ctx context.Context, a Admission) (Ticket, error) {
	if a.Grant == nil || a.Grant.Room != a.Room || !a.Grant.RoomJoin {
		return Ticket{}, fmt.Errorf("bridge: admit %s: grant must join room %q", a.Identity, a.Room)
	}
	if err := b.EnsureRoom(ctx, a.Room, a.RoomMeta); err != nil {
		return Ticket{}, err
	}
	at := auth.NewAccessToken(b.keys.APIKey, b.keys.APISecret).
		SetIdentity(a.Identity).
		SetName(a.Name).
		SetMetadata(a.Metadata).
		SetVideoGrant(a.Grant).
		SetValidFor(TicketTTL)
	if len(a.Attributes) > 0 {
		at.SetAttributes(a.Attributes)
	}
	tok, err := at.ToJWT()
	if err != nil {
		return Ticket{}, fmt.Errorf("bridge: sign token for %s: %w", a.Identity, err)
	}
	return Ticket{URL: b.publicURL, Token: tok, Room: a.Room, Identity: a.Identity}, nil
}

// EnsureRoom creates the LiveKit room unless it exists (LiveKit's
// CreateRoom returns an existing room unchanged).
func (b *Bridge) EnsureRoom(ctx context.Context, room string, meta RoomMetadata) error {
	md, err := json.Marshal(meta)
	if err != nil {
		return fmt.Errorf("bridge: room metadata: %w", err)
	}
	_, err = b.rooms.CreateRoom(ctx, &livekit.CreateRoomRequest{Name: room, Metadata: string(md)})
	if err != nil {
		return fromLiveKit("create room "+room, err)
	}
	return nil
}

// FromLiveKit turns an error of LiveKit's RoomService into ours, so callers
// never see transport details: a missing room or participant is NotFound,
// anything else means LiveKit is unavailable (ErrLiveKitUnavailable, 503).
// op names the operation, after its package ("sessions: mute ..."). It is
// the one classification of RoomService errors, for the packages that call
// RoomService through interfaces of their own too.
func FromLiveKit(op string, err error) error {
	if IsNotFound(err) {
		return fmt.Errorf("%s: %w", op, psrpc.NewError(psrpc.NotFound, err))
	}
	return fmt.Errorf("%s: %w: %v", op, ErrLiveKitUnavailable, err)
}

// IsNotFound reports whether err is LiveKit's answer that a room or
// participant does not exist, as it is or as FromLiveKit made it.
func IsNotFound(err error) bool {
	var terr twirp.Error
	return errors.As(err, &terr) && terr.Code() == twirp.NotFound
}

func fromLiveKit(op string, err error) error { return FromLiveKit("bridge: "+op, err) }
