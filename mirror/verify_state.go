package mirror

import (
	"time"

	"github.com/mirrorfs/mirrorfs/internal/change"
)

// verifyState is the running verify (at most one) and the last result.
// While one runs, Add notes the paths it sees (noteLocked): a difference
// on one of them may be rsync seeing it mid-change.
type verifyState struct {
	running  bool
	touched  map[string]struct{} // pending at the start, or changed since
	parents  map[string]struct{} // directories of touched paths: their mtimes move
	overflow bool                // more than maxVerifyTouch paths
	last     VerifyStatus
	next     time.Time // verify-interval's next run (verify_schedule.go)
}

func (v *verifyState) noteLocked(c change.Change) {
	if !v.running {
		return
	}
	v.note(c.Path)
	if c.From != "" {
		v.note(c.From)
	}
}

func (v *verifyState) note(p string) {
	if len(v.touched) >= maxVerifyTouch {
		v.overflow = true
		return
	}
	v.touched[p] = struct{}{}
	v.parents[parent(p)] = struct{}{}
}

// unsure reports whether a difference on p may come from a change the
// engine knows of: p or a directory above it was touched, or something
// directly inside it was.
func (v *verifyState) unsure(p string) bool {
	if v.overflow {
		return true
	}
	if _, ok := v.parents[p]; ok {
		return true
	}
	for a := p; ; a = parent(a) {
		if _, ok := v.touched[a]; ok {
			return true
		}
		if a == "." {
			return false
		}
	}
}
