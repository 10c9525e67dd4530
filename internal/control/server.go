package control

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"net"
	"os"
	"sync"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// Handler runs one command. Its result is marshalled into Response.Data; an
// error becomes Response.Error, classified by WithCode or by the context
// error it wraps. ctx is cancelled when the client disconnects or the server
// closes; a long handler must honour it.
type Handler interface {
	Handle(ctx context.Context, req Request) (any, error)
}

const (
	maxRequestLine = 1 << 20
	requestTimeout = 10 * time.Second // for the request line, not the handler
	writeTimeout   = 10 * time.Second
	closeGrace     = 5 * time.Second // how long Close waits for cancelled handlers to answer
	probeTimeout   = 2 * time.Second
)

// Server serves one mountpoint's control socket.
type Server struct {
	h          Handler
	log        *slog.Logger
	ln         *net.UnixListener
	lock       *os.File
	path       string
	mountpoint string
	uid        int

	ctx    context.Context // cancelled by Close
	cancel context.CancelFunc

	acceptDone chan struct{}
	stopOnce   sync.Once
	closeOnce  sync.Once
	closeErr   error

	mu     sync.Mutex
	closed bool
	conns  map[*net.UnixConn]struct{}
	wg     sync.WaitGroup // one per connection
}

// Listen creates the control socket of mountpoint in runDir and serves it
// until Close. It refuses to take over a socket a live server answers on.
func Listen(runDir, mountpoint string, h Handler, log *slog.Logger) (*Server, error) {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	path := SocketPath(runDir, mountpoint)
	if len(path) > maxSocketPath {
		return nil, fmt.Errorf("control socket path %s is %d bytes, more than the %d a unix socket allows (set MIRRORFS_RUN_DIR to a shorter directory)", path, len(path), maxSocketPath)
	}
	if err := ensureRunDir(runDir); err != nil {
		return nil, err
	}
	lock, err := acquireLock(lockPath(runDir, mountpoint))
	if errors.Is(err, errLocked) {
		return nil, alreadyServed(mountpoint, path)
	}
	if err != nil {
		return nil, err
	}
	if err := clearStale(mountpoint, path, log); err != nil {
		releaseLock(lock)
		return nil, err
	}
	ln, err := net.ListenUnix("unix", &net.UnixAddr{Name: path, Net: "unix"})
	if err != nil {
		releaseLock(lock)
		return nil, fmt.Errorf("creating the control socket: %w", err)
	}
	// The run directory already keeps others out; this is the second wall.
	if err := os.Chmod(path, 0o600); err != nil {
		ln.Close()
		releaseLock(lock)
		return nil, fmt.Errorf("restricting the control socket: %w", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	s := &Server{
		h: h, log: log, ln: ln, lock: lock, path: path, mountpoint: mountpoint,
		uid: os.Geteuid(), ctx: ctx, cancel: cancel,
		acceptDone: make(chan struct{}), conns: map[*net.UnixConn]struct{}{},
	}
	go s.acceptLoop()
	log.Debug("control socket listening", "socket", path, "mountpoint", mountpoint)
	return s, nil
}

// Path is the socket's path.
func (s *Server) Path() string { return s.path }

// clearStale removes a socket left behind by a dead server, and refuses if
// anyone still answers on it.
func clearStale(mountpoint, path string, log *slog.Logger) error {
	fi, err := os.Lstat(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("control socket: %w", err)
	}
	if fi.Mode().Type() != fs.ModeSocket {
		return fmt.Errorf("%s exists and is not a socket (remove it if nothing uses it)", path)
	}
	conn, err := net.DialTimeout("unix", path, probeTimeout)
	switch {
	case err == nil:
		conn.Close()
		return alreadyServed(mountpoint, path)
	case errors.Is(err, syscall.EAGAIN): // backlog full: very much alive
		return &AlreadyServedError{Mountpoint: mountpoint, Socket: path}
	case errors.Is(err, syscall.ECONNREFUSED):
		if err := os.Remove(path); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("removing stale control socket: %w", err)
		}
		log.Info("removed stale control socket", "socket", path)
		return nil
	case errors.Is(err, fs.ErrNotExist):
		return nil
	}
	return fmt.Errorf("probing existing control socket %s: %w", path, err)
}

// alreadyServed asks the kernel which process listens on path.
func alreadyServed(mountpoint, path string) error {
	e := &AlreadyServedError{Mountpoint: mountpoint, Socket: path}
	if conn, err := net.DialTimeout("unix", path, probeTimeout); err == nil {
		if cred, err := peerCred(conn.(*net.UnixConn)); err == nil {
			e.PID = cred.Pid
		}
		conn.Close()
	}
	return e
}

func (s *Server) acceptLoop() {
	defer close(s.acceptDone)
	var backoff time.Duration
	for {
		conn, err := s.ln.AcceptUnix()
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return
			}
			// Out of descriptors and the like: wait and retry rather than
			// leave the mount without a control socket.
			backoff = min(max(2*backoff, 5*time.Millisecond), time.Second)
			s.log.Warn("control socket accept failed", "err", err, "retry_in", backoff)
			select {
			case <-time.After(backoff):
			case <-s.ctx.Done():
				return
			}
			continue
		}
		backoff = 0
		s.mu.Lock()
		if s.closed {
			s.mu.Unlock()
			conn.Close()
			continue
		}
		s.conns[conn] = struct{}{}
		s.wg.Add(1)
		s.mu.Unlock()
		go s.serveConn(conn)
	}
}

func (s *Server) serveConn(conn *net.UnixConn) {
	defer s.wg.Done()
	defer func() {
		conn.Close()
		s.mu.Lock()
		delete(s.conns, conn)
		s.mu.Unlock()
	}()

	cred, err := peerCred(conn)
	if err == nil {
		err = authorize(cred, s.uid)
	}
	if err != nil {
		s.log.Warn("control connection refused", "err", err)
		s.refuse(conn)
		return
	}

	br := bufio.NewReader(conn)
	conn.SetReadDeadline(time.Now().Add(requestTimeout))
	line, err := readLine(br, maxRequestLine)
	if err != nil {
		if !errors.Is(err, io.EOF) {
			s.write(conn, Response{Error: fmt.Sprintf("reading the request: %v", err), Code: CodeBadRequest})
		}
		return
	}
	conn.SetReadDeadline(time.Time{})
	var req Request
	if err := json.Unmarshal(line, &req); err != nil || req.Cmd == "" {
		msg := "the request has no cmd"
		if err != nil {
			msg = fmt.Sprintf("the request is not valid JSON: %v", err)
		}
		s.write(conn, Response{Error: msg, Code: CodeBadRequest})
		return
	}

	ctx, cancel := context.WithCancel(s.ctx)
	defer cancel()
	finished := make(chan struct{})
	defer close(finished)
	go watchPeer(conn, br, finished, cancel)

	start := time.Now()
	resp := s.call(ctx, req)
	s.log.Debug("control request", "cmd", req.Cmd, "uid", cred.Uid, "pid", cred.Pid,
		"ok", resp.OK, "code", resp.Code, "took", time.Since(start))
	if ctx.Err() != nil && s.ctx.Err() == nil {
		return // the client went away
	}
	s.write(conn, resp)
}

// call runs the handler and turns its outcome into a Response.
func (s *Server) call(ctx context.Context, req Request) (resp Response) {
	defer func() {
		if p := recover(); p != nil {
			s.log.Error("control handler panicked", "cmd", req.Cmd, "panic", p)
			resp = Response{Error: fmt.Sprintf("internal error in %q: %v (this is a bug in mirrorfs; please report it)", req.Cmd, p), Code: CodeInternal}
		}
	}()
	v, err := s.h.Handle(ctx, req)
	if err != nil {
		return Response{Error: err.Error(), Code: s.classify(err)}
	}
	if v == nil {
		return Response{OK: true}
	}
	data, err := json.Marshal(v)
	if err != nil {
		return Response{Error: fmt.Sprintf("encoding the result of %q: %v (this is a bug in mirrorfs; please report it)", req.Cmd, err), Code: CodeInternal}
	}
	return Response{OK: true, Data: data}
}

func (s *Server) classify(err error) string {
	var ce *CodeError
	switch {
	case errors.As(err, &ce):
		return ce.Code
	case errors.Is(err, context.DeadlineExceeded):
		return CodeTimeout
	case errors.Is(err, context.Canceled) && s.ctx.Err() != nil:
		return CodeShuttingDown
	case errors.Is(err, context.Canceled):
		return CodeCanceled
	}
	return CodeFailed
}

// refuse tells an unauthorized peer why, then lets it read the answer before
// the connection goes: closing with its request unread could reset it first.
func (s *Server) refuse(conn *net.UnixConn) {
	s.write(conn, Response{Error: "the control socket is root-only: run as root", Code: CodePermissionDenied})
	conn.CloseWrite()
	conn.SetReadDeadline(time.Now().Add(time.Second))
	io.CopyN(io.Discard, conn, maxRequestLine)
}

func (s *Server) write(conn *net.UnixConn, resp Response) {
	b, err := json.Marshal(resp)
	if err != nil {
		s.log.Error("encoding control response", "err", err)
		return
	}
	conn.SetWriteDeadline(time.Now().Add(writeTimeout))
	if _, err := conn.Write(append(b, '\n')); err != nil {
		s.log.Debug("writing control response", "err", err)
	}
}

// watchPeer cancels the handler once the client has hung up: nobody waits
// for the answer any more. Whatever follows the request is ignored. A client
// may shut down only its write side after the request and still wait for the
// answer (socat does), so EOF alone is not enough: only a full hang-up
// (POLLHUP) counts.
func watchPeer(conn *net.UnixConn, br *bufio.Reader, finished <-chan struct{}, cancel func()) {
	if _, err := io.Copy(io.Discard, br); err != nil {
		cancel() // reset or closed by us
		return
	}
	raw, err := conn.SyscallConn()
	if err != nil {
		cancel()
		return
	}
	for {
		select {
		case <-finished:
			return
		default:
		}
		hup := false
		err := raw.Control(func(fd uintptr) {
			// No events requested: poll reports only hang-up and errors.
			fds := []unix.PollFd{{Fd: int32(fd)}}
			n, _ := unix.Poll(fds, 250)
			hup = n > 0 && fds[0].Revents&(unix.POLLHUP|unix.POLLERR|unix.POLLNVAL) != 0
		})
		if err != nil || hup {
			cancel()
			return
		}
	}
}

func readLine(br *bufio.Reader, limit int) ([]byte, error) {
	var line []byte
	for {
		chunk, err := br.ReadSlice('\n')
		line = append(line, chunk...)
		if len(line) > limit {
			return nil, fmt.Errorf("request longer than %d bytes", limit)
		}
		switch {
		case err == nil:
			return line, nil
		case errors.Is(err, bufio.ErrBufferFull):
			continue
		case errors.Is(err, io.EOF) && len(line) > 0:
			return line, nil // a last line without newline is still a request
		default:
			return nil, err
		}
	}
}

// stopAccepting closes the listener, which also removes the socket file, so
// new clients see "not running" at once.
func (s *Server) stopAccepting() error {
	var err error
	s.stopOnce.Do(func() {
		s.mu.Lock()
		s.closed = true
		s.mu.Unlock()
		err = s.ln.Close()
		<-s.acceptDone
	})
	return err
}

// Shutdown stops accepting and waits for in-flight handlers to finish on
// their own until ctx is done, then closes the server as Close does. Use it
// when a handler's answer matters (unmount reporting its flush).
func (s *Server) Shutdown(ctx context.Context) error {
	err := s.stopAccepting()
	done := make(chan struct{})
	go func() { s.wg.Wait(); close(done) }()
	select {
	case <-done:
	case <-ctx.Done():
	}
	return errors.Join(err, s.Close())
}

// Close stops accepting, cancels in-flight handlers, gives them a moment to
// answer, and removes the socket. It must not be called from a handler.
func (s *Server) Close() error {
	s.closeOnce.Do(func() {
		err := s.stopAccepting()
		s.cancel()
		done := make(chan struct{})
		go func() { s.wg.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(closeGrace):
			s.log.Warn("control handlers still running after cancel; dropping their connections")
			s.mu.Lock()
			for c := range s.conns {
				c.Close()
			}
			s.mu.Unlock()
		}
		if rmErr := os.Remove(s.path); rmErr != nil && !errors.Is(rmErr, fs.ErrNotExist) {
			err = errors.Join(err, fmt.Errorf("removing control socket: %w", rmErr))
		}
		releaseLock(s.lock)
		s.closeErr = err
	})
	return s.closeErr
}
