package main

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"time"

	"github.com/mirrorfs/mirrorfs/internal/exitcode"
	"github.com/mirrorfs/mirrorfs/mirror"
)

// legacyJournal is the journal file of the one-destination layout, kept
// directly in the mountpoint's state directory.
const legacyJournal = "journal"

// destDirName names a destination's journal directory by its canonical
// string: renaming a section keeps its journal, a new destination string
// starts a new one.
func destDirName(c mirror.Config) string {
	return "dest-" + shortHash(c.Dest.String())
}

// adoptLegacyJournal takes over a journal of the one-destination layout in
// dir. With one destination, or when the old directory names the
// destination it was for, it becomes that destination's journal. Otherwise
// nobody can tell which destination it owes, so nothing of it is shipped
// blindly: it is kept aside for humans and every destination runs an
// initial sync, which ships whatever it held.
func adoptLegacyJournal(dir string, dests []*destination, log *slog.Logger) error {
	old := filepath.Join(dir, legacyJournal)
	if _, err := os.Stat(old); errors.Is(err, fs.ErrNotExist) {
		return nil
	} else if err != nil {
		return codef(exitcode.Usage, "cannot read the state directory %s: %v", dir, err)
	}
	if d := legacyOwner(dir, dests); d != nil {
		to := filepath.Join(d.cfg.StateDir, legacyJournal)
		if _, err := os.Stat(to); errors.Is(err, fs.ErrNotExist) {
			if err := os.Rename(old, to); err != nil {
				return codef(exitcode.Usage, "cannot move the journal %s to %s: %v; move it by hand, or choose another --state-dir", old, to, err)
			}
			log.Info("journal of the one-destination layout adopted", "dest", d.name, "journal", to)
			return nil
		}
	}
	aside := filepath.Join(dir, fmt.Sprintf("journal.unadopted-%s", time.Now().UTC().Format("20060102T150405")))
	if err := os.Rename(old, aside); err != nil {
		return codef(exitcode.Usage, "cannot move the journal %s aside: %v; move it by hand, or choose another --state-dir", old, err)
	}
	for _, d := range dests {
		d.cfg.InitialSync = true
	}
	log.Warn("a journal of the one-destination layout does not say which destination it was for: every destination runs an initial sync instead of replaying it; it is kept for inspection",
		"journal", aside, "destinations", destNames(dests))
	return nil
}

// legacyOwner is the destination the old journal was for: the only one,
// or the one its directory's dest file names.
func legacyOwner(dir string, dests []*destination) *destination {
	if len(dests) == 1 {
		return dests[0]
	}
	named, err := os.ReadFile(filepath.Join(dir, "dest"))
	if err != nil {
		return nil
	}
	first, _, _ := bytes.Cut(named, []byte("\n"))
	for _, d := range dests {
		if string(first) == d.cfg.Dest.String() {
			return d
		}
	}
	return nil
}

// noteUnusedJournals logs the journals of destinations this mount no
// longer has: what they hold is not shipped anywhere, and not deleted.
func noteUnusedJournals(dir string, dests []*destination, log *slog.Logger) {
	inUse := map[string]bool{}
	for _, d := range dests {
		inUse[filepath.Base(d.cfg.StateDir)] = true
	}
	old, _ := filepath.Glob(filepath.Join(dir, "dest-*"))
	for _, p := range old {
		if inUse[filepath.Base(p)] {
			continue
		}
		if st, err := os.Stat(filepath.Join(p, legacyJournal)); err != nil || st.Size() == 0 {
			continue
		}
		named, _ := os.ReadFile(filepath.Join(p, "dest"))
		first, _, _ := bytes.Cut(named, []byte("\n"))
		log.Info("a journal of a destination this mount no longer has is kept, unshipped; delete it once that destination is gone for good",
			"dir", p, "dest", string(first))
	}
}
