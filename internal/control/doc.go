// Package control is the root-only unix socket through which the mirrorfs
// commands (status, sync, unmount) talk to a running mount.
//
// There is one socket per mountpoint, SocketPath(runDir, mountpoint), in a
// directory only its owner can enter. A connection carries one JSON Request
// line and gets one JSON Response line back; the connection closing before
// the answer cancels the handler's context. Every connection is checked with
// SO_PEERCRED: only root and the server's own uid are served.
//
// The package knows nothing about what the commands do; the caller supplies a
// Handler.
package control
