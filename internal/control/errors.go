package control

import (
	"errors"
	"fmt"
	"syscall"
)

var (
	// ErrNotRunning means no server answers for the mountpoint.
	ErrNotRunning = errors.New("mirrorfs is not running")
	// ErrPermission means the caller may not use the control socket.
	ErrPermission = errors.New("the control socket is root-only")
	// ErrAlreadyServed means another server owns the mountpoint's socket.
	ErrAlreadyServed = errors.New("mountpoint already served")
)

// NotRunningError is returned by Call when nothing serves the mountpoint.
type NotRunningError struct {
	Mountpoint, Socket string
	Err                error
}

func (e *NotRunningError) Error() string {
	what := "no control socket at " + e.Socket
	if errors.Is(e.Err, syscall.ECONNREFUSED) {
		what = "stale control socket " + e.Socket + ", nobody answers"
	}
	return fmt.Sprintf("no mirrorfs is serving %s (%s): is it mounted? see `mirrorfs status`", e.Mountpoint, what)
}
func (e *NotRunningError) Unwrap() error        { return e.Err }
func (e *NotRunningError) Is(target error) bool { return target == ErrNotRunning }

// PermissionError is returned by Call when the socket or the server refuses
// the caller.
type PermissionError struct {
	Socket string
	Err    error
}

func (e *PermissionError) Error() string {
	reason := e.Err.Error()
	var errno syscall.Errno
	if errors.As(e.Err, &errno) {
		reason = errno.Error()
	}
	return fmt.Sprintf("the control socket is root-only: run as root (%s: %s)", e.Socket, reason)
}
func (e *PermissionError) Unwrap() error        { return e.Err }
func (e *PermissionError) Is(target error) bool { return target == ErrPermission }

// RemoteError is a handler's failure as reported by the server.
type RemoteError struct {
	Code    string
	Message string
}

func (e *RemoteError) Error() string { return e.Message }

// AlreadyServedError is returned by Listen when a live server owns the socket.
type AlreadyServedError struct {
	Mountpoint, Socket string
	PID                int32 // 0 if unknown
}

func (e *AlreadyServedError) Error() string {
	if e.PID > 0 {
		return fmt.Sprintf("mountpoint %s is already served by mirrorfs pid %d (control socket %s): unmount it first with `mirrorfs unmount %s`", e.Mountpoint, e.PID, e.Socket, e.Mountpoint)
	}
	return fmt.Sprintf("mountpoint %s is already served by another mirrorfs (its lock next to %s is held): unmount it first with `mirrorfs unmount %s`", e.Mountpoint, e.Socket, e.Mountpoint)
}
func (e *AlreadyServedError) Is(target error) bool { return target == ErrAlreadyServed }
