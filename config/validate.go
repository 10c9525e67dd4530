package config

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// maxMaxDelay bounds max-delay: beyond an hour a mirror is no longer a mirror.
const maxMaxDelay = time.Hour

// Validate checks the configuration as a whole and makes Source, Mountpoint,
// LogFile and PasswordFile absolute, so a later chdir cannot change their meaning.
func (c *Config) Validate() error {
	var errs []error
	add := func(format string, args ...any) { errs = append(errs, fmt.Errorf(format, args...)) }

	if len(c.Dests) == 0 && strings.TrimSpace(c.Dest) != "" {
		c.Dests = []DestConfig{destOf(c, "", "dest")} // built by hand, not by Load
	}
	if len(c.Dests) == 0 {
		add("no destination: set dest (e.g. -o dest=rsync://host/module/path, --dest, or dest = ... in the config file)")
	}
	for i := range c.Dests {
		d := &c.Dests[i]
		if strings.TrimSpace(d.Dest) == "" {
			add("%s: empty destination (give host::module/path or rsync://host/module/path)", d.Origin)
		}
		if err := checkPasswordFile(&d.PasswordFile); err != nil {
			if len(c.Dests) > 1 {
				err = fmt.Errorf("destination %s: %w", d.DisplayName(), err)
			}
			errs = append(errs, err)
		}
	}
	// max-delay=0 has no meaning of its own (the engine would wait 0, the
	// FUSE layer would stop re-sending open files): refused, not guessed.
	switch {
	case c.MaxDelay <= 0:
		add("max-delay %v: must be a positive time; to ship at once use delay=0", c.MaxDelay)
	case c.MaxDelay > maxMaxDelay:
		add("max-delay %v: at most %v (changes would stay unmirrored for too long)", c.MaxDelay, maxMaxDelay)
	}
	switch {
	case c.Delay < 0:
		add("delay %v: must not be negative (0 ships at once, e.g. 200ms waits for quiet)", c.Delay)
	case c.MaxDelay > 0 && c.Delay > c.MaxDelay:
		add("delay %v is longer than max-delay %v: a path would never wait for quiet (raise max-delay or lower delay)", c.Delay, c.MaxDelay)
	}
	if c.FlushTimeout <= 0 {
		add("flush-timeout %v: must be more than 0 (e.g. 5m)", c.FlushTimeout)
	}
	// rsync takes whole seconds; less than 1s would become 0, which means "no timeout".
	for _, t := range []struct {
		name string
		d    time.Duration
	}{{"timeout", c.Timeout}, {"contimeout", c.ConTimeout}} {
		if t.d < time.Second {
			add("%s %v: must be at least 1s (rsync counts whole seconds, and 0 would mean no timeout)", t.name, t.d)
		}
	}
	if c.Quiet && c.LogLevel == "info" {
		c.LogLevel = "warn"
	}
	if _, err := ParseLogLevel(c.LogLevel); err != nil {
		add("log-level %q: %w", c.LogLevel, err)
	}
	if strings.TrimSpace(c.Rsync) == "" {
		add("rsync: empty binary name (leave it unset to use rsync from $PATH)")
	}
	for _, p := range []struct {
		name string
		path *string
	}{{"source", &c.Source}, {"mountpoint", &c.Mountpoint}, {"log-file", &c.LogFile},
		{"ssh-key", &c.SSHKey}, {"ssh-known-hosts", &c.SSHKnownHosts}} {
		if *p.path == "" {
			continue
		}
		abs, err := filepath.Abs(*p.path)
		if err != nil {
			add("%s %q: cannot make it absolute: %w (give an absolute path)", p.name, *p.path, err)
			continue
		}
		*p.path = abs
	}
	if err := checkPasswordFile(&c.PasswordFile); err != nil && len(c.Dests) == 0 {
		errs = append(errs, err)
	}
	if err := c.validateObserve(); err != nil {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

// checkPasswordFile catches a misused option; the file's own state (mode,
// owner, content) is checked by mirror.CheckPasswordFile, with rsync's rules.
// The value is never echoed when it may be the password itself.
func checkPasswordFile(pf *string) error {
	p := *pf
	if p == "" {
		return nil
	}
	if p == "-" {
		return errors.New(`password-file "-": rsync's stdin carries the file list, so the password cannot come from there (give a path to a file, or set RSYNC_PASSWORD)`)
	}
	if _, err := os.Stat(p); errors.Is(err, fs.ErrNotExist) && !strings.Contains(p, "/") {
		return errors.New("password-file takes a path to a file holding the password, not the password itself (no such file; write the password into a root-only file, mode 0600, and give its path)")
	}
	abs, err := filepath.Abs(p)
	if err != nil {
		return fmt.Errorf("password-file %q: cannot make it absolute: %w (give an absolute path)", p, err)
	}
	*pf = abs
	return nil
}
