package control

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net"
	"syscall"
)

// Call sends req to the server of mountpoint and waits for its answer, or
// for ctx. A handler's failure comes back as a *RemoteError next to the
// Response; ErrNotRunning and ErrPermission (errors.Is) mark the common
// reasons the server could not be asked at all.
func Call(ctx context.Context, runDir, mountpoint string, req Request) (Response, error) {
	path := SocketPath(runDir, mountpoint)
	var d net.Dialer
	c, err := d.DialContext(ctx, "unix", path)
	if err != nil {
		return Response{}, dialError(mountpoint, path, err)
	}
	conn := c.(*net.UnixConn)
	defer conn.Close()
	stop := context.AfterFunc(ctx, func() { conn.Close() })
	defer stop()

	line, err := json.Marshal(req)
	if err != nil {
		return Response{}, fmt.Errorf("encoding the request: %w", err)
	}
	// A refusing server may answer and close before reading; its answer is
	// still worth reading, so a failed write is only reported if reading fails too.
	_, werr := conn.Write(append(line, '\n'))
	b, rerr := bufio.NewReader(conn).ReadBytes('\n')
	if rerr != nil && len(b) == 0 {
		if ctx.Err() != nil {
			return Response{}, fmt.Errorf("waiting for mirrorfs on %s: %w", mountpoint, ctx.Err())
		}
		if werr != nil {
			rerr = werr
		}
		if errors.Is(rerr, io.EOF) || errors.Is(rerr, syscall.ECONNRESET) || errors.Is(rerr, syscall.EPIPE) {
			return Response{}, fmt.Errorf("mirrorfs serving %s closed the control connection without answering (it may be shutting down or have crashed; see its log)", mountpoint)
		}
		return Response{}, fmt.Errorf("talking to mirrorfs serving %s: %w", mountpoint, rerr)
	}
	var resp Response
	if err := json.Unmarshal(b, &resp); err != nil {
		return Response{}, fmt.Errorf("mirrorfs serving %s sent a malformed answer: %w (are the mirrorfs binaries of the same version?)", mountpoint, err)
	}
	switch {
	case resp.OK:
		return resp, nil
	case resp.Code == CodePermissionDenied:
		return resp, &PermissionError{Socket: path, Err: errors.New("refused by the server")}
	}
	return resp, &RemoteError{Code: resp.Code, Message: resp.Error}
}

func dialError(mountpoint, path string, err error) error {
	switch {
	case errors.Is(err, fs.ErrNotExist), errors.Is(err, syscall.ECONNREFUSED), errors.Is(err, syscall.ENOTDIR):
		return &NotRunningError{Mountpoint: mountpoint, Socket: path, Err: err}
	case errors.Is(err, fs.ErrPermission):
		return &PermissionError{Socket: path, Err: err}
	}
	return fmt.Errorf("connecting to the control socket %s: %w", path, err)
}
