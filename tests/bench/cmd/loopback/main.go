// Command loopback mounts go-fuse's own loopback filesystem (fs.NewLoopbackRoot)
// of SOURCE at MOUNTPOINT, with the mount options mirrorfs uses, and serves
// until unmounted. It is the baseline the benchmark compares mirrorfs's
// FUSE layer with: the same library, no change tracking, no mirroring.
package main

import (
	"fmt"
	"os"
	"time"

	"github.com/hanwen/go-fuse/v2/fs"
	"github.com/hanwen/go-fuse/v2/fuse"
)

func main() {
	if len(os.Args) != 3 {
		fmt.Fprintln(os.Stderr, "usage: loopback SOURCE MOUNTPOINT")
		os.Exit(2)
	}
	root, err := fs.NewLoopbackRoot(os.Args[1])
	if err != nil {
		fmt.Fprintf(os.Stderr, "loopback: opening %s: %v\n", os.Args[1], err)
		os.Exit(1)
	}
	// The same timeouts and options as mirrorfs's fs.Mount, so the comparison
	// isolates what mirrorfs adds on top of the library.
	sec := time.Second
	server, err := fs.Mount(os.Args[2], root, &fs.Options{
		MountOptions: fuse.MountOptions{
			Name:        "benchloop",
			FsName:      os.Args[1],
			Options:     []string{"default_permissions"},
			DirectMount: os.Geteuid() == 0,
			EnableLocks: true,
		},
		EntryTimeout:    &sec,
		AttrTimeout:     &sec,
		NegativeTimeout: &sec,
	})
	if err != nil {
		fmt.Fprintf(os.Stderr, "loopback: mounting on %s: %v\n", os.Args[2], err)
		os.Exit(1)
	}
	server.Wait()
}
