package rsyncproc

import (
	"os/exec"
	"runtime"
	"sync"
)

// Linux sends the parent-death signal when the thread that forked the child
// exits, not when the process does. Go parks idle threads rather than ending
// them, except a thread whose goroutine exits while locked to it. So every
// child is forked from one goroutine that locks its thread and never
// returns: that thread lives exactly as long as the process.

type spawnReq struct {
	cmd  *exec.Cmd
	done chan<- error
}

var (
	spawnOnce sync.Once
	spawnCh   chan spawnReq
)

func start(cmd *exec.Cmd) error {
	spawnOnce.Do(func() {
		spawnCh = make(chan spawnReq)
		go spawner(spawnCh)
	})
	done := make(chan error, 1)
	spawnCh <- spawnReq{cmd, done}
	return <-done
}

func spawner(reqs <-chan spawnReq) {
	runtime.LockOSThread() // never unlocked: see above
	for r := range reqs {
		closeOnExecAll()
		r.done <- r.cmd.Start()
	}
}
