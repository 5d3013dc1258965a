#!/usr/bin/env bash
# tests/nft/tunnel_vm.sh TUNNEL_SEND WORKDIR — on Debian's kernel under qemu
# (TCG), which has the tunnel, mirror and tc modules the CI machine's kernel
# lacks, in one boot:
#   tests/nft/tunnel_vm_tests.sh   nft/doppel-tunnel's ipip, gre, fou and
#                                  vxlan endpoints against doppel-copy's
#                                  tunnel send path (TUNNEL_SEND:
#                                  tests/nft/tunnel_send.c);
#   tests/nft/replay_vm_tests.sh   whole replays with doppel-copy and
#                                  doppel-intercept through those tunnels,
#                                  and from gretap, ERSPAN II/III and GENEVE
#                                  mirrors (SKIPped when the daemons are
#                                  not built).
# Prints PASS/FAIL/SKIP lines prefixed vm_.
# Env: NFT_VM_TIMEOUT (seconds for the VM, default 300), DOPPEL_BINDIR
# (doppel-copy and doppel-intercept, default build).
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/../.." && pwd)
# shellcheck source=SCRIPTDIR/../lib/qemu.sh
. "$top/tests/lib/qemu.sh"
sender=$1 work=$2
bindir=${DOPPEL_BINDIR:-$top/build}
root=$work/tunnel-initramfs

qemu_test_root "$root" bash ip nft tc flock readlink tac
case $? in
0) ;;
1) echo "SKIP vm_tunnel: $QEMU_WHY"; exit 0 ;;
*) echo "FAIL vm_tunnel_initramfs: $QEMU_WHY"; exit 1 ;;
esac
for f in "$sender" "$bindir/doppel-copy" "$bindir/doppel-intercept"; do
	[ -x "$f" ] || continue
	qemu_copy_with_libs "$root" "$f" "/usr/bin/$(basename "$f")" ||
		{ echo "FAIL vm_tunnel_initramfs: cannot copy $f"; exit 1; }
done
ln -s /usr/bin/tunnel_send "$root/test/tunnel_send"
cp "$top/nft/doppel-tunnel" "$top/nft/doppel-rules" "$root/test/"
cp "$here/tunnel_vm_tests.sh" "$root/test/vm_tests.sh"
cp "$here/replay_vm_tests.sh" "$root/test/replay_vm_tests.sh"
cp "$here/vm_init" "$root/init"
chmod +x "$root/init" "$root/test/doppel-tunnel" "$root/test/doppel-rules"

qemu_add_modules "$root" "$QEMU_KVER" crc32c_generic veth bridge nf_tables nft_queue \
	nfnetlink_queue ipip ip_gre fou fou6 ip6_tunnel ip6_gre vxlan geneve \
	sch_ingress cls_matchall act_mirred ||
	{ echo "FAIL vm_tunnel_initramfs: module $QEMU_MISSING_MODULE not found for $QEMU_KVER"; exit 1; }
qemu_pack "$root" "$work/tunnel-vm.cpio.gz" || { echo "FAIL vm_tunnel_initramfs: cpio"; exit 1; }
rm -rf "$root"

qemu_boot "${NFT_VM_TIMEOUT:-300}" 512 "$QEMU_KERNEL" "$work/tunnel-vm.cpio.gz" "$work/tunnel-vm-console.log"
QEMU_RC=$?
qemu_report "$work/tunnel-vm-console.log" NFTVM vm_ vm_tunnel_completed
exit 0
