package rsyncproc

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// parentEnv makes the test binary act as a parent that starts a long child
// through Run (see TestParentDeathKillsChild); its value is the script.
const parentEnv = "RSYNCPROC_TEST_PARENT"

func TestMain(m *testing.M) {
	if script := os.Getenv(parentEnv); script != "" {
		os.Unsetenv(parentEnv)
		r := Run(context.Background(), Spec{Path: script})
		fmt.Fprintln(os.Stderr, "child ended:", r.Code, r.Err())
		os.Exit(3)
	}
	os.Exit(m.Run())
}

// script writes an executable shell script standing in for rsync.
func script(t *testing.T, body string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "rsync")
	if err := os.WriteFile(p, []byte("#!/bin/sh\n"+body+"\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	return p
}

// waitPid waits for a script to write a PID into file.
func waitPid(t *testing.T, file string) int {
	t.Helper()
	var pid int
	eventually(t, 10*time.Second, "pid file "+file, func() bool {
		b, err := os.ReadFile(file)
		if err != nil || !strings.HasSuffix(string(b), "\n") {
			return false
		}
		pid, err = strconv.Atoi(strings.TrimSpace(string(b)))
		return err == nil
	})
	return pid
}

// gone reports whether pid no longer runs (a zombie counts as gone: it
// waits only for its new parent to reap it).
func gone(pid int) bool {
	f, err := procStat(pid)
	return err != nil || f[0] == "Z" || f[0] == "X"
}

func eventually(t *testing.T, within time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(within)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s waiting for %s", within, what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// ours lists the live processes that carry this process's owner marker.
func ours() []int {
	names, _ := filepath.Glob("/proc/[0-9]*")
	var out []int
	for _, n := range names {
		pid, _ := strconv.Atoi(filepath.Base(n))
		if v, ok := marker(pid); ok && v == Owner() && !gone(pid) {
			out = append(out, pid)
		}
	}
	return out
}

func noneLeft(t *testing.T) {
	t.Helper()
	eventually(t, 5*time.Second, "no child of ours to be left", func() bool { return len(ours()) == 0 })
}
