package main

import (
	"context"

	"github.com/mirrorfs/mirrorfs/internal/hooks"
	"github.com/mirrorfs/mirrorfs/mirror"
)

// setupHooks starts the hook runner when a hook is set and makes it the
// engine's event sink. One runner serves every destination: the events
// carry their destination's name.
func (in *instance) setupHooks(ecfg *mirror.Config) {
	if in.hooks == nil {
		hc := hooks.Config{
			Commands: map[mirror.EventKind]string{
				mirror.EventBatch:   in.cfg.OnBatch,
				mirror.EventError:   in.cfg.OnError,
				mirror.EventStuck:   in.cfg.OnStuck,
				mirror.EventHold:    in.cfg.OnHold,
				mirror.EventBarrier: in.cfg.OnBarrier,
			},
			Timeout:    in.cfg.HookTimeout,
			Mountpoint: in.cfg.Mountpoint,
			Log:        in.log,
		}
		if !hc.Enabled() {
			return
		}
		in.hooks = hooks.New(hc)
	}
	ecfg.OnEvent = in.hooks.Handle
}

// closeHooks runs the hooks still queued, for at most hook-timeout in
// all, then kills what still runs.
func (in *instance) closeHooks() {
	if in.hooks == nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), in.cfg.HookTimeout)
	defer cancel()
	in.hooks.Close(ctx)
	in.hooks = nil
}
