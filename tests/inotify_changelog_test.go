package tests

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/mirrorfs/mirrorfs/internal/testkit"
)

// TestInotifyChangelog reproduces the ops article's changelist.log line
//
//	At ${TIME} on ${DATE}, file $FILEPATH was backed up via rsync
//
// from one --format string, written when the change has been shipped, and
// --events picks the article's events.
func TestInotifyChangelog(t *testing.T) {
	logFile := filepath.Join(t.TempDir(), "changelist.log")
	m := mountMirror(t, mountOptions{Args: []string{
		"--changelog-file", logFile,
		"--timefmt", "%Y-%m-%d %H:%M",
		"--format", "At %{%H:%M}T on %{%Y-%m-%d}T, file %w%f was backed up via rsync",
		"--events", "create,delete,moved_to,close_write",
	}})
	must(t, os.WriteFile(filepath.Join(m.Mnt, "a.txt"), []byte("a\n"), 0o644))
	must(t, os.Mkdir(filepath.Join(m.Mnt, "dir"), 0o755))
	m.Sync(t)
	must(t, os.Chmod(filepath.Join(m.Mnt, "a.txt"), 0o600)) // attrib: not selected
	m.Sync(t)
	must(t, os.Rename(filepath.Join(m.Mnt, "a.txt"), filepath.Join(m.Mnt, "dir", "b.txt")))
	m.Sync(t)

	line := func(p string) *regexp.Regexp {
		return regexp.MustCompile(`(?m)^At \d{2}:\d{2} on \d{4}-\d{2}-\d{2}, file ` + regexp.QuoteMeta(p) + ` was backed up via rsync$`)
	}
	want := []*regexp.Regexp{line(m.Mnt + "/a.txt"), line(m.Mnt + "/dir"), line(m.Mnt + "/dir/b.txt")}
	var text string
	testkit.Eventually(t, 10*time.Second, func() (bool, string) {
		data, _ := os.ReadFile(logFile)
		text = string(data)
		for _, re := range want {
			if !re.MatchString(text) {
				return false, fmt.Sprintf("change log lacks a line matching %s:\n%s", re, text)
			}
		}
		return true, ""
	})
	// Three changes selected: create a.txt, mkdir dir, moved to dir/b.txt;
	// the chmod (attrib) and the old name (moved_from) are not.
	if n := strings.Count(text, "\n"); n != 3 {
		t.Errorf("change log has %d lines, want 3:\n%s", n, text)
	}
}
