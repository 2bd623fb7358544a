// Package bridgetest provides an in-memory LiveKit RoomService for tests of
// code that uses the bridge: rooms are kept in a map, unknown rooms give
// twirp NotFound as LiveKit does, and Err simulates an outage.
package bridgetest

import (
	"context"
	"sort"
	"sync"

	"github.com/livekit/protocol/livekit"
	"github.com/twitchtv/twirp"
)

// Rooms is an in-memory LiveKit RoomService. It is safe for concurrent use.
type Rooms struct {
	mu      sync.Mutex
	rooms   map[string]*livekit.Room
	packets []Packet
	// Err, when set, is returned by every call (an unreachable LiveKit).
	Err error
}

// NewRooms returns an empty Rooms.
func NewRooms() *Rooms { return &Rooms{rooms: map[string]*livekit.Room{}} }

// SetErr sets or clears the simulated outage.
func (r *Rooms) SetErr(err error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.Err = err
}

// CreateRoom creates the room, or returns the existing one unchanged, as LiveKit does.
func (r *Rooms) CreateRoom(_ context.Context, req *livekit.CreateRoomRequest) (*livekit.Room, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.Err != nil {
		return nil, r.Err
	}
	if room, ok := r.rooms[req.Name]; ok {
		return room, nil
	}
	room := &livekit.Room{Sid: "RM_" + req.Name, Name: req.Name, Metadata: req.Metadata,
		EmptyTimeout: req.EmptyTimeout, DepartureTimeout: req.DepartureTimeout, MaxParticipants: req.MaxParticipants}
	r.rooms[req.Name] = room
	return room, nil
}

// ListRooms lists the rooms, all or those named.
func (r *Rooms) ListRooms(_ context.Context, req *livekit.ListRoomsRequest) (*livekit.ListRoomsResponse, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.Err != nil {
		return nil, r.Err
	}
	var out []*livekit.Room
	for name, room := range r.rooms {
		if len(req.GetNames()) == 0 || contains(req.GetNames(), name) {
			out = append(out, room)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return &livekit.ListRoomsResponse{Rooms: out}, nil
}

// DeleteRoom removes a room; an unknown room is twirp NotFound.
func (r *Rooms) DeleteRoom(_ context.Context, req *livekit.DeleteRoomRequest) (*livekit.DeleteRoomResponse, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.Err != nil {
		return nil, r.Err
	}
	if _, ok := r.rooms[req.Room]; !ok {
		return nil, twirp.NotFoundError("requested room does not exist")
	}
	delete(r.rooms, req.Room)
	return &livekit.DeleteRoomResponse{}, nil
}

// Room returns a room by name, or nil.
func (r *Rooms) Room(name string) *livekit.Room {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.rooms[name]
}

func contains(xs []string, x string) bool {
	for _, v := range xs {
		if v == x {
			return true
		}
	}
	return false
}

// Packet is a data packet sent through Rooms.
type Packet struct {
	Room       string
	Topic      string
	Data       []byte
	Identities []string
}

// SendData records the packet; an unknown room is twirp NotFound.
func (r *Rooms) SendData(_ context.Context, req *livekit.SendDataRequest) (*livekit.SendDataResponse, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.Err != nil {
		return nil, r.Err
	}
	if _, ok := r.rooms[req.Room]; !ok {
		return nil, twirp.NotFoundError("requested room does not exist")
	}
	r.packets = append(r.packets, Packet{Room: req.Room, Topic: req.GetTopic(), Data: req.Data, Identities: req.DestinationIdentities})
	return &livekit.SendDataResponse{}, nil
}

// Packets returns the data packets sent so far.
func (r *Rooms) Packets() []Packet {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]Packet(nil), r.packets...)
}
