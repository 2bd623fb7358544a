package sessions

import (
	"context"
	"errors"
	"log/slog"
	"slices"
	"time"

	"github.com/livekit/protocol/livekit"
	"github.com/livekit/psrpc"
	lksdk "github.com/livekit/server-sdk-go/v2"

	"rtk-sidecar/apierr"
	"rtk-sidecar/bridge"
	"rtk-sidecar/presets"
	"rtk-sidecar/store"
	"rtk-sidecar/webhooks"
)

// RoomService is the part of LiveKit's RoomService that the sessions
// service uses. *lksdk.RoomServiceClient implements it.
type RoomService interface {
	RoomLister
	GetParticipant(ctx context.Context, req *livekit.RoomParticipantIdentity) (*livekit.ParticipantInfo, error)
	RemoveParticipant(ctx context.Context, req *livekit.RoomParticipantIdentity) (*livekit.RemoveParticipantResponse, error)
	MutePublishedTrack(ctx context.Context, req *livekit.MuteRoomTrackRequest) (*livekit.MuteRoomTrackResponse, error)
	UpdateParticipant(ctx context.Context, req *livekit.UpdateParticipantRequest) (*livekit.ParticipantInfo, error)
	DeleteRoom(ctx context.Context, req *livekit.DeleteRoomRequest) (*livekit.DeleteRoomResponse, error)
}

var _ RoomService = (*lksdk.RoomServiceClient)(nil)

// Service implements the sessions API (list, get, participants) and live
// moderation of a meeting's active session (kick, kick-all, mute,
// mute-all). Its errors carry psrpc classes. It is safe for concurrent use.
type Service struct {
	st      store.Store
	rooms   RoomService
	tracker *Tracker
	log     *slog.Logger
	now     func() time.Time
}

// NewService returns a Service over st that moderates through rooms and
// records moderation outcomes through tracker.
func NewService(st store.Store, rooms RoomService, tracker *Tracker, log *slog.Logger) *Service {
	return &Service{st: st, rooms: rooms, tracker: tracker, log: log, now: tracker.opts.Now}
}

// View is a session as the API shows it.
type View struct {
	store.Session
	// MinutesConsumed counts the participants' time in the room, the open
	// stints up to now included.
	MinutesConsumed float64
	// BreakoutRooms are the sessions of breakout rooms linked to this one
	// (filled on request).
	BreakoutRooms []View
}

// ParticipantView is a session participant as the API shows it.
type ParticipantView struct {
	store.SessionParticipant
	// Total is the participant's time in the room: the finished stints
	// plus the current one up to now.
	Total time.Duration
}

// List returns the app's sessions that match the filter.
func (s *Service) List(ctx context.Context, appID string, f store.SessionFilter) ([]View, int, error) {
	switch f.Status {
	case "", store.SessionLive, store.SessionEnded:
	default:
		return nil, 0, apierr.Invalid("status", "must be one of [LIVE, ENDED]")
	}
	switch f.SortBy {
	case "", store.SortByCreatedAt, store.SortByMinutesConsumed:
	default:
		return nil, 0, apierr.Invalid("sort_by", "must be one of [createdAt, minutesConsumed]")
	}
	ss, total, err := s.st.ListSessions(ctx, appID, f)
	if err != nil {
		return nil, 0, err
	}
	out := make([]View, 0, len(ss))
	for _, x := range ss {
		v, err := s.view(ctx, x, false)
		if err != nil {
			return nil, 0, err
		}
		out = append(out, v)
	}
	return out, total, nil
}

// Session returns one session of the app, with its breakout rooms'
// sessions when withBreakouts.
func (s *Service) Session(ctx context.Context, appID, id string, withBreakouts bool) (View, error) {
	x, err := s.st.GetSession(ctx, appID, id)
	if err != nil {
		return View{}, apierr.NotFound("session", id, err)
	}
	return s.view(ctx, x, withBreakouts)
}

// Active returns the LIVE session of a meeting of the app, with the live
// sessions of its breakout rooms; NotFound when there is none.
func (s *Service) Active(ctx context.Context, appID, meetingID string) (View, error) {
	if _, err := s.meeting(ctx, appID, meetingID); err != nil {
		return View{}, err
	}
	x, err := s.st.GetLiveSession(ctx, meetingID)
	if err != nil {
		return View{}, noActiveSession(meetingID, err)
	}
	return s.view(ctx, x, true)
}

func (s *Service) view(ctx context.Context, x store.Session, withBreakouts bool) (View, error) {
	v := View{Session: x}
	used := x.ParticipantTime
	if x.Status == store.SessionLive {
		live, _, err := s.st.ListSessionParticipants(ctx, x.ID, store.SessionParticipantFilter{LiveOnly: true})
		if err != nil {
			return View{}, err
		}
		now := s.now()
		for _, p := range live {
			used += max(now.Sub(p.LiveSince), 0)
		}
	}
	v.MinutesConsumed = used.Minutes()
	if withBreakouts {
		children, _, err := s.st.ListSessions(ctx, x.AppID, store.SessionFilter{ParentSessionID: &x.ID, Ascending: true})
		if err != nil {
			return View{}, err
		}
		v.BreakoutRooms = []View{}
		for _, c := range children {
			cv, err := s.view(ctx, c, true)
			if err != nil {
				return View{}, err
			}
			v.BreakoutRooms = append(v.BreakoutRooms, cv)
		}
	}
	return v, nil
}

// Participants returns a session's participants that match the filter.
func (s *Service) Participants(ctx context.Context, appID, sessionID string, f store.SessionParticipantFilter) ([]ParticipantView, int, error) {
	switch f.SortBy {
	case "", store.SortByJoinedAt, store.SortByDuration:
	default:
		return nil, 0, apierr.Invalid("sort_by", "must be one of [joinedAt, duration]")
	}
	if _, err := s.Session(ctx, appID, sessionID, false); err != nil {
		return nil, 0, err
	}
	ps, total, err := s.st.ListSessionParticipants(ctx, sessionID, f)
	if err != nil {
		return nil, 0, err
	}
	now := s.now()
	out := make([]ParticipantView, 0, len(ps))
	for _, p := range ps {
		out = append(out, participantView(p, now))
	}
	return out, total, nil
}

// Participant returns one participant of a session, by its session
// participant id or its participant id.
func (s *Service) Participant(ctx context.Context, appID, sessionID, id string) (ParticipantView, error) {
	if _, err := s.Session(ctx, appID, sessionID, false); err != nil {
		return ParticipantView{}, err
	}
	p, err := s.st.GetSessionParticipantByID(ctx, sessionID, id)
	if errors.Is(err, store.ErrNotFound) {
		p, err = s.st.GetSessionParticipant(ctx, sessionID, id)
	}
	if err != nil {
		return ParticipantView{}, apierr.NotFound("participant", id, err)
	}
	return participantView(p, s.now()), nil
}

func participantView(p store.SessionParticipant, now time.Time) ParticipantView {
	total := p.Duration
	if p.Live() {
		total += max(now.Sub(p.LiveSince), 0)
	}
	return ParticipantView{SessionParticipant: p, Total: total}
}

// ---- moderation ----

// Targets names participants of an active session, by participant id
// (their LiveKit identity) or custom participant id.
type Targets struct {
	ParticipantIDs       []string
	CustomParticipantIDs []string
}

// Kick removes participants from the meeting's active session: from
// LiveKit, and from the session with leave reason KICKED. Every target
// must be in the session (else NotFound, and nobody is removed). It
// returns the participants' records.
func (s *Service) Kick(ctx context.Context, appID, meetingID string, t Targets) ([]store.Participant, error) {
	m, live, rows, err := s.targets(ctx, appID, meetingID, t)
	if err != nil {
		return nil, err
	}
	if err := s.mark(ctx, appID, live.ID, rows, LeaveKicked, nil); err != nil {
		return nil, err
	}
	for i, r := range rows {
		_, err := s.rooms.RemoveParticipant(ctx, &livekit.RoomParticipantIdentity{Room: m.ID, Identity: r.ParticipantID})
		if err != nil && !bridge.IsNotFound(err) {
			// Those not removed stay as they were; those removed are kicked.
			_ = s.mark(context.WithoutCancel(ctx), appID, live.ID, rows[i:], "", nil)
			return nil, bridge.FromLiveKit("sessions: remove participant "+r.ParticipantID, err)
		}
	}
	// Record the removal now rather than wait for LiveKit's webhook (which
	// then finds nothing left to do).
	err = s.st.InTx(ctx, func(q store.Queries) error {
		x := s.tracker.newTx(ctx, q, s.now().UTC(), false)
		cur, err := q.GetSession(ctx, appID, live.ID)
		if err != nil || cur.Status != store.SessionLive {
			return err
		}
		for _, r := range rows {
			row, err := q.GetSessionParticipant(ctx, live.ID, r.ParticipantID)
			if err != nil {
				return err
			}
			if !row.Live() || row.PeerID != r.PeerID {
				continue // LiveKit's webhook was quicker, or it is back already
			}
			if err := x.closeStint(&cur, m, &row, LeaveKicked); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	s.tracker.outbox.Wake()
	return s.records(ctx, appID, rows), nil
}

// KickAll removes everyone from the meeting's room (LiveKit's DeleteRoom)
// and ends its active session with reason HOST_ENDED_MEETING. It returns how
// many session participants were in the room.
func (s *Service) KickAll(ctx context.Context, appID, meetingID string) (int, error) {
	m, err := s.meeting(ctx, appID, meetingID)
	if err != nil {
		return 0, err
	}
	live, err := s.st.GetLiveSession(ctx, meetingID)
	if err != nil {
		return 0, noActiveSession(meetingID, err)
	}
	rows, _, err := s.st.ListSessionParticipants(ctx, live.ID, store.SessionParticipantFilter{LiveOnly: true})
	if err != nil {
		return 0, err
	}
	host, none := webhooks.ReasonHostEndedMeeting, ""
	if err := s.mark(ctx, appID, live.ID, rows, LeaveKicked, &host); err != nil {
		return 0, err
	}
	if _, err := s.rooms.DeleteRoom(ctx, &livekit.DeleteRoomRequest{Room: m.ID}); err != nil && !bridge.IsNotFound(err) {
		_ = s.mark(context.WithoutCancel(ctx), appID, live.ID, rows, "", &none)
		return 0, bridge.FromLiveKit("sessions: delete room "+m.ID, err)
	}
	err = s.st.InTx(ctx, func(q store.Queries) error {
		cur, err := q.GetSession(ctx, appID, live.ID)
		if err != nil || cur.Status != store.SessionLive {
			return err // LiveKit's room_finished was quicker
		}
		return s.tracker.newTx(ctx, q, s.now().UTC(), false).endSession(&cur, m, webhooks.ReasonHostEndedMeeting)
	})
	if err != nil {
		return 0, err
	}
	s.tracker.outbox.Wake()
	return len(rows), nil
}

// mark records (or, with "", clears) the reason requested for the
// participants' leaves and, when end is not nil, for the session's end, so
// that whoever records them (this service, or the intake when LiveKit's
// webhook is quicker) uses them.
func (s *Service) mark(ctx context.Context, appID, sessionID string, rows []store.SessionParticipant, leave string, end *string) error {
	return s.st.InTx(ctx, func(q store.Queries) error {
		now := s.now().UTC()
		for _, r := range rows {
			row, err := q.GetSessionParticipant(ctx, sessionID, r.ParticipantID)
			if err != nil {
				return err
			}
			if !row.Live() {
				continue
			}
			row.LeaveReason, row.UpdatedAt = leave, now
			if err := q.UpdateSessionParticipant(ctx, row); err != nil {
				return err
			}
		}
		if end == nil {
			return nil
		}
		cur, err := q.GetSession(ctx, appID, sessionID)
		if err != nil || cur.Status != store.SessionLive {
			return err
		}
		cur.EndReason, cur.UpdatedAt = *end, now
		return q.UpdateSession(ctx, cur)
	})
}

// Mute mutes the microphone tracks of participants of the meeting's active
// session. Every target must be in the session (else NotFound). It returns
// the participants' records.
func (s *Service) Mute(ctx context.Context, appID, meetingID string, t Targets) ([]store.Participant, error) {
	m, _, rows, err := s.targets(ctx, appID, meetingID, t)
	if err != nil {
		return nil, err
	}
	for _, r := range rows {
		info, err := s.rooms.GetParticipant(ctx, &livekit.RoomParticipantIdentity{Room: m.ID, Identity: r.ParticipantID})
		if bridge.IsNotFound(err) {
			continue // gone meanwhile
		}
		if err != nil {
			return nil, bridge.FromLiveKit("sessions: get participant "+r.ParticipantID, err)
		}
		if _, err := s.muteMicrophone(ctx, m.ID, info); err != nil {
			return nil, err
		}
	}
	return s.records(ctx, appID, rows), nil
}

// MuteAll mutes the microphones of everyone in the meeting's room (hidden
// participants aside). With allowUnmute false it also takes MICROPHONE out
// of their publish permission, so they cannot unmute; with allowUnmute true
// it gives MICROPHONE back to those whose preset allows audio (how a host
// lifts an earlier mute-all). A participant's next join applies its preset
// anyway. It returns how many participants it muted.
func (s *Service) MuteAll(ctx context.Context, appID, meetingID string, allowUnmute bool) (int, error) {
	m, err := s.meeting(ctx, appID, meetingID)
	if err != nil {
		return 0, err
	}
	if _, err := s.st.GetLiveSession(ctx, meetingID); err != nil {
		return 0, noActiveSession(meetingID, err)
	}
	res, err := s.rooms.ListParticipants(ctx, &livekit.ListParticipantsRequest{Room: m.ID})
	if bridge.IsNotFound(err) {
		return 0, nil
	}
	if err != nil {
		return 0, bridge.FromLiveKit("sessions: list participants of "+m.ID, err)
	}
	n := 0
	for _, p := range res.GetParticipants() {
		if !inRoom(p) {
			continue
		}
		if _, err := s.muteMicrophone(ctx, m.ID, p); err != nil {
			return n, err
		}
		perm, change := microphonePermission(p.GetPermission(), allowUnmute && s.presetAllowsAudio(ctx, appID, m.ID, p.GetIdentity()))
		if change {
			_, err := s.rooms.UpdateParticipant(ctx, &livekit.UpdateParticipantRequest{Room: m.ID, Identity: p.GetIdentity(), Permission: perm})
			if err != nil && !bridge.IsNotFound(err) {
				return n, bridge.FromLiveKit("sessions: update permission of "+p.GetIdentity(), err)
			}
		}
		n++
	}
	return n, nil
}

// muteMicrophone mutes a participant's unmuted microphone tracks and
// reports how many it muted.
func (s *Service) muteMicrophone(ctx context.Context, room string, p *livekit.ParticipantInfo) (int, error) {
	n := 0
	for _, tr := range p.GetTracks() {
		if tr.GetMuted() || !isMicrophone(tr) {
			continue
		}
		_, err := s.rooms.MutePublishedTrack(ctx, &livekit.MuteRoomTrackRequest{
			Room: room, Identity: p.GetIdentity(), TrackSid: tr.GetSid(), Muted: true,
		})
		if bridge.IsNotFound(err) {
			continue
		}
		if err != nil {
			return n, bridge.FromLiveKit("sessions: mute "+tr.GetSid()+" of "+p.GetIdentity(), err)
		}
		n++
	}
	return n, nil
}

func isMicrophone(tr *livekit.TrackInfo) bool {
	return tr.GetSource() == livekit.TrackSource_MICROPHONE ||
		(tr.GetSource() == livekit.TrackSource_UNKNOWN && tr.GetType() == livekit.TrackType_AUDIO)
}

// microphonePermission returns p with MICROPHONE granted (give) or taken
// away (!give), and whether that changes anything. LiveKit reads an empty
// source list as "every source", so taking MICROPHONE from it lists the
// other sources explicitly, and an empty result turns publishing off.
func microphonePermission(p *livekit.ParticipantPermission, give bool) (*livekit.ParticipantPermission, bool) {
	if p == nil {
		p = &livekit.ParticipantPermission{}
	}
	out := &livekit.ParticipantPermission{
		CanSubscribe: p.GetCanSubscribe(), CanPublish: p.GetCanPublish(), CanPublishData: p.GetCanPublishData(),
		CanPublishSources: slices.Clone(p.GetCanPublishSources()), Hidden: p.GetHidden(), Recorder: p.GetRecorder(),
		CanUpdateMetadata: p.GetCanUpdateMetadata(), Agent: p.GetAgent(), CanSubscribeMetrics: p.GetCanSubscribeMetrics(),
	}
	allSources := p.GetCanPublish() && len(p.GetCanPublishSources()) == 0
	has := allSources || slices.Contains(p.GetCanPublishSources(), livekit.TrackSource_MICROPHONE)
	switch {
	case give && !has:
		if !p.GetCanPublish() {
			out.CanPublishSources = nil
		}
		out.CanPublishSources = append(out.CanPublishSources, livekit.TrackSource_MICROPHONE)
		out.CanPublish = true
		return out, true
	case !give && has:
		if allSources {
			out.CanPublishSources = []livekit.TrackSource{livekit.TrackSource_CAMERA,
				livekit.TrackSource_SCREEN_SHARE, livekit.TrackSource_SCREEN_SHARE_AUDIO}
		} else {
			out.CanPublishSources = slices.DeleteFunc(out.CanPublishSources, func(s livekit.TrackSource) bool {
				return s == livekit.TrackSource_MICROPHONE
			})
		}
		out.CanPublish = len(out.CanPublishSources) > 0
		return out, true
	}
	return p, false
}

// presetAllowsAudio reports whether a participant's preset in effect in
// meeting meetingID (presets.Effective) lets it publish its microphone
// without asking.
func (s *Service) presetAllowsAudio(ctx context.Context, appID, meetingID, participantID string) bool {
	p, err := s.st.GetParticipantByID(ctx, appID, participantID)
	if err != nil {
		return false
	}
	doc, err := presets.Effective(ctx, s.st, p, meetingID)
	if err != nil {
		return false
	}
	return slices.Contains(doc.Permissions.PublishSources(), livekit.TrackSource_MICROPHONE)
}

// targets resolves the participants named by t among those in the room of
// the meeting's active session.
func (s *Service) targets(ctx context.Context, appID, meetingID string, t Targets) (store.Meeting, store.Session, []store.SessionParticipant, error) {
	if len(t.ParticipantIDs) == 0 && len(t.CustomParticipantIDs) == 0 {
		return store.Meeting{}, store.Session{}, nil, apierr.Invalid("participant_ids", "or %q must name at least one participant", "custom_participant_ids")
	}
	m, err := s.meeting(ctx, appID, meetingID)
	if err != nil {
		return store.Meeting{}, store.Session{}, nil, err
	}
	live, err := s.st.GetLiveSession(ctx, meetingID)
	if err != nil {
		return store.Meeting{}, store.Session{}, nil, noActiveSession(meetingID, err)
	}
	present, _, err := s.st.ListSessionParticipants(ctx, live.ID, store.SessionParticipantFilter{LiveOnly: true})
	if err != nil {
		return store.Meeting{}, store.Session{}, nil, err
	}
	var rows []store.SessionParticipant
	add := func(r store.SessionParticipant) {
		if !slices.ContainsFunc(rows, func(x store.SessionParticipant) bool { return x.ID == r.ID }) {
			rows = append(rows, r)
		}
	}
	for _, id := range t.ParticipantIDs {
		i := slices.IndexFunc(present, func(r store.SessionParticipant) bool { return r.ParticipantID == id })
		if i < 0 {
			return store.Meeting{}, store.Session{}, nil, psrpc.NewErrorf(psrpc.NotFound, "participant %s is not in the active session", id)
		}
		add(present[i])
	}
	for _, id := range t.CustomParticipantIDs {
		i := slices.IndexFunc(present, func(r store.SessionParticipant) bool { return r.CustomParticipantID == id })
		if i < 0 {
			return store.Meeting{}, store.Session{}, nil, psrpc.NewErrorf(psrpc.NotFound, "no participant with custom_participant_id %q is in the active session", id)
		}
		add(present[i])
	}
	return m, live, rows, nil
}

// records returns the participant records of session participants; one
// deleted since is described from its session record.
func (s *Service) records(ctx context.Context, appID string, rows []store.SessionParticipant) []store.Participant {
	out := make([]store.Participant, 0, len(rows))
	for _, r := range rows {
		p, err := s.st.GetParticipantByID(ctx, appID, r.ParticipantID)
		if err != nil {
			p = store.Participant{ID: r.ParticipantID, AppID: appID, MeetingID: r.MeetingID,
				CustomParticipantID: r.CustomParticipantID, Name: r.DisplayName, CreatedAt: r.CreatedAt, UpdatedAt: r.UpdatedAt}
		}
		out = append(out, p)
	}
	return out
}

func (s *Service) meeting(ctx context.Context, appID, id string) (store.Meeting, error) {
	m, err := s.st.GetMeeting(ctx, appID, id)
	if err != nil {
		return store.Meeting{}, apierr.NotFound("meeting", id, err)
	}
	return m, nil
}

func noActiveSession(meetingID string, err error) error {
	if errors.Is(err, store.ErrNotFound) {
		return psrpc.NewErrorf(psrpc.NotFound, "meeting %s has no active session", meetingID)
	}
	return err
}
