package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/schollz/progressbar/v3"
	"github.com/urfave/cli/v2"
	"golang.org/x/term"

	"github.com/mirrorfs/mirrorfs/internal/control"
	"github.com/mirrorfs/mirrorfs/mirror"
)

// waitKind is what a wait's progress counts.
type waitKind int

const (
	waitQueue waitKind = iota // changes left in the queue: sync --wait, unmount, check
	waitFull                  // files left for a full sync: sync --full --wait
)

const (
	pollEvery  = 200 * time.Millisecond // status is asked this often while waiting
	plainFirst = time.Second            // off a terminal, nothing for a wait shorter than this...
	plainEvery = 2 * time.Second        // ...then a line this often
	rateWindow = 5 * time.Second        // the rate is measured over this much of the past
)

// withProgress runs wait (a blocking control call) while it polls the
// status of the mount on a second connection and draws the progress on
// stderr: a bar on a terminal, plain lines otherwise. Progress is only a
// view: when status cannot be had, wait runs alone.
func withProgress(c *cli.Context, mp string, kind waitKind, wait func() error) error {
	runDir := c.String("run-dir")
	base, err := pollStatus(c.Context, runDir, mp)
	if err != nil {
		return wait()
	}
	ctx, cancel := context.WithCancel(c.Context)
	done := make(chan struct{})
	go func() {
		defer close(done)
		showProgress(ctx, newProgressView(c.App.ErrWriter), base, kind, func(ctx context.Context) (mirror.Status, error) {
			return pollStatus(ctx, runDir, mp)
		})
	}()
	err = wait()
	cancel()
	<-done
	return err
}

func pollStatus(ctx context.Context, runDir, mp string) (mirror.Status, error) {
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	resp, err := control.Call(ctx, runDir, mp, control.Request{Cmd: "status"})
	if err != nil {
		return mirror.Status{}, err
	}
	var st statusView
	err = resp.Decode(&st)
	return st.Status, err
}

// showProgress polls until ctx ends, feeding view.
func showProgress(ctx context.Context, view progressView, base mirror.Status, kind waitKind, poll func(context.Context) (mirror.Status, error)) {
	rate := &rateMeter{}
	t := time.NewTicker(pollEvery)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			// The wait is over: draw where it ended, when the mount still
			// answers (it does not after unmount).
			final, cancel := context.WithTimeout(context.WithoutCancel(ctx), time.Second)
			defer cancel()
			if st, err := poll(final); err == nil {
				s := sampleOf(st, base, kind, time.Now())
				view.finish(&s, rate.add(s))
			} else {
				view.finish(nil, 0)
			}
			return
		case <-t.C:
		}
		st, err := poll(ctx)
		if err != nil {
			continue // shutting down, or busy: the next poll may do
		}
		s := sampleOf(st, base, kind, time.Now())
		view.draw(s, rate.add(s))
	}
}

// sample is one poll, reduced to what a progress line shows.
type sample struct {
	at    time.Time
	unit  string // "changes", or "files" while a full sync runs
	phase string // "": left is known; phaseListing, phaseWaiting: it is not
	left  int64  // still to go
	done  int64  // gone since the wait began (shipped, or checked by a full sync)
	bytes int64  // sent since the wait began
}

const (
	phaseListing = "listing" // a full sync runs, its file list not known yet
	phaseWaiting = "waiting" // the full sync waited for has not started
)

// sampleOf reads a status: the running full sync's files when one runs
// and the wait is for it (or for the initial sync, which barriers wait
// for); otherwise the queue, less what the running run already sent.
func sampleOf(st, base mirror.Status, kind waitKind, now time.Time) sample {
	full := st.Reconcile.Progress
	if st.InitialSync.Progress != nil {
		full = st.InitialSync.Progress
	} else if kind != waitFull {
		full = nil
	}
	switch {
	case full != nil && full.Files == 0:
		// rsync tells the size of its file list with the first file it
		// sends: until then (or over a tree that is equal) it is unknown.
		return sample{at: now, unit: "files", phase: phaseListing, done: full.Transferred, bytes: full.Bytes}
	case full != nil:
		return sample{at: now, unit: "files", left: max(full.Files-full.Checked, 0), done: full.Checked, bytes: full.Bytes}
	case kind == waitFull && st.Reconcile.Count == base.Reconcile.Count:
		return sample{at: now, unit: "files", phase: phaseWaiting, left: int64(st.Pending + st.InFlight)}
	case kind == waitFull:
		return sample{at: now, unit: "files", bytes: st.Totals.BytesSent - base.Totals.BytesSent} // it finished
	}
	s := sample{
		at:    now,
		unit:  "changes",
		left:  int64(st.Pending + st.InFlight),
		done:  int64(st.Totals.ShippedPaths) - int64(base.Totals.ShippedPaths),
		bytes: st.Totals.BytesSent - base.Totals.BytesSent,
	}
	if r := st.Shipping; r != nil {
		// Sent is not yet settled: 1 stays left until the run is over.
		s.left = max(s.left-r.Checked, min(s.left, 1))
		s.done += r.Checked
		s.bytes += r.Bytes
	}
	s.done = max(s.done, 0)
	return s
}

// rateMeter measures how fast done grows, over rateWindow.
type rateMeter struct{ past []sample }

func (m *rateMeter) add(s sample) float64 {
	if len(m.past) > 0 && m.past[0].unit != s.unit {
		m.past = nil // counting something else now
	}
	m.past = append(m.past, s)
	for len(m.past) > 2 && s.at.Sub(m.past[1].at) >= rateWindow {
		m.past = m.past[1:]
	}
	first := m.past[0]
	dt := s.at.Sub(first.at).Seconds()
	if dt <= 0 {
		return 0
	}
	return max(float64(s.done-first.done)/dt, 0)
}

// progressLine is "12,345 changes left, 1.2 GiB sent, 3,400/s, ETA 4s".
func progressLine(s sample, rate float64) string {
	switch s.phase {
	case phaseListing:
		return fmt.Sprintf("full sync: checking the tree, %s files sent (%s)", group(s.done), bytesHuman(s.bytes))
	case phaseWaiting:
		return fmt.Sprintf("full sync: not started yet, %s changes queued", group(s.left))
	}
	unit := s.unit
	if s.left == 1 {
		unit = strings.TrimSuffix(unit, "s")
	}
	line := fmt.Sprintf("%s %s left, %s sent", group(s.left), unit, bytesHuman(s.bytes))
	if rate > 0 {
		eta := time.Duration(float64(s.left) / rate * float64(time.Second)).Round(time.Second)
		line += fmt.Sprintf(", %s/s, ETA %s", group(int64(rate+0.5)), eta)
	}
	return line
}

// progressView draws samples; finish gets the last one, when there is one.
type progressView interface {
	draw(s sample, rate float64)
	finish(last *sample, rate float64)
}

// newProgressView draws a bar when w is a terminal, plain lines otherwise.
func newProgressView(w io.Writer) progressView {
	if f, ok := w.(*os.File); ok && term.IsTerminal(int(f.Fd())) {
		return &barView{w: w}
	}
	return &plainView{w: w, start: time.Now()}
}

// barView is a progress bar (github.com/schollz/progressbar): its length
// is what is done plus what is left, which grows while changes arrive.
type barView struct {
	w   io.Writer
	bar *progressbar.ProgressBar
}

func (v *barView) draw(s sample, rate float64) {
	total := max(s.done+s.left, 1)
	if s.phase != "" {
		total = s.done + 1 // not known: never full
	}
	if v.bar != nil && v.bar.IsFinished() && s.left > 0 {
		v.bar = nil // it reached its end and cleared itself; more came since
	}
	if v.bar == nil {
		v.bar = progressbar.NewOptions64(total,
			progressbar.OptionSetWriter(v.w),
			progressbar.OptionSetDescription(progressLine(s, rate)),
			progressbar.OptionSetWidth(30),
			progressbar.OptionShowCount(),
			progressbar.OptionSetPredictTime(false),
			progressbar.OptionClearOnFinish(),
		)
	}
	// The words first: reaching the end (a smaller length, or the last
	// change done) finishes the bar, which then clears itself and draws
	// no more.
	v.bar.Describe(progressLine(s, rate))
	v.bar.ChangeMax64(total)
	v.bar.Set64(min(s.done, total))
}

func (v *barView) finish(last *sample, rate float64) {
	if v.bar == nil {
		return // it ended before the first poll: nothing to show
	}
	if last != nil {
		v.draw(*last, rate)
	}
	v.bar.Finish()
}

// plainView prints a line every plainEvery, and nothing for a short wait.
type plainView struct {
	w     io.Writer
	start time.Time
	last  time.Time
}

func (v *plainView) draw(s sample, rate float64) {
	if s.at.Sub(v.start) < plainFirst || (!v.last.IsZero() && s.at.Sub(v.last) < plainEvery) {
		return
	}
	v.last = s.at
	fmt.Fprintln(v.w, progressLine(s, rate))
}

func (v *plainView) finish(last *sample, rate float64) {
	if last != nil && !v.last.IsZero() {
		fmt.Fprintln(v.w, progressLine(*last, rate))
	}
}
