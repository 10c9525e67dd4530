package testkit

import (
	"fmt"
	"os"
	"os/exec"
	"testing"

	"golang.org/x/sys/unix"
)

// prerequisite checks one thing a test needs; it returns "" when present or
// a message that names what is missing and how to install it.
type prerequisite func() string

var prerequisites = map[string]prerequisite{
	"fuse":        checkFuse,
	"rsync":       checkBinary("rsync", "rsync"),
	"inotifywait": checkBinary("inotifywait", "inotify-tools"),
	"root":        checkRoot,
	"ip":          checkBinary("ip", "iproute2"),
}

// Require skips the test when a prerequisite is missing, or fails it when
// CI=true: on CI a missing tool is a broken runner, not a reason to pass.
// Known names: "fuse", "rsync", "inotifywait", "root", "ip".
func Require(t testing.TB, what ...string) {
	t.Helper()
	for _, w := range what {
		check, ok := prerequisites[w]
		if !ok {
			t.Fatalf("testkit.Require: unknown prerequisite %q", w)
		}
		if msg := check(); msg != "" {
			if os.Getenv("CI") == "true" {
				t.Fatalf("%s (CI=true: missing prerequisites fail instead of skipping)", msg)
			} else {
				t.Skip(msg)
			}
		}
	}
}

func checkBinary(name, pkg string) prerequisite {
	return func() string {
		if _, err := exec.LookPath(name); err != nil {
			return fmt.Sprintf("%s is not installed: apt-get install -y %s", name, pkg)
		}
		return ""
	}
}

func checkFuse() string {
	fd, err := unix.Open("/dev/fuse", unix.O_RDWR|unix.O_CLOEXEC, 0)
	if err != nil {
		return fmt.Sprintf("/dev/fuse cannot be opened (%v): load the fuse module (modprobe fuse) or run the container with --device /dev/fuse", err)
	}
	unix.Close(fd)
	if msg := checkBinary("fusermount3", "fuse3")(); msg != "" {
		return msg
	}
	return ""
}

func checkRoot() string {
	if os.Geteuid() != 0 {
		return "test needs root (it chowns files and runs the rsync daemon as uid 0): run it with sudo"
	}
	return ""
}
