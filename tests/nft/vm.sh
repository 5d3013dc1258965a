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
listener=$1 work=$2
timeout_s=${NFT_VM_TIMEOUT:-300}

skip() { echo "SKIP $1: $2"; exit 0; }

kver=$(ls /boot/vmlinuz-*-amd64 2>/dev/null | sed 's|/boot/vmlinuz-||' | sort -V | tail -n1)
[ -n "$kver" ] && [ -d "/lib/modules/$kver" ] ||
	skip vm_nft_backend "no Debian kernel image and modules (linux-image-amd64; make deps)"
command -v qemu-system-x86_64 >/dev/null || skip vm_nft_backend "no qemu-system-x86_64 (make deps)"
for tool in busybox bash nft ip flock cpio gzip; do
	command -v $tool >/dev/null || skip vm_nft_backend "no $tool"
done

root=$work/initramfs
moddir=/lib/modules/$kver
rm -rf "$root"
mkdir -p "$root"/{bin,sbin,usr/bin,usr/sbin,proc,sys,dev,run,tmp,etc,lib/modules,test}
cp "$(command -v busybox)" "$root/bin/busybox"
for applet in $("$root/bin/busybox" --list); do
	[ -e "$root/bin/$applet" ] || ln -s busybox "$root/bin/$applet"
done
ln -s /bin/busybox "$root/usr/bin/env"	# for "#!/usr/bin/env bash"

# A binary and every library it loads, at the same paths (over busybox's).
copy_with_libs() {
	local file=$1 dest=$2 lib
	rm -f "$root$dest"
	cp -L "$file" "$root$dest"
	for lib in $(ldd "$file" 2>/dev/null | grep -o '/[^ ]*'); do
		[ -e "$root$lib" ] && continue
		mkdir -p "$root$(dirname "$lib")"
		cp -L "$lib" "$root$lib"
	done
}
copy_with_libs "$(command -v bash)" /bin/bash
copy_with_libs "$(command -v ip)" /usr/sbin/ip
copy_with_libs "$(command -v nft)" /usr/sbin/nft
copy_with_libs "$(command -v flock)" /usr/bin/flock
copy_with_libs "$listener" /test/nfq_listen
cp "$top/nft/doppel-rules" "$root/test/doppel-rules"
cp "$here/vm_tests.sh" "$root/test/vm_tests.sh"
cp "$here/counters.nft" "$root/test/counters.nft"
cp "$here/vm_init" "$root/init"
chmod +x "$root/init" "$root/test/doppel-rules"

# Modules in dependency order, each one's dependencies first.
declare -A seen=()
order=()
add_module() {
	local path dep
	path=$(grep -E "(^|/)$1\.ko(\.[a-z]+)?:" "$moddir/modules.dep" | head -n1 | cut -d: -f1)
	[ -n "$path" ] || return 1
	[ -n "${seen[$path]:-}" ] && return 0
	seen[$path]=1
	for dep in $(grep -E "^$path:" "$moddir/modules.dep" | cut -d: -f2); do
		add_module "$(basename "$dep" | sed -E 's/\.ko(\.[a-z]+)?$//')" || return 1
	done
	mkdir -p "$root/lib/modules/$(dirname "$path")"
	case $path in
	*.ko.xz) xz -dc "$moddir/$path" >"$root/lib/modules/${path%.xz}"; path=${path%.xz} ;;
	*.ko.zst) zstd -qdc "$moddir/$path" >"$root/lib/modules/${path%.zst}"; path=${path%.zst} ;;
	*) cp "$moddir/$path" "$root/lib/modules/$path" ;;
	esac
	order+=("$path")
}
# crc32c_generic first: libcrc32c (for nf_tables) asks the crypto API for
# crc32c at load, and this initramfs has no modprobe to fetch it then.
for m in crc32c_generic veth nf_tables nft_queue nfnetlink_queue; do
	add_module $m || { echo "FAIL vm_initramfs: module $m not found for $kver"; exit 1; }
done
printf '%s\n' "${order[@]}" >"$root/modules.list"
(cd "$root" && find . | cpio -o -H newc --quiet | gzip -1) >"$work/nft-vm.cpio.gz" ||
	{ echo "FAIL vm_initramfs: cpio"; exit 1; }
rm -rf "$root"

log=$work/nft-vm-console.log
# oops=panic and -no-reboot: a crash ends the VM instead of the timeout.
timeout "$timeout_s" qemu-system-x86_64 -accel tcg -cpu max -smp 2 -m 512 \
	-display none -monitor none -serial "file:$log" -no-reboot \
	-kernel "/boot/vmlinuz-$kver" -initrd "$work/nft-vm.cpio.gz" \
	-append "console=ttyS0 panic=-1 oops=panic loglevel=4 quiet" </dev/null
rc=$?
tr -d '\r' <"$log" | sed -n 's/.*NFTVM \(PASS\|FAIL\|SKIP\) /\1 vm_/p'
if ! tr -d '\r' <"$log" | grep -q 'NFTVM DONE'; then
	echo "FAIL vm_completed: qemu exited $rc (124: timeout after ${timeout_s}s) before the tests ended"
	tr -d '\r' <"$log" | tail -n 30
fi
exit 0
