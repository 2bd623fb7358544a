package bridgetest

import (
	"context"
	"fmt"
	"slices"
	"sort"
	"sync"
	"time"

	"github.com/livekit/protocol/livekit"
	"github.com/twitchtv/twirp"
	"google.golang.org/protobuf/proto"
)

// SFU is an in-memory LiveKit for tests of sessions and moderation: rooms
// with sids, participants with published tracks, and the webhook events
// LiveKit would send (each with a unique id), handed to the OnEvent
// function as they happen, so a test can apply them, reorder them, send
// them twice or drop them (missed webhooks). It implements the RoomService
// calls CreateRoom, ListRooms, DeleteRoom, ListParticipants, GetParticipant,
// RemoveParticipant, MutePublishedTrack, UpdateParticipant and SendData.
// Unknown rooms and participants are twirp NotFound, as in LiveKit; SetErr
// simulates an outage. SFU is safe for concurrent use.
type SFU struct {
	mu      sync.Mutex
	rooms   map[string]*sfuRoom
	seq     int
	err     error
	onEvent func(*livekit.WebhookEvent)
	packets []SFUPacket
}

type sfuRoom struct {
	info         *livekit.Room
	participants map[string]*livekit.ParticipantInfo
}

// SFUPacket is a data packet sent with SendData.
type SFUPacket struct {
	Room       string
	Topic      string
	Data       []byte
	Identities []string // destination identities; empty means everyone
}

// NewSFU returns an SFU without rooms.
func NewSFU() *SFU { return &SFU{rooms: map[string]*sfuRoom{}} }

// OnEvent sets the receiver of the webhook events, called synchronously,
// without locks held, in the order LiveKit would send them.
func (s *SFU) OnEvent(fn func(*livekit.WebhookEvent)) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.onEvent = fn
}

// SetErr sets or clears a simulated outage: every RoomService call fails
// with err.
func (s *SFU) SetErr(err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.err = err
}

func (s *SFU) nextLocked(prefix string) string {
	s.seq++
	return fmt.Sprintf("%s%d", prefix, s.seq)
}

// eventLocked builds a webhook event about room (and participant p, if any).
func (s *SFU) eventLocked(kind string, room *livekit.Room, p *livekit.ParticipantInfo) *livekit.WebhookEvent {
	ev := &livekit.WebhookEvent{Event: kind, Id: s.nextLocked("EV_"), Room: proto.Clone(room).(*livekit.Room),
		CreatedAt: time.Now().Unix()}
	if p != nil {
		ev.Participant = proto.Clone(p).(*livekit.ParticipantInfo)
	}
	return ev
}

func (s *SFU) emit(evs []*livekit.WebhookEvent) {
	s.mu.Lock()
	fn := s.onEvent
	s.mu.Unlock()
	if fn == nil {
		return
	}
	for _, ev := range evs {
		fn(ev)
	}
}

// roomLocked returns room name, creating it (with a room_started event)
// when it does not exist.
func (s *SFU) roomLocked(name, metadata string, evs *[]*livekit.WebhookEvent) *sfuRoom {
	if r, ok := s.rooms[name]; ok {
		return r
	}
	now := time.Now()
	r := &sfuRoom{
		info: &livekit.Room{Sid: s.nextLocked("RM_" + name + "_"), Name: name, Metadata: metadata,
			CreationTime: now.Unix(), CreationTimeMs: now.UnixMilli()},
		participants: map[string]*livekit.ParticipantInfo{},
	}
	s.rooms[name] = r
	*evs = append(*evs, s.eventLocked("room_started", r.info, nil))
	return r
}

// StartRoom creates a room with metadata (room_started) unless it exists,
// and returns a copy of it.
func (s *SFU) StartRoom(name, metadata string) *livekit.Room {
	var evs []*livekit.WebhookEvent
	s.mu.Lock()
	r := s.roomLocked(name, metadata, &evs)
	out := proto.Clone(r.info).(*livekit.Room)
	s.mu.Unlock()
	s.emit(evs)
	return out
}

// Join connects participant p (Identity set; Name, Metadata, Permission,
// Kind as the test likes) to room, starting the room when needed. A
// participant of the same identity already there is replaced, as LiveKit
// does (its participant_left comes after the new participant_joined). It
// returns a copy of the participant as joined: a new Sid, ACTIVE, joined now.
func (s *SFU) Join(room string, p *livekit.ParticipantInfo) *livekit.ParticipantInfo {
	p = proto.Clone(p).(*livekit.ParticipantInfo)
	var evs []*livekit.WebhookEvent
	s.mu.Lock()
	r := s.roomLocked(room, "", &evs)
	now := time.Now()
	p.Sid = s.nextLocked("PA_" + p.Identity + "_")
	p.State = livekit.ParticipantInfo_ACTIVE
	p.JoinedAt, p.JoinedAtMs = now.Unix(), now.UnixMilli()
	old := r.participants[p.Identity]
	r.participants[p.Identity] = p
	r.info.NumParticipants = uint32(len(r.participants))
	evs = append(evs, s.eventLocked("participant_joined", r.info, p))
	if old != nil {
		evs = append(evs, s.eventLocked("participant_left", r.info, old))
	}
	out := proto.Clone(p).(*livekit.ParticipantInfo)
	s.mu.Unlock()
	s.emit(evs)
	return out
}

// Leave disconnects identity from room (participant_left); unknown ones
// are ignored.
func (s *SFU) Leave(room, identity string) {
	s.mu.Lock()
	ev := s.removeLocked(room, identity)
	s.mu.Unlock()
	if ev != nil {
		s.emit([]*livekit.WebhookEvent{ev})
	}
}

func (s *SFU) removeLocked(room, identity string) *livekit.WebhookEvent {
	r := s.rooms[room]
	if r == nil || r.participants[identity] == nil {
		return nil
	}
	p := r.participants[identity]
	delete(r.participants, identity)
	r.info.NumParticipants = uint32(len(r.participants))
	return s.eventLocked("participant_left", r.info, p)
}

// Finish closes a room as LiveKit does when it empties or is deleted: a
// participant_left for everyone still in it, then room_finished.
func (s *SFU) Finish(room string) {
	s.mu.Lock()
	evs := s.finishLocked(room)
	s.mu.Unlock()
	s.emit(evs)
}

func (s *SFU) finishLocked(room string) []*livekit.WebhookEvent {
	r := s.rooms[room]
	if r == nil {
		return nil
	}
	var evs []*livekit.WebhookEvent
	for _, id := range sortedKeys(r.participants) {
		evs = append(evs, s.removeLocked(room, id))
	}
	delete(s.rooms, room)
	return append(evs, s.eventLocked("room_finished", r.info, nil))
}

// Publish adds a published track of source to a participant
// (track_published) and returns a copy of it.
func (s *SFU) Publish(room, identity string, source livekit.TrackSource) *livekit.TrackInfo {
	s.mu.Lock()
	r := s.rooms[room]
	if r == nil || r.participants[identity] == nil {
		s.mu.Unlock()
		return nil
	}
	p := r.participants[identity]
	kind := livekit.TrackType_VIDEO
	if source == livekit.TrackSource_MICROPHONE || source == livekit.TrackSource_SCREEN_SHARE_AUDIO {
		kind = livekit.TrackType_AUDIO
	}
	tr := &livekit.TrackInfo{Sid: s.nextLocked("TR_"), Type: kind, Source: source}
	p.Tracks = append(p.Tracks, tr)
	ev := s.eventLocked("track_published", r.info, p)
	ev.Track = proto.Clone(tr).(*livekit.TrackInfo)
	out := proto.Clone(tr).(*livekit.TrackInfo)
	s.mu.Unlock()
	s.emit([]*livekit.WebhookEvent{ev})
	return out
}

// Participant returns a copy of identity in room, or nil.
func (s *SFU) Participant(room, identity string) *livekit.ParticipantInfo {
	s.mu.Lock()
	defer s.mu.Unlock()
	if r := s.rooms[room]; r != nil && r.participants[identity] != nil {
		return proto.Clone(r.participants[identity]).(*livekit.ParticipantInfo)
	}
	return nil
}

// Room returns a copy of a room, or nil.
func (s *SFU) Room(name string) *livekit.Room {
	s.mu.Lock()
	defer s.mu.Unlock()
	if r := s.rooms[name]; r != nil {
		return proto.Clone(r.info).(*livekit.Room)
	}
	return nil
}

// Packets returns the data packets sent with SendData.
func (s *SFU) Packets() []SFUPacket {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]SFUPacket(nil), s.packets...)
}

// ---- RoomService ----

func roomNotFound() error { return twirp.NotFoundError("requested room does not exist") }

// CreateRoom creates a room (room_started) or returns the existing one.
func (s *SFU) CreateRoom(_ context.Context, req *livekit.CreateRoomRequest) (*livekit.Room, error) {
	s.mu.Lock()
	if s.err != nil {
		defer s.mu.Unlock()
		return nil, s.err
	}
	var evs []*livekit.WebhookEvent
	r := s.roomLocked(req.Name, req.Metadata, &evs)
	out := proto.Clone(r.info).(*livekit.Room)
	s.mu.Unlock()
	s.emit(evs)
	return out, nil
}

// ListRooms lists the rooms, all or those named, by name.
func (s *SFU) ListRooms(_ context.Context, req *livekit.ListRoomsRequest) (*livekit.ListRoomsResponse, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.err != nil {
		return nil, s.err
	}
	res := &livekit.ListRoomsResponse{}
	for _, name := range sortedKeys(s.rooms) {
		if len(req.GetNames()) == 0 || slices.Contains(req.GetNames(), name) {
			res.Rooms = append(res.Rooms, proto.Clone(s.rooms[name].info).(*livekit.Room))
		}
	}
	return res, nil
}

// DeleteRoom disconnects everyone and closes the room (participant_left
// for each, then room_finished).
func (s *SFU) DeleteRoom(_ context.Context, req *livekit.DeleteRoomRequest) (*livekit.DeleteRoomResponse, error) {
	s.mu.Lock()
	if s.err != nil {
		defer s.mu.Unlock()
		return nil, s.err
	}
	if s.rooms[req.Room] == nil {
		s.mu.Unlock()
		return nil, roomNotFound()
	}
	evs := s.finishLocked(req.Room)
	s.mu.Unlock()
	s.emit(evs)
	return &livekit.DeleteRoomResponse{}, nil
}

// ListParticipants lists a room's participants by identity.
func (s *SFU) ListParticipants(_ context.Context, req *livekit.ListParticipantsRequest) (*livekit.ListParticipantsResponse, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.err != nil {
		return nil, s.err
	}
	r := s.rooms[req.Room]
	if r == nil {
		return nil, roomNotFound()
	}
	res := &livekit.ListParticipantsResponse{}
	for _, id := range sortedKeys(r.participants) {
		res.Participants = append(res.Participants, proto.Clone(r.participants[id]).(*livekit.ParticipantInfo))
	}
	return res, nil
}

func (s *SFU) participantLocked(room, identity string) (*livekit.ParticipantInfo, error) {
	if s.err != nil {
		return nil, s.err
	}
	r := s.rooms[room]
	if r == nil {
		return nil, roomNotFound()
	}
	p := r.participants[identity]
	if p == nil {
		return nil, twirp.NotFoundError("participant does not exist")
	}
	return p, nil
}

// GetParticipant returns a participant.
func (s *SFU) GetParticipant(_ context.Context, req *livekit.RoomParticipantIdentity) (*livekit.ParticipantInfo, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	p, err := s.participantLocked(req.Room, req.Identity)
	if err != nil {
		return nil, err
	}
	return proto.Clone(p).(*livekit.ParticipantInfo), nil
}

// RemoveParticipant disconnects a participant (participant_left).
func (s *SFU) RemoveParticipant(_ context.Context, req *livekit.RoomParticipantIdentity) (*livekit.RemoveParticipantResponse, error) {
	s.mu.Lock()
	if _, err := s.participantLocked(req.Room, req.Identity); err != nil {
		s.mu.Unlock()
		return nil, err
	}
	ev := s.removeLocked(req.Room, req.Identity)
	s.mu.Unlock()
	s.emit([]*livekit.WebhookEvent{ev})
	return &livekit.RemoveParticipantResponse{}, nil
}

// MutePublishedTrack mutes or unmutes a participant's track.
func (s *SFU) MutePublishedTrack(_ context.Context, req *livekit.MuteRoomTrackRequest) (*livekit.MuteRoomTrackResponse, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	p, err := s.participantLocked(req.Room, req.Identity)
	if err != nil {
		return nil, err
	}
	for _, tr := range p.Tracks {
		if tr.Sid == req.TrackSid {
			tr.Muted = req.Muted
			return &livekit.MuteRoomTrackResponse{Track: proto.Clone(tr).(*livekit.TrackInfo)}, nil
		}
	}
	return nil, twirp.NotFoundError("track does not exist")
}

// UpdateParticipant changes a participant's metadata (when not empty),
// name (when not empty) and permission (when set).
func (s *SFU) UpdateParticipant(_ context.Context, req *livekit.UpdateParticipantRequest) (*livekit.ParticipantInfo, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	p, err := s.participantLocked(req.Room, req.Identity)
	if err != nil {
		return nil, err
	}
	if req.Metadata != "" {
		p.Metadata = req.Metadata
	}
	if req.Name != "" {
		p.Name = req.Name
	}
	if req.Permission != nil {
		p.Permission = proto.Clone(req.Permission).(*livekit.ParticipantPermission)
	}
	return proto.Clone(p).(*livekit.ParticipantInfo), nil
}

// SendData records a data packet; an unknown room is twirp NotFound.
func (s *SFU) SendData(_ context.Context, req *livekit.SendDataRequest) (*livekit.SendDataResponse, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.err != nil {
		return nil, s.err
	}
	if s.rooms[req.Room] == nil {
		return nil, roomNotFound()
	}
	s.packets = append(s.packets, SFUPacket{Room: req.Room, Topic: req.GetTopic(),
		Data: append([]byte(nil), req.Data...), Identities: append([]string(nil), req.DestinationIdentities...)})
	return &livekit.SendDataResponse{}, nil
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
