#!/usr/bin/env bash
# tests/nft/tunnel_vm.sh TUNNEL_SEND WORKDIR — nft/doppel-tunnel's ipip,
# gre, fou and vxlan endpoints against doppel-copy's tunnel send path
# (TUNNEL_SEND: tests/nft/tunnel_send.c) on Debian's kernel under qemu
# (TCG), which has the tunnel modules the CI machine's kernel lacks; the
# tests are tests/nft/tunnel_vm_tests.sh. Prints PASS/FAIL/SKIP lines
# prefixed vm_. Env: NFT_VM_TIMEOUT (seconds for the VM, default 300).
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/../.." && pwd)
# shellcheck source=SCRIPTDIR/../lib/qemu.sh
. "$top/tests/lib/qemu.sh"
sender=$1 work=$2
timeout_s=${NFT_VM_TIMEOUT:-300}

skip() { echo "SKIP $1: $2"; exit 0; }

kver=$(qemu_kernel_version)
[ -n "$kver" ] && [ -d "/lib/modules/$kver" ] && [ -r "/boot/vmlinuz-$kver" ] ||
	skip vm_tunnel "no Debian kernel image and modules (linux-image-amd64; scripts/deps.sh check)"
command -v qemu-system-x86_64 >/dev/null || skip vm_tunnel "no qemu-system-x86_64 (scripts/deps.sh check)"
for tool in busybox bash nft ip flock cpio gzip; do
	command -v $tool >/dev/null || skip vm_tunnel "no $tool"
done

root=$work/tunnel-initramfs
rm -rf "$root"
qemu_busybox_root "$root" || { echo "FAIL vm_tunnel_initramfs: busybox root"; exit 1; }
ln -s /bin/busybox "$root/usr/bin/env"	# for "#!/usr/bin/env bash"
copy() {
	qemu_copy_with_libs "$root" "$1" "$2" || { echo "FAIL vm_tunnel_initramfs: cannot copy $1"; exit 1; }
}
copy "$(command -v bash)" /bin/bash
copy "$(command -v ip)" /usr/sbin/ip
copy "$(command -v nft)" /usr/sbin/nft
copy "$(command -v flock)" /usr/bin/flock
copy "$(command -v readlink)" /usr/bin/readlink
copy "$(command -v tac)" /usr/bin/tac
copy "$sender" /test/tunnel_send
cp "$top/nft/doppel-tunnel" "$top/nft/doppel-rules" "$root/test/"
cp "$here/tunnel_vm_tests.sh" "$root/test/vm_tests.sh"
cp "$here/vm_init" "$root/init"
chmod +x "$root/init" "$root/test/doppel-tunnel" "$root/test/doppel-rules"

qemu_add_modules "$root" "$kver" crc32c_generic veth nf_tables ipip ip_gre fou fou6 \
	ip6_tunnel ip6_gre vxlan ||
	{ echo "FAIL vm_tunnel_initramfs: module $QEMU_MISSING_MODULE not found for $kver"; exit 1; }
qemu_pack "$root" "$work/tunnel-vm.cpio.gz" || { echo "FAIL vm_tunnel_initramfs: cpio"; exit 1; }
rm -rf "$root"

log=$work/tunnel-vm-console.log
qemu_boot "$timeout_s" 512 "/boot/vmlinuz-$kver" "$work/tunnel-vm.cpio.gz" "$log"
rc=$?
tr -d '\r' <"$log" | sed -n 's/.*NFTVM \(PASS\|FAIL\|SKIP\) /\1 vm_/p'
if ! tr -d '\r' <"$log" | grep -q 'NFTVM DONE'; then
	echo "FAIL vm_tunnel_completed: qemu exited $rc (124: timeout after ${timeout_s}s) before the tests ended"
	tr -d '\r' <"$log" | tail -n 30
fi
exit 0
