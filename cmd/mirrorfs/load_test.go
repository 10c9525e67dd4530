package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/mirrorfs/mirrorfs/internal/exitcode"
)

// TestCommandsShareOneLoader runs mount and check, with their real actions,
// on the same bad command lines: both must read the same config file and
// refuse the same repeats, with the same one line and exit code.
func TestCommandsShareOneLoader(t *testing.T) {
	dir := t.TempDir()
	file := func(name, content string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	a := file("a.conf", "dest = h::a\ndelay = soon\n")
	b := file("b.conf", "dest = h::b\nmax-delay = later\n")
	twice := file("twice.conf", "dest = h::m\ndelay = 1s\ndelay = 2s\n")
	mnt := filepath.Join(dir, "mnt")
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"--config is read", []string{"--config", a}, a + `:2: delay "soon"`},
		{"-o config is read", []string{"-o", "config=" + b}, b + `:2: max-delay "later"`},
		{"--config and -o config", []string{"--config", a, "-o", "config=" + b}, "config file given twice (-o config=" + b + ", --config " + a + ")"},
		{"--config twice", []string{"--config", a, "--config", b}, "config file given twice (--config " + a + ", --config " + b + ")"},
		{"one destination twice", []string{"--dest", "h::a", "--dest", "rsync://h/a"}, `destination rsync://h/a given twice (--dest h::a, --dest rsync://h/a)`},
		{"-o dest and --dest, one destination", []string{"-o", "dest=h::a", "--dest", "h::a"}, `destination h::a given twice (-o dest=h::a, --dest h::a)`},
		{"-o delay twice", []string{"-o", "delay=1s,delay=2s", "--dest", "h::m"}, `option "delay" given twice (-o delay=1s, -o delay=2s)`},
		{"-o delay and --delay", []string{"-o", "delay=1s", "--delay", "2s", "--dest", "h::m"}, `option "delay" given twice (-o delay=1s, --delay 2s)`},
		{"bool flag twice", []string{"--xattrs", "--xattrs", "--dest", "h::m"}, `option "xattrs" given twice (--xattrs, --xattrs)`},
		{"delay twice in the file", []string{"--config", twice}, twice + `:3: option "delay" given twice (also at ` + twice + `:2)`},
		{"delay=0,max-delay=0", []string{"-o", "dest=h::m,delay=0,max-delay=0"}, "max-delay 0s: must be a positive time; to ship at once use delay=0"},
		{"max-delay below delay", []string{"--dest", "h::m", "--delay", "3s", "--max-delay", "1s"}, "delay 3s is longer than max-delay 1s"},
	}
	for _, tt := range tests {
		for _, cmd := range []string{"mount", "check"} {
			t.Run(tt.name+"/"+cmd, func(t *testing.T) {
				args := append([]string{"mirrorfs", cmd}, tt.args...)
				if cmd == "mount" {
					args = append(args, mnt)
				}
				var stderr bytes.Buffer
				code := run(args, &stderr)
				if code != exitcode.Usage {
					t.Errorf("exit %d, want exitcode.Usage (%d)", code, exitcode.Usage)
				}
				out := stderr.String()
				if !strings.HasPrefix(out, "mirrorfs: ") || strings.Count(out, "\n") != 1 || !strings.Contains(out, tt.want) {
					t.Errorf("stderr %q, want one line containing %q", out, tt.want)
				}
			})
		}
	}
}
