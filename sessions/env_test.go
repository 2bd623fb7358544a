package sessions_test

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"encoding/json"
	"fmt"
	"log/slog"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/livekit/protocol/auth"
	"github.com/livekit/protocol/livekit"

	"rtk-sidecar/bridge"
	"rtk-sidecar/bridge/bridgetest"
	"rtk-sidecar/meetings"
	"rtk-sidecar/presets"
	"rtk-sidecar/sessions"
	"rtk-sidecar/store"
	"rtk-sidecar/store/sqlstore"
	"rtk-sidecar/tokens"
	"rtk-sidecar/webhooks"
)

const appID = "app-1"

var (
	keyOnce sync.Once
	testKey *rsa.PrivateKey
)

func rsaKey() *rsa.PrivateKey {
	keyOnce.Do(func() {
		k, err := rsa.GenerateKey(rand.Reader, 2048)
		if err != nil {
			panic(err)
		}
		testKey = k
	})
	return testKey
}

type testWriter struct{ t *testing.T }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimSpace(string(p)))
	return len(p), nil
}

// env is a real store, meetings service, outbox (not dispatching: the
// events it takes are read back from the store), tracker and service over
// an in-memory LiveKit whose webhooks go to the tracker unless a test says
// otherwise.
type env struct {
	t       *testing.T
	ctx     context.Context
	st      *sqlstore.DB
	sfu     *bridgetest.SFU
	svc     *meetings.Service
	outbox  *webhooks.Outbox
	tracker *sessions.Tracker
	api     *sessions.Service
	hook    store.Webhook

	mu       sync.Mutex
	mode     string // "apply" (default), "drop" or "capture"
	captured []*livekit.WebhookEvent
	seen     int // deliveries returned by events so far
}

func newEnv(t *testing.T) *env {
	t.Helper()
	return newEnvDSN(t, "sqlite:"+filepath.Join(t.TempDir(), "rtk.db"))
}

func newEnvDSN(t *testing.T, dsn string) *env {
	t.Helper()
	ctx := t.Context()
	st, err := sqlstore.Open(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	log := slog.New(slog.NewTextHandler(testWriter{t}, &slog.HandlerOptions{Level: slog.LevelDebug}))
	sfu := bridgetest.NewSFU()
	br := bridge.New(sfu, bridge.Keys{APIKey: "k", APISecret: "secret-0123456789-0123456789-0123"}, "ws://sfu")
	svc := meetings.New(st, tokens.NewIssuer(rsaKey(), time.Hour), br, log)
	if _, err := svc.EnsureApp(ctx, "acc-1", appID, "My app"); err != nil {
		t.Fatal(err)
	}
	signer, err := webhooks.NewSigner(rsaKey())
	if err != nil {
		t.Fatal(err)
	}
	outbox := webhooks.NewOutbox(st, signer, webhooks.Options{}, log)
	hooks := webhooks.NewService(st, signer, outbox)
	name, hookURL, events := "all", "https://receiver.example/hook", webhooks.EventNames
	hook, err := hooks.Create(ctx, appID, "", webhooks.Input{Name: &name, URL: &hookURL, Events: &events})
	if err != nil {
		t.Fatal(err)
	}
	tracker := sessions.NewTracker(st, sfu, outbox, log, sessions.TrackerOptions{})
	e := &env{t: t, ctx: ctx, st: st, sfu: sfu, svc: svc, outbox: outbox, tracker: tracker,
		api: sessions.NewService(st, sfu, tracker, log), hook: hook, mode: "apply"}
	sfu.OnEvent(e.onEvent)
	return e
}

func (e *env) onEvent(ev *livekit.WebhookEvent) {
	e.mu.Lock()
	mode := e.mode
	if mode == "capture" {
		e.captured = append(e.captured, ev)
	}
	e.mu.Unlock()
	if mode == "apply" {
		e.apply(ev)
	}
}

// setMode sets what happens to the SFU's webhook events: "apply" them,
// "drop" them (missed webhooks) or "capture" them for the test to apply.
func (e *env) setMode(mode string) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.mode = mode
}

// take returns the captured events and forgets them.
func (e *env) take() []*livekit.WebhookEvent {
	e.mu.Lock()
	defer e.mu.Unlock()
	evs := e.captured
	e.captured = nil
	return evs
}

func (e *env) apply(ev *livekit.WebhookEvent) {
	e.t.Helper()
	if err := e.tracker.HandleLiveKitEvent(context.Background(), ev); err != nil {
		e.t.Errorf("HandleLiveKitEvent(%s): %v", ev.GetEvent(), err)
	}
}

// meeting creates a meeting (a breakout room of parent when parent is not "").
func (e *env) meeting(title, parent string) store.Meeting {
	e.t.Helper()
	if parent == "" {
		m, err := e.svc.CreateMeeting(e.ctx, appID, meetings.MeetingInput{Title: title})
		if err != nil {
			e.t.Fatal(err)
		}
		return m
	}
	now := time.Now().UTC()
	m := store.Meeting{ID: uuid.NewString(), AppID: appID, ParentID: parent, Title: title, Status: store.MeetingActive,
		CreatedAt: now, UpdatedAt: now}
	if err := e.st.CreateMeeting(e.ctx, m); err != nil {
		e.t.Fatal(err)
	}
	return m
}

// participant adds a participant to meeting m with a preset.
func (e *env) participant(m store.Meeting, custom, preset string) meetings.Participant {
	e.t.Helper()
	name := "Name " + custom
	p, _, err := e.svc.AddParticipant(e.ctx, appID, m.ID, meetings.ParticipantInput{CustomParticipantID: &custom, PresetName: &preset, Name: &name})
	if err != nil {
		e.t.Fatal(err)
	}
	return p
}

// roomMeta is the room metadata the bridge sets.
func roomMeta(m store.Meeting) string {
	b, _ := json.Marshal(bridge.RoomMetadata{AppID: m.AppID, MeetingID: m.ID, ParentMeetingID: m.ParentID})
	return string(b)
}

// info is the LiveKit participant a join of p would create, with the grant
// of its preset.
func (e *env) info(p meetings.Participant, room string) *livekit.ParticipantInfo {
	e.t.Helper()
	pr, err := e.svc.Preset(e.ctx, appID, p.PresetID)
	if err != nil {
		e.t.Fatal(err)
	}
	md := bridge.ParticipantMetadata{ParticipantID: p.ID, CustomParticipantID: p.CustomParticipantID,
		MeetingID: room, PresetID: p.PresetID, PresetName: p.PresetName}
	return &livekit.ParticipantInfo{Identity: p.ID, Name: p.Name, Metadata: md.String(),
		Permission: presets.Grants(pr.Doc.Permissions, room).ToPermission()}
}

// join starts m's room (with the bridge's metadata) unless it is running
// and connects p to it.
func (e *env) join(m store.Meeting, p meetings.Participant) *livekit.ParticipantInfo {
	e.t.Helper()
	e.sfu.StartRoom(m.ID, roomMeta(m))
	return e.sfu.Join(m.ID, e.info(p, m.ID))
}

// event is a webhook event the outbox took.
type event struct {
	Name string
	Body map[string]any
}

func (ev event) meeting() map[string]any { m, _ := ev.Body["meeting"].(map[string]any); return m }
func (ev event) participant() map[string]any {
	m, _ := ev.Body["participant"].(map[string]any)
	return m
}

func (ev event) String() string {
	switch {
	case ev.participant() != nil:
		return fmt.Sprintf("%s(%v in %v)", ev.Name, ev.participant()["participantId"], ev.meeting()["id"])
	case ev.meeting() != nil:
		return fmt.Sprintf("%s(%v)", ev.Name, ev.meeting()["id"])
	}
	return ev.Name
}

// events returns the events the outbox took since the last call.
func (e *env) events() []event {
	e.t.Helper()
	ds, _, err := e.st.ListDeliveries(e.ctx, e.hook.ID, store.DeliveryFilter{})
	if err != nil {
		e.t.Fatal(err)
	}
	e.mu.Lock()
	from := e.seen
	e.seen = len(ds)
	e.mu.Unlock()
	var out []event
	for _, d := range ds[from:] {
		ev := event{Name: d.Event}
		if err := json.Unmarshal(d.Body, &ev.Body); err != nil {
			e.t.Fatalf("delivery body is not JSON: %s", d.Body)
		}
		out = append(out, ev)
	}
	return out
}

// wantEvents checks the events since the last call by name and subject:
// "meeting.started", or "meeting.participantJoined:<participant id>".
func (e *env) wantEvents(want ...string) []event {
	e.t.Helper()
	evs := e.events()
	var got []string
	for _, ev := range evs {
		s := ev.Name
		if p := ev.participant(); p != nil {
			s += ":" + fmt.Sprint(p["participantId"])
		}
		got = append(got, s)
	}
	if strings.Join(got, " ") != strings.Join(want, " ") {
		e.t.Fatalf("events\n got %v\nwant %v", got, want)
	}
	return evs
}

// live returns m's live session.
func (e *env) live(m store.Meeting) store.Session {
	e.t.Helper()
	s, err := e.st.GetLiveSession(e.ctx, m.ID)
	if err != nil {
		e.t.Fatalf("live session of %s: %v", m.ID, err)
	}
	return s
}

// stint returns participant p's record in session s.
func (e *env) stint(s store.Session, p meetings.Participant) store.SessionParticipant {
	e.t.Helper()
	r, err := e.st.GetSessionParticipant(e.ctx, s.ID, p.ID)
	if err != nil {
		e.t.Fatalf("participant %s in session %s: %v", p.ID, s.ID, err)
	}
	return r
}

// hiddenInfo is a LiveKit participant that is no session participant.
func hiddenInfo(identity string, perm *auth.VideoGrant) *livekit.ParticipantInfo {
	p := &livekit.ParticipantInfo{Identity: identity, Name: identity}
	if perm != nil {
		p.Permission = perm.ToPermission()
	}
	return p
}
