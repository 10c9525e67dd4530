package config

import (
	"time"

	"github.com/mirrorfs/mirrorfs/internal/changelog"
	"github.com/mirrorfs/mirrorfs/mirror"
)

// Config is the complete set of options of one mirrorfs mount.
type Config struct {
	Source       string // backing directory; empty means the mountpoint itself (in-place)
	Dest         string // rsync daemon destination; with several, the first (Dests has them all)
	PasswordFile string // path handed to rsync --password-file, never read by us
	Transport           // ssh and bwlimit (transport.go)
	Observe             // metrics endpoint and hooks (observe.go)
	// Dests are all destinations, each with its per-destination options
	// (dests.go); the fields above are their top-level defaults.
	Dests []DestConfig

	Delay        time.Duration // quiet time before a changed path is shipped
	MaxDelay     time.Duration // longest a changed path waits while it keeps changing
	FlushTimeout time.Duration // how long unmount waits for the queue to drain
	Timeout      time.Duration // rsync --timeout
	ConTimeout   time.Duration // rsync --contimeout

	InitialSync bool
	LeadingEdge bool
	AllowOther  bool
	Xattrs      bool
	ACLs        bool
	Compress    bool
	NumericIDs  bool
	DebugFUSE   bool
	Foreground  bool // as a mount(8) helper: do not detach
	Syslog      bool // log to syslog instead of stderr

	Rsync    string // rsync binary, looked up in $PATH unless it holds a slash
	LogLevel string // debug, info, warn or error
	LogFile  string // process log; empty: stderr, or syslog when detached

	// Change selection and change log, in inotifywait's terms.
	Exclude, ExcludeI string // regular expressions of paths kept out of the mirror
	ChangelogFile     string
	ChangelogSyslog   bool
	Format, TimeFmt   string
	Events            string
	Quiet             bool
	InotifyAudit      bool // cross-check the FUSE layer against inotify on the mount

	// Journal and recovery (issue 3).
	StateDir          string        // journal root; "none" turns the journal off
	ReconcileInterval time.Duration // scheduled full sync; 0: never
	VerifyInterval    time.Duration // scheduled verify; 0: never
	MaxPending        int           // queue bound (mirror.Config.MaxPending)
	Force             bool          // clear a stale mount at the mountpoint

	// Safety (issue 15): held mass deletes and versions on the destination.
	HoldDeletes   string        // hold-deletes: N or P% (mirror.ParseHoldLimit)
	HoldWindow    time.Duration // how long deletes count toward hold-deletes
	BackupDir     string        // versions directory inside the destination (mirror.CheckBackupDir)
	KeepVersions  string        // retention of BackupDir (mirror.ParseRetention)
	PruneInterval time.Duration // least time between two pruning passes

	ConfigFile string // config file named by --config or -o config=
	Mountpoint string // positional argument, set by the CLI
}

// Defaults returns the configuration used when no source sets an option:
// the engine's settings from mirror.DefaultConfig, the rest from here.
// Keys() writes its Default column from it.
func Defaults() Config {
	m := mirror.DefaultConfig()
	c := Config{
		Delay:        m.Delay,
		MaxDelay:     m.MaxDelay,
		Timeout:      m.Timeout,
		ConTimeout:   m.ConTimeout,
		Rsync:        m.RsyncPath,
		MaxPending:   m.MaxPending,
		FlushTimeout: 5 * time.Minute,
		InitialSync:  true,
		LeadingEdge:  m.LeadingEdge,
		LogLevel:     "info",
		StateDir:     DefaultStateDir,
		Format:       changelog.DefaultFormat,
		TimeFmt:      changelog.DefaultTimeFmt,
		Observe:      Observe{HookTimeout: DefaultHookTimeout},
	}
	c.HoldWindow, c.PruneInterval = m.HoldWindow, m.PruneInterval
	return c
}

// DefaultStateDir holds one journal directory per mountpoint.
const DefaultStateDir = "/var/lib/mirrorfs"
