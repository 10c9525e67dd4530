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
	Delay        time.Duration // per-path quiet period before shipping
	MaxDelay     time.Duration // longest wait of a change before its batch starts
	InitialSync  bool          // full reconciling sync when Run starts
	// StateDir holds the journal of changes not yet on the destination;
	// "" runs without one (a crash then loses the queue).
	StateDir          string
	ReconcileInterval time.Duration // a full reconciling sync this often; 0: never

	Xattrs, ACLs, Compress, NumericIDs bool

	Timeout, ConTimeout time.Duration
	// Stall kills an rsync run that reads and writes nothing but keep-alives
	// for this long (five times as long for whole-tree syncs); 0: four
	// times Timeout (see watchdog.go).
	Stall              time.Duration
	RetryMin, RetryMax time.Duration
	MaxBatch           int
	// MaxPending bounds the queue's entries, and so its memory; past it,
	// changes are shipped by recursive runs of their directories or a
	// full sync (overflow.go). 0: DefaultMaxPending.
	MaxPending int
	Logger     *slog.Logger

	// Exclude keeps matching paths out of the mirror (nil: none).
	Exclude *Exclude
	// OnShipped, when set, receives the paths of every settled batch, from
	// the goroutine that ships; it should return quickly.
	OnShipped func([]Shipped)

	// exactTimes adds --modify-window=-1 (rsync >= 3.2.0): without it rsync
	// compares times in whole seconds and leaves a directory or symlink
	// changed within the same second with the receiver's own mtime.
	exactTimes bool
	// mkpath (rsync >= 3.2.3) lets a renamed directory be pre-seeded from
	// its old copy on the destination (reuse.go); without it, no pre-seed.
	mkpath bool
}

func (c *Config) setDefaults() error {
	switch c.Dest.Kind {
	case DestDaemon, DestLocal:
	default:
		return errors.New("mirror: no destination given")
	}
	if c.SourceName == "" && c.Source != nil {
		c.SourceName = c.Source.Name()
	}
	if c.RsyncPath == "" {
		c.RsyncPath = "rsync"
	}
	def := func(d *time.Duration, v time.Duration) {
		if *d <= 0 {
			*d = v
		}
	}
	if c.Delay < 0 {
		c.Delay = 0
	} else if c.Delay == 0 {
		c.Delay = 200 * time.Millisecond
	}
	def(&c.MaxDelay, 2*time.Second)
	if c.MaxDelay < c.Delay {
		c.MaxDelay = c.Delay
	}
	def(&c.Timeout, 30*time.Second)
	def(&c.ConTimeout, 10*time.Second)
	def(&c.RetryMin, time.Second)
	def(&c.RetryMax, 30*time.Second)
	if c.RetryMax < c.RetryMin {
		return fmt.Errorf("mirror: retry maximum %s is below the minimum %s", c.RetryMax, c.RetryMin)
	}
	if c.MaxBatch <= 0 {
		c.MaxBatch = 50000
	}
	if c.MaxPending <= 0 {
		c.MaxPending = DefaultMaxPending
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	return nil
}

// backoff is the wait after n failures in a row: RetryMin doubling up to RetryMax.
func (c *Config) backoff(n int) time.Duration {
	d := c.RetryMin
	for i := 1; i < n && d < c.RetryMax; i++ {
		d *= 2
	}
	return min(d, c.RetryMax)
}
