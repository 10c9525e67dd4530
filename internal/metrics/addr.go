package metrics

import (
	"fmt"
	"net"
	"path/filepath"
	"strconv"
	"strings"
)

// DefaultHost is where a metrics-listen given as a bare port listens.
const DefaultHost = "127.0.0.1"

// maxSocketPath is the room for a path in sockaddr_un, less the NUL.
const maxSocketPath = 107

// Addr is where the endpoint listens: Network "tcp" with Address
// host:port, or "unix" with a socket path.
type Addr struct {
	Network string
	Address string
}

func (a Addr) String() string {
	if a.Network == "unix" {
		return "unix:" + a.Address
	}
	return a.Address
}

// Loopback reports whether a TCP address only accepts local connections.
func (a Addr) Loopback() bool {
	if a.Network == "unix" {
		return true
	}
	host, _, _ := net.SplitHostPort(a.Address)
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// ParseAddr reads a metrics-listen value: PORT (on 127.0.0.1),
// HOST:PORT, :PORT (every interface, only when written so), or
// unix:/absolute/path.
func ParseAddr(s string) (Addr, error) {
	if path, ok := strings.CutPrefix(s, "unix:"); ok {
		switch {
		case path == "":
			return Addr{}, fmt.Errorf("no socket path after unix: (write unix:/run/mirrorfs/metrics.sock)")
		case !filepath.IsAbs(path):
			return Addr{}, fmt.Errorf("socket path %q is not absolute (write unix:/run/mirrorfs/metrics.sock)", path)
		case len(path) > maxSocketPath:
			return Addr{}, fmt.Errorf("socket path is %d bytes, more than the %d a unix socket allows", len(path), maxSocketPath)
		}
		return Addr{Network: "unix", Address: filepath.Clean(path)}, nil
	}
	host, port := DefaultHost, s
	if strings.Contains(s, ":") {
		var err error
		if host, port, err = net.SplitHostPort(s); err != nil {
			return Addr{}, fmt.Errorf("not HOST:PORT, PORT or unix:PATH (write e.g. 127.0.0.1:9750): %w", err)
		}
	}
	n, err := strconv.Atoi(port)
	if err != nil && !strings.Contains(s, ":") {
		return Addr{}, fmt.Errorf("not PORT, HOST:PORT or unix:/PATH (write e.g. 127.0.0.1:9750)")
	}
	if err != nil || n < 1 || n > 65535 {
		return Addr{}, fmt.Errorf("port %q: not a number from 1 to 65535 (write e.g. 127.0.0.1:9750)", port)
	}
	if strings.ContainsAny(host, " /") {
		return Addr{}, fmt.Errorf("host %q: not a host name or IP address", host)
	}
	return Addr{Network: "tcp", Address: net.JoinHostPort(host, port)}, nil
}
