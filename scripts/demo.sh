#!/usr/bin/env bash
# `make run`: mirror ./demo/data to an rsync daemon on 127.0.0.1 that this
# script starts, with the article's set-up (auth users + secrets file).
# mirrorfs mounts over ./demo/data itself; Ctrl-C unmounts and flushes.
set -euo pipefail
bin=$(realpath "${1:-bin/mirrorfs}")
top=$(pwd)/demo
data=$top/data backup=$top/backup run=$top/run

if grep -qs " $data fuse" /proc/self/mountinfo; then
	echo "demo: $data is still mounted from an earlier run; unmount it with: fusermount3 -u $data" >&2
	exit 1
fi
mkdir -p "$data" "$backup" "$run"
chmod 700 "$run"

port=
for p in $(seq 8730 8830); do
	if ! (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; then port=$p; break; fi
done
[[ -n $port ]] || { echo "demo: no free port between 8730 and 8830 on 127.0.0.1" >&2; exit 1; }

cat >"$run/rsyncd.conf" <<CONF
uid = root
gid = root
use chroot = no
# Without chroot rsyncd rewrites symlink targets unless told not to.
munge symlinks = no
max connections = 0
reverse lookup = no
hosts allow = 127.0.0.1
pid file = $run/rsyncd.pid
lock file = $run/rsyncd.lock
log file = $run/rsyncd.log
[backup]
    path = $backup
    comment = mirrorfs demo
    read only = no
    auth users = rsyncuser
    secrets file = $run/rsync.secrets
CONF
umask 077
echo "rsyncuser:demo-password" >"$run/rsync.secrets"
echo "demo-password" >"$run/rsync.pass"
umask 022

# setsid: Ctrl-C must reach mirrorfs (which flushes), not the daemon it flushes to.
setsid rsync --daemon --no-detach --config="$run/rsyncd.conf" --address=127.0.0.1 --port="$port" &
daemon=$!
cleanup() { kill "$daemon" 2>/dev/null || true; wait "$daemon" 2>/dev/null || true; }
trap cleanup EXIT
for _ in $(seq 50); do (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && break; sleep 0.1; done

[[ -e $data/hello.txt ]] || echo "hello from mirrorfs" >"$data/hello.txt"

cat <<MSG

  mirrorfs demo
  data directory : $data   (mirrorfs mounts over it)
  backup module  : rsync://rsyncuser@127.0.0.1:$port/backup  ->  $backup
  try, in another terminal:
      echo hi > $data/new.txt; mkdir $data/dir; mv $data/new.txt $data/dir/
      ls -lR $backup
      $bin status $data
  Ctrl-C unmounts $data after shipping everything still queued.

MSG
"$bin" mount --dest "rsync://rsyncuser@127.0.0.1:$port/backup" --password-file "$run/rsync.pass" --state-dir "$run/state" "$data"
