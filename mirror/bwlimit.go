package mirror

import (
	"fmt"
	"math"
	"strconv"
	"strings"
)

// minBwLimit is rsync's smallest accepted non-zero --bwlimit, in bytes/s.
const minBwLimit = 512

// ParseBwLimit reads a --bwlimit value as rsync does and returns bytes per
// second (0: no limit). A plain number is KiB/s; a suffix B, K, M, G, T or
// P (any case) sets the unit, with "KB"-style suffixes in powers of 1000
// and "K" or "KiB" in powers of 1024; the number may have a fraction.
func ParseBwLimit(s string) (int64, error) {
	bad := func(why string) error {
		return fmt.Errorf("bwlimit %q: %s; write KiB/s as a number, or add a suffix K, M or G (10M is 10 MiB/s, 10MB is 10 MB/s); 0 means no limit", s, why)
	}
	num := strings.TrimLeft(s, "0123456789.")
	numPart := s[:len(s)-len(num)]
	if numPart == "" || numPart == "." || strings.Count(numPart, ".") > 1 {
		return 0, bad("not a number rsync accepts")
	}
	v, err := strconv.ParseFloat(numPart, 64)
	if err != nil {
		return 0, bad("not a number rsync accepts")
	}
	unit, base := 1024.0, 1024.0
	rest := num
	if rest != "" {
		i := strings.IndexByte("bkmgtp", lower(rest[0]))
		if i < 0 {
			return 0, bad("unknown unit " + strconv.Quote(rest))
		}
		rest = rest[1:]
		switch strings.ToLower(rest) {
		case "", "ib":
		case "b":
			if i > 0 {
				base = 1000
			}
		default:
			return 0, bad("unknown unit " + strconv.Quote(num))
		}
		unit = math.Pow(base, float64(i))
	}
	bytes := v * unit
	switch {
	case bytes > math.MaxInt64/2:
		return 0, bad("too large")
	case bytes != 0 && bytes < minBwLimit:
		return 0, bad("below rsync's minimum of 512 bytes/s")
	}
	return int64(bytes), nil
}

func lower(b byte) byte {
	if b >= 'A' && b <= 'Z' {
		return b + 'a' - 'A'
	}
	return b
}
