package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"time"

	"github.com/mirrorfs/mirrorfs/internal/audit"
	"github.com/mirrorfs/mirrorfs/internal/control"
	"github.com/mirrorfs/mirrorfs/internal/doctor"
	"github.com/mirrorfs/mirrorfs/internal/exitcode"
	"github.com/mirrorfs/mirrorfs/mirror"
)

var _ control.Handler = (*instance)(nil)

// statusView is the status of one mount: the engine's plus the mount's own.
type statusView struct {
	Mountpoint string    `json:"mountpoint"`
	PID        int       `json:"pid"`
	Version    string    `json:"version"`
	Started    time.Time `json:"started"`
	// PasswordFile is a path, never the password: `mirrorfs check` reuses it.
	PasswordFile   string   `json:"password_file,omitempty"`
	Exclude        []string `json:"exclude,omitempty"`
	ExcludedEvents uint64   `json:"excluded_events"`
	mirror.Status
	Audit *audit.Status `json:"audit,omitempty"` // --inotify-audit
	// Bypass: processes that held files under the directory when it was
	// mounted over, found by the scan at mount time.
	Bypass []doctor.Holder `json:"bypass,omitempty"`
}

func (in *instance) Handle(ctx context.Context, req control.Request) (any, error) {
	if req.TimeoutMS > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, time.Duration(req.TimeoutMS)*time.Millisecond)
		defer cancel()
	}
	switch req.Cmd {
	case "status":
		return statusView{
			Mountpoint:     in.cfg.Mountpoint,
			PID:            os.Getpid(),
			Version:        version,
			Started:        in.started,
			PasswordFile:   in.cfg.PasswordFile,
			Exclude:        in.changes.exclude.Patterns(),
			ExcludedEvents: in.engine.Excluded(),
			Status:         in.engine.Status(),
			Audit:          in.auditStatus(),
			Bypass:         in.diag.bypass,
		}, nil
	case "stats":
		return in.diag.stats.Snapshot(statsTop), nil
	case "sync":
		if req.Full {
			if !req.Wait {
				go in.engine.Reconcile(context.Background())
				return map[string]bool{"started": true}, nil
			}
			if err := in.engine.Reconcile(ctx); err != nil {
				if ctx.Err() == nil {
					err = control.WithCode("stuck", err)
				}
				return nil, err
			}
			return in.engine.Status().Reconcile, nil
		}
		if !req.Wait {
			go in.engine.Sync(context.Background())
			return map[string]bool{"started": true}, nil
		}
		res, err := in.engine.Sync(ctx)
		var stuck *mirror.StuckError
		if errors.As(err, &stuck) {
			err = control.WithCode("stuck", err)
		}
		return res, err
	case "verify":
		return verifyEngine(ctx, in.engine, req.Repair)
	case "unmount":
		select {
		case in.stop <- "mirrorfs unmount":
		default: // already stopping
		}
		select {
		case <-in.done:
			return in.final, controlCode(in.finalErr)
		case <-ctx.Done():
			return nil, fmt.Errorf("still flushing when the request ended: %w", ctx.Err())
		}
	}
	return nil, fmt.Errorf("unknown control command %q", req.Cmd)
}

// controlCode carries an exit code across the control socket.
func controlCode(err error) error {
	var ee *exitError
	if !errors.As(err, &ee) {
		return err
	}
	switch ee.code {
	case exitcode.Flush:
		return control.WithCode("pending", err)
	case exitcode.Sync:
		return control.WithCode("stuck", err)
	}
	return err
}
