package config

import "time"

// Config is the complete set of options of one mirrorfs mount.
type Config struct {
	Source       string // backing directory; empty means the mountpoint itself (in-place)
	Dest         string // rsync daemon destination
	PasswordFile string // path handed to rsync --password-file, never read by us

	Delay        time.Duration // quiet time before a changed path is shipped
	MaxDelay     time.Duration // longest a changed path waits while it keeps changing
	FlushTimeout time.Duration // how long unmount waits for the queue to drain
	Timeout      time.Duration // rsync --timeout
	ConTimeout   time.Duration // rsync --contimeout

	InitialSync bool
	AllowOther  bool
	Xattrs      bool
	ACLs        bool
	Compress    bool
	NumericIDs  bool
	DebugFUSE   bool

	Rsync    string // rsync binary, looked up in $PATH unless it holds a slash
	LogLevel string // debug, info, warn or error

	ConfigFile string // config file named by --config or -o config=
	Mountpoint string // positional argument, set by the CLI
}

// Defaults returns the configuration used when no source sets an option.
// It agrees with the Default column of Keys().
func Defaults() Config {
	return Config{
		Delay:        200 * time.Millisecond,
		MaxDelay:     2 * time.Second,
		FlushTimeout: 5 * time.Minute,
		Timeout:      30 * time.Second,
		ConTimeout:   10 * time.Second,
		InitialSync:  true,
		Rsync:        "rsync",
		LogLevel:     "info",
	}
}
