package sfu

import "syscall"

// sysProcAttr puts the child in its own process group, so a Ctrl-C on the sidecar's terminal
// reaches only the sidecar, which then stops the child in order; and asks the kernel to SIGKILL
// the child if the sidecar dies first (Pdeathsig), so no orphan outlives it. Pdeathsig fires when
// the OS thread that forked the child exits, which is why startChild forks on a locked thread
// that lives as long as the child.
func sysProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
}
