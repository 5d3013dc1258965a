#!/usr/bin/env bash
# Build the kmod tests' initramfs: busybox-static, the host's iproute2 `ip`,
# nft, the kernel modules the tests need (with their dependencies, from KVER's
# modules.dep, in load order), doppel.ko, our binaries with the shared
# libraries ldd names, and tests/kmod/init + vm_tests.sh.
#
#   initramfs.sh KVER DOPPEL_KO BINDIR OUT.cpio.gz
# BINDIR holds kmodctl and hostile, and doppel-copy/doppel-intercept when
# they were built (the replay test skips without them).
set -euo pipefail
kver=$1 ko=$2 bindir=$3 out=$4
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=SCRIPTDIR/../lib/qemu.sh
. "$here/../lib/qemu.sh"
root=$(mktemp -d /tmp/doppel-initramfs.XXXXXX)
trap 'rm -rf "$root"' EXIT

qemu_busybox_root "$root"
mkdir -p "$root/www"
ln -s /run "$root/var" 2>/dev/null || { mkdir -p "$root/var"; ln -s /run "$root/var/run"; }

qemu_copy_with_libs "$root" "$(command -v ip)" /usr/sbin/ip
# nft turns conntrack on for the no-conntrack test (skipped without it).
nft=$(command -v nft || true)
[ -n "$nft" ] && qemu_copy_with_libs "$root" "$nft" /usr/sbin/nft
for b in kmodctl hostile doppel-copy doppel-intercept; do
	[ -x "$bindir/$b" ] && qemu_copy_with_libs "$root" "$bindir/$b" "/usr/bin/$b"
done
cp "$ko" "$root/lib/doppel.ko"

# nft_ct brings nf_tables, nfnetlink, nf_conntrack and the defrag modules;
# their libcrc32c needs crc32c loaded first (a softdep, and no modprobe here).
qemu_add_modules "$root" "$kver" veth bridge crc32c_generic nft_ct ||
	{ echo "initramfs: module $QEMU_MISSING_MODULE not found for $kver" >&2; exit 1; }

cp "$here/init" "$root/init"
cp "$here/vm_tests.sh" "$root/test/vm_tests.sh"
chmod +x "$root/init" "$root/test/vm_tests.sh"
echo "doppel kmod test page" >"$root/www/index.html"
qemu_pack "$root" "$out"
