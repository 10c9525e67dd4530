package rsyncproc

import (
	"errors"
	"os"
	"os/exec"
	"sync"
	"syscall"

	"golang.org/x/sys/unix"
)

// group is the child's process group (its ID is the child's PID, as the
// child leads a new session). It is signalled only while the child is
// unreaped: until then no other process can take that ID.
type group struct {
	cmd    *exec.Cmd
	mu     sync.Mutex
	reaped bool
}

// kill SIGKILLs the whole group; it is the exec.Cmd's Cancel.
func (g *group) kill() error {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.reaped {
		return os.ErrProcessDone
	}
	syscall.Kill(-g.cmd.Process.Pid, syscall.SIGKILL)
	return nil
}

// reapGroup waits for the child to exit without reaping it, then kills
// what is left of its group (a local-mode receiver, an ssh) and lets Wait
// reap it.
func (g *group) reapGroup() {
	var info unix.Siginfo
	for {
		err := unix.Waitid(unix.P_PID, g.cmd.Process.Pid, &info, unix.WEXITED|unix.WNOWAIT, nil)
		if !errors.Is(err, unix.EINTR) {
			break
		}
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	syscall.Kill(-g.cmd.Process.Pid, syscall.SIGKILL)
	g.reaped = true // from here on Wait may reap it
}
