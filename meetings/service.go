// Package meetings owns the rules of RealtimeKit's apps, meetings,
// participants and presets: what a valid request is, what defaults apply,
// who may join what. It keeps its state in a store.Store and hands joins to
// the LiveKit bridge. It knows nothing of HTTP: its inputs are RealtimeKit
// request documents and its outputs are store records, and every error it
// returns carries a psrpc class (InvalidArgument, NotFound, AlreadyExists,
// PermissionDenied, Unauthenticated) that the HTTP edge maps to a status.
package meetings

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/google/uuid"
	"github.com/livekit/psrpc"

	"rtk-sidecar/apierr"
	"rtk-sidecar/bridge"
	"rtk-sidecar/presets"
	"rtk-sidecar/store"
	"rtk-sidecar/tokens"
)

// ErrMeetingInactive is returned by Join for a meeting whose status is INACTIVE.
var ErrMeetingInactive = psrpc.NewErrorf(psrpc.PermissionDenied, "meeting is INACTIVE: participants cannot join it")

// Bridge is the part of the LiveKit bridge the service uses.
// *bridge.Bridge implements it.
type Bridge interface {
	// Admit prepares the participant's LiveKit room and returns what a
	// client needs to connect to it.
	Admit(ctx context.Context, a bridge.Admission) (bridge.Ticket, error)
}

// TokenIssuer issues and verifies participant tokens. *tokens.Issuer implements it.
type TokenIssuer interface {
	Issue(c tokens.Claims) (string, error)
	Verify(token string) (tokens.Claims, error)
}

var (
	_ Bridge      = (*bridge.Bridge)(nil)
	_ TokenIssuer = (*tokens.Issuer)(nil)
)

// Service implements the meetings rules over a store. It is safe for
// concurrent use.
type Service struct {
	st     store.Store
	tokens TokenIssuer
	bridge Bridge
	log    *slog.Logger
	now    func() time.Time
	// apps remembers the apps read (id -> store.App): an app is never
	// changed or deleted, so every request of an app need not read it
	// again (nor another replica's process, which reads it once).
	apps sync.Map
}

// New returns a Service. It starts nothing.
func New(st store.Store, tk TokenIssuer, br Bridge, log *slog.Logger) *Service {
	return &Service{st: st, tokens: tk, bridge: br, log: log, now: time.Now}
}

func newID() string { return uuid.NewString() }

// ---- apps ----

// EnsureApp creates the app with this id for the account unless it exists,
// seeding the default presets. An existing app of another account is an
// error: ids are global.
func (s *Service) EnsureApp(ctx context.Context, accountID, appID, name string) (store.App, error) {
	a, err := s.st.GetApp(ctx, appID)
	switch {
	case err == nil && a.AccountID != accountID:
		return store.App{}, fmt.Errorf("meetings: app %s belongs to another account", appID)
	case err == nil:
		return a, nil
	case !errors.Is(err, store.ErrNotFound):
		return store.App{}, err
	}
	if name == "" {
		name = "default"
	}
	a, err = s.createApp(ctx, store.App{ID: appID, AccountID: accountID, Name: name})
	if errors.Is(err, store.ErrConflict) { // created concurrently
		return s.st.GetApp(ctx, appID)
	}
	return a, err
}

// CreateApp creates an app in the account, with the default presets.
func (s *Service) CreateApp(ctx context.Context, accountID, name string) (store.App, error) {
	name = strings.TrimSpace(name)
	if name == "" {
		return store.App{}, apierr.Invalid("name", "is required")
	}
	if len(name) > 255 {
		return store.App{}, apierr.Invalid("name", "must be at most 255 characters")
	}
	return s.createApp(ctx, store.App{ID: newID(), AccountID: accountID, Name: name})
}

func (s *Service) createApp(ctx context.Context, a store.App) (store.App, error) {
	a.CreatedAt = s.now().UTC()
	err := s.st.InTx(ctx, func(q store.Queries) error {
		if err := q.CreateApp(ctx, a); err != nil {
			return err
		}
		for _, p := range presets.Defaults() {
			rec, err := presetRecord(a.ID, newID(), p, a.CreatedAt)
			if err != nil {
				return err
			}
			if err := q.CreatePreset(ctx, rec); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return store.App{}, fmt.Errorf("meetings: create app: %w", err)
	}
	return s.st.GetApp(ctx, a.ID)
}

// App returns the app if it belongs to the account; any other app is
// reported as not found, so ids of other tenants leak nothing.
func (s *Service) App(ctx context.Context, accountID, appID string) (store.App, error) {
	a, err := s.app(ctx, appID)
	if err == nil && a.AccountID != accountID {
		err = store.ErrNotFound
	}
	if err != nil {
		return store.App{}, apierr.NotFound("app", appID, err)
	}
	return a, nil
}

// app returns the app with this id, from s.apps once read.
func (s *Service) app(ctx context.Context, id string) (store.App, error) {
	if a, ok := s.apps.Load(id); ok {
		return a.(store.App), nil
	}
	a, err := s.st.GetApp(ctx, id)
	if err != nil {
		return store.App{}, err
	}
	s.apps.Store(id, a)
	return a, nil
}

// ListApps returns the account's apps.
func (s *Service) ListApps(ctx context.Context, accountID string, p store.Page) ([]store.App, int, error) {
	return s.st.ListApps(ctx, accountID, p)
}

// ---- meetings ----

// MeetingInput is the body of a meeting create (POST) or replace (PUT).
// Every field is optional.
type MeetingInput struct {
	Title                      string           `json:"title"`
	RecordOnStart              bool             `json:"record_on_start"`
	LiveStreamOnStart          bool             `json:"live_stream_on_start"`
	PersistChat                bool             `json:"persist_chat"`
	SummarizeOnEnd             bool             `json:"summarize_on_end"`
	SessionKeepAliveTimeInSecs *float64         `json:"session_keep_alive_time_in_secs"`
	PreferredRegion            *string          `json:"preferred_region"`
	AIConfig                   *AIConfig        `json:"ai_config"`
	RecordingConfig            *RecordingConfig `json:"recording_config"`
}

// MeetingPatch is the body of a meeting update (PATCH): only the fields
// present change. It is the only request that changes the status.
type MeetingPatch struct {
	Title                      *string   `json:"title"`
	Status                     *string   `json:"status"`
	RecordOnStart              *bool     `json:"record_on_start"`
	LiveStreamOnStart          *bool     `json:"live_stream_on_start"`
	PersistChat                *bool     `json:"persist_chat"`
	SummarizeOnEnd             *bool     `json:"summarize_on_end"`
	SessionKeepAliveTimeInSecs *float64  `json:"session_keep_alive_time_in_secs"`
	PreferredRegion            *string   `json:"preferred_region"`
	AIConfig                   *AIConfig `json:"ai_config"`
}

var preferredRegions = []string{"ap-south-1", "ap-southeast-1", "us-east-1", "eu-central-1"}

const maxTitle = 1024

func checkTitle(t string) error {
	if len(t) > maxTitle {
		return apierr.Invalid("title", "must be at most %d characters", maxTitle)
	}
	return nil
}

func keepAlive(v *float64) (int, error) {
	if v == nil {
		return 0, nil
	}
	if *v < 0 || *v > 86400 || *v != float64(int(*v)) {
		return 0, apierr.Invalid("session_keep_alive_time_in_secs", "must be a whole number of seconds between 0 and 86400")
	}
	return int(*v), nil
}

func region(v *string) (string, error) {
	if v == nil || *v == "" {
		return "", nil
	}
	if !slices.Contains(preferredRegions, *v) {
		return "", apierr.Invalid("preferred_region", "must be one of [%s]", strings.Join(preferredRegions, ", "))
	}
	return *v, nil
}

// apply sets every field of m from in (a create or a replace).
func (in *MeetingInput) apply(m *store.Meeting) error {
	if err := checkTitle(in.Title); err != nil {
		return err
	}
	ka, err := keepAlive(in.SessionKeepAliveTimeInSecs)
	if err != nil {
		return err
	}
	reg, err := region(in.PreferredRegion)
	if err != nil {
		return err
	}
	ai, err := encode(in.AIConfig, in.AIConfig == nil)
	if err != nil {
		return err
	}
	rc, err := encode(in.RecordingConfig, in.RecordingConfig == nil)
	if err != nil {
		return err
	}
	m.Title = strings.TrimSpace(in.Title)
	m.RecordOnStart, m.LiveStreamOnStart = in.RecordOnStart, in.LiveStreamOnStart
	m.PersistChat, m.SummarizeOnEnd = in.PersistChat, in.SummarizeOnEnd
	m.SessionKeepAliveTimeInSecs, m.PreferredRegion = ka, reg
	m.AIConfig, m.RecordingConfig = ai, rc
	return nil
}

// CreateMeeting creates an ACTIVE meeting in the app.
func (s *Service) CreateMeeting(ctx context.Context, appID string, in MeetingInput) (store.Meeting, error) {
	now := s.now().UTC()
	m := store.Meeting{ID: newID(), AppID: appID, Status: store.MeetingActive, CreatedAt: now, UpdatedAt: now}
	if err := in.apply(&m); err != nil {
		return store.Meeting{}, err
	}
	if err := s.st.CreateMeeting(ctx, m); err != nil {
		return store.Meeting{}, fmt.Errorf("meetings: create meeting: %w", err)
	}
	return s.Meeting(ctx, appID, m.ID)
}

// Meeting returns one meeting of the app.
func (s *Service) Meeting(ctx context.Context, appID, id string) (store.Meeting, error) {
	m, err := s.st.GetMeeting(ctx, appID, id)
	if err != nil {
		return store.Meeting{}, apierr.NotFound("meeting", id, err)
	}
	return m, nil
}

// ListMeetings returns the app's meetings matching the filter. A search
// matches the title (substring, any case) or the exact meeting id.
func (s *Service) ListMeetings(ctx context.Context, appID string, f store.MeetingFilter) ([]store.Meeting, int, error) {
	if id := strings.TrimSpace(f.Search); id != "" {
		if _, err := uuid.Parse(id); err == nil {
			m, err := s.st.GetMeeting(ctx, appID, id)
			switch {
			case err == nil:
				if f.Page.Offset > 0 {
					return nil, 1, nil
				}
				return []store.Meeting{m}, 1, nil
			case !errors.Is(err, store.ErrNotFound):
				return nil, 0, err
			}
		}
	}
	return s.st.ListMeetings(ctx, appID, f)
}

// UpdateMeeting applies a partial update.
func (s *Service) UpdateMeeting(ctx context.Context, appID, id string, p MeetingPatch) (store.Meeting, error) {
	return s.updateMeeting(ctx, appID, id, func(m *store.Meeting) error {
		if p.Title != nil {
			if err := checkTitle(*p.Title); err != nil {
				return err
			}
			m.Title = strings.TrimSpace(*p.Title)
		}
		if p.Status != nil {
			if *p.Status != store.MeetingActive && *p.Status != store.MeetingInactive {
				return apierr.Invalid("status", "must be one of [ACTIVE, INACTIVE]")
			}
			m.Status = *p.Status
		}
		setBool(&m.RecordOnStart, p.RecordOnStart)
		setBool(&m.LiveStreamOnStart, p.LiveStreamOnStart)
		setBool(&m.PersistChat, p.PersistChat)
		setBool(&m.SummarizeOnEnd, p.SummarizeOnEnd)
		if p.SessionKeepAliveTimeInSecs != nil {
			ka, err := keepAlive(p.SessionKeepAliveTimeInSecs)
			if err != nil {
				return err
			}
			m.SessionKeepAliveTimeInSecs = ka
		}
		if p.PreferredRegion != nil {
			reg, err := region(p.PreferredRegion)
			if err != nil {
				return err
			}
			m.PreferredRegion = reg
		}
		if p.AIConfig != nil {
			ai, err := encode(p.AIConfig, false)
			if err != nil {
				return err
			}
			m.AIConfig = ai
		}
		return nil
	})
}

// ReplaceMeeting replaces every settable field (PUT); the status is kept.
func (s *Service) ReplaceMeeting(ctx context.Context, appID, id string, in MeetingInput) (store.Meeting, error) {
	return s.updateMeeting(ctx, appID, id, in.apply)
}

func (s *Service) updateMeeting(ctx context.Context, appID, id string, change func(*store.Meeting) error) (store.Meeting, error) {
	var out store.Meeting
	err := s.st.InTx(ctx, func(q store.Queries) error {
		m, err := q.GetMeeting(ctx, appID, id)
		if err != nil {
			return apierr.NotFound("meeting", id, err)
		}
		if err := change(&m); err != nil {
			return err
		}
		m.UpdatedAt = s.now().UTC()
		if err := q.UpdateMeeting(ctx, m); err != nil {
			return err
		}
		out, err = q.GetMeeting(ctx, appID, id)
		return err
	})
	return out, err
}

func setBool(dst *bool, v *bool) {
	if v != nil {
		*dst = *v
	}
}

// ---- presets ----

// Preset is a stored preset with its decoded document.
type Preset struct {
	store.Preset
	Doc presets.Preset
}

func presetRecord(appID, id string, p presets.Preset, now time.Time) (store.Preset, error) {
	body, err := p.Body()
	if err != nil {
		return store.Preset{}, fmt.Errorf("meetings: encode preset: %w", err)
	}
	return store.Preset{ID: id, AppID: appID, Name: p.Name, Body: body, CreatedAt: now, UpdatedAt: now}, nil
}

func decodePreset(rec store.Preset) (Preset, error) {
	doc, err := presets.FromBody(rec.Name, rec.Body)
	if err != nil {
		return Preset{}, fmt.Errorf("meetings: stored preset %s: %w", rec.ID, err)
	}
	return Preset{Preset: rec, Doc: doc}, nil
}

// CreatePreset validates a preset document and stores it under a new id.
func (s *Service) CreatePreset(ctx context.Context, appID string, body []byte) (Preset, error) {
	doc, err := presets.Decode(body)
	if err != nil {
		return Preset{}, err
	}
	rec, err := presetRecord(appID, newID(), doc, s.now().UTC())
	if err != nil {
		return Preset{}, err
	}
	if err := s.st.CreatePreset(ctx, rec); err != nil {
		return Preset{}, presetConflict(doc.Name, err)
	}
	return s.Preset(ctx, appID, rec.ID)
}

// Preset returns one preset of the app.
func (s *Service) Preset(ctx context.Context, appID, id string) (Preset, error) {
	rec, err := s.st.GetPreset(ctx, appID, id)
	if err != nil {
		return Preset{}, apierr.NotFound("preset", id, err)
	}
	return decodePreset(rec)
}

// ListPresets returns the app's presets (records only; bodies are not decoded).
func (s *Service) ListPresets(ctx context.Context, appID string, p store.Page) ([]store.Preset, int, error) {
	return s.st.ListPresets(ctx, appID, p)
}

// UpdatePreset merges a partial preset document over the stored one.
func (s *Service) UpdatePreset(ctx context.Context, appID, id string, patch []byte) (Preset, error) {
	var out Preset
	err := s.st.InTx(ctx, func(q store.Queries) error {
		rec, err := q.GetPreset(ctx, appID, id)
		if err != nil {
			return apierr.NotFound("preset", id, err)
		}
		cur, err := decodePreset(rec)
		if err != nil {
			return err
		}
		doc, err := cur.Doc.Patch(patch)
		if err != nil {
			return err
		}
		next, err := presetRecord(appID, id, doc, s.now().UTC())
		if err != nil {
			return err
		}
		next.CreatedAt = rec.CreatedAt
		if err := q.UpdatePreset(ctx, next); err != nil {
			return presetConflict(doc.Name, err)
		}
		rec, err = q.GetPreset(ctx, appID, id)
		if err != nil {
			return err
		}
		out, err = decodePreset(rec)
		return err
	})
	return out, err
}

// DeletePreset removes a preset that no participant uses and returns it.
func (s *Service) DeletePreset(ctx context.Context, appID, id string) (Preset, error) {
	var out Preset
	err := s.st.InTx(ctx, func(q store.Queries) error {
		rec, err := q.GetPreset(ctx, appID, id)
		if err != nil {
			return apierr.NotFound("preset", id, err)
		}
		if out, err = decodePreset(rec); err != nil {
			return err
		}
		if err := q.DeletePreset(ctx, appID, id); err != nil {
			if errors.Is(err, store.ErrConflict) {
				return psrpc.NewErrorf(psrpc.AlreadyExists, "preset %q is still assigned to participants; move them to another preset first", rec.Name)
			}
			return err
		}
		return nil
	})
	return out, err
}

func presetConflict(name string, err error) error {
	if errors.Is(err, store.ErrConflict) {
		return psrpc.NewErrorf(psrpc.AlreadyExists, "a preset named %q already exists in this app", name)
	}
	return err
}

// presetByName resolves a preset_name of a request.
func presetByName(ctx context.Context, q store.Queries, appID, name string) (store.Preset, error) {
	p, err := q.GetPresetByName(ctx, appID, name)
	if errors.Is(err, store.ErrNotFound) {
		return store.Preset{}, apierr.Invalid("preset_name", "names no preset of this app: %q", name)
	}
	return p, err
}

// ---- participants ----

// ParticipantInput is the body of an add-participant request.
type ParticipantInput struct {
	CustomParticipantID *string `json:"custom_participant_id"`
	PresetName          *string `json:"preset_name"`
	Name                *string `json:"name"`
	Picture             *string `json:"picture"`
}

// ParticipantPatch is the body of an edit-participant request.
type ParticipantPatch struct {
	Name       *string `json:"name"`
	Picture    *string `json:"picture"`
	PresetName *string `json:"preset_name"`
}

// Participant is a stored participant with the name of its preset.
type Participant struct {
	store.Participant
	PresetName string
}

func checkPicture(p *string) error {
	if p == nil || *p == "" {
		return nil
	}
	return httpURL("picture", *p, "http", "https")
}

func checkName(n *string) error {
	if n != nil && len(*n) > 255 {
		return apierr.Invalid("name", "must be at most 255 characters")
	}
	return nil
}

func required(field string, v *string) (string, error) {
	if v == nil || strings.TrimSpace(*v) == "" {
		return "", apierr.Invalid(field, "is required")
	}
	return strings.TrimSpace(*v), nil
}

// AddParticipant adds a participant to a meeting and returns it with a
// fresh participant token.
//
// It makes one write and reads nothing back: the meeting and the preset are
// read first, and the foreign keys of the insert catch either one deleted
// meanwhile, as if the deletion had come first.
func (s *Service) AddParticipant(ctx context.Context, appID, meetingID string, in ParticipantInput) (Participant, string, error) {
	cpid, err := required("custom_participant_id", in.CustomParticipantID)
	if err != nil {
		return Participant{}, "", err
	}
	if len(cpid) > 255 {
		return Participant{}, "", apierr.Invalid("custom_participant_id", "must be at most 255 characters")
	}
	presetName, err := required("preset_name", in.PresetName)
	if err != nil {
		return Participant{}, "", err
	}
	if err := firstErr(checkName(in.Name), checkPicture(in.Picture)); err != nil {
		return Participant{}, "", err
	}
	now := s.now().UTC().Truncate(time.Microsecond) // as stored
	p := store.Participant{ID: newID(), AppID: appID, MeetingID: meetingID, CustomParticipantID: cpid,
		Name: deref(in.Name), Picture: deref(in.Picture), CreatedAt: now, UpdatedAt: now}
	// The usual case in one statement; when the meeting or the preset is
	// missing, the steps below tell which.
	presetID, err := s.st.CreateParticipantWithPreset(ctx, p, presetName)
	switch {
	case err == nil:
		p.PresetID = presetID
		got := Participant{Participant: p, PresetName: presetName}
		tok, err := s.issue(ctx, got)
		return got, tok, err
	case errors.Is(err, store.ErrConflict):
		return Participant{}, "", psrpc.NewErrorf(psrpc.AlreadyExists, "a participant with custom_participant_id %q already exists in this meeting", cpid)
	case !errors.Is(err, store.ErrNotFound):
		return Participant{}, "", err
	}
	if _, err := s.Meeting(ctx, appID, meetingID); err != nil {
		return Participant{}, "", err
	}
	preset, err := presetByName(ctx, s.st, appID, presetName)
	if err != nil {
		return Participant{}, "", err
	}
	p.PresetID = preset.ID // created meanwhile
	if err := s.st.CreateParticipant(ctx, p); err != nil {
		switch {
		case errors.Is(err, store.ErrConflict):
			return Participant{}, "", psrpc.NewErrorf(psrpc.AlreadyExists, "a participant with custom_participant_id %q already exists in this meeting", cpid)
		case errors.Is(err, store.ErrNotFound): // deleted since it was read
			if _, merr := s.Meeting(ctx, appID, meetingID); merr != nil {
				return Participant{}, "", merr
			}
			return Participant{}, "", apierr.Invalid("preset_name", "names no preset of this app: %q", presetName)
		}
		return Participant{}, "", err
	}
	got := Participant{Participant: p, PresetName: preset.Name}
	tok, err := s.issue(ctx, got)
	return got, tok, err
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return strings.TrimSpace(*s)
}

func (s *Service) issue(ctx context.Context, p Participant) (string, error) {
	a, err := s.app(ctx, p.AppID)
	if err != nil {
		return "", err
	}
	return s.tokens.Issue(tokens.Claims{OrgID: a.AccountID, AppID: p.AppID, MeetingID: p.MeetingID,
		ParticipantID: p.ID, PresetID: p.PresetID})
}

// Participant returns one participant of a meeting of the app.
func (s *Service) Participant(ctx context.Context, appID, meetingID, id string) (Participant, error) {
	if _, err := s.Meeting(ctx, appID, meetingID); err != nil {
		return Participant{}, err
	}
	p, err := s.st.GetParticipant(ctx, meetingID, id)
	if err != nil {
		return Participant{}, apierr.NotFound("participant", id, err)
	}
	return s.withPresetName(ctx, p)
}

func (s *Service) withPresetName(ctx context.Context, p store.Participant) (Participant, error) {
	pr, err := s.st.GetPreset(ctx, p.AppID, p.PresetID)
	if err != nil {
		return Participant{}, fmt.Errorf("meetings: preset of participant %s: %w", p.ID, err)
	}
	return Participant{Participant: p, PresetName: pr.Name}, nil
}

// ListParticipants returns a meeting's participants.
func (s *Service) ListParticipants(ctx context.Context, appID, meetingID string, pg store.Page) ([]Participant, int, error) {
	if _, err := s.Meeting(ctx, appID, meetingID); err != nil {
		return nil, 0, err
	}
	ps, total, err := s.st.ListParticipants(ctx, meetingID, pg)
	if err != nil {
		return nil, 0, err
	}
	names := map[string]string{}
	out := make([]Participant, 0, len(ps))
	for _, p := range ps {
		name, ok := names[p.PresetID]
		if !ok {
			pr, err := s.st.GetPreset(ctx, appID, p.PresetID)
			if err != nil {
				return nil, 0, fmt.Errorf("meetings: preset of participant %s: %w", p.ID, err)
			}
			name = pr.Name
			names[p.PresetID] = name
		}
		out = append(out, Participant{Participant: p, PresetName: name})
	}
	return out, total, nil
}

// EditParticipant changes a participant's name, picture or preset and
// returns it with a fresh token (which carries the new preset).
func (s *Service) EditParticipant(ctx context.Context, appID, meetingID, id string, in ParticipantPatch) (Participant, string, error) {
	if err := firstErr(checkName(in.Name), checkPicture(in.Picture)); err != nil {
		return Participant{}, "", err
	}
	if in.PresetName != nil && strings.TrimSpace(*in.PresetName) == "" {
		return Participant{}, "", apierr.Invalid("preset_name", "must not be empty")
	}
	err := s.st.InTx(ctx, func(q store.Queries) error {
		if _, err := q.GetMeeting(ctx, appID, meetingID); err != nil {
			return apierr.NotFound("meeting", meetingID, err)
		}
		p, err := q.GetParticipant(ctx, meetingID, id)
		if err != nil {
			return apierr.NotFound("participant", id, err)
		}
		if in.Name != nil {
			p.Name = deref(in.Name)
		}
		if in.Picture != nil {
			p.Picture = deref(in.Picture)
		}
		if in.PresetName != nil {
			pr, err := presetByName(ctx, q, appID, strings.TrimSpace(*in.PresetName))
			if err != nil {
				return err
			}
			p.PresetID = pr.ID
		}
		p.UpdatedAt = s.now().UTC()
		return q.UpdateParticipant(ctx, p)
	})
	if err != nil {
		return Participant{}, "", err
	}
	p, err := s.Participant(ctx, appID, meetingID, id)
	if err != nil {
		return Participant{}, "", err
	}
	tok, err := s.issue(ctx, p)
	return p, tok, err
}

// DeleteParticipant removes a participant and returns what it was.
func (s *Service) DeleteParticipant(ctx context.Context, appID, meetingID, id string) (Participant, error) {
	p, err := s.Participant(ctx, appID, meetingID, id)
	if err != nil {
		return Participant{}, err
	}
	if err := s.st.DeleteParticipant(ctx, meetingID, id); err != nil {
		return Participant{}, apierr.NotFound("participant", id, err)
	}
	return p, nil
}

// RefreshToken issues a new token for an existing participant.
func (s *Service) RefreshToken(ctx context.Context, appID, meetingID, id string) (string, error) {
	p, err := s.Participant(ctx, appID, meetingID, id)
	if err != nil {
		return "", err
	}
	return s.issue(ctx, p)
}

// ---- join ----

// Joined is what a client needs to connect to LiveKit, and who it is.
type Joined struct {
	bridge.Ticket
	Participant Participant
	Meeting     store.Meeting
	Preset      Preset
}

// Authenticate returns the participant a token names, if it still exists.
func (s *Service) Authenticate(ctx context.Context, token string) (store.Participant, error) {
	c, err := s.tokens.Verify(token)
	if err != nil {
		return store.Participant{}, err
	}
	p, err := s.st.GetParticipant(ctx, c.MeetingID, c.ParticipantID)
	if errors.Is(err, store.ErrNotFound) || (err == nil && p.AppID != c.AppID) {
		return store.Participant{}, fmt.Errorf("%w: participant no longer exists", tokens.ErrInvalid)
	}
	return p, err
}

// Join admits the holder of a participant token to the LiveKit room it
// belongs in, with grants derived from its preset. That room is its
// meeting's, or the breakout room the participant is placed in (so a
// participant moved while offline lands in its new room), where a preset
// given with the move replaces its own. A token whose participant was
// deleted is refused; an INACTIVE meeting refuses joins.
func (s *Service) Join(ctx context.Context, token string) (Joined, error) {
	p, err := s.Authenticate(ctx, token)
	if err != nil {
		return Joined{}, err
	}
	return s.JoinAs(ctx, p)
}

// JoinAs is Join for a participant its caller has authenticated already.
func (s *Service) JoinAs(ctx context.Context, p store.Participant) (Joined, error) {
	home, err := s.st.GetMeeting(ctx, p.AppID, p.MeetingID)
	if err != nil {
		return Joined{}, err
	}
	if home.Status == store.MeetingInactive {
		return Joined{}, ErrMeetingInactive
	}
	room, presetID, err := s.placedIn(ctx, p, home)
	if err != nil {
		return Joined{}, err
	}
	pr, err := s.st.GetPreset(ctx, p.AppID, presetID)
	if err != nil {
		return Joined{}, err
	}
	preset, err := decodePreset(pr)
	if err != nil {
		return Joined{}, err
	}
	meta := bridge.ParticipantMetadata{
		ParticipantID: p.ID, CustomParticipantID: p.CustomParticipantID, MeetingID: room.ID,
		PresetID: pr.ID, PresetName: pr.Name, Picture: p.Picture,
	}
	t, err := s.bridge.Admit(ctx, bridge.Admission{
		Room:     room.ID,
		RoomMeta: bridge.RoomMetadata{AppID: room.AppID, MeetingID: room.ID, ParentMeetingID: room.ParentID},
		Identity: p.ID,
		Name:     p.Name,
		Metadata: meta.String(),
		Grant:    presets.Grants(preset.Doc.Permissions, room.ID),
	})
	if err != nil {
		return Joined{}, err
	}
	return Joined{Ticket: t, Participant: Participant{Participant: p, PresetName: pr.Name}, Meeting: room, Preset: preset}, nil
}

// placedIn returns the meeting a participant belongs in and its effective
// preset there (presets.Standing): its placement's breakout room while that
// room is active, else its own meeting.
func (s *Service) placedIn(ctx context.Context, p store.Participant, home store.Meeting) (store.Meeting, string, error) {
	st, err := presets.StandingOf(ctx, s.st, p)
	if err != nil {
		return store.Meeting{}, "", err
	}
	room := home
	if id := st.Room(); id != home.ID {
		if room, err = s.st.GetMeeting(ctx, p.AppID, id); err != nil {
			return store.Meeting{}, "", err
		}
	}
	return room, st.EffectiveID(room.ID), nil
}
