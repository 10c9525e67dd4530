package fs

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestSymlinkCaching: with FUSE_CACHE_SYMLINKS the kernel asks for a
// symlink's target once, and a symlink replaced through the mount shows
// its new target at once.
func TestSymlinkCaching(t *testing.T) {
	for _, tc := range []struct {
		name     string
		slow     slowFlags
		maxReads int
	}{
		{"cached", 0, 1},
		{"uncached", slowSymlinks, 1 << 30},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tm := mountTest(t, func(o *Options) { o.Debug = true; o.slow = tc.slow })
			l := filepath.Join(tm.mnt, "l")
			must(t, os.Symlink("target-one", l))
			for range 50 {
				got, err := os.Readlink(l)
				if err != nil || got != "target-one" {
					t.Fatalf("readlink = %q, %v; want target-one", got, err)
				}
			}
			reads := strings.Count(tm.debugLog(), "READLINK")
			t.Logf("%d READLINK requests for 50 readlink(2) calls", reads)
			if reads > tc.maxReads {
				t.Errorf("%d READLINK requests, want at most %d", reads, tc.maxReads)
			}
			must(t, os.Remove(l))
			must(t, os.Symlink("target-two", l))
			if got, err := os.Readlink(l); err != nil || got != "target-two" {
				t.Fatalf("after replacing: readlink = %q, %v; want target-two", got, err)
			}
		})
	}
}
