package sfu

import (
	"errors"
	"fmt"
	"net"
	"strconv"
	"syscall"
)

// PortInUseError reports that a port the server needs is already taken, most likely by
// another livekit-server. Run fails with it rather than letting clients reach that other server.
type PortInUseError struct {
	Network string // "tcp" or "udp"
	Addr    string // the address that could not be bound, e.g. "127.0.0.1:7880"
	Port    int
	Err     error
}

func (e *PortInUseError) Error() string {
	return fmt.Sprintf("sfu: port %d already in use (%s %s; is another livekit-server running?)", e.Port, e.Network, e.Addr)
}

func (e *PortInUseError) Unwrap() error { return e.Err }

// checkPorts makes sure every port of o (after withDefaults) can be bound, the way
// livekit-server binds them: the signalling port (and the debug port, if set) on each bind
// address, the ICE/TCP port on all addresses, and the ICE/UDP port on all addresses (LiveKit
// binds it per interface address; the wildcard check is stricter, which is the safe side).
func checkPorts(o Options) error {
	type probe struct {
		network, addr string
		port          int
	}
	var probes []probe
	for _, a := range o.BindAddresses {
		if a == "0.0.0.0" || a == "::" {
			a = ""
		}
		probes = append(probes, probe{"tcp", net.JoinHostPort(a, strconv.Itoa(o.Port)), o.Port})
		if o.PrometheusPort != 0 {
			probes = append(probes, probe{"tcp", net.JoinHostPort(a, strconv.Itoa(o.PrometheusPort)), o.PrometheusPort})
		}
		if o.DebugPort != 0 {
			probes = append(probes, probe{"tcp", net.JoinHostPort(a, strconv.Itoa(o.DebugPort)), o.DebugPort})
		}
	}
	probes = append(probes,
		probe{"tcp", ":" + strconv.Itoa(o.TCPPort), o.TCPPort},
		probe{"udp", ":" + strconv.Itoa(o.UDPPort), o.UDPPort},
	)
	for _, p := range probes {
		var err error
		if p.network == "tcp" {
			var l net.Listener
			if l, err = net.Listen("tcp", p.addr); err == nil {
				err = l.Close()
			}
		} else {
			var c net.PacketConn
			if c, err = net.ListenPacket("udp", p.addr); err == nil {
				err = c.Close()
			}
		}
		if errors.Is(err, syscall.EADDRINUSE) {
			return &PortInUseError{Network: p.network, Addr: p.addr, Port: p.port, Err: err}
		}
		if err != nil {
			return fmt.Errorf("sfu: cannot listen on %s %s: %w", p.network, p.addr, err)
		}
	}
	return nil
}
