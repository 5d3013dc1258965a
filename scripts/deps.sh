#!/usr/bin/env bash
# Install, with apt-get, the Debian packages that building and testing doppel
# need. Idempotent and silent when everything is present; says what is missing
# and why it cannot install it otherwise.
set -euo pipefail

# Building the daemons and the unit tests.
build_pkgs="gcc make pkg-config libpcap-dev libnetfilter-queue-dev libmnl-dev
	libnfnetlink-dev libcmocka-dev clang libclang-rt-14-dev libssl-dev"
# The end-to-end lab: real servers, real clients, real namespaces and rules.
lab_pkgs="iproute2 nftables iptables nginx-light redis-server redis-tools wrk curl
	tcpdump procps python3 prometheus"
# The kernel module: Debian's kernel and headers, booted under qemu; DKMS
# (openssl: it makes and uses the key that signs the module);
# linux-source only for its scripts/checkpatch.pl (Debian ships it nowhere else).
kmod_pkgs="linux-image-amd64 linux-headers-amd64 linux-source qemu-system-x86 busybox-static
	cpio kmod dkms sparse openssl"
# Operating it: unit verification, the units under systemd in a container
# (systemd-nspawn), packaging (dpkg-buildpackage checks for build-essential).
ops_pkgs="systemd systemd-container build-essential debhelper dh-dkms dpkg-dev fakeroot lintian"

# The benchmarks (make bench): instruction counts, the daemons' profile.
bench_pkgs="valgrind linux-perf"

want="$build_pkgs $lab_pkgs $kmod_pkgs $ops_pkgs $bench_pkgs"
missing=""
for p in $want; do
	status=$(dpkg-query -W -f='${db:Status-Status}' "$p" 2>/dev/null || true)
	[ "$status" = installed ] || missing="$missing $p"
done
[ -z "$missing" ] && exit 0

if ! command -v apt-get >/dev/null 2>&1; then
	echo "deps: missing packages:$missing" >&2
	echo "deps: this is not a Debian/Ubuntu system; install their equivalents by hand" >&2
	exit 1
fi
if [ "$(id -u)" != 0 ]; then
	echo "deps: missing packages:$missing" >&2
	echo "deps: run 'sudo make deps' to install them" >&2
	exit 1
fi
echo "deps: installing:$missing"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
# shellcheck disable=SC2086
apt-get install -y -qq --no-install-recommends $missing >/tmp/doppel-deps.log 2>&1 || {
	echo "deps: apt-get install failed; its log:" >&2
	tail -n 30 /tmp/doppel-deps.log >&2
	exit 1
}
echo "deps: done"
