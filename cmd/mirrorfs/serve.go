package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"
)

// shutdownReport is what `mirrorfs unmount` prints and what the process logs
// before it exits.
type shutdownReport struct {
	Reason       string   `json:"reason"`
	Shipped      uint64   `json:"shipped"`
	Pending      int      `json:"pending"`
	PendingPaths []string `json:"pending_paths,omitempty"`
	Stuck        []string `json:"stuck,omitempty"` // cannot be mirrored: too long, failing on their own
	LazyUnmount  bool     `json:"lazy_unmount,omitempty"`
	Error        string   `json:"error,omitempty"`
	// Destinations has one report per destination; the fields above add
	// them up (Error: the first, named by its destination).
	Destinations []destFlush `json:"destinations,omitempty"`
}

// serve runs until the mount goes away (umount, fusermount3 -u), a signal
// arrives or `mirrorfs unmount` asks; then it unmounts, flushes and exits.
func (in *instance) serve() error {
	runCtx, cancelRun := context.WithCancel(context.Background())
	runDone := make(chan error, len(in.dests))
	for _, d := range in.dests {
		go func() { runDone <- d.engine.Run(runCtx) }()
	}

	mountGone := make(chan struct{})
	go func() { in.mount.Wait(); close(mountGone) }()

	sigs := make(chan os.Signal, 2)
	// SIGHUP too: a terminal that closes on a foreground mirrorfs (make
	// run) must not leave a stale mount; there is nothing to reload.
	signal.Notify(sigs, syscall.SIGINT, syscall.SIGTERM, syscall.SIGHUP)
	defer signal.Stop(sigs)

	var reason string
	select {
	case <-mountGone:
		reason = "unmounted"
	case s := <-sigs:
		reason = "signal " + s.String()
	case r := <-in.stop:
		reason = r
	}
	in.log.Info("stopping: flushing queued changes", "reason", reason)
	in.stopAudit()
	notifyStopping(in.cfg.FlushTimeout, in.log)

	rep := in.shutdown(reason, mountGone, sigs)
	cancelRun()
	for range in.dests {
		if err := <-runDone; err != nil && !errors.Is(err, context.Canceled) {
			in.log.Warn("engine stopped with an error", "err", err)
		}
	}
	in.closeChanges()
	for _, d := range in.dests {
		if err := d.engine.Close(); err != nil {
			d.log.Warn("journal", "err", err)
		}
	}
	in.final = rep
	in.finalErr = in.flushError(rep)
	close(in.done)
	// Let a waiting `mirrorfs unmount` receive the report before the socket goes.
	sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	in.ctl.Shutdown(sctx)
	cancel()
	in.stopMetrics()
	in.closeHooks() // the hooks of the final flush run, within hook-timeout
	in.backing.Close()
	if in.finalErr != nil {
		return in.finalErr
	}
	in.log.Info("unmounted and flushed", "shipped", rep.Shipped, "reason", reason)
	return nil
}

func (in *instance) shutdown(reason string, mountGone <-chan struct{}, sigs <-chan os.Signal) shutdownReport {
	rep := shutdownReport{Reason: reason}
	busy := false
	select {
	case <-mountGone:
	default:
		// Unmount first: then the queue cannot grow while it drains.
		if err := in.mount.Unmount(); err != nil {
			busy = true
			in.log.Warn("mountpoint busy: flushing while still mounted, then detaching it lazily", "mountpoint", in.cfg.Mountpoint, "err", err)
		} else {
			<-mountGone
		}
	}

	ctx, cancel := context.WithTimeout(context.Background(), in.cfg.FlushTimeout)
	defer cancel()
	go func() {
		if !strings.HasPrefix(reason, "signal ") {
			// umount or `mirrorfs unmount` started this flush; the SIGTERM
			// that follows at shutdown must not cut it short.
			select {
			case s := <-sigs:
				in.log.Warn("signal while flushing after unmount: still flushing (a second signal abandons the flush)", "signal", s.String())
			case <-ctx.Done():
				return
			}
		}
		select {
		case s := <-sigs:
			in.log.Warn("second signal: abandoning the flush", "signal", s.String())
			cancel()
		case <-ctx.Done():
		}
	}()
	in.flushInto(ctx, &rep)
	if busy {
		rep.LazyUnmount = true
		if err := in.mount.UnmountLazy(); err != nil {
			in.log.Error("lazy unmount failed", "mountpoint", in.cfg.Mountpoint, "err", err)
		} else {
			in.log.Warn("mountpoint detached lazily after the flush; processes still using it will see errors", "mountpoint", in.cfg.Mountpoint)
		}
		select {
		case <-mountGone:
		case <-time.After(2 * time.Second):
		}
		// Changes kept arriving while the busy mount was flushed, and until
		// it was detached: flush again until a flush sees none arrive.
		for ctx.Err() == nil {
			before := in.events()
			in.flushInto(ctx, &rep)
			if in.events() == before {
				break
			}
		}
	}
	return rep
}

func firstN(s []string, n int) []string {
	if len(s) > n {
		return s[:n]
	}
	return s
}

func (r shutdownReport) String() string {
	if r.Pending != 0 || len(r.Stuck) > 0 {
		return fmt.Sprintf("%d change(s) shipped, %d still pending, %d cannot be mirrored", r.Shipped, r.Pending, len(r.Stuck))
	}
	return fmt.Sprintf("%d change(s) shipped, nothing pending", r.Shipped)
}
