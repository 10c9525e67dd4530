package mirror

import (
	"bytes"
	"fmt"
	"strconv"
	"strings"
)

// Class is what kind of trouble an rsync run ran into.
type Class uint8

const (
	ClassOK            Class = iota
	ClassPartial             // exit 23/24: some paths failed, the rest went through
	ClassAuth                // the daemon refused the user or password
	ClassUnknownModule       // the daemon has no such module
	ClassPasswordFile        // rsync refused the password file
	ClassConnect             // connection refused, host unreachable, name lookup failed
	ClassTimeout             // --timeout or --contimeout expired
	ClassStream              // connection broke mid-transfer
	ClassDestIO              // the receiver could not write (disk full, read-only)
	ClassCancelled           // rsync was stopped by us
	ClassOther
	// ClassHostKey: ssh refused the host's key, unknown or changed. Fatal
	// at mount time: only a person can tell whether a key is right.
	ClassHostKey
	ClassSSHAuth // ssh refused the login (key not authorized, unusable key)
)

var classNames = [...]string{
	ClassOK: "ok", ClassPartial: "partial", ClassAuth: "auth-failed",
	ClassUnknownModule: "unknown-module", ClassPasswordFile: "password-file",
	ClassConnect: "unreachable", ClassTimeout: "timeout", ClassStream: "connection-broken",
	ClassDestIO: "destination-io", ClassCancelled: "cancelled", ClassOther: "failed",
	ClassHostKey: "host-key", ClassSSHAuth: "ssh-auth-failed",
}

func (c Class) String() string {
	if int(c) < len(classNames) {
		return classNames[c]
	}
	return "class?"
}

// RsyncError is a failed rsync run, worded for the user.
type RsyncError struct {
	Code   int // rsync exit code, -1 when killed
	Class  Class
	Msg    string // what happened, why, what to do
	Detail string // the rsync line it was derived from
}

func (e *RsyncError) Error() string { return e.Msg }

// firstLine returns the first of lines that contains one of subs, or "".
func firstLine(lines []string, subs ...string) string {
	for _, l := range lines {
		for _, s := range subs {
			if strings.Contains(l, s) {
				return l
			}
		}
	}
	return ""
}

// errorLines returns rsync's diagnostic lines, most telling first.
func errorLines(stderr []byte) []string {
	var out []string
	for _, l := range strings.Split(string(stderr), "\n") {
		l = strings.TrimSpace(l)
		if l != "" {
			out = append(out, l)
		}
	}
	return out
}

// classify turns an exit code and stderr into an error, nil on success.
func classify(code int, stderr []byte, d Destination, cfg *Config) *RsyncError {
	if code == 0 {
		return nil
	}
	lines := errorLines(stderr)
	find := func(subs ...string) string { return firstLine(lines, subs...) }
	detail := find("@ERROR")
	if detail == "" {
		for _, l := range lines {
			if strings.HasPrefix(l, "rsync:") || strings.HasPrefix(l, "ERROR:") {
				detail = l
				break
			}
		}
	}
	if detail == "" && len(lines) > 0 {
		detail = lines[len(lines)-1]
	}
	if cfg.overSSH() && code > 0 && code != 23 && code != 24 {
		if e := classifySSH(code, lines, cfg); e != nil {
			return e
		}
	}
	e := &RsyncError{Code: code, Class: ClassOther, Detail: detail}
	where := "the rsync daemon at " + d.hostPort()
	switch {
	case d.Kind == DestShell:
		where = "the remote shell destination " + d.String()
	case cfg.overSSH():
		where = "the rsync daemon at " + d.Host + " (through ssh)"
	}
	user := d.User
	if user == "" {
		user = "(none)"
	}
	switch {
	case code == 23 || code == 24:
		e.Class = ClassPartial
		e.Msg = fmt.Sprintf("rsync could not transfer some paths to %s (exit %d): %s", d, code, detail)
	case code < 0:
		e.Class = ClassCancelled
		e.Msg = "rsync was stopped before it finished; the batch stays queued"
	case find("@ERROR: auth failed") != "":
		e.Class, e.Detail = ClassAuth, find("@ERROR: auth failed")
		e.Msg = fmt.Sprintf("%s refused the password for user %s on module %s: check the password file (or RSYNC_PASSWORD) and the daemon's secrets file; retrying", where, user, d.Module)
	case find("@ERROR: Unknown module") != "":
		e.Class, e.Detail = ClassUnknownModule, find("@ERROR: Unknown module")
		e.Msg = fmt.Sprintf("%s has no module %q: check the destination and the daemon's rsyncd.conf (list modules with: rsync rsync://%s/); retrying", where, d.Module, d.hostPort())
	case find("password file must", "could not open password file", "password file") != "" && code == 1:
		e.Class, e.Detail = ClassPasswordFile, find("password file")
		e.Msg = fmt.Sprintf("rsync refused the password file %s (%s): it must be a regular file owned by you with mode 600, run chmod 600 %s; retrying", cfg.PasswordFile, strings.TrimPrefix(e.Detail, "ERROR: "), cfg.PasswordFile)
	case code == 30 || code == 35 || find("timed out", "timeout") != "":
		e.Class = ClassTimeout
		e.Msg = fmt.Sprintf("%s did not answer in time (exit %d: %s): check the network and that the daemon is running; retrying", where, code, detail)
		if d.Kind == DestLocal {
			e.Msg = fmt.Sprintf("rsync to %s timed out (exit %d: %s); retrying", d, code, detail)
		}
	case find("failed to connect", "Connection refused", "No route to host", "Network is unreachable", "getaddrinfo", "Name or service not known") != "":
		e.Class = ClassConnect
		l := find("failed to connect", "getaddrinfo", "Connection refused", "No route to host", "Network is unreachable")
		e.Detail = l
		e.Msg = fmt.Sprintf("cannot connect to %s (%s): is the daemon running and reachable? retrying", where, strings.TrimPrefix(afterRsyncPrefix(l), "failed to connect to "))
	case find("No space left on device", "Disk quota exceeded", "Read-only file system") != "":
		e.Class, e.Detail = ClassDestIO, find("No space left on device", "Disk quota exceeded", "Read-only file system")
		e.Msg = fmt.Sprintf("the destination %s cannot store the files (%s): free space or fix the destination filesystem; retrying", d, afterRsyncPrefix(e.Detail))
	case code == 10 || code == 12 || code == 13 || code == 14 || code == 20:
		e.Class = ClassStream
		e.Msg = fmt.Sprintf("the connection to %s broke (exit %d: %s); retrying", d, code, detail)
	case code == 11:
		e.Class = ClassDestIO
		e.Msg = fmt.Sprintf("file I/O error while writing to %s (exit 11: %s): check the destination's free space and health; retrying", d, detail)
	case code == 5:
		e.Msg = fmt.Sprintf("%s refused to start the transfer (exit 5: %s); retrying", where, detail)
	default:
		e.Msg = fmt.Sprintf("rsync to %s failed (exit %d: %s); retrying", d, code, detail)
	}
	return e
}

func afterRsyncPrefix(l string) string {
	l = strings.TrimPrefix(l, "rsync: ")
	if strings.HasPrefix(l, "[") {
		if i := strings.Index(l, "] "); i >= 0 {
			l = l[i+2:]
		}
	}
	return l
}

// pathProblem is one path named in an rsync error line.
type pathProblem struct {
	line       string
	candidates []string // possible paths, relative to the transfer root, longest quote first
	vanished   bool     // "file has vanished": the path was deleted under rsync; its event follows
	overflow   bool     // longer than rsync's MAXPATHLEN: can never be mirrored
}

const overflowPrefix = "filename overflows max-path len by "

// pathProblems extracts the paths named by rsync's per-file error lines.
// Names may contain '"', so every closing quote is a candidate; the caller
// keeps the first candidate it can attribute to a listed path.
func pathProblems(stderr []byte, srcPrefix string, d Destination) (probs []pathProblem, other []string) {
	for _, l := range strings.Split(string(stderr), "\n") {
		if l == "" || strings.HasPrefix(l, "rsync error: some files") || strings.HasPrefix(l, "rsync warning: some files") ||
			strings.HasPrefix(l, "WARNING: parent dir is absent") {
			continue
		}
		if strings.HasPrefix(l, "IO error encountered -- skipping file deletion") {
			continue // follows a per-path error reported on its own line
		}
		if strings.HasPrefix(l, overflowPrefix) {
			if _, name, ok := strings.Cut(l[len(overflowPrefix):], ": "); ok {
				if rel, ok := relativeName(unescape(name), srcPrefix, d); ok {
					probs = append(probs, pathProblem{line: l, candidates: []string{rel}, overflow: true})
					continue
				}
			}
		}
		open := strings.IndexByte(l, '"')
		if open < 0 {
			other = append(other, l)
			continue
		}
		p := pathProblem{line: l, vanished: strings.HasPrefix(l, "file has vanished: ")}
		rest := l[open+1:]
		for i := len(rest) - 1; i >= 0; i-- {
			if rest[i] != '"' {
				continue
			}
			if c, ok := relativeName(unescape(rest[:i]), srcPrefix, d); ok {
				p.candidates = append(p.candidates, c)
			}
		}
		if len(p.candidates) == 0 {
			other = append(other, l)
			continue
		}
		probs = append(probs, p)
	}
	return probs, other
}

// relativeName maps a name as rsync printed it to a transfer-relative path.
func relativeName(s, srcPrefix string, d Destination) (string, bool) {
	switch {
	case strings.HasPrefix(s, srcPrefix):
		s = strings.TrimPrefix(s, srcPrefix)
	case d.Kind == DestLocal && strings.HasPrefix(s, strings.TrimSuffix(d.LocalDir, "/")+"/"):
		s = strings.TrimPrefix(s, strings.TrimSuffix(d.LocalDir, "/")+"/")
	case d.Kind == DestShell && strings.HasPrefix(s, d.Path+"/"):
		s = strings.TrimPrefix(s, d.Path+"/")
	case d.Kind == DestDaemon:
		s = strings.TrimPrefix(s, "/")
		if d.Path != "" {
			if s == d.Path {
				s = "."
			} else if strings.HasPrefix(s, d.Path+"/") {
				s = strings.TrimPrefix(s, d.Path+"/")
			}
		}
	case d.Kind == DestLocal && strings.HasPrefix(s, "/"):
		return "", false
	}
	s = strings.TrimSuffix(s, "/")
	if s == "" {
		s = "."
	}
	return s, true
}

// unescape undoes rsync's \#ooo escaping of control bytes.
func unescape(s string) string {
	if !strings.Contains(s, `\#`) {
		return s
	}
	var b bytes.Buffer
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' && i+5 <= len(s) && s[i+1] == '#' && isOctal(s[i+2:i+5]) {
			n, _ := strconv.ParseUint(s[i+2:i+5], 8, 8)
			b.WriteByte(byte(n))
			i += 4
			continue
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

func isOctal(s string) bool {
	if len(s) != 3 {
		return false
	}
	for i := 0; i < 3; i++ {
		if s[i] < '0' || s[i] > '7' {
			return false
		}
	}
	return true
}

// attribute names the listed entry a problem path belongs to.
func attribute(p string, r *run) []*entry {
	if e := r.pulled[p]; e != nil {
		return []*entry{e}
	}
	var hits []*entry
	for _, e := range r.entries {
		switch {
		case e.path == p,
			e.recursive && isBelow(p, e.path),
			isTempOf(p, e.path):
			return []*entry{e}
		case isBelow(e.path, p):
			// A parent's attributes failed: blame the entries below it.
			hits = append(hits, e)
		}
	}
	return hits
}

// isTempOf reports whether p is rsync's temporary file for path
// ("dir/.name.XXXXXX"; the name part may be truncated).
func isTempOf(p, path string) bool {
	if parent(p) != parent(path) {
		return false
	}
	base := p[strings.LastIndexByte(p, '/')+1:]
	name := path[strings.LastIndexByte(path, '/')+1:]
	if len(base) < 9 || base[0] != '.' || base[len(base)-7] != '.' {
		return false
	}
	stem := base[1 : len(base)-7]
	return stem != "" && strings.HasPrefix(name, stem)
}
