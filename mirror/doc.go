// Package mirror is the engine: it keeps a destination (an rsync daemon
// module or a directory) equal to a source directory, given the changes
// made to the source, as change.Change values. It knows nothing of FUSE.
//
// The parts, each in files of its own:
//
//   - Intake (engine.go: Add). One mutex, O(log n), never waits for rsync:
//     the event goes into the queue, the link index and the journal.
//   - Queue (queue.go, list.go, overflow.go, reuse.go). A pure data
//     structure: the set of paths to make equal, coalesced (many events
//     on a path are one entry; created-then-deleted is nothing), with
//     debounce and max-delay order and per-path backoff. Bounded by
//     MaxPending; past it, changes fold into recursive entries or a debt.
//     Nothing outside it walks its lists.
//   - Link index (linkindex.go, linkwalk.go). Every name of every
//     multi-linked inode, so that a run ships a link group whole.
//   - Debts (debt.go, reconcile.go). The whole-tree syncs owed, each with
//     its reason (initial, unclean start, overflow, requested, interval):
//     one ledger, one barrier check, journaled until paid.
//   - Scheduler (schedule.go: drive). Decides what runs next: a full sync
//     that is due, a narrowed-down half batch, or the ready entries.
//   - Planner (batch.go: planBatch, separateLinked; hardlink.go). Turns a
//     batch's entries into rsync runs: recursive, listed, in place for
//     linked files, the root's own attributes, pre-seeds of renamed
//     directories (reuse.go).
//   - Runner (exec.go, args.go, internal/rsyncproc). Starts one rsync with
//     the source as fd 3 and a file list on stdin; kills it when it stalls,
//     hangs in open(2), or its context ends; no child outlives mirrorfs.
//   - Transport (dest*.go, ssh.go, bwlimit.go, classify_ssh.go). How rsync
//     reaches the destination: daemon over TCP or through ssh, a remote
//     directory through ssh; ssh always checks host keys.
//   - Shipping (ship.go). Runs a batch's runs in order and settles each
//     entry from its run's result: shipped, failed on its own (classify.go
//     names the paths rsync blamed), or requeued.
//   - Health (health.go). Backoff after whole-run failures, the last
//     error, stuck paths.
//   - Barriers (sync.go: Sync, Flush, Reconcile). Wait until every change
//     up to a point is on the destination.
//   - Journal (journal*.go, recover.go). What is not yet on the
//     destination survives a crash.
//   - Hold (hold*.go). Mass deletes counted at Add, held out of the
//     queue, journaled, protected from --delete runs until Release.
//   - Versions (versions*.go). rsync --backup-dir per batch inside the
//     destination, pruned to keep-versions, listed by Versions.
//   - Verify (verify*.go). A checksum dry run of the whole tree that
//     lists every difference, beside shipping; paths changing meanwhile
//     are skipped. Repair queues the differences.
//   - Progress (progress.go). rsync's progress lines, read as they come,
//     for Status.
//
// Locking: Engine.mu guards every field declared after it in Engine.
// Methods whose names end in Locked are called with it held; the others
// take it themselves. rsync always runs without it.
package mirror
