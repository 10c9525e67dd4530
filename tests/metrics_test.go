package tests

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	promdto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/mirrorfs/mirrorfs/internal/exitcode"
	"github.com/mirrorfs/mirrorfs/internal/testkit"
)

type families map[string]*promdto.MetricFamily

func parseMetrics(t *testing.T, text string) families {
	t.Helper()
	p := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := p.TextToMetricFamilies(strings.NewReader(text))
	if err != nil {
		t.Fatalf("metrics do not parse: %v\n%s", err, text)
	}
	return fams
}

// value is the one sample of name, which must carry the mount's labels.
func (f families) value(t *testing.T, name, mount, dest string) float64 {
	t.Helper()
	fam, ok := f[name]
	if !ok || len(fam.GetMetric()) != 1 {
		t.Fatalf("metric %s: want one series, have %v", name, fam)
	}
	m := fam.GetMetric()[0]
	lab := map[string]string{}
	for _, l := range m.GetLabel() {
		lab[l.GetName()] = l.GetValue()
	}
	if lab["mount"] != mount || lab["dest"] != dest {
		t.Errorf("%s labels %v, want mount=%s dest=%s", name, lab, mount, dest)
	}
	if c := m.GetCounter(); c != nil {
		if fam.GetType() != promdto.MetricType_COUNTER {
			t.Errorf("%s: a counter value in a %v family", name, fam.GetType())
		}
		return c.GetValue()
	}
	return m.GetGauge().GetValue()
}

func freeTCPPort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

func scrape(t *testing.T, c *http.Client, url string) string {
	t.Helper()
	resp, err := c.Get(url)
	if err != nil {
		t.Fatalf("scraping %s: %v", url, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("scraping %s: %s, %v", url, resp.Status, err)
	}
	return string(body)
}

// checkAgainstStatus compares the series with `status --json` of the same
// idle mount.
func checkAgainstStatus(t *testing.T, f families, st status, mnt string) {
	t.Helper()
	dest := st.str("name")
	tests := []struct {
		metric string
		want   float64
	}{
		{"mirrorfs_pending_changes", st.num("pending")},
		{"mirrorfs_in_flight_changes", st.num("in_flight")},
		{"mirrorfs_batches_total", st.total("batches")},
		{"mirrorfs_shipped_paths_total", st.total("shipped_paths")},
		{"mirrorfs_bytes_sent_total", st.total("bytes_sent")},
		{"mirrorfs_retries_total", st.total("retries")},
		{"mirrorfs_failures_total", st.total("failures")},
		{"mirrorfs_events_total", st.total("events")},
		{"mirrorfs_stuck_paths", st.num("stuck_count")},
		{"mirrorfs_consecutive_failures", st.num("consecutive_failures")},
		{"mirrorfs_up", 1},
		{"mirrorfs_initial_sync_done", 1},
		{"mirrorfs_held_deletes", 0},
		{"mirrorfs_verify_differences", 0},
	}
	for _, tt := range tests {
		if got := f.value(t, tt.metric, mnt, dest); got != tt.want {
			t.Errorf("%s = %v, status --json says %v", tt.metric, got, tt.want)
		}
	}
	last, err := time.Parse(time.RFC3339Nano, st.str("last_success"))
	if err != nil {
		t.Fatalf("status last_success %q: %v", st.str("last_success"), err)
	}
	if got := f.value(t, "mirrorfs_last_success_timestamp_seconds", mnt, dest); got != float64(last.UnixNano())/1e9 {
		t.Errorf("mirrorfs_last_success_timestamp_seconds = %v, status says %v", got, last)
	}
}

// idleStatus syncs, then reads status --json: with nothing written, a
// scrape right after sees the same values (the caller checks it did).
func (m *Mirror) idleStatus(t *testing.T) status {
	t.Helper()
	m.Sync(t)
	return m.Status(t)
}

func TestMetricsEndpoint(t *testing.T) {
	port := freeTCPPort(t)
	m := mountMirror(t, mountOptions{
		DaemonOpts: testkit.DaemonOptions{Password: "metrics-test-secret"},
		Args:       []string{"--metrics-listen", fmt.Sprintf("127.0.0.1:%d", port)},
	})
	for i := range 20 {
		write(t, filepath.Join(m.Mnt, fmt.Sprintf("f%02d", i)), strings.Repeat("x", 1000*i))
	}
	st := m.idleStatus(t)
	if st.total("batches") == 0 || st.total("bytes_sent") == 0 || st.total("shipped_paths") < 20 {
		t.Fatalf("nothing shipped? %v", st)
	}
	url := fmt.Sprintf("http://127.0.0.1:%d/metrics", port)
	body := scrape(t, http.DefaultClient, url)
	after := m.Status(t)
	if after.total("events") != st.total("events") || after.total("batches") != st.total("batches") {
		t.Fatalf("the mount was not idle between status and scrape: %v then %v", st, after)
	}
	f := parseMetrics(t, body)
	checkAgainstStatus(t, f, st, m.Mnt)
	for _, want := range []string{"go_goroutines", "process_resident_memory_bytes"} {
		if _, ok := f[want]; !ok {
			t.Errorf("endpoint lacks %s", want)
		}
	}
	if strings.Contains(body, m.Daemon.Password) {
		t.Error("the password is in the metrics")
	}

	t.Run("status --prometheus", func(t *testing.T) {
		out, errOut, code := m.cli(t, "status", "--prometheus", m.Mnt)
		if code != 0 {
			t.Fatalf("status --prometheus: exit %d: %s", code, errOut)
		}
		f := parseMetrics(t, out)
		checkAgainstStatus(t, f, st, m.Mnt)
		if _, ok := f["go_goroutines"]; ok {
			t.Error("status --prometheus prints the Go series of the CLI process")
		}
		// The textfile collector reads *.prom files: the output is one.
		prom := filepath.Join(t.TempDir(), "mirrorfs.prom")
		must(t, os.WriteFile(prom, []byte(out), 0o644))
		data, _ := os.ReadFile(prom)
		parseMetrics(t, string(data))
	})

	t.Run("lag while the destination is down", func(t *testing.T) {
		m.Daemon.Stop()
		t.Cleanup(m.Daemon.Start)
		write(t, filepath.Join(m.Mnt, "during-outage"), "x")
		m.waitFailing(t, "")
		f := parseMetrics(t, scrape(t, http.DefaultClient, url))
		dest := st.str("name")
		if f.value(t, "mirrorfs_up", m.Mnt, dest) != 0 || f.value(t, "mirrorfs_consecutive_failures", m.Mnt, dest) < 1 {
			t.Errorf("while failing: mirrorfs_up %v, consecutive failures %v", f.value(t, "mirrorfs_up", m.Mnt, dest), f.value(t, "mirrorfs_consecutive_failures", m.Mnt, dest))
		}
		if p := f.value(t, "mirrorfs_pending_changes", m.Mnt, dest) + f.value(t, "mirrorfs_in_flight_changes", m.Mnt, dest); p < 1 {
			t.Errorf("while failing: %v changes pending or in flight, want at least 1", p)
		}
		if f.value(t, "mirrorfs_pending_changes", m.Mnt, dest) > 0 && f.value(t, "mirrorfs_oldest_pending_age_seconds", m.Mnt, dest) <= 0 {
			t.Error("changes pending, but mirrorfs_oldest_pending_age_seconds (the lag) is not above 0")
		}
		m.Daemon.Start()
		m.Sync(t)
	})

	t.Run("address in use refuses to mount", func(t *testing.T) {
		mnt := filepath.Join(t.TempDir(), "mnt2")
		must(t, os.Mkdir(mnt, 0o755))
		stderr, code := runMountExpectingFailure(t, m.env(), mnt, "mount", "--dest", m.Daemon.URL(), "--password-file", m.Daemon.PasswordFile,
			"--metrics-listen", fmt.Sprintf("127.0.0.1:%d", port), mnt)
		if code != exitcode.Usage {
			t.Errorf("exit %d, want %d (usage)", code, exitcode.Usage)
		}
		checkOneLineError(t, stderr)
		if !strings.Contains(stderr, "metrics") {
			t.Errorf("the error does not name the metrics endpoint: %s", stderr)
		}
		if fstype, _ := mountType(mnt); fstype != "" {
			t.Errorf("mounted (%s) although the metrics address was taken", fstype)
		}
	})
}

func TestMetricsUnixSocket(t *testing.T) {
	sock := filepath.Join(t.TempDir(), "metrics.sock")
	m := mountMirror(t, mountOptions{Args: []string{"--metrics-listen", "unix:" + sock}})
	fi, err := os.Stat(sock)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Type() != os.ModeSocket || fi.Mode().Perm() != 0o600 {
		t.Errorf("metrics socket mode %v, want a socket of mode 0600", fi.Mode())
	}
	write(t, filepath.Join(m.Mnt, "a"), "hello")
	st := m.idleStatus(t)
	c := &http.Client{Transport: &http.Transport{DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
		return (&net.Dialer{}).DialContext(ctx, "unix", sock)
	}}}
	f := parseMetrics(t, scrape(t, c, "http://mirrorfs/metrics"))
	checkAgainstStatus(t, f, st, m.Mnt)

	if out, code := m.Unmount(t); code != 0 {
		t.Fatalf("unmount: exit %d: %s", code, out)
	}
	m.Wait(t)
	if _, err := os.Lstat(sock); !os.IsNotExist(err) {
		t.Errorf("metrics socket left behind after unmount: %v", err)
	}
}

func TestMetricsAndHooksBadInput(t *testing.T) {
	requireE2E(t)
	d := testkit.StartDaemon(t, testkit.DaemonOptions{})
	notSock := filepath.Join(t.TempDir(), "plain-file")
	write(t, notSock, "not a socket")
	live := filepath.Join(t.TempDir(), "live.sock")
	l, err := net.Listen("unix", live)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"not an address", []string{"--metrics-listen", "nowhere"}, "metrics-listen"},
		{"port out of range", []string{"--metrics-listen", "127.0.0.1:70000"}, "port"},
		{"relative socket", []string{"--metrics-listen", "unix:rel.sock"}, "absolute"},
		{"socket path is a file", []string{"--metrics-listen", "unix:" + notSock}, "not a socket"},
		{"socket in use", []string{"--metrics-listen", "unix:" + live}, "another process"},
		{"metrics-listen twice", []string{"--metrics-listen", "9750", "--metrics-listen", "9751"}, "metrics-listen"},
		{"hook-timeout 0", []string{"--on-batch", "true", "--hook-timeout", "0"}, "hook-timeout"},
		{"on-batch twice", []string{"--on-batch", "true", "--on-batch", "false"}, "on-batch"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			mnt := filepath.Join(t.TempDir(), "mnt")
			must(t, os.Mkdir(mnt, 0o755))
			args := append([]string{"mount", "--dest", d.URL(), "--password-file", d.PasswordFile}, tt.args...)
			stderr, code := runMountExpectingFailure(t, os.Environ(), mnt, append(args, mnt)...)
			if code != exitcode.Usage {
				t.Errorf("exit %d, want %d (usage)", code, exitcode.Usage)
			}
			checkOneLineError(t, stderr)
			if !strings.Contains(stderr, tt.want) {
				t.Errorf("error does not mention %q: %s", tt.want, stderr)
			}
			if fstype, _ := mountType(mnt); fstype != "" {
				t.Errorf("mounted (%s) despite the bad option", fstype)
			}
		})
	}
}
