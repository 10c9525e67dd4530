package main

import (
	"errors"
	"fmt"
	"net"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/mirrorfs/mirrorfs/internal/exitcode"
)

func TestSdNotify(t *testing.T) {
	for _, abstract := range []bool{false, true} {
		t.Run(fmt.Sprintf("abstract=%v", abstract), func(t *testing.T) {
			name := filepath.Join(t.TempDir(), "notify")
			env := name
			if abstract {
				name = "\x00mirrorfs-test-" + filepath.Base(filepath.Dir(name))
				env = "@" + name[1:]
			}
			conn, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: name, Net: "unixgram"})
			if err != nil {
				t.Fatal(err)
			}
			defer conn.Close()
			t.Setenv("NOTIFY_SOCKET", env)
			if err := sdNotify("READY=1"); err != nil {
				t.Fatal(err)
			}
			notifyStopping(5*time.Minute, failLogger{t})
			for _, want := range []string{"READY=1", "STOPPING=1\nSTATUS=flushing queued changes\nEXTEND_TIMEOUT_USEC=330000000"} {
				buf := make([]byte, 512)
				conn.SetReadDeadline(time.Now().Add(10 * time.Second))
				n, err := conn.Read(buf)
				if err != nil || string(buf[:n]) != want {
					t.Errorf("got %q (%v), want %q", buf[:n], err, want)
				}
			}
		})
	}
	t.Run("no socket", func(t *testing.T) {
		t.Setenv("NOTIFY_SOCKET", "")
		if err := sdNotify("READY=1"); err != nil {
			t.Errorf("without NOTIFY_SOCKET: %v", err)
		}
	})
}

type failLogger struct{ t *testing.T }

func (l failLogger) Warn(msg string, args ...any) { l.t.Errorf("warning: %s %v", msg, args) }

func TestReadyReport(t *testing.T) {
	tests := []struct {
		err      error
		line     string
		code     int
		parsedOK bool
	}{
		{codef(exitcode.Dest, "password file /p is accessible by group or others"), "4 password file /p is accessible by group or others\n", exitcode.Dest, true},
		{errors.New("two\nlines"), "1 two; lines\n", exitcode.Internal, true},
		{withCode(exitcode.Mount, fmt.Errorf("mount: %w", errors.New("busy"))), "3 mount: busy\n", exitcode.Mount, true},
	}
	for _, tc := range tests {
		line := formatReadyError(tc.err)
		if line != tc.line {
			t.Errorf("formatReadyError(%v) = %q, want %q", tc.err, line, tc.line)
		}
		code, msg, ok := parseReadyError(strings.TrimSuffix(line, "\n"))
		if !ok || code != tc.code || msg+"\n" != line[strings.IndexByte(line, ' ')+1:] {
			t.Errorf("parseReadyError(%q) = %d, %q, %v", line, code, msg, ok)
		}
	}
	for _, bad := range []string{"", "ok", "x message", "0 message", "4"} {
		if _, _, ok := parseReadyError(bad); ok {
			t.Errorf("parseReadyError(%q) accepted", bad)
		}
	}
}
