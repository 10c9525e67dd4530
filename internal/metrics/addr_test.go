package metrics

import (
	"context"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/mirrorfs/mirrorfs/mirror"
)

func TestParseAddr(t *testing.T) {
	tests := []struct {
		in, net, addr string
		loopback      bool
		err           string
	}{
		{in: "9750", net: "tcp", addr: "127.0.0.1:9750", loopback: true},
		{in: "127.0.0.1:9750", net: "tcp", addr: "127.0.0.1:9750", loopback: true},
		{in: "[::1]:9750", net: "tcp", addr: "[::1]:9750", loopback: true},
		{in: ":9750", net: "tcp", addr: ":9750"},
		{in: "10.1.2.3:9750", net: "tcp", addr: "10.1.2.3:9750"},
		{in: "unix:/run/m.sock", net: "unix", addr: "/run/m.sock", loopback: true},
		{in: "unix:", err: "no socket path"},
		{in: "unix:rel.sock", err: "not absolute"},
		{in: "unix:/" + strings.Repeat("x", 120), err: "bytes"},
		{in: "127.0.0.1:0", err: "port"},
		{in: "127.0.0.1:http", err: "port"},
		{in: "70000", err: "port"},
		{in: "1.2.3.4:5:6", err: "HOST:PORT"},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			a, err := ParseAddr(tt.in)
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) {
					t.Fatalf("ParseAddr(%q) = %v, %v; want error with %q", tt.in, a, err, tt.err)
				}
				return
			}
			if err != nil || a.Network != tt.net || a.Address != tt.addr || a.Loopback() != tt.loopback {
				t.Fatalf("ParseAddr(%q) = %+v (loopback %v), %v; want %s %s loopback %v", tt.in, a, a.Loopback(), err, tt.net, tt.addr, tt.loopback)
			}
		})
	}
}

func TestServeUnixSocket(t *testing.T) {
	log := slog.New(slog.DiscardHandler)
	path := filepath.Join(t.TempDir(), "m.sock")
	// A stale socket: bound, then closed without unlinking.
	stale, err := net.ListenUnix("unix", &net.UnixAddr{Name: path, Net: "unix"})
	if err != nil {
		t.Fatal(err)
	}
	stale.SetUnlinkOnClose(false)
	stale.Close()

	a := Addr{Network: "unix", Address: path}
	reg := New("/mnt/x", func() []mirror.Status { return []mirror.Status{fixedStatus()} })
	s, err := Serve(a, reg.Handler(), log)
	if err != nil {
		t.Fatalf("Serve over a stale socket: %v", err)
	}
	t.Cleanup(func() { s.Close(context.Background()) })
	fi, err := os.Stat(path)
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("socket mode %v, %v; want 0600", fi.Mode(), err)
	}
	if _, err := Serve(a, reg.Handler(), log); err == nil || !strings.Contains(err.Error(), "another process") {
		t.Fatalf("second Serve on a live socket: %v; want a refusal", err)
	}
	c := http.Client{Transport: &http.Transport{DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
		return (&net.Dialer{}).DialContext(ctx, "unix", path)
	}}}
	resp, err := c.Get("http://unix/metrics")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	for _, want := range []string{`mirrorfs_pending_changes{dest="backup",mount="/mnt/x"} 7`, "go_goroutines", "process_cpu_seconds_total"} {
		if !strings.Contains(string(body), want) {
			t.Errorf("scrape lacks %q", want)
		}
	}
	if err := s.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Lstat(path); !os.IsNotExist(err) {
		t.Errorf("socket left behind after Close: %v", err)
	}
}
