package tests

import (
	"os"
	"path/filepath"
	"sort"
	"testing"

	"github.com/hanwen/go-fuse/v2/posixtest"

	"github.com/mirrorfs/mirrorfs/internal/testkit"
)

// TestPosix runs go-fuse's POSIX conformance cases against a mount started
// by the binary, then checks that what they left behind is mirrored.
func TestPosix(t *testing.T) {
	// Chrooted module: the cases create absolute symlinks, which the
	// article's "use chroot = no" would rewrite on the daemon side.
	m := mountMirror(t, mountOptions{Args: []string{"--xattrs"}, DaemonOpts: testkit.DaemonOptions{UseChroot: true}})
	names := make([]string, 0, len(posixtest.All))
	for name := range posixtest.All {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		t.Run(name, func(t *testing.T) {
			dir := filepath.Join(m.Mnt, name)
			must(t, os.Mkdir(dir, 0o755))
			posixtest.All[name](t, dir)
		})
	}
	m.assertMirrored(t, testkit.CompareOptions{Xattrs: true})
}
