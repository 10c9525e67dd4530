package testkit

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"testing"

	"golang.org/x/sys/unix"
)

// Tools maps every program a test runs to the Debian package that provides
// it. scripts/deps.sh installs the same list (TestDepsScriptCoversTools).
// A key that is an absolute path names a file a package installs but that
// is no program on PATH (a header-only -dev package's example source, say):
// it is checked for existence.
var Tools = map[string]string{
	"rsync":           "rsync",
	"fusermount3":     "fuse3",
	"inotifywait":     "inotify-tools",
	"setfattr":        "attr",
	"getfattr":        "attr",
	"setfacl":         "acl",
	"getfacl":         "acl",
	"systemd-analyze": "systemd",
	"lsyncd":          "lsyncd",
	"fio":             "fio",
	"ip":              "iproute2",
	"mkfs.ext4":       "e2fsprogs",
	"chattr":          "e2fsprogs",
	"losetup":         "mount",
	"setpriv":         "util-linux",
	"make":            "make",
	"git":             "git",
	"tar":             "tar",
	"stress-ng":       "stress-ng",
	"sqlite3":         "sqlite3",
	"cp":              "coreutils",
	// Hooks run under /bin/sh -c; the hook tests' scripts sleep and dump env.
	"/bin/sh": "dash",
	"sleep":   "coreutils",
	"env":     "coreutils",
	"cat":     "coreutils",
	// ssh transports: a test sshd and its client.
	"ssh":         "openssh-client",
	"ssh-keygen":  "openssh-client",
	"ssh-keyscan": "openssh-client",
	"sshd":        "openssh-server",
	// The benchmark builds libfuse's passthrough_ll, its C reference.
	"cc":                "build-essential",
	"pkg-config":        "pkg-config",
	PassthroughLLSource: "libfuse3-dev",
}

// PassthroughLLSource is libfuse's low-level passthrough example as Debian's
// libfuse3-dev ships it (with passthrough_helpers.h beside it).
const PassthroughLLSource = "/usr/share/doc/libfuse3-dev/examples/passthrough_ll.c"

// ToolNames is Tools' keys, sorted.
func ToolNames() []string {
	names := make([]string, 0, len(Tools))
	for n := range Tools {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// prerequisite checks one thing a test needs; it returns "" when present or
// a message that names what is missing and how to install it.
type prerequisite func() string

// conditions are the prerequisites that are not a program on PATH.
var conditions = map[string]prerequisite{
	"fuse": checkFuse,
	"root": checkRoot,
}

// Require skips the test when a prerequisite is missing, or fails it when
// CI=true: on CI a missing tool is a broken runner, not a reason to pass.
// A name is "fuse" (/dev/fuse and fusermount3), "root", or a program (or
// absolute file path) from Tools.
func Require(t testing.TB, what ...string) {
	t.Helper()
	for _, w := range what {
		check, ok := conditions[w]
		if !ok {
			pkg, known := Tools[w]
			if !known {
				t.Fatalf("testkit.Require: %q is neither a condition nor in testkit.Tools (add it there and to scripts/deps.sh)", w)
				return
			}
			check = checkBinary(w, pkg)
		}
		if msg := check(); msg != "" {
			if os.Getenv("CI") == "true" {
				t.Fatalf("%s (CI=true: missing prerequisites fail instead of skipping)", msg)
			} else {
				t.Skip(msg)
			}
			return
		}
	}
}

// RequireTool is Require for one program, returning its path.
func RequireTool(t testing.TB, name string) string {
	t.Helper()
	Require(t, name)
	if filepath.IsAbs(name) {
		return name
	}
	p, _ := exec.LookPath(name)
	return p
}

func checkBinary(name, pkg string) prerequisite {
	return func() string {
		if filepath.IsAbs(name) {
			if _, err := os.Stat(name); err != nil {
				return fmt.Sprintf("%s is missing: apt-get install -y %s (or run scripts/deps.sh)", name, pkg)
			}
			return ""
		}
		if _, err := exec.LookPath(name); err != nil {
			return fmt.Sprintf("%s is not installed: apt-get install -y %s (or run scripts/deps.sh)", name, pkg)
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
	return checkBinary("fusermount3", Tools["fusermount3"])()
}

func checkRoot() string {
	if os.Geteuid() != 0 {
		return "test needs root (it chowns files and runs the rsync daemon as uid 0): run it with sudo"
	}
	return ""
}
