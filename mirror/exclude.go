package mirror

import (
	"fmt"
	"io/fs"
	"os"
	"regexp"
	"slices"
	"strings"

	"github.com/mirrorfs/mirrorfs/internal/change"
)

// Exclude keeps paths out of the mirror, like inotifywait's --exclude and
// --excludei. Patterns are Go (RE2) regular expressions, matched against the
// path relative to the root, directories with a trailing '/' ("tmp/"). A
// path is excluded when it or one of its parent directories matches, so
// `^tmp/` keeps the directory tmp and everything below it out.
type Exclude struct {
	src []string
	res []*regexp.Regexp
}

// NewExclude compiles case-sensitive and case-insensitive patterns; empty
// patterns are ignored. It returns nil when there is nothing to exclude.
func NewExclude(patterns, ipatterns []string) (*Exclude, error) {
	x := &Exclude{}
	add := func(p, prefix string) error {
		if p == "" {
			return nil
		}
		re, err := CompileExclude(prefix + p)
		if err != nil {
			return err
		}
		x.src = append(x.src, prefix+p)
		x.res = append(x.res, re)
		return nil
	}
	for _, p := range patterns {
		if err := add(p, ""); err != nil {
			return nil, err
		}
	}
	for _, p := range ipatterns {
		if err := add(p, "(?i)"); err != nil {
			return nil, err
		}
	}
	if len(x.res) == 0 {
		return nil, nil
	}
	return x, nil
}

// CompileExclude compiles one pattern with a message that says what RE2
// does not support.
func CompileExclude(p string) (*regexp.Regexp, error) {
	re, err := regexp.Compile(p)
	if err != nil {
		hint := ""
		if strings.Contains(p, `\1`) || strings.Contains(p, `\2`) {
			hint = " (backreferences such as \\1 are not supported: patterns are RE2, https://golang.org/s/re2syntax)"
		}
		return nil, fmt.Errorf("exclude pattern %q is not a valid regular expression: %w%s", p, err, hint)
	}
	return re, nil
}

// Patterns returns the compiled patterns, (?i) marking --excludei ones.
func (x *Exclude) Patterns() []string {
	if x == nil {
		return nil
	}
	return append([]string(nil), x.src...)
}

func (x *Exclude) matchOne(s string) bool {
	for _, re := range x.res {
		if re.MatchString(s) {
			return true
		}
	}
	return false
}

// Match reports whether the relative path p (a directory when dir) is
// excluded. The root "." never is.
func (x *Exclude) Match(p string, dir bool) bool {
	if x == nil || p == "." || p == "" {
		return false
	}
	for i := 0; i < len(p); i++ {
		if p[i] == '/' && x.matchOne(p[:i+1]) {
			return true
		}
	}
	if dir {
		return x.matchOne(p + "/")
	}
	return x.matchOne(p)
}

// addExcluding drops an event on excluded paths, or rewrites a rename or
// exchange across the boundary into what the mirror sees: a deletion when
// something moves to an excluded name, a fresh copy when it moves out of
// one. It reports whether it took care of ev.
func (e *Engine) addExcluding(ev change.Change) bool {
	x := e.cfg.Exclude
	if ev.Op != change.OpRename && ev.Op != change.OpExchange {
		if !x.Match(ev.Path, ev.Dir) {
			return false
		}
		e.x.excluded.Add(1)
		return true
	}
	fx, px := x.Match(ev.From, ev.Dir), x.Match(ev.Path, ev.Dir)
	if !fx && !px {
		return false
	}
	e.x.excluded.Add(1)
	switch {
	case fx && px:
	case ev.Op == change.OpRename && px:
		e.Add(removed(ev.From, ev.Dir))
	default:
		// Whatever was at the visible name is replaced; the delete first
		// keeps the entry from counting as never shipped.
		p, dir := ev.Path, ev.Dir
		if ev.Op == change.OpExchange {
			dir = true
			if px {
				p = ev.From
			}
		}
		e.Add(removed(p, dir))
		e.Add(created(p, dir))
	}
	return true
}

func removed(p string, dir bool) change.Change {
	if dir {
		return change.Change{Op: change.OpRmdir, Path: p, Dir: true}
	}
	return change.Change{Op: change.OpUnlink, Path: p}
}

func created(p string, dir bool) change.Change {
	if dir {
		return change.Change{Op: change.OpMkdir, Path: p, Dir: true}
	}
	return change.Change{Op: change.OpCreate, Path: p}
}

// Excluded counts the events dropped by the exclude patterns.
func (e *Engine) Excluded() uint64 { return e.x.excluded.Load() }

// treeArgs adds a sender-side filter to a recursive or whole-tree run
// (one with --delete), hiding the excluded paths below the listed roots.
// rsync has no regular expressions, so the backing directory is walked and
// every excluded name becomes an anchored, escaped rule. Hiding (not
// excluding) leaves them unprotected on the receiver: a whole-tree sync
// deletes excluded files from the module, like rsync --delete-excluded.
// The returned function removes the rule list once rsync has exited.
func (x *Exclude) treeArgs(source *os.File, args []string, stdin []byte) ([]string, func(), error) {
	nop := func() {}
	if x == nil || source == nil || len(args) < 2 || !slices.Contains(args, "--delete") {
		return args, nop, nil
	}
	roots := []string{"."}
	if slices.Contains(args, "--files-from=-") {
		roots = strings.Split(strings.TrimSuffix(string(stdin), "\x00"), "\x00")
	}
	var rules []byte
	fsys := os.DirFS(fmt.Sprintf("/proc/self/fd/%d", source.Fd()))
	for _, root := range roots {
		if root == "" || x.Match(root, true) {
			continue
		}
		// Errors (vanished or unreadable entries) are rsync's to report.
		fs.WalkDir(fsys, root, func(p string, d fs.DirEntry, err error) error {
			if err != nil || p == "." || !x.Match(p, d.IsDir()) {
				return nil
			}
			rule := "H /" + escapeRulePattern(p)
			if d.IsDir() {
				rules = append(append(rules, rule+"/"...), 0)
				return fs.SkipDir
			}
			rules = append(append(rules, rule...), 0)
			return nil
		})
	}
	if len(rules) == 0 {
		return args, nop, nil
	}
	name, remove, err := ruleFile("exclude rule list", "exclude", rules)
	if err != nil {
		return nil, nil, err
	}
	return insertOptions(args, "--from0", "--filter=. "+name), remove, nil
}

// escapeRulePattern makes a name match only itself in an rsync filter rule:
// rsync treats backslashes as escapes only in patterns with wildcards.
func escapeRulePattern(p string) string {
	if !strings.ContainsAny(p, "*?[") {
		return p
	}
	var b strings.Builder
	for _, c := range []byte(p) {
		switch c {
		case '*', '?', '[', '\\':
			b.WriteByte('\\')
		}
		b.WriteByte(c)
	}
	return b.String()
}
