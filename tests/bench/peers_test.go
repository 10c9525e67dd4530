package bench

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/mirrorfs/mirrorfs/internal/testkit"
)

// Mirror-path tools, in report order.
const (
	pMirrorfs      = "mirrorfs"
	pMirrorfsTuned = "mirrorfs delay=0"
	pLsyncdTuned   = "lsyncd delay=0"
	pLsyncdDefault = "lsyncd defaults"
	pScript        = "inotifywait+rsync script"
)

// mirrorfs delay=0 sets against lsyncd delay=0 what tuning each buys.
var peers = []string{pMirrorfs, pMirrorfsTuned, pLsyncdTuned, pLsyncdDefault, pScript}

// slowPeer: tools that wait or rescan by design; they get Knobs.SlowRuns.
func slowPeer(p string) bool { return p == pLsyncdDefault || p == pScript }

// running is one tool mirroring src to a module subdirectory.
type running struct {
	peer     string
	src      string // where the workload writes (the mountpoint for mirrorfs)
	pid      int    // root of the tool's process tree, for CPU accounting
	mfs      *mirrorfs
	p        *proc
	started  time.Time
	readyAt  time.Time // changes are captured from here on
	syncedAt time.Time // the initial reconcile (if the tool does one) is done
}

// startPeer starts tool peer on src shipping to module subdirectory sub and
// returns once it is ready and its initial reconcile is done.
func startPeer(t testing.TB, peer string, d *testkit.Daemon, sub, src, work string) *running {
	t.Helper()
	must(t, os.MkdirAll(work, 0o755))
	r := &running{peer: peer, src: src, started: time.Now()}
	url := d.URL() + "/" + sub + "/"
	switch peer {
	case pMirrorfs, pMirrorfsTuned:
		var extra []string
		if peer == pMirrorfsTuned {
			extra = []string{"--delay", "0"}
		}
		r.mfs = startMirrorfs(t, d, sub, src, extra...)
		r.readyAt = time.Now()
		r.pid = r.mfs.p.pid()
		r.mfs.syncWait(t, 30*time.Minute)
		r.syncedAt = time.Now()
	case pLsyncdTuned, pLsyncdDefault:
		delay := ""
		if peer == pLsyncdTuned {
			delay = "delay = 0,"
		}
		log := filepath.Join(work, "lsyncd.log")
		conf := filepath.Join(work, "lsyncd.conf")
		// default.rsync with archive = true so it carries what rsync -a
		// (mirrorfs, the script) carries; everything else is lsyncd's default.
		must(t, os.WriteFile(conf, []byte(fmt.Sprintf(`settings { nodaemon = true, logfile = %q, insist = false }
sync { default.rsync, source = %q, target = %q, delete = true, %s
  rsync = { password_file = %q, archive = true } }
`, log, src+"/", url, delay, d.PasswordFile)), 0o644))
		r.p = startProc(t, "lsyncd", filepath.Join(work, "lsyncd.out"), nil, "lsyncd", conf)
		r.pid = r.p.pid()
		ok, _ := pollFast(30*time.Minute, func() (bool, string) {
			b, _ := os.ReadFile(log)
			return !r.p.running() || strings.Contains(string(b), "Startup of") && strings.Contains(string(b), "finished"), ""
		})
		if !ok || !r.p.running() {
			t.Fatalf("lsyncd did not finish its startup:\n%s", r.p.output())
		}
		r.readyAt = time.Now()
		r.syncedAt = r.readyAt
	case pScript:
		// The article's inotify_rsync.sh, verbatim but for the paths and the
		// daemon's port (rsync:// URL).
		script := fmt.Sprintf(`SRC=%q
DEST=%q
inotifywait -mrq --timefmt '%%Y-%%m-%%d %%H:%%M' --format '%%T %%w %%f' -e create,delete,moved_to,close_write,attrib ${SRC} |while read DATE TIME DIR FILE;do
FILEPATH=${DIR}${FILE}
rsync -az --delete --password-file=%s $SRC $DEST && echo "At ${TIME} on ${DATE}, file $FILEPATH was backuped up via rsync" >> %s
done
`, src+"/", url, d.PasswordFile, filepath.Join(work, "changelist.log"))
		sh := filepath.Join(work, "inotify_rsync.sh")
		must(t, os.WriteFile(sh, []byte(script), 0o755))
		r.p = startProc(t, "script", filepath.Join(work, "script.out"), nil, "bash", sh)
		r.pid = r.p.pid()
		dirs := countDirs(src)
		ok, msg := pollFast(30*time.Minute, func() (bool, string) {
			n := inotifyWatches(r.pid)
			return !r.p.running() || n >= dirs, fmt.Sprintf("%d of %d watches", n, dirs)
		})
		if !ok || !r.p.running() {
			t.Fatalf("inotifywait did not establish its watches (%s):\n%s", msg, r.p.output())
		}
		r.readyAt = time.Now()
		r.syncedAt = r.readyAt // the script does no initial sync
	default:
		t.Fatalf("unknown peer %q", peer)
	}
	return r
}

func (r *running) cpu() time.Duration { return treeCPU(r.pid) }

func (r *running) stop(t testing.TB) {
	if r.mfs != nil {
		r.mfs.stop(t)
		return
	}
	r.p.kill(5 * time.Second)
}

// inotifyWatches counts the inotify watches held by pid's process tree.
func inotifyWatches(root int) int {
	n := 0
	for _, pid := range descendants(root) {
		fds, _ := os.ReadDir(fmt.Sprintf("/proc/%d/fdinfo", pid))
		for _, fd := range fds {
			b, err := os.ReadFile(fmt.Sprintf("/proc/%d/fdinfo/%s", pid, fd.Name()))
			if err == nil {
				n += strings.Count(string(b), "inotify wd:")
			}
		}
	}
	return n
}
