//go:build unix

package sfu

import (
	"errors"
	"syscall"
)

// signalGroup sends sig to the child's process group (its pgid is its pid, see sysProcAttr).
// A group that is already gone is not an error.
func signalGroup(pid int, sig syscall.Signal) error {
	err := syscall.Kill(-pid, sig)
	if errors.Is(err, syscall.ESRCH) {
		return nil
	}
	return err
}

const (
	sigTerm = syscall.SIGTERM
	sigKill = syscall.SIGKILL
)

// platformCheck reports whether this system can run the embedded server.
func platformCheck() error { return nil }
