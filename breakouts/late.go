package breakouts

import (
	"cmp"
	"context"
	"errors"
	"sync"
	"time"

	"github.com/livekit/protocol/livekit"

	"rtk-sidecar/bridge"
	"rtk-sidecar/protocol"
	"rtk-sidecar/store"
)

// lateWindow is how long after a moveFailed an arrival in the move's
// destination is still announced as that move's meetingChanged.
const lateWindow = 10 * time.Minute

// failedMove is a move reported as failed whose participant may still
// arrive: a slow client, or one that rejoins later and lands in its placed
// room through the join endpoint.
type failedMove struct {
	parent  string
	arrival protocol.Arrival
	at      time.Time
}

// lateArrivals remembers, per participant, the last move that failed, until
// the participant arrives in its destination, a newer move supersedes it,
// or lateWindow passes.
type lateArrivals struct {
	mu sync.Mutex
	m  map[string]failedMove
}

func (l *lateArrivals) put(participantID string, f failedMove) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.m == nil {
		l.m = map[string]failedMove{}
	}
	for id, old := range l.m {
		if f.at.Sub(old.at) > lateWindow {
			delete(l.m, id)
		}
	}
	l.m[participantID] = f
}

func (l *lateArrivals) drop(participantID string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	delete(l.m, participantID)
}

// take removes and returns the failed move of participantID if room is its
// destination and it failed within lateWindow of now.
func (l *lateArrivals) take(participantID, room string, now time.Time) (failedMove, bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	f, ok := l.m[participantID]
	if !ok || f.arrival.Meeting.ID != room {
		return failedMove{}, false
	}
	delete(l.m, participantID)
	return f, now.Sub(f.at) <= lateWindow
}

// HandleLiveKitEvent follows LiveKit's webhooks (applied once each, in the
// sessions tracker's order). A participant that joins the destination of a
// move that was reported failed (moveFailed) has arrived after all: the
// family gets the meetingChanged of that move, with its moveId, so that
// clients and hosts can correct what they showed. A prepared connection
// that joins a room where it may not stay (mayKeepPrepared: a ticket used
// after its time) is dropped, and any other connection of a participant to
// a room it is not placed in is removed (enforce.go), in the background.
// Other events are ignored.
func (s *Service) HandleLiveKitEvent(_ context.Context, ev *livekit.WebhookEvent) {
	if ev.GetEvent() != "participant_joined" || ev.GetParticipant() == nil || ev.GetRoom() == nil {
		return
	}
	if bridge.Prepared(ev.GetParticipant()) {
		s.preparedJoined(ev.GetRoom().GetName(), ev.GetParticipant().GetIdentity())
		return
	}
	s.joined(ev.GetRoom().GetName(), ev.GetParticipant())
	f, ok := s.late.take(ev.GetParticipant().GetIdentity(), ev.GetRoom().GetName(), s.now())
	if !ok {
		return
	}
	s.log.Info("breakouts: a participant arrived after its move was reported failed",
		"participant", f.arrival.ParticipantID, "to", f.arrival.Meeting.ID, "move", f.arrival.MoveID)
	s.events.add(f.parent, nil, func(b *batch) {
		b.arrivals = append(b.arrivals, f.arrival)
	})
}

// preparedJoined drops identity's prepared connection that joined room if it
// may not stay there.
func (s *Service) preparedJoined(room, identity string) {
	s.moves.goOwned(func(ctx context.Context) {
		m, err := s.st.GetMeetingByID(ctx, room)
		if errors.Is(err, store.ErrNotFound) {
			return // not a meeting
		}
		if err != nil {
			if ctx.Err() == nil {
				s.log.Warn("breakouts: look up the room of a prepared connection", "room", room, "err", err)
			}
			return
		}
		s.guardPrepared(ctx, m.AppID, cmp.Or(m.ParentID, m.ID), room, []string{identity})
	})
}
