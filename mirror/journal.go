package mirror

import (
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"time"

	"golang.org/x/sys/unix"

	"github.com/mirrorfs/mirrorfs/internal/change"
)

const (
	journalFile = "journal"
	lockFile    = "lock"
	// commitInterval is the least time between two writes of the
	// buffered records: records arriving meanwhile share the next one
	// (group commit). Once written, a record survives the death of
	// mirrorfs (kill -9, panic): it is in the kernel's page cache.
	commitInterval = 2 * time.Millisecond
	// syncInterval is the least time between two fdatasyncs, which only
	// matter when the machine itself goes down. Then the backing
	// directory's own recent metadata is not durable either (ext4 commits
	// every 5 s), and the next start, finding no clean marker, runs a full
	// reconcile anyway. An fdatasync every commitInterval forces a commit
	// of the filesystem's journal that often, which slowed every create
	// and unlink on the same filesystem by a quarter (TestJournalCost).
	syncInterval = time.Second
	// minCompact is the log size below which it is never rewritten.
	minCompact = 16 << 20
)

// journal keeps the changes that are not yet on the destination on disk,
// so that a crash loses at most the last few milliseconds of them. Appends
// only copy bytes into a buffer; a writer goroutine writes and fdatasyncs
// it. The log is rewritten as the current pending set when it has grown
// well past that set (compaction).
//
// Lifecycle: openJournal returns a journal without a writer; start rewrites
// the log and only then starts the writer. done is closed whenever no
// writer runs (before start, after a failed start, after close), so close
// and compactNow never wait for a writer that is not there.
type journal struct {
	dir string
	log *slog.Logger

	mu     sync.Mutex
	buf    []byte
	err    error // first write error (*JournalError): journaling stops, mirroring goes on
	closed bool  // close was called: nothing more is appended

	// Owned by the writer goroutine once started.
	f         *os.File
	lock      *os.File
	spare     []byte
	size      int64
	compactAt int64
	snapshot  func() []byte // the pending set as records; empties j.buf

	kick    chan struct{}
	stop    chan struct{}
	done    chan struct{}   // closed while no writer runs
	compReq chan chan error // compaction on request (tests)

	syncs     uint64 // read under mu
	lastBytes int64
}

// JournalError says the journal in Dir cannot be written: the first rewrite
// at start, a later append, rewrite or fdatasync failed. Err is the cause
// (errors.Is(err, syscall.ENOSPC) for a full filesystem).
type JournalError struct {
	Dir string
	Op  string // "rewriting it", "appending to it", "syncing it"
	Err error
}

func (e *JournalError) Error() string {
	return fmt.Sprintf("the journal in %s cannot be written (%s): %v", e.Dir, e.Op, e.Err)
}

func (e *JournalError) Unwrap() error { return e.Err }

// StateDirBusyError says another mirrorfs holds the state directory's lock.
type StateDirBusyError struct {
	Dir string
	Err error
}

func (e *StateDirBusyError) Error() string {
	return fmt.Sprintf("in use by another mirrorfs (%v)", e.Err)
}

func (e *StateDirBusyError) Unwrap() error { return e.Err }

// replayed is what a journal held when it was opened.
type replayed struct {
	existed bool // a journal was there: this is a restart
	clean   bool // its last record says the previous run stopped in order
	paths   map[string]*pendingPath
	torn    bool              // the tail was cut short or corrupt (ignored)
	owed    map[Reason]uint64 // full syncs owed: one must start after the seq (recOwed)
	held    heldReplay        // deletes held back (recHold, hold.go)
}

type pendingPath struct {
	seq       uint64 // the latest change
	recursive bool
	ops       change.Kinds
	attempts  int
	msg       string
}

// openJournal locks dir (one mirrorfs per state directory) and reads the
// journal left there. Call start to begin writing.
func openJournal(dir string, log *slog.Logger) (*journal, *replayed, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, nil, &JournalError{Dir: dir, Op: "creating its directory", Err: err}
	}
	lk, err := os.OpenFile(filepath.Join(dir, lockFile), os.O_CREATE|os.O_RDWR, 0o600)
	if err != nil {
		return nil, nil, fmt.Errorf("cannot open the lock of state directory %s: %w", dir, err)
	}
	if err := unix.Flock(int(lk.Fd()), unix.LOCK_EX|unix.LOCK_NB); err != nil {
		lk.Close()
		return nil, nil, fmt.Errorf("state directory %s: %w", dir, &StateDirBusyError{Dir: dir, Err: err})
	}
	os.Remove(filepath.Join(dir, journalFile+".tmp"))
	data, err := os.ReadFile(filepath.Join(dir, journalFile))
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		lk.Close()
		return nil, nil, fmt.Errorf("cannot read the journal in %s: %w", dir, err)
	}
	rep, err := replayLog(data)
	if err != nil {
		lk.Close()
		return nil, nil, fmt.Errorf("journal %s: %w; move it away to start without it (the initial full sync then repairs the mirror)", filepath.Join(dir, journalFile), err)
	}
	if rep.torn {
		log.Warn("journal ends in a torn record (crash while writing); using everything before it", "dir", dir)
	}
	noWriter := make(chan struct{})
	close(noWriter)
	return &journal{
		dir:     dir,
		log:     log,
		lock:    lk,
		kick:    make(chan struct{}, 1),
		compReq: make(chan chan error),
		stop:    make(chan struct{}),
		done:    noWriter,
	}, rep, nil
}

// replayLog rebuilds the pending set from a log's records.
func replayLog(data []byte) (*replayed, error) {
	rep := &replayed{paths: make(map[string]*pendingPath), owed: make(map[Reason]uint64), existed: len(data) > 0}
	var r record
	for first := true; len(data) > 0; first = false {
		n, err := decodeRecord(data, &r)
		if err != nil {
			if first && !errors.Is(err, errTorn) {
				return nil, err
			}
			if first {
				// Not even a header: a crash while creating the file.
				rep.existed = false
			}
			rep.torn = true
			break
		}
		data = data[n:]
		rep.clean = r.kind == recClean
		switch r.kind {
		case recAdd:
			p := rep.paths[r.path]
			if p == nil {
				p = &pendingPath{}
				rep.paths[r.path] = p
			}
			p.seq = max(p.seq, r.seq)
			p.recursive = p.recursive || r.recursive
			p.ops |= r.kinds
		case recAck:
			if p := rep.paths[r.path]; p != nil && p.seq <= r.seq {
				delete(rep.paths, r.path)
			}
		case recFail:
			if p := rep.paths[r.path]; p != nil {
				p.attempts, p.msg = r.attempts, r.msg
			}
		case recFull:
			for k, p := range rep.paths {
				if p.seq <= r.seq {
					delete(rep.paths, k)
				}
			}
			for why, seq := range rep.owed {
				if seq <= r.seq {
					delete(rep.owed, why)
				}
			}
		case recOverflow:
			rep.owed[ReasonOverflow] = max(rep.owed[ReasonOverflow], r.seq)
		case recOwed:
			if why, ok := parseReason(r.msg); ok {
				rep.owed[why] = max(rep.owed[why], r.seq)
			}
		case recHold:
			rep.held.apply(&r)
		}
	}
	return rep, nil
}

// start writes snapshot() as the new journal (dropping the old one and its
// clean marker) and starts the writer. When that rewrite fails, the old
// journal is left as it was, no writer runs, and the caller closes j.
func (j *journal) start(snapshot func() []byte) error {
	j.snapshot = snapshot
	if err := j.compact(); err != nil {
		return err
	}
	j.done = make(chan struct{})
	go j.loop()
	return nil
}

func (j *journal) append(r *record) {
	if j == nil {
		return
	}
	j.mu.Lock()
	if j.err == nil && !j.closed {
		j.buf = appendRecord(j.buf, r)
	}
	j.mu.Unlock()
	select {
	case j.kick <- struct{}{}:
	default:
	}
}

func (j *journal) add(seq uint64, ms [2]mark) {
	for _, m := range ms {
		if m.path == "" {
			continue
		}
		j.append(&record{kind: recAdd, seq: seq, kinds: m.kinds, recursive: m.recursive, path: m.path})
	}
}

// ack records that path is on the destination as of seq lim.
func (j *journal) ack(path string, lim uint64, recursive bool) {
	j.append(&record{kind: recAck, seq: lim, path: path, recursive: recursive})
}

func (j *journal) fail(path string, attempts int, msg string) {
	j.append(&record{kind: recFail, path: path, attempts: attempts, msg: msg})
}

func (j *journal) full(lim uint64) {
	j.append(&record{kind: recFull, seq: lim})
}

// owe records a full sync owed for why, which must start after seq.
func (j *journal) owe(why Reason, seq uint64) {
	j.append(&record{kind: recOwed, seq: seq, msg: why.String()})
}

func (j *journal) loop() {
	defer close(j.done)
	var last, synced time.Time
	syncTimer := time.NewTimer(time.Hour)
	syncTimer.Stop()
	dirty := false // written but not yet fdatasync'd
	for {
		select {
		case <-j.kick:
		case <-syncTimer.C:
			if dirty {
				j.sync()
				synced, dirty = time.Now(), false
			}
			continue
		case <-j.stop:
			syncTimer.Stop()
			if j.write() || dirty {
				j.sync()
			}
			return
		case c := <-j.compReq:
			if j.write() || dirty {
				j.sync()
				dirty = false
			}
			err := j.compact()
			if err != nil {
				j.setErr(err) // snapshot dropped the buffer: the old log lacks it
			}
			c <- err
			continue
		}
		if d := commitInterval - time.Since(last); d > 0 {
			time.Sleep(d)
		}
		last = time.Now()
		if j.write() && !dirty {
			dirty = true
			syncTimer.Reset(max(0, syncInterval-time.Since(synced)))
		}
		if j.size > j.compactAt && j.broken() == nil {
			if err := j.compact(); err != nil {
				j.setErr(err)
			}
			dirty = false
		}
	}
}

// write appends what is buffered to the log; true when it wrote.
func (j *journal) write() bool {
	j.mu.Lock()
	b := j.buf
	j.buf = j.spare[:0]
	broken := j.err != nil
	j.mu.Unlock()
	j.spare = b
	if len(b) == 0 || broken {
		return false
	}
	if _, err := j.f.Write(b); err != nil {
		j.setErr(&JournalError{Dir: j.dir, Op: "appending to it", Err: err})
		return false
	}
	j.size += int64(len(b))
	j.mu.Lock()
	j.lastBytes = j.size
	j.mu.Unlock()
	if cap(j.spare) > 4<<20 {
		j.spare = nil // after a burst, give the memory back
	}
	return true
}

// sync makes what was written durable.
func (j *journal) sync() {
	if j.broken() != nil {
		return
	}
	if err := unix.Fdatasync(int(j.f.Fd())); err != nil {
		j.setErr(&JournalError{Dir: j.dir, Op: "syncing it", Err: fmt.Errorf("fdatasync %s: %w", filepath.Join(j.dir, journalFile), err)})
		return
	}
	j.mu.Lock()
	j.syncs++
	j.mu.Unlock()
}

// compact replaces the log with the pending set, atomically. On failure
// before the rename the old log is untouched and the partial copy removed
// (on a full disk it holds the space the rest needs).
func (j *journal) compact() error {
	snap := j.snapshot()
	tmp := filepath.Join(j.dir, journalFile+".tmp")
	f, err := os.OpenFile(tmp, os.O_CREATE|os.O_TRUNC|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return &JournalError{Dir: j.dir, Op: "rewriting it", Err: err}
	}
	renamed := false
	_, err = f.Write(snap)
	if err == nil {
		if err = unix.Fdatasync(int(f.Fd())); err != nil {
			err = fmt.Errorf("fdatasync %s: %w", tmp, err)
		}
	}
	if err == nil {
		err = os.Rename(tmp, filepath.Join(j.dir, journalFile))
		renamed = err == nil
	}
	if err == nil {
		err = syncDir(j.dir)
	}
	if err != nil {
		f.Close()
		if !renamed {
			os.Remove(tmp)
		}
		return &JournalError{Dir: j.dir, Op: "rewriting it", Err: err}
	}
	if j.f != nil {
		j.f.Close()
	}
	j.f = f
	j.size = int64(len(snap))
	j.compactAt = max(minCompact, 4*j.size)
	j.mu.Lock()
	j.lastBytes = j.size
	j.mu.Unlock()
	return nil
}

// compactNow has the writer rewrite the log now.
func (j *journal) compactNow() error {
	c := make(chan error)
	select {
	case j.compReq <- c:
		return <-c
	case <-j.done:
		return errors.New("journal: no writer runs")
	}
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}

func (j *journal) setErr(err error) {
	j.mu.Lock()
	first := j.err == nil
	if first {
		j.err = err
		j.buf = nil
	}
	j.mu.Unlock()
	if first {
		j.log.Error("journal stopped: changes are still mirrored, but a crash now needs the full sync of the next mount to repair the mirror", "error", err)
	}
}

func (j *journal) broken() error {
	j.mu.Lock()
	defer j.mu.Unlock()
	return j.err
}

// close stops the writer, if one runs, after a last flush; clean marks an
// orderly stop, after which the next start replays the journal without a
// reconcile. It returns the journal's write error, if any.
func (j *journal) close(clean bool) error {
	j.mu.Lock()
	if j.closed {
		j.mu.Unlock()
		return nil
	}
	j.closed = true // the clean marker is the last record
	if clean && j.err == nil {
		j.buf = appendRecord(j.buf, &record{kind: recClean})
	}
	j.mu.Unlock()
	close(j.stop)
	<-j.done
	j.mu.Lock()
	err := j.err
	j.mu.Unlock()
	if j.f != nil {
		j.f.Close()
	}
	j.lock.Close()
	return err
}

// JournalStatus describes the on-disk journal.
type JournalStatus struct {
	Enabled bool   `json:"enabled"`
	Dir     string `json:"dir,omitempty"`
	Bytes   int64  `json:"bytes"`
	Syncs   uint64 `json:"syncs"`
	Error   string `json:"error,omitempty"`
}

func (j *journal) status() JournalStatus {
	if j == nil {
		return JournalStatus{}
	}
	j.mu.Lock()
	defer j.mu.Unlock()
	s := JournalStatus{Enabled: true, Dir: j.dir, Bytes: j.lastBytes, Syncs: j.syncs}
	if j.err != nil {
		s.Error = j.err.Error()
	}
	return s
}
