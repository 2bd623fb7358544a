package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/rsa"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gin-gonic/gin"

	"rtk-sidecar/breakouts"
	"rtk-sidecar/breakouts/breakoutstest"
	"rtk-sidecar/bridge"
	"rtk-sidecar/bridge/bridgetest"
	"rtk-sidecar/meetings"
	"rtk-sidecar/sidecar"
	"rtk-sidecar/store"
	"rtk-sidecar/store/sqlstore"
	"rtk-sidecar/tokens"
	"rtk-sidecar/webhooks"
)

const (
	account = "acc-1"
	appID   = "7a1d5b8e-0c2f-4e3a-9b6d-1f2e3d4c5b6a"
	apiKey  = "test-api-key-0123456789"
)

// sidecarEnv is a real sidecar API in-process: its store (SQLite), meetings, connected meetings
// and webhooks, over an in-memory LiveKit and mover.
type sidecarEnv struct {
	url      string
	dsn      string
	st       *sqlstore.DB
	outbox   *webhooks.Outbox
	webhooks *webhooks.Service
	mover    *breakoutstest.Mover
}

func startSidecar(t *testing.T) *sidecarEnv {
	t.Helper()
	gin.SetMode(gin.TestMode)
	ctx := context.Background()
	dsn := "sqlite:" + filepath.Join(t.TempDir(), "rtk.db")
	st, err := sqlstore.Open(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	log := slog.New(slog.DiscardHandler)
	br := bridge.New(bridgetest.NewRooms(), bridge.Keys{APIKey: "lkkey", APISecret: "lksecret-0123456789-0123456789-0123"}, "ws://sfu.example")
	svc := meetings.New(st, tokens.NewIssuer(key, time.Hour), br, log)
	if _, err := svc.EnsureApp(ctx, account, appID, "app"); err != nil {
		t.Fatal(err)
	}
	mover := breakoutstest.NewMover()
	bo := breakouts.New(st, br, mover, log)
	signer, err := webhooks.NewSigner(key)
	if err != nil {
		t.Fatal(err)
	}
	outbox := webhooks.NewOutbox(st, signer, webhooks.Options{MaxAge: 300 * time.Millisecond,
		MinBackoff: 10 * time.Millisecond, MaxBackoff: 50 * time.Millisecond, PollInterval: 20 * time.Millisecond}, log)
	for _, run := range []func(context.Context) error{bo.Run, outbox.Run} {
		runCtx, stop := context.WithCancel(ctx)
		done := make(chan struct{})
		go func() { defer close(done); _ = run(runCtx) }()
		t.Cleanup(func() { stop(); <-done })
	}
	whs := webhooks.NewService(st, signer, outbox)
	api := sidecar.New(sidecar.Deps{Meetings: svc, Log: log, Breakouts: bo, Webhooks: whs,
		Keys: []sidecar.APIKey{sidecar.NewAPIKey(account, "org-1", appID, apiKey)}})
	srv := httptest.NewServer(api.Handler())
	t.Cleanup(srv.Close)
	return &sidecarEnv{url: srv.URL, dsn: dsn, st: st, outbox: outbox, webhooks: whs, mover: mover}
}

// ctl runs rtkctl against e and returns its exit status, stdout and stderr.
func (e *sidecarEnv) ctl(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	env := map[string]string{"RTK_URL": e.url, "RTK_API_KEY": apiKey, "RTK_ACCOUNT_ID": account, "RTK_APP_ID": appID}
	var out, errOut bytes.Buffer
	code := run(t.Context(), args, &out, &errOut, func(k string) string { return env[k] })
	return code, out.String(), errOut.String()
}

// must runs rtkctl, fails t unless it succeeds, and decodes its output into v (unless nil).
func (e *sidecarEnv) must(t *testing.T, v any, args ...string) {
	t.Helper()
	code, out, errOut := e.ctl(t, args...)
	if code != 0 {
		t.Fatalf("rtkctl %s: exit %d: %s", strings.Join(args, " "), code, errOut)
	}
	if v != nil {
		if err := json.Unmarshal([]byte(out), v); err != nil {
			t.Fatalf("rtkctl %s: output is not JSON: %v\n%s", strings.Join(args, " "), err, out)
		}
	}
}

type family struct {
	Version int64   `json:"version"`
	Status  string  `json:"status"`
	EndsAt  *string `json:"ends_at"`
	Parent  struct {
		Participants []struct{ ID string } `json:"participants"`
	} `json:"parent_meeting"`
	Meetings []struct {
		ID       string   `json:"id"`
		Assigned []string `json:"assigned_participant_ids"`
	} `json:"meetings"`
	Created []string `json:"created_meeting_ids"`
}

func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); !cond(); time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("after 10s: %s", what)
		}
	}
}

// TestMeetingsParticipantsAndRooms: rtkctl creates a meeting and its participants, then
// creates, assigns, starts, moves and closes its breakout rooms, against a real API.
func TestMeetingsParticipantsAndRooms(t *testing.T) {
	e := startSidecar(t)
	var m struct{ ID, Title, Status string }
	e.must(t, &m, "meetings", "create", "-title", "All hands")
	if m.ID == "" || m.Title != "All hands" || m.Status != "ACTIVE" {
		t.Fatalf("created meeting %+v", m)
	}
	var list []struct{ ID string }
	e.must(t, &list, "meetings", "list", "-search", "hands")
	if len(list) != 1 || list[0].ID != m.ID {
		t.Fatalf("meetings list = %+v", list)
	}

	ids := map[string]string{}
	for _, p := range []struct{ name, preset string }{{"host", "group_call_host"}, {"ada", "group_call_participant"}, {"bob", "group_call_participant"}} {
		var added struct{ ID, Token, Name string }
		e.must(t, &added, "participants", "add", m.ID, "-preset", p.preset, "-name", p.name, "-id", p.name)
		if added.ID == "" || added.Token == "" || added.Name != p.name {
			t.Fatalf("added participant %+v", added)
		}
		ids[p.name] = added.ID
		e.mover.Connect(added.ID, m.ID) // in the parent meeting
	}
	var ps []struct{ ID string }
	e.must(t, &ps, "participants", "list", m.ID)
	if len(ps) != 3 {
		t.Fatalf("participants list = %+v", ps)
	}

	var st family
	e.must(t, &st, "rooms", "create", m.ID, "-count", "2")
	if len(st.Created) != 2 || st.Status != "idle" {
		t.Fatalf("rooms create = %+v", st)
	}
	r1, r2 := st.Created[0], st.Created[1]
	e.must(t, &st, "rooms", "assign", m.ID, r1+"="+ids["ada"], r2+"="+ids["bob"])
	for _, r := range st.Meetings {
		want := map[string]string{r1: ids["ada"], r2: ids["bob"]}[r.ID]
		if !slices.Equal(r.Assigned, []string{want}) {
			t.Errorf("room %s assigned %v, want [%s]", r.ID, r.Assigned, want)
		}
	}
	e.must(t, &st, "rooms", "start", m.ID, "-duration", "15m")
	if st.Status != "running" || st.EndsAt == nil {
		t.Fatalf("after rooms start: %+v", st)
	}
	eventually(t, "ada and bob in their rooms", func() bool { return e.mover.Where(ids["ada"]) == r1 && e.mover.Where(ids["bob"]) == r2 })

	e.must(t, &st, "rooms", "move", m.ID, "-from", r1, "-to", "parent", ids["ada"])
	eventually(t, "ada back in the parent", func() bool { return e.mover.Where(ids["ada"]) == m.ID })
	e.must(t, &st, "rooms", "state", m.ID)
	if st.Status != "running" {
		t.Errorf("rooms state after the move: %+v", st)
	}

	e.must(t, &st, "rooms", "close", m.ID)
	eventually(t, "bob back in the parent", func() bool { return e.mover.Where(ids["bob"]) == m.ID })
	e.must(t, &st, "rooms", "state", m.ID)
	if st.Status != "idle" {
		t.Errorf("rooms state after the close: %+v", st)
	}

	e.must(t, nil, "participants", "remove", m.ID, ids["bob"])
	e.must(t, &ps, "participants", "list", m.ID)
	if len(ps) != 2 {
		t.Errorf("participants after a removal: %+v", ps)
	}
	e.must(t, &m, "meetings", "end", m.ID)
	e.must(t, &m, "meetings", "get", m.ID)
	if m.Status != "INACTIVE" {
		t.Errorf("meeting after meetings end: %+v", m)
	}
}

// TestWebhookDeadLettersRedelivered: a delivery that died is listed among the webhook's dead
// letters and, redelivered through rtkctl, reaches its receiver.
func TestWebhookDeadLettersRedelivered(t *testing.T) {
	e := startSidecar(t)
	var up atomic.Bool
	var received atomic.Int32
	rcv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !up.Load() {
			w.WriteHeader(http.StatusServiceUnavailable)
			return
		}
		received.Add(1)
	}))
	defer rcv.Close()
	name, events := "all", []string{webhooks.MeetingStarted}
	hook, err := e.webhooks.Create(t.Context(), appID, store.FlavourRTK, webhooks.Input{Name: &name, URL: &rcv.URL, Events: &events})
	if err != nil {
		t.Fatal(err)
	}
	err = e.st.InTx(t.Context(), func(q store.Queries) error {
		return e.outbox.Enqueue(t.Context(), q, appID, webhooks.NewMeetingStarted(webhooks.Meeting{ID: "m-1", Title: "Standup"}))
	})
	if err != nil {
		t.Fatal(err)
	}

	var hooks []struct{ ID string }
	e.must(t, &hooks, "webhooks", "list")
	if len(hooks) != 1 || hooks[0].ID != hook.ID {
		t.Fatalf("webhooks list = %+v", hooks)
	}
	var dead []struct{ ID, Status string }
	eventually(t, "the delivery dead", func() bool {
		e.must(t, &dead, "webhooks", "dead", hook.ID)
		return len(dead) == 1
	})
	up.Store(true)
	var d struct{ ID, Status string }
	e.must(t, &d, "webhooks", "redeliver", hook.ID, dead[0].ID)
	if d.ID != dead[0].ID || d.Status == "dead" {
		t.Fatalf("redeliver = %+v", d)
	}
	eventually(t, "the delivery delivered", func() bool {
		var delivered []struct{ ID string }
		e.must(t, &delivered, "webhooks", "deliveries", hook.ID, "-status", "delivered")
		return len(delivered) == 1 && received.Load() == 1
	})
}

func TestErrorsAndUsage(t *testing.T) {
	e := startSidecar(t)
	code, _, errOut := e.ctl(t, "meetings", "get", "nope")
	if code != 1 || !strings.Contains(errOut, "HTTP 404") || !strings.Contains(errOut, "nope") {
		t.Errorf("meetings get nope: exit %d, %q; want 1 with the server's 404 message", code, errOut)
	}
	for _, args := range [][]string{
		{}, {"meetings"}, {"meetings", "fly"}, {"meetings", "get"}, {"participants", "add", "m"},
		{"rooms", "create", "m"}, {"rooms", "move", "m", "p"}, {"rooms", "assign", "m", "no-equals-sign"},
	} {
		if code, _, errOut := e.ctl(t, args...); code != 2 || !strings.Contains(errOut, "usage: rtkctl") {
			t.Errorf("rtkctl %s: exit %d, %q; want 2 with the usage", strings.Join(args, " "), code, errOut)
		}
	}
	var out, errOut2 bytes.Buffer
	if code := run(t.Context(), []string{"meetings", "list"}, &out, &errOut2, func(string) string { return "" }); code != 2 ||
		!strings.Contains(errOut2.String(), "-key (RTK_API_KEY)") {
		t.Errorf("without credentials: exit %d, %q", code, errOut2.String())
	}
	code, _, errOut = e.ctl(t, "-key", "wrong-key-0123456789", "meetings", "list")
	if code != 1 || !strings.Contains(errOut, "HTTP 401") {
		t.Errorf("with a wrong key: exit %d, %q", code, errOut)
	}
}

// TestMigrationsStatus: migrations status reads the database: every migration applied after
// the sidecar opened it, an error for a database that is not there.
func TestMigrationsStatus(t *testing.T) {
	e := startSidecar(t)
	known, _, err := sqlstore.MigrationStatus(t.Context(), e.dsn)
	if err != nil {
		t.Fatal(err)
	}
	code, out, errOut := e.ctl(t, "migrations", "status", "-dsn", e.dsn)
	if code != 0 || !strings.Contains(out, fmt.Sprintf("up to date: %d migrations applied", len(known))) ||
		!strings.Contains(out, "0001_init.sql") {
		t.Fatalf("migrations status: exit %d\n%s%s", code, out, errOut)
	}
	missing := "sqlite:" + filepath.Join(t.TempDir(), "none.db")
	if code, _, errOut := e.ctl(t, "migrations", "status", "-dsn", missing); code != 1 || !strings.Contains(errOut, "no SQLite database") {
		t.Errorf("migrations status of a missing database: exit %d, %q", code, errOut)
	}
	if code, _, errOut := e.ctl(t, "migrations", "status", "-dsn", "mysql://x/y"); code != 1 || !strings.Contains(errOut, `unknown scheme "mysql"`) {
		t.Errorf("migrations status of a MySQL DSN: exit %d, %q", code, errOut)
	}
}
