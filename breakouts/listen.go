package breakouts

import (
	"context"

	"github.com/livekit/protocol/auth"
	"github.com/livekit/psrpc"

	"rtk-sidecar/apierr"
	"rtk-sidecar/bridge"
	"rtk-sidecar/store"
)

// ListenerPrefix starts the LiveKit identity of a listening connection
// (ListenIn): it never clashes with the participant's own connection.
const ListenerPrefix = "listen-"

// hiddenGrant joins room hidden, publishing nothing, neither media nor
// data; subscribe says whether it hears the room.
func hiddenGrant(room string, subscribe bool) *auth.VideoGrant {
	g := &auth.VideoGrant{RoomJoin: true, Room: room, Hidden: true}
	g.SetCanSubscribe(subscribe)
	g.SetCanPublish(false)
	g.SetCanPublishData(false)
	return g
}

// ListenIn lets a participant who may alter the family (a host) hear a room
// of the family without leaving its own: it returns a LiveKit ticket for a
// second connection to the room of meetingID that is hidden (not listed to
// the room, not a session participant, in no webhook), subscribes to
// everything, and publishes nothing, neither media nor data. Its identity
// is ListenerPrefix + the participant id. The family must be running or
// closing (FailedPrecondition otherwise), and meetingID one of its rooms,
// the parent included.
func (s *Service) ListenIn(ctx context.Context, appID, parentID string, c Caller, meetingID string) (bridge.Ticket, error) {
	if c.Admin {
		return bridge.Ticket{}, apierr.Invalid("caller", "listening in is for participants: an app has no media of its own")
	}
	var who store.Participant
	err := s.read(ctx, appID, parentID, c, func(f *family) error {
		if err := mayAlter(ctx, f, c); err != nil {
			return err
		}
		if meetingID != f.parent.ID && f.roomIndex(meetingID) < 0 {
			return apierr.Invalid("meetingId", "%q is not a room of meeting %s", meetingID, f.parent.ID)
		}
		if f.rec.Status != store.FamilyRunning && f.rec.Status != store.FamilyClosing {
			return psrpc.NewErrorf(psrpc.FailedPrecondition, "the breakout rooms of meeting %s are not running", f.parent.ID)
		}
		who, _ = f.person(c.ParticipantID)
		return nil
	})
	if err != nil {
		return bridge.Ticket{}, err
	}
	return s.rooms.Admit(ctx, bridge.Admission{Room: meetingID, RoomMeta: roomMetadata(appID, parentID, meetingID),
		Identity: ListenerPrefix + who.ID, Name: who.Name, Grant: hiddenGrant(meetingID, true)})
}
