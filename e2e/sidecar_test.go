//go:build e2e

package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/gin-gonic/gin"
	lksdk "github.com/livekit/server-sdk-go/v2"

	"rtk-sidecar/configs"
	"rtk-sidecar/service"
	"rtk-sidecar/sfu"
)

// Credentials of the sidecar under test.
const (
	e2eAccount = "e2e-account"
	e2eOrg     = "e2e-org"
	e2eApp     = "5b0e6a52-3c1d-4f7e-8a9b-0c1d2e3f4a5b"
	e2eKey     = "e2e-api-key-0123456789abcdef"
)

// Sidecar is the whole sidecar, wired and run by service.Run exactly as the
// binary does, in embedded mode: it starts and supervises the bundled
// livekit-server itself, which posts its webhooks back to the sidecar.
type Sidecar struct {
	BaseURL   string // http://127.0.0.1:<port>
	AppPath   string // the Cloudflare-style path prefix of the test app
	Cfg       *configs.Config
	LiveKit   string // ws:// URL of the bundled SFU
	Rooms     *lksdk.RoomServiceClient
	APIKey    string // LiveKit API key
	APISecret string

	cancel context.CancelFunc
	done   chan error
}

// SidecarOption changes the configuration before the start.
type SidecarOption func(*configs.Config)

// StartSidecar runs a sidecar for the test on free ports with its state in
// t.TempDir(), waits until it is ready, and stops it when the test ends.
func StartSidecar(t *testing.T, opts ...SidecarOption) *Sidecar {
	t.Helper()
	return startSidecar(t, nil, opts...)
}

// startSidecar is StartSidecar; with logs not nil, the sidecar's log goes
// there instead of the test's log, at every level.
func startSidecar(t *testing.T, logs io.Writer, opts ...SidecarOption) *Sidecar {
	t.Helper()
	requireMedia(t)
	bin := sfu.DefaultBinary()
	if _, err := os.Stat(bin); err != nil {
		skipOrFail(t, fmt.Sprintf("livekit-server binary not found at %s", bin))
	}
	dir := t.TempDir()
	apiPort, _, _ := freePorts(t)
	lkPort, tcpPort, udpPort := freePorts(t)
	cfg := configs.Default()
	cfg.HTTP.Addr = fmt.Sprintf("127.0.0.1:%d", apiPort)
	cfg.HTTP.PublicURL = fmt.Sprintf("http://127.0.0.1:%d", apiPort)
	cfg.HTTP.ShutdownTimeout = 15 * time.Second // under load, LiveKit webhooks queue for the store
	cfg.Log.Level = "warn"
	cfg.Store.DSN = "sqlite:" + filepath.Join(dir, "rtk.db")
	cfg.Auth.Keys = []configs.APIKey{{AccountID: e2eAccount, OrgID: e2eOrg, AppID: e2eApp, AppName: "e2e", Secret: e2eKey}}
	cfg.Auth.TokenKeyFile = filepath.Join(dir, "token.pem")
	cfg.Auth.TokenTTL = time.Hour
	cfg.LiveKit.Mode = configs.ModeEmbedded
	cfg.LiveKit.APIKey, cfg.LiveKit.APISecret = testAPIKey, testAPISecret
	cfg.LiveKit.Embedded = configs.Embedded{
		Binary: bin, DataDir: filepath.Join(dir, "livekit"), Port: lkPort, BindAddresses: []string{"127.0.0.1"},
		TCPPort: tcpPort, UDPPort: udpPort, LogLevel: "warn",
	}
	relocate(cfg, dir)
	if inNetns() {
		cfg.LiveKit.Embedded.NodeIP = nodeIP
		cfg.LiveKit.Embedded.Interfaces = []string{nodeIface}
		cfg.LiveKit.Embedded.IPs = []string{nodeIP + "/32"}
	}
	for _, o := range opts {
		o(cfg)
	}
	if err := cfg.Validate(); err != nil {
		t.Fatalf("test config: %v", err)
	}
	gin.SetMode(gin.TestMode)
	log := slog.New(slog.NewTextHandler(testWriter{t}, &slog.HandlerOptions{Level: slog.LevelWarn}))
	if logs != nil {
		log = slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	ctx, cancel := context.WithCancel(context.Background())
	s := &Sidecar{
		BaseURL: cfg.HTTP.PublicURL, AppPath: "/accounts/" + e2eAccount + "/realtime/kit/" + e2eApp, Cfg: cfg,
		LiveKit: fmt.Sprintf("ws://127.0.0.1:%d", lkPort),
		Rooms:   lksdk.NewRoomServiceClient(fmt.Sprintf("http://127.0.0.1:%d", lkPort), testAPIKey, testAPISecret),
		APIKey:  testAPIKey, APISecret: testAPISecret,
		cancel: cancel, done: make(chan error, 1),
	}
	go func() { s.done <- service.Run(ctx, cfg, log) }()
	t.Cleanup(func() { s.Stop(t) })

	deadline := time.Now().Add(30 * time.Second)
	for {
		res, err := http.Get(s.BaseURL + "/readyz")
		if err == nil {
			res.Body.Close()
			if res.StatusCode == 200 {
				break
			}
		}
		select {
		case err := <-s.done:
			s.done <- err
			t.Fatalf("sidecar stopped during start: %v", err)
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("sidecar not ready after 30s (last error %v)", err)
		}
		time.Sleep(50 * time.Millisecond)
	}
	return s
}

// Stop stops the sidecar (API, workers, then the SFU) and checks that it
// stopped cleanly. It is safe to call more than once.
func (s *Sidecar) Stop(t *testing.T) {
	t.Helper()
	if s.cancel == nil {
		return
	}
	s.cancel()
	s.cancel = nil
	select {
	case err := <-s.done:
		if err != nil {
			t.Errorf("sidecar stopped with an error: %v", err)
		}
	case <-time.After(30 * time.Second):
		t.Errorf("sidecar did not stop within 30s")
	}
}

// Call sends a request to the sidecar and decodes the envelope into out
// (which may be nil). It returns the HTTP status.
func (s *Sidecar) Call(t *testing.T, method, path, auth string, body, out any) int {
	t.Helper()
	status, raw := s.send(t, method, path, auth, body)
	if out != nil {
		var env struct {
			Data json.RawMessage `json:"data"`
		}
		if err := json.Unmarshal(raw, &env); err != nil {
			t.Fatalf("%s %s: %d %s", method, path, status, raw)
		}
		if status < 300 {
			if err := json.Unmarshal(env.Data, out); err != nil {
				t.Fatalf("%s %s: decode %s: %v", method, path, env.Data, err)
			}
		}
	}
	if status >= 300 && out != nil {
		t.Logf("%s %s: %d %s", method, path, status, raw)
	}
	return status
}

// send sends a request with body as JSON and auth as its Authorization (the app's API key
// when empty), and returns the status and the raw answer.
func (s *Sidecar) send(t *testing.T, method, path, auth string, body any) (int, []byte) {
	t.Helper()
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			t.Fatal(err)
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequest(method, s.BaseURL+path, rd)
	if err != nil {
		t.Fatal(err)
	}
	if auth == "" {
		auth = "Bearer " + e2eKey
	}
	req.Header.Set("Authorization", auth)
	req.Header.Set("Content-Type", "application/json")
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer res.Body.Close()
	raw, _ := io.ReadAll(res.Body)
	return res.StatusCode, raw
}

// Must is Call that fails the test unless the status is 2xx.
func (s *Sidecar) Must(t *testing.T, method, path string, body, out any) {
	t.Helper()
	if out == nil {
		out = &json.RawMessage{}
	}
	if st := s.Call(t, method, path, "", body, out); st >= 300 {
		t.Fatalf("%s %s: status %d", method, path, st)
	}
}

// CreateMeeting creates a meeting in the test app and returns its id.
func (s *Sidecar) CreateMeeting(t *testing.T, title string) string {
	t.Helper()
	var m struct{ ID string }
	s.Must(t, "POST", s.AppPath+"/meetings", map[string]any{"title": title}, &m)
	return m.ID
}

// AddParticipant adds a participant and returns its id and token.
func (s *Sidecar) AddParticipant(t *testing.T, meeting, custom, preset string) (string, string) {
	t.Helper()
	var p struct{ ID, Token string }
	s.Must(t, "POST", s.AppPath+"/meetings/"+meeting+"/participants",
		map[string]any{"custom_participant_id": custom, "preset_name": preset, "name": "Name " + custom}, &p)
	return p.ID, p.Token
}

// JoinInfo is the answer of POST /client/v1/join.
type JoinInfo struct {
	URL, Token, Room, Identity string
	MeetingID                  string `json:"meeting_id"`
}

// Join calls the join endpoint with a participant token.
func (s *Sidecar) Join(t *testing.T, participantToken string) JoinInfo {
	t.Helper()
	var j JoinInfo
	if st := s.Call(t, "POST", "/client/v1/join", "Bearer "+participantToken, nil, &j); st != 200 {
		t.Fatalf("join: status %d", st)
	}
	return j
}

// Connect joins over REST and connects an lksdk participant to its room.
func (s *Sidecar) Connect(t *testing.T, participantToken string) *Participant {
	t.Helper()
	j := s.Join(t, participantToken)
	return Join(t, j.URL, j.Token)
}

// relocate moves every file the configuration names into dir, so a test
// leaves nothing behind in the working tree.
func relocate(cfg *configs.Config, dir string) {
	v := reflect.ValueOf(cfg).Elem()
	var walk func(v reflect.Value)
	walk = func(v reflect.Value) {
		for i := range v.NumField() {
			f, name := v.Field(i), v.Type().Field(i).Name
			switch {
			case f.Kind() == reflect.Struct:
				walk(f)
			case f.Kind() == reflect.String && (strings.HasSuffix(name, "File") || strings.HasSuffix(name, "Dir")) &&
				f.String() != "" && !filepath.IsAbs(f.String()):
				f.SetString(filepath.Join(dir, f.String()))
			}
		}
	}
	walk(v)
}
