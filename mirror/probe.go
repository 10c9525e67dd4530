package mirror

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"strings"

	"golang.org/x/sys/unix"
)

// Probe checks that the destination can be written: for a daemon it lists
// the module root (auth and module are checked, nothing is transferred),
// directly or through ssh; for a remote shell destination it lists the
// directory (host key, login and the directory are checked); for a local
// directory it checks the directory itself.
func Probe(ctx context.Context, cfg Config) error {
	if cfg.Dest.Kind == DestLocal {
		return probeLocal(cfg.Dest.LocalDir)
	}
	if cfg.Dest.Kind != DestDaemon && cfg.Dest.Kind != DestShell {
		return errors.New("probe: no destination given")
	}
	if err := cfg.setDefaults(); err != nil {
		return err
	}
	if key := cfg.sshKey(); key != "" && cfg.overSSH() {
		if err := CheckSSHKey(key); err != nil {
			return err
		}
	}
	r := execRsync(ctx, &cfg, rsyncArgs(&cfg, modeProbe), nil, 0)
	if r.startErr != nil {
		return fmt.Errorf("cannot run %s: %w; it must be rsync 3.1.0 or newer", cfg.RsyncPath, r.startErr)
	}
	if r.code == -1 {
		return fmt.Errorf("probe of %s interrupted: %w", cfg.Dest, ctx.Err())
	}
	if cfg.Dest.Kind == DestShell && r.code == 23 && strings.Contains(string(r.stderr), "No such file or directory") {
		return &RsyncError{Code: r.code, Class: ClassDestIO, Detail: firstErrorLine(r.stderr),
			Msg: fmt.Sprintf("directory %s does not exist on %s: create it (%s mkdir -p %s)", cfg.Dest.Path, cfg.Dest.Host, sshHint(&cfg), cfg.Dest.Path)}
	}
	if rerr := classify(r.code, r.stderr, cfg.Dest, &cfg); rerr != nil {
		// Probe is a one-shot check: "retrying" is for the engine.
		return &RsyncError{Code: rerr.Code, Class: rerr.Class, Detail: rerr.Detail, Msg: trimRetrying(rerr.Msg)}
	}
	return nil
}

func firstErrorLine(stderr []byte) string {
	if l := errorLines(stderr); len(l) > 0 {
		return l[0]
	}
	return ""
}

func trimRetrying(s string) string {
	for _, suf := range []string{"; retrying", " retrying"} {
		if len(s) > len(suf) && s[len(s)-len(suf):] == suf {
			return s[:len(s)-len(suf)]
		}
	}
	return s
}

func probeLocal(dir string) error {
	st, err := os.Stat(dir)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return fmt.Errorf("destination directory %s does not exist: create it (mkdir -p %s)", dir, dir)
	case err != nil:
		return fmt.Errorf("destination directory %s cannot be checked: %w", dir, err)
	case !st.IsDir():
		return fmt.Errorf("destination %s is not a directory: give a directory to mirror into", dir)
	}
	if err := unix.Access(dir, unix.W_OK|unix.X_OK); err != nil {
		return fmt.Errorf("destination directory %s is not writable: %w; fix its permissions", dir, err)
	}
	var sfs unix.Statfs_t
	if err := unix.Statfs(dir, &sfs); err == nil && sfs.Flags&unix.ST_RDONLY != 0 {
		return fmt.Errorf("destination directory %s is on a read-only filesystem: remount it read-write", dir)
	}
	return nil
}
