package main

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"log/syslog"
	"os"
	"strings"
	"sync"
)

// syslogSocket is where syslog daemons and journald listen.
const syslogSocket = "/dev/log"

func syslogAvailable() bool {
	st, err := os.Stat(syslogSocket)
	return err == nil && st.Mode()&os.ModeSocket != 0
}

// syslogHandler formats records like slog's text handler, without the time
// (syslog adds its own), and sends each with the priority of its level.
type syslogHandler struct {
	w     *syslog.Writer
	inner slog.Handler // writes into buf
	mu    *sync.Mutex
	buf   *bytes.Buffer
}

var _ slog.Handler = (*syslogHandler)(nil)

func newSyslogHandler(level string) (*syslogHandler, error) {
	return dialSyslog("", "", level)
}

// dialSyslog connects to network/addr; "", "" is the local syslog.
func dialSyslog(network, addr, level string) (*syslogHandler, error) {
	w, err := syslog.Dial(network, addr, syslog.LOG_DAEMON|syslog.LOG_INFO, "mirrorfs")
	if err != nil {
		return nil, fmt.Errorf("cannot log to syslog (%s): %w (use -o log-file=FILE instead)", syslogSocket, err)
	}
	var l slog.Level
	if err := l.UnmarshalText([]byte(level)); err != nil {
		l = slog.LevelInfo
	}
	buf := new(bytes.Buffer)
	inner := slog.NewTextHandler(buf, &slog.HandlerOptions{
		Level: l,
		ReplaceAttr: func(groups []string, a slog.Attr) slog.Attr {
			if len(groups) == 0 && (a.Key == slog.TimeKey || a.Key == slog.LevelKey) {
				return slog.Attr{}
			}
			return a
		},
	})
	return &syslogHandler{w: w, inner: inner, mu: new(sync.Mutex), buf: buf}, nil
}

func (h *syslogHandler) Enabled(ctx context.Context, l slog.Level) bool {
	return h.inner.Enabled(ctx, l)
}

func (h *syslogHandler) Handle(ctx context.Context, r slog.Record) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.buf.Reset()
	if err := h.inner.Handle(ctx, r); err != nil {
		return err
	}
	line := strings.TrimSuffix(h.buf.String(), "\n")
	switch {
	case r.Level >= slog.LevelError:
		return h.w.Err(line)
	case r.Level >= slog.LevelWarn:
		return h.w.Warning(line)
	case r.Level >= slog.LevelInfo:
		return h.w.Info(line)
	}
	return h.w.Debug(line)
}

func (h *syslogHandler) WithAttrs(attrs []slog.Attr) slog.Handler {
	c := *h
	c.inner = h.inner.WithAttrs(attrs)
	return &c
}

func (h *syslogHandler) WithGroup(name string) slog.Handler {
	c := *h
	c.inner = h.inner.WithGroup(name)
	return &c
}
