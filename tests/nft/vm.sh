#!/usr/bin/env bash
# tests/nft/vm.sh NFQ_LISTEN WORKDIR — the nftables backend of
# nft/doppel-rules on a kernel that has the nft queue expression: Debian's
# kernel (linux-image-amd64) under qemu (TCG), an initramfs with busybox,
# bash, ip, nft, flock, the helper, the test reader NFQ_LISTEN and the
# modules, running tests/nft/vm_tests.sh. Prints its results as
# PASS/FAIL/SKIP lines prefixed vm_ (tests/run.sh's format).
# Env: NFT_VM_TIMEOUT (seconds for the VM, default 300).
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/../.." && pwd)
# shellcheck source=SCRIPTDIR/../lib/qemu.sh
. "$top/tests/lib/qemu.sh"
listener=$1 work=$2
root=$work/initramfs

qemu_test_root "$root" bash ip nft flock
case $? in
0) ;;
1) echo "SKIP vm_nft_backend: $QEMU_WHY"; exit 0 ;;
*) echo "FAIL vm_initramfs: $QEMU_WHY"; exit 1 ;;
esac
qemu_copy_with_libs "$root" "$listener" /test/nfq_listen ||
	{ echo "FAIL vm_initramfs: cannot copy $listener"; exit 1; }
cp "$top/nft/doppel-rules" "$root/test/doppel-rules"
cp "$here/vm_tests.sh" "$root/test/vm_tests.sh"
cp "$here/counters.nft" "$root/test/counters.nft"
cp "$here/vm_init" "$root/init"
chmod +x "$root/init" "$root/test/doppel-rules"

# crc32c_generic first: libcrc32c (for nf_tables) asks the crypto API for
# crc32c at load, and this initramfs has no modprobe to fetch it then.
qemu_add_modules "$root" "$QEMU_KVER" crc32c_generic veth nf_tables nft_queue nfnetlink_queue ||
	{ echo "FAIL vm_initramfs: module $QEMU_MISSING_MODULE not found for $QEMU_KVER"; exit 1; }
qemu_pack "$root" "$work/nft-vm.cpio.gz" || { echo "FAIL vm_initramfs: cpio"; exit 1; }
rm -rf "$root"

qemu_boot "${NFT_VM_TIMEOUT:-300}" 512 "$QEMU_KERNEL" "$work/nft-vm.cpio.gz" "$work/nft-vm-console.log"
QEMU_RC=$?
qemu_report "$work/nft-vm-console.log" NFTVM vm_
exit 0
