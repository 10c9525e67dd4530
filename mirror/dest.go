package mirror

import (
	"errors"
	"fmt"
	"net/url"
	"path/filepath"
	"strconv"
	"strings"
)

// DestKind says how the destination is reached.
type DestKind uint8

const (
	DestDaemon DestKind = iota + 1 // rsync daemon module over TCP
	DestLocal                      // a directory on this machine
	DestShell                      // a directory on a host reached by ssh (remote shell)
)

// DefaultRsyncPort is the rsync daemon's registered port.
const DefaultRsyncPort = 873

// Destination is where the mirror is written. It never holds a password.
type Destination struct {
	Kind   DestKind
	User   string
	Host   string
	Port   int // 0 means the default port
	Module string
	// Path is inside the module, without leading or trailing '/'; for
	// DestShell the remote directory, absolute or relative to the login's
	// home, without a trailing '/'.
	Path     string
	LocalDir string // absolute, DestLocal only
}

// ParseDestination accepts "user@host::module[/path]", "host::module[/path]",
// "rsync://[user@]host[:port]/module[/path]", a remote shell destination
// "[user@]host:/path" or "ssh://[user@]host[:port]/path", or a local
// directory.
func ParseDestination(s string) (Destination, error) {
	if s == "" {
		return Destination{}, errors.New("empty destination: give an rsync daemon module (user@host::module), a remote directory (user@host:/path) or a local directory")
	}
	if strings.HasPrefix(s, "rsync://") {
		return parseRsyncURL(s)
	}
	if strings.HasPrefix(s, "ssh://") {
		return parseSSHURL(s)
	}
	if strings.Contains(s, "://") {
		return Destination{}, fmt.Errorf("destination %q: unsupported URL scheme; use rsync://[user@]host[:port]/module[/path], ssh://[user@]host[:port]/path, user@host::module[/path], user@host:/path or a local directory", s)
	}
	if i := doubleColon(s); i >= 0 && !strings.HasPrefix(s, "/") {
		return parseDoubleColon(s, i)
	}
	if !strings.HasPrefix(s, "/") && !strings.HasPrefix(s, ".") {
		// rsync itself treats "host:path" as a remote shell destination
		// when the colon comes before any slash.
		if c := shellColon(s); c >= 0 {
			if sl := strings.IndexByte(s, '/'); sl < 0 || c < sl {
				return parseShell(s, c)
			}
		}
	}
	abs, err := filepath.Abs(s)
	if err != nil {
		return Destination{}, fmt.Errorf("destination %q: cannot make the path absolute: %w", s, err)
	}
	return Destination{Kind: DestLocal, LocalDir: abs}, nil
}

// doubleColon finds the "::" after the host, past a bracketed IPv6 address.
func doubleColon(s string) int {
	from := 0
	if open := strings.IndexByte(s, '['); open >= 0 {
		if end := strings.IndexByte(s[open:], ']'); end >= 0 {
			from = open + end
		}
	}
	if i := strings.Index(s[from:], "::"); i >= 0 {
		return from + i
	}
	return -1
}

func parseDoubleColon(s string, i int) (Destination, error) {
	hostPart, rest := s[:i], s[i+2:]
	if strings.HasPrefix(rest, ":") {
		return Destination{}, fmt.Errorf("destination %q: \":::\" is not valid; write host::module[/path]", s)
	}
	d := Destination{Kind: DestDaemon}
	if at := strings.LastIndexByte(hostPart, '@'); at >= 0 {
		d.User, hostPart = hostPart[:at], hostPart[at+1:]
		if d.User == "" {
			return Destination{}, fmt.Errorf("destination %q: empty user name before '@'", s)
		}
		if strings.Contains(d.User, ":") {
			user, _, _ := strings.Cut(d.User, ":")
			return Destination{}, fmt.Errorf("destination \"%s:***@%s::%s\": a password must not be part of the destination; keep it in a password file (mode 600) or in RSYNC_PASSWORD", user, hostPart, rest)
		}
	}
	d.Host = strings.TrimSuffix(strings.TrimPrefix(hostPart, "["), "]")
	if d.Host == "" {
		return Destination{}, fmt.Errorf("destination %q: empty host name before \"::\"", s)
	}
	if err := d.setModulePath(s, rest); err != nil {
		return Destination{}, err
	}
	return d, nil
}

func parseRsyncURL(s string) (Destination, error) {
	u, err := url.Parse(s)
	if err != nil {
		return Destination{}, fmt.Errorf("destination %q: not a valid rsync:// URL: %w", s, err)
	}
	d := Destination{Kind: DestDaemon}
	if u.User != nil {
		if _, has := u.User.Password(); has {
			return Destination{}, fmt.Errorf("destination %q: a password must not be part of the destination URL (it would show in process lists and logs); keep it in a password file (mode 600) or in RSYNC_PASSWORD", redactURL(s))
		}
		d.User = u.User.Username()
		if d.User == "" {
			return Destination{}, fmt.Errorf("destination %q: empty user name before '@'", s)
		}
	}
	d.Host = u.Hostname()
	if d.Host == "" {
		return Destination{}, fmt.Errorf("destination %q: missing host name; write rsync://[user@]host[:port]/module[/path]", s)
	}
	if p := u.Port(); p != "" {
		n, err := strconv.Atoi(p)
		if err != nil || n < 1 || n > 65535 {
			return Destination{}, fmt.Errorf("destination %q: bad port %q; it must be a number from 1 to 65535", s, p)
		}
		d.Port = n
	} else if strings.HasSuffix(u.Host, ":") {
		return Destination{}, fmt.Errorf("destination %q: empty port after ':'", s)
	}
	if u.RawQuery != "" || u.Fragment != "" {
		return Destination{}, fmt.Errorf("destination %q: '?' and '#' are not allowed in an rsync:// destination", s)
	}
	if err := d.setModulePath(s, strings.TrimPrefix(u.Path, "/")); err != nil {
		return Destination{}, err
	}
	return d, nil
}

func (d *Destination) setModulePath(orig, rest string) error {
	mod, p, _ := strings.Cut(rest, "/")
	if mod == "" {
		return fmt.Errorf("destination %q: empty module name; write host::module or rsync://host/module (list the daemon's modules with: rsync %s::)", orig, d.Host)
	}
	d.Module = mod
	p = strings.Trim(p, "/")
	for _, c := range strings.Split(p, "/") {
		if c == ".." {
			return fmt.Errorf("destination %q: \"..\" is not allowed in the path inside the module", orig)
		}
	}
	d.Path = p
	return nil
}

func redactURL(s string) string {
	rest := strings.TrimPrefix(s, "rsync://")
	at := strings.LastIndexByte(rest, '@')
	if at < 0 {
		return s
	}
	user, _, _ := strings.Cut(rest[:at], ":")
	return "rsync://" + user + ":***" + rest[at:]
}

func (d Destination) hostPort() string {
	h := d.Host
	if strings.Contains(h, ":") {
		h = "[" + h + "]"
	}
	if d.Port != 0 && d.Port != DefaultRsyncPort {
		h += ":" + strconv.Itoa(d.Port)
	}
	return h
}

// String is the canonical form, for messages and status.
func (d Destination) String() string {
	switch d.Kind {
	case DestLocal:
		return d.LocalDir
	case DestShell:
		if d.Port != 0 && strings.HasPrefix(d.Path, "/") {
			return "ssh://" + d.userAt() + d.shellHostPort() + d.Path
		}
		return d.userAt() + d.bracketHost() + ":" + d.Path
	case DestDaemon:
		var b strings.Builder
		b.WriteString("rsync://")
		if d.User != "" {
			b.WriteString(d.User + "@")
		}
		b.WriteString(d.hostPort() + "/" + d.Module)
		if d.Path != "" {
			b.WriteString("/" + d.Path)
		}
		return b.String()
	}
	return "(no destination)"
}

// RsyncArg is the destination argument for rsync, always naming a directory.
func (d Destination) RsyncArg() string {
	switch d.Kind {
	case DestLocal:
		return strings.TrimSuffix(d.LocalDir, "/") + "/"
	case DestShell:
		return d.userAt() + d.bracketHost() + ":" + strings.TrimSuffix(d.Path, "/") + "/"
	}
	return d.String() + "/"
}

// moduleArg addresses the module root (for Probe).
func (d Destination) moduleArg() string {
	m := d
	m.Path = ""
	return m.String() + "/"
}
