package mirror

import (
	"fmt"
	"net/url"
	"strconv"
	"strings"
)

// shellColon is the index of the colon that ends the host of a remote
// shell destination ("host:path", "[::1]:path"), or -1.
func shellColon(s string) int {
	at := strings.LastIndexByte(s, '@')
	if at >= 0 && strings.IndexByte(s[:at], '/') >= 0 {
		at = -1 // an '@' inside a local path
	}
	rest := s[at+1:]
	if strings.HasPrefix(rest, "[") {
		end := strings.IndexByte(rest, ']')
		if end < 0 || end+1 >= len(rest) || rest[end+1] != ':' {
			return -1
		}
		return at + 1 + end + 1
	}
	if c := strings.IndexByte(rest, ':'); c >= 0 {
		return at + 1 + c
	}
	return -1
}

// parseShell reads "[user@]host:path"; c is the colon after the host.
func parseShell(s string, c int) (Destination, error) {
	hostPart, p := s[:c], s[c+1:]
	d := Destination{Kind: DestShell}
	if at := strings.LastIndexByte(hostPart, '@'); at >= 0 {
		d.User, hostPart = hostPart[:at], hostPart[at+1:]
		if d.User == "" {
			return Destination{}, fmt.Errorf("destination %q: empty user name before '@'", s)
		}
		if strings.Contains(d.User, ":") {
			return Destination{}, fmt.Errorf("destination %q: a password must not be part of a remote shell destination; ssh logs in with a key (ssh-key) or an agent", redactShell(s))
		}
	}
	d.Host = strings.TrimSuffix(strings.TrimPrefix(hostPart, "["), "]")
	if d.Host == "" {
		return Destination{}, fmt.Errorf("destination %q: empty host name before ':'", s)
	}
	if err := d.setShellPath(s, p); err != nil {
		return Destination{}, err
	}
	return d, nil
}

func parseSSHURL(s string) (Destination, error) {
	u, err := url.Parse(s)
	if err != nil {
		return Destination{}, fmt.Errorf("destination %q: not a valid ssh:// URL: %w", s, err)
	}
	d := Destination{Kind: DestShell}
	if u.User != nil {
		if _, has := u.User.Password(); has {
			return Destination{}, fmt.Errorf("destination %q: a password must not be part of the destination URL; ssh logs in with a key (ssh-key) or an agent", redactShell(s))
		}
		if d.User = u.User.Username(); d.User == "" {
			return Destination{}, fmt.Errorf("destination %q: empty user name before '@'", s)
		}
	}
	if d.Host = u.Hostname(); d.Host == "" {
		return Destination{}, fmt.Errorf("destination %q: missing host name; write ssh://[user@]host[:port]/path", s)
	}
	if p := u.Port(); p != "" {
		n, err := strconv.Atoi(p)
		if err != nil || n < 1 || n > 65535 {
			return Destination{}, fmt.Errorf("destination %q: bad port %q; it must be a number from 1 to 65535", s, p)
		}
		d.Port = n
	}
	if u.RawQuery != "" || u.Fragment != "" {
		return Destination{}, fmt.Errorf("destination %q: '?' and '#' are not allowed in an ssh:// destination", s)
	}
	if err := d.setShellPath(s, u.Path); err != nil {
		return Destination{}, err
	}
	if d.Port == 22 {
		d.Port = 0
	}
	return d, nil
}

func (d *Destination) setShellPath(orig, p string) error {
	if strings.Trim(p, "/") == "" {
		return fmt.Errorf("destination %q: no directory after ':'; write [user@]host:/path (the directory to mirror into)", orig)
	}
	for _, c := range strings.Split(p, "/") {
		if c == ".." {
			return fmt.Errorf("destination %q: \"..\" is not allowed in the remote path", orig)
		}
	}
	d.Path = strings.TrimRight(p, "/")
	return nil
}

// redactShell hides what follows the first ':' of the user part.
func redactShell(s string) string {
	pre := ""
	if rest, ok := strings.CutPrefix(s, "ssh://"); ok {
		pre, s = "ssh://", rest
	}
	at := strings.LastIndexByte(s, '@')
	if at < 0 {
		return pre + s
	}
	user, _, _ := strings.Cut(s[:at], ":")
	return pre + user + ":***" + s[at:]
}

func (d Destination) userAt() string {
	if d.User == "" {
		return ""
	}
	return d.User + "@"
}

func (d Destination) bracketHost() string {
	if strings.Contains(d.Host, ":") {
		return "[" + d.Host + "]"
	}
	return d.Host
}

func (d Destination) shellHostPort() string {
	if d.Port != 0 {
		return d.bracketHost() + ":" + strconv.Itoa(d.Port)
	}
	return d.bracketHost()
}

// daemonShellArg addresses a daemon module through a remote shell:
// user@host::module/path/ (the port of an rsync:// URL means nothing there).
func (d Destination) daemonShellArg(withPath bool) string {
	s := d.userAt() + d.bracketHost() + "::" + d.Module
	if withPath && d.Path != "" {
		s += "/" + d.Path
	}
	return s + "/"
}
