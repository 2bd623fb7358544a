//go:build unix && !linux

package sfu

import "syscall"

// sysProcAttr puts the child in its own process group, so a Ctrl-C on the sidecar's terminal
// reaches only the sidecar, which then stops the child in order. Outside Linux there is no
// Pdeathsig backstop.
func sysProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true}
}
