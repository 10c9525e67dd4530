package rsyncproc

import (
	"bytes"
	"sync"
)

// buffer is a bytes.Buffer that may be read while the child still writes
// to it (a run given up on, see Result.Lingering).
type buffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (b *buffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.Write(p)
}

func (b *buffer) Bytes() []byte {
	b.mu.Lock()
	defer b.mu.Unlock()
	return bytes.Clone(b.b.Bytes())
}
