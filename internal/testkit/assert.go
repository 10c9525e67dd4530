package testkit

import (
	"fmt"
	"os"
	"os/exec"
	"strings"
	"testing"
)

// maxShown bounds the differences printed by AssertTreesEqual.
const maxShown = 30

// AssertTreesEqual fails the test (without stopping it) when TreeDiff finds
// differences, listing at most 30 of them. It reports whether they were equal.
func AssertTreesEqual(t testing.TB, a, b string, opts CompareOptions) bool {
	t.Helper()
	diffs := TreeDiff(a, b, opts)
	if len(diffs) == 0 {
		return true
	}
	t.Errorf("trees differ (a=%s, b=%s): %s", a, b, FormatDiffs(diffs))
	return false
}

// FormatDiffs renders the first 30 differences and a count of the rest.
func FormatDiffs(diffs []string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%d difference(s)", len(diffs))
	for i, d := range diffs {
		if i == maxShown {
			fmt.Fprintf(&b, "\n  ... and %d more", len(diffs)-maxShown)
			break
		}
		b.WriteString("\n  ")
		b.WriteString(d)
	}
	return b.String()
}

// RsyncDiff asks rsync what it would change to make b equal to a
// (`rsync -anc --delete --itemize-changes -H a/ b/`). Empty means equal in
// rsync's eyes, a useful second opinion next to TreeDiff.
func RsyncDiff(t testing.TB, a, b string) string {
	t.Helper()
	Require(t, "rsync")
	out, err := exec.Command("rsync", "-anc", "--delete", "--itemize-changes", "-H",
		strings.TrimSuffix(a, "/")+"/", strings.TrimSuffix(b, "/")+"/").CombinedOutput()
	if err != nil {
		t.Errorf("rsync dry-run comparison of %s and %s: %v\n%s", a, b, err, out)
	}
	return string(out)
}

// Entries counts the entries of dir; a missing dir has none.
func Entries(t testing.TB, dir string) int {
	t.Helper()
	ents, err := os.ReadDir(dir)
	if err != nil && !os.IsNotExist(err) {
		t.Fatal(err)
	}
	return len(ents)
}
