package rsyncproc

import (
	"fmt"
	"os"
	"os/exec"
	"slices"
	"strings"
	"testing"
)

// ReapOrphans kills a process marked by a dead owner and leaves alone an
// unmarked one and one marked by a live owner (this process).
func TestReapOrphans(t *testing.T) {
	dead := exec.Command("sh", "-c", "cat /proc/$$/stat")
	out, err := dead.Output()
	if err != nil {
		t.Fatal(err)
	}
	f := fieldsAfterComm(string(out))
	deadOwner := fmt.Sprintf("%d:%s", dead.Process.Pid, f[19])

	spawn := func(env ...string) *exec.Cmd {
		c := exec.Command("sleep", "1000")
		c.Env = append(os.Environ(), env...)
		if err := c.Start(); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { c.Process.Kill(); c.Wait() })
		return c
	}
	orphan := spawn(OwnerEnv + "=" + deadOwner)
	unmarked := spawn()
	ours := spawn(OwnerEnv + "=" + Owner())

	killed, err := ReapOrphans(nil)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Contains(killed, orphan.Process.Pid) {
		t.Fatalf("orphan %d not killed; killed %v", orphan.Process.Pid, killed)
	}
	orphan.Wait()
	for _, c := range []*exec.Cmd{unmarked, ours} {
		if slices.Contains(killed, c.Process.Pid) || gone(c.Process.Pid) {
			t.Fatalf("pid %d (%v) was killed", c.Process.Pid, c.Env[len(c.Env)-1])
		}
	}
}

func fieldsAfterComm(stat string) []string {
	return strings.Fields(stat[strings.LastIndexByte(stat, ')')+1:])
}
