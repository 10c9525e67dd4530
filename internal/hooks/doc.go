// Package hooks runs the user's commands for engine events (on-batch,
// on-error, on-stuck, on-hold, on-barrier). Events queue per kind, boundedly
// (a full queue drops its oldest event), and one worker runs the hooks one
// at a time in the order of the events, so a hook never blocks shipping
// and never runs alongside itself. Each hook runs under /bin/sh -c in a
// session of its own, is killed with its whole process group at its
// timeout, and dies with mirrorfs.
package hooks
