package control

import (
	"errors"
	"fmt"
	"os"
	"syscall"

	"golang.org/x/sys/unix"
)

// ensureRunDir creates runDir (mode 0700) or checks that an existing one
// cannot be written by anyone else, who could otherwise swap our socket for
// theirs and answer our commands.
func ensureRunDir(runDir string) error {
	if err := os.MkdirAll(runDir, 0o700); err != nil {
		return fmt.Errorf("creating the run directory: %w (set MIRRORFS_RUN_DIR to a writable directory)", err)
	}
	fi, err := os.Stat(runDir)
	if err != nil {
		return fmt.Errorf("run directory: %w", err)
	}
	if !fi.IsDir() {
		return fmt.Errorf("run directory %s is not a directory (remove it or set MIRRORFS_RUN_DIR)", runDir)
	}
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !ok {
		return errors.New("run directory: no owner information")
	}
	if uid := os.Geteuid(); int64(st.Uid) != int64(uid) {
		return fmt.Errorf("run directory %s is owned by uid %d, not by us (uid %d), so its owner could replace the control socket (remove it or set MIRRORFS_RUN_DIR to a directory of ours)", runDir, st.Uid, uid)
	}
	if perm := fi.Mode().Perm(); perm&0o022 != 0 {
		return fmt.Errorf("run directory %s is writable by group or others (mode %04o), so they could replace the control socket (run chmod 700 %s)", runDir, perm, runDir)
	}
	return nil
}

var errLocked = errors.New("lock held")

// acquireLock takes the mountpoint's lock file, which is held for the life of
// the server. It makes the stale-socket check race-free between two servers
// starting at once. The descriptor is close-on-exec so rsync never holds it.
func acquireLock(path string) (*os.File, error) {
	for {
		f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
		if err != nil {
			return nil, fmt.Errorf("control lock: %w", err)
		}
		if err := unix.Flock(int(f.Fd()), unix.LOCK_EX|unix.LOCK_NB); err != nil {
			f.Close()
			if errors.Is(err, unix.EWOULDBLOCK) {
				return nil, errLocked
			}
			return nil, fmt.Errorf("control lock %s: %w", path, err)
		}
		// The previous owner removes the file before unlocking; if we locked a
		// removed file, try again with the current one.
		var held, cur unix.Stat_t
		if unix.Fstat(int(f.Fd()), &held) == nil && unix.Stat(path, &cur) == nil &&
			held.Dev == cur.Dev && held.Ino == cur.Ino {
			return f, nil
		}
		f.Close()
	}
}

func releaseLock(f *os.File) {
	os.Remove(f.Name())
	f.Close()
}
