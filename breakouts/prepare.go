package breakouts

import (
	"context"

	"github.com/livekit/protocol/auth"
	"github.com/livekit/psrpc"

	"rtk-sidecar/bridge"
	"rtk-sidecar/presets"
	"rtk-sidecar/protocol"
	"rtk-sidecar/store"
)

// Prepare gives a participant a prepared connection to the breakout room it
// is assigned to (docs/protocol.md §5): a LiveKit ticket for a second
// connection to that room that is hidden (not listed to the room, no session
// participant), subscribes to nothing, sends no data, and carries
// protocol.PreparedAttribute. It may publish what the participant's preset
// lets it publish in the room, so that the client can publish its tracks
// ahead of time, muted and fed nothing, and the start only unmutes them; a
// client must send no media on it before it is revealed (the room would
// hear it without it being listed). When the participant is moved there (the
// start), the Mover reveals that connection with the participant's rights
// instead of making the client join: the client's handshakes with the SFU
// are done before the start.
//
// The family must not be running or closing (FailedPrecondition): a prepared
// connection still receives the room's data packets, and before the start
// nobody is in the room. The participant must be assigned to a breakout
// room it is not in (FailedPrecondition otherwise). The ticket's identity is
// the participant id: the participant's connection that joins the room
// later replaces it.
func (s *Service) Prepare(ctx context.Context, appID, parentID string, c Caller) (bridge.Ticket, error) {
	if c.Admin {
		return bridge.Ticket{}, invalid("caller", "preparing a connection is for participants: an app has no media of its own")
	}
	var who store.Participant
	var room string
	var rights *auth.VideoGrant
	err := s.read(ctx, appID, parentID, c, func(f *family) error {
		if f.rec.Status == store.FamilyRunning || f.rec.Status == store.FamilyClosing {
			return psrpc.NewErrorf(psrpc.FailedPrecondition, "the breakout rooms of meeting %s are running: connections are prepared before the start", f.parent.ID)
		}
		who, _ = f.person(c.ParticipantID)
		room = f.placement(who.ID).AssignedID
		switch {
		case f.roomIndex(room) < 0:
			return psrpc.NewErrorf(psrpc.FailedPrecondition, "participant %s is not assigned to a breakout room of meeting %s", who.ID, f.parent.ID)
		case f.roomOf(who.ID) == room:
			return psrpc.NewErrorf(psrpc.FailedPrecondition, "participant %s is in its breakout room already", who.ID)
		}
		perms, err := f.permissions(ctx, who)
		if err != nil {
			return err
		}
		rights = presets.Grants(perms, room)
		return nil
	})
	if err != nil {
		return bridge.Ticket{}, err
	}
	grant := hiddenGrant(room, false)
	grant.SetCanPublish(rights.GetCanPublish())
	grant.CanPublishSources = rights.CanPublishSources
	return s.rooms.Admit(ctx, bridge.Admission{Room: room,
		RoomMeta: roomMetadata(appID, parentID, room),
		Identity: who.ID, Name: who.Name, Grant: grant,
		Attributes: map[string]string{protocol.PreparedAttribute: "1"}})
}
