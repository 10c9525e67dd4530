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

// statusView is the status of one mount: the engines' plus the mount's
// own. The embedded Status is the one destination's, or with several
// their aggregate (aggregateStatus); Destinations always lists each.
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
	Destinations []destStatus  `json:"destinations"`
	Audit        *audit.Status `json:"audit,omitempty"` // --inotify-audit
	// Bypass: processes that held files under the directory when it was
	// mounted over, found by the scan at mount time.
	Bypass []doctor.Holder `json:"bypass,omitempty"`
}

// destStatus is one destination's engine status and its own options.
type destStatus struct {
	mirror.Status
	PasswordFile   string   `json:"password_file,omitempty"` // a path, never the password
	Exclude        []string `json:"exclude,omitempty"`
	ExcludedEvents uint64   `json:"excluded_events"`
}

func (in *instance) Handle(ctx context.Context, req control.Request) (any, error) {
	if req.TimeoutMS > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, time.Duration(req.TimeoutMS)*time.Millisecond)
		defer cancel()
	}
	switch req.Cmd {
	case "status":
		return in.status(), nil
	case "stats":
		return in.diag.stats.Snapshot(statsTop), nil
	case "sync":
		ds, err := pick(in.dests, req.Dest)
		if err != nil {
			return nil, control.WithCode(codeUnknownDest, err)
		}
		return syncDests(ctx, ds, len(in.dests), req.Wait, req.Full)
	case "release":
		ds, err := pick(in.dests, req.Dest)
		if err != nil {
			return nil, control.WithCode(codeUnknownDest, err)
		}
		return releaseDests(ds, req.Path), nil
	case "versions":
		d, err := pickOne(in.dests, req.Dest)
		if err != nil {
			return nil, control.WithCode(codeUnknownDest, err)
		}
		return versionsOf(ctx, d.engine, req.Path)
	case "verify":
		ds, err := pick(in.dests, req.Dest)
		if err != nil {
			return nil, control.WithCode(codeUnknownDest, err)
		}
		return verifyDests(ctx, ds, req.Repair)
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

// codeUnknownDest answers `sync --dest` with a name the mount does not have.
const codeUnknownDest = "unknown_dest"

func (in *instance) status() statusView {
	v := statusView{
		Mountpoint: in.cfg.Mountpoint,
		PID:        os.Getpid(),
		Version:    version,
		Started:    in.started,
		Audit:      in.auditStatus(),
		Bypass:     in.diag.bypass,
	}
	sts := make([]mirror.Status, len(in.dests))
	for i, d := range in.dests {
		sts[i] = d.engine.Status()
		v.Destinations = append(v.Destinations, destStatus{
			Status:         sts[i],
			PasswordFile:   d.cfg.PasswordFile,
			Exclude:        d.exclude.Patterns(),
			ExcludedEvents: d.engine.Excluded(),
		})
		v.ExcludedEvents += d.engine.Excluded()
	}
	v.Status = aggregateStatus(sts)
	if len(in.dests) == 1 {
		v.PasswordFile, v.Exclude = v.Destinations[0].PasswordFile, v.Destinations[0].Exclude
	}
	return v
}

// syncDests runs `sync` on each destination in ds at once; of n in all,
// so errors name the destination when there are several.
func syncDests(ctx context.Context, ds []*destination, n int, wait, full bool) (any, error) {
	if !wait {
		for _, d := range ds {
			if full {
				go d.engine.Reconcile(context.Background())
			} else {
				go d.engine.Sync(context.Background())
			}
		}
		return map[string]bool{"started": true}, nil
	}
	results := make([]any, len(ds))
	errs := make([]error, len(ds))
	eachDest(ds, func(k int, d *destination) {
		if full {
			if err := d.engine.Reconcile(ctx); err != nil {
				if ctx.Err() == nil {
					err = control.WithCode("stuck", err)
				}
				errs[k] = err
				return
			}
			results[k] = d.engine.Status().Reconcile
			return
		}
		res, err := d.engine.Sync(ctx)
		if _, ok := errors.AsType[*mirror.StuckError](err); ok {
			err = control.WithCode("stuck", err)
		}
		results[k], errs[k] = res, err
	})
	for k, err := range errs {
		if err != nil {
			named := ds[k].named(n, err)
			if ce, ok := errors.AsType[*control.CodeError](err); ok && named != err {
				named = control.WithCode(ce.Code, named)
			}
			return nil, named
		}
	}
	if n == 1 {
		return results[0], nil
	}
	out := map[string]any{}
	for k, d := range ds {
		out[d.name] = results[k]
	}
	return out, nil
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
