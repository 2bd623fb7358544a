package breakouts

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/livekit/psrpc"

	"rtk-sidecar/apierr"
	"rtk-sidecar/bridge"
	"rtk-sidecar/presets"
	"rtk-sidecar/protocol"
	"rtk-sidecar/store"
)

// Caller is who asks: an API key (Admin, allowed everything) or a
// participant of the family, whose effective preset decides.
type Caller struct {
	Admin         bool
	ParticipantID string
}

// Admin is the caller of the REST API.
var Admin = Caller{Admin: true}

// Participant is a participant calling with its token.
func Participant(id string) Caller { return Caller{ParticipantID: id} }

// RoomTitle is a new room's title, or a room's new title.
type RoomTitle struct {
	ID    string // the room, when renaming
	Title string
}

// Assignment says how to assign participants to rooms.
type Assignment struct {
	// Auto shuffles the participants evenly over the rooms. Participants
	// whose preset may alter connected meetings (hosts) and hidden ones
	// (recorders) stay unassigned unless IncludeHosts.
	Auto         bool
	IncludeHosts bool
	// Manual assigns the listed participants, by room id. The parent's id
	// as a room unassigns them. Participants not listed keep their assignment.
	Manual map[string][]string
}

// MoveRequest moves participants from one room of the family to another.
type MoveRequest struct {
	From, To string
	// Participants to move; a PresetID replaces the participant's preset in
	// To (moveParticipantsWithCustomPreset).
	Participants []MoveParticipant
}

// MoveParticipant is one participant of a MoveRequest.
type MoveParticipant struct {
	ID       string
	PresetID string
}

func forbidden(what string) error {
	return fmt.Errorf("%w: %s", ErrForbidden, what)
}

// change is one transaction's worth of changes to a family, and what must
// happen once it commits.
type change struct {
	f     *family
	moves []bridge.MoveOrder
	// regrants are participants who stay where they are while their
	// preset there changes (FromRoom is ToRoom): not moves, not announced.
	regrants []bridge.MoveOrder
	retired  []string // rooms to close in LiveKit once the moves out of them are done
	closing  bool     // a countdown began
	// unassigned are the participants assigned away from a breakout room,
	// whose prepared connections there (Prepare) must go.
	unassigned []placedIn
}

// placedIn is a participant and a room.
type placedIn struct{ participant, room string }

// moveTo places a participant in room with an optional preset, recording
// the move it takes if its room changes.
func (ch *change) moveTo(ctx context.Context, p store.Participant, room, presetID string) error {
	f := ch.f
	from := f.roomOf(p.ID)
	old := f.placement(p.ID)
	pl := old
	pl.RoomID, pl.PresetID = room, presetID
	if room == f.parent.ID {
		pl.RoomID = ""
	}
	if pl.RoomID == old.RoomID && pl.PresetID == old.PresetID && from == room {
		return nil
	}
	before := f.effectivePreset(p)
	f.set(pl)
	dst, _ := f.room(room)
	m := bridge.MoveOrder{MoveID: uuid.NewString(), Identity: p.ID, FromRoom: from, ToRoom: room,
		Meeting: protocol.MeetingRef{ID: room, Title: dst.Title}, PresetID: f.effectivePreset(p)}
	if from == room && m.PresetID == before {
		return nil
	}
	doc, err := f.presetDoc(ctx, m.PresetID)
	if err != nil {
		return err
	}
	m.Permissions = doc.Permissions
	if presetID != "" || old.PresetID != "" {
		// A preset given with this move, or the end of one given before:
		// the destination's grants come from the preset, not the live ones.
		m.Grant = presets.Grants(doc.Permissions, room)
	}
	m.Metadata = metadata(p, room, m.PresetID, doc)
	if from == room {
		// It stays (a close-all, in the parent), and the preset a move there
		// gave it ends.
		ch.regrants = append(ch.regrants, m)
		return nil
	}
	ch.moves = append(ch.moves, m)
	return nil
}

// metadata is the LiveKit metadata of participant p in room under its
// effective preset there, presetID (doc).
func metadata(p store.Participant, room, presetID string, doc presets.Preset) string {
	return bridge.ParticipantMetadata{ParticipantID: p.ID, CustomParticipantID: p.CustomParticipantID,
		MeetingID: room, PresetID: presetID, PresetName: doc.Name, Picture: p.Picture}.String()
}

// change runs apply on the family in one transaction at the next version.
// A nil version skips the version check (only for a participant moving
// itself). After the commit it tells the family and starts the moves.
func (s *Service) change(ctx context.Context, appID, parentID string, version *int64, apply func(context.Context, *change) error) (State, error) {
	var ch *change
	err := s.st.InTx(ctx, func(q store.Queries) error {
		f, err := load(ctx, q, appID, parentID)
		if err != nil {
			return err
		}
		if version != nil && *version != f.rec.Version {
			return fmt.Errorf("%w: version %d is stale, the state is at version %d; fetch it and retry", ErrStale, *version, f.rec.Version)
		}
		ch = &change{f: f}
		if err := apply(ctx, ch); err != nil {
			return err
		}
		if err := f.save(ctx, s.now().UTC()); err != nil {
			return err
		}
		s.ownMoves(ctx, ch.moves) // before the commit: a replica that dies after it leaves them its own
		return nil
	})
	if err != nil {
		return State{}, err
	}
	st := ch.f.state()
	s.committed(ch, st)
	return st, nil
}

// State returns a family's state. A participant caller must belong to it.
func (s *Service) State(ctx context.Context, appID, parentID string, c Caller) (State, error) {
	var st State
	err := s.read(ctx, appID, parentID, c, func(f *family) error {
		st = f.state()
		return nil
	})
	return st, err
}

// read loads the family for a caller allowed to see it (an admin, or a
// participant of the family) and runs fn on it, in a transaction.
func (s *Service) read(ctx context.Context, appID, parentID string, c Caller, fn func(f *family) error) error {
	return s.st.InTx(ctx, func(q store.Queries) error {
		f, err := load(ctx, q, appID, parentID)
		if err != nil {
			return err
		}
		if _, err := caller(ctx, f, c); err != nil {
			return err
		}
		return fn(f)
	})
}

// caller returns a participant caller's effective permissions; an admin
// gets a nil Permissions pointer.
func caller(ctx context.Context, f *family, c Caller) (*presets.Permissions, error) {
	if c.Admin {
		return nil, nil
	}
	p, ok := f.person(c.ParticipantID)
	if !ok {
		return nil, forbidden("you are not a participant of this meeting")
	}
	perms, err := f.permissions(ctx, p)
	if err != nil {
		return nil, err
	}
	return &perms, nil
}

// mayAlter checks can_alter_connected_meetings.
func mayAlter(ctx context.Context, f *family, c Caller) error {
	perms, err := caller(ctx, f, c)
	if err != nil || perms == nil {
		return err
	}
	if !perms.ConnectedMeetings.CanAlterConnectedMeetings {
		return forbidden("changing connected meetings needs can_alter_connected_meetings")
	}
	return nil
}

func requireVersion(version *int64) error {
	if version == nil {
		return apierr.Invalid("version", "is required: send the version of the state you read")
	}
	return nil
}

func cleanTitle(field, t string) (string, error) {
	t = strings.TrimSpace(t)
	if len(t) > 1024 {
		return "", apierr.Invalid(field, "must be at most 1024 characters")
	}
	return t, nil
}

// CreateRooms adds breakout rooms to a family; an empty title becomes
// "Room N". It returns the new state and the ids of the new rooms, in order.
func (s *Service) CreateRooms(ctx context.Context, appID, parentID string, c Caller, version *int64, rooms []RoomTitle) (State, []string, error) {
	if err := requireVersion(version); err != nil {
		return State{}, nil, err
	}
	if len(rooms) == 0 {
		return State{}, nil, apierr.Invalid("meetings", "must list at least one room")
	}
	var ids []string
	st, err := s.change(ctx, appID, parentID, version, func(ctx context.Context, ch *change) error {
		f := ch.f
		if err := mayAlter(ctx, f, c); err != nil {
			return err
		}
		if len(f.rooms)+len(rooms) > MaxRooms {
			return apierr.Invalid("meetings", "would make %d rooms; a meeting has at most %d", len(f.rooms)+len(rooms), MaxRooms)
		}
		ids = ids[:0]
		now := s.now().UTC()
		for i, r := range rooms {
			title, err := cleanTitle(fmt.Sprintf("meetings[%d].title", i), r.Title)
			if err != nil {
				return err
			}
			if title == "" {
				title = fmt.Sprintf("Room %d", len(f.rooms)+1)
			}
			p := f.parent
			m := store.Meeting{ID: uuid.NewString(), AppID: p.AppID, ParentID: p.ID, Title: title, Status: store.MeetingActive,
				PersistChat: p.PersistChat, SummarizeOnEnd: p.SummarizeOnEnd, SessionKeepAliveTimeInSecs: p.SessionKeepAliveTimeInSecs,
				PreferredRegion: p.PreferredRegion, AIConfig: p.AIConfig, RecordingConfig: p.RecordingConfig,
				CreatedAt: now.Add(time.Duration(i) * time.Microsecond), UpdatedAt: now}
			if err := f.q.CreateMeeting(ctx, m); err != nil {
				return err
			}
			f.rooms = append(f.rooms, m)
			ids = append(ids, m.ID)
		}
		return nil
	})
	return st, ids, err
}

// RenameRooms changes the titles of breakout rooms.
func (s *Service) RenameRooms(ctx context.Context, appID, parentID string, c Caller, version *int64, rooms []RoomTitle) (State, error) {
	if err := requireVersion(version); err != nil {
		return State{}, err
	}
	if len(rooms) == 0 {
		return State{}, apierr.Invalid("meetings", "must list at least one room")
	}
	return s.change(ctx, appID, parentID, version, func(ctx context.Context, ch *change) error {
		f := ch.f
		if err := mayAlter(ctx, f, c); err != nil {
			return err
		}
		for i, r := range rooms {
			title, err := cleanTitle(fmt.Sprintf("meetings[%d].title", i), r.Title)
			if err != nil {
				return err
			}
			if title == "" {
				return apierr.Invalid(fmt.Sprintf("meetings[%d].title", i), "is required")
			}
			idx := f.roomIndex(r.ID)
			if idx < 0 {
				return apierr.Invalid(fmt.Sprintf("meetings[%d].id", i), "is not a breakout room of meeting %s", f.parent.ID)
			}
			m := f.rooms[idx]
			m.Title, m.UpdatedAt = title, s.now().UTC()
			if err := f.q.UpdateMeeting(ctx, m); err != nil {
				return err
			}
			f.rooms[idx] = m
		}
		return nil
	})
}

func (f *family) roomIndex(id string) int {
	for i, r := range f.rooms {
		if r.ID == id {
			return i
		}
	}
	return -1
}

// DeleteRooms closes breakout rooms for good: their occupants go back to
// the parent, their assignments are dropped, and their meetings become
// INACTIVE (kept, with their sessions and recordings).
func (s *Service) DeleteRooms(ctx context.Context, appID, parentID string, c Caller, version *int64, ids []string) (State, error) {
	if err := requireVersion(version); err != nil {
		return State{}, err
	}
	if len(ids) == 0 {
		return State{}, apierr.Invalid("meeting_ids", "must list at least one room")
	}
	return s.change(ctx, appID, parentID, version, func(ctx context.Context, ch *change) error {
		f := ch.f
		if err := mayAlter(ctx, f, c); err != nil {
			return err
		}
		gone := map[string]bool{}
		for i, id := range ids {
			if f.roomIndex(id) < 0 {
				return apierr.Invalid(fmt.Sprintf("meeting_ids[%d]", i), "is not a breakout room of meeting %s", f.parent.ID)
			}
			gone[id] = true
		}
		for _, p := range f.people {
			pl := f.placement(p.ID)
			if gone[f.roomOf(p.ID)] {
				if err := ch.moveTo(ctx, p, f.parent.ID, ""); err != nil {
					return err
				}
				pl = f.placement(p.ID)
			}
			if gone[pl.AssignedID] {
				pl.AssignedID = ""
				f.set(pl)
			}
		}
		kept := f.rooms[:0:0]
		for _, m := range f.rooms {
			if !gone[m.ID] {
				kept = append(kept, m)
				continue
			}
			m.Status, m.UpdatedAt = store.MeetingInactive, s.now().UTC()
			if err := f.q.UpdateMeeting(ctx, m); err != nil {
				return err
			}
			ch.retired = append(ch.retired, m.ID)
		}
		f.rooms = kept
		if len(f.rooms) == 0 {
			f.rec.Status = store.FamilyIdle
		}
		return nil
	})
}

// Assign sets who goes to which room when the rooms start (or, while they
// run, with the next start).
func (s *Service) Assign(ctx context.Context, appID, parentID string, c Caller, version *int64, a Assignment) (State, error) {
	if err := requireVersion(version); err != nil {
		return State{}, err
	}
	if a.Auto == (a.Manual != nil) {
		return State{}, apierr.Invalid("mode", "must be auto or manual (with rooms)")
	}
	return s.change(ctx, appID, parentID, version, func(ctx context.Context, ch *change) error {
		f := ch.f
		if err := mayAlter(ctx, f, c); err != nil {
			return err
		}
		if len(f.rooms) == 0 {
			return psrpc.NewErrorf(psrpc.FailedPrecondition, "meeting %s has no breakout rooms to assign to; create rooms first", f.parent.ID)
		}
		before := map[string]string{}
		for _, p := range f.people {
			before[p.ID] = f.placement(p.ID).AssignedID
		}
		var err error
		if a.Auto {
			err = f.assignAuto(ctx, a.IncludeHosts)
		} else {
			err = f.assignManual(a.Manual)
		}
		for _, p := range f.people {
			if old := before[p.ID]; old != "" && old != f.placement(p.ID).AssignedID && f.roomIndex(old) >= 0 {
				ch.unassigned = append(ch.unassigned, placedIn{participant: p.ID, room: old})
			}
		}
		return err
	})
}

// assignAuto shuffles the eligible participants evenly over the rooms: room
// sizes differ by at most one.
func (f *family) assignAuto(ctx context.Context, includeHosts bool) error {
	var eligible []store.Participant
	for _, p := range f.people {
		doc, err := f.presetDoc(ctx, p.PresetID)
		if err != nil {
			return err
		}
		if assignable(doc.Permissions, includeHosts) {
			eligible = append(eligible, p)
		}
	}
	rand.Shuffle(len(eligible), func(i, j int) { eligible[i], eligible[j] = eligible[j], eligible[i] })
	for i, p := range eligible {
		pl := f.placement(p.ID)
		pl.AssignedID = f.rooms[i%len(f.rooms)].ID
		f.set(pl)
	}
	return nil
}

// assignable reports whether a participant with these permissions is
// assigned automatically (shuffled, or placed as a late joiner): not a
// hidden or recording preset, and a host (can_alter_connected_meetings)
// only when hosts are included.
func assignable(perms presets.Permissions, includeHosts bool) bool {
	return !perms.HiddenParticipant && !perms.IsRecording() &&
		(includeHosts || !perms.ConnectedMeetings.CanAlterConnectedMeetings)
}

func (f *family) assignManual(rooms map[string][]string) error {
	seen := map[string]string{}
	for room, ids := range rooms {
		field := fmt.Sprintf("rooms.%s", room)
		if room != f.parent.ID && f.roomIndex(room) < 0 {
			return apierr.Invalid(field, "is not a breakout room of meeting %s", f.parent.ID)
		}
		for _, id := range ids {
			if _, ok := f.person(id); !ok {
				return apierr.Invalid(field, "lists %s, who is not a participant of meeting %s", id, f.parent.ID)
			}
			if other, dup := seen[id]; dup {
				return apierr.Invalid(field, "lists %s, who is already assigned to %s in this request", id, other)
			}
			seen[id] = room
			pl := f.placement(id)
			pl.AssignedID = room
			if room == f.parent.ID {
				pl.AssignedID = ""
			}
			f.set(pl)
		}
	}
	return nil
}

// StartOptions are the optional settings of a start. A nil field keeps
// what an earlier start of the running rooms set.
type StartOptions struct {
	// Timer sets the rooms' timer; a zero Duration removes it.
	Timer *Timer
	// AssignLateJoiners turns on or off the placement of late joiners
	// (PlaceLateJoiner).
	AssignLateJoiners *bool
}

// Start sends every assigned participant to its room. Unassigned
// participants stay where they are.
func (s *Service) Start(ctx context.Context, appID, parentID string, c Caller, version *int64, opts StartOptions) (State, error) {
	if err := requireVersion(version); err != nil {
		return State{}, err
	}
	timer := opts.Timer
	if err := timer.validate(); err != nil {
		return State{}, err
	}
	return s.change(ctx, appID, parentID, version, func(ctx context.Context, ch *change) error {
		f := ch.f
		if err := mayAlter(ctx, f, c); err != nil {
			return err
		}
		if len(f.rooms) == 0 {
			return psrpc.NewErrorf(psrpc.FailedPrecondition, "meeting %s has no breakout rooms to start; create rooms first", f.parent.ID)
		}
		for _, p := range f.people {
			room := f.placement(p.ID).AssignedID
			if f.roomIndex(room) < 0 || f.roomOf(p.ID) == room {
				continue
			}
			if err := ch.moveTo(ctx, p, room, ""); err != nil {
				return err
			}
		}
		ids := make([]string, len(ch.moves))
		for i, m := range ch.moves {
			ids[i] = m.MoveID
		}
		gate := bridge.NewRevealGate(ids, StartRevealLimit)
		for i := range ch.moves {
			ch.moves[i].KeepSource, ch.moves[i].Gate = StartKeepSource, gate
		}
		f.rec.Status = store.FamilyRunning
		if timer != nil {
			f.rec.EndsAt, f.rec.WarnAt = timer.times(s.now().UTC())
		}
		if opts.AssignLateJoiners != nil {
			f.rec.AssignLate = *opts.AssignLateJoiners
		}
		return nil
	})
}

// StartKeepSource is how long the clients a start moves keep their
// connection to the parent after they switched to their room, unheard
// (protocol.MoveInstruction.KeepSourceMs). Each departure from the parent
// changes the subscriptions of everyone still in it, so the departures of
// a whole start are the SFU's biggest piece of work at that moment; kept
// back, it comes after the arrivals instead of slowing them
// (docs/livekit-notes.md §5).
const StartKeepSource = 3 * time.Second

// StartRevealLimit is how long after a start its reveals hold back their
// instructions at most, waiting for each other (bridge.RevealGate): the
// media the instructions start would slow the reveals still to come
// (docs/livekit-notes.md §5).
const StartRevealLimit = time.Second

// Timer sets how long started breakout rooms run. When Duration has passed
// they close as a close-all does, after a countdown of Warning (the
// closing event, status closing) at the end of Duration.
type Timer struct {
	Duration time.Duration // from the start; zero removes the timer
	Warning  time.Duration // at most MaxGrace; cut to Duration
}

func (t *Timer) validate() error {
	switch {
	case t == nil:
		return nil
	case t.Duration < 0 || t.Duration > MaxDuration:
		return apierr.Invalid("duration_seconds", "must be between 0 and %d", int(MaxDuration.Seconds()))
	case t.Warning < 0 || t.Warning > MaxGrace:
		return apierr.Invalid("warning_seconds", "must be between 0 and %d", int(MaxGrace.Seconds()))
	}
	return nil
}

// times returns when the rooms close and when their countdown begins, for
// a timer set at now; zero times for no timer. They are whole milliseconds,
// as the store and the APIs keep them.
func (t *Timer) times(now time.Time) (ends, warn time.Time) {
	if t.Duration == 0 {
		return time.Time{}, time.Time{}
	}
	ends = now.Add(t.Duration).Truncate(time.Millisecond)
	return ends, ends.Add(-min(t.Warning, t.Duration))
}

// Close brings everyone back to the parent: at once when grace is zero,
// else after a countdown (status closing; every room is told when). The
// rooms stay, with their assignments, for another start.
func (s *Service) Close(ctx context.Context, appID, parentID string, c Caller, version *int64, grace time.Duration) (State, error) {
	if err := requireVersion(version); err != nil {
		return State{}, err
	}
	if grace < 0 || grace > MaxGrace {
		return State{}, apierr.Invalid("grace_seconds", "must be between 0 and %d", int(MaxGrace.Seconds()))
	}
	return s.change(ctx, appID, parentID, version, func(ctx context.Context, ch *change) error {
		if err := mayAlter(ctx, ch.f, c); err != nil {
			return err
		}
		if grace > 0 {
			ch.f.rec.Status = store.FamilyClosing
			ch.f.rec.ClosingAt = s.now().UTC().Add(grace)
			ch.closing = true
			return nil
		}
		return ch.closeAll(ctx)
	})
}

// closeAll moves everyone in a breakout room back to the parent.
func (ch *change) closeAll(ctx context.Context) error {
	f := ch.f
	for _, p := range f.people {
		if f.roomOf(p.ID) == f.parent.ID && f.placement(p.ID).PresetID == "" {
			continue
		}
		if err := ch.moveTo(ctx, p, f.parent.ID, ""); err != nil {
			return err
		}
	}
	for _, r := range f.rooms {
		ch.retired = append(ch.retired, r.ID)
	}
	f.rec.Status = store.FamilyIdle
	return nil
}

// warnDue begins the countdown of the running families whose timer is
// nearly up: they become closing, and every room is told when they close.
func (s *Service) warnDue(ctx context.Context) {
	due, err := s.st.ListTimedFamilies(ctx, s.now())
	if err != nil {
		if ctx.Err() == nil {
			s.log.Error("breakouts: list timed families", "err", err)
		}
		return
	}
	for _, f := range due {
		v := f.Version
		_, err := s.change(ctx, f.AppID, f.ParentID, &v, func(ctx context.Context, ch *change) error {
			r := &ch.f.rec
			if r.Status != store.FamilyRunning || r.WarnAt.IsZero() || r.WarnAt.After(s.now()) {
				return nil // changed since it was listed
			}
			r.Status, r.ClosingAt = store.FamilyClosing, r.EndsAt
			ch.closing = true
			return nil
		})
		if err != nil && !errors.Is(err, ErrStale) && ctx.Err() == nil {
			s.log.Error("breakouts: begin the timer's countdown", "meeting", f.ParentID, "err", err)
		}
	}
}

// closeDue closes the families whose countdown has ended.
func (s *Service) closeDue(ctx context.Context) {
	due, err := s.st.ListClosingFamilies(ctx, s.now())
	if err != nil {
		if ctx.Err() == nil {
			s.log.Error("breakouts: list closing families", "err", err)
		}
		return
	}
	for _, f := range due {
		v := f.Version
		_, err := s.change(ctx, f.AppID, f.ParentID, &v, func(ctx context.Context, ch *change) error {
			if ch.f.rec.Status != store.FamilyClosing {
				return nil
			}
			return ch.closeAll(ctx)
		})
		if err != nil && !errors.Is(err, ErrStale) && ctx.Err() == nil {
			s.log.Error("breakouts: close after countdown", "meeting", f.ParentID, "err", err)
		}
	}
}

// MoveParticipants moves participants between rooms of a family. Moving
// anyone else, or giving a preset, needs can_alter_connected_meetings;
// moving oneself needs can_switch_connected_meetings into a breakout room
// and can_switch_to_parent_meeting into the parent. A participant moving
// only itself may omit the version.
func (s *Service) MoveParticipants(ctx context.Context, appID, parentID string, c Caller, version *int64, r MoveRequest) (State, error) {
	if len(r.Participants) == 0 {
		return State{}, apierr.Invalid("participant_ids", "must list at least one participant")
	}
	self := !c.Admin && len(r.Participants) == 1 && r.Participants[0].ID == c.ParticipantID && r.Participants[0].PresetID == ""
	if !self {
		if err := requireVersion(version); err != nil {
			return State{}, err
		}
	}
	if r.From == r.To {
		return State{}, apierr.Invalid("destination_meeting_id", "is the source meeting")
	}
	return s.change(ctx, appID, parentID, version, func(ctx context.Context, ch *change) error {
		f := ch.f
		if _, ok := f.room(r.From); !ok {
			return apierr.Invalid("source_meeting_id", "is not a meeting of this family")
		}
		if _, ok := f.room(r.To); !ok {
			return apierr.Invalid("destination_meeting_id", "is not a meeting of this family")
		}
		if err := mayMove(ctx, f, c, self, r.To); err != nil {
			return err
		}
		seen := map[string]bool{}
		for i, mp := range r.Participants {
			field := fmt.Sprintf("participants[%d]", i)
			p, ok := f.person(mp.ID)
			if !ok {
				return apierr.Invalid(field, "%s is not a participant of meeting %s", mp.ID, f.parent.ID)
			}
			if seen[p.ID] {
				return apierr.Invalid(field, "%s is listed twice", p.ID)
			}
			seen[p.ID] = true
			if at := f.roomOf(p.ID); at != r.From {
				return apierr.Invalid(field, "%s is in meeting %s, not in the source meeting %s", p.ID, at, r.From)
			}
			if mp.PresetID != "" {
				if _, err := f.q.GetPreset(ctx, appID, mp.PresetID); errors.Is(err, store.ErrNotFound) {
					return apierr.Invalid(field+".preset_id", "names no preset of this app")
				} else if err != nil {
					return err
				}
			}
			if err := ch.moveTo(ctx, p, r.To, mp.PresetID); err != nil {
				return err
			}
		}
		return nil
	})
}

func mayMove(ctx context.Context, f *family, c Caller, self bool, to string) error {
	perms, err := caller(ctx, f, c)
	if err != nil || perms == nil {
		return err
	}
	cm := perms.ConnectedMeetings
	switch {
	case cm.CanAlterConnectedMeetings:
		return nil
	case !self:
		return forbidden("moving other participants, or giving a preset, needs can_alter_connected_meetings")
	case to == f.parent.ID && !cm.CanSwitchToParentMeeting:
		return forbidden("returning to the main meeting needs can_switch_to_parent_meeting")
	case to != f.parent.ID && !cm.CanSwitchConnectedMeetings:
		return forbidden("switching to a breakout room needs can_switch_connected_meetings")
	}
	return nil
}
