//go:build unix

package sfu

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// freePorts returns a signalling port, an ICE/TCP port and an ICE/UDP port that were free a
// moment ago: the kernel picks them (listen on :0), and the listeners are closed again.
func freePorts(t *testing.T) (port, tcpPort, udpPort int) {
	t.Helper()
	for range 20 {
		var ls []net.Listener
		for range 2 {
			l, err := net.Listen("tcp", ":0")
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
		if udpPort != port && udpPort != tcpPort { // distinct numbers keep messages unambiguous
			return port, tcpPort, udpPort
		}
	}
	t.Fatal("could not pick three distinct free ports")
	return
}

// fakeBinary writes an executable shell script and returns its path.
func fakeBinary(t *testing.T, script string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "fake-livekit-server")
	if err := os.WriteFile(path, []byte("#!/bin/sh\n"+script+"\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestRunRefusesBusyPorts(t *testing.T) {
	for _, tc := range []struct {
		name    string
		network string
		which   string // which option collides
	}{
		{"signalling port", "tcp", "Port"},
		{"ICE TCP port", "tcp", "TCPPort"},
		{"ICE UDP port", "udp", "UDPPort"},
		{"debug port", "tcp", "DebugPort"},
		{"Prometheus port", "tcp", "PrometheusPort"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			port, tcpPort, udpPort := freePorts(t)
			debugPort, promPort, _ := freePorts(t)
			var busy int
			switch tc.which {
			case "PrometheusPort":
				busy = promPort
			case "DebugPort":
				busy = debugPort
			case "Port":
				busy = port
			case "TCPPort":
				busy = tcpPort
			case "UDPPort":
				busy = udpPort
			}
			// Occupy the port the way another livekit-server would.
			addr := fmt.Sprintf("127.0.0.1:%d", busy)
			if tc.network == "tcp" {
				l, err := net.Listen("tcp", addr)
				if err != nil {
					t.Fatal(err)
				}
				defer l.Close()
			} else {
				c, err := net.ListenPacket("udp", addr)
				if err != nil {
					t.Fatal(err)
				}
				defer c.Close()
			}

			s := New(Options{
				Binary:  fakeBinary(t, "echo must not run; exit 1"),
				DataDir: t.TempDir(), APIKey: "k", APISecret: testSecret,
				Port: port, TCPPort: tcpPort, UDPPort: udpPort, DebugPort: debugPort, PrometheusPort: promPort,
			})
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			err := s.Run(ctx)
			var pe *PortInUseError
			if !errors.As(err, &pe) {
				t.Fatalf("Run = %v, want a *PortInUseError", err)
			}
			if pe.Port != busy || pe.Network != tc.network {
				t.Errorf("PortInUseError = %+v, want port %d/%s", pe, busy, tc.network)
			}
			if want := fmt.Sprintf("port %d already in use", busy); !strings.Contains(err.Error(), want) {
				t.Errorf("error %q does not say %q", err, want)
			}
			if b, _ := os.ReadFile(s.LogPath()); strings.Contains(string(b), "must not run") {
				t.Error("the binary ran although a port was busy")
			}
		})
	}
}

func TestRunWithoutBinary(t *testing.T) {
	s := New(Options{Binary: filepath.Join(t.TempDir(), "nope"), DataDir: t.TempDir(), APIKey: "k", APISecret: testSecret})
	err := s.Run(context.Background())
	if !errors.Is(err, ErrNoBinary) {
		t.Fatalf("Run = %v, want ErrNoBinary", err)
	}
}

func TestRunReportsFailedFirstStart(t *testing.T) {
	port, tcpPort, udpPort := freePorts(t)
	s := New(Options{
		Binary:  fakeBinary(t, `echo '{"level":"error","msg":"could not start: boom"}'; echo not-json >&2; exit 3`),
		DataDir: t.TempDir(), APIKey: "k", APISecret: testSecret,
		Port: port, TCPPort: tcpPort, UDPPort: udpPort,
	})
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	err := s.Run(ctx)
	if err == nil {
		t.Fatal("Run = nil, want an error")
	}
	for _, want := range []string{"did not start", "exit status 3", "could not start: boom", "not-json"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not mention %q", err, want)
		}
	}
	select {
	case <-s.Ready():
		t.Error("Ready closed although the server never answered")
	default:
	}
	if b, _ := os.ReadFile(s.LogPath()); !strings.Contains(string(b), "boom") {
		t.Errorf("log file lacks the child's output:\n%s", b)
	}
}

func TestRunCancelledDuringStartup(t *testing.T) {
	port, tcpPort, udpPort := freePorts(t)
	// A child that never answers HTTP and ignores SIGTERM.
	s := New(Options{
		Binary:  fakeBinary(t, `trap '' TERM; echo started; exec sleep 60`),
		DataDir: t.TempDir(), APIKey: "k", APISecret: testSecret,
		Port: port, TCPPort: tcpPort, UDPPort: udpPort,
	})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Run(ctx) }()
	deadline := time.Now().Add(5 * time.Second)
	for s.PID() == 0 {
		if time.Now().After(deadline) {
			t.Fatal("child never started")
		}
		time.Sleep(10 * time.Millisecond)
	}
	pid := s.PID()
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("Run = %v, want nil after cancel", err)
		}
	case <-time.After(3 * time.Second): // far below the 10 s grace: no drain for a server that never answered
		t.Fatal("Run did not return promptly after cancel during startup")
	}
	waitGone(t, pid, 100*time.Millisecond)
}
