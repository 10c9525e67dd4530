package mirror

import (
	"slices"
)

// guardArgs protects the held deletes from a run that deletes on the
// receiver (--delete, --delete-missing-args): rsync's protect rules
// ("P /path") keep those names on the destination whatever the run
// finds missing in the source. It applies to runs from the source only;
// the returned function removes the rule list once rsync has exited.
func (e *Engine) guardArgs(args []string) ([]string, func(), error) {
	nop := func() {}
	n := len(args)
	if n < 2 || args[n-2] != sourceArg ||
		!slices.Contains(args, "--delete") && !slices.Contains(args, "--delete-missing-args") {
		return args, nop, nil
	}
	e.mu.Lock()
	var rules []byte
	// A held directory is gone from the source, so no run looks inside it
	// on the receiver: its own rule protects what it holds, and rsync's
	// linear rule list stays as short as the holds are wide.
	covered := ""
	for _, p := range e.heldPathsLocked() {
		if covered != "" && isBelow(p, covered) {
			continue
		}
		if e.hold.paths[p] {
			covered = p
		}
		rules = append(append(rules, "P /"+escapeRulePattern(p)...), 0)
	}
	e.mu.Unlock()
	if len(rules) == 0 {
		return args, nop, nil
	}
	name, remove, err := ruleFile("rule list protecting held deletes", "held", rules)
	if err != nil {
		return nil, nil, err
	}
	return insertOptions(args, "--from0", "--filter=merge "+name), remove, nil
}

// insertOptions puts opts before the two operands (source, destination).
func insertOptions(args []string, opts ...string) []string {
	n := len(args)
	out := make([]string, 0, n+len(opts))
	out = append(out, args[:n-2]...)
	out = append(out, opts...)
	return append(out, args[n-2:]...)
}
