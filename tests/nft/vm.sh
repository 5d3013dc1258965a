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
timeout_s=${NFT_VM_TIMEOUT:-300}

skip() { echo "SKIP $1: $2"; exit 0; }

kver=$(qemu_kernel_version)
[ -n "$kver" ] && [ -d "/lib/modules/$kver" ] && [ -r "/boot/vmlinuz-$kver" ] ||
	skip vm_nft_backend "no Debian kernel image and modules (linux-image-amd64; scripts/deps.sh check)"
command -v qemu-system-x86_64 >/dev/null || skip vm_nft_backend "no qemu-system-x86_64 (scripts/deps.sh check)"
for tool in busybox bash nft ip flock cpio gzip; do
	command -v $tool >/dev/null || skip vm_nft_backend "no $tool"
done

root=$work/initramfs
rm -rf "$root"
qemu_busybox_root "$root" || { echo "FAIL vm_initramfs: busybox root"; exit 1; }
ln -s /bin/busybox "$root/usr/bin/env"	# for "#!/usr/bin/env bash"

copy() {
	qemu_copy_with_libs "$root" "$1" "$2" || { echo "FAIL vm_initramfs: cannot copy $1"; exit 1; }
}
copy "$(command -v bash)" /bin/bash
copy "$(command -v ip)" /usr/sbin/ip
copy "$(command -v nft)" /usr/sbin/nft
copy "$(command -v flock)" /usr/bin/flock
copy "$listener" /test/nfq_listen
cp "$top/nft/doppel-rules" "$root/test/doppel-rules"
cp "$here/vm_tests.sh" "$root/test/vm_tests.sh"
cp "$here/counters.nft" "$root/test/counters.nft"
cp "$here/vm_init" "$root/init"
chmod +x "$root/init" "$root/test/doppel-rules"

# crc32c_generic first: libcrc32c (for nf_tables) asks the crypto API for
# crc32c at load, and this initramfs has no modprobe to fetch it then.
qemu_add_modules "$root" "$kver" crc32c_generic veth nf_tables nft_queue nfnetlink_queue ||
	{ echo "FAIL vm_initramfs: module $QEMU_MISSING_MODULE not found for $kver"; exit 1; }
qemu_pack "$root" "$work/nft-vm.cpio.gz" || { echo "FAIL vm_initramfs: cpio"; exit 1; }
rm -rf "$root"

log=$work/nft-vm-console.log
qemu_boot "$timeout_s" 512 "/boot/vmlinuz-$kver" "$work/nft-vm.cpio.gz" "$log"
rc=$?
tr -d '\r' <"$log" | sed -n 's/.*NFTVM \(PASS\|FAIL\|SKIP\) /\1 vm_/p'
if ! tr -d '\r' <"$log" | grep -q 'NFTVM DONE'; then
	echo "FAIL vm_completed: qemu exited $rc (124: timeout after ${timeout_s}s) before the tests ended"
	tr -d '\r' <"$log" | tail -n 30
fi
exit 0
