//go:build unix

package sfu

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/livekit/protocol/livekit"
	lksdk "github.com/livekit/server-sdk-go/v2"
)

// requireBinary returns the real livekit-server, or skips the test when it is missing
// (fails instead when RTK_REQUIRE_SFU=1, as CI sets).
func requireBinary(t *testing.T) string {
	t.Helper()
	bin := DefaultBinary()
	if st, err := os.Stat(bin); err != nil || st.IsDir() {
		msg := fmt.Sprintf("livekit-server binary not found at %s (build it with `make` or set %s)", bin, BinaryEnv)
		if os.Getenv("RTK_REQUIRE_SFU") == "1" {
			t.Fatal(msg + "; RTK_REQUIRE_SFU=1 makes this a failure")
		}
		t.Skip(msg)
	}
	return bin
}

// testLogger writes to the test log. Run logs only while the test waits for it, so no line
// arrives after the test has finished.
func testLogger(t *testing.T) *slog.Logger {
	return slog.New(slog.NewTextHandler(tWriter{t}, &slog.HandlerOptions{Level: slog.LevelInfo}))
}

type tWriter struct{ t *testing.T }

func (w tWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimRight(string(p), "\n"))
	return len(p), nil
}

// runner is a Run call in a goroutine.
type runner struct {
	cancel   context.CancelFunc
	done     chan error
	finished bool
	err      error
}

// wait waits up to d for Run to return and reports whether it did.
func (r *runner) wait(d time.Duration) (returned bool, err error) {
	if !r.finished {
		select {
		case r.err = <-r.done:
			r.finished = true
		case <-time.After(d):
			return false, nil
		}
	}
	return true, r.err
}

// stop cancels Run and returns its result.
func (r *runner) stop(grace time.Duration) error {
	r.cancel()
	ok, err := r.wait(grace + 10*time.Second)
	if !ok {
		return errors.New("Run did not return after cancel")
	}
	return err
}

// startReal starts the real binary on free ports, waits until it is ready and stops it at
// the end of the test.
func startReal(t *testing.T, tweak func(*Server)) (*Server, *runner) {
	t.Helper()
	bin := requireBinary(t)
	port, tcpPort, udpPort := freePorts(t)
	s := New(Options{
		Binary:  bin,
		DataDir: t.TempDir(),
		APIKey:  "testkey", APISecret: testSecret,
		Port: port, TCPPort: tcpPort, UDPPort: udpPort,
		StopTimeout: 5 * time.Second,
		Logger:      testLogger(t),
	})
	if tweak != nil {
		tweak(s)
	}
	ctx, cancel := context.WithCancel(context.Background())
	r := &runner{cancel: cancel, done: make(chan error, 1)}
	go func() { r.done <- s.Run(ctx) }()
	t.Cleanup(func() { _ = r.stop(s.opts.StopTimeout) })

	select {
	case <-s.Ready():
	case err := <-r.done:
		r.finished, r.err = true, err
		t.Fatalf("Run returned before Ready: %v", err)
	case <-time.After(30 * time.Second):
		t.Fatal("server not ready after 30s")
	}
	return s, r
}

func get(t *testing.T, url string) (int, string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, strings.TrimSpace(string(b))
}

// alive reports whether pid is a live process. A zombie counts as dead: once an orphan is killed
// it stays a zombie until init reaps it, which some containers' init never does.
func alive(pid int) bool {
	if syscall.Kill(pid, 0) != nil {
		return false
	}
	stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return !os.IsNotExist(err) // no /proc (not Linux): trust kill(0)
	}
	// The state follows the parenthesised command name: "pid (comm) S ...".
	if i := strings.LastIndexByte(string(stat), ')'); i >= 0 && i+2 < len(stat) {
		return stat[i+2] != 'Z'
	}
	return true
}

// waitGone waits until no process has pid.
func waitGone(t *testing.T, pid int, within time.Duration) {
	t.Helper()
	deadline := time.Now().Add(within)
	for alive(pid) {
		if time.Now().After(deadline) {
			t.Fatalf("process %d still alive after %s", pid, within)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func TestServerRealBinary(t *testing.T) {
	s, r := startReal(t, nil)
	pid := s.PID()
	if pid == 0 || !alive(pid) {
		t.Fatalf("PID() = %d, want a live process", pid)
	}
	if code, body := get(t, s.HTTPURL()+"/"); code != http.StatusOK || body != "OK" {
		t.Fatalf("GET / = %d %q, want 200 OK", code, body)
	}
	if !strings.HasPrefix(s.URL(), "ws://127.0.0.1:") {
		t.Errorf("URL() = %q", s.URL())
	}

	// The API answers with our keys.
	rooms := lksdk.NewRoomServiceClient(s.HTTPURL(), "testkey", testSecret)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if _, err := rooms.CreateRoom(ctx, &livekit.CreateRoomRequest{Name: "sfu-test"}); err != nil {
		t.Fatalf("CreateRoom: %v", err)
	}
	res, err := rooms.ListRooms(ctx, &livekit.ListRoomsRequest{})
	if err != nil {
		t.Fatalf("ListRooms: %v", err)
	}
	if len(res.Rooms) != 1 || res.Rooms[0].Name != "sfu-test" {
		t.Errorf("ListRooms = %v, want [sfu-test]", res.Rooms)
	}
	// And rejects others.
	if _, err := lksdk.NewRoomServiceClient(s.HTTPURL(), "testkey", strings.Repeat("x", 40)).
		ListRooms(ctx, &livekit.ListRoomsRequest{}); err == nil {
		t.Error("ListRooms with a wrong secret succeeded")
	}

	// The config holds the secret, so only we may read it.
	st, err := os.Stat(s.ConfigPath())
	if err != nil {
		t.Fatal(err)
	}
	if st.Mode().Perm() != 0o600 {
		t.Errorf("%s mode = %v, want 0600", s.ConfigPath(), st.Mode().Perm())
	}
	// The child sits in its own process group.
	if pgid, err := syscall.Getpgid(pid); err != nil || pgid != pid {
		t.Errorf("child pgid = %d (%v), want %d", pgid, err, pid)
	}

	start := time.Now()
	if err := r.stop(s.opts.StopTimeout); err != nil {
		t.Fatalf("Run after cancel = %v, want nil", err)
	}
	waitGone(t, pid, 100*time.Millisecond) // Run has reaped it already
	t.Logf("stopped in %s", time.Since(start).Round(time.Millisecond))
	if time.Since(start) > s.opts.StopTimeout {
		t.Errorf("stop took %s, longer than the grace period %s", time.Since(start), s.opts.StopTimeout)
	}
	if s.PID() != 0 {
		t.Errorf("PID() after stop = %d, want 0", s.PID())
	}
	if b, _ := os.ReadFile(s.LogPath()); !strings.Contains(string(b), "starting LiveKit server") {
		t.Errorf("log file lacks LiveKit's start line:\n%s", b)
	}
}

// TestServerDebugPort: with DebugPort set, LiveKit serves Go's pprof there (the start benchmark
// collects the SFU's garbage through it); the signalling port does not serve it.
func TestServerDebugPort(t *testing.T) {
	debugPort, _, _ := freePorts(t)
	s, _ := startReal(t, func(s *Server) { s.opts.DebugPort = debugPort })
	code, body := get(t, fmt.Sprintf("http://127.0.0.1:%d/debug/pprof/heap?gc=1&debug=1", debugPort))
	if code != http.StatusOK || !strings.Contains(body, "# NumGC = ") {
		t.Fatalf("GET the heap profile on the debug port = %d, want 200 with the memory statistics:\n%.300s", code, body)
	}
	if code, b := get(t, s.HTTPURL()+"/debug/pprof/"); code == http.StatusOK && strings.Contains(b, "goroutine") {
		t.Errorf("the signalling port serves pprof too")
	}
}

// TestServerPrometheusPort: with PrometheusPort set, LiveKit serves its own Prometheus metrics
// there.
func TestServerPrometheusPort(t *testing.T) {
	promPort, _, _ := freePorts(t)
	startReal(t, func(s *Server) { s.opts.PrometheusPort = promPort })
	code, body := get(t, fmt.Sprintf("http://127.0.0.1:%d/metrics", promPort))
	if code != http.StatusOK || !strings.Contains(body, "livekit_") {
		t.Fatalf("GET /metrics on the Prometheus port = %d, want 200 with livekit_ metrics:\n%.300s", code, body)
	}
}

func TestServerRefusesPortOfRunningServer(t *testing.T) {
	s, _ := startReal(t, nil)
	second := New(Options{
		Binary: s.opts.Binary, DataDir: t.TempDir(), APIKey: "other", APISecret: testSecret,
		Port: s.opts.Port, TCPPort: s.opts.TCPPort + 1, UDPPort: s.opts.UDPPort + 1,
	})
	err := second.Run(context.Background())
	var pe *PortInUseError
	if !errors.As(err, &pe) || pe.Port != s.opts.Port {
		t.Fatalf("second Run = %v, want port %d in use", err, s.opts.Port)
	}
}

func TestServerRestartsAfterKill(t *testing.T) {
	s, r := startReal(t, func(s *Server) { s.backoffInitial = 100 * time.Millisecond })
	old := s.PID()
	if err := syscall.Kill(old, syscall.SIGKILL); err != nil {
		t.Fatalf("kill child: %v", err)
	}
	waitGone(t, old, 5*time.Second)

	rooms := lksdk.NewRoomServiceClient(s.HTTPURL(), "testkey", testSecret)
	deadline := time.Now().Add(20 * time.Second)
	for {
		pid := s.PID()
		if pid != 0 && pid != old {
			ctx, cancel := context.WithTimeout(context.Background(), time.Second)
			_, err := rooms.ListRooms(ctx, &livekit.ListRoomsRequest{})
			cancel()
			if err == nil {
				break
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("no restarted server answering after 20s (pid %d, killed %d)", s.PID(), old)
		}
		time.Sleep(50 * time.Millisecond)
	}
	newPID := s.PID()
	if err := r.stop(s.opts.StopTimeout); err != nil {
		t.Fatalf("Run after cancel = %v", err)
	}
	waitGone(t, newPID, 100*time.Millisecond)
}

func TestServerGivesUpAfterRepeatedCrashes(t *testing.T) {
	s, r := startReal(t, func(s *Server) {
		s.maxRestarts = 2
		s.backoffInitial = 10 * time.Millisecond
	})
	rooms := lksdk.NewRoomServiceClient(s.HTTPURL(), "testkey", testSecret)
	killed := map[int]bool{}
	// Kill every incarnation as soon as it answers: the third death exceeds 2 restarts.
	for i := 0; i < 3; i++ {
		deadline := time.Now().Add(20 * time.Second)
		for {
			pid := s.PID()
			if pid != 0 && !killed[pid] {
				ctx, cancel := context.WithTimeout(context.Background(), time.Second)
				_, err := rooms.ListRooms(ctx, &livekit.ListRoomsRequest{})
				cancel()
				if err == nil {
					killed[pid] = true
					if err := syscall.Kill(pid, syscall.SIGKILL); err != nil {
						t.Fatal(err)
					}
					break
				}
			}
			if time.Now().After(deadline) {
				t.Fatalf("incarnation %d never answered", i+1)
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
	// Run must now return on its own, without cancel, and start no fourth incarnation.
	ok, err := r.wait(10 * time.Second)
	if !ok {
		t.Fatalf("Run still running after the third crash (pid %d)", s.PID())
	}
	if err == nil || !strings.Contains(err.Error(), "giving up") {
		t.Fatalf("Run = %v, want it to give up", err)
	}
	t.Logf("Run: %v", err)
	if s.PID() != 0 {
		t.Errorf("PID() = %d after giving up", s.PID())
	}
	for pid := range killed {
		waitGone(t, pid, time.Second)
	}
}

// TestNoOrphanWhenParentDies runs a Server in a helper process, SIGKILLs that process (no
// chance to clean up) and checks that the kernel kills livekit-server too (Pdeathsig).
func TestNoOrphanWhenParentDies(t *testing.T) {
	if os.Getenv("SFU_TEST_HELPER") == "1" {
		helperProcess()
		return
	}
	requireBinary(t)
	port, tcpPort, udpPort := freePorts(t)
	cmd := exec.Command(os.Args[0], "-test.run=^TestNoOrphanWhenParentDies$", "-test.count=1")
	cmd.Env = append(os.Environ(), "SFU_TEST_HELPER=1",
		"SFU_TEST_DIR="+t.TempDir(),
		fmt.Sprintf("SFU_TEST_PORTS=%d,%d,%d", port, tcpPort, udpPort))
	cmd.Stderr = tWriter{t}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { _ = cmd.Process.Kill(); _ = cmd.Wait() }()

	lines := make(chan string)
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			lines <- sc.Text()
		}
		close(lines)
	}()
	var child int
	timeout := time.After(30 * time.Second)
	for child == 0 {
		select {
		case l, ok := <-lines:
			if !ok {
				t.Fatal("helper exited before reporting the child's pid")
			}
			if p, found := strings.CutPrefix(l, "CHILD_PID="); found {
				child, _ = strconv.Atoi(p)
			}
		case <-timeout:
			t.Fatal("helper did not report the child's pid within 30s")
		}
	}
	if !alive(child) {
		t.Fatalf("child %d not alive", child)
	}
	if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	_ = cmd.Wait()
	go func() {
		for range lines { // drain
		}
	}()
	waitGone(t, child, 5*time.Second)
}

// helperProcess runs a Server until it is killed; it prints CHILD_PID=<pid> once ready.
func helperProcess() {
	var port, tcpPort, udpPort int
	fmt.Sscanf(os.Getenv("SFU_TEST_PORTS"), "%d,%d,%d", &port, &tcpPort, &udpPort)
	s := New(Options{
		DataDir: os.Getenv("SFU_TEST_DIR"), APIKey: "testkey", APISecret: testSecret,
		Port: port, TCPPort: tcpPort, UDPPort: udpPort,
		Logger: slog.New(slog.NewTextHandler(os.Stderr, nil)),
	})
	done := make(chan error, 1)
	go func() { done <- s.Run(context.Background()) }()
	select {
	case <-s.Ready():
		fmt.Printf("CHILD_PID=%d\n", s.PID())
	case err := <-done:
		fmt.Fprintln(os.Stderr, "helper: Run:", err)
		os.Exit(1)
	}
	<-done
	os.Exit(0)
}
