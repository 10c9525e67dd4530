package doctor

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/mirrorfs/mirrorfs/internal/rsyncproc"
	"github.com/mirrorfs/mirrorfs/mirror"
)

// Dest is how to reach the destination, as the mount would.
type Dest struct {
	Dest         mirror.Destination
	PasswordFile string
	Rsync        string
	Timeout      time.Duration
	ConTimeout   time.Duration
	SSH          mirror.SSH // the ssh transport, as the mount's
}

// ProbeName returns a fresh name for probe files: ".mirrorfs-check-<hex>".
func ProbeName() string {
	b := make([]byte, 6)
	rand.Read(b)
	return ".mirrorfs-check-" + hex.EncodeToString(b)
}

// rsync runs one client command; the password never goes on the command line.
func (d Dest) rsync(ctx context.Context, stdin []byte, args ...string) (stdout, stderr string, code int) {
	c := d.config()
	a := append([]string{"--timeout=" + secs(d.Timeout)}, mirror.TransportArgs(&c)...)
	r := rsyncproc.Run(ctx, rsyncproc.Spec{Path: d.Rsync, Args: append(a, args...), Stdin: stdin, DropPasswordEnv: d.PasswordFile != ""})
	stderr = string(r.Stderr)
	if r.Code < 0 {
		stderr += r.Err().Error()
	}
	return string(r.Stdout), stderr, r.Code
}

func secs(d time.Duration) string {
	if d < time.Second {
		d = time.Second
	}
	return strconv.Itoa(int(d.Round(time.Second) / time.Second))
}

func (d Dest) config() mirror.Config {
	c := mirror.DefaultConfig()
	c.Dest, c.PasswordFile, c.RsyncPath, c.Timeout, c.ConTimeout = d.Dest, d.PasswordFile, d.Rsync, d.Timeout, d.ConTimeout
	c.SSH = d.SSH
	if c.Timeout <= 0 {
		c.Timeout = mirror.DefaultConfig().Timeout
	}
	if c.ConTimeout <= 0 {
		c.ConTimeout = mirror.DefaultConfig().ConTimeout
	}
	return c
}

// destArg is the destination directory as rsync is given it.
func (d Dest) destArg() string {
	c := d.config()
	return mirror.DestArg(&c)
}

// Destination checks that the destination is reachable, that its ssh host
// key is known and the login accepted (over ssh), that it has the module
// and accepts the credentials (a daemon), and that it can be written and
// symlinks arrive as they are. It leaves nothing behind.
func Destination(ctx context.Context, d Dest) []Check {
	const (
		reach    = "destination reachable"
		hostKey  = "destination host key"
		sshLogin = "destination ssh login"
		module   = "destination module"
		login    = "destination login"
		writable = "destination writable"
		symlinks = "destination symlinks"
	)
	if d.Dest.Kind == mirror.DestLocal {
		if err := mirror.Probe(ctx, d.config()); err != nil {
			return []Check{fail(writable, err.Error(), "create the directory and make it writable")}
		}
		return []Check{ok(writable, "local directory %s", d.Dest.LocalDir), ok(symlinks, "a local copy keeps symlink targets as they are")}
	}
	c := d.config()
	overSSH := d.Dest.Kind == mirror.DestShell || d.SSH.Command != ""
	err := mirror.Probe(ctx, c)
	var re *mirror.RsyncError
	errors.As(err, &re)
	class := mirror.ClassOK
	if err != nil {
		class = mirror.ClassOther
		if re != nil {
			class = re.Class
		}
	}
	// The checks in order; each failure skips the ones after it.
	names := []string{reach}
	if overSSH {
		names = append(names, hostKey, sshLogin)
	}
	if d.Dest.Kind == mirror.DestDaemon {
		names = append(names, module, login)
	}
	names = append(names, writable, symlinks)
	failAt := func(name, fix string) []Check {
		var out []Check
		for _, n := range names {
			switch {
			case n == name:
				out = append(out, fail(n, err.Error(), fix))
				return append(out, skipRest(names[len(out):], n+" failed")...)
			default:
				out = append(out, passed(n, d))
			}
		}
		return out
	}
	switch class {
	case mirror.ClassOK:
	case mirror.ClassConnect, mirror.ClassTimeout, mirror.ClassStream:
		fix := "start the daemon (rsync --daemon or systemctl start rsyncd), check host, port and firewall"
		if overSSH {
			fix = "start sshd on the host (systemctl start ssh), check host, ssh-port and firewall"
		}
		return failAt(reach, fix)
	case mirror.ClassHostKey:
		return failAt(hostKey, "compare the host's key fingerprint (ssh-keygen -lf /etc/ssh/ssh_host_ed25519_key.pub on the host) before adding it to "+c.KnownHostsFile())
	case mirror.ClassSSHAuth:
		return failAt(sshLogin, "authorize the key: append its .pub to ~/.ssh/authorized_keys of the login user on the host (for a daemon with the forced command=\"rsync --server --daemon .\")")
	case mirror.ClassUnknownModule:
		return failAt(module, fmt.Sprintf("fix the module name, or add [%s] to rsyncd.conf", d.Dest.Module))
	case mirror.ClassAuth, mirror.ClassPasswordFile:
		return failAt(login, "put the password of user "+d.Dest.User+" (as in the daemon's secrets file) on the first line of the password file")
	case mirror.ClassDestIO:
		return failAt(writable, "create the directory on the host and make it writable by the login user")
	default:
		if re == nil && overSSH && strings.HasPrefix(err.Error(), "ssh-key") {
			return failAt(sshLogin, "fix the key file as the message says")
		}
		return failAt(reach, "see the message; run the same rsync by hand to investigate")
	}
	var out []Check
	for _, n := range names[:len(names)-2] {
		out = append(out, passed(n, d))
	}
	return append(out, d.writeProbe(ctx, writable, symlinks)...)
}

// passed is the OK line of a check that a later step got past.
func passed(name string, d Dest) Check {
	switch name {
	case "destination reachable":
		return ok(name, "%s answers", d.Dest.String())
	case "destination host key":
		return ok(name, "the host key of %s is known", d.Dest.Host)
	case "destination ssh login":
		return ok(name, "ssh accepted the login")
	case "destination module":
		return ok(name, "module %q exists", d.Dest.Module)
	case "destination login":
		return ok(name, "credentials accepted")
	}
	return ok(name, "")
}

func skipRest(names []string, why string) []Check {
	out := make([]Check, len(names))
	for i, n := range names {
		out[i] = skip(n, why)
	}
	return out
}

const probeTarget = "mirrorfs-check/target"

// writeProbe pushes an empty file and a symlink, reads the link back and
// deletes both. A daemon that munges symlinks ("/rsyncd-munged/" prefix)
// strips the prefix again when it sends, so munging itself cannot be seen
// from the client; what this catches is a target the daemon changed for
// good.
func (d Dest) writeProbe(ctx context.Context, writable, symlinks string) []Check {
	tmp, err := os.MkdirTemp("", "mirrorfs-check-")
	if err != nil {
		return []Check{fail(writable, "cannot create a local temporary directory: "+err.Error(), "check $TMPDIR")}
	}
	defer os.RemoveAll(tmp)
	name := ProbeName()
	link := name + ".link"
	if err := os.WriteFile(filepath.Join(tmp, name), nil, 0o600); err != nil {
		return []Check{fail(writable, err.Error(), "check $TMPDIR")}
	}
	if err := os.Symlink(probeTarget, filepath.Join(tmp, link)); err != nil {
		return []Check{fail(writable, err.Error(), "check $TMPDIR")}
	}
	_, errOut, code := d.rsync(ctx, nil, "-lt", filepath.Join(tmp, name), filepath.Join(tmp, link), d.destArg())
	defer d.Remove(ctx, name, link)
	if code != 0 {
		fix := "set read only = no for the module and make its path writable by the daemon's uid"
		if d.Dest.Kind == mirror.DestShell {
			fix = "make " + d.Dest.Path + " on " + d.Dest.Host + " writable by the ssh login user"
		}
		return []Check{fail(writable, fmt.Sprintf("pushing a probe file failed (rsync exit %d): %s", code, firstLine(errOut)), fix), skip(symlinks, "not writable")}
	}
	out := []Check{ok(writable, "a probe file was written and removed")}
	target, err := d.LinkTarget(ctx, link)
	switch {
	case err != nil:
		out = append(out, warn(symlinks, "cannot read the probe symlink back: "+err.Error(), ""))
	case target != probeTarget:
		out = append(out, fail(symlinks, fmt.Sprintf("the daemon stores symlink targets changed (%q became %q): every mirrored symlink would differ", probeTarget, target),
			"add `munge symlinks = no` to the module in rsyncd.conf (use chroot = no turns munging on)"))
	default:
		out = append(out, ok(symlinks, "symlink targets arrive unchanged"))
	}
	return out
}

// Exists reports whether name (relative to the destination) is there.
func (d Dest) Exists(ctx context.Context, name string) (bool, error) {
	if d.Dest.Kind == mirror.DestLocal {
		_, err := os.Lstat(filepath.Join(d.Dest.LocalDir, name))
		if errors.Is(err, fs.ErrNotExist) {
			return false, nil
		}
		return err == nil, err
	}
	_, errOut, code := d.rsync(ctx, nil, "--list-only", "-d", d.destArg()+name)
	switch {
	case code == 0:
		return true, nil
	case code == 23 && strings.Contains(errOut, "No such file or directory"):
		return false, nil
	}
	return false, fmt.Errorf("rsync --list-only exit %d: %s", code, firstLine(errOut))
}

// LinkTarget lists a symlink on the destination and returns its target.
func (d Dest) LinkTarget(ctx context.Context, name string) (string, error) {
	out, errOut, code := d.rsync(ctx, nil, "--list-only", "-l", d.destArg()+name)
	if code != 0 {
		return "", fmt.Errorf("rsync --list-only exit %d: %s", code, firstLine(errOut))
	}
	_, target, found := strings.Cut(strings.TrimSpace(out), " -> ")
	if !found {
		return "", fmt.Errorf("not listed as a symlink: %q", strings.TrimSpace(out))
	}
	return target, nil
}

// Remove deletes names (files) from the destination: they are listed from
// an empty directory with --delete-missing-args.
func (d Dest) Remove(ctx context.Context, names ...string) error {
	if d.Dest.Kind == mirror.DestLocal {
		var errs []error
		for _, n := range names {
			if err := os.Remove(filepath.Join(d.Dest.LocalDir, n)); err != nil && !errors.Is(err, fs.ErrNotExist) {
				errs = append(errs, err)
			}
		}
		return errors.Join(errs...)
	}
	empty, err := os.MkdirTemp("", "mirrorfs-check-empty-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(empty)
	var list []byte
	for _, n := range names {
		list = append(append(list, n...), 0)
	}
	_, errOut, code := d.rsync(ctx, list, "-d", "--files-from=-", "--from0", "--delete-missing-args", "--force", empty+"/", d.destArg())
	if code != 0 {
		return fmt.Errorf("removing the probe files from %s failed (rsync exit %d): %s", d.Dest, code, firstLine(errOut))
	}
	return nil
}

func firstLine(s string) string {
	s = strings.TrimSpace(s)
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		return s[:i]
	}
	return s
}
