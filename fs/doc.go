// Package fs is mirrorfs's FUSE layer: a passthrough filesystem over a
// backing directory that reports every successful mutation to a Reporter.
//
// All operations are relative to a descriptor of the backing directory,
// never to a path string from the root: each operation resolves its parent
// directory below that descriptor (openat2 with RESOLVE_BENEATH and
// RESOLVE_NO_SYMLINKS, in chunks below PATH_MAX) and calls the *at system
// call on (parent, name). This lets the filesystem be mounted over its own
// backing directory and serve paths longer than PATH_MAX. The descriptors
// of recently used directories stay open (dirCache, bounded): they follow
// the directory's inode across renames, as the node does.
//
// Reads and writes go through go-fuse's LoopbackFile, which hands the
// backing descriptor to the kernel (FUSE passthrough) where the kernel
// allows it. Because the daemon then never sees individual writes, content
// changes are reported from the file handle's life cycle: Flush (the
// application's close), the last Release, and a periodic check of files
// that stay open for writing.
//
// The mount negotiates FUSE_HANDLE_KILLPRIV_V2: the kernel then asks for
// security.capability once per inode and attribute refresh instead of
// before every write(2) (it caches the negative answer as S_NOSEC), and
// clearing setuid/setgid on a write or truncate by a caller without
// CAP_FSETID becomes the daemon's job. The kernel still tells us when: a
// truncate carries FATTR_KILL_SUIDGID, and before such a write (kernel
// passthrough included) file_remove_privs sends a SETATTR that sets
// nothing; Setattr then clears the bits as the VFS would (killRequested).
//
// One gap is known and left as it is:
//
//   - A shared mapping outlives the FUSE file: with passthrough the kernel
//     maps the backing file and may release ours right after close(2), so
//     writes through the mapping after the last close are not reported.
package fs
