//go:build !unix

package sfu

import (
	"errors"
	"syscall"
)

var errUnsupported = errors.New("sfu: the embedded livekit-server needs a Unix system")

func sysProcAttr() *syscall.SysProcAttr { return nil }

func signalGroup(int, syscall.Signal) error { return errUnsupported }

const (
	sigTerm = syscall.SIGTERM
	sigKill = syscall.SIGKILL
)

// platformCheck reports whether this system can run the embedded server.
func platformCheck() error { return errUnsupported }
