package sessions

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/livekit/protocol/livekit"

	"rtk-sidecar/bridge"
	"rtk-sidecar/store"
)

// Run reconciles at once, then every ReconcileInterval, until ctx ends
// (after a failure, such as LiveKit still starting, it tries again sooner:
// after 1s, 2s, 4s, ... up to the interval). It also forgets applied
// LiveKit event ids older than EventRetention. Failures are logged, not
// returned: Run returns nil when ctx ends.
func (t *Tracker) Run(ctx context.Context) error {
	t.log.Info("session reconciliation started", "interval", t.opts.ReconcileInterval)
	timer := time.NewTimer(0)
	defer timer.Stop()
	retry := time.Second // after a failure, try again sooner: LiveKit may be starting
	for {
		select {
		case <-ctx.Done():
			t.log.Info("session reconciliation stopped")
			return nil
		case <-timer.C:
		}
		next := t.opts.ReconcileInterval
		if err := t.Reconcile(ctx); err != nil && ctx.Err() == nil {
			t.log.Warn("session reconciliation failed", "err", err, "retry_in", min(retry, next))
			next, retry = min(retry, next), min(2*retry, next)
		} else {
			retry = time.Second
		}
		if n, err := t.st.PruneLiveKitEvents(ctx, t.opts.Now().Add(-t.opts.EventRetention)); err != nil && ctx.Err() == nil {
			t.log.Warn("forgetting old LiveKit event ids failed", "err", err)
		} else if n > 0 {
			t.log.Debug("forgot old LiveKit event ids", "count", n)
		}
		timer.Reset(next)
	}
}

// Reconcile brings the store in line with LiveKit after missed webhooks:
// it lists LiveKit's rooms and their participants, opens the sessions and
// stints LiveKit shows but the store lacks, and closes those the store has
// but LiveKit no longer shows, emitting the webhooks that were missed,
// marked "reconciled": true (their times are the reconciliation's, except
// a join's, which is LiveKit's). Stints and sessions that began after
// LiveKit was listed are left alone: the intake is ahead of the listing.
func (t *Tracker) Reconcile(ctx context.Context) error {
	observed := t.opts.Now().UTC()
	res, err := t.rooms.ListRooms(ctx, &livekit.ListRoomsRequest{})
	if err != nil {
		return fmt.Errorf("sessions: reconcile: list rooms: %w", err)
	}
	rooms := map[string]bool{} // room names LiveKit has
	var errs []error
	t.hiddenMu.Lock()
	defer t.hiddenMu.Unlock()
	wasHidden, hidden := t.hidden, map[string]bool{}
	defer func() { t.hidden = hidden }()
	for _, room := range res.GetRooms() {
		ps, err := t.rooms.ListParticipants(ctx, &livekit.ListParticipantsRequest{Room: room.GetName()})
		if bridge.IsNotFound(err) {
			continue // gone since the listing: ended below
		}
		if err != nil {
			errs = append(errs, fmt.Errorf("list participants of %s: %w", room.GetName(), err))
			rooms[room.GetName()] = true // unknown: leave its session alone
			continue
		}
		rooms[room.GetName()] = true
		for _, p := range ps.GetParticipants() {
			if Hidden(p) && p.GetSid() != "" && p.GetState() != livekit.ParticipantInfo_DISCONNECTED {
				hidden[p.GetSid()] = true
			}
		}
		err = t.st.InTx(ctx, func(q store.Queries) error {
			return t.newTx(ctx, q, t.opts.Now().UTC(), true).observeRoom(room, ps.GetParticipants(), observed, wasHidden)
		})
		if err != nil {
			errs = append(errs, fmt.Errorf("room %s: %w", room.GetName(), err))
		}
	}

	live, err := t.st.ListLiveSessions(ctx)
	if err != nil {
		errs = append(errs, fmt.Errorf("list live sessions: %w", err))
	}
	for _, s := range live {
		if rooms[s.MeetingID] || !s.CreatedAt.Before(observed) {
			continue
		}
		err := t.st.InTx(ctx, func(q store.Queries) error {
			x := t.newTx(ctx, q, t.opts.Now().UTC(), true)
			cur, err := q.GetSession(ctx, s.AppID, s.ID)
			if err != nil || cur.Status != store.SessionLive {
				return err
			}
			m, err := x.meeting(s.AppID, s.MeetingID)
			if err != nil {
				return err
			}
			reason := cur.EndReason
			if reason == "" {
				reason = "ALL_PARTICIPANTS_LEFT"
			}
			return x.endSession(&cur, m, reason)
		})
		if err != nil {
			errs = append(errs, fmt.Errorf("end session %s: %w", s.ID, err))
		}
	}
	t.outbox.Wake()
	if len(errs) > 0 {
		return fmt.Errorf("sessions: reconcile: %w", errors.Join(errs...))
	}
	return nil
}

// observeRoom reconciles one LiveKit room with its participants as listed
// at observed. A visible connection that wasHidden (at the last
// reconciliation) and is not in the session yet is not joined now: it was
// revealed since (a prepared connection, docs/protocol.md §5), and LiveKit's
// join time is its hidden join. The reveal records its join; should that
// fail, the next reconciliation does, with LiveKit's time.
func (x *tx) observeRoom(room *livekit.Room, participants []*livekit.ParticipantInfo, observed time.Time, wasHidden map[string]bool) error {
	m, ok, err := x.meetingOfRoom(room)
	if err != nil || !ok {
		return err
	}
	// Joins are recorded in the order they happened.
	participants = slices.Clone(participants)
	slices.SortStableFunc(participants, func(a, b *livekit.ParticipantInfo) int {
		return joinTime(a, x.now).Compare(joinTime(b, x.now))
	})
	// A room with nobody visible in it opens no session (see the package
	// doc); it may still end the stints of one.
	first := slices.IndexFunc(participants, func(p *livekit.ParticipantInfo) bool { return inRoom(p) && !wasHidden[p.GetSid()] })
	start := x.now
	if first >= 0 {
		start = joinTime(participants[first], x.now)
	}
	s, ok, err := x.sessionOf(m, room.GetSid(), start, first >= 0)
	if err != nil || !ok || s.Status != store.SessionLive {
		return err
	}
	present := map[string]bool{}
	for _, p := range participants {
		if !inRoom(p) {
			continue
		}
		present[p.GetIdentity()] = true
		row, err := x.q.GetSessionParticipant(x.ctx, s.ID, p.GetIdentity())
		switch {
		case errors.Is(err, store.ErrNotFound):
		case err != nil:
			return err
		case row.Live() && row.PeerID == p.GetSid():
			continue
		case !row.Live() && row.LastLeftPeerID == p.GetSid():
			continue // its leave was applied after the listing
		}
		if wasHidden[p.GetSid()] {
			continue // revealed since the last reconciliation: the reveal records it
		}
		if err := x.join(&s, m, p); err != nil {
			return err
		}
	}
	live, _, err := x.q.ListSessionParticipants(x.ctx, s.ID, store.SessionParticipantFilter{LiveOnly: true})
	if err != nil {
		return err
	}
	for i := range live {
		if present[live[i].ParticipantID] || !live[i].UpdatedAt.Before(observed) {
			continue
		}
		if err := x.closeStint(&s, m, &live[i], LeaveLeft); err != nil {
			return err
		}
	}
	return nil
}
