package main

import (
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/mirrorfs/mirrorfs/internal/exitcode"
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
		return exitcode.OK
	}
	code := exitcode.Internal
	var ee *exitError
	if errors.As(err, &ee) {
		code = ee.code
	}
	msg := strings.TrimSpace(err.Error())
	msg = strings.ReplaceAll(msg, "\n", "; ")
	fmt.Fprintf(w, "mirrorfs: %s\n", msg)
	return code
}
