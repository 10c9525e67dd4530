package doctor

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"testing"
)

// TestBypassers: a process whose working directory and an open file lie
// under the directory is listed with both; skipped and filtered-out
// processes are not.
func TestBypassers(t *testing.T) {
	dir := t.TempDir()
	f, err := os.Create(filepath.Join(dir, "x.log"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	cmd := exec.Command("sleep", "30")
	cmd.Dir = dir
	cmd.ExtraFiles = []*os.File{f} // fd 3 in the child
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	pid := cmd.Process.Pid

	find := func(hs []Holder) *Holder {
		for i := range hs {
			if hs[i].PID == pid {
				return &hs[i]
			}
		}
		return nil
	}
	tests := []struct {
		name string
		keep func(uint64) bool
		skip []int
		want []string // nil: not listed
	}{
		{"listed", nil, nil, []string{"cwd", fmt.Sprintf("fd 3 → %s", f.Name())}},
		{"skipped", nil, []int{pid}, nil},
		{"other device", func(uint64) bool { return false }, nil, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			h := find(Bypassers(dir, tc.keep, tc.skip...))
			switch {
			case tc.want == nil && h != nil:
				t.Errorf("pid %d listed: %v", pid, h)
			case tc.want != nil && h == nil:
				t.Errorf("pid %d not listed", pid)
			case tc.want != nil && (h.Comm != "sleep" || !slices.Equal(h.Hold, tc.want)):
				t.Errorf("got %v, want sleep holding %q", h, tc.want)
			}
		})
	}
}
