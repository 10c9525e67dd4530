package main

import (
	"bytes"
	"errors"
	"fmt"
	"strings"
	"syscall"
	"testing"

	"github.com/mirrorfs/mirrorfs/internal/exitcode"
	"github.com/mirrorfs/mirrorfs/mirror"
)

func TestEngineErrorHint(t *testing.T) {
	full := &mirror.JournalError{Dir: "/var/lib/mirrorfs/ab", Op: "rewriting it",
		Err: fmt.Errorf("write /var/lib/mirrorfs/ab/journal.tmp: %w", syscall.ENOSPC)}
	for _, tt := range []struct {
		err  error
		code int
		want []string
	}{
		{full, exitcode.Internal, []string{"/var/lib/mirrorfs/ab cannot be written", "no space left on device", "free space", "--state-dir", "state-dir=none"}},
		{&mirror.JournalError{Dir: "/s", Op: "rewriting it", Err: syscall.EIO}, exitcode.Internal, []string{"input/output error", "repair it", "state-dir=none"}},
		{errors.New("state directory /s is in use by another mirrorfs"), exitcode.Usage, []string{"in use"}},
	} {
		var out bytes.Buffer
		code := report(&out, engineError(tt.err))
		line := out.String()
		if code != tt.code || strings.Count(line, "\n") != 1 {
			t.Errorf("%v: exit %d, %q; want exit %d and one line", tt.err, code, line, tt.code)
		}
		for _, w := range tt.want {
			if !strings.Contains(line, w) {
				t.Errorf("%q does not say %q", line, w)
			}
		}
	}
	if !errors.Is(engineError(full), syscall.ENOSPC) {
		t.Error("the hint hides ENOSPC from errors.Is")
	}
}
