package mirror

import (
	"errors"
	"fmt"
	"path"
	"strconv"
	"strings"
	"time"
)

// Versions on the destination (backup-dir): every transferring run adds
// rsync --backup --backup-dir=DIR/STAMP, so the receiver moves the old
// content of each file it overwrites or deletes into one dated directory
// per batch, inside the destination. DIR itself is excluded from every
// run ("- /DIR/"): the sender never sends a source directory of that
// name and the receiver never deletes it, so --delete runs leave the
// versions alone.

// stampLayout is the time part of a version directory's name: UTC, to
// the millisecond, sortable as text.
const stampLayout = "2006-01-02T15-04-05.000Z"

// stampLocked names the versions directory of a batch (n > 0) or of a
// full sync (n == 0); "" without backup-dir.
func (e *Engine) stampLocked(n uint64) string {
	if e.cfg.BackupDir == "" {
		return ""
	}
	t := e.now().UTC().Format(stampLayout)
	if n == 0 {
		return t + "-full"
	}
	return t + "-b" + strconv.FormatUint(n, 10)
}

// parseStamp reads a version directory's time from its name.
func parseStamp(name string) (time.Time, bool) {
	if len(name) < len(stampLayout) {
		return time.Time{}, false
	}
	t, err := time.Parse(stampLayout, name[:len(stampLayout)])
	if err != nil || len(name) > len(stampLayout) && name[len(stampLayout)] != '-' {
		return time.Time{}, false
	}
	return t, true
}

// argsFor is rsyncArgs plus the versions options of backup-dir.
func (e *Engine) argsFor(mode argMode, stamp string) []string {
	a := rsyncArgs(&e.cfg, mode)
	d := e.cfg.BackupDir
	if d == "" || mode == modeProbe {
		return a
	}
	opts := []string{"--filter=- /" + escapeRulePattern(d) + "/"}
	// The parents of a nested DIR hold it: keep them on the receiver.
	for a := parent(d); a != "."; a = parent(a) {
		opts = append(opts, "--filter=P /"+escapeRulePattern(a)+"/")
	}
	if stamp != "" && mode != modeRoot {
		opts = append(opts, "--backup", "--backup-dir="+d+"/"+stamp)
	}
	return insertOptions(a, opts...)
}

// CheckBackupDir cleans a backup-dir value: a relative path inside the
// destination, not the destination itself and not climbing out of it.
func CheckBackupDir(s string) (string, error) {
	s = strings.TrimSpace(s)
	switch {
	case s == "":
		return "", errors.New("empty: name a directory inside the destination, e.g. .versions")
	case strings.HasPrefix(s, "/"):
		return "", errors.New("an absolute path: name a directory inside the destination, relative to it, e.g. .versions")
	}
	c := path.Clean(s)
	switch {
	case c == ".":
		return "", errors.New("the destination itself: name a directory inside it, e.g. .versions")
	case c == ".." || strings.HasPrefix(c, "../") || strings.Contains("/"+s+"/", "/../"):
		return "", errors.New("climbs out of the destination with ..: name a directory inside it, e.g. .versions")
	case len(c) >= maxPath:
		return "", errors.New("too long for rsync")
	}
	return c, nil
}

// Retention is keep-versions: the Count newest version directories, and
// those younger than Age. With both, a version is kept while either
// holds. The zero value keeps everything.
type Retention struct {
	Count int
	Age   time.Duration
}

// On reports whether anything is ever pruned.
func (r Retention) On() bool { return r.Count > 0 || r.Age > 0 }

func (r Retention) String() string {
	var parts []string
	if r.Count > 0 {
		parts = append(parts, strconv.Itoa(r.Count))
	}
	if r.Age > 0 {
		parts = append(parts, formatAge(r.Age))
	}
	if len(parts) == 0 {
		return "all"
	}
	return strings.Join(parts, ",")
}

// ParseRetention reads keep-versions: a count (10), an age (30d, 12h, 2w,
// 90m) or both, comma-separated (10,30d).
func ParseRetention(s string) (Retention, error) {
	var r Retention
	const hint = "write a count (10), an age (30d, 12h) or both (10,30d)"
	for _, part := range strings.Split(s, ",") {
		part = strings.TrimSpace(part)
		if part == "" {
			return Retention{}, fmt.Errorf("empty part: %s", hint)
		}
		if n, err := strconv.Atoi(part); err == nil {
			if n < 1 || r.Count > 0 {
				return Retention{}, fmt.Errorf("%q: the count must be positive and given once: %s", part, hint)
			}
			r.Count = n
			continue
		}
		d, err := parseAge(part)
		if err != nil || d <= 0 || r.Age > 0 {
			return Retention{}, fmt.Errorf("%q is neither a count nor an age (given once): %s", part, hint)
		}
		r.Age = d
	}
	return r, nil
}

var ageUnits = map[byte]time.Duration{'s': time.Second, 'm': time.Minute, 'h': time.Hour, 'd': 24 * time.Hour, 'w': 7 * 24 * time.Hour}

func parseAge(s string) (time.Duration, error) {
	if len(s) < 2 {
		return 0, errors.New("too short")
	}
	unit, ok := ageUnits[s[len(s)-1]]
	if !ok {
		return 0, errors.New("no unit")
	}
	n, err := strconv.ParseInt(s[:len(s)-1], 10, 64)
	if err != nil || n < 1 || n > int64(100*365*24*time.Hour/unit) {
		return 0, errors.New("not a positive whole number")
	}
	return time.Duration(n) * unit, nil
}

func formatAge(d time.Duration) string {
	for _, u := range []byte{'w', 'd', 'h', 'm'} {
		if d%ageUnits[u] == 0 {
			return strconv.FormatInt(int64(d/ageUnits[u]), 10) + string(u)
		}
	}
	return strconv.FormatInt(int64(d/time.Second), 10) + "s"
}
