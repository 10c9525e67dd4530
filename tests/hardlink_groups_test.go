package tests

import (
	"os"
	"testing"

	"github.com/mirrorfs/mirrorfs/internal/testkit"
)

// linkCase changes hard-link groups through the mount; the module must end
// with the same groups (TreeDiff compares them) after one sync --wait, and
// no change may cost a whole-tree sync: every run carries all the names
// of the inodes it ships.
type linkCase struct {
	name   string
	setup  func(t *testing.T, r string) // mirrored before change
	change func(t *testing.T, r string)
}

var linkCases = []linkCase{
	{name: "rename a linked name",
		setup: func(t *testing.T, r string) {
			write(t, r+"/a", "shared")
			must(t, os.Link(r+"/a", r+"/b"))
		},
		change: func(t *testing.T, r string) { must(t, os.Rename(r+"/b", r+"/c")) }},
	{name: "link into a new directory",
		setup: func(t *testing.T, r string) { write(t, r+"/x", "shared") },
		change: func(t *testing.T, r string) {
			must(t, os.Mkdir(r+"/d", 0o755))
			must(t, os.Link(r+"/x", r+"/d/y"))
		}},
	{name: "rename a directory holding a name linked outside",
		setup: func(t *testing.T, r string) {
			must(t, os.Mkdir(r+"/old", 0o755))
			write(t, r+"/old/f", "shared")
			write(t, r+"/old/g", "alone")
			must(t, os.Link(r+"/old/f", r+"/outside"))
		},
		change: func(t *testing.T, r string) { must(t, os.Rename(r+"/old", r+"/new")) }},
	{name: "rename a linked name over a name linked elsewhere",
		setup: func(t *testing.T, r string) {
			write(t, r+"/m", "one")
			must(t, os.Link(r+"/m", r+"/y"))
			write(t, r+"/c", "two")
			must(t, os.Link(r+"/c", r+"/w"))
		},
		change: func(t *testing.T, r string) {
			must(t, os.Link(r+"/m", r+"/t"))
			must(t, os.Rename(r+"/t", r+"/c"))
			f, err := os.OpenFile(r+"/m", os.O_WRONLY|os.O_APPEND, 0)
			must(t, err)
			_, err = f.WriteString(" more")
			must(t, err)
			must(t, f.Close())
		}},
	{name: "link to a group of two",
		setup: func(t *testing.T, r string) {
			write(t, r+"/x", "shared")
			must(t, os.Link(r+"/x", r+"/y"))
		},
		change: func(t *testing.T, r string) {
			must(t, os.Link(r+"/x", r+"/a"))
			write(t, r+"/x", "rewritten through x")
		}},
	{name: "rename a hard-linked symlink",
		setup: func(t *testing.T, r string) {
			must(t, os.Symlink("target", r+"/l"))
			must(t, os.Link(r+"/l", r+"/m"))
		},
		change: func(t *testing.T, r string) { must(t, os.Rename(r+"/m", r+"/n")) }},
	{name: "first link, then write through it",
		setup: func(t *testing.T, r string) { write(t, r+"/x", "alone") },
		change: func(t *testing.T, r string) {
			must(t, os.Link(r+"/x", r+"/y"))
			write(t, r+"/y", "written through y")
		}},
	{name: "write through one of three names",
		setup: func(t *testing.T, r string) {
			write(t, r+"/x", "shared")
			must(t, os.Link(r+"/x", r+"/y"))
			must(t, os.Link(r+"/x", r+"/z"))
		},
		change: func(t *testing.T, r string) {
			f, err := os.OpenFile(r+"/z", os.O_WRONLY|os.O_APPEND, 0)
			must(t, err)
			_, err = f.WriteString(" and more")
			must(t, err)
			must(t, f.Close())
		}},
	{name: "write a group member inside a new directory",
		setup: func(t *testing.T, r string) { write(t, r+"/x", "shared") },
		change: func(t *testing.T, r string) {
			must(t, os.Mkdir(r+"/d", 0o755))
			must(t, os.Link(r+"/x", r+"/d/y"))
			write(t, r+"/d/y", "changed through the new name")
		}},
}

func TestHardLinkGroups(t *testing.T) {
	requireE2E(t)
	for _, tc := range linkCases {
		t.Run(tc.name, func(t *testing.T) {
			m := mountMirror(t, mountOptions{})
			tc.setup(t, m.Mnt)
			m.assertMirrored(t, testkit.CompareOptions{})
			before := fullSyncs(m.Status(t))
			tc.change(t, m.Mnt)
			m.assertMirrored(t, testkit.CompareOptions{})
			st := m.Status(t)
			if got := fullSyncs(st) - before; got != 0 {
				t.Errorf("the change cost %v whole-tree sync(s), want none\nstatus: %s", got, st)
			}
		})
	}
}

// fullSyncs counts the whole-tree syncs the mount has finished.
func fullSyncs(s status) float64 {
	r, _ := s["reconcile"].(map[string]any)
	v, _ := r["count"].(float64)
	return v
}

// TestHardLinkOrphanWrite: a file with two names from before the mount is
// opened through one, that name is removed, and the application goes on
// writing through its descriptor (a log rotated by unlinking it, say).
// The mount never looked up the other name, so it knows no path for the
// writes; they must still reach the other name on the module.
func TestHardLinkOrphanWrite(t *testing.T) {
	m := mountMirror(t, mountOptions{Setup: func(t *testing.T, dir string) {
		write(t, dir+"/keep", "before\n")
		must(t, os.Link(dir+"/keep", dir+"/rotated"))
	}})
	m.Sync(t) // no tree walk through the mount: that would look up keep
	f, err := os.OpenFile(m.Mnt+"/rotated", os.O_WRONLY|os.O_APPEND, 0)
	must(t, err)
	t.Cleanup(func() { f.Close() })
	must(t, os.Remove(m.Mnt+"/rotated"))
	if _, err := f.WriteString("written after the unlink\n"); err != nil {
		t.Fatal(err)
	}
	must(t, f.Close())
	m.assertMirrored(t, testkit.CompareOptions{})
}
