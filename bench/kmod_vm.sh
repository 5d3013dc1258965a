#!/usr/bin/env bash
# bench/kmod_vm.sh — figure (c) for the kernel module: intercept's kmod
# source against its nfqueue source on the same replay, inside one qemu VM
# (Debian's kernel, TCG: this machine's kernel loads no modules, and KVM
# hangs here). Emulated timings compare only with each other, so both
# sources run in the same VM, alternately. Run by bench/lab.sh (LAB_PARTS
# kmod) or alone; prints figures, never PASS/FAIL.
#
# Builds doppel.ko against Debian's headers (in a copy, as tests/kmod does),
# the tests' initramfs with tests/kmod/initramfs.sh, then appends a second
# archive (the kernel unpacks concatenated ones, later files winning) with
# bench/kmod_vm_bench.sh as the VM's test script, nft and the netfilter
# queue modules. Environment: BUILD (doppel-copy and doppel-intercept),
# KMOD_REQUESTS (per run, default 200), KMOD_RUNS (default 3).
set -uo pipefail

here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/.." && pwd)
# shellcheck source=SCRIPTDIR/../tests/lib/qemu.sh
. "$root/tests/lib/qemu.sh"
BUILD=${BUILD:-build}
case $BUILD in /*) ;; *) BUILD=$root/$BUILD ;; esac
out=$BUILD/bench-kmod
mkdir -p "$out/bin"

not_measured() { echo "kmod: not measured: $*"; exit 0; }

kver=$(qemu_kernel_version)
image=/boot/vmlinuz-$kver
[ -n "$kver" ] && [ -d "/lib/modules/$kver/build" ] && [ -r "$image" ] ||
	not_measured "Debian's kernel and headers are missing (make deps)"
command -v qemu-system-x86_64 >/dev/null || not_measured "qemu-system-x86_64 is missing (make deps)"
command -v nft >/dev/null || not_measured "nft is missing (make deps)"
for b in doppel-copy doppel-intercept; do
	[ -x "$BUILD/$b" ] || not_measured "$BUILD/$b is missing (make all)"
	cp "$BUILD/$b" "$out/bin/"
done

# doppel.ko, built in a copy so parallel builds of kmod/ do not race.
rm -rf "$out/src"
mkdir -p "$out/src/kmod" "$out/src/include/uapi"
cp "$root"/kmod/Kbuild "$root"/kmod/Makefile "$root"/kmod/*.c "$root"/kmod/*.h "$out/src/kmod/"
cp "$root/include/uapi/doppel.h" "$out/src/include/uapi/"
make -C "$out/src/kmod" KDIR="/lib/modules/$kver/build" >"$out/kbuild.log" 2>&1 &&
	[ -f "$out/src/kmod/doppel.ko" ] || not_measured "doppel.ko did not build (see $out/kbuild.log)"

"$root/tests/kmod/initramfs.sh" "$kver" "$out/src/kmod/doppel.ko" "$out/bin" \
	"$out/base.cpio.gz" >"$out/initramfs.log" 2>&1 ||
	not_measured "tests/kmod/initramfs.sh failed: $(tail -n 1 "$out/initramfs.log")"

# The VM's load generator, static: one process for all the requests.
cc -std=gnu11 -static -O2 -Wall -Wextra -o "$out/vm_http_client" "$here/vm_http_client.c" ||
	not_measured "bench/vm_http_client.c did not build (static libc: libc6-dev)"

# The overlay: our test script and client, nft with its libraries, every
# module the VM needs in load order (the base list's veth and bridge, and
# the queue).
overlay=$(mktemp -d /tmp/doppel-kmod-bench.XXXXXX)
trap 'rm -rf "$overlay"' EXIT
mkdir -p "$overlay/test" "$overlay/usr/bin"
cp "$here/kmod_vm_bench.sh" "$overlay/test/vm_tests.sh"
sed -i "s/^REQUESTS=.*/REQUESTS=${KMOD_REQUESTS:-200}/; s/^RUNS=.*/RUNS=${KMOD_RUNS:-3}/" \
	"$overlay/test/vm_tests.sh"
chmod +x "$overlay/test/vm_tests.sh"
qemu_copy_with_libs "$overlay" "$(command -v nft)" /usr/sbin/nft ||
	not_measured "cannot copy nft and its libraries into the overlay"
cp "$out/vm_http_client" "$overlay/usr/bin/vm_http_client"

# crc32c_generic: libcrc32c's soft dependency (modules.softdep), which
# modules.dep does not list; nf_tables needs libcrc32c.
qemu_add_modules "$overlay" "$kver" veth bridge crc32c_generic nfnetlink_queue nf_tables nft_queue ||
	not_measured "module $QEMU_MISSING_MODULE is not in $kver's modules"
qemu_pack "$overlay" "$out/overlay.cpio.gz"
cat "$out/base.cpio.gz" "$out/overlay.cpio.gz" >"$out/initramfs.cpio.gz"

log=$out/console.log
qemu_boot 900 1024 "$image" "$out/initramfs.cpio.gz" "$log"
rc=$?
tr -d '\r' <"$log" | grep -q 'KMODTEST DONE' ||
	echo "kmod: the VM did not finish (qemu status $rc; 124 = timeout); console in $log"
tr -d '\r' <"$log" | grep 'KMODBENCH' | sed 's/^.*KMODBENCH /  /'
if tr -d '\r' <"$log" | grep -qE 'Kernel panic|Oops|BUG:|WARNING:'; then
	echo "kmod: the VM's console shows: $(tr -d '\r' <"$log" | grep -m1 -E 'Kernel panic|Oops|BUG:|WARNING:')"
fi

# Per summary, median over the runs of each source.
for source in kmod nfqueue; do
	tr -d '\r' <"$log" | awk -v s="$source" '$0 ~ "KMODBENCH RESULT " s " " {
		for (i = 1; i <= NF; i++) v[$i] = $(i + 1)
		if (v["summaries"] > 0) {
			n++
			icpt[n] = v["intercept_ticks"] / v["summaries"] * 10000 / 100
			vm[n] = v["vm_busy_ticks"] / v["summaries"] * 10000 / 100
			arrived = arrived " " v["arrived"] "/" v["online"]
		}
	}
	function median(a, n,   i, j, t) {
		for (i = 1; i <= n; i++) for (j = i + 1; j <= n; j++) if (a[j] < a[i]) { t = a[i]; a[i] = a[j]; a[j] = t }
		return n % 2 ? a[(n + 1) / 2] : (a[n / 2] + a[n / 2 + 1]) / 2
	}
	END {
		if (!n) { printf "%s: no result\n", s; exit }
		printf "%s (in qemu TCG): CPU s per 10k summaries: intercept median %.2f (min %.2f, max %.2f); whole VM median %.1f (min %.1f, max %.1f); arrived%s\n",
			s, median(icpt, n), icpt[1], icpt[n], median(vm, n), vm[1], vm[n], arrived
	}'
done
