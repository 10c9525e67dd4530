package main

import (
	"log/slog"
	"net"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestSyslogHandler: each record goes out with its level's priority
// (facility daemon), without slog's own time and level.
func TestSyslogHandler(t *testing.T) {
	sock := filepath.Join(t.TempDir(), "log")
	conn, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: sock, Net: "unixgram"})
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	h, err := dialSyslog("unixgram", sock, "debug")
	if err != nil {
		t.Fatal(err)
	}
	log := slog.New(h).With("mountpoint", "/data")
	log.Error("flush incomplete", "pending", 3)
	log.Warn("busy")
	log.Info("mounted")
	log.Debug("detail")
	// <facility*8 + severity>: daemon is 3; err 3, warning 4, info 6, debug 7.
	wants := [][]string{
		{"<27>", "mirrorfs", `msg="flush incomplete" mountpoint=/data pending=3`},
		{"<28>", `msg=busy mountpoint=/data`},
		{"<30>", `msg=mounted mountpoint=/data`},
		{"<31>", `msg=detail mountpoint=/data`},
	}
	for _, want := range wants {
		buf := make([]byte, 1024)
		conn.SetReadDeadline(time.Now().Add(10 * time.Second))
		n, err := conn.Read(buf)
		if err != nil {
			t.Fatalf("reading syslog message: %v", err)
		}
		got := string(buf[:n])
		for _, w := range want {
			if !strings.Contains(got, w) {
				t.Errorf("syslog message %q lacks %q", got, w)
			}
		}
		if strings.Contains(got, "level=") || strings.Contains(got, "time=") {
			t.Errorf("syslog message %q repeats slog's time or level", got)
		}
	}

	quiet, err := dialSyslog("unixgram", sock, "warn")
	if err != nil {
		t.Fatal(err)
	}
	if quiet.Enabled(t.Context(), slog.LevelInfo) || !quiet.Enabled(t.Context(), slog.LevelWarn) {
		t.Errorf("log-level warn: info enabled or warn disabled")
	}
}
