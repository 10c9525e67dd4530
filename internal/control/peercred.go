package control

import (
	"fmt"
	"net"

	"golang.org/x/sys/unix"
)

// peerCred returns the credentials the kernel recorded for the other end:
// the connecting process on the server side, the listening one on the client.
func peerCred(c *net.UnixConn) (*unix.Ucred, error) {
	raw, err := c.SyscallConn()
	if err != nil {
		return nil, err
	}
	var cred *unix.Ucred
	var cerr error
	if err := raw.Control(func(fd uintptr) {
		cred, cerr = unix.GetsockoptUcred(int(fd), unix.SOL_SOCKET, unix.SO_PEERCRED)
	}); err != nil {
		return nil, err
	}
	return cred, cerr
}

// authorize admits root and the server's own uid, nobody else.
func authorize(peer *unix.Ucred, self int) error {
	if peer.Uid == 0 || int64(peer.Uid) == int64(self) {
		return nil
	}
	return fmt.Errorf("uid %d (pid %d) is neither root nor the server's uid %d", peer.Uid, peer.Pid, self)
}
