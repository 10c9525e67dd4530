package audit

import (
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/mirrorfs/mirrorfs/internal/change"
)

func TestMatcher(t *testing.T) {
	t0 := time.Unix(1000, 0)
	at := func(ms int) time.Time { return t0.Add(time.Duration(ms) * time.Millisecond) }
	type sight struct {
		s    side
		path string
		ms   int
		ev   bool // inotify evidence only
	}
	tests := []struct {
		name              string
		sights            []sight
		byFUSE, byInotify uint64
	}{
		{"both sides", []sight{{sideFUSE, "a", 0, false}, {sideInotify, "a", 5, false}}, 0, 0},
		{"inotify first, fuse drained later", []sight{{sideInotify, "a", 10, false}, {sideFUSE, "a", 0, false}}, 0, 0},
		{"fuse only", []sight{{sideFUSE, "a", 0, false}}, 0, 1},
		{"inotify only", []sight{{sideInotify, "a", 0, false}}, 1, 0},
		{"too far apart", []sight{{sideFUSE, "a", 0, false}, {sideInotify, "a", 5000, false}}, 1, 1},
		{"modify evidence matches a write", []sight{{sideInotify, "a", 0, true}, {sideFUSE, "a", 2500, false}}, 0, 0},
		{"evidence demands nothing", []sight{{sideInotify, "a", 0, true}}, 0, 0},
		{"other path", []sight{{sideFUSE, "a", 0, false}, {sideInotify, "b", 0, false}}, 1, 1},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			m := newMatcher(2*time.Second, time.Second)
			for _, s := range tc.sights {
				if s.ev {
					m.evidence(s.path, at(s.ms))
				} else {
					m.see(s.s, s.path, at(s.ms), "x")
				}
			}
			m.sweep([2]time.Time{at(1000), at(1000)}) // too early to judge anything
			if f, i, _ := m.counts(); f+i != 0 {
				t.Fatalf("judged before the window passed: %d %d", f, i)
			}
			m.sweep([2]time.Time{at(20000), at(20000)})
			f, i, last := m.counts()
			if f != tc.byFUSE || i != tc.byInotify {
				t.Errorf("missed by fuse %d, by inotify %d; want %d, %d (last %+v)", f, i, tc.byFUSE, tc.byInotify, last)
			}
			if len(m.paths) != 0 {
				t.Errorf("%d entries left after the window", len(m.paths))
			}
		})
	}
}

func TestFUSEPaths(t *testing.T) {
	tests := []struct {
		c    change.Change
		want string
	}{
		{change.Change{Op: change.OpCreate, Path: "f"}, "f"},
		{change.Change{Op: change.OpLink, Path: "b", From: "a"}, "b"}, // the old name's inode changes, not its directory
		{change.Change{Op: change.OpRename, Path: "b", From: "a"}, "a,b"},
		{change.Change{Op: change.OpExchange, Path: "b", From: "a"}, "a,b"},
		{change.Change{Op: change.OpSetattr, Path: "."}, "."},
	}
	for _, tc := range tests {
		if got := strings.Join(fusePaths(tc.c), ","); got != tc.want {
			t.Errorf("%v: paths %q, want %q", tc.c, got, tc.want)
		}
	}
}

func TestMaskKinds(t *testing.T) {
	tests := []struct {
		mask uint32
		want string
	}{
		{unix.IN_CREATE | unix.IN_ISDIR, "CREATE,ISDIR"},
		{unix.IN_CLOSE_WRITE, "CLOSE_WRITE"},
		{unix.IN_MOVED_FROM, "MOVED_FROM"},
		{unix.IN_DELETE, "DELETE"},
		{unix.IN_ATTRIB | unix.IN_ISDIR, "ATTRIB,ISDIR"},
		{unix.IN_MODIFY, "MODIFY"},
		{unix.IN_OPEN, ""},
	}
	for _, tc := range tests {
		if got := maskKinds(tc.mask).String(); got != tc.want {
			t.Errorf("mask %#x: %q, want %q", tc.mask, got, tc.want)
		}
	}
}
