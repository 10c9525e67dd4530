package rsyncproc

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// Cancelling the context kills the child and what it started.
func TestCancelKillsGroup(t *testing.T) {
	dir := t.TempDir()
	gc := filepath.Join(dir, "grandchild")
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan Result, 1)
	go func() {
		done <- Run(ctx, Spec{Path: script(t, "sleep 1000 & echo $! > "+gc+"; wait")})
	}()
	pid := waitPid(t, gc)
	cancel()
	r := <-done
	if !r.Cancelled || r.Code != -1 {
		t.Fatalf("cancelled %v, code %d; want a cancelled run", r.Cancelled, r.Code)
	}
	eventually(t, 5*time.Second, "the grandchild to die", func() bool { return gone(pid) })
}

// A grandchild left running after the child exited is killed too.
func TestExitKillsLeftovers(t *testing.T) {
	gc := filepath.Join(t.TempDir(), "grandchild")
	r := Run(context.Background(), Spec{Path: script(t, "sleep 1000 >/dev/null 2>&1 & echo $! > "+gc)})
	if r.Code != 0 {
		t.Fatalf("code %d (%v)", r.Code, r.Err())
	}
	pid := waitPid(t, gc)
	eventually(t, 5*time.Second, "the grandchild to die", func() bool { return gone(pid) })
}

// kill -9 of the parent takes the child with it (parent-death signal).
func TestParentDeathKillsChild(t *testing.T) {
	pidFile := filepath.Join(t.TempDir(), "child")
	parent := exec.Command("/proc/self/exe", "-test.run=^$")
	parent.Env = append(os.Environ(), parentEnv+"="+script(t, "echo $$ > "+pidFile+"; exec sleep 1000"))
	if err := parent.Start(); err != nil {
		t.Fatal(err)
	}
	child := waitPid(t, pidFile)
	if gone(child) {
		t.Fatal("child died before its parent")
	}
	parent.Process.Signal(syscall.SIGKILL)
	parent.Wait()
	eventually(t, 5*time.Second, "the child to die with its parent", func() bool { return gone(child) })
}

// Linux sends the parent-death signal when the forking thread exits. A
// child started from a goroutine whose locked thread then ends must live
// on; the control case shows the hazard is real on this kernel.
func TestChildSurvivesCallerThread(t *testing.T) {
	for _, direct := range []bool{false, true} {
		name := map[bool]string{false: "through the spawner", true: "direct start (control)"}[direct]
		t.Run(name, func(t *testing.T) {
			cmd := exec.Command("sleep", "1000")
			cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
			errc := make(chan error, 1)
			go func() {
				runtime.LockOSThread() // never unlocked: the thread ends with this goroutine
				if direct {
					errc <- cmd.Start()
				} else {
					errc <- start(cmd)
				}
			}()
			if err := <-errc; err != nil {
				t.Fatal(err)
			}
			defer func() { cmd.Process.Kill(); cmd.Wait() }()
			exited := make(chan struct{})
			go func() {
				var info unix.Siginfo
				unix.Waitid(unix.P_PID, cmd.Process.Pid, &info, unix.WEXITED|unix.WNOWAIT, nil)
				close(exited)
			}()
			select {
			case <-exited:
				if !direct {
					t.Fatal("the child died when the caller's thread ended")
				}
			case <-time.After(2 * time.Second):
				if direct {
					t.Log("control: the child outlived its forking thread; this runtime kept the thread")
				}
			}
		})
	}
}
