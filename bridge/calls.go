package bridge

import (
	"context"
	"errors"
	"time"

	"github.com/livekit/protocol/livekit"
	"github.com/twitchtv/twirp"
)

// participant returns identity's info in room, or nil if it is not there.
func (m *Mover) participant(ctx context.Context, room, identity string) (*livekit.ParticipantInfo, error) {
	return m.lookup(ctx, room, identity, time.Time{})
}

// lookup is participant, asking again until deadline (again).
func (m *Mover) lookup(ctx context.Context, room, identity string, deadline time.Time) (*livekit.ParticipantInfo, error) {
	var p *livekit.ParticipantInfo
	err := m.again(ctx, deadline, func(ctx context.Context) error {
		var err error
		p, err = m.lookups.get(ctx, room, identity)
		return err
	})
	if err != nil {
		return nil, fromLiveKit("get participant "+identity+" in "+room, err)
	}
	if p == nil || p.State == livekit.ParticipantInfo_DISCONNECTED {
		return nil, nil
	}
	return p, nil
}

// callTimeout bounds one RoomService call. It stays under lksdk's 5 s
// failover threshold, above which lksdk starts a goroutine per call that
// lives as long as the caller's context.
const callTimeout = 4 * time.Second

func callContext(ctx context.Context) (context.Context, context.CancelFunc) {
	return context.WithTimeout(ctx, callTimeout)
}

// retryWait is the pause before a RoomService call that failed in a way
// that may pass is made again (again); it doubles, up to a second.
const retryWait = 100 * time.Millisecond

// again makes a RoomService call, f, each time under its own call timeout,
// until it succeeds, fails in a way that does not pass (transient), or the
// next try would start after deadline (a zero deadline: one try). It
// returns f's last error. It is for calls that have the same effect made
// twice: an overloaded SFU may have done what it did not answer in time.
func (m *Mover) again(ctx context.Context, deadline time.Time, f func(ctx context.Context) error) error {
	wait := retryWait
	for {
		cctx, cancel := callContext(ctx)
		err := f(cctx)
		cancel()
		if err == nil || !transient(err) || ctx.Err() != nil || time.Until(deadline) < wait {
			return err
		}
		m.log.Info("LiveKit call failed; trying again", "in", wait, "err", err)
		select {
		case <-time.After(wait):
		case <-ctx.Done():
			return err
		case <-m.stopCh:
			return err
		}
		wait = min(2*wait, time.Second)
	}
}

// transient reports whether a failed RoomService call may succeed when
// made again: LiveKit did not answer, or not in time, or answered that it
// could not. Under load the SFU answers "no response from servers" (twirp
// unavailable) after 3 s, and a call can outlast callTimeout (measured in
// the start of 100 participants into 10 rooms, docs/livekit-notes.md §4).
func transient(err error) bool {
	var terr twirp.Error
	if !errors.As(err, &terr) {
		return true // no twirp answer at all
	}
	switch terr.Code() {
	case twirp.Unavailable, twirp.DeadlineExceeded, twirp.Canceled, twirp.Internal, twirp.Unknown,
		twirp.ResourceExhausted, twirp.Aborted:
		return true
	}
	return false
}
