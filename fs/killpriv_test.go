package fs

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/mirrorfs/mirrorfs/internal/change"
)

// TestKillPrivs: a write or truncate by another user (uid 65534, without
// CAP_FSETID) clears setuid and setgid through the mount exactly as on a
// native directory, and a root writer keeps them. Under
// FUSE_HANDLE_KILLPRIV_V2 that is the daemon's job (killRequested), with
// and without kernel passthrough.
func TestKillPrivs(t *testing.T) {
	requireFuse(t)
	if os.Geteuid() != 0 {
		t.Skip("needs root to act as another user")
	}
	if _, err := exec.LookPath("setpriv"); err != nil {
		t.Skip("needs setpriv (util-linux)")
	}
	nobody := []string{"setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", "--"}
	ops := []struct {
		name string
		argv []string
	}{
		{"write", append(nobody, "sh", "-c", `printf x 1<>"$0"`)},
		{"append", append(nobody, "sh", "-c", `printf x >>"$0"`)},
		{"write-twice", append(nobody, "sh", "-c", `printf x 1<>"$0"; printf y 1<>"$0"`)},
		{"ftruncate", append(nobody, "truncate", "-s", "1")},
		{"o_trunc", append(nobody, "sh", "-c", `: >"$0"`)},
		{"chown-same", []string{"chown", "-h", "--", "0:0"}},
		{"root-write", []string{"sh", "-c", `printf x 1<>"$0"`}},
		{"root-truncate", []string{"truncate", "-s", "1"}},
	}
	modes := []uint32{0o6777, 0o6766, 0o4777, 0o2777, 0o0777}
	for _, passthrough := range []bool{true, false} {
		t.Run(fmt.Sprintf("passthrough=%v", passthrough), func(t *testing.T) {
			tm := mountTest(t, func(o *Options) {
				o.AllowOther = true
				o.noPassthrough = !passthrough
			})
			native := t.TempDir()
			for _, d := range []string{native, filepath.Dir(tm.mnt)} {
				openUp(t, d)
			}
			for _, op := range ops {
				for _, mode := range modes {
					name := fmt.Sprintf("%s-%04o", op.name, mode)
					got := [2]uint32{}
					for i, dir := range []string{native, tm.mnt} {
						p := filepath.Join(dir, name)
						if err := os.WriteFile(p, []byte("abc"), 0o644); err != nil {
							t.Fatal(err)
						}
						if err := unix.Chmod(p, mode); err != nil {
							t.Fatal(err)
						}
						argv := append(append([]string(nil), op.argv...), p)
						if out, err := exec.Command(argv[0], argv[1:]...).CombinedOutput(); err != nil {
							t.Fatalf("%s on %s: %v: %s", op.name, dir, err, out)
						}
						var st unix.Stat_t
						if err := unix.Stat(p, &st); err != nil {
							t.Fatal(err)
						}
						got[i] = st.Mode & 0o7777
					}
					if got[1] != mode && got[1]&0o777 == mode&0o777 {
						// The cleared bits are an attribute change the engine must hear of.
						tm.rec.waitFor(t, "the setattr of "+name, func(cs []change.Change) bool {
							return slices.Contains(cs, change.Change{Op: change.OpSetattr, Path: name})
						})
					}
					if got[0] != got[1] {
						t.Errorf("%s: mode %04o natively, %04o through the mount", name, got[0], got[1])
					}
					// The backing file agrees with what the mount shows.
					var st unix.Stat_t
					if err := unix.Stat(filepath.Join(tm.backing, name), &st); err != nil {
						t.Fatal(err)
					}
					if st.Mode&0o7777 != got[1] {
						t.Errorf("%s: backing file has %04o, the mount shows %04o", name, st.Mode&0o7777, got[1])
					}
				}
			}
		})
	}
}

// openUp lets another user reach dir: t.TempDir makes its directories 0700.
func openUp(t *testing.T, dir string) {
	t.Helper()
	for d := dir; d != "/" && d != os.TempDir(); d = filepath.Dir(d) {
		if err := os.Chmod(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
}
