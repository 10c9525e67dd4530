package mirror

import (
	"fmt"
	"os"
)

// ruleFile writes NUL-separated rsync filter rules to a temporary file
// and returns its name and how to remove it. A real file: rsync opens a
// merge file by its name, so neither a memfd nor a pipe reached through
// /proc/self/fd works. what describes the rules in errors; tag goes into
// the file's name.
func ruleFile(what, tag string, rules []byte) (string, func(), error) {
	f, err := os.CreateTemp("", "mirrorfs-"+tag+"-*")
	if err != nil {
		return "", nil, fmt.Errorf("creating the %s: %w (is $TMPDIR writable?)", what, err)
	}
	remove := func() { os.Remove(f.Name()) }
	_, err = f.Write(rules)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		remove()
		return "", nil, fmt.Errorf("writing the %s %s: %w", what, f.Name(), err)
	}
	return f.Name(), remove, nil
}
