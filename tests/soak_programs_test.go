package tests

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mirrorfs/mirrorfs/internal/testkit"
)

// soakSourceDirs is the part of GOROOT/src the real-program workload
// untars: about 240 files, 4 MB; there on every machine that builds
// mirrorfs, no network needed.
var soakSourceDirs = []string{"encoding", "container", "sort", "strings", "bufio", "text/template"}

// progStep bounds one real program's run.
const progStep = 3 * time.Minute

// TestSoakRealPrograms: what people run in a mirrored directory, each
// round in work/rNN through the mount: tar -x of a Go source tree, cp -al
// of it (every file a link group of two), git (init, add, commit, branch,
// merge, gc, a local clone that hard-links objects) in the linked tree,
// two sqlite3 writers in WAL mode, go build of a tiny module, then
// stress-ng for half a round. Later rounds rename the previous round's
// work dir and delete the one before. Each round ends with unmount exit 0
// and equal trees.
func TestSoakRealPrograms(t *testing.T) {
	s := newSoak(t)
	testkit.Require(t, "tar", "git", "sqlite3")
	tarball := filepath.Join(s.scratch, "src.tar")
	goroot := runtime.GOROOT()
	if out, err := exec.Command("go", "env", "GOROOT").Output(); err == nil {
		goroot = strings.TrimSpace(string(out))
	}
	mustRun(t, progStep, filepath.Join(goroot, "src"), nil, "tar", append([]string{"-cf", tarball}, soakSourceDirs...)...)
	home := filepath.Join(s.scratch, "home")
	must(t, os.Mkdir(home, 0o755))

	s.rounds(t, func(t *testing.T, m *Mirror, round int) {
		rotate(t, m.Mnt, round, "work")
		w := filepath.Join(m.Mnt, "work", fmt.Sprintf("r%02d", round))
		must(t, os.MkdirAll(w, 0o755))
		step := func(what string, f func()) {
			start := time.Now()
			f()
			t.Logf("round %d: %s: %v", round, what, time.Since(start).Round(time.Millisecond))
		}
		src := filepath.Join(w, "src")
		step("tar -x", func() {
			must(t, os.Mkdir(src, 0o755))
			mustRun(t, progStep, src, nil, "tar", "-xf", tarball)
		})
		step("cp -al", func() { mustRun(t, progStep, w, nil, "cp", "-al", "src", "src.links") })
		step("git", func() { gitWorkload(t, src, filepath.Join(w, "clone"), home) })
		step("sqlite3", func() { sqliteWorkload(t, filepath.Join(w, "db")) })
		if _, err := exec.LookPath("go"); err == nil { // TestMain built mirrorfs with it
			step("go build", func() { goBuildWorkload(t, filepath.Join(w, "hello"), home) })
		}
		step("stress-ng", func() { s.stressNG(t, filepath.Join(w, "stress"), max(s.stress/2, time.Second)) })
		t.Logf("round %d: work tree %s", round, treeCensus(w))
	})
}

// gitEnv is a git environment that ignores the machine's configuration.
func gitEnv(home string) []string {
	return append(os.Environ(), "HOME="+home, "GIT_CONFIG_NOSYSTEM=1", "GIT_CONFIG_GLOBAL=/dev/null",
		"GIT_AUTHOR_NAME=soak", "GIT_AUTHOR_EMAIL=soak@example.invalid",
		"GIT_COMMITTER_NAME=soak", "GIT_COMMITTER_EMAIL=soak@example.invalid")
}

// gitWorkload makes a repository of dir (whose files are linked from its
// cp -al twin: appends write through both names, checkouts replace them),
// with two branches merged, a gc, and a local clone, which hard-links the
// object files.
func gitWorkload(t *testing.T, dir, clone, home string) {
	t.Helper()
	env := gitEnv(home)
	g := func(args ...string) string { return mustRun(t, progStep, dir, env, "git", args...) }
	g("init", "-q", "-b", "main")
	g("add", "-A")
	g("commit", "-q", "-m", "import")
	files := strings.Fields(g("ls-files", "*.go"))
	if len(files) < 40 {
		t.Fatalf("git ls-files: only %d Go files in the untarred tree", len(files))
	}
	appendTo := func(names []string, line string) {
		for _, n := range names {
			f, err := os.OpenFile(filepath.Join(dir, n), os.O_WRONLY|os.O_APPEND, 0)
			must(t, err)
			_, err = f.WriteString(line)
			must(t, err)
			must(t, f.Close())
		}
	}
	g("checkout", "-q", "-b", "feature")
	appendTo(files[:15], "\n// feature\n")
	g("rm", "-q", files[15], files[16])
	g("mv", files[17], files[17]+".moved")
	g("commit", "-q", "-am", "feature")
	g("checkout", "-q", "main")
	appendTo(files[20:35], "\n// main\n")
	g("commit", "-q", "-am", "main")
	g("merge", "-q", "--no-edit", "feature")
	g("branch", "topic")
	g("gc", "-q", "--prune=now")
	mustRun(t, progStep, filepath.Dir(clone), env, "git", "clone", "-q", dir, clone)
	mustRun(t, progStep, clone, env, "git", "checkout", "-q", "-b", "work")
	mustRun(t, progStep, clone, env, "git", "fsck", "--no-progress")
}

// sqliteWorkload runs two sqlite3 writers at once on one WAL database (the
// -wal and -shm files come and go, the -shm is mmap'ed through the mount),
// then checks the row count and integrity.
func sqliteWorkload(t *testing.T, dir string) {
	t.Helper()
	must(t, os.MkdirAll(dir, 0o755))
	db := filepath.Join(dir, "app.db")
	mustRun(t, progStep, dir, nil, "sqlite3", db,
		"PRAGMA journal_mode=WAL; CREATE TABLE t(id INTEGER PRIMARY KEY, w INTEGER, k TEXT, v BLOB);")
	const writers, txs, rows = 2, 25, 200
	var wg sync.WaitGroup
	for w := range writers {
		var sql strings.Builder
		sql.WriteString(".timeout 60000\nPRAGMA journal_mode=WAL;\n")
		for i := range txs {
			fmt.Fprintf(&sql, "BEGIN IMMEDIATE; WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x+1 FROM c WHERE x<%d) "+
				"INSERT INTO t(w,k,v) SELECT %d, 'w%d-%d-'||x, randomblob(64+x) FROM c; "+
				"UPDATE t SET k=k||'+' WHERE w=%d AND id%%7=%d; COMMIT;\n", rows, w, w, i, w, i%7)
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			cmd := exec.Command("sqlite3", "-bail", db)
			cmd.Dir, cmd.Stdin = dir, strings.NewReader(sql.String())
			if out, err := cmd.CombinedOutput(); err != nil {
				t.Errorf("sqlite3 writer %d: %v\n%s", w, err, out)
			}
		}()
	}
	wg.Wait()
	out := mustRun(t, progStep, dir, nil, "sqlite3", db, "PRAGMA integrity_check; SELECT count(*) FROM t;")
	if got, want := strings.Fields(out), []string{"ok", strconv.Itoa(writers * txs * rows)}; strings.Join(got, " ") != strings.Join(want, " ") {
		t.Fatalf("sqlite3 integrity_check and count: %q, want %q", got, want)
	}
}

// goBuildWorkload builds a one-file module inside the mount (the build
// cache stays outside, warm from building mirrorfs) and runs the binary.
func goBuildWorkload(t *testing.T, dir, home string) {
	t.Helper()
	must(t, os.MkdirAll(dir, 0o755))
	write(t, filepath.Join(dir, "go.mod"), "module example.invalid/hello\n\ngo 1.21\n")
	write(t, filepath.Join(dir, "main.go"), "package main\n\nimport \"fmt\"\n\nfunc main() { fmt.Println(\"hello from the mount\") }\n")
	env := append(os.Environ(), "GOTOOLCHAIN=local", "GOPROXY=off", "GOWORK=off", "GOFLAGS=-mod=mod")
	mustRun(t, progStep, dir, env, "go", "build", "-o", "hello", ".")
	if out := mustRun(t, progStep, dir, nil, filepath.Join(dir, "hello")); strings.TrimSpace(out) != "hello from the mount" {
		t.Fatalf("hello built in the mount printed %q", out)
	}
	mustRun(t, progStep, dir, env, "go", "vet", ".")
}
