package mirror

import (
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"time"
)

// Config sets up an Engine.
type Config struct {
	Source       *os.File // the backing directory, opened by the caller
	SourceName   string   // for messages
	Dest         Destination
	PasswordFile string // given to rsync by path; rsync re-reads it every run
	RsyncPath    string
	Delay        time.Duration // per-path quiet period before shipping; 0: ship at once
	MaxDelay     time.Duration // longest wait of a change before its batch starts; > 0, >= Delay
	InitialSync  bool          // full reconciling sync when Run starts
	// LeadingEdge ships the first change after Delay without any at once,
	// instead of waiting out the debounce.
	LeadingEdge bool
	// StateDir holds the journal of changes not yet on the destination;
	// "" runs without one (a crash then loses the queue).
	StateDir          string
	ReconcileInterval time.Duration // a full reconciling sync this often; 0: never
	VerifyInterval    time.Duration // a verify (verify.go) this often; 0: never

	Xattrs, ACLs, Compress, NumericIDs bool

	Timeout, ConTimeout time.Duration
	// SSH reaches the destination through ssh (ssh.go); BwLimit is rsync's
	// --bwlimit in the units rsync takes ("" or "0": no limit).
	SSH     SSH
	BwLimit string
	// Stall kills an rsync run that reads and writes nothing but keep-alives
	// for this long (five times as long for whole-tree syncs); 0: four
	// times Timeout (see watchdog.go).
	Stall              time.Duration
	RetryMin, RetryMax time.Duration
	MaxBatch           int
	// MaxPending bounds the queue's entries, and so its memory; past it,
	// changes are shipped by recursive runs of their directories or a
	// full sync (overflow.go).
	MaxPending int
	Logger     *slog.Logger

	// Exclude keeps matching paths out of the mirror (nil: none).
	Exclude *Exclude
	// OnShipped, when set, receives the paths of every settled batch, from
	// the goroutine that ships; it should return quickly.
	OnShipped func([]Shipped)
	// OnEvent, when set, receives batch, error, stuck, hold and barrier
	// events (event.go), never with the engine's lock held; it must
	// return quickly.
	OnEvent func(Event)

	// Name is the destination's short name (a config-file section); ""
	// names it by Dest.String(). Logs, status, events and metrics use it.
	Name string
	// BackupDir, when set, is a directory inside the destination that
	// keeps the versions rsync --backup moves aside. It is not part of the
	// mirror: --delete runs, verify and reconcile leave it alone.
	BackupDir string
	// KeepVersions prunes BackupDir's dated directories (versions_prune.go);
	// the zero value keeps them all.
	KeepVersions Retention
	// PruneInterval is the least time between two pruning passes.
	PruneInterval time.Duration

	// HoldDeletes holds file deletes back when more than it allows arrive
	// within HoldWindow (hold.go); the zero value holds nothing.
	HoldDeletes HoldLimit
	HoldWindow  time.Duration

	// guard adds the protect rules of held deletes to a run (hold_guard.go).
	guard func(args []string) ([]string, func(), error)

	// exactTimes adds --modify-window=-1 (rsync >= 3.2.0): without it rsync
	// compares times in whole seconds and leaves a directory or symlink
	// changed within the same second with the receiver's own mtime.
	exactTimes bool
	// mkpath (rsync >= 3.2.3) lets a renamed directory be pre-seeded from
	// its old copy on the destination (reuse.go); without it, no pre-seed.
	mkpath bool
}

// DestName is the destination's name for logs, status, events and metrics.
func (c *Config) DestName() string {
	if c.Name != "" {
		return c.Name
	}
	return c.Dest.String()
}

// DefaultConfig holds the engine's defaults, the only copy of them:
// config.Defaults starts from it. Callers set Source, Dest and Logger and
// change what they need; New takes every value as given and refuses
// values that mean nothing instead of replacing them.
func DefaultConfig() Config {
	c := Config{
		RsyncPath:   "rsync",
		Delay:       200 * time.Millisecond,
		MaxDelay:    2 * time.Second,
		Timeout:     30 * time.Second,
		ConTimeout:  10 * time.Second,
		RetryMin:    time.Second,
		RetryMax:    30 * time.Second,
		MaxBatch:    50000,
		MaxPending:  DefaultMaxPending,
		LeadingEdge: true,
	}
	c.HoldWindow, c.PruneInterval = time.Minute, 5*time.Minute
	return c
}

// setDefaults keeps the name New and Probe call. It no longer fills in
// defaults (see DefaultConfig): it checks the values and derives only
// SourceName and a silent Logger, which are not settings.
func (c *Config) setDefaults() error {
	switch c.Dest.Kind {
	case DestDaemon, DestLocal, DestShell:
	default:
		return errors.New("mirror: no destination given")
	}
	if err := c.check(); err != nil {
		return err
	}
	if c.SourceName == "" && c.Source != nil {
		c.SourceName = c.Source.Name()
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	return nil
}

// check refuses what has no meaning; it names the first problem only.
func (c *Config) check() error {
	for _, d := range []struct {
		name string
		v    time.Duration
		zero bool // 0 has a meaning of its own
	}{
		{"Delay", c.Delay, true}, // 0: ship at once
		{"MaxDelay", c.MaxDelay, false},
		{"Timeout", c.Timeout, false},
		{"ConTimeout", c.ConTimeout, false},
		{"RetryMin", c.RetryMin, false},
		{"RetryMax", c.RetryMax, false},
		{"Stall", c.Stall, true},                         // 0: derived from Timeout
		{"ReconcileInterval", c.ReconcileInterval, true}, // 0: never
		{"HoldWindow", c.HoldWindow, !c.HoldDeletes.On()},
		{"PruneInterval", c.PruneInterval, !c.KeepVersions.On()},
		{"VerifyInterval", c.VerifyInterval, true}, // 0: never
	} {
		if d.v < 0 || d.v == 0 && !d.zero {
			return fmt.Errorf("mirror: %s %v: must be positive (start from mirror.DefaultConfig)", d.name, d.v)
		}
	}
	switch {
	case c.RsyncPath == "":
		return errors.New("mirror: no rsync binary given (RsyncPath; DefaultConfig has \"rsync\")")
	case c.MaxDelay < c.Delay:
		return fmt.Errorf("mirror: MaxDelay %v is below Delay %v", c.MaxDelay, c.Delay)
	case c.RetryMax < c.RetryMin:
		return fmt.Errorf("mirror: retry maximum %s is below the minimum %s", c.RetryMax, c.RetryMin)
	case c.MaxBatch <= 0:
		return fmt.Errorf("mirror: MaxBatch %d: must be positive", c.MaxBatch)
	case c.MaxPending <= 0:
		return fmt.Errorf("mirror: MaxPending %d: must be positive", c.MaxPending)
	}
	if c.BackupDir != "" {
		if _, err := CheckBackupDir(c.BackupDir); err != nil {
			return fmt.Errorf("mirror: BackupDir %q: %w", c.BackupDir, err)
		}
	}
	if c.BwLimit != "" {
		if _, err := ParseBwLimit(c.BwLimit); err != nil {
			return err
		}
	}
	return c.checkSSH()
}

// backoff is the wait after n failures in a row: RetryMin doubling up to RetryMax.
func (c *Config) backoff(n int) time.Duration {
	d := c.RetryMin
	for i := 1; i < n && d < c.RetryMax; i++ {
		d *= 2
	}
	return min(d, c.RetryMax)
}
