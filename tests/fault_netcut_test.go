package tests

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"math/big"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/mirrorfs/mirrorfs/internal/testkit"
)

// netns is a network namespace of the test's own, joined to the host by a
// veth pair on a private /30: traffic to it never leaves the machine.
type netns struct {
	name       string
	hostIf     string
	hostIP, IP string // host side, namespace side
}

func ipCmd(t *testing.T, args ...string) {
	t.Helper()
	if out, err := exec.Command("ip", args...).CombinedOutput(); err != nil {
		t.Fatalf("ip %s: %v: %s", strings.Join(args, " "), err, out)
	}
}

// newNetns creates the namespace and the veth pair; t.Cleanup removes both.
func newNetns(t *testing.T) *netns {
	t.Helper()
	testkit.Require(t, "root", "ip")
	b := make([]byte, 3)
	rand.Read(b)
	id := hex.EncodeToString(b)
	// A random /30 in 10.213.0.0/16, so concurrent runs do not collide.
	n, _ := rand.Int(rand.Reader, big.NewInt(1<<14))
	net := int(n.Int64()) * 4
	prefix := fmt.Sprintf("10.213.%d.", net>>8)
	low := net & 0xff
	ns := &netns{name: "mfs-" + id, hostIf: "mfs" + id + "h",
		hostIP: prefix + fmt.Sprint(low+1), IP: prefix + fmt.Sprint(low+2)}
	peer := "mfs" + id + "n"
	ipCmd(t, "netns", "add", ns.name)
	t.Cleanup(func() { exec.Command("ip", "netns", "del", ns.name).Run() })
	ipCmd(t, "link", "add", ns.hostIf, "type", "veth", "peer", "name", peer)
	t.Cleanup(func() { exec.Command("ip", "link", "del", ns.hostIf).Run() })
	// While the link is down the /30 must not fall through to the default
	// route (and leave the machine): it becomes unreachable instead.
	subnet := prefix + fmt.Sprint(low) + "/30"
	ipCmd(t, "route", "add", "unreachable", subnet, "metric", "4000")
	t.Cleanup(func() { exec.Command("ip", "route", "del", "unreachable", subnet, "metric", "4000").Run() })
	ipCmd(t, "link", "set", peer, "netns", ns.name)
	ipCmd(t, "addr", "add", ns.hostIP+"/30", "dev", ns.hostIf)
	ipCmd(t, "link", "set", ns.hostIf, "up")
	ipCmd(t, "-n", ns.name, "addr", "add", ns.IP+"/30", "dev", peer)
	ipCmd(t, "-n", ns.name, "link", "set", peer, "up")
	ipCmd(t, "-n", ns.name, "link", "set", "lo", "up")
	return ns
}

// TestFaultNetworkCut runs the daemon behind a veth link and cuts the link
// while changes are made: they queue, status says why, and everything
// arrives once the link is back.
func TestFaultNetworkCut(t *testing.T) {
	requireE2E(t)
	ns := newNetns(t)
	d := testkit.StartDaemon(t, testkit.DaemonOptions{Address: ns.IP, HostsAllow: ns.hostIP,
		Wrap: []string{"ip", "netns", "exec", ns.name}})
	m := mountMirror(t, mountOptions{Daemon: d, Args: []string{"--timeout", "2s", "--contimeout", "2s"}})
	up := func() { exec.Command("ip", "link", "set", ns.hostIf, "up").Run() }
	t.Cleanup(up) // before the unmount's flush, even when the test failed

	writeMany(t, m.Mnt, "before", 10)
	m.assertMirrored(t, testkit.CompareOptions{})

	ipCmd(t, "link", "set", ns.hostIf, "down")
	writeMany(t, m.Mnt, "during", 20)
	must(t, os.Remove(filepath.Join(m.Mnt, "before000")))
	must(t, os.Rename(filepath.Join(m.Mnt, "before001"), filepath.Join(m.Mnt, "renamed")))
	st := m.waitFailing(t, "")
	t.Logf("link down: pending %v, last_error %q", st["pending"], st.str("last_error"))
	if exists(t, filepath.Join(d.Dir, "during000")) {
		t.Fatal("module changed while the link was down?")
	}

	up()
	m.assertMirrored(t, testkit.CompareOptions{})
	if st := m.Status(t); st.num("consecutive_failures") != 0 || st.num("pending") != 0 {
		t.Errorf("after the link came back: consecutive_failures and pending should be 0: %v", st)
	}
}
