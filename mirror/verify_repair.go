package mirror

import (
	"context"
	"fmt"

	"github.com/mirrorfs/mirrorfs/internal/change"
)

// Requeue queues the paths of diffs as ordinary changes, so that the next
// batches make them equal on the destination; a Sync after it covers them.
func (e *Engine) Requeue(diffs []Difference) {
	for _, d := range diffs {
		if d.Path == "." {
			e.Add(change.Change{Op: change.OpSetattr, Path: ".", Dir: true})
			continue
		}
		e.Add(change.Change{Op: change.OpSetattr, Path: d.Path, Dir: d.Dir && d.Kind != DiffExtra})
	}
}

// Repair makes the differences of res equal: it queues them and waits
// until they are on the destination, like `sync --wait`. When res could
// not list every difference, it runs a full reconciling sync instead.
func (e *Engine) Repair(ctx context.Context, res VerifyResult) error {
	if res.Count > len(res.Differences) {
		return e.Reconcile(ctx)
	}
	if err := e.repairHidden(ctx, res.Differences); err != nil {
		return err
	}
	e.Requeue(res.Differences)
	_, err := e.Sync(ctx)
	return err
}

// repairHidden sends, by checksum, the files whose content differs with
// the same size and time: rsync's quick check, which every other run
// uses, cannot see them. The paths are also queued after it; what ships
// last is the source's content either way.
func (e *Engine) repairHidden(ctx context.Context, diffs []Difference) error {
	var paths []string
	for _, d := range diffs {
		if d.Kind == DiffContent && d.Item[1] == 'f' && d.Item[3] != 's' && d.Item[4] != 't' {
			paths = append(paths, d.Path)
		}
	}
	if len(paths) == 0 {
		return nil
	}
	e.mu.Lock()
	cfg := e.cfg
	e.mu.Unlock()
	args := append([]string{"-c"}, rsyncArgs(&cfg, modeList)...)
	r := execRsync(ctx, &cfg, args, listInput(paths), cfg.stallAfter(modeList))
	if rerr := e.resultError(r); rerr != nil {
		return fmt.Errorf("sending %d file(s) whose content differs at the same size and time: %w", len(paths), rerr)
	}
	return nil
}
