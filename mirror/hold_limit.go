package mirror

import (
	"fmt"
	"math"
	"strconv"
	"strings"
)

// HoldLimit is hold-deletes: how many file deletes within HoldWindow are
// shipped before the rest are held. The zero value holds nothing.
type HoldLimit struct {
	Count   int     // a number of files
	Percent float64 // or a share of the source's files (0 < Percent <= 100)
}

// On reports whether deletes can be held at all.
func (l HoldLimit) On() bool { return l.Count > 0 || l.Percent > 0 }

func (l HoldLimit) String() string {
	switch {
	case l.Count > 0:
		return strconv.Itoa(l.Count)
	case l.Percent > 0:
		return strconv.FormatFloat(l.Percent, 'f', -1, 64) + "%"
	}
	return "off"
}

// ParseHoldLimit reads hold-deletes: N (files) or P% (of the tree's files).
func ParseHoldLimit(s string) (HoldLimit, error) {
	s = strings.TrimSpace(s)
	if p, ok := strings.CutSuffix(s, "%"); ok {
		f, err := strconv.ParseFloat(strings.TrimSpace(p), 64)
		if err != nil || math.IsNaN(f) || f <= 0 || f > 100 {
			return HoldLimit{}, fmt.Errorf("not a percentage above 0 and at most 100 (write e.g. 20%%)")
		}
		return HoldLimit{Percent: f}, nil
	}
	n, err := strconv.ParseInt(strings.ReplaceAll(s, "_", ""), 10, 0)
	if err != nil || n < 1 {
		return HoldLimit{}, fmt.Errorf("not a positive number of files or a percentage (write e.g. 1000 or 20%%)")
	}
	return HoldLimit{Count: int(n)}, nil
}

// limit is the number of deletes that may ship within the window, given
// the source's file count; false while a percentage has no count yet.
func (l HoldLimit) limit(files int, known bool) (int, bool) {
	switch {
	case l.Count > 0:
		return l.Count, true
	case l.Percent > 0 && known:
		return max(1, int(math.Ceil(l.Percent*float64(max(files, 0))/100))), true
	}
	return 0, false
}
