package mirror

import "time"

// An rsync can hang with both ends alive: each side waits for the other and
// only keep-alive messages cross the socket, so rsync's own --timeout never
// fires (see noIncRecursive for the case found so far). rsyncproc's
// watchdog kills a run whose process tree moves no more than keep-alives
// for the stall period; a run stuck opening a path is killed sooner.

// stallAfter is how long a run may make no progress before it is killed:
// Config.Stall, or 4 × --timeout (20 × for a whole-tree sync, whose far side
// may compare a large unchanged tree in silence for a long time).
func (c *Config) stallAfter(mode argMode) time.Duration {
	if c.Stall > 0 {
		if mode == modeFull {
			return 5 * c.Stall
		}
		return c.Stall
	}
	if mode == modeFull {
		return 20 * c.Timeout
	}
	return 4 * c.Timeout
}
