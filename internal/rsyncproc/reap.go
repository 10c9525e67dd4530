package rsyncproc

import (
	"bytes"
	"fmt"
	"log/slog"
	"os"
	"strconv"
	"syscall"
)

// ReapOrphans kills the children an earlier, now dead, owner left behind:
// every process whose environment carries OwnerEnv naming a process that no
// longer runs (rsync's own children inherit the marker too), and the
// process group of each one that leads its group. Parent-death signals
// cover the direct children of a killed owner; this covers what they had
// started, and a crash before the signal could take effect. It returns the
// PIDs it killed.
func ReapOrphans(log *slog.Logger) ([]int, error) {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	d, err := os.Open("/proc")
	if err != nil {
		return nil, fmt.Errorf("reap orphaned children: %w", err)
	}
	names, err := d.Readdirnames(-1)
	d.Close()
	if err != nil {
		return nil, fmt.Errorf("reap orphaned children: %w", err)
	}
	self := os.Getpid()
	var killed []int
	for _, n := range names {
		pid, err := strconv.Atoi(n)
		if err != nil || pid == self {
			continue
		}
		owner, ok := marker(pid)
		if !ok || ownerAlive(owner) {
			continue
		}
		if f, err := procStat(pid); err == nil && len(f) > 2 && f[2] == n {
			syscall.Kill(-pid, syscall.SIGKILL) // it leads its group: the session we made for it
		}
		if err := syscall.Kill(pid, syscall.SIGKILL); err == nil {
			killed = append(killed, pid)
			log.Warn("killed a child left behind by a dead mirrorfs", "pid", pid, "comm", procLine(pid, "comm"), "owner", owner)
		}
	}
	return killed, nil
}

// marker returns the OwnerEnv value in pid's environment.
func marker(pid int) (string, bool) {
	env, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/environ")
	if err != nil {
		return "", false
	}
	prefix := []byte(OwnerEnv + "=")
	for _, kv := range bytes.Split(env, []byte{0}) {
		if v, ok := bytes.CutPrefix(kv, prefix); ok {
			return string(v), true
		}
	}
	return "", false
}
