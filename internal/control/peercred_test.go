package control

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// The test binary doubles as an unprivileged client: re-executed with this
// variable set, it talks to the server instead of running tests.
const clientEnv = "MIRRORFS_CONTROL_TEST_CLIENT"

func TestMain(m *testing.M) {
	if mode := os.Getenv(clientEnv); mode != "" {
		os.Exit(testClient(mode, os.Getenv("TEST_RUN_DIR"), os.Getenv("TEST_MOUNTPOINT")))
	}
	os.Exit(m.Run())
}

type clientResult struct {
	UID        int      `json:"uid"`
	Raw        Response `json:"raw"`
	Err        string   `json:"err"`
	Permission bool     `json:"permission"`
}

func testClient(mode, runDir, mountpoint string) int {
	res := clientResult{UID: os.Getuid()}
	ctx, cancel := context.WithTimeout(context.Background(), guard)
	defer cancel()
	switch mode {
	case "raw":
		conn, err := net.Dial("unix", SocketPath(runDir, mountpoint))
		if err != nil {
			res.Err = err.Error()
			break
		}
		conn.SetDeadline(time.Now().Add(guard))
		conn.Write([]byte(`{"cmd":"status"}` + "\n"))
		line, err := bufio.NewReader(conn).ReadBytes('\n')
		if err == nil {
			err = json.Unmarshal(line, &res.Raw)
		}
		if err != nil {
			res.Err = err.Error()
		}
	case "call":
		_, err := Call(ctx, runDir, mountpoint, Request{Cmd: "status"})
		if err != nil {
			res.Err = err.Error()
			res.Permission = errors.Is(err, ErrPermission)
		}
	}
	json.NewEncoder(os.Stdout).Encode(res)
	return 0
}

// runAsNobody runs the test client as uid/gid 65534. The binary is copied
// next to the run directory because the build cache is not reachable for
// other users.
func runAsNobody(t *testing.T, bin, mode, runDir, mountpoint string) clientResult {
	t.Helper()
	cmd := exec.Command(bin, "-test.run=^$")
	cmd.Env = append(os.Environ(), clientEnv+"="+mode, "TEST_RUN_DIR="+runDir, "TEST_MOUNTPOINT="+mountpoint)
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: 65534, Gid: 65534, NoSetGroups: true}}
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("client as uid 65534: %v\n%s", err, stderr.String())
	}
	var res clientResult
	if err := json.Unmarshal(out, &res); err != nil {
		t.Fatalf("client output %q: %v", out, err)
	}
	t.Logf("client %s: %+v", mode, res)
	if res.UID != 65534 {
		t.Fatalf("client ran as uid %d", res.UID)
	}
	return res
}

// openTree makes dir and its ancestors traversable for everyone.
func openTree(t *testing.T, dir string) {
	t.Helper()
	for d := dir; d != "/"; d = filepath.Dir(d) {
		fi, err := os.Stat(d)
		if err != nil {
			t.Fatal(err)
		}
		if fi.Mode().Perm()&0o001 == 0 {
			if err := os.Chmod(d, fi.Mode().Perm()|0o011); err != nil {
				t.Fatal(err)
			}
		}
	}
}

func copyExecutable(t *testing.T, dir string) string {
	t.Helper()
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	src, err := os.Open(self)
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	bin := filepath.Join(dir, "client.test")
	dst, err := os.OpenFile(bin, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o755)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := io.Copy(dst, src); err != nil {
		t.Fatal(err)
	}
	if err := dst.Close(); err != nil {
		t.Fatal(err)
	}
	return bin
}

func TestPeerCredRefusesOtherUsers(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root to run a client as another uid")
	}
	base := t.TempDir()
	openTree(t, base)
	bin := copyExecutable(t, base)
	runDir := filepath.Join(base, "run")

	var calls atomic.Int32
	s := listen(t, runDir, "/m", handlerFunc(func(context.Context, Request) (any, error) {
		calls.Add(1)
		return "secret status", nil
	}))

	t.Run("closed run directory", func(t *testing.T) {
		res := runAsNobody(t, bin, "call", runDir, "/m")
		if !res.Permission || !strings.Contains(res.Err, "the control socket is root-only: run as root") {
			t.Errorf("Call as nobody: %+v", res)
		}
	})

	// Open the file system permissions so that only SO_PEERCRED stands in the way.
	if err := os.Chmod(runDir, 0o711); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(s.Path(), 0o666); err != nil {
		t.Fatal(err)
	}
	t.Run("peer credentials", func(t *testing.T) {
		res := runAsNobody(t, bin, "raw", runDir, "/m")
		if res.Err != "" || res.Raw.OK || res.Raw.Code != CodePermissionDenied || !strings.Contains(res.Raw.Error, "root-only") {
			t.Errorf("raw request as nobody: %+v", res)
		}
		res = runAsNobody(t, bin, "call", runDir, "/m")
		if !res.Permission || !strings.Contains(res.Err, "the control socket is root-only: run as root") {
			t.Errorf("Call as nobody: %+v", res)
		}
	})
	if n := calls.Load(); n != 0 {
		t.Errorf("handler ran %d times for an unauthorized client", n)
	}
	if _, err := Call(callCtx(t), runDir, "/m", Request{Cmd: "status"}); err != nil || calls.Load() != 1 {
		t.Errorf("root client after refusals: %v", err)
	}
}

func TestAuthorize(t *testing.T) {
	for _, tt := range []struct {
		peer, self uint32
		ok         bool
	}{
		{0, 0, true},
		{0, 1000, true},
		{1000, 1000, true},
		{1000, 0, false},
		{65534, 0, false},
		{1001, 1000, false},
	} {
		err := authorize(&unix.Ucred{Pid: 42, Uid: tt.peer, Gid: tt.peer}, int(tt.self))
		if (err == nil) != tt.ok {
			t.Errorf("authorize(uid %d, self %d) = %v, want ok=%v", tt.peer, tt.self, err, tt.ok)
		}
		if err != nil && !strings.Contains(err.Error(), fmt.Sprintf("uid %d", tt.peer)) {
			t.Errorf("refusal %q does not name the uid", err)
		}
	}
}

// The server must see the real peer, not something the client claims.
func TestPeerCredIsKernels(t *testing.T) {
	a, b, err := socketPair()
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	defer b.Close()
	cred, err := peerCred(a)
	if err != nil {
		t.Fatal(err)
	}
	if int(cred.Uid) != os.Geteuid() || int(cred.Pid) != os.Getpid() {
		t.Errorf("peer cred %+v, want uid %d pid %d", cred, os.Geteuid(), os.Getpid())
	}
}

func socketPair() (*net.UnixConn, *net.UnixConn, error) {
	fds, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return nil, nil, err
	}
	conn := func(fd int) (*net.UnixConn, error) {
		f := os.NewFile(uintptr(fd), "socketpair")
		defer f.Close()
		c, err := net.FileConn(f)
		if err != nil {
			return nil, err
		}
		return c.(*net.UnixConn), nil
	}
	a, err := conn(fds[0])
	if err != nil {
		unix.Close(fds[1])
		return nil, nil, err
	}
	b, err := conn(fds[1])
	if err != nil {
		a.Close()
		return nil, nil, err
	}
	return a, b, nil
}
