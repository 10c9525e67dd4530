package mirror

import (
	"fmt"
	"os/user"
	"strings"
)

// classifySSH words the failures that ssh itself reports; nil when the
// trouble is not ssh's.
func classifySSH(code int, lines []string, c *Config) *RsyncError {
	find := func(subs ...string) string { return firstLine(lines, subs...) }
	host, port := c.Dest.Host, c.sshPort()
	at := host + ":" + port
	kh := c.KnownHostsFile()
	scan := fmt.Sprintf("ssh-keyscan -p %s %s >> %s", port, host, kh)
	e := &RsyncError{Code: code}
	switch {
	case find("REMOTE HOST IDENTIFICATION HAS CHANGED", "has changed and you have requested strict checking") != "":
		e.Class, e.Detail = ClassHostKey, find("has changed", "IDENTIFICATION HAS CHANGED")
		entry := host
		if port != "22" {
			entry = "[" + host + "]:" + port
		}
		e.Msg = fmt.Sprintf("host key of %s does not match the one in %s (the host was reinstalled, or someone is in between): check the new key's fingerprint with the host's admin, then replace the old entry: ssh-keygen -R '%s' -f %s && %s", at, kh, entry, kh, scan)
	case find("host key is known for", "Host key verification failed") != "":
		e.Class, e.Detail = ClassHostKey, find("host key is known for", "Host key verification failed")
		e.Msg = fmt.Sprintf("host key of %s is not in %s: check its fingerprint and add it with `%s`", at, kh, scan)
	case find("UNPROTECTED PRIVATE KEY FILE") != "":
		e.Class, e.Detail = ClassSSHAuth, find("UNPROTECTED PRIVATE KEY FILE")
		e.Msg = fmt.Sprintf("ssh ignores the key %s because others can read it: run chmod 600 %s", c.sshKey(), c.sshKey())
	case find("Permission denied (") != "":
		e.Class, e.Detail = ClassSSHAuth, find("Permission denied (")
		e.Msg = fmt.Sprintf("ssh login as %s to %s was refused (%s): %s", sshLogin(c), at, strings.TrimSuffix(afterLast(e.Detail, "Permission denied ("), ")."), authFix(c))
	case find("Could not resolve hostname") != "":
		e.Class, e.Detail = ClassConnect, find("Could not resolve hostname")
		e.Msg = fmt.Sprintf("cannot resolve the ssh host %s (%s): check the destination's host name; retrying", host, afterLast(e.Detail, ": "))
	case find("Connection timed out", "Operation timed out", "Connection timed out during banner exchange") != "":
		e.Class, e.Detail = ClassTimeout, find("timed out")
		e.Msg = fmt.Sprintf("ssh to %s timed out (%s): check the network, the host and the port; retrying", at, e.Detail)
	case find("Connection refused", "No route to host", "Network is unreachable", "Connection reset by peer", "Connection closed by") != "" && code != 0 && find("@ERROR") == "":
		e.Class, e.Detail = ClassConnect, find("Connection refused", "No route to host", "Network is unreachable", "Connection reset by peer", "Connection closed by")
		e.Msg = fmt.Sprintf("cannot reach sshd at %s (%s): is sshd running there and the port right (ssh-port)? retrying", at, afterLast(e.Detail, ": "))
	case find("Failed to exec ") != "":
		e.Class, e.Detail = ClassOther, find("Failed to exec ")
		e.Msg = fmt.Sprintf("rsync cannot run the remote shell %s (%s): install openssh-client or fix rsh", sshArgv(c)[0], afterRsyncPrefix(e.Detail))
	case c.Dest.Kind == DestShell && find("command not found", "rsync: not found") != "":
		e.Class, e.Detail = ClassOther, find("command not found", "rsync: not found")
		e.Msg = fmt.Sprintf("rsync is not installed on %s (%s): install it there (apt-get install rsync)", host, e.Detail)
	default:
		return nil
	}
	return e
}

func afterLast(s, sep string) string {
	if i := strings.LastIndex(s, sep); i >= 0 {
		return s[i+len(sep):]
	}
	return s
}

// sshLogin is the user ssh logs in as: -l from ssh-options, else the
// destination's user (rsync passes it as -l), else the local user.
func sshLogin(c *Config) string {
	if l := parseSSHOptions(c.SSH.Options).login; l != "" {
		return l
	}
	if c.Dest.User != "" {
		return c.Dest.User
	}
	if u, err := user.Current(); err == nil {
		return u.Username
	}
	return "(this user)"
}

func authFix(c *Config) string {
	key := c.sshKey()
	if key == "" {
		return "give the key with ssh-key (its public half must be in the remote user's authorized_keys), or load it into ssh-agent"
	}
	if enc, _ := KeyHasPassphrase(key); enc {
		return fmt.Sprintf("the key %s has a passphrase, which mirrorfs cannot type (ssh runs in batch mode): load it into ssh-agent (SSH_AUTH_SOCK), or use a key without one", key)
	}
	return fmt.Sprintf("add the public key of %s (%s.pub) to the authorized_keys of %s on the host, or give the right key with ssh-key", key, key, sshLogin(c))
}
