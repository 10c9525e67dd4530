package fs

import (
	"container/list"
	"sync"

	"golang.org/x/sys/unix"
)

// dirCacheSize bounds the directory descriptors one mount keeps open.
const dirCacheSize = 512

// dirCache keeps O_PATH descriptors of recently used directories, so that
// an operation in a directory does not resolve it from the root (openat2)
// and close it again every time. A descriptor names the directory's
// inode, as the node does: it stays right when the directory or one of its
// ancestors is renamed through the mount. At most max descriptors are
// cached (least recently used ones are closed first); one in use is closed
// only once its last user is done with it.
type dirCache struct {
	mu  sync.Mutex
	max int
	lru list.List // of *dirEntry, most recently used first
}

type dirEntry struct {
	n    *node
	fd   int
	refs int           // users, plus one while cached; guarded by dirCache.mu
	elem *list.Element // nil once evicted
}

func newDirCache(max int) *dirCache {
	c := &dirCache{max: max}
	c.lru.Init()
	return c
}

// get returns n's cached descriptor, taking a reference.
func (c *dirCache) get(n *node) (dirRef, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	e := n.dent
	if e == nil {
		return dirRef{}, false
	}
	e.refs++
	c.lru.MoveToFront(e.elem)
	return dirRef{fd: e.fd, ent: e, cache: c}, true
}

// put caches fd (an owned descriptor of n) and returns it as a reference;
// if n got one meanwhile, fd is closed and the cached one returned.
func (c *dirCache) put(n *node, fd int) dirRef {
	c.mu.Lock()
	defer c.mu.Unlock()
	if e := n.dent; e != nil {
		unix.Close(fd)
		e.refs++
		c.lru.MoveToFront(e.elem)
		return dirRef{fd: e.fd, ent: e, cache: c}
	}
	e := &dirEntry{n: n, fd: fd, refs: 2}
	e.elem = c.lru.PushFront(e)
	n.dent = e
	for c.lru.Len() > c.max {
		c.evictLocked(c.lru.Back().Value.(*dirEntry))
	}
	return dirRef{fd: fd, ent: e, cache: c}
}

func (c *dirCache) release(e *dirEntry) {
	c.mu.Lock()
	e.refs--
	if e.refs == 0 {
		unix.Close(e.fd)
	}
	c.mu.Unlock()
}

// forget drops n's descriptor (the kernel forgot the node).
func (c *dirCache) forget(n *node) {
	c.mu.Lock()
	if e := n.dent; e != nil {
		c.evictLocked(e)
	}
	c.mu.Unlock()
}

// clear drops every descriptor not in use (at unmount).
func (c *dirCache) clear() {
	c.mu.Lock()
	for c.lru.Len() > 0 {
		c.evictLocked(c.lru.Front().Value.(*dirEntry))
	}
	c.mu.Unlock()
}

func (c *dirCache) len() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.lru.Len()
}

func (c *dirCache) evictLocked(e *dirEntry) {
	c.lru.Remove(e.elem)
	e.elem = nil
	e.n.dent = nil
	e.refs--
	if e.refs == 0 {
		unix.Close(e.fd)
	}
}
