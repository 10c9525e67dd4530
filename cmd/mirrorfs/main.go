// Command mirrorfs mounts a directory through FUSE and mirrors every change
// to an rsync daemon module. See README.md.
package main

import "os"

func main() {
	os.Exit(run(os.Args, os.Stderr))
}
