//go:build e2e

package e2e

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/livekit/protocol/auth"
	"github.com/livekit/protocol/livekit"
	lksdk "github.com/livekit/server-sdk-go/v2"

	"rtk-sidecar/sfu"
)

// Test keys for the SFU. LiveKit wants secrets of at least 32 characters.
const (
	testAPIKey    = "e2e-key"
	testAPISecret = "e2e-secret-0123456789abcdefghijklmnopqrstuv"
)

// SFUConfig tunes StartSFU; the zero value is fine.
type SFUConfig struct {
	// WebhookURLs receive LiveKit's webhooks, signed with the test key.
	WebhookURLs []string
	// Redis, when set, makes the server one node of a LiveKit cluster on that Redis (host:port).
	Redis string
	// EmptyTimeout and DepartureTimeout are the room timeouts (LiveKit's defaults when zero).
	EmptyTimeout     time.Duration
	DepartureTimeout time.Duration
	// LogLevel is LiveKit's log level; empty means $RTK_E2E_SFU_LOG, else info. The log is in
	// DataDir, and its tail is printed when the test fails.
	LogLevel string
}

// SFU is a livekit-server run by package sfu (the sidecar's embedded mode) for one test.
type SFU struct {
	Server    *sfu.Server
	URL       string // ws://127.0.0.1:<port>, for participants
	HTTPURL   string // http://127.0.0.1:<port>, for the Twirp API
	APIKey    string
	APISecret string
	DataDir   string // holds livekit.yaml and livekit-server.log
	Rooms     *lksdk.RoomServiceClient

	stopOnce sync.Once
	cancel   context.CancelFunc
	done     chan error
	t        *testing.T
}

// StartSFU starts livekit-server through sfu.Server on free ports with a t.TempDir data dir and
// the test keys, waits until it answers, and stops it when the test ends (or at Stop). Inside
// the private namespace it advertises 198.18.0.1 on v0 only (docs/livekit-notes.md §9); outside it
// lets LiveKit pick an address, which is enough for signalling but not for media. It skips the
// test when the binary is missing, unless RTK_E2E_REQUIRED=1.
func StartSFU(t *testing.T, cfg SFUConfig) *SFU {
	t.Helper()
	bin := sfu.DefaultBinary()
	if _, err := os.Stat(bin); err != nil {
		skipOrFail(t, fmt.Sprintf("livekit-server binary not found at %s (build it with `make` or set %s)", bin, sfu.BinaryEnv))
	}
	port, tcpPort, udpPort := freePorts(t)
	if cfg.LogLevel == "" {
		cfg.LogLevel = os.Getenv("RTK_E2E_SFU_LOG")
	}
	opts := sfu.Options{
		Binary:           bin,
		DataDir:          t.TempDir(),
		APIKey:           testAPIKey,
		APISecret:        testAPISecret,
		Port:             port,
		BindAddresses:    []string{"127.0.0.1"},
		TCPPort:          tcpPort,
		UDPPort:          udpPort,
		WebhookURLs:      cfg.WebhookURLs,
		Redis:            cfg.Redis,
		EmptyTimeout:     cfg.EmptyTimeout,
		DepartureTimeout: cfg.DepartureTimeout,
		LogLevel:         cfg.LogLevel,
		StopTimeout:      4 * time.Second,
		Logger:           slog.New(slog.NewTextHandler(testWriter{t}, &slog.HandlerOptions{Level: slog.LevelWarn})),
	}
	if inNetns() {
		opts.NodeIP = nodeIP
		opts.Interfaces = []string{nodeIface}
		opts.IPs = []string{nodeIP + "/32"}
	}
	srv := sfu.New(opts)
	ctx, cancel := context.WithCancel(context.Background())
	s := &SFU{
		Server: srv, URL: srv.URL(), HTTPURL: srv.HTTPURL(),
		APIKey: testAPIKey, APISecret: testAPISecret, DataDir: opts.DataDir,
		Rooms:  lksdk.NewRoomServiceClient(srv.HTTPURL(), testAPIKey, testAPISecret),
		cancel: cancel, done: make(chan error, 1), t: t,
	}
	go func() { s.done <- srv.Run(ctx) }()
	t.Cleanup(s.Stop)

	start := time.Now()
	select {
	case <-srv.Ready():
		t.Logf("SFU ready at %s in %s (data dir %s)", s.URL, time.Since(start).Round(time.Millisecond), s.DataDir)
	case err := <-s.done:
		s.done <- err // for Stop
		t.Fatalf("SFU did not start: %v", err)
	case <-time.After(30 * time.Second):
		t.Fatalf("SFU not ready after 30s; log in %s", srv.LogPath())
	}
	return s
}

// Stop stops the SFU and waits for it; it is safe to call more than once and runs at cleanup.
// livekit-server, asked to stop while it lists a participant, waits in 5 s steps for them to
// leave (sfu.Server forces it after half its grace period). Participants closed just before
// normally vanish within milliseconds, but lksdk's Disconnect sometimes loses its leave request
// (docs/livekit-notes.md §3) and the ghost would stay for about 20 s. So Stop waits up to 1 s for the
// rooms to empty and then deletes the rooms that still list someone, which disconnects them.
func (s *SFU) Stop() {
	s.stopOnce.Do(func() {
		deadline := time.Now().Add(time.Second)
		for {
			occupied := s.occupiedRooms()
			if len(occupied) == 0 {
				break
			}
			if time.Now().After(deadline) {
				s.t.Logf("SFU stop: deleting rooms %v, which still list participants (lost leave?)", occupied)
				for _, r := range occupied {
					ctx, cancel := context.WithTimeout(context.Background(), time.Second)
					_, _ = s.Rooms.DeleteRoom(ctx, &livekit.DeleteRoomRequest{Room: r})
					cancel()
				}
				break
			}
			time.Sleep(20 * time.Millisecond)
		}
		s.cancel()
		select {
		case err := <-s.done:
			if err != nil {
				s.t.Errorf("SFU Run: %v", err)
			}
		case <-time.After(20 * time.Second):
			s.t.Errorf("SFU did not stop within 20s")
		}
		if s.t.Failed() {
			s.logTail(60)
		}
	})
}

// logTail prints the last n lines of livekit-server's log to the test log (the data dir is
// deleted after the test).
func (s *SFU) logTail(n int) {
	b, err := os.ReadFile(s.Server.LogPath())
	if err != nil {
		s.t.Logf("livekit-server log: %v", err)
		return
	}
	lines := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
	lines = lines[max(0, len(lines)-n):]
	s.t.Logf("last %d lines of %s:\n%s", len(lines), s.Server.LogPath(), strings.Join(lines, "\n"))
}

// occupiedRooms returns the rooms that list at least one participant (none on API errors).
// It asks ListParticipants: a room's NumParticipants in ListRooms lags behind by seconds.
func (s *SFU) occupiedRooms() []string {
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	res, err := s.Rooms.ListRooms(ctx, &livekit.ListRoomsRequest{})
	if err != nil {
		return nil
	}
	var names []string
	for _, r := range res.Rooms {
		ps, err := s.Rooms.ListParticipants(ctx, &livekit.ListParticipantsRequest{Room: r.Name})
		if err == nil && len(ps.Participants) > 0 {
			names = append(names, r.Name)
		}
	}
	return names
}

// Token mints a join token for room with every right: publish, subscribe and data.
func (s *SFU) Token(t *testing.T, room, identity string) string {
	t.Helper()
	return s.TokenWithGrant(t, identity, &auth.VideoGrant{RoomJoin: true, Room: room})
}

// TokenWithGrant mints a join token for identity with grant (grant.Room names the room), valid
// for an hour.
func (s *SFU) TokenWithGrant(t *testing.T, identity string, grant *auth.VideoGrant) string {
	t.Helper()
	tok, err := auth.NewAccessToken(s.APIKey, s.APISecret).
		SetIdentity(identity).SetName(identity).
		SetVideoGrant(grant).SetValidFor(time.Hour).ToJWT()
	if err != nil {
		t.Fatalf("mint token for %s: %v", identity, err)
	}
	return tok
}

// eventually polls cond every 20 ms until it returns "" and fails the test if it still reports
// something missing after timeout. cond describes what is missing, which is printed on failure.
func eventually(t *testing.T, timeout time.Duration, cond func() string) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		missing := cond()
		if missing == "" {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("still not true after %s: %s", timeout, missing)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// freePorts returns a signalling, an ICE/TCP and an ICE/UDP port that the kernel just handed
// out. sfu.Server checks again before it starts, and fails clearly if one got taken meanwhile.
func freePorts(t *testing.T) (port, tcpPort, udpPort int) {
	t.Helper()
	var ls []net.Listener
	for range 2 {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatalf("pick a free port: %v", err)
		}
		ls = append(ls, l)
	}
	u, err := net.ListenPacket("udp", ":0")
	if err != nil {
		t.Fatalf("pick a free UDP port: %v", err)
	}
	port, tcpPort = ls[0].Addr().(*net.TCPAddr).Port, ls[1].Addr().(*net.TCPAddr).Port
	udpPort = u.LocalAddr().(*net.UDPAddr).Port
	for _, l := range ls {
		l.Close()
	}
	u.Close()
	return port, tcpPort, udpPort
}

// testWriter sends log output to t.Log. The SFU logs only between StartSFU and its cleanup,
// which waits for it, so nothing is written after the test ends.
type testWriter struct{ t *testing.T }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimRight(string(p), "\n"))
	return len(p), nil
}

// clientLog is the logger of a test's client: warnings and errors, in the test log, with
// the client's name.
func clientLog(t *testing.T, name string) *slog.Logger {
	return slog.New(slog.NewTextHandler(testWriter{t}, &slog.HandlerOptions{Level: slog.LevelWarn})).With("client", name)
}
