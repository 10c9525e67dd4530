package control

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"
)

// guard bounds every wait so a broken server fails the test instead of hanging it.
const guard = 20 * time.Second

type handlerFunc func(ctx context.Context, req Request) (any, error)

func (f handlerFunc) Handle(ctx context.Context, req Request) (any, error) { return f(ctx, req) }

func echo() Handler {
	return handlerFunc(func(_ context.Context, req Request) (any, error) { return req, nil })
}

func listen(t *testing.T, runDir, mountpoint string, h Handler) *Server {
	t.Helper()
	s, err := Listen(runDir, mountpoint, h, nil)
	if err != nil {
		t.Fatalf("Listen: %v", err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func callCtx(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), guard)
	t.Cleanup(cancel)
	return ctx
}

func TestSocketPath(t *testing.T) {
	long := "/" + strings.Repeat("d/", 1999) + "x" // 4000 bytes
	p := SocketPath(DefaultRunDir(), long)
	if len(p) > maxSocketPath {
		t.Errorf("socket path for a %d-byte mountpoint is %d bytes", len(long), len(p))
	}
	if !regexp.MustCompile(`^/run/mirrorfs/[0-9a-f]{16}\.sock$`).MatchString(SocketPath("/run/mirrorfs", "/mnt/a")) {
		t.Errorf("unexpected form %q", SocketPath("/run/mirrorfs", "/mnt/a"))
	}
	if SocketPath("r", "/mnt/a/../b/") != SocketPath("r", "/mnt/b") {
		t.Error("mountpoint is not cleaned before hashing")
	}
	t.Chdir(t.TempDir())
	wd, _ := os.Getwd()
	if SocketPath("r", "m") != SocketPath("r", filepath.Join(wd, "m")) {
		t.Error("relative mountpoint is not made absolute before hashing")
	}
	if SocketPath("r", "/mnt/a") == SocketPath("r", "/mnt/b") {
		t.Error("different mountpoints share a socket")
	}
}

func TestDefaultRunDir(t *testing.T) {
	t.Setenv("MIRRORFS_RUN_DIR", "")
	if got := DefaultRunDir(); got != "/run/mirrorfs" {
		t.Errorf("DefaultRunDir() = %q", got)
	}
	t.Setenv("MIRRORFS_RUN_DIR", "/somewhere/else")
	if got := DefaultRunDir(); got != "/somewhere/else" {
		t.Errorf("DefaultRunDir() = %q with MIRRORFS_RUN_DIR set", got)
	}
}

func TestRoundTrip(t *testing.T) {
	runDir := filepath.Join(t.TempDir(), "run")
	s := listen(t, runDir, "/mnt/a", echo())
	if fi, err := os.Stat(s.Path()); err != nil || fi.Mode().Perm() != 0o600 || fi.Mode().Type() != os.ModeSocket {
		t.Fatalf("socket %s: %v, mode %v; want a socket with mode 0600", s.Path(), err, fi.Mode())
	}
	req := Request{Cmd: "sync", Wait: true, Full: true, TimeoutMS: 1500}
	resp, err := Call(callCtx(t), runDir, "/mnt/a", req)
	if err != nil {
		t.Fatal(err)
	}
	var got Request
	if err := resp.Decode(&got); err != nil {
		t.Fatal(err)
	}
	if !resp.OK || got != req || got.Timeout() != 1500*time.Millisecond {
		t.Errorf("response %+v carried %+v, want %+v", resp, got, req)
	}
}

func TestHandlerOutcomes(t *testing.T) {
	runDir := t.TempDir()
	h := handlerFunc(func(ctx context.Context, req Request) (any, error) {
		switch req.Cmd {
		case "nil":
			return nil, nil
		case "fail":
			return nil, errors.New("flush failed: rsync exit 5")
		case "unknown":
			return nil, WithCode(CodeUnknownCommand, fmt.Errorf("unknown command %q", req.Cmd))
		case "deadline":
			return nil, fmt.Errorf("sync: %w", context.DeadlineExceeded)
		case "panic":
			panic("boom")
		case "unencodable":
			return make(chan int), nil
		}
		return "ok", nil
	})
	listen(t, runDir, "/m", h)
	for _, tt := range []struct {
		cmd, code, msg string
	}{
		{"nil", "", ""},
		{"fail", CodeFailed, "flush failed: rsync exit 5"},
		{"unknown", CodeUnknownCommand, `unknown command "unknown"`},
		{"deadline", CodeTimeout, "sync: context deadline exceeded"},
		{"panic", CodeInternal, "this is a bug in mirrorfs"},
		{"unencodable", CodeInternal, "encoding the result"},
	} {
		t.Run(tt.cmd, func(t *testing.T) {
			resp, err := Call(callCtx(t), runDir, "/m", Request{Cmd: tt.cmd})
			if tt.code == "" {
				if err != nil || !resp.OK || resp.Data != nil {
					t.Fatalf("resp %+v, err %v", resp, err)
				}
				return
			}
			var re *RemoteError
			if !errors.As(err, &re) || re.Code != tt.code || !strings.Contains(re.Message, tt.msg) || resp.OK || resp.Code != tt.code {
				t.Errorf("resp %+v, err %v; want code %q, message containing %q", resp, err, tt.code, tt.msg)
			}
		})
	}
}

// rawExchange sends line as is and returns the server's answer line.
func rawExchange(t *testing.T, path, line string) Response {
	t.Helper()
	conn, err := net.Dial("unix", path)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(guard))
	if _, err := conn.Write([]byte(line)); err != nil {
		t.Fatal(err)
	}
	var resp Response
	if err := json.NewDecoder(conn).Decode(&resp); err != nil {
		t.Fatal(err)
	}
	return resp
}

func TestBadRequests(t *testing.T) {
	s := listen(t, t.TempDir(), "/m", echo())
	for _, line := range []string{"not json\n", "{}\n", `{"cmd":""}` + "\n", strings.Repeat("x", maxRequestLine+10) + "\n"} {
		resp := rawExchange(t, s.Path(), line)
		if resp.OK || resp.Code != CodeBadRequest || resp.Error == "" {
			t.Errorf("request %.20q: response %+v, want %s", line, resp, CodeBadRequest)
		}
	}
}

// A client that shuts down its write side after the request (socat does)
// still gets its answer, even without a final newline and from a slow handler.
func TestHalfCloseStillAnswered(t *testing.T) {
	release := make(chan struct{})
	s := listen(t, t.TempDir(), "/m", handlerFunc(func(ctx context.Context, req Request) (any, error) {
		select {
		case <-release:
			return req.Cmd, nil
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}))
	c, err := net.Dial("unix", s.Path())
	if err != nil {
		t.Fatal(err)
	}
	conn := c.(*net.UnixConn)
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(guard))
	if _, err := conn.Write([]byte(`{"cmd":"status"}`)); err != nil {
		t.Fatal(err)
	}
	if err := conn.CloseWrite(); err != nil {
		t.Fatal(err)
	}
	time.Sleep(300 * time.Millisecond) // let the server see EOF before the answer is ready
	close(release)
	var resp Response
	if err := json.NewDecoder(conn).Decode(&resp); err != nil || !resp.OK || string(resp.Data) != `"status"` {
		t.Errorf("response %+v, err %v", resp, err)
	}
}

func TestConcurrentClients(t *testing.T) {
	const n = 16
	runDir := t.TempDir()
	var mu sync.Mutex
	arrived := 0
	all := make(chan struct{})
	// Every handler waits until all n are running at once: proof that one
	// slow client does not hold up the others.
	h := handlerFunc(func(ctx context.Context, req Request) (any, error) {
		mu.Lock()
		if arrived++; arrived == n {
			close(all)
		}
		mu.Unlock()
		select {
		case <-all:
			return req.Cmd, nil
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	})
	listen(t, runDir, "/m", h)
	var wg sync.WaitGroup
	errs := make(chan error, n)
	for i := range n {
		wg.Go(func() {
			cmd := fmt.Sprintf("c%d", i)
			resp, err := Call(callCtx(t), runDir, "/m", Request{Cmd: cmd})
			var got string
			if err == nil {
				err = resp.Decode(&got)
			}
			if err == nil && got != cmd {
				err = fmt.Errorf("client %s got the answer for %s", cmd, got)
			}
			errs <- err
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Error(err)
		}
	}
}

// blocking returns a handler that reports its start and its cancellation.
func blocking() (Handler, <-chan struct{}, <-chan error) {
	started := make(chan struct{}, 1)
	ended := make(chan error, 1)
	return handlerFunc(func(ctx context.Context, req Request) (any, error) {
		started <- struct{}{}
		<-ctx.Done()
		ended <- ctx.Err()
		return nil, ctx.Err()
	}), started, ended
}

func waitFor[T any](t *testing.T, ch <-chan T, what string) T {
	t.Helper()
	select {
	case v := <-ch:
		return v
	case <-time.After(guard):
		t.Fatalf("timed out waiting for %s", what)
		panic("unreachable")
	}
}

func TestHandlerCancelledWhenClientLeaves(t *testing.T) {
	h, started, ended := blocking()
	s := listen(t, t.TempDir(), "/m", h)
	conn, err := net.Dial("unix", s.Path())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := conn.Write([]byte(`{"cmd":"sync","wait":true}` + "\n")); err != nil {
		t.Fatal(err)
	}
	waitFor(t, started, "the handler to start")
	conn.Close()
	if err := waitFor(t, ended, "the handler to be cancelled"); !errors.Is(err, context.Canceled) {
		t.Errorf("handler context ended with %v", err)
	}
}

func TestCallHonoursContext(t *testing.T) {
	runDir := t.TempDir()
	h, started, ended := blocking()
	listen(t, runDir, "/m", h)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		_, err := Call(ctx, runDir, "/m", Request{Cmd: "sync", Wait: true})
		done <- err
	}()
	waitFor(t, started, "the handler to start")
	cancel()
	if err := waitFor(t, done, "Call to return"); !errors.Is(err, context.Canceled) {
		t.Errorf("Call returned %v, want context.Canceled", err)
	}
	waitFor(t, ended, "the server-side handler to be cancelled")
}

func TestCloseCancelsInFlight(t *testing.T) {
	runDir := t.TempDir()
	h, started, _ := blocking()
	s, err := Listen(runDir, "/m", h, nil)
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() {
		_, err := Call(callCtx(t), runDir, "/m", Request{Cmd: "unmount"})
		done <- err
	}()
	waitFor(t, started, "the handler to start")
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	var re *RemoteError
	if err := waitFor(t, done, "Call to return"); !errors.As(err, &re) || re.Code != CodeShuttingDown {
		t.Errorf("in-flight Call returned %v, want code %s", err, CodeShuttingDown)
	}
	for _, p := range []string{s.Path(), lockPath(runDir, "/m")} {
		if _, err := os.Lstat(p); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("%s still exists after Close: %v", p, err)
		}
	}
	if _, err := Call(callCtx(t), runDir, "/m", Request{Cmd: "status"}); !errors.Is(err, ErrNotRunning) {
		t.Errorf("Call after Close: %v, want ErrNotRunning", err)
	}
	if err := s.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
}

func TestShutdownWaitsForHandlers(t *testing.T) {
	runDir := t.TempDir()
	release := make(chan struct{})
	started := make(chan struct{}, 1)
	s, err := Listen(runDir, "/m", handlerFunc(func(ctx context.Context, req Request) (any, error) {
		if req.Cmd != "unmount" {
			// A status accepted just before Shutdown is served, and must
			// not wait for the unmount's release.
			return "status", nil
		}
		started <- struct{}{}
		<-release
		return "flushed", ctx.Err()
	}), nil)
	if err != nil {
		t.Fatal(err)
	}
	callDone := make(chan error, 1)
	go func() {
		_, err := Call(callCtx(t), runDir, "/m", Request{Cmd: "unmount"})
		callDone <- err
	}()
	waitFor(t, started, "the handler to start")
	shutDone := make(chan error, 1)
	go func() { shutDone <- s.Shutdown(callCtx(t)) }()
	// New clients are turned away while the old one is still served.
	for {
		_, err := Call(callCtx(t), runDir, "/m", Request{Cmd: "status"})
		if errors.Is(err, ErrNotRunning) {
			break
		}
		time.Sleep(5 * time.Millisecond)
	}
	close(release)
	if err := waitFor(t, callDone, "the in-flight Call"); err != nil {
		t.Errorf("in-flight Call during Shutdown: %v", err)
	}
	if err := waitFor(t, shutDone, "Shutdown"); err != nil {
		t.Errorf("Shutdown: %v", err)
	}
}

func TestCallNotRunning(t *testing.T) {
	runDir := t.TempDir()
	_, err := Call(callCtx(t), runDir, "/mnt/x", Request{Cmd: "status"})
	want := fmt.Sprintf("no mirrorfs is serving /mnt/x (no control socket at %s): is it mounted? see `mirrorfs status`", SocketPath(runDir, "/mnt/x"))
	if !errors.Is(err, ErrNotRunning) || err.Error() != want {
		t.Errorf("error = %v\nwant %s", err, want)
	}
	// The same for a missing run directory.
	if _, err := Call(callCtx(t), filepath.Join(runDir, "none"), "/mnt/x", Request{Cmd: "status"}); !errors.Is(err, ErrNotRunning) {
		t.Errorf("missing run dir: %v", err)
	}
	staleSocket(t, SocketPath(runDir, "/mnt/x"))
	_, err = Call(callCtx(t), runDir, "/mnt/x", Request{Cmd: "status"})
	if !errors.Is(err, ErrNotRunning) || !strings.Contains(err.Error(), "stale control socket") {
		t.Errorf("stale socket: %v", err)
	}
}

// staleSocket leaves a socket file nobody listens on, as a killed server does.
func staleSocket(t *testing.T, path string) {
	t.Helper()
	ln, err := net.ListenUnix("unix", &net.UnixAddr{Name: path, Net: "unix"})
	if err != nil {
		t.Fatal(err)
	}
	ln.SetUnlinkOnClose(false)
	ln.Close()
}

func TestStaleSocketReplaced(t *testing.T) {
	runDir := t.TempDir()
	staleSocket(t, SocketPath(runDir, "/m"))
	listen(t, runDir, "/m", echo())
	if _, err := Call(callCtx(t), runDir, "/m", Request{Cmd: "status"}); err != nil {
		t.Errorf("Call after replacing a stale socket: %v", err)
	}
}

func TestLiveServerRefused(t *testing.T) {
	runDir := t.TempDir()
	listen(t, runDir, "/m", echo())
	_, err := Listen(runDir, "/m", echo(), nil)
	want := fmt.Sprintf("mountpoint /m is already served by mirrorfs pid %d", os.Getpid())
	if !errors.Is(err, ErrAlreadyServed) || !strings.Contains(err.Error(), want) {
		t.Errorf("second Listen: %v\nwant containing %q", err, want)
	}
	if _, err := Call(callCtx(t), runDir, "/m", Request{Cmd: "status"}); err != nil {
		t.Errorf("first server harmed by the refused second one: %v", err)
	}

	// A listener that bypasses the lock is found by probing the socket.
	path := SocketPath(runDir, "/other")
	ln, err := net.Listen("unix", path)
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	_, err = Listen(runDir, "/other", echo(), nil)
	if !errors.Is(err, ErrAlreadyServed) || !strings.Contains(err.Error(), fmt.Sprintf("pid %d", os.Getpid())) {
		t.Errorf("Listen over a live foreign socket: %v", err)
	}
	if _, err := os.Stat(path); err != nil {
		t.Errorf("live socket was removed: %v", err)
	}
}

func TestListenRace(t *testing.T) {
	runDir := t.TempDir()
	for round := range 10 {
		mp := fmt.Sprintf("/m%d", round)
		var wg sync.WaitGroup
		servers := make(chan *Server, 4)
		for range 4 {
			wg.Go(func() {
				if s, err := Listen(runDir, mp, echo(), nil); err == nil {
					servers <- s
				} else if !errors.Is(err, ErrAlreadyServed) {
					t.Errorf("round %d: %v", round, err)
				}
			})
		}
		wg.Wait()
		close(servers)
		n := 0
		for s := range servers {
			n++
			s.Close()
		}
		if n != 1 {
			t.Errorf("round %d: %d servers started for one mountpoint, want 1", round, n)
		}
	}
}

func TestNotASocketRefused(t *testing.T) {
	runDir := t.TempDir()
	path := SocketPath(runDir, "/m")
	if err := os.WriteFile(path, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := Listen(runDir, "/m", echo(), nil); err == nil || !strings.Contains(err.Error(), "is not a socket") {
		t.Errorf("Listen over a regular file: %v", err)
	}
	if _, err := os.Stat(path); err != nil {
		t.Errorf("regular file was removed: %v", err)
	}
}

func TestRunDirPermissions(t *testing.T) {
	t.Run("created 0700 with parents", func(t *testing.T) {
		runDir := filepath.Join(t.TempDir(), "a", "b")
		listen(t, runDir, "/m", echo())
		fi, err := os.Stat(runDir)
		if err != nil || fi.Mode().Perm() != 0o700 {
			t.Errorf("run dir: %v, mode %v; want 0700", err, fi.Mode().Perm())
		}
	})
	for _, tt := range []struct {
		mode os.FileMode
		ok   bool
	}{{0o700, true}, {0o755, true}, {0o711, true}, {0o770, false}, {0o702, false}, {0o777, false}, {0o1777, false}} {
		t.Run(fmt.Sprintf("existing %04o", tt.mode), func(t *testing.T) {
			runDir := filepath.Join(t.TempDir(), "run")
			if err := os.Mkdir(runDir, 0o700); err != nil {
				t.Fatal(err)
			}
			if err := os.Chmod(runDir, tt.mode); err != nil {
				t.Fatal(err)
			}
			s, err := Listen(runDir, "/m", echo(), nil)
			if tt.ok {
				if err != nil {
					t.Fatal(err)
				}
				s.Close()
				return
			}
			if err == nil {
				s.Close()
				t.Fatal("Listen accepted a run directory others can write")
			}
			if !strings.Contains(err.Error(), "writable by group or others") || !strings.Contains(err.Error(), "chmod 700") {
				t.Errorf("error = %v", err)
			}
		})
	}
	t.Run("not owned by us", func(t *testing.T) {
		if os.Geteuid() != 0 {
			t.Skip("needs root to give the directory away")
		}
		runDir := filepath.Join(t.TempDir(), "run")
		if err := os.Mkdir(runDir, 0o700); err != nil {
			t.Fatal(err)
		}
		if err := os.Chown(runDir, 65534, 65534); err != nil {
			t.Fatal(err)
		}
		if _, err := Listen(runDir, "/m", echo(), nil); err == nil || !strings.Contains(err.Error(), "owned by uid 65534, not by us") {
			t.Errorf("error = %v", err)
		}
	})
	t.Run("not a directory", func(t *testing.T) {
		runDir := filepath.Join(t.TempDir(), "run")
		if err := os.WriteFile(runDir, nil, 0o600); err != nil {
			t.Fatal(err)
		}
		if _, err := Listen(runDir, "/m", echo(), nil); err == nil {
			t.Error("Listen accepted a file as run directory")
		}
	})
	t.Run("path too long for a socket", func(t *testing.T) {
		runDir := filepath.Join(t.TempDir(), strings.Repeat("r", 100))
		_, err := Listen(runDir, "/m", echo(), nil)
		if err == nil || !strings.Contains(err.Error(), "MIRRORFS_RUN_DIR") {
			t.Errorf("error = %v", err)
		}
	})
}
