#!/usr/bin/env bash
# Installs the system packages mirrorfs, its tests, the benchmark's smoke test
# and the demo call, when missing. Debian/Ubuntu as root: apt-get. Elsewhere:
# says what to install.
#
# One line per program: "command package"; a command that is an absolute path
# is a file the package installs (for a package with no program, such as
# libfuse3-dev). internal/testkit's tool table
# (testkit.Require) names the same programs; TestDepsScriptCoversTools keeps
# the two in step.
set -euo pipefail

tools='
rsync           rsync
fusermount3     fuse3
inotifywait     inotify-tools
setfattr        attr
getfattr        attr
setfacl         acl
getfacl         acl
systemd-analyze systemd
lsyncd          lsyncd
fio             fio
ip              iproute2
mkfs.ext4       e2fsprogs
chattr          e2fsprogs
losetup         mount
setpriv         util-linux
make            make
git             git
tar             tar
stress-ng       stress-ng
sqlite3         sqlite3
cp              coreutils
/bin/sh         dash
sleep           coreutils
env             coreutils
cat             coreutils
ssh             openssh-client
ssh-keygen      openssh-client
ssh-keyscan     openssh-client
sshd            openssh-server
cc              build-essential
pkg-config      pkg-config
/usr/share/doc/libfuse3-dev/examples/passthrough_ll.c libfuse3-dev
'

need=()
while read -r cmd pkg; do
	[[ -n ${cmd:-} ]] || continue
	if [[ $cmd == /* ]]; then
		[[ -e $cmd ]] && continue
	else
		command -v "$cmd" >/dev/null 2>&1 && continue
	fi
	[[ " ${need[*]} " == *" $pkg "* ]] || need+=("$pkg")
done <<<"$tools"

if ((${#need[@]} == 0)); then
	exit 0
fi
if [[ $(id -u) -ne 0 ]] || ! command -v apt-get >/dev/null 2>&1; then
	echo "mirrorfs: missing packages: ${need[*]}; install them with your package manager (as root)" >&2
	exit 1
fi
echo "installing: ${need[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq "${need[@]}" >/dev/null
