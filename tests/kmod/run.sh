#!/usr/bin/env bash
# The kmod suite: doppel.ko built with Kbuild against Debian's kernel headers
# (the version linux-image-amd64 installs, not the running kernel's), its
# module parameters, sparse, checkpatch, the uapi header on its own, the tests'
# helpers built against intercept's kmod source, `dkms build` in a throwaway
# tree, then Debian's kernel booted under qemu (TCG) with an initramfs that
# runs tests/kmod/vm_tests.sh and reports on the serial console.
#
# Prints PASS/FAIL/SKIP lines (tests/run.sh). The VM tests are prefixed vm_.
# Env: DOPPEL_BINDIR (doppel-copy/doppel-intercept, default build),
#      KMOD_QEMU_TIMEOUT (seconds for the whole VM run, default 420),
#      KMOD_VM_TESTS (comma-separated vm_tests.sh tests to run, e.g.
#      "hostile,replay"; default all), KMOD_SKIP_DKMS=1.
set -uo pipefail
cd "$(dirname "$0")/../.."
out=build/kmod-test
mkdir -p "$out"

pass() { echo "PASS $1"; }
fail() { echo "FAIL $1: $2"; }
skip() { echo "SKIP $1: $2"; }

# shellcheck source=tests/lib/qemu.sh
. tests/lib/qemu.sh
kver=$(qemu_kernel_version)
kdir=/lib/modules/$kver/build
if [ -z "$kver" ] || [ ! -d "$kdir" ]; then
	fail kmod_headers "no Debian kernel headers (linux-headers-amd64); run scripts/deps.sh check"
	exit 1
fi
echo "kernel $kver, headers $kdir"

# Kbuild in a copy, so parallel builds of kmod/ do not race.
test_build() {
	rm -rf "$out/src"
	mkdir -p "$out/src/kmod" "$out/src/include/uapi"
	cp kmod/Kbuild kmod/Makefile kmod/*.c kmod/*.h "$out/src/kmod/"
	cp include/uapi/doppel.h "$out/src/include/uapi/"
	if make -C "$out/src/kmod" KDIR="$kdir" W=1 >"$out/kbuild.log" 2>&1 &&
	   [ -f "$out/src/kmod/doppel.ko" ]; then
		if grep -q 'warning:' "$out/kbuild.log"; then
			fail kmod_kbuild "warnings: $(grep -m1 'warning:' "$out/kbuild.log")"
		else
			pass kmod_kbuild
		fi
	else
		fail kmod_kbuild "build failed: $(grep -m1 -E 'error|Error' "$out/kbuild.log")"
		tail -n 20 "$out/kbuild.log"
		return 1
	fi
}

test_modinfo() {
	local ko=$out/src/kmod/doppel.ko parms vermagic
	parms=$(modinfo -F parm "$ko" | grep -c ':.*[a-z].*(uint)$')
	vermagic=$(modinfo -F vermagic "$ko")
	if [ "$parms" = 4 ] && [ "${vermagic%% *}" = "$kver" ] &&
	   modinfo -F alias "$ko" | grep -q 'net-pf-16-proto-16-family-doppel'; then
		pass kmod_modinfo
	else
		fail kmod_modinfo "parameters with descriptions $parms/4, vermagic '$vermagic'"
		modinfo "$ko"
	fi
}

# sparse over every file (C=2), with the kernel's own checker flags.
test_sparse() {
	if ! command -v sparse >/dev/null; then
		skip kmod_sparse "sparse is not installed (scripts/deps.sh check)"
		return
	fi
	make -C "$out/src/kmod" KDIR="$kdir" check >"$out/sparse.log" 2>&1
	if grep -E '(warning|error):' "$out/sparse.log" | grep -q .; then
		fail kmod_sparse "$(grep -m1 -E '(warning|error):' "$out/sparse.log")"
	elif [ "$(grep -c '  CHECK ' "$out/sparse.log")" -lt 6 ]; then
		fail kmod_sparse "sparse did not check the sources: $(tail -n1 "$out/sparse.log")"
	else
		pass kmod_sparse
	fi
}

find_checkpatch() {
	local found tarball
	found=$(find /usr/src "$kdir/" -maxdepth 4 -name checkpatch.pl 2>/dev/null | head -n1)
	if [ -n "$found" ]; then
		echo "$found"
		return
	fi
	# Debian ships checkpatch.pl only inside linux-source's tarball.
	tarball=$(ls /usr/src/linux-source-*.tar.xz 2>/dev/null | sort -V | tail -n1)
	[ -n "$tarball" ] || return
	if [ ! -x "$out/checkpatch/scripts/checkpatch.pl" ]; then
		mkdir -p "$out/checkpatch"
		tar -xJf "$tarball" -C "$out/checkpatch" --strip-components=1 --wildcards \
			'*/scripts/checkpatch.pl' '*/scripts/spelling.txt' \
			'*/scripts/const_structs.checkpatch' 2>/dev/null || return
	fi
	echo "$out/checkpatch/scripts/checkpatch.pl"
}

test_checkpatch() {
	local checkpatch
	checkpatch=$(find_checkpatch)
	if [ -z "$checkpatch" ]; then
		skip kmod_checkpatch "no checkpatch.pl (install linux-source)"
		return
	fi
	"$checkpatch" --no-tree --strict --terse --show-types -f kmod/*.c kmod/*.h \
		include/uapi/doppel.h >"$out/checkpatch.log" 2>&1
	if grep -v '^total: 0 errors, 0 warnings, 0 checks' "$out/checkpatch.log" | grep -q .; then
		fail kmod_checkpatch "$(grep -v '^total: ' "$out/checkpatch.log" | head -n1)"
		cat "$out/checkpatch.log"
	else
		pass kmod_checkpatch
	fi
}

# The uapi header stands alone in userspace: only linux/types.h, C89-clean.
test_uapi() {
	if printf '#include "uapi/doppel.h"\nint x = DOPPEL_CMD_MAX + DOPPEL_A_MAX;\n' |
	   cc -x c -std=c89 -pedantic -Wall -Wextra -Werror -fsyntax-only -Iinclude - 2>"$out/uapi.log" &&
	   [ "$(grep -c '^#include' include/uapi/doppel.h)" = 1 ] &&
	   grep -q '^#include <linux/types.h>' include/uapi/doppel.h; then
		pass kmod_uapi_header
	else
		fail kmod_uapi_header "$(head -n1 "$out/uapi.log")"
	fi
}

# kmodctl runs intercept's real kmod source; hostile sends the bad packets.
test_tools() {
	local obj=$out/obj
	mkdir -p "$out/bin"
	if make --no-print-directory BUILD="$obj" "$obj/tests/kmod/kmodctl" "$obj/tests/kmod/hostile" \
		>"$out/tools.log" 2>&1 &&
	   cp "$obj/tests/kmod/kmodctl" "$obj/tests/kmod/hostile" "$out/bin/"; then
		pass kmod_source_builds
	else
		fail kmod_source_builds "$(grep -m1 -E 'error|warning' "$out/tools.log")"
		return 1
	fi
	# Outside the VM the family is missing: the source must say so plainly.
	local said
	said=$("$out/bin/kmodctl" listen --match 8080 --seconds 1 2>&1)
	if echo "$said" | grep -q 'doppel kernel module is not loaded'; then
		pass kmod_source_no_module
	else
		fail kmod_source_no_module "no clear error without the module"
	fi
	said=$("$out/bin/kmodctl" listen --filter tcp --match 8080 2>&1)
	if echo "$said" | grep -q 'cannot be applied in the kernel'; then
		pass kmod_source_refuses_filter
	else
		fail kmod_source_refuses_filter "-F was not refused"
	fi
}

test_dkms() {
	if ! command -v dkms >/dev/null; then
		skip kmod_dkms_build "dkms is not installed (scripts/deps.sh check)"
		return
	fi
	if scripts/dkms.sh test-build "$kver" >"$out/dkms.log" 2>&1 &&
	   grep -q "^vermagic: *$kver " "$out/dkms.log"; then
		pass kmod_dkms_build
	else
		fail kmod_dkms_build "$(grep -m1 -iE 'error|failed' "$out/dkms.log")"
		tail -n 20 "$out/dkms.log"
	fi
	if grep -q '^signer: *DKMS module signing key' "$out/dkms.log"; then
		pass kmod_dkms_signed
	else
		skip kmod_dkms_signed "dkms did not sign (no sign-file or openssl)"
	fi
}

test_qemu() {
	local bindir=${DOPPEL_BINDIR:-build} image=/boot/vmlinuz-$kver log=$out/console.log
	local timeout_s=${KMOD_QEMU_TIMEOUT:-420}
	if ! command -v qemu-system-x86_64 >/dev/null || [ ! -r "$image" ]; then
		fail vm_boot "qemu-system-x86_64 or $image missing (scripts/deps.sh check)"
		return
	fi
	for b in doppel-copy doppel-intercept; do
		[ -x "$bindir/$b" ] && cp "$bindir/$b" "$out/bin/"
	done
	if ! tests/kmod/initramfs.sh "$kver" "$out/src/kmod/doppel.ko" "$out/bin" \
		"$out/initramfs.cpio.gz" >"$out/initramfs.log" 2>&1; then
		fail vm_initramfs "$(tail -n1 "$out/initramfs.log")"
		return
	fi
	qemu_boot "$timeout_s" 1024 "$image" "$out/initramfs.cpio.gz" "$log" \
		"${KMOD_VM_TESTS:+kmodtests=$KMOD_VM_TESTS}"
	echo "qemu exited $? (124 = timeout)"
	tr -d '\r' <"$log" | sed -n 's/.*KMODTEST \(PASS\|FAIL\|SKIP\) /\1 vm_/p'
	if ! tr -d '\r' <"$log" | grep -q 'KMODTEST DONE'; then
		fail vm_completed "the VM did not finish its tests (timeout after ${timeout_s}s or a panic)"
	else
		pass vm_completed
	fi
	if tr -d '\r' <"$log" | grep -qE 'Kernel panic|Oops|BUG:|WARNING:'; then
		fail vm_console_clean "$(tr -d '\r' <"$log" | grep -m1 -E 'Kernel panic|Oops|BUG:|WARNING:')"
	fi
	echo "--- VM console (last 60 lines)"
	tr -d '\r' <"$log" | tail -n 60
}

if test_build; then
	test_modinfo
	test_sparse
fi
test_checkpatch
test_uapi
test_tools && [ -f "$out/src/kmod/doppel.ko" ] && test_qemu
[ "${KMOD_SKIP_DKMS:-}" = 1 ] || test_dkms
exit 0
