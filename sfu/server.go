// Package sfu runs the bundled livekit-server as a supervised child process (the sidecar's
// "embedded" mode). It owns the generated LiveKit config, the child's lifetime and its log;
// it does not talk LiveKit's API — the bridge does that, using URL and the same keys.
//
// Run checks that the ports are free (it never attaches to another livekit-server), starts the
// child in its own process group, waits until it answers HTTP, restarts it with backoff if it
// dies, and stops it with SIGTERM, then SIGKILL after a grace period, when its context ends.
package sfu

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"rtk-sidecar/redact"
)

// ErrNoBinary is returned by Run when the livekit-server executable is missing.
var ErrNoBinary = errors.New("sfu: livekit-server binary not found")

// Server supervises one livekit-server child process. Create it with New and start it with Run.
type Server struct {
	opts Options
	log  *slog.Logger

	ready   chan struct{}
	running atomic.Bool
	pid     atomic.Int64

	// Restart policy; fields so that tests can shorten them.
	maxRestarts    int           // restarts allowed within restartWindow
	restartWindow  time.Duration //
	backoffInitial time.Duration // first delay before a restart, doubled per restart
	backoffMax     time.Duration //
	pollInterval   time.Duration // readiness polling
}

// New returns a Server for opts. It starts nothing; zero fields of opts take their defaults.
func New(opts Options) *Server {
	opts = opts.withDefaults()
	return &Server{
		opts:           opts,
		log:            opts.Logger.With("component", "sfu"),
		ready:          make(chan struct{}),
		maxRestarts:    5,
		restartWindow:  time.Minute,
		backoffInitial: 500 * time.Millisecond,
		backoffMax:     8 * time.Second,
		pollInterval:   50 * time.Millisecond,
	}
}

// Ready returns a channel that is closed once the first start of the server answers HTTP. It is
// never closed if Run fails first, so wait for Run's return too.
func (s *Server) Ready() <-chan struct{} { return s.ready }

// URL returns the WebSocket URL clients and SDKs use, e.g. ws://127.0.0.1:7880.
func (s *Server) URL() string { return "ws://" + s.hostPort() }

// HTTPURL returns the server's HTTP URL, e.g. http://127.0.0.1:7880, for the Twirp API clients.
func (s *Server) HTTPURL() string { return "http://" + s.hostPort() }

// PID returns the process id of the running child, or 0 when none runs.
func (s *Server) PID() int { return int(s.pid.Load()) }

// ConfigPath returns where Run writes the generated config.
func (s *Server) ConfigPath() string { return filepath.Join(s.opts.DataDir, ConfigFile) }

// LogPath returns the file that receives the child's output.
func (s *Server) LogPath() string { return filepath.Join(s.opts.DataDir, LogFile) }

// hostPort is the first bind address (a wildcard becomes loopback) with the signalling port.
func (s *Server) hostPort() string {
	host := s.opts.BindAddresses[0]
	switch host {
	case "", "0.0.0.0":
		host = "127.0.0.1"
	case "::":
		host = "::1"
	}
	return net.JoinHostPort(host, strconv.Itoa(s.opts.Port))
}

// Run writes the config, starts livekit-server and supervises it until ctx ends; then it stops
// the child and returns nil. It returns an error if the options are invalid, a port is taken,
// the first start does not answer within StartTimeout, or the child dies more than 5 times
// within a minute. Run may be called once.
func (s *Server) Run(ctx context.Context) error {
	if !s.running.CompareAndSwap(false, true) {
		return errors.New("sfu: Run called twice")
	}
	if err := platformCheck(); err != nil {
		return err
	}
	o := s.opts
	if err := o.validate(); err != nil {
		return err
	}
	if len(o.APISecret) < 32 {
		s.log.Warn("sfu: API secret shorter than 32 characters; livekit-server will complain")
	}
	if st, err := os.Stat(o.Binary); err != nil || st.IsDir() || st.Mode().Perm()&0o111 == 0 {
		return fmt.Errorf("%w at %s (set %s or build it with `make`)", ErrNoBinary, o.Binary, BinaryEnv)
	}
	body, err := configYAML(o)
	if err != nil {
		return err
	}
	cfgPath, err := writeConfig(o.DataDir, body)
	if err != nil {
		return err
	}
	logFile, err := os.OpenFile(s.LogPath(), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return fmt.Errorf("sfu: open log: %w", err)
	}
	defer logFile.Close()

	var (
		restarts []time.Time
		backoff  = s.backoffInitial
		first    = true
	)
	for {
		if err := checkPorts(o); err != nil {
			if first {
				return err
			}
			s.log.Error("sfu: cannot restart livekit-server", "err", err)
		} else {
			c, err := s.startChild(cfgPath, logFile)
			if err != nil {
				return err
			}
			startedAt := time.Now()
			err = s.waitReady(ctx, c)
			switch {
			case ctx.Err() != nil:
				return s.stop(c)
			case err != nil && first:
				_ = s.stop(c)
				return fmt.Errorf("sfu: livekit-server did not start: %w; its last output (full log in %s):\n%s", err, s.LogPath(), c.out.Tail())
			case err != nil:
				_ = s.stop(c)
				s.log.Error("sfu: restarted livekit-server did not start", "err", err, "output", c.out.Tail())
			default:
				c.readyAt = time.Now()
				if first {
					first = false
					close(s.ready)
				}
				s.log.Info("sfu: livekit-server ready", "pid", c.pid, "url", s.URL(), "took", time.Since(startedAt).Round(time.Millisecond))
				select {
				case <-ctx.Done():
					return s.stop(c)
				case <-c.done:
				}
				s.pid.Store(0)
				s.log.Error("sfu: livekit-server exited unexpectedly", "pid", c.pid, "err", exitString(c.err),
					"ran", time.Since(startedAt).Round(time.Millisecond), "output", c.out.Tail())
				if time.Since(startedAt) > s.restartWindow {
					backoff = s.backoffInitial // it had been healthy for a while
				}
			}
		}

		now := time.Now()
		restarts = pruneBefore(restarts, now.Add(-s.restartWindow))
		if len(restarts) >= s.maxRestarts {
			return fmt.Errorf("sfu: livekit-server died %d times within %s; giving up (log in %s)", len(restarts)+1, s.restartWindow, s.LogPath())
		}
		restarts = append(restarts, now)
		s.log.Warn("sfu: restarting livekit-server", "in", backoff, "restart", len(restarts))
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(backoff):
		}
		backoff = min(2*backoff, s.backoffMax)
	}
}

// child is one started livekit-server process.
type child struct {
	pid     int
	out     *output
	readyAt time.Time     // when it first answered HTTP; zero until then
	done    chan struct{} // closed when the process has exited and been reaped
	err     error         // the exit error; read it only after done is closed
}

// startChild starts livekit-server with the config at cfgPath. The fork and the wait happen on
// one goroutine locked to its OS thread, which keeps Pdeathsig (tied to the forking thread) from
// firing early; that goroutine ends when the child has been reaped, which c.done announces.
func (s *Server) startChild(cfgPath string, logFile io.Writer) (*child, error) {
	fmt.Fprintf(logFile, "---- %s sfu: starting %s --config %s\n", time.Now().Format(time.RFC3339Nano), s.opts.Binary, cfgPath)
	c := &child{out: newOutput(logFile, s.log, redact.New(s.opts.APIKey, s.opts.APISecret)), done: make(chan struct{})}
	started := make(chan error, 1)
	go func() {
		runtime.LockOSThread()
		defer runtime.UnlockOSThread()
		cmd := exec.Command(s.opts.Binary, "--config", cfgPath)
		cmd.Dir = s.opts.DataDir
		cmd.Env = childEnv(os.Environ())
		cmd.Stdout = c.out
		cmd.Stderr = c.out
		cmd.SysProcAttr = sysProcAttr()
		cmd.WaitDelay = 2 * time.Second // don't hang on output pipes held open by a stray grandchild
		if err := cmd.Start(); err != nil {
			started <- fmt.Errorf("sfu: start %s: %w", s.opts.Binary, err)
			return
		}
		c.pid = cmd.Process.Pid
		s.pid.Store(int64(c.pid))
		started <- nil
		c.err = cmd.Wait()
		close(c.done)
	}()
	if err := <-started; err != nil {
		return nil, err
	}
	s.log.Info("sfu: livekit-server started", "pid", c.pid, "binary", s.opts.Binary, "config", cfgPath)
	return c, nil
}

// waitReady polls GET / until it answers 200 "OK". It fails if the child exits or
// StartTimeout passes first, and returns ctx's error when ctx ends.
func (s *Server) waitReady(parent context.Context, c *child) error {
	ctx, cancel := context.WithTimeout(parent, s.opts.StartTimeout)
	defer cancel()
	client := &http.Client{Timeout: time.Second}
	tick := time.NewTicker(s.pollInterval)
	defer tick.Stop()
	var last error
	for {
		if last = probe(ctx, client, s.HTTPURL()+"/"); last == nil {
			return nil
		}
		select {
		case <-c.done:
			return fmt.Errorf("exited before it answered: %s", exitString(c.err))
		case <-ctx.Done():
			if err := parent.Err(); err != nil {
				return err
			}
			return fmt.Errorf("no answer from %s within %s: %v", s.HTTPURL(), s.opts.StartTimeout, last)
		case <-tick.C:
		}
	}
}

// probe does one readiness check.
func probe(ctx context.Context, client *http.Client, url string) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return err
	}
	resp, err := client.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 64))
	if resp.StatusCode != http.StatusOK || strings.TrimSpace(string(b)) != "OK" {
		return fmt.Errorf("GET %s: %s %q", url, resp.Status, b)
	}
	return nil
}

// signalSettle is how long after its HTTP port answers livekit-server starts honouring SIGTERM:
// v1.13.5 marks itself running only 100 ms after it starts serving, and a SIGTERM before that is
// ignored (its Stop returns early), so the server would run on until the second signal.
const signalSettle = 250 * time.Millisecond

// stop ends the child and returns once it is reaped. A child that never answered has no
// participants and gets SIGKILL at once. Otherwise: SIGTERM (LiveKit drains and waits for
// participants), a second SIGTERM halfway through StopTimeout (LiveKit then closes the rooms
// without waiting), and SIGKILL to the whole process group when StopTimeout is up.
func (s *Server) stop(c *child) error {
	defer s.pid.Store(0)
	select {
	case <-c.done:
		return nil
	default:
	}
	start := time.Now()
	if c.readyAt.IsZero() {
		if err := signalGroup(c.pid, sigKill); err != nil {
			s.log.Error("sfu: SIGKILL livekit-server", "pid", c.pid, "err", err)
		}
		<-c.done
		s.log.Info("sfu: killed livekit-server during startup", "pid", c.pid)
		return nil
	}
	if d := time.Until(c.readyAt.Add(signalSettle)); d > 0 {
		time.Sleep(d)
	}
	grace := s.opts.StopTimeout
	if err := signalGroup(c.pid, sigTerm); err != nil {
		s.log.Warn("sfu: SIGTERM livekit-server", "pid", c.pid, "err", err)
	}
	force := time.NewTimer(grace / 2)
	defer force.Stop()
	kill := time.NewTimer(grace)
	defer kill.Stop()
	for {
		select {
		case <-c.done:
			s.log.Info("sfu: livekit-server stopped", "pid", c.pid, "took", time.Since(start).Round(time.Millisecond), "exit", exitString(c.err))
			return nil
		case <-force.C:
			s.log.Warn("sfu: livekit-server still draining; asking it to stop now", "pid", c.pid)
			_ = signalGroup(c.pid, sigTerm)
		case <-kill.C:
			s.log.Warn("sfu: livekit-server did not stop in time; killing it", "pid", c.pid, "grace", grace)
			if err := signalGroup(c.pid, sigKill); err != nil {
				s.log.Error("sfu: SIGKILL livekit-server", "pid", c.pid, "err", err)
			}
			<-c.done
			return nil
		}
	}
}

// childEnv is env without the variables livekit-server reads as configuration (LIVEKIT_*,
// NODE_IP, UDP_PORT, REDIS_*): set in the sidecar's environment, they would silently override the
// generated config — LIVEKIT_CONFIG even replaces the whole file.
func childEnv(env []string) []string {
	out := make([]string, 0, len(env))
	for _, kv := range env {
		name, _, _ := strings.Cut(kv, "=")
		switch {
		case strings.HasPrefix(name, "LIVEKIT_"), name == "NODE_IP", name == "UDP_PORT",
			name == "REDIS_HOST", name == "REDIS_PASSWORD":
			continue
		}
		out = append(out, kv)
	}
	return out
}

func exitString(err error) string {
	if err == nil {
		return "exit status 0"
	}
	return err.Error()
}

func pruneBefore(ts []time.Time, cutoff time.Time) []time.Time {
	out := ts[:0]
	for _, t := range ts {
		if t.After(cutoff) {
			out = append(out, t)
		}
	}
	return out
}
