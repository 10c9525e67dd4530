package testkit

import (
	"fmt"
	"net"
	"os/exec"
	"syscall"
	"time"
)

// server is the process of a test daemon listening on 127.0.0.1 (rsync
// --daemon, sshd), in its own process group: stopping it ends the
// per-connection children too, so an outage really cuts running sessions.
type server struct {
	cmd    *exec.Cmd
	exited chan struct{}
}

// launch starts cmd and waits until addr accepts connections; stop
// undoes a start that never got that far.
func (s *server) launch(name string, cmd *exec.Cmd, addr string, stop func()) error {
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("starting %s: %w", name, err)
	}
	exited := make(chan struct{})
	go func() { cmd.Wait(); close(exited) }()
	s.cmd, s.exited = cmd, exited
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		select {
		case <-exited:
			return fmt.Errorf("%s exited early: %v", name, cmd.ProcessState)
		default:
		}
		c, err := net.DialTimeout("tcp", addr, time.Second)
		if err == nil {
			c.Close()
			return nil
		}
		if time.Now().After(deadline) {
			stop()
			return fmt.Errorf("%s not accepting on %s after 10s: %w", name, addr, err)
		}
	}
}

// running reports whether the process is alive.
func (s *server) running() bool {
	if s.cmd == nil {
		return false
	}
	select {
	case <-s.exited:
		return false
	default:
		return true
	}
}

// restart calls start until it succeeds, for up to 10 s: the old
// listener may linger briefly after a stop.
func restart(start func() error) error {
	var err error
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(100 * time.Millisecond) {
		if err = start(); err == nil || time.Now().After(deadline) {
			return err
		}
	}
}
