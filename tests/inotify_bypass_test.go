package tests

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

// TestInotifyBypassWarning: a process whose working directory is inside
// the directory being mounted over is named at mount time (log and
// status), and by `mirrorfs check`: what it writes there bypasses the mount.
func TestInotifyBypassWarning(t *testing.T) {
	var sleep *exec.Cmd
	m := mountMirror(t, mountOptions{Setup: func(t *testing.T, dir string) {
		sub := filepath.Join(dir, "sub")
		must(t, os.Mkdir(sub, 0o755))
		sleep = exec.Command("sleep", "60")
		sleep.Dir = sub
		sleep.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
		must(t, sleep.Start())
		t.Cleanup(func() { sleep.Process.Kill(); sleep.Wait() })
	}})
	pid := sleep.Process.Pid

	var warn string
	for _, l := range strings.Split(m.logText(), "\n") {
		if strings.Contains(l, "level=WARN") && strings.Contains(l, fmt.Sprintf("pid=%d ", pid)) {
			warn = l
		}
	}
	if !strings.Contains(warn, "holds=cwd") || !strings.Contains(warn, "bypass mirrorfs") || !strings.Contains(warn, "comm=sleep") {
		t.Errorf("no WARN naming pid %d, sleep and its cwd in the log (found %q):\n%s", pid, warn, m.logText())
	}

	st := m.Status(t)
	found := false
	list, _ := st["bypass"].([]any)
	for _, e := range list {
		if h, _ := e.(map[string]any); h["pid"] == float64(pid) {
			found = true
		}
	}
	if !found {
		t.Errorf("status bypass lacks pid %d: %v", pid, st["bypass"])
	}

	lines, _, out := runCheck(t, m.env(), m.Mnt)
	l, ok := findCheck(lines, "bypass")
	if !ok || l.Result != "WARN" || !strings.Contains(l.Detail, fmt.Sprintf("pid %d (sleep): cwd", pid)) {
		t.Errorf("check: want bypass WARN naming pid %d, got %+v\n%s", pid, l, out)
	}
	if strings.Contains(l.Detail, fmt.Sprintf("pid %d ", int(st.num("pid")))) {
		t.Errorf("check names the mirrorfs process itself as bypassing: %s", l.Detail)
	}
}
