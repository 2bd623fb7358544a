package breakouts

import (
	"context"
	"errors"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/livekit/psrpc"

	"rtk-sidecar/apierr"
	"rtk-sidecar/eventstream"
	"rtk-sidecar/protocol"
)

// Limits of a help request: one per participant every helpInterval, and a
// short message.
const (
	helpInterval   = 10 * time.Second
	maxHelpMessage = 500
)

// AskForHelp tells the family's hosts (the participants whose effective
// preset has can_alter_connected_meetings, the caller aside) that the
// caller asks for help, from the room it is in: a helpRequested event to
// each host, over its event streams and over LiveKit data addressed to it
// alone in its room (docs/protocol.md §3). A participant asks at most once
// every 10 s (ResourceExhausted); a family without a host is
// FailedPrecondition. When LiveKit fails for some hosts it tries the others
// and returns the event with the error.
func (s *Service) AskForHelp(ctx context.Context, appID, parentID string, c Caller, message string) (protocol.HelpRequested, error) {
	if c.Admin {
		return protocol.HelpRequested{}, apierr.Invalid("caller", "asking for help is for participants")
	}
	message = strings.TrimSpace(message)
	if len(message) > maxHelpMessage {
		return protocol.HelpRequested{}, apierr.Invalid("message", "is longer than %d bytes", maxHelpMessage)
	}
	msg := protocol.HelpRequested{ParticipantID: c.ParticipantID, Message: message}
	hosts := map[string][]string{} // room -> hosts in it
	var ids []string
	err := s.read(ctx, appID, parentID, c, func(f *family) error {
		me, _ := f.person(c.ParticipantID)
		msg.DisplayName, msg.MeetingID = me.Name, f.roomOf(me.ID)
		for _, p := range f.people {
			if p.ID == c.ParticipantID {
				continue
			}
			perms, err := f.permissions(ctx, p)
			if err != nil {
				return err
			}
			if perms.ConnectedMeetings.CanAlterConnectedMeetings {
				room := f.roomOf(p.ID)
				hosts[room] = append(hosts[room], p.ID)
				ids = append(ids, p.ID)
			}
		}
		if len(ids) == 0 {
			return psrpc.NewErrorf(psrpc.FailedPrecondition, "meeting %s has no host to ask for help", f.parent.ID)
		}
		return nil
	})
	if err != nil {
		return protocol.HelpRequested{}, err
	}
	if !s.help.Allow(c.ParticipantID) {
		return protocol.HelpRequested{}, psrpc.NewErrorf(psrpc.ResourceExhausted,
			"help was asked for less than %d s ago", int(helpInterval.Seconds()))
	}
	msg.ID, msg.SentAt = uuid.NewString(), s.now().UTC()
	packet := encodeEvent(protocol.EventHelpRequested, msg)
	if st := s.events.streams; st != nil {
		for _, id := range ids {
			st.Send(id, eventstream.Message{Event: protocol.EventsTopic, Data: packet})
		}
	}
	var errs []error
	for room, to := range hosts {
		if err := s.rooms.SendData(ctx, room, protocol.EventsTopic, packet, to...); err != nil {
			errs = append(errs, err)
		}
	}
	return msg, errors.Join(errs...)
}
