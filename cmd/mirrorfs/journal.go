package main

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"

	"golang.org/x/sys/unix"

	"github.com/mirrorfs/mirrorfs/config"
	"github.com/mirrorfs/mirrorfs/internal/exitcode"
	"github.com/mirrorfs/mirrorfs/mirror"
)

// setupJournals gives each destination its journal: STATE-DIR/<hash of
// the mountpoint>/dest-<hash of the destination> (journals.go), named like
// the control socket so any length fits, with the mountpoint and the
// destination written inside for humans.
func setupJournals(cfg config.Config, dests []*destination, log *slog.Logger) error {
	if cfg.StateDir == "" || cfg.StateDir == "none" {
		return nil
	}
	mp := filepath.Clean(cfg.Mountpoint)
	dir := filepath.Join(cfg.StateDir, shortHash(mp))
	if err := ensureStateDir(dir, "mountpoint", mp); err != nil {
		return err
	}
	for _, d := range dests {
		d.cfg.StateDir = filepath.Join(dir, destDirName(d.cfg))
		if err := ensureStateDir(d.cfg.StateDir, "dest", d.cfg.Dest.String()+"\n"+d.name); err != nil {
			return err
		}
	}
	noteUnusedJournals(dir, dests, log)
	return adoptLegacyJournal(dir, dests, log)
}

func shortHash(s string) string {
	sum := sha256.Sum256([]byte(s))
	return hex.EncodeToString(sum[:8])
}

// ensureStateDir creates dir and writes what it is for into the file name.
func ensureStateDir(dir, name, content string) error {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return codef(exitcode.Usage, "cannot create the state directory %s: %v; choose another with --state-dir, or state-dir=none to run without a journal", dir, err)
	}
	file := filepath.Join(dir, name)
	if old, err := os.ReadFile(file); err != nil || !bytes.Equal(old, []byte(content+"\n")) {
		if err := os.WriteFile(file, []byte(content+"\n"), 0o600); err != nil {
			return codef(exitcode.Usage, "cannot write to the state directory %s: %v", dir, err)
		}
	}
	return nil
}

// engineError gives mirror.New's error its exit code and, for a journal
// that cannot be written, what to do. That is no bad option but the state
// of a disk, which may heal: exit 1, so systemd's Restart=on-failure tries
// again. The journal is left as it was; a later mount replays it.
func engineError(err error) error {
	var busy *mirror.StateDirBusyError
	if errors.As(err, &busy) {
		return codef(exitcode.Usage, "%w; stop that mirrorfs first, or give this mount its own --state-dir", err)
	}
	var je *mirror.JournalError
	if !errors.As(err, &je) {
		return withCode(exitcode.Usage, err)
	}
	fix := "repair it"
	if errors.Is(err, syscall.ENOSPC) || errors.Is(err, syscall.EDQUOT) {
		fix = "free space on its filesystem"
	}
	return codef(exitcode.Internal, "%w; %s (the next mount replays the unshipped changes it holds), or choose another --state-dir, or state-dir=none to run without a journal", err, fix)
}

// clearStale lazily unmounts what a crashed mirrorfs left at mp
// ("transport endpoint is not connected"). A live mount is left alone.
func clearStale(mp string, log *slog.Logger) error {
	for range 8 { // stale mounts can be stacked
		_, err := os.Stat(mp)
		if !errors.Is(err, syscall.ENOTCONN) {
			return nil
		}
		if err := unix.Unmount(mp, unix.MNT_DETACH); err != nil {
			out, ferr := exec.Command("fusermount3", "-u", "-z", mp).CombinedOutput()
			if ferr != nil {
				return codef(exitcode.Mount, "cannot clear the stale mount at %s: %v (fusermount3: %v %s); unmount it by hand with `umount -l %s`", mp, err, ferr, bytes.TrimSpace(out), mp)
			}
		}
		log.Warn("cleared a stale mount left by a crashed mirrorfs (lazy unmount)", "mountpoint", mp)
	}
	return codef(exitcode.Mount, "mountpoint %s is still a stale mount after clearing 8 of them: run `umount -l %s` until it is gone", mp, mp)
}

// printRecovery adds the journal's view to `mirrorfs status`.
func printRecovery(w io.Writer, st statusView) {
	r := st.Recovery
	switch r.Start {
	case mirror.StartNoJournal, "":
		fmt.Fprintf(w, "  journal\toff (a crash loses the queue; the next initial sync repairs the mirror)\n")
	default:
		j := st.Journal
		state := fmt.Sprintf("%s, %s", j.Dir, bytesHuman(j.Bytes))
		if j.Error != "" {
			state += ", STOPPED: " + j.Error
		}
		fmt.Fprintf(w, "  journal\t%s\n", state)
		switch r.Start {
		case mirror.StartFresh:
			fmt.Fprintf(w, "  start\tfresh (no journal from an earlier run)\n")
		case mirror.StartClean:
			fmt.Fprintf(w, "  start\tclean restart: %d pending change(s) replayed\n", r.Replayed)
		case mirror.StartUnclean:
			fmt.Fprintf(w, "  start\trecovered after an unclean stop: %d change(s) replayed, reconcile %s\n", r.Replayed, r.Reconcile)
		}
	}
	rc := st.Reconcile
	switch {
	case rc.Running:
		fmt.Fprintf(w, "  reconcile\trunning\n")
	case rc.Pending:
		fmt.Fprintf(w, "  reconcile\twaiting to start\n")
	case rc.Interval != "" && rc.Next != nil:
		fmt.Fprintf(w, "  reconcile\tevery %s, next at %s\n", rc.Interval, rc.Next.Format("15:04:05"))
	}
	if rc.LastError != "" {
		fmt.Fprintf(w, "  reconcile error\t%s\n", rc.LastError)
	}
}
