// Package doctor holds the checks of `mirrorfs check`: the kernel, FUSE,
// rsync, the password file, the destination and, on a running mount, a live
// probe that the mount reports to inotify and ships what it sees.
package doctor

import "fmt"

// Result is the outcome of one check.
type Result string

const (
	OK   Result = "OK"
	Warn Result = "WARN"
	Fail Result = "FAIL"
	Skip Result = "SKIP" // not run: an earlier check failed
)

// Check is one line of the report.
type Check struct {
	Check  string `json:"check"`
	Result Result `json:"result"`
	Detail string `json:"detail"`
	Fix    string `json:"fix,omitempty"`
}

func ok(name, format string, a ...any) Check {
	return Check{Check: name, Result: OK, Detail: fmt.Sprintf(format, a...)}
}

func warn(name, detail, fix string) Check {
	return Check{Check: name, Result: Warn, Detail: detail, Fix: fix}
}

func fail(name, detail, fix string) Check {
	return Check{Check: name, Result: Fail, Detail: detail, Fix: fix}
}

func skip(name, why string) Check {
	return Check{Check: name, Result: Skip, Detail: why}
}

// Failed counts the FAIL lines.
func Failed(cs []Check) int {
	n := 0
	for _, c := range cs {
		if c.Result == Fail {
			n++
		}
	}
	return n
}
