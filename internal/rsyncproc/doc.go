// Package rsyncproc runs rsync (or anything shaped like it) as a child that
// can neither hold up its caller nor outlive it.
//
// Every child runs in a session of its own (no terminal to prompt on, one
// process group to kill), in "/", with no descriptors but the ones it was
// given, with SIGKILL as its parent-death signal, and with an owner marker
// in its environment that ReapOrphans uses after a crash. While it runs, a
// watchdog kills the tree when it makes no I/O progress for Spec.Stall, or
// at once when a process in it is stuck opening a path (a FIFO that has no
// writer, a device that waits for a carrier); the path is reported.
package rsyncproc
