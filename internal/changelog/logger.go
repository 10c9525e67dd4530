package changelog

import (
	"errors"
	"fmt"
	"io"
	"log/slog"
	"log/syslog"
	"os"
	"strings"
	"sync"

	"github.com/mirrorfs/mirrorfs/internal/change"
	"github.com/mirrorfs/mirrorfs/mirror"
)

// Options configures a Logger. Empty strings take the defaults.
type Options struct {
	File    string // append lines here; "-" is standard output
	Syslog  bool   // also send every line to syslog (daemon.info, tag mirrorfs)
	Format  string
	TimeFmt string
	Events  string
	Root    string // the mountpoint, for %w
	Log     *slog.Logger
}

// Enabled reports whether the options ask for a change log at all.
func (o Options) Enabled() bool { return o.File != "" || o.Syslog }

// Logger writes the change log. Shipped is its mirror.Config.OnShipped.
type Logger struct {
	opts   Options
	format Format
	tf     TimeFmt
	events change.Kinds
	log    *slog.Logger

	mu      sync.Mutex
	out     io.Writer
	closer  io.Closer
	sys     *syslog.Writer
	errOnce bool
}

// New checks the options and opens the outputs.
func New(o Options) (*Logger, error) {
	l := &Logger{opts: o, log: o.Log}
	if l.log == nil {
		l.log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	var err error
	if l.format, err = ParseFormat(def(o.Format, DefaultFormat)); err != nil {
		return nil, err
	}
	if l.tf, err = ParseTimeFmt(def(o.TimeFmt, DefaultTimeFmt)); err != nil {
		return nil, err
	}
	if l.events, err = ParseEvents(o.Events); err != nil {
		return nil, err
	}
	switch o.File {
	case "":
	case "-":
		l.out = os.Stdout
	default:
		f, err := os.OpenFile(o.File, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o640)
		if err != nil {
			return nil, fmt.Errorf("cannot open the change log %s: %w (check the directory exists and is writable)", o.File, err)
		}
		l.out, l.closer = f, f
	}
	if o.Syslog {
		w, err := syslog.New(syslog.LOG_INFO|syslog.LOG_DAEMON, "mirrorfs")
		if err != nil {
			l.Close()
			return nil, fmt.Errorf("cannot reach syslog for --syslog: %w (is a syslog daemon listening on /dev/log?)", err)
		}
		l.sys = w
	}
	return l, nil
}

func def(s, d string) string {
	if s == "" {
		return d
	}
	return s
}

// Shipped writes the lines for one settled batch.
func (l *Logger) Shipped(list []mirror.Shipped) {
	var b strings.Builder
	var lines []string
	for _, s := range list {
		if l.events&s.Changes == 0 {
			continue
		}
		if s.Err != "" && (!l.format.HasResult() || s.Attempts > 1) {
			continue
		}
		start := b.Len()
		l.format.line(&b, s, l.opts.Root, l.tf)
		if l.sys != nil {
			lines = append(lines, b.String()[start:])
		}
		b.WriteByte('\n')
	}
	if b.Len() == 0 {
		return
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	var errs []error
	if l.out != nil {
		if _, err := io.WriteString(l.out, b.String()); err != nil {
			errs = append(errs, err)
		}
	}
	for _, line := range lines {
		if err := l.sys.Info(line); err != nil {
			errs = append(errs, err)
			break
		}
	}
	if err := errors.Join(errs...); err != nil && !l.errOnce {
		l.errOnce = true
		l.log.Warn("cannot write the change log; mirroring goes on", "file", l.opts.File, "err", err)
	}
}

// Close flushes and closes the outputs.
func (l *Logger) Close() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	var errs []error
	if l.closer != nil {
		errs = append(errs, l.closer.Close())
		l.closer, l.out = nil, nil
	}
	if l.sys != nil {
		errs = append(errs, l.sys.Close())
		l.sys = nil
	}
	return errors.Join(errs...)
}
