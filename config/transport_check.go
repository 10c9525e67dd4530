package config

import (
	"errors"
	"path/filepath"
	"strings"

	"github.com/mirrorfs/mirrorfs/mirror"
)

func checkRsh(v string) (string, error) {
	if v == "ssh" || filepath.IsAbs(v) && !strings.ContainsAny(v, " \t") {
		return v, nil
	}
	return "", errors.New(`the remote shell is ssh: write rsh=ssh, or the absolute path of an ssh binary (options go into ssh-options)`)
}

func checkSSHOptions(v string) (string, error) {
	if _, err := splitWords(v); err != nil {
		return "", errors.New("cannot split it into words: " + err.Error() + " (quote like a shell would)")
	}
	return v, nil
}

func checkBwLimit(v string) (string, error) {
	v = strings.TrimSpace(v)
	if _, err := mirror.ParseBwLimit(v); err != nil {
		// ParseBwLimit names the value itself; Set adds the key and value.
		_, why, _ := strings.Cut(err.Error(), ": ")
		return "", errors.New(why)
	}
	return v, nil
}

// apply maps the transport options into one destination's engine
// settings (ssh and bwlimit; "0" is no limit).
func (t Transport) apply(m *mirror.Config) error {
	words, err := splitWords(t.SSHOptions)
	if err != nil {
		return errors.New("ssh-options: cannot split it into words: " + err.Error())
	}
	m.SSH = mirror.SSH{Command: t.Rsh, Key: t.SSHKey, Port: t.SSHPort, KnownHosts: t.SSHKnownHosts, Options: words}
	m.BwLimit = ""
	if t.BwLimit != "0" {
		m.BwLimit = t.BwLimit
	}
	return nil
}
