package main

import (
	"fmt"
	"net"
	"os"
	"time"
)

// sdNotify sends a state to systemd's notification socket (sd_notify(3));
// without $NOTIFY_SOCKET it does nothing. Eight lines of protocol do not
// justify a dependency on go-systemd.
func sdNotify(state string) error {
	addr := os.Getenv("NOTIFY_SOCKET")
	if addr == "" {
		return nil
	}
	if addr[0] == '@' {
		addr = "\x00" + addr[1:] // abstract namespace
	}
	conn, err := net.DialUnix("unixgram", nil, &net.UnixAddr{Name: addr, Net: "unixgram"})
	if err != nil {
		return fmt.Errorf("sd_notify %s: %w", os.Getenv("NOTIFY_SOCKET"), err)
	}
	defer conn.Close()
	_, err = conn.Write([]byte(state))
	return err
}

// notifyStopping tells systemd the flush has begun and may take up to the
// flush timeout, beyond TimeoutStopSec if need be.
func notifyStopping(flushTimeout time.Duration, log interface{ Warn(string, ...any) }) {
	extend := flushTimeout + 30*time.Second // the unmount and the report after the flush
	state := fmt.Sprintf("STOPPING=1\nSTATUS=flushing queued changes\nEXTEND_TIMEOUT_USEC=%d", extend.Microseconds())
	if err := sdNotify(state); err != nil {
		log.Warn("cannot tell systemd about the flush", "err", err)
	}
}
