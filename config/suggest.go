package config

import (
	"errors"
	"fmt"
	"strings"
)

// ErrUnknownOption is wrapped by every "unknown option" error.
var ErrUnknownOption = errors.New("unknown option")

func unknownOption(key string) error {
	if s := closestKey(key); s != "" {
		return fmt.Errorf("%w %q: did you mean %q?", ErrUnknownOption, key, s)
	}
	names := make([]string, len(keyTable))
	for i, k := range keyTable {
		names[i] = k.Name
	}
	return fmt.Errorf("%w %q (valid options: %s; see mirrorfs --help)", ErrUnknownOption, key, strings.Join(names, ", "))
}

// closestKey returns the valid key nearest to key, or "" if none is close
// enough to be a plausible typo.
func closestKey(key string) string {
	norm := strings.ToLower(strings.ReplaceAll(key, "_", "-"))
	best, bestDist := "", -1
	try := func(name string) {
		if d := editDistance(norm, name); bestDist < 0 || d < bestDist {
			best, bestDist = name, d
		}
	}
	for _, k := range keyTable {
		try(k.Name)
		if k.Kind == KindBool {
			try("no-" + k.Name)
		}
	}
	limit := max(2, len(best)/3)
	if bestDist > limit {
		return ""
	}
	return best
}

// editDistance is the Levenshtein distance over bytes.
func editDistance(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}
