#!/usr/bin/env bash
# Install, with apt-get, the Debian packages doppel needs, by set:
#
#   scripts/deps.sh            building and running (make deps): compiler,
#                              libraries, the netfilter tools doppel-rules
#                              drives; no server, nothing only tests need
#   scripts/deps.sh check      + everything make check runs (servers, load
#                              generators, qemu and a kernel, packaging tools)
#   scripts/deps.sh demo       + the lab make demo runs (nginx, wrk, ...)
#   scripts/deps.sh bench      + the lab and the profilers make bench uses
#   scripts/deps.sh package    + what dpkg-buildpackage needs
#   scripts/deps.sh --list [SET...]   print the packages, install nothing
#
# Idempotent and silent when everything is present; says what is missing
# and why it cannot install it otherwise. A production host needs only the
# first (or only the .deb, which depends on no server).
set -euo pipefail

# Building the daemons.
build_pkgs="gcc make pkg-config libpcap-dev libnetfilter-queue-dev libmnl-dev
	libnfnetlink-dev libssl-dev libjson-c-dev libidn-dev"
# Running them: doppel-rules drives nft or iptables; ip for the set-ups.
run_pkgs="iproute2 nftables iptables"
# The unit tests and the fuzzers.
unit_pkgs="libcmocka-dev clang libclang-rt-14-dev"
# The end-to-end lab: real servers, real clients, real namespaces and rules.
lab_pkgs="iproute2 nftables iptables nginx-light redis-server redis-tools wrk curl
	tcpdump procps python3 prometheus postgresql mariadb-server sysbench ethtool"
# The kernel module: Debian's kernel and headers, booted under qemu; DKMS
# (openssl: it makes and uses the key that signs the module);
# linux-source only for its scripts/checkpatch.pl (Debian ships it nowhere else).
kmod_pkgs="linux-image-amd64 linux-headers-amd64 linux-source qemu-system-x86 busybox-static
	cpio kmod dkms sparse openssl"
# Operating it: unit verification, the units under systemd in a container
# (systemd-nspawn), lintian on the packages, the shipped logrotate file.
ops_pkgs="systemd systemd-container lintian logrotate"
# The OCI image (deploy/image.sh) and its e2e run: buildah builds from
# scratch, podman runs it; runc, since crun refuses hybrid cgroup set-ups;
# catatonit, the pause process of the pods podman kube play makes from the
# Kubernetes manifests (tests/e2e/scenarios/kube.sh).
image_pkgs="podman buildah runc catatonit"

# The benchmarks (make bench): instruction counts, the daemons' profile.
bench_pkgs="valgrind linux-perf"

# The ops suite's packaging half, and what building the .deb needs.
package_pkgs="build-essential debhelper dh-dkms dpkg-dev fakeroot"

list=no
if [ "${1:-}" = --list ]; then
	list=yes
	shift
fi
want="$build_pkgs $run_pkgs"
for set in "$@"; do
	case $set in
	run) ;;
	check) want="$want $unit_pkgs $lab_pkgs $kmod_pkgs $ops_pkgs $package_pkgs $bench_pkgs $image_pkgs" ;;
	demo) want="$want $lab_pkgs" ;;
	bench) want="$want $lab_pkgs $bench_pkgs" ;;
	package) want="$want $package_pkgs" ;;
	*) echo "deps: unknown set '$set' (run, check, demo, bench, package)" >&2; exit 2 ;;
	esac
done
if [ $list = yes ]; then
	# shellcheck disable=SC2086
	printf '%s\n' $want | sort -u
	exit 0
fi
missing=""
for p in $want; do
	status=$(dpkg-query -W -f='${db:Status-Status}' "$p" 2>/dev/null || true)
	[ "$status" = installed ] || case " $missing " in *" $p "*) ;; *) missing="$missing $p" ;; esac
done
[ -z "$missing" ] && exit 0

if ! command -v apt-get >/dev/null 2>&1; then
	echo "deps: missing packages:$missing" >&2
	echo "deps: this is not a Debian/Ubuntu system; install their equivalents by hand" >&2
	exit 1
fi
if [ "$(id -u)" != 0 ]; then
	echo "deps: missing packages:$missing" >&2
	echo "deps: run 'sudo scripts/deps.sh${*:+ $*}' to install them" >&2
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
