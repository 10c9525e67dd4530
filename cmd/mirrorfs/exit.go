package main

import (
	"errors"
	"fmt"
	"io"
	"strings"
)

// Exit codes are stable: scripts and mount(8) rely on them.
const (
	exitOK         = 0
	exitInternal   = 1 // unexpected failure, or a missing tool (rsync)
	exitUsage      = 2 // bad command line, option or config file
	exitMount      = 3 // mountpoint missing, busy, stale; FUSE unavailable
	exitDest       = 4 // destination refused us: auth, unknown module, bad password file
	exitFlush      = 5 // changes still pending when the process had to exit
	exitNotRunning = 6 // no mirrorfs serves that mountpoint
	exitSync       = 7 // sync finished but some paths cannot be mirrored
)

// exitError carries the exit code for an error up to run().
type exitError struct {
	code int
	err  error
}

func (e *exitError) Error() string { return e.err.Error() }
func (e *exitError) Unwrap() error { return e.err }

func withCode(code int, err error) error {
	if err == nil {
		return nil
	}
	var ee *exitError
	if errors.As(err, &ee) {
		return err
	}
	return &exitError{code: code, err: err}
}

func codef(code int, format string, a ...any) error {
	return &exitError{code: code, err: fmt.Errorf(format, a...)}
}

// report prints err as one line and returns its exit code.
func report(w io.Writer, err error) int {
	if err == nil {
		return exitOK
	}
	code := exitInternal
	var ee *exitError
	if errors.As(err, &ee) {
		code = ee.code
	}
	msg := strings.TrimSpace(err.Error())
	msg = strings.ReplaceAll(msg, "\n", "; ")
	fmt.Fprintf(w, "mirrorfs: %s\n", msg)
	return code
}
