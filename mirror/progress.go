package mirror

import (
	"bytes"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"time"
)

// FullProgress is how far a running whole-tree sync has got, read from
// rsync's --info=progress2 while it runs. rsync updates it when it sends
// a file, so Checked moves in steps over files that are already equal.
type FullProgress struct {
	Started     time.Time `json:"started"`
	Files       int64     `json:"files"`       // entries in rsync's file list (0 until it is built)
	Checked     int64     `json:"checked"`     // of them, checked so far
	Transferred int64     `json:"transferred"` // files sent so far
	Bytes       int64     `json:"bytes"`       // file data sent so far
}

// fullTracker is the progress of the running full sync; it has its own
// lock because rsync's output arrives on a goroutine of os/exec.
type fullTracker struct {
	mu sync.Mutex
	p  FullProgress
}

func newFullTracker(now time.Time) *fullTracker {
	return &fullTracker{p: FullProgress{Started: now}}
}

func (t *fullTracker) snapshot() *FullProgress {
	if t == nil {
		return nil
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	p := t.p
	return &p
}

// progress2RE matches one --info=progress2 line:
// "  1,234  45%  1.20MB/s  0:00:12 (xfr#12, to-chk=100/2000)".
var progress2RE = regexp.MustCompile(`^\s*([0-9,]+)\s+[0-9]+%\s+\S+\s+\S+(?:\s+\(xfr#([0-9]+), (?:to|ir)-chk=([0-9]+)/([0-9]+)\))?`)

// line takes one line of output; it reports whether it was a progress line.
func (t *fullTracker) line(l []byte) bool {
	m := progress2RE.FindSubmatch(l)
	if m == nil {
		return false
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	t.p.Bytes = atoi(m[1])
	if m[2] != nil {
		left, total := atoi(m[3]), atoi(m[4])
		t.p.Transferred, t.p.Files, t.p.Checked = atoi(m[2]), total, max(total-left, 0)
	}
	return true
}

func atoi(b []byte) int64 {
	n, _ := strconv.ParseInt(strings.ReplaceAll(string(b), ",", ""), 10, 64)
	return n
}

// Bounds of lineSink: the --stats block it keeps is under 1 KiB; a line
// holds at most one escaped name of 4 KiB.
const (
	maxKeptOut = 64 << 10
	maxOutLine = 1 << 20
)

// lineSink splits a run's stdout into lines (ended by '\n', or by '\r' as
// progress lines are), hands each to claim, and keeps those claim does not
// take, within maxKeptOut: that is the run's result.stdout.
type lineSink struct {
	claim func(line []byte) bool

	mu   sync.Mutex
	part []byte
	kept []byte
}

func (s *lineSink) Write(b []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := len(b)
	for len(b) > 0 {
		i := bytes.IndexAny(b, "\r\n")
		if i < 0 {
			if len(s.part)+len(b) <= maxOutLine {
				s.part = append(s.part, b...)
			}
			break
		}
		s.part = append(s.part, b[:i]...)
		s.lineLocked(s.part, b[i])
		s.part = s.part[:0]
		b = b[i+1:]
	}
	return n, nil
}

func (s *lineSink) lineLocked(l []byte, end byte) {
	if s.claim != nil && s.claim(l) {
		return
	}
	if end == '\r' || len(s.kept)+len(l)+1 > maxKeptOut {
		return
	}
	s.kept = append(append(s.kept, l...), '\n')
}

// hold runs fn under the lock claim runs under: a run given up on
// (rsyncproc's Lingering) may still be writing.
func (s *lineSink) hold(fn func()) {
	s.mu.Lock()
	defer s.mu.Unlock()
	fn()
}

// Kept returns the unclaimed lines, and a last unterminated one.
func (s *lineSink) Kept() []byte {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.part) > 0 {
		s.lineLocked(s.part, '\n')
		s.part = nil
	}
	return bytes.Clone(s.kept)
}

// trackRun starts following a shipping run's progress, for Status.Shipping;
// the caller clears e.runProg when the run is over. nil for modes that
// report none.
func (e *Engine) trackRun(mode argMode) outSink {
	if !mode.tracked() {
		return nil
	}
	t := newFullTracker(e.now())
	e.mu.Lock()
	e.runProg = t
	e.mu.Unlock()
	return &lineSink{claim: t.line}
}
