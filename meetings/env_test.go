package meetings

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"encoding/json"
	"errors"
	"log/slog"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/livekit/psrpc"

	"rtk-sidecar/bridge"
	"rtk-sidecar/presets"
	"rtk-sidecar/store"
	"rtk-sidecar/store/sqlstore"
	"rtk-sidecar/tokens"
)

// The tests run the Service over a real SQLite store, a fake LiveKit bridge
// that records what it admits, and a clock that advances one second a call,
// so that records have distinct, ordered times.

const (
	account = "acct-1"
	appID   = "4a3f2c1e-7b6d-4e5f-9a8b-0c1d2e3f4a5b"
)

var signingKey = sync.OnceValue(func() *rsa.PrivateKey {
	k, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		panic(err)
	}
	return k
})

// fakeBridge admits everyone (or fails with err) and records the admissions.
type fakeBridge struct {
	mu       sync.Mutex
	err      error
	admitted []bridge.Admission
}

func (b *fakeBridge) Admit(_ context.Context, a bridge.Admission) (bridge.Ticket, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.err != nil {
		return bridge.Ticket{}, b.err
	}
	b.admitted = append(b.admitted, a)
	return bridge.Ticket{URL: "ws://sfu.test", Token: "lk-token-" + a.Identity, Room: a.Room, Identity: a.Identity}, nil
}

func (b *fakeBridge) admissions() []bridge.Admission {
	b.mu.Lock()
	defer b.mu.Unlock()
	return append([]bridge.Admission(nil), b.admitted...)
}

// stepClock returns a time one second later at every call.
type stepClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *stepClock) now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(time.Second)
	return c.t
}

type env struct {
	t      *testing.T
	ctx    context.Context
	st     *sqlstore.DB
	br     *fakeBridge
	tokens *tokens.Issuer
	svc    *Service
}

func newEnv(t *testing.T) *env {
	t.Helper()
	st, err := sqlstore.Open(t.Context(), "sqlite:"+filepath.Join(t.TempDir(), "rtk.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	e := &env{t: t, ctx: t.Context(), st: st, br: &fakeBridge{}, tokens: tokens.NewIssuer(signingKey(), time.Hour)}
	e.svc = New(st, e.tokens, e.br, slog.New(slog.DiscardHandler))
	clk := &stepClock{t: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)}
	e.svc.now = clk.now
	if _, err := e.svc.EnsureApp(e.ctx, account, appID, "app"); err != nil {
		t.Fatal(err)
	}
	return e
}

func (e *env) meeting(title string) store.Meeting {
	e.t.Helper()
	m, err := e.svc.CreateMeeting(e.ctx, appID, MeetingInput{Title: title})
	if err != nil {
		e.t.Fatal(err)
	}
	return m
}

// room stores a breakout room of parent, ACTIVE or INACTIVE.
func (e *env) room(parent store.Meeting, title, status string) store.Meeting {
	e.t.Helper()
	now := e.svc.now()
	r := store.Meeting{ID: newID(), AppID: appID, ParentID: parent.ID, Title: title, Status: status, CreatedAt: now, UpdatedAt: now}
	if err := e.st.CreateMeeting(e.ctx, r); err != nil {
		e.t.Fatal(err)
	}
	return r
}

func (e *env) participant(m store.Meeting, custom, preset string) (Participant, string) {
	e.t.Helper()
	p, tok, err := e.svc.AddParticipant(e.ctx, appID, m.ID, ParticipantInput{CustomParticipantID: &custom, PresetName: &preset})
	if err != nil {
		e.t.Fatal(err)
	}
	return p, tok
}

func (e *env) presetID(name string) string {
	e.t.Helper()
	p, err := e.st.GetPresetByName(e.ctx, appID, name)
	if err != nil {
		e.t.Fatal(err)
	}
	return p.ID
}

// presetBody is a complete preset document named name, with the built-in
// group_call_participant's settings.
func presetBody(t *testing.T, name string) []byte {
	t.Helper()
	var body json.RawMessage
	for _, p := range presets.Defaults() {
		if p.Name == presets.GroupCallParticipant {
			var err error
			if body, err = p.Body(); err != nil {
				t.Fatal(err)
			}
		}
	}
	var doc map[string]any
	if err := json.Unmarshal(body, &doc); err != nil {
		t.Fatal(err)
	}
	doc["name"] = name
	b, err := json.Marshal(doc)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func codeOf(err error) psrpc.ErrorCode {
	var pe psrpc.Error
	if errors.As(err, &pe) {
		return pe.Code()
	}
	return "(no psrpc code)"
}

// wantErr fails unless err has the psrpc class code and its message
// contains every one of parts.
func wantErr(t *testing.T, err error, code psrpc.ErrorCode, parts ...string) {
	t.Helper()
	if err == nil {
		t.Fatalf("no error, want %s", code)
	}
	if got := codeOf(err); got != code {
		t.Fatalf("error %q has class %s, want %s", err, got, code)
	}
	for _, p := range parts {
		if !strings.Contains(err.Error(), p) {
			t.Fatalf("error %q does not mention %q", err, p)
		}
	}
}

func ptr[T any](v T) *T { return &v }
