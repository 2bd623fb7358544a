package sidecar_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/livekit/protocol/auth"
	"github.com/livekit/protocol/livekit"
	"google.golang.org/protobuf/encoding/protojson"

	"rtk-sidecar/bridge"
	"rtk-sidecar/bridge/bridgetest"
	"rtk-sidecar/chat"
	"rtk-sidecar/polls"
	"rtk-sidecar/presets"
	"rtk-sidecar/recording"
	"rtk-sidecar/sessions"
	"rtk-sidecar/sidecar"
	"rtk-sidecar/store"
	"rtk-sidecar/store/sqlstore"
	"rtk-sidecar/webhooks"
)

// lkEnv is a real sidecar with sessions, polls and webhooks over an
// in-memory LiveKit (bridgetest.SFU) whose webhooks are posted, signed as
// LiveKit signs them, to the sidecar's /livekit/webhook: the whole path
// from LiveKit's event to RealtimeKit's webhook, over HTTP.
type lkEnv struct {
	*env    // the base env's helpers (do, must, ...) against this server
	st      *sqlstore.DB
	sfu     *bridgetest.SFU
	tracker *sessions.Tracker
	outbox  *webhooks.Outbox
	agents  *agentFake

	mu      sync.Mutex
	drop    bool // lose LiveKit's webhooks (the sidecar was down)
	posted  []*livekit.WebhookEvent
	lastErr string
}

func newLKEnv(t *testing.T, opts webhooks.Options) *lkEnv {
	t.Helper()
	log := slog.New(slog.NewTextHandler(testWriter{t}, &slog.HandlerOptions{Level: slog.LevelDebug}))
	sfu := bridgetest.NewSFU()
	st, _, _, svc := newMeetings(t, sfu, log)
	signer, err := webhooks.NewSigner(signingKey(t))
	if err != nil {
		t.Fatal(err)
	}
	outbox := webhooks.NewOutbox(st, signer, opts, log)
	tracker := sessions.NewTracker(st, sfu, outbox, log, sessions.TrackerOptions{})
	agents := &agentFake{conns: map[string]*agentConnFake{}}
	pl := polls.New(st, sfu, agents, log)
	tracker.Subscribe(pl.OnLiveKitEvent)
	api := sidecar.New(sidecar.Deps{
		Meetings: svc, Log: log,
		Keys: []sidecar.APIKey{
			sidecar.NewAPIKey(account, org, appID, secret),
			sidecar.NewAPIKey(otherAcc, "org-2", otherApp, otherKey),
		},
		Sessions: sessions.NewService(st, sfu, tracker, log), Polls: pl,
		Chat: chat.New(st, sfu, recording.NewSigner([]byte("chat-key-0123456789"), "http://sidecar.example", time.Hour).
			For("rtk-chat-download", chat.DownloadPath), log),
		Webhooks:      webhooks.NewService(st, signer, outbox),
		LiveKitEvents: tracker, LiveKitKeys: auth.NewSimpleKeyProvider(lkKey, lkSecret),
	})
	srv := httptest.NewServer(api.Handler())
	t.Cleanup(srv.Close)
	e := &lkEnv{env: &env{t: t, srv: srv, svc: svc}, st: st, sfu: sfu, tracker: tracker, outbox: outbox, agents: agents}
	sfu.OnEvent(e.post)
	for name, run := range map[string]func(context.Context) error{"outbox": outbox.Run, "polls": pl.Run} {
		runCtx, stop := context.WithCancel(context.Background())
		done := make(chan error, 1)
		go func() { done <- run(runCtx) }()
		t.Cleanup(func() {
			stop()
			if err := <-done; err != nil {
				t.Errorf("%s: %v", name, err)
			}
		})
	}
	return e
}

// signedWebhook returns a request carrying ev as LiveKit sends it: the
// protojson body, and a JWT signed with key and secret that holds the
// body's SHA-256.
func signedWebhook(t *testing.T, url string, ev *livekit.WebhookEvent, key, secret string) *http.Request {
	t.Helper()
	body, err := protojson.Marshal(ev)
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(body)
	tok, err := auth.NewAccessToken(key, secret).SetValidFor(5 * time.Minute).
		SetSha256(base64.StdEncoding.EncodeToString(sum[:])).ToJWT()
	if err != nil {
		t.Fatal(err)
	}
	req, err := http.NewRequest(http.MethodPost, url+"/livekit/webhook", bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", tok)
	req.Header.Set("Content-Type", "application/webhook+json")
	return req
}

// post is the SFU's webhook sender: it posts each event to the sidecar,
// signed, unless webhooks are being dropped.
func (e *lkEnv) post(ev *livekit.WebhookEvent) {
	e.mu.Lock()
	drop := e.drop
	e.mu.Unlock()
	if drop {
		return
	}
	status := e.send(signedWebhook(e.t, e.srv.URL, ev, lkKey, lkSecret))
	e.mu.Lock()
	defer e.mu.Unlock()
	e.posted = append(e.posted, ev)
	if status != http.StatusNoContent {
		e.t.Errorf("LiveKit webhook %s: status %d", ev.GetEvent(), status)
	}
}

func (e *lkEnv) send(req *http.Request) int {
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	if res.StatusCode >= 300 {
		e.mu.Lock()
		e.lastErr = string(b)
		e.mu.Unlock()
	}
	return res.StatusCode
}

func (e *lkEnv) setDrop(drop bool) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.drop = drop
}

// meeting creates a meeting over REST.
func (e *lkEnv) meeting(title string) store.Meeting {
	e.t.Helper()
	id := e.createMeeting(title)
	m, err := e.st.GetMeeting(context.Background(), appID, id)
	if err != nil {
		e.t.Fatal(err)
	}
	return m
}

// join connects a participant (added over REST) to its meeting's room as
// the client would after /client/v1/join: the room with the bridge's
// metadata, the identity and metadata of the participant, the preset's grant.
func (e *lkEnv) join(m store.Meeting, participantID string) *livekit.ParticipantInfo {
	e.t.Helper()
	ctx := context.Background()
	p, err := e.svc.Participant(ctx, appID, participantMeeting(e, participantID), participantID)
	if err != nil {
		e.t.Fatal(err)
	}
	pr, err := e.svc.Preset(ctx, appID, p.PresetID)
	if err != nil {
		e.t.Fatal(err)
	}
	md, _ := json.Marshal(bridge.RoomMetadata{AppID: m.AppID, MeetingID: m.ID, ParentMeetingID: m.ParentID})
	e.sfu.StartRoom(m.ID, string(md))
	meta := bridge.ParticipantMetadata{ParticipantID: p.ID, CustomParticipantID: p.CustomParticipantID,
		MeetingID: m.ID, PresetID: p.PresetID, PresetName: p.PresetName}
	grant := presets.Grants(pr.Doc.Permissions, m.ID).ToPermission()
	return e.sfu.Join(m.ID, &livekit.ParticipantInfo{Identity: p.ID, Name: p.Name, Metadata: meta.String(), Permission: grant})
}

// participantMeeting returns the meeting a participant was added to.
func participantMeeting(e *lkEnv, participantID string) string {
	e.t.Helper()
	p, err := e.st.GetParticipantByID(context.Background(), appID, participantID)
	if err != nil {
		e.t.Fatal(err)
	}
	return p.MeetingID
}

func TestLiveKitWebhookIntake(t *testing.T) {
	e := newLKEnv(t, webhooks.Options{})
	m := e.meeting("Intake")
	md, _ := json.Marshal(bridge.RoomMetadata{AppID: appID, MeetingID: m.ID})
	room := &livekit.Room{Sid: "RM_intake", Name: m.ID, Metadata: string(md), CreationTime: time.Now().Unix()}
	started := &livekit.WebhookEvent{Id: "EV_started", Event: "room_started", Room: room, CreatedAt: time.Now().Unix()}

	// Forged, tampered or unsigned requests: 401, nothing recorded.
	forged := signedWebhook(t, e.srv.URL, started, lkKey, "not-the-secret-0123456789-0123456789")
	tampered := signedWebhook(t, e.srv.URL, started, lkKey, lkSecret)
	body, _ := io.ReadAll(tampered.Body)
	tampered.Body = io.NopCloser(bytes.NewReader(bytes.Replace(body, []byte("RM_intake"), []byte("RM_evil00"), 1)))
	unsigned := signedWebhook(t, e.srv.URL, started, lkKey, lkSecret)
	unsigned.Header.Del("Authorization")
	unknownKey := signedWebhook(t, e.srv.URL, started, "other-key", lkSecret)
	for name, req := range map[string]*http.Request{"forged": forged, "tampered": tampered, "unsigned": unsigned, "unknown key": unknownKey} {
		if status := e.send(req); status != http.StatusUnauthorized {
			t.Errorf("%s webhook: status %d, want 401", name, status)
		}
		if !strings.Contains(e.lastErr, `"code":401`) {
			t.Errorf("%s webhook: body %s, want the error envelope", name, e.lastErr)
		}
	}
	wantError(t, e.do("GET", basePathF+"/meetings/"+m.ID+"/active-session", "", nil), 404, "no active session")

	// Genuine events, each twice: applied once. The room's start opens no
	// session; the first participant's join does.
	for range 2 {
		if status := e.send(signedWebhook(t, e.srv.URL, started, lkKey, lkSecret)); status != http.StatusNoContent {
			t.Fatalf("genuine webhook: status %d: %s", status, e.lastErr)
		}
	}
	wantError(t, e.do("GET", basePathF+"/meetings/"+m.ID+"/active-session", "", nil), 404, "no active session")
	joined := &livekit.WebhookEvent{Id: "EV_joined", Event: "participant_joined", Room: room, CreatedAt: time.Now().Unix(),
		Participant: &livekit.ParticipantInfo{Sid: "PA_1", Identity: "someone", JoinedAt: time.Now().Unix()}}
	for range 2 {
		if status := e.send(signedWebhook(t, e.srv.URL, joined, lkKey, lkSecret)); status != http.StatusNoContent {
			t.Fatalf("genuine webhook: status %d: %s", status, e.lastErr)
		}
	}
	r := e.must(200, "GET", basePathF+"/meetings/"+m.ID+"/active-session", nil)
	if r.data()["status"] != "LIVE" || r.data()["associated_id"] != m.ID {
		t.Fatalf("active session = %s", r.Raw)
	}
	list := e.must(200, "GET", basePathF+"/sessions?associated_id="+m.ID, nil).data()["sessions"].([]any)
	if len(list) != 1 {
		t.Errorf("sessions after duplicate events: %d, want 1", len(list))
	}
	// An event for a room that is no meeting is accepted and ignored.
	other := &livekit.WebhookEvent{Id: "EV_other", Event: "room_started", Room: &livekit.Room{Sid: "RM_x", Name: "not-a-meeting"}}
	if status := e.send(signedWebhook(t, e.srv.URL, other, lkKey, lkSecret)); status != http.StatusNoContent {
		t.Errorf("foreign room: status %d", status)
	}
}

// TestIntakeNotEnabled: a server built without the intake does not serve it.
func TestIntakeNotEnabled(t *testing.T) {
	e := newEnv(t)
	ev := &livekit.WebhookEvent{Id: "EV_1", Event: "room_started", Room: &livekit.Room{Name: "x"}}
	res, err := http.DefaultClient.Do(signedWebhook(t, e.srv.URL, ev, lkKey, lkSecret))
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusNotFound {
		t.Errorf("status %d, want 404", res.StatusCode)
	}
	if r := e.do("GET", "/.well-known/webhooks.json", "-", nil); r.Status != 404 {
		t.Errorf("public key without webhooks: %d", r.Status)
	}
}

// agentFake stands in for the polls agent: tests hand it data packets.
type agentFake struct {
	mu    sync.Mutex
	conns map[string]*agentConnFake
}

type agentConnFake struct {
	onData func(polls.Packet)
	closed bool
}

func (a *agentFake) Connect(_ context.Context, room string, onData func(polls.Packet), _ func()) (polls.Conn, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	c := &agentConnFake{onData: onData}
	a.conns[room] = c
	return c, nil
}

func (c *agentConnFake) SID() string { return "PA_fake" }

func (c *agentConnFake) Close() { c.closed = true }

// vote hands the agent of room a vote from identity.
func (a *agentFake) vote(t *testing.T, room, identity, pollID string, option int) {
	t.Helper()
	a.mu.Lock()
	c := a.conns[room]
	a.mu.Unlock()
	if c == nil {
		t.Fatalf("no polls agent in %s", room)
	}
	b, _ := json.Marshal(map[string]any{"v": 1, "type": polls.TypeVote, "pollId": pollID, "option": option})
	c.onData(polls.Packet{Sender: identity, Topic: polls.Topic, Payload: b})
}
