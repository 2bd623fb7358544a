//go:build e2e

// Package e2e runs the sidecar's end-to-end tests against a real livekit-server, started through
// package sfu, with lksdk participants that send and receive real RTP.
//
// LiveKit ignores loopback ICE candidates and pion never gathers them, so media cannot flow over
// 127.0.0.1. As root, TestMain therefore re-runs the test binary in a private network namespace
// (unshare -n) with a veth pair, v0 = 198.18.0.1 and v1 = 198.18.0.2: the SFU advertises
// 198.18.0.1, clients gather 198.18.0.x, HTTP stays on the namespace's own 127.0.0.1, no packet
// leaves the machine and no port can clash with the host. Without root, tests that need media
// skip, or fail when RTK_E2E_REQUIRED=1 (CI sets it).
//
// Run: go test -tags e2e -count=1 ./e2e/
package e2e

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"syscall"
	"testing"

	protoLogger "github.com/livekit/protocol/logger"
	lksdk "github.com/livekit/server-sdk-go/v2"
)

const (
	// envInNetns is set (to "1") in the re-executed test binary inside the namespace.
	envInNetns = "RTK_E2E_IN_NETNS"
	// envRequired turns every skip for missing prerequisites into a failure.
	envRequired = "RTK_E2E_REQUIRED"

	// The addresses of the veth pair inside the namespace. The SFU uses nodeIP on nodeIface.
	nodeIP    = "198.18.0.1"
	nodeIface = "v0"
)

// netnsScript builds the namespace's network and then execs the test binary ("$@").
const netnsScript = `set -e
# IPv4 only: pion would warn about every IPv6 link-local address of the veth pair.
echo 1 > /proc/sys/net/ipv6/conf/default/disable_ipv6 2>/dev/null || true
echo 1 > /proc/sys/net/ipv6/conf/all/disable_ipv6 2>/dev/null || true
ip link set lo up
ip link add v0 type veth peer name v1
ip addr add 198.18.0.1/24 dev v0
ip addr add 198.18.0.2/24 dev v1
ip link set v0 up
ip link set v1 up
exec "$@"
`

// netnsProblem explains why the tests do not run in a namespace; empty inside one.
var netnsProblem string

func TestMain(m *testing.M) {
	if os.Getenv(envInNetns) == "" {
		if os.Geteuid() != 0 {
			netnsProblem = "not root, so no private network namespace for media (LiveKit ignores loopback ICE candidates); run as root"
		} else if err := probeUnshare(); err != nil {
			netnsProblem = fmt.Sprintf("cannot create a network namespace: %v", err)
		} else {
			os.Exit(runInNetns())
		}
		fmt.Fprintf(os.Stderr, "e2e: %s; media tests will skip (or fail with %s=1)\n", netnsProblem, envRequired)
	}
	// lksdk (and pion through it) logs every join and subscription at info level and routine
	// ICE chatter at warn; keep errors unless RTK_E2E_SDK_LOG asks for more (debug, info, warn).
	level := os.Getenv("RTK_E2E_SDK_LOG")
	if level == "" {
		level = "error"
	}
	if l, err := protoLogger.NewZapLogger(&protoLogger.Config{Level: level}); err == nil {
		lksdk.SetLogger(l)
	}
	os.Exit(m.Run())
}

// probeUnshare checks that unshare and ip exist and that this process may create a namespace
// with a veth pair in it.
func probeUnshare() error {
	for _, tool := range []string{"unshare", "ip", "sh"} {
		if _, err := exec.LookPath(tool); err != nil {
			return err
		}
	}
	out, err := exec.Command("unshare", "-n", "sh", "-c", "ip link add v0 type veth peer name v1").CombinedOutput()
	if err != nil {
		return fmt.Errorf("%v: %s", err, out)
	}
	return nil
}

// runInNetns re-executes this test binary with the same arguments inside a new network
// namespace and returns its exit code.
func runInNetns() int {
	exe, err := os.Executable()
	if err != nil {
		fmt.Fprintln(os.Stderr, "e2e: find test binary:", err)
		return 2
	}
	args := append([]string{"-n", "sh", "-c", netnsScript, "sh", exe}, os.Args[1:]...)
	cmd := exec.Command("unshare", args...)
	cmd.Env = append(os.Environ(), envInNetns+"=1")
	cmd.Stdin, cmd.Stdout, cmd.Stderr = os.Stdin, os.Stdout, os.Stderr
	// If this process dies (go test's timeout kills it), the inner one dies with it; the inner
	// livekit-server has its own Pdeathsig, and the namespace disappears with its last process.
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}

	sigs := make(chan os.Signal, 4)
	signal.Notify(sigs, syscall.SIGINT, syscall.SIGTERM, syscall.SIGQUIT)
	defer signal.Stop(sigs)
	if err := cmd.Start(); err != nil {
		fmt.Fprintln(os.Stderr, "e2e: start namespace:", err)
		return 2
	}
	done := make(chan struct{})
	go func() { // forward signals, e.g. go test's SIGQUIT on timeout, which dumps goroutines
		for {
			select {
			case s := <-sigs:
				_ = cmd.Process.Signal(s)
			case <-done:
				return
			}
		}
	}()
	err = cmd.Wait()
	close(done)
	var exit *exec.ExitError
	switch {
	case err == nil:
		return 0
	case errors.As(err, &exit) && exit.ExitCode() >= 0:
		return exit.ExitCode()
	default:
		fmt.Fprintln(os.Stderr, "e2e: test binary in namespace:", err)
		return 2
	}
}

// inNetns reports whether the tests run inside the private network namespace.
func inNetns() bool { return os.Getenv(envInNetns) == "1" }

// requireMedia skips a test that needs RTP to flow when there is no private network namespace,
// or fails it when RTK_E2E_REQUIRED=1.
func requireMedia(t *testing.T) {
	t.Helper()
	if inNetns() {
		return
	}
	skipOrFail(t, "needs media: "+netnsProblem)
}

// skipOrFail skips with reason, or fails when RTK_E2E_REQUIRED=1.
func skipOrFail(t *testing.T, reason string) {
	t.Helper()
	if os.Getenv(envRequired) == "1" {
		t.Fatalf("%s (%s=1 makes this a failure)", reason, envRequired)
	}
	t.Skip(reason)
}
