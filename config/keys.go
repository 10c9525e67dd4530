package config

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Kind is how an option's value is written.
type Kind uint8

const (
	KindString   Kind = iota + 1
	KindPath          // a file system path
	KindDuration      // Go syntax (200ms, 2s, 5m) or plain integer seconds
	KindBool          // "key" alone, key=true|false|yes|no|1|0|on|off, or no-key
	KindInt           // a positive decimal count; _ may group digits (250_000)
	KindPort          // a TCP port, 1..65535
)

func (k Kind) String() string {
	switch k {
	case KindString:
		return "string"
	case KindPath:
		return "path"
	case KindDuration:
		return "duration"
	case KindBool:
		return "bool"
	case KindInt:
		return "count"
	case KindPort:
		return "port"
	}
	return "kind?"
}

// Key describes one option. The CLI generates its flags from Keys(); it should
// declare every flag as a string (bools as bool flags) and pass the value
// through Config.Set, so flags accept exactly the syntax of -o and the file.
type Key struct {
	Name    string
	Usage   string
	Kind    Kind
	Default string // Defaults() as it would be written on the command line; "" for none
	// Negatable marks booleans that default to true, for which the CLI should
	// offer --no-NAME. Set accepts no-NAME for every boolean regardless.
	Negatable bool
}

type keyDef struct {
	Key
	field func(*Config) any // *string, *time.Duration, *int or *bool
	check func(string) (string, error)
	// notInFile keys make no sense inside a config file.
	notInFile bool
}

// configKey names the config file; it cannot appear inside one.
const configKey = "config"

var keyTable = []keyDef{
	{Key: Key{Name: "source", Kind: KindPath, Usage: "serve `DIR` at the mountpoint instead of mounting over the mountpoint's own contents"},
		field: func(c *Config) any { return &c.Source }},
	{Key: Key{Name: "dest", Kind: KindString, Usage: "rsync daemon destination, e.g. rsync://host/module/path or host::module/path (required; repeat it to mirror to several destinations at once)"},
		field: func(c *Config) any { return &c.Dest }},
	{Key: Key{Name: "password-file", Kind: KindPath, Usage: "`FILE` holding the rsync daemon password (or set RSYNC_PASSWORD)"},
		field: func(c *Config) any { return &c.PasswordFile }},
	{Key: Key{Name: "rsh", Kind: KindString, Usage: "remote shell: \"ssh\" (or the absolute path of an ssh binary) reaches a host::module destination through ssh; host:/path destinations always use ssh"},
		field: func(c *Config) any { return &c.Rsh }, check: checkRsh},
	{Key: Key{Name: "ssh-key", Kind: KindPath, Usage: "private key `FILE` for ssh (ssh -i; mode 600, no passphrase unless ssh-agent holds it)"},
		field: func(c *Config) any { return &c.SSHKey }},
	{Key: Key{Name: "ssh-port", Kind: KindPort, Usage: "port of the ssh server (ssh -p), 1 to 65535; default 22"},
		field: func(c *Config) any { return &c.SSHPort }},
	{Key: Key{Name: "ssh-known-hosts", Kind: KindPath, Usage: "known_hosts `FILE` holding the host key (default ~/.ssh/known_hosts); host keys are always checked"},
		field: func(c *Config) any { return &c.SSHKnownHosts }},
	{Key: Key{Name: "ssh-options", Kind: KindString, Usage: "further ssh arguments, split like a shell would (quotes honoured), e.g. \"-l root -o Ciphers=aes128-gcm@openssh.com\""},
		field: func(c *Config) any { return &c.SSHOptions }, check: checkSSHOptions},
	{Key: Key{Name: "bwlimit", Kind: KindString, Usage: "limit the transfer rate as rsync --bwlimit does: KiB/s, or with a suffix K, M or G (10M is 10 MiB/s); 0: no limit"},
		field: func(c *Config) any { return &c.BwLimit }, check: checkBwLimit},
	{Key: Key{Name: "delay", Kind: KindDuration, Usage: "ship a changed path after it has been quiet this long (0: at once, like lsyncd delay = 0)"},
		field: func(c *Config) any { return &c.Delay }},
	{Key: Key{Name: "max-delay", Kind: KindDuration, Usage: "ship a path that keeps changing at the latest after this long (more than 0, at least delay)"},
		field: func(c *Config) any { return &c.MaxDelay }},
	{Key: Key{Name: "leading-edge", Kind: KindBool, Negatable: true, Usage: "ship the first change after delay without any at once; the ones right after it wait out delay as usual"},
		field: func(c *Config) any { return &c.LeadingEdge }},
	{Key: Key{Name: "flush-timeout", Kind: KindDuration, Usage: "how long unmount waits for pending changes to be shipped"},
		field: func(c *Config) any { return &c.FlushTimeout }},
	{Key: Key{Name: "initial-sync", Kind: KindBool, Negatable: true, Usage: "sync the whole tree once at mount time"},
		field: func(c *Config) any { return &c.InitialSync }},
	{Key: Key{Name: "allow-other", Kind: KindBool, Usage: "let users other than the mounting one access the mount"},
		field: func(c *Config) any { return &c.AllowOther }},
	{Key: Key{Name: "xattrs", Kind: KindBool, Usage: "serve extended attributes and mirror them (rsync -X)"},
		field: func(c *Config) any { return &c.Xattrs }},
	{Key: Key{Name: "acls", Kind: KindBool, Usage: "mirror POSIX ACLs (rsync -A)"},
		field: func(c *Config) any { return &c.ACLs }},
	{Key: Key{Name: "compress", Kind: KindBool, Usage: "compress data in transfer (rsync -z)"},
		field: func(c *Config) any { return &c.Compress }},
	{Key: Key{Name: "numeric-ids", Kind: KindBool, Usage: "keep numeric owner ids instead of mapping names (rsync --numeric-ids)"},
		field: func(c *Config) any { return &c.NumericIDs }},
	{Key: Key{Name: "rsync", Kind: KindPath, Usage: "rsync `BINARY` to run"},
		field: func(c *Config) any { return &c.Rsync }},
	{Key: Key{Name: "timeout", Kind: KindDuration, Usage: "rsync I/O timeout (rsync --timeout)"},
		field: func(c *Config) any { return &c.Timeout }},
	{Key: Key{Name: "contimeout", Kind: KindDuration, Usage: "rsync daemon connection timeout (rsync --contimeout)"},
		field: func(c *Config) any { return &c.ConTimeout }},
	{Key: Key{Name: "log-level", Kind: KindString, Usage: "log level: debug, info, warn or error"},
		field: func(c *Config) any { return &c.LogLevel }, check: checkLogLevel},
	{Key: Key{Name: "debug-fuse", Kind: KindBool, Usage: "log every FUSE request (very verbose)"},
		field: func(c *Config) any { return &c.DebugFUSE }},
	{Key: Key{Name: "foreground", Kind: KindBool, Usage: "as a mount(8) helper, stay attached instead of detaching once the mount is ready (mirrorfs mount always stays attached)"},
		field: func(c *Config) any { return &c.Foreground }},
	{Key: Key{Name: "log-file", Kind: KindPath, Usage: "append the process log to `FILE` instead of stderr (or syslog when detached)"},
		field: func(c *Config) any { return &c.LogFile }},
	{Key: Key{Name: "syslog", Kind: KindBool, Usage: "log to syslog (the journal under systemd); the default when detached without log-file"},
		field: func(c *Config) any { return &c.Syslog }},
	{Key: Key{Name: "exclude", Kind: KindString, Usage: "keep paths matching this regular `PATTERN` out of the mirror (like inotifywait --exclude; RE2 syntax, matched against the path relative to the root, directories with a trailing /)"},
		field: func(c *Config) any { return &c.Exclude }, check: checkExclude},
	{Key: Key{Name: "excludei", Kind: KindString, Usage: "like exclude, but case-insensitive (inotifywait --excludei)"},
		field: func(c *Config) any { return &c.ExcludeI }, check: checkExclude},
	{Key: Key{Name: "changelog-file", Kind: KindPath, Usage: "append one line per shipped change to `FILE` (\"-\": standard output), like inotifywait -o"},
		field: func(c *Config) any { return &c.ChangelogFile }},
	{Key: Key{Name: "changelog-syslog", Kind: KindBool, Usage: "also send the change log lines to syslog"},
		field: func(c *Config) any { return &c.ChangelogSyslog }},
	{Key: Key{Name: "format", Kind: KindString, Usage: "change log line: inotifywait's %T %w %f %e %Xe, plus %S ship time, %R ok/failed, %B batch, %p relative path, %{TIMEFMT}T"},
		field: func(c *Config) any { return &c.Format }, check: checkFormat},
	{Key: Key{Name: "timefmt", Kind: KindString, Usage: "strftime format of %T and %S: %Y %y %m %d %H %M %S %F %T %s %%"},
		field: func(c *Config) any { return &c.TimeFmt }, check: checkTimeFmt},
	{Key: Key{Name: "events", Kind: KindString, Usage: "log only these changes, as inotifywait -e: create,delete,modify,close_write,attrib,moved_to,moved_from,move (default: all)"},
		field: func(c *Config) any { return &c.Events }, check: checkEvents},
	{Key: Key{Name: "quiet", Kind: KindBool, Usage: "log warnings and errors only (like inotifywait -q; log-level=warn)"},
		field: func(c *Config) any { return &c.Quiet }},
	{Key: Key{Name: "inotify-audit", Kind: KindBool, Usage: "also watch the mount with inotify and count changes that inotify saw but the FUSE layer did not report, and the reverse (see status; one inotify watch per directory)"},
		field: func(c *Config) any { return &c.InotifyAudit }},
	{Key: Key{Name: "state-dir", Kind: KindPath, Usage: "keep the journal of changes not yet mirrored under `DIR` (one subdirectory per mountpoint), so a crash loses nothing; \"none\": no journal"},
		field: func(c *Config) any { return &c.StateDir }},
	{Key: Key{Name: "reconcile-interval", Kind: KindDuration, Usage: "also run a full reconciling rsync this often, for changes that bypass the mount (default: never)"},
		field: func(c *Config) any { return &c.ReconcileInterval }},
	{Key: Key{Name: "verify-interval", Kind: KindDuration, Usage: "also compare the source and the destination by content this often, like mirrorfs verify; the result is in status (default: never)"},
		field: func(c *Config) any { return &c.VerifyInterval }},
	{Key: Key{Name: "max-pending", Kind: KindInt, Usage: "keep at most this many changed paths in memory; past it, changes are shipped by recursive rsyncs of their directories and a full sync, so memory stays bounded during a long outage"},
		field: func(c *Config) any { return &c.MaxPending }},
	{Key: Key{Name: "force", Kind: KindBool, Usage: "clear a stale mount left by a crashed mirrorfs (lazy unmount) instead of refusing to start"},
		field: func(c *Config) any { return &c.Force }},
	{Key: Key{Name: "metrics-listen", Kind: KindString, Usage: "serve Prometheus metrics at http://`ADDR`/metrics: PORT (on 127.0.0.1), HOST:PORT (:PORT listens on every interface), or unix:/PATH (a socket only root and our uid may use); default: off"},
		field: func(c *Config) any { return &c.MetricsListen }, check: checkMetricsListen},
	{Key: Key{Name: "on-batch", Kind: KindString, Usage: "run this shell `COMMAND` after each batch shipped (MIRRORFS_* variables; the paths on stdin, NUL-terminated)"},
		field: func(c *Config) any { return &c.OnBatch }},
	{Key: Key{Name: "on-error", Kind: KindString, Usage: "run this shell `COMMAND` when an rsync run fails as a whole (destination down, refused...)"},
		field: func(c *Config) any { return &c.OnError }},
	{Key: Key{Name: "on-stuck", Kind: KindString, Usage: "run this shell `COMMAND` when paths start failing on their own (they stay queued and retried)"},
		field: func(c *Config) any { return &c.OnStuck }},
	{Key: Key{Name: "on-hold", Kind: KindString, Usage: "run this shell `COMMAND` when deletes are held back (hold-deletes)"},
		field: func(c *Config) any { return &c.OnHold }},
	{Key: Key{Name: "on-barrier", Kind: KindString, Usage: "run this shell `COMMAND` when a sync barrier completes (sync --wait, unmount): everything up to it is on the destination"},
		field: func(c *Config) any { return &c.OnBarrier }},
	{Key: Key{Name: "hook-timeout", Kind: KindDuration, Usage: "kill a hook (with everything it started) that runs longer than this"},
		field: func(c *Config) any { return &c.HookTimeout }},
	{Key: Key{Name: "hold-deletes", Kind: KindString, Usage: "hold file deletes back when more than `N` (or P% of the tree's files) arrive within hold-window; `mirrorfs release` ships them"},
		field: func(c *Config) any { return &c.HoldDeletes }, check: checkHoldDeletes},
	{Key: Key{Name: "hold-window", Kind: KindDuration, Usage: "a file delete counts toward hold-deletes for this long after it was made, and for as long as it waits to ship"},
		field: func(c *Config) any { return &c.HoldWindow }},
	{Key: Key{Name: "backup-dir", Kind: KindString, Usage: "keep what each batch overwrites or deletes on the destination in a dated directory below `DIR`, a path inside the destination (e.g. .versions)"},
		field: func(c *Config) any { return &c.BackupDir }, check: checkBackupDir},
	{Key: Key{Name: "keep-versions", Kind: KindString, Usage: "prune backup-dir's dated directories: keep the N newest (10), those younger than an age (30d, 12h), or either (10,30d); default: keep all"},
		field: func(c *Config) any { return &c.KeepVersions }, check: checkKeepVersions},
	{Key: Key{Name: "prune-interval", Kind: KindDuration, Usage: "least time between two pruning passes of keep-versions"},
		field: func(c *Config) any { return &c.PruneInterval }},
	{Key: Key{Name: configKey, Kind: KindPath, Usage: "read options from `FILE` (key = value per line)"},
		field: func(c *Config) any { return &c.ConfigFile }, notInFile: true},
}

var keyIndex = func() map[string]*keyDef {
	m := make(map[string]*keyDef, len(keyTable))
	for i := range keyTable {
		m[keyTable[i].Name] = &keyTable[i]
	}
	return m
}()

// Keys returns the option table, for generating CLI flags and documentation.
// Default is written from Defaults(), so the two cannot disagree.
func Keys() []Key {
	d := Defaults()
	keys := make([]Key, len(keyTable))
	for i, k := range keyTable {
		keys[i] = k.Key
		keys[i].Default = defaultText(k.field(&d))
	}
	return keys
}

// lookup resolves a key, including no-KEY for booleans.
func lookup(key string) (def *keyDef, negated bool) {
	if d, ok := keyIndex[key]; ok {
		return d, false
	}
	if name, ok := strings.CutPrefix(key, "no-"); ok {
		if d, ok := keyIndex[name]; ok && d.Kind == KindBool {
			return d, true
		}
	}
	return nil, false
}

// Set applies one option. An empty value means "given without a value",
// which only booleans accept. Mount-only options are accepted and ignored.
func (c *Config) Set(key, value string) error {
	return c.set(key, value, value != "")
}

func (c *Config) set(key, value string, hasValue bool) error {
	if err := unsupported[key]; err != nil {
		return err
	}
	if IsMountOnlyOption(key) {
		return nil
	}
	def, negated := lookup(key)
	if def == nil {
		return unknownOption(key)
	}
	if def.Kind == KindBool {
		b := true
		if hasValue {
			var err error
			if b, err = parseBool(value); err != nil {
				return fmt.Errorf("%s %q: %w (use true or false, or write %q or %q alone)", key, value, err, def.Name, "no-"+def.Name)
			}
		}
		*def.field(c).(*bool) = b != negated
		return nil
	}
	if !hasValue || value == "" {
		return fmt.Errorf("option %q needs a value (write %s=VALUE)", key, key)
	}
	switch p := def.field(c).(type) {
	case *time.Duration:
		d, err := parseDuration(value)
		if err != nil {
			return fmt.Errorf("%s %q: %w", key, value, err)
		}
		*p = d
	case *int:
		parse := parseCount
		if def.Kind == KindPort {
			parse = parsePort
		}
		n, err := parse(value)
		if err != nil {
			return fmt.Errorf("%s %q: %w", key, value, err)
		}
		*p = n
	case *string:
		if def.check != nil {
			v, err := def.check(value)
			if err != nil {
				return fmt.Errorf("%s %q: %w", key, value, err)
			}
			value = v
		}
		*p = value
	}
	return nil
}

// parsePort reads a KindPort value.
func parsePort(v string) (int, error) {
	n, err := strconv.Atoi(v)
	if err != nil || n < 1 || n > 65535 {
		return 0, fmt.Errorf("not a port: give a number from 1 to 65535")
	}
	return n, nil
}

// parseCount reads a KindInt value.
func parseCount(v string) (int, error) {
	n, err := strconv.ParseInt(strings.ReplaceAll(v, "_", ""), 10, 0)
	switch {
	case err != nil:
		return 0, fmt.Errorf("not a whole number (write e.g. 250000)")
	case n < 1000:
		return 0, fmt.Errorf("too small: use at least 1000")
	}
	return int(n), nil
}
