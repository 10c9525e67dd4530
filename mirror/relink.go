package mirror

import "slices"

// An in-place run writes into the destination's file under each name it
// lists, and the destination's other names of that inode see the write
// too: that is why old names ship in place. If a listed name is replaced
// (a rename over it, an unlink and a new file) between planning and rsync
// reading it, rsync writes the new file's data into the destination's
// shared inode: every name of the old group then shows it, and the name's
// own entry, shipped next in a plain run, may pass rsync's quick check and
// leave the names linked. So after an in-place run, every listed name of a
// group that lost or changed a name meanwhile ships again as a new name:
// in a plain run, where whichever name's data differs from the shared
// inode gets a file of its own.

// movedDuringRun returns the listed entries of an in-place run that share
// an inode, as planned, with a name that is no longer a name of it.
func movedDuringRun(r *run, stat linkStat) []*entry {
	var bad []fileID
	for _, en := range r.entries {
		ids := r.linked[en]
		if len(ids) == 0 {
			continue
		}
		if id, _, _, ok := stat(en.path); !ok || !slices.Contains(ids, id) {
			bad = append(bad, ids...)
		}
	}
	if len(bad) == 0 {
		return nil
	}
	var out []*entry
	for _, en := range r.entries {
		if slices.ContainsFunc(r.linked[en], func(id fileID) bool { return slices.Contains(bad, id) }) {
			out = append(out, en)
		}
	}
	return out
}

// relinkLocked queues the entries' names again, to ship as new names. The
// caller left out the names that are gone: their unlinks are queued.
func (e *Engine) relinkLocked(moved []*entry) {
	now := e.now()
	for _, en := range moved {
		e.seq++
		m := e.addWriteLocked(en.path, e.seq, now)
		if q := e.q.get(en.path); q != nil {
			q.relink = true
		}
		e.j.add(e.seq, [2]mark{m})
	}
	if len(moved) > 0 {
		e.log.Debug("names changed under an in-place run: shipping them again as new names", "paths", len(moved), "first", moved[0].path)
	}
}
