package rsyncproc

import (
	"fmt"
	"strings"
	"time"
)

// Err sums a result up as an error; nil when the child exited 0.
func (r Result) Err() error {
	switch {
	case r.StartErr != nil:
		return r.StartErr
	case r.Blocked != nil:
		b := r.Blocked
		return fmt.Errorf("killed: pid %d was stuck in %s(%q) for %s (wait channel %s)", b.PID, b.Syscall, b.Abs(), b.For.Round(time.Millisecond), b.Wchan)
	case r.Stalled > 0:
		return fmt.Errorf("killed: no I/O progress for %s", r.Stalled)
	case r.Cancelled:
		return fmt.Errorf("killed: %w", r.ctxErr)
	case r.Lingering:
		return fmt.Errorf("killed, and still not exited")
	case r.Code != 0:
		if l := lastLine(r.Stderr); l != "" {
			return fmt.Errorf("exit code %d: %s", r.Code, l)
		}
		return fmt.Errorf("exit code %d", r.Code)
	}
	return nil
}

func lastLine(b []byte) string {
	s := strings.TrimSpace(string(b))
	return s[strings.LastIndexByte(s, '\n')+1:]
}
