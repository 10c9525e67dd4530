package doctor

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"
)

// Mount is the running mirrorfs a live probe talks to.
type Mount interface {
	Events(ctx context.Context) (uint64, error) // status totals.events
	Sync(ctx context.Context) error             // sync --wait
}

const probeMask = unix.IN_CREATE | unix.IN_CLOSE_WRITE | unix.IN_ATTRIB | unix.IN_MOVED_FROM | unix.IN_MOVED_TO | unix.IN_DELETE

// Live creates, writes, chmods, renames and deletes a probe file through the
// mount at mp, and checks that inotify on the mount reports each step and
// that the mirror ships them to d. It leaves no trace on either side.
func Live(ctx context.Context, mp string, m Mount, d Dest) []Check {
	const (
		inotifyName = "live: inotify on the mount"
		capture     = "live: changes captured"
		shipped     = "live: changes shipped"
	)
	name := ProbeName()
	moved := name + ".moved"
	p, pm := filepath.Join(mp, name), filepath.Join(mp, moved)
	defer func() {
		os.Remove(p)
		os.Remove(pm)
		m.Sync(ctx)
		d.Remove(ctx, name, moved)
	}()

	ino, err := unix.InotifyInit1(unix.IN_CLOEXEC | unix.IN_NONBLOCK)
	if err != nil {
		return []Check{fail(inotifyName, "inotify_init1: "+err.Error(), "raise fs.inotify.max_user_instances")}
	}
	defer unix.Close(ino)
	if _, err := unix.InotifyAddWatch(ino, mp, probeMask); err != nil {
		return []Check{fail(inotifyName, "inotify_add_watch on the mount: "+err.Error(), "raise fs.inotify.max_user_watches")}
	}
	ev0, err := m.Events(ctx)
	if err != nil {
		return []Check{fail(capture, "status: "+err.Error(), "")}
	}

	var problems []string
	step := func(what string, err error) bool {
		if err != nil {
			problems = append(problems, what+": "+err.Error())
		}
		return err == nil
	}
	onDest := func(want map[string]bool) {
		if err := m.Sync(ctx); err != nil {
			problems = append(problems, "sync --wait: "+err.Error())
			return
		}
		for n, present := range want {
			got, err := d.Exists(ctx, n)
			switch {
			case err != nil:
				problems = append(problems, "checking "+n+" on the destination: "+err.Error())
			case got != present && present:
				problems = append(problems, n+" is missing on the destination after sync --wait")
			case got != present:
				problems = append(problems, n+" is still on the destination after its deletion and sync --wait")
			}
		}
	}
	if step("create", os.WriteFile(p, []byte("mirrorfs check\n"), 0o644)) &&
		step("chmod", os.Chmod(p, 0o600)) {
		onDest(map[string]bool{name: true})
		if step("rename", os.Rename(p, pm)) {
			onDest(map[string]bool{name: false, moved: true})
			if step("delete", os.Remove(pm)) {
				onDest(map[string]bool{moved: false})
			}
		}
	}

	var out []Check
	seen := readInotify(ino)
	want := []struct {
		name string
		mask uint32
		word string
	}{
		{name, unix.IN_CREATE, "CREATE"}, {name, unix.IN_CLOSE_WRITE, "CLOSE_WRITE"}, {name, unix.IN_ATTRIB, "ATTRIB"},
		{name, unix.IN_MOVED_FROM, "MOVED_FROM"}, {moved, unix.IN_MOVED_TO, "MOVED_TO"}, {moved, unix.IN_DELETE, "DELETE"},
	}
	var missing []string
	for _, w := range want {
		if seen[w.name]&w.mask == 0 {
			missing = append(missing, w.word+" "+w.name)
		}
	}
	if len(missing) > 0 {
		out = append(out, fail(inotifyName, "an inotify watch on the mount did not see: "+strings.Join(missing, ", "), "report this as a mirrorfs bug, with `mirrorfs check --json` output"))
	} else {
		out = append(out, ok(inotifyName, "create, close_write, attrib, moved_from, moved_to and delete of a probe file were reported"))
	}
	ev1, err := m.Events(ctx)
	switch {
	case err != nil:
		out = append(out, fail(capture, "status: "+err.Error(), ""))
	case ev1-ev0 < 4:
		out = append(out, fail(capture, fmt.Sprintf("the mirror counted %d event(s) for 5 operations on the probe file", ev1-ev0), "check --exclude does not match .mirrorfs-check-* and the log for errors"))
	default:
		out = append(out, ok(capture, "the mirror counted %d event(s) for the probe's 5 operations", ev1-ev0))
	}
	if len(problems) > 0 {
		out = append(out, fail(shipped, strings.Join(problems, "; "), "see `mirrorfs status` and the log of the mount"))
	} else {
		out = append(out, ok(shipped, "the probe file reached %s, followed its rename and left with its deletion", d.Dest))
	}
	return out
}

// readInotify drains the watch, waiting briefly for late events, and ORs
// the masks per name.
func readInotify(fd int) map[string]uint32 {
	seen := map[string]uint32{}
	buf := make([]byte, 64<<10)
	deadline := time.Now().Add(2 * time.Second)
	for time.Now().Before(deadline) {
		pfd := []unix.PollFd{{Fd: int32(fd), Events: unix.POLLIN}}
		n, _ := unix.Poll(pfd, 200)
		if n <= 0 {
			if len(seen) > 0 {
				return seen
			}
			continue
		}
		k, err := unix.Read(fd, buf)
		if err != nil {
			if errors.Is(err, unix.EAGAIN) || errors.Is(err, fs.ErrNotExist) {
				continue
			}
			return seen
		}
		for off := 0; off+unix.SizeofInotifyEvent <= k; {
			ev := (*unix.InotifyEvent)(unsafe.Pointer(&buf[off]))
			nameb := buf[off+unix.SizeofInotifyEvent : off+unix.SizeofInotifyEvent+int(ev.Len)]
			seen[strings.TrimRight(string(nameb), "\x00")] |= ev.Mask
			off += unix.SizeofInotifyEvent + int(ev.Len)
		}
	}
	return seen
}
