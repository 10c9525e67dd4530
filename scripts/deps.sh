#!/usr/bin/env bash
# Installs the system packages mirrorfs and its tests need, when missing.
# Debian/Ubuntu as root: apt-get. Elsewhere: says what to install.
set -euo pipefail

need=()
command -v rsync >/dev/null 2>&1 || need+=(rsync)
command -v fusermount3 >/dev/null 2>&1 || need+=(fuse3)
command -v inotifywait >/dev/null 2>&1 || need+=(inotify-tools)
command -v setfattr >/dev/null 2>&1 || need+=(attr)
# systemd-analyze verifies the shipped unit (tests/systemd_test.go); installing
# the package does not make systemd PID 1.
command -v systemd-analyze >/dev/null 2>&1 || need+=(systemd)
# The benchmark's peers and load generator (its smoke test runs in make test).
command -v lsyncd >/dev/null 2>&1 || need+=(lsyncd)
command -v fio >/dev/null 2>&1 || need+=(fio)
# ip: the network-cut test runs the daemon in a network namespace.
command -v ip >/dev/null 2>&1 || need+=(iproute2)

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
