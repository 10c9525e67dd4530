package metrics

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net"
	"net/http"
	"os"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// Server serves /metrics until Close.
type Server struct {
	srv  *http.Server
	addr Addr
	done chan struct{}
}

// Serve listens on a and serves h at /metrics. It fails at once when the
// address cannot be had (in use, no permission, a live socket).
func Serve(a Addr, h http.Handler, log *slog.Logger) (*Server, error) {
	ln, err := listen(a, log)
	if err != nil {
		return nil, err
	}
	mux := http.NewServeMux()
	mux.Handle("/metrics", h)
	s := &Server{
		srv: &http.Server{
			Handler:           mux,
			ReadHeaderTimeout: 10 * time.Second,
			ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelDebug),
		},
		addr: Addr{Network: a.Network, Address: ln.Addr().String()},
		done: make(chan struct{}),
	}
	go func() {
		defer close(s.done)
		if err := s.srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			log.Error("metrics endpoint stopped", "addr", s.addr.String(), "err", err)
		}
	}()
	return s, nil
}

// Addr is the address served (the real port when a was port 0).
func (s *Server) Addr() Addr { return s.addr }

// Close stops serving, lets running scrapes finish until ctx ends, and
// removes a unix socket.
func (s *Server) Close(ctx context.Context) error {
	err := s.srv.Shutdown(ctx)
	if err != nil {
		s.srv.Close()
	}
	<-s.done
	return err
}

func listen(a Addr, log *slog.Logger) (net.Listener, error) {
	if a.Network != "unix" {
		ln, err := net.Listen("tcp", a.Address)
		if err != nil {
			return nil, fmt.Errorf("metrics endpoint %s: %w", a, err)
		}
		return ln, nil
	}
	if err := clearStale(a.Address, log); err != nil {
		return nil, err
	}
	ln, err := net.ListenUnix("unix", &net.UnixAddr{Name: a.Address, Net: "unix"})
	if err != nil {
		return nil, fmt.Errorf("metrics endpoint %s: %w", a, err)
	}
	if err := os.Chmod(a.Address, 0o600); err != nil {
		ln.Close()
		return nil, fmt.Errorf("metrics endpoint %s: restricting it to its owner: %w", a, err)
	}
	// The mode keeps others out; the peer check closes the moment between
	// bind and chmod.
	return &ownerListener{UnixListener: ln, uid: os.Geteuid(), log: log}, nil
}

// clearStale removes a socket nobody answers on, and refuses one that is
// alive or a path that is not a socket.
func clearStale(path string, log *slog.Logger) error {
	fi, err := os.Lstat(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("metrics socket %s: %w", path, err)
	}
	if fi.Mode().Type() != fs.ModeSocket {
		return fmt.Errorf("metrics socket %s: exists and is not a socket", path)
	}
	conn, err := net.DialTimeout("unix", path, time.Second)
	switch {
	case err == nil:
		conn.Close()
		return fmt.Errorf("metrics socket %s: another process is listening on it", path)
	case errors.Is(err, syscall.ECONNREFUSED):
		if err := os.Remove(path); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("removing stale metrics socket %s: %w", path, err)
		}
		log.Info("removed stale metrics socket", "socket", path)
		return nil
	case errors.Is(err, fs.ErrNotExist):
		return nil
	}
	return fmt.Errorf("metrics socket %s: probing it: %w", path, err)
}

// ownerListener admits only root and the server's own uid.
type ownerListener struct {
	*net.UnixListener
	uid int
	log *slog.Logger
}

func (l *ownerListener) Accept() (net.Conn, error) {
	for {
		c, err := l.AcceptUnix()
		if err != nil {
			return nil, err
		}
		uid, err := peerUID(c)
		if err == nil && (uid == 0 || uid == l.uid) {
			return c, nil
		}
		l.log.Warn("metrics socket: connection refused: neither root nor our uid", "uid", uid, "err", err)
		c.Close()
	}
}

func peerUID(c *net.UnixConn) (int, error) {
	raw, err := c.SyscallConn()
	if err != nil {
		return -1, err
	}
	uid, cerr := -1, error(nil)
	if err := raw.Control(func(fd uintptr) {
		var cred *unix.Ucred
		if cred, cerr = unix.GetsockoptUcred(int(fd), unix.SOL_SOCKET, unix.SO_PEERCRED); cerr == nil {
			uid = int(cred.Uid)
		}
	}); err != nil {
		return -1, err
	}
	return uid, cerr
}
