package bridge

import (
	"context"
	"errors"

	"github.com/livekit/protocol/livekit"
	"github.com/livekit/psrpc"
)

// DeleteRoom closes a LiveKit room, disconnecting whoever is still in it. A
// room that does not exist is not an error.
func (b *Bridge) DeleteRoom(ctx context.Context, room string) error {
	_, err := b.rooms.DeleteRoom(ctx, &livekit.DeleteRoomRequest{Room: room})
	if err != nil {
		err = fromLiveKit("delete room "+room, err)
		if errors.Is(err, psrpc.NotFound) {
			return nil
		}
	}
	return err
}

// SendData sends a reliable data packet on a topic to everyone in a room, or
// to the given identities only. A room that does not exist (nobody is in
// it) is not an error: there is nobody to tell. It asks whether the room
// exists first: the open-source LiveKit server answers SendData to a
// missing room only after 3 s, with "no response from servers" (not
// NotFound), which would hold up every event sent after it.
func (b *Bridge) SendData(ctx context.Context, room, topic string, payload []byte, identities ...string) error {
	res, err := b.rooms.ListRooms(ctx, &livekit.ListRoomsRequest{Names: []string{room}})
	if err != nil {
		return fromLiveKit("look up room "+room, err)
	}
	if len(res.GetRooms()) == 0 {
		return nil
	}
	_, err = b.rooms.SendData(ctx, &livekit.SendDataRequest{
		Room: room, Data: payload, Kind: livekit.DataPacket_RELIABLE, Topic: &topic,
		DestinationIdentities: identities,
	})
	if err != nil {
		err = fromLiveKit("send data to "+room, err)
		if errors.Is(err, psrpc.NotFound) {
			return nil
		}
	}
	return err
}
