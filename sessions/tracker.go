// Package sessions turns the lives of LiveKit rooms into RealtimeKit
// sessions: it applies LiveKit's webhooks (Tracker.HandleLiveKitEvent),
// repairs the record from LiveKit's room and participant lists when webhooks
// were missed (Tracker.Reconcile, Tracker.Run), emits RealtimeKit's meeting
// webhooks through the transactional outbox, and implements the sessions
// and active-session API (Service): reads, kick, kick-all, mute, mute-all.
//
// A meeting's LiveKit room is named by the meeting id. A session opens when
// the first participant that is not hidden joins the room (as RealtimeKit's
// sessions do; a room may exist long before, with hidden participants
// only) and ends when the room finishes; a meeting has at most one LIVE
// session, and a session belongs to one LiveKit room instance (its sid), so
// late events of a finished room never touch the next session. Participants
// hidden by Hidden are not session participants. Every state change and the
// webhook events that describe it are committed in one store transaction.
//
// Moves. Rooms of one family (a parent meeting and its breakout rooms) hand
// participants over make-before-break: LiveKit reports the join in the
// destination before the leave in the source. A join of an identity that is
// in another room of the family is recorded as a move (participantJoined
// with movedFromMeetingId), and so is a leave of an identity that is in
// another room of the family (leave reason MOVED, participantLeft with
// movedToMeetingId). A client that moves break-before-make leaves first:
// a leave of an identity placed in another room of the family within the
// last 30 s is a move there, and its join there, within 30 s of that
// leave, is the move's arrival (movedFromMeetingId).
package sessions

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/google/uuid"
	"github.com/livekit/protocol/livekit"
	"github.com/livekit/psrpc"

	"rtk-sidecar/bridge"
	"rtk-sidecar/store"
	"rtk-sidecar/webhooks"
)

// Leave reasons of session participants (and of participantLeft's
// leaveReason).
const (
	LeaveLeft   = "LEFT"   // left the room
	LeaveKicked = "KICKED" // removed through the API (kick, kick-all)
	LeaveMoved  = "MOVED"  // moved to another room of the meeting family
	LeaveEnded  = "ENDED"  // still in the room when the room finished
)

// Outbox takes the webhook events of state changes, in the changes'
// transactions. *webhooks.Outbox implements it.
type Outbox interface {
	Enqueue(ctx context.Context, q store.Queries, appID string, e webhooks.Event) error
	Wake()
}

// RoomLister is the part of LiveKit's RoomService that reconciliation
// reads. *lksdk.RoomServiceClient implements it.
type RoomLister interface {
	ListRooms(ctx context.Context, req *livekit.ListRoomsRequest) (*livekit.ListRoomsResponse, error)
	ListParticipants(ctx context.Context, req *livekit.ListParticipantsRequest) (*livekit.ListParticipantsResponse, error)
}

var _ Outbox = (*webhooks.Outbox)(nil)

// Subscriber is told about each LiveKit webhook event after the tracker
// has durably applied it. See Tracker.Subscribe for the contract.
type Subscriber func(ctx context.Context, ev *livekit.WebhookEvent)

// TrackerOptions tune a Tracker. Zero values take the defaults.
type TrackerOptions struct {
	// ReconcileInterval is how often Run reconciles with LiveKit (default 30s).
	ReconcileInterval time.Duration
	// EventRetention is how long applied LiveKit event ids are kept for
	// deduplication (default 7 days).
	EventRetention time.Duration
	// Now is the clock (default time.Now).
	Now func() time.Time
	// ChatExport, when set, makes a download link of a session's chat (and
	// its expiry): a session that ends with chat messages then also emits
	// meeting.chatSynced with it.
	ChatExport func(appID, sessionID string, now time.Time) (string, time.Time)
}

// Tracker keeps sessions in step with LiveKit. It is safe for concurrent
// use.
//
// # Subscribers
//
// Other parts of the sidecar learn about LiveKit's events from the tracker
// rather than from LiveKit: Subscribe registers a function that is called
// once for each LiveKit webhook event (any kind: room_*, participant_*,
// track_*, egress_*, ...) after the event was applied and committed, with
// the event as LiveKit sent it. Duplicates (the same event id again) are not
// passed on, and neither are events whose application failed (LiveKit sends
// them again). Subscribers are called one after the other, in registration
// order, on the goroutine of the incoming webhook request, and LiveKit waits
// for the answer: a subscriber must return quickly (hand slow work to its
// own goroutine, which must not use ctx: it ends with the request), must not
// modify the event, and must not call back into the tracker. A panic in a
// subscriber is recovered and logged. Delivery to subscribers is at most
// once: a crash between the commit and the call loses the call, so a
// subscriber that needs certainty reconciles its own state too.
type Tracker struct {
	st     store.Store
	rooms  RoomLister
	outbox Outbox
	log    *slog.Logger
	opts   TrackerOptions

	mu   sync.RWMutex
	subs []Subscriber

	// hidden are the connections (sids) the last reconciliation found
	// hidden; only Reconcile uses it.
	hiddenMu sync.Mutex
	hidden   map[string]bool
}

// NewTracker returns a Tracker over st that reads LiveKit through rooms and
// writes webhook events to outbox. It starts nothing: call Run for the
// reconciliation loop.
func NewTracker(st store.Store, rooms RoomLister, outbox Outbox, log *slog.Logger, opts TrackerOptions) *Tracker {
	if opts.ReconcileInterval <= 0 {
		opts.ReconcileInterval = 30 * time.Second
	}
	if opts.EventRetention <= 0 {
		opts.EventRetention = 7 * 24 * time.Hour
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	return &Tracker{st: st, rooms: rooms, outbox: outbox, log: log, opts: opts}
}

// Subscribe registers fn for every LiveKit event applied from now on. See
// the Tracker documentation for the contract.
func (t *Tracker) Subscribe(fn Subscriber) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.subs = append(t.subs, fn)
}

func (t *Tracker) notify(ctx context.Context, ev *livekit.WebhookEvent) {
	t.mu.RLock()
	subs := t.subs
	t.mu.RUnlock()
	for _, fn := range subs {
		func() {
			defer func() {
				if v := recover(); v != nil {
					t.log.Error("LiveKit event subscriber panicked", "event", ev.GetEvent(), "id", ev.GetId(), "panic", v)
				}
			}()
			fn(ctx, ev)
		}()
	}
}

// errDuplicate aborts the transaction of an event applied before.
var errDuplicate = errors.New("sessions: LiveKit event applied before")

// HandleLiveKitEvent applies a verified LiveKit webhook event: once per
// event id, whatever the order events arrive in. Events of rooms that are not
// meetings are recorded and otherwise ignored. After the commit it wakes the
// outbox and calls the subscribers. An error means nothing was applied:
// LiveKit should send the event again.
func (t *Tracker) HandleLiveKitEvent(ctx context.Context, ev *livekit.WebhookEvent) error {
	if ev.GetId() == "" {
		return psrpc.NewErrorf(psrpc.InvalidArgument, "LiveKit event %q has no id", ev.GetEvent())
	}
	now := t.opts.Now().UTC()
	err := t.st.InTx(ctx, func(q store.Queries) error {
		err := q.MarkLiveKitEvent(ctx, ev.GetId(), ev.GetEvent(), ev.GetRoom().GetName(), now)
		if errors.Is(err, store.ErrConflict) {
			return errDuplicate
		}
		if err != nil {
			return err
		}
		return t.newTx(ctx, q, now, false).apply(ev)
	})
	if errors.Is(err, errDuplicate) {
		t.log.Debug("LiveKit event seen before", "event", ev.GetEvent(), "id", ev.GetId())
		return nil
	}
	if err != nil {
		return fmt.Errorf("sessions: apply LiveKit %s %s: %w", ev.GetEvent(), ev.GetId(), err)
	}
	t.outbox.Wake()
	t.notify(ctx, ev)
	return nil
}

// tx is one transaction's view: the queries, the time of the change, and
// caches of what it read.
type tx struct {
	t          *Tracker
	ctx        context.Context
	q          store.Queries
	now        time.Time
	reconciled bool // the changes are inferred by reconciliation: mark the events
	apps       map[string]store.App
	meetings   map[string]store.Meeting
}

func (t *Tracker) newTx(ctx context.Context, q store.Queries, now time.Time, reconciled bool) *tx {
	return &tx{t: t, ctx: ctx, q: q, now: now, reconciled: reconciled,
		apps: map[string]store.App{}, meetings: map[string]store.Meeting{}}
}

// apply applies one LiveKit event.
func (x *tx) apply(ev *livekit.WebhookEvent) error {
	m, ok, err := x.meetingOfRoom(ev.GetRoom())
	if err != nil || !ok {
		return err
	}
	room := ev.GetRoom()
	switch ev.GetEvent() {
	case webhookRoomStarted:
		// A room is no session until someone is in it: rooms are created
		// ahead of their participants (a breakout room before its start,
		// or for prepared connections, which are hidden).
		return nil
	case webhookRoomFinished:
		s, ok, err := x.sessionOf(m, room.GetSid(), time.Time{}, false)
		if err != nil || !ok || s.Status != store.SessionLive {
			return err
		}
		reason := s.EndReason
		if reason == "" {
			reason = webhooks.ReasonAllParticipantsLeft
		}
		return x.endSession(&s, m, reason)
	case webhookParticipantJoined:
		p := ev.GetParticipant()
		if Hidden(p) {
			return nil
		}
		s, ok, err := x.sessionOf(m, room.GetSid(), joinTime(p, x.now), true)
		if err != nil || !ok || s.Status != store.SessionLive {
			return err // a late join into a room that has finished
		}
		return x.join(&s, m, p)
	case webhookParticipantLeft, webhookParticipantConnectionAborted:
		p := ev.GetParticipant()
		if Hidden(p) {
			return nil
		}
		s, ok, err := x.sessionOf(m, room.GetSid(), joinTime(p, x.now), true)
		if err != nil || !ok || s.Status != store.SessionLive {
			return err
		}
		return x.leave(&s, m, p)
	}
	return nil
}

// LiveKit webhook event names.
const (
	webhookRoomStarted                  = "room_started"
	webhookRoomFinished                 = "room_finished"
	webhookParticipantJoined            = "participant_joined"
	webhookParticipantLeft              = "participant_left"
	webhookParticipantConnectionAborted = "participant_connection_aborted"
)

// joinTime is when a LiveKit participant connected, by LiveKit's clock, or def.
func joinTime(p *livekit.ParticipantInfo, def time.Time) time.Time {
	switch {
	case p.GetJoinedAtMs() > 0:
		return notAfter(time.UnixMilli(p.GetJoinedAtMs()).UTC(), def)
	case p.GetJoinedAt() > 0:
		return notAfter(time.Unix(p.GetJoinedAt(), 0).UTC(), def)
	}
	return def
}

// notAfter returns t, or limit when t is later (clock skew).
func notAfter(t, limit time.Time) time.Time {
	if t.After(limit) {
		return limit
	}
	return t
}

// meetingOfRoom returns the meeting a LiveKit room belongs to: the room is
// named by the meeting id, and its metadata (bridge.RoomMetadata) names the
// app. ok is false for rooms that are not meetings.
func (x *tx) meetingOfRoom(r *livekit.Room) (store.Meeting, bool, error) {
	if r.GetName() == "" {
		return store.Meeting{}, false, nil
	}
	var md bridge.RoomMetadata
	_ = json.Unmarshal([]byte(r.GetMetadata()), &md) // absent or foreign metadata: look the id up
	var m store.Meeting
	var err error
	if md.AppID != "" {
		m, err = x.q.GetMeeting(x.ctx, md.AppID, r.GetName())
	} else {
		m, err = x.q.GetMeetingByID(x.ctx, r.GetName())
	}
	if errors.Is(err, store.ErrNotFound) {
		return store.Meeting{}, false, nil
	}
	if err != nil {
		return store.Meeting{}, false, err
	}
	x.meetings[m.ID] = m
	return m, true, nil
}

func (x *tx) meeting(appID, id string) (store.Meeting, error) {
	if m, ok := x.meetings[id]; ok {
		return m, nil
	}
	m, err := x.q.GetMeeting(x.ctx, appID, id)
	if err != nil {
		return store.Meeting{}, err
	}
	x.meetings[id] = m
	return m, nil
}

func (x *tx) app(id string) (store.App, error) {
	if a, ok := x.apps[id]; ok {
		return a, nil
	}
	a, err := x.q.GetApp(x.ctx, id)
	if err != nil {
		return store.App{}, err
	}
	x.apps[id] = a
	return a, nil
}

// sessionOf returns the session of the LiveKit room instance roomSID of
// meeting m. A known room gives its session, LIVE or ENDED. Otherwise the
// meeting's LIVE session is adopted when either sid is unknown; a LIVE
// session of another room instance, which must have finished unseen, is
// ended. Then, with open, a new LIVE session is opened (started at
// startedAt); without, ok is false.
func (x *tx) sessionOf(m store.Meeting, roomSID string, startedAt time.Time, open bool) (store.Session, bool, error) {
	if roomSID != "" {
		s, err := x.q.GetSessionByRoom(x.ctx, m.ID, roomSID)
		if err == nil {
			return s, true, nil
		}
		if !errors.Is(err, store.ErrNotFound) {
			return store.Session{}, false, err
		}
	}
	live, err := x.q.GetLiveSession(x.ctx, m.ID)
	switch {
	case err == nil && (live.RoomSID == "" || roomSID == ""):
		if live.RoomSID == "" && roomSID != "" {
			live.RoomSID, live.UpdatedAt = roomSID, x.now
			if err := x.q.UpdateSession(x.ctx, live); err != nil {
				return store.Session{}, false, err
			}
		}
		return live, true, nil
	case err == nil:
		if !open {
			return store.Session{}, false, nil // the end of a room we never saw: nothing to do
		}
		x.t.log.Info("session of an earlier room never finished; ending it", "meeting", m.ID, "session", live.ID,
			"room_sid", live.RoomSID, "new_room_sid", roomSID)
		if err := x.endSession(&live, m, webhooks.ReasonAllParticipantsLeft); err != nil {
			return store.Session{}, false, err
		}
	case !errors.Is(err, store.ErrNotFound):
		return store.Session{}, false, err
	}
	if !open {
		return store.Session{}, false, nil
	}
	s, err := x.openSession(m, roomSID, startedAt)
	return s, err == nil, err
}

// openSession opens a LIVE session of m and emits meeting.started.
func (x *tx) openSession(m store.Meeting, roomSID string, startedAt time.Time) (store.Session, error) {
	s := store.Session{
		ID: uuid.NewString(), AppID: m.AppID, MeetingID: m.ID, Title: m.Title, RoomSID: roomSID,
		Status: store.SessionLive, StartedAt: startedAt, CreatedAt: x.now, UpdatedAt: x.now,
	}
	if m.ParentID != "" {
		parent, err := x.q.GetLiveSession(x.ctx, m.ParentID)
		switch {
		case err == nil:
			s.ParentSessionID = parent.ID
		case !errors.Is(err, store.ErrNotFound):
			return store.Session{}, err
		}
	}
	if err := x.q.CreateSession(x.ctx, s); err != nil {
		return store.Session{}, err
	}
	if m.ParentID == "" {
		// Breakout sessions that started before this one join it.
		children, _, err := x.q.ListMeetings(x.ctx, m.AppID, store.MeetingFilter{ParentID: &m.ID})
		if err != nil {
			return store.Session{}, err
		}
		for _, c := range children {
			cs, err := x.q.GetLiveSession(x.ctx, c.ID)
			if errors.Is(err, store.ErrNotFound) || (err == nil && cs.ParentSessionID != "") {
				continue
			}
			if err != nil {
				return store.Session{}, err
			}
			cs.ParentSessionID, cs.UpdatedAt = s.ID, x.now
			if err := x.q.UpdateSession(x.ctx, cs); err != nil {
				return store.Session{}, err
			}
		}
	}
	x.t.log.Info("session started", "meeting", m.ID, "session", s.ID, "room_sid", roomSID, "reconciled", x.reconciled)
	return s, x.emit(m, s, func(b webhooks.Meeting) webhooks.Event { return webhooks.NewMeetingStarted(b) })
}

// endSession closes the stints still open and ends the session, emitting
// participantLeft for each and meeting.ended.
func (x *tx) endSession(s *store.Session, m store.Meeting, reason string) error {
	live, _, err := x.q.ListSessionParticipants(x.ctx, s.ID, store.SessionParticipantFilter{LiveOnly: true})
	if err != nil {
		return err
	}
	for i := range live {
		if err := x.closeStint(s, m, &live[i], LeaveEnded); err != nil {
			return err
		}
	}
	s.Status, s.EndReason, s.EndedAt, s.UpdatedAt = store.SessionEnded, reason, x.now, x.now
	s.LiveParticipants = 0
	if err := x.q.UpdateSession(x.ctx, *s); err != nil {
		return err
	}
	x.t.log.Info("session ended", "meeting", m.ID, "session", s.ID, "reason", reason, "reconciled", x.reconciled)
	if err := x.emit(m, *s, func(b webhooks.Meeting) webhooks.Event { return webhooks.NewMeetingEnded(b, reason) }); err != nil {
		return err
	}
	return x.chatSynced(m, *s)
}

// chatSynced emits meeting.chatSynced for an ended session that has chat
// messages, when the tracker makes chat links.
func (x *tx) chatSynced(m store.Meeting, s store.Session) error {
	export := x.t.opts.ChatExport
	if export == nil {
		return nil
	}
	ms, err := x.q.ListChatMessages(x.ctx, s.ID, 1)
	if err != nil || len(ms) == 0 {
		return err
	}
	url, expiry := export(m.AppID, s.ID, x.now)
	return x.emit(m, s, func(b webhooks.Meeting) webhooks.Event { return webhooks.NewChatSynced(b, url, expiry) })
}

// firstStint is the record of LiveKit participant p's first stint in the
// room of session s, live since its join.
func (x *tx) firstStint(s *store.Session, m store.Meeting, p *livekit.ParticipantInfo) store.SessionParticipant {
	custom, name, preset := x.who(m, p)
	at := joinTime(p, x.now)
	return store.SessionParticipant{
		ID: uuid.NewString(), SessionID: s.ID, MeetingID: m.ID, ParticipantID: p.GetIdentity(),
		CustomParticipantID: custom, DisplayName: name, PresetName: preset, PeerID: p.GetSid(),
		JoinedAt: at, LiveSince: at, CreatedAt: x.now, UpdatedAt: x.now,
	}
}

// join records that LiveKit participant p is in the room of session s.
func (x *tx) join(s *store.Session, m store.Meeting, p *livekit.ParticipantInfo) error {
	identity := p.GetIdentity()
	row, err := x.q.GetSessionParticipant(x.ctx, s.ID, identity)
	switch {
	case errors.Is(err, store.ErrNotFound):
		row = x.firstStint(s, m, p)
		if err := x.q.CreateSessionParticipant(x.ctx, row); err != nil {
			return err
		}
	case err != nil:
		return err
	case row.Live():
		if row.PeerID != p.GetSid() && p.GetSid() != "" {
			// The same identity connected again (LiveKit closes the older
			// connection): still one participant, now on a new connection.
			row.PeerID, row.UpdatedAt = p.GetSid(), x.now
			return x.q.UpdateSessionParticipant(x.ctx, row)
		}
		return nil // a duplicate join
	case p.GetSid() != "" && p.GetSid() == row.LastLeftPeerID:
		return nil // the join of a connection whose leave came first
	default: // back again
		custom, name, preset := x.who(m, p)
		at := joinTime(p, x.now)
		if at.Before(row.LeftAt) {
			at = row.LeftAt
		}
		row.CustomParticipantID, row.DisplayName, row.PresetName = custom, name, preset
		row.PeerID, row.LiveSince, row.LeftAt, row.LeaveReason, row.UpdatedAt = p.GetSid(), at, time.Time{}, "", x.now
		if err := x.q.UpdateSessionParticipant(x.ctx, row); err != nil {
			return err
		}
	}
	s.LiveParticipants++
	s.MaxConcurrentParticipants = max(s.MaxConcurrentParticipants, s.LiveParticipants)
	s.UpdatedAt = x.now
	if err := x.q.UpdateSession(x.ctx, *s); err != nil {
		return err
	}
	from, err := x.liveElsewhere(m, identity, s.ID)
	if err == nil && from == "" {
		from, err = x.movedFrom(m, identity)
	}
	if err != nil {
		return err
	}
	x.t.log.Info("participant joined", "meeting", m.ID, "session", s.ID, "participant", identity,
		"moved_from", from, "reconciled", x.reconciled)
	wp := participantBlock(row)
	wp.JoinedAt = webhooks.At(row.LiveSince)
	wp.MovedFromMeetingID = from
	return x.emit(m, *s, func(b webhooks.Meeting) webhooks.Event { return webhooks.NewParticipantJoined(b, wp) })
}

// leave records that LiveKit participant p left the room of session s.
func (x *tx) leave(s *store.Session, m store.Meeting, p *livekit.ParticipantInfo) error {
	identity := p.GetIdentity()
	row, err := x.q.GetSessionParticipant(x.ctx, s.ID, identity)
	switch {
	case errors.Is(err, store.ErrNotFound):
		// The leave came before the join: record the whole stint now, and
		// the join, when it comes, is stale.
		row = x.firstStint(s, m, p)
		if err := x.q.CreateSessionParticipant(x.ctx, row); err != nil {
			return err
		}
		s.LiveParticipants++
		s.MaxConcurrentParticipants = max(s.MaxConcurrentParticipants, s.LiveParticipants)
		wp := participantBlock(row)
		wp.JoinedAt = webhooks.At(row.JoinedAt)
		if err := x.emit(m, *s, func(b webhooks.Meeting) webhooks.Event { return webhooks.NewParticipantJoined(b, wp) }); err != nil {
			return err
		}
		return x.closeStint(s, m, &row, LeaveLeft)
	case err != nil:
		return err
	case !row.Live():
		return nil // a duplicate or late leave
	case p.GetSid() != "" && row.PeerID != "" && p.GetSid() != row.PeerID:
		return nil // an older connection of an identity that is back on a new one
	}
	return x.closeStint(s, m, &row, LeaveLeft)
}

// closeStint ends a participant's current stint in session s at x.now.
// The reason is the one requested on the record (a kick) if any, MOVED if
// the identity is in another room of the family, else def. It emits
// participantLeft.
func (x *tx) closeStint(s *store.Session, m store.Meeting, row *store.SessionParticipant, def string) error {
	to, err := x.liveElsewhere(m, row.ParticipantID, s.ID)
	if err == nil && to == "" && row.LeaveReason == "" && def == LeaveLeft {
		to, err = x.placedElsewhere(m, row.ParticipantID)
	}
	if err != nil {
		return err
	}
	reason := def
	switch {
	case row.LeaveReason != "":
		reason = row.LeaveReason
	case to != "":
		reason = LeaveMoved
	}
	if reason != LeaveMoved {
		to = ""
	}
	start := row.LiveSince
	stint := max(x.now.Sub(start), 0)
	row.Duration += stint
	row.LeftAt, row.LiveSince, row.LastLeftPeerID, row.LeaveReason, row.UpdatedAt = x.now, time.Time{}, row.PeerID, reason, x.now
	if err := x.q.UpdateSessionParticipant(x.ctx, *row); err != nil {
		return err
	}
	s.LiveParticipants = max(s.LiveParticipants-1, 0)
	s.ParticipantTime += stint
	s.UpdatedAt = x.now
	if err := x.q.UpdateSession(x.ctx, *s); err != nil {
		return err
	}
	x.t.log.Info("participant left", "meeting", m.ID, "session", s.ID, "participant", row.ParticipantID,
		"reason", reason, "moved_to", to, "reconciled", x.reconciled)
	wp := participantBlock(*row)
	wp.JoinedAt, wp.LeftAt, wp.LeaveReason, wp.MovedToMeetingID = webhooks.At(start), webhooks.At(x.now), reason, to
	return x.emit(m, *s, func(b webhooks.Meeting) webhooks.Event { return webhooks.NewParticipantLeft(b, wp) })
}

// liveElsewhere returns a meeting of m's family, other than the one of
// session exclude, in whose room the identity is now; "" if none.
func (x *tx) liveElsewhere(m store.Meeting, identity, exclude string) (string, error) {
	stints, err := x.q.ListLiveStints(x.ctx, m.AppID, identity)
	if err != nil {
		return "", err
	}
	for _, st := range stints {
		if st.SessionID == exclude || st.MeetingID == m.ID {
			continue
		}
		ok, err := x.inFamily(m, st.MeetingID)
		if err != nil {
			return "", err
		}
		if ok {
			return st.MeetingID, nil
		}
	}
	return "", nil
}

// moveWindow is how recent a placement change must be for a leave and a
// join that follow it to be paired as one break-before-make move.
const moveWindow = 30 * time.Second

// placedElsewhere returns the room of m's family, other than m, that the
// identity was placed in within moveWindow: its leave of m is then the
// first half of a break-before-make move there. "" if none.
func (x *tx) placedElsewhere(m store.Meeting, identity string) (string, error) {
	room, err := x.recentPlacement(m, identity)
	if err != nil || room == m.ID {
		return "", err
	}
	return room, nil
}

// movedFrom returns the meeting of m's family that the identity left, as a
// move (MOVED), within moveWindow, if it was placed in m within moveWindow:
// its join of m is then the second half of a break-before-make move.
// "" if none.
func (x *tx) movedFrom(m store.Meeting, identity string) (string, error) {
	room, err := x.recentPlacement(m, identity)
	if err != nil || room != m.ID {
		return "", err
	}
	stints, err := x.q.ListRecentStints(x.ctx, m.AppID, identity, x.now.Add(-moveWindow))
	if err != nil {
		return "", err
	}
	var from string
	var leftAt time.Time
	for _, st := range stints {
		if st.Live() || st.LeaveReason != LeaveMoved || st.MeetingID == m.ID || st.LeftAt.Before(leftAt) {
			continue
		}
		ok, err := x.inFamily(m, st.MeetingID)
		if err != nil {
			return "", err
		}
		if ok {
			from, leftAt = st.MeetingID, st.LeftAt
		}
	}
	return from, nil
}

// inFamily reports whether the meeting with this id is in m's family; an
// unknown meeting is not.
func (x *tx) inFamily(m store.Meeting, id string) (bool, error) {
	other, err := x.meeting(m.AppID, id)
	switch {
	case errors.Is(err, store.ErrNotFound):
		return false, nil
	case err != nil:
		return false, err
	}
	return family(other) == family(m), nil
}

// recentPlacement returns the room of m's family that the identity was
// placed in within moveWindow, or "".
func (x *tx) recentPlacement(m store.Meeting, identity string) (string, error) {
	pl, err := x.q.GetPlacement(x.ctx, identity)
	switch {
	case errors.Is(err, store.ErrNotFound):
		return "", nil
	case err != nil:
		return "", err
	case pl.ParentID != family(m) || x.now.Sub(pl.UpdatedAt) > moveWindow:
		return "", nil
	case pl.RoomID == "":
		return pl.ParentID, nil
	}
	return pl.RoomID, nil
}

// family returns the id of a meeting's family: its parent's, or its own.
func family(m store.Meeting) string {
	if m.ParentID != "" {
		return m.ParentID
	}
	return m.ID
}

// who returns a LiveKit participant's custom participant id, display name
// and preset name: from the store, else from its metadata
// (bridge.ParticipantMetadata). The metadata's preset wins: it is the
// effective one in the room (a move may apply another).
func (x *tx) who(m store.Meeting, p *livekit.ParticipantInfo) (custom, name, preset string) {
	name = p.GetName()
	rec, err := x.q.GetParticipantByID(x.ctx, m.AppID, p.GetIdentity())
	if err == nil {
		custom = rec.CustomParticipantID
		if name == "" {
			name = rec.Name
		}
		if pr, err := x.q.GetPreset(x.ctx, m.AppID, rec.PresetID); err == nil {
			preset = pr.Name
		}
	}
	var md bridge.ParticipantMetadata
	if json.Unmarshal([]byte(p.GetMetadata()), &md) == nil {
		if custom == "" {
			custom = md.CustomParticipantID
		}
		if md.PresetName != "" {
			preset = md.PresetName
		}
	}
	return custom, name, preset
}

func participantBlock(row store.SessionParticipant) webhooks.Participant {
	return webhooks.Participant{
		PeerID: row.PeerID, ParticipantID: row.ParticipantID, UserDisplayName: row.DisplayName,
		CustomParticipantID: row.CustomParticipantID, PresetName: row.PresetName,
	}
}

// emit writes the event build makes from the meeting block of (m, s) to
// the outbox, in this transaction.
func (x *tx) emit(m store.Meeting, s store.Session, build func(webhooks.Meeting) webhooks.Event) error {
	a, err := x.app(m.AppID)
	if err != nil {
		return err
	}
	e := build(webhooks.MeetingOf(a, m, s))
	if x.reconciled {
		e = e.Reconciled()
	}
	return x.t.outbox.Enqueue(x.ctx, x.q, m.AppID, e)
}
