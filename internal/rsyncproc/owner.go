package rsyncproc

import (
	"fmt"
	"os"
	"strconv"
	"strings"
	"sync"
)

// OwnerEnv is the environment variable that marks every child with the
// process that started it, as "PID:STARTTIME" (start time in clock ticks
// since boot, so a reused PID does not pass for the owner).
const OwnerEnv = "MIRRORFS_OWNER"

var ownerOnce = sync.OnceValue(func() string {
	pid := os.Getpid()
	st, err := procStart(pid)
	if err != nil {
		return strconv.Itoa(pid) + ":0"
	}
	return fmt.Sprintf("%d:%d", pid, st)
})

// Owner is this process's marker value.
func Owner() string { return ownerOnce() }

// ownerAlive reports whether the process a marker value names still runs.
func ownerAlive(v string) bool {
	p, s, ok := strings.Cut(v, ":")
	pid, err1 := strconv.Atoi(p)
	st, err2 := strconv.ParseUint(s, 10, 64)
	if !ok || err1 != nil || err2 != nil || pid <= 0 {
		return true // not ours to judge
	}
	f, err := procStat(pid)
	if err != nil || len(f) < 20 || f[0] == "Z" || f[0] == "X" {
		return false
	}
	return st == 0 || f[19] == s
}

// procStart is field 22 of /proc/PID/stat: when the process started.
func procStart(pid int) (uint64, error) {
	f, err := procStat(pid)
	if err != nil {
		return 0, err
	}
	if len(f) < 20 {
		return 0, fmt.Errorf("/proc/%d/stat: %d fields", pid, len(f))
	}
	return strconv.ParseUint(f[19], 10, 64)
}

// procStat returns the fields of /proc/PID/stat after the command name
// (f[0] is field 3, the state).
func procStat(pid int) ([]string, error) {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return nil, err
	}
	i := strings.LastIndexByte(string(b), ')')
	if i < 0 {
		return nil, fmt.Errorf("/proc/%d/stat: no command name", pid)
	}
	return strings.Fields(string(b[i+1:])), nil
}
