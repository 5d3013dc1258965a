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
root=$(mktemp -d /tmp/doppel-initramfs.XXXXXX)
trap 'rm -rf "$root"' EXIT
moddir=/lib/modules/$kver

mkdir -p "$root"/{bin,sbin,usr/bin,usr/sbin,proc,sys,dev,run,tmp,etc,lib/modules,test,www}
cp /bin/busybox "$root/bin/busybox"
for applet in $(/bin/busybox --list); do
	[ -e "$root/bin/$applet" ] || ln -s busybox "$root/bin/$applet"
done
ln -s /run "$root/var" 2>/dev/null || { mkdir -p "$root/var"; ln -s /run "$root/var/run"; }

# A binary and every library it loads, at the same paths.
copy_with_libs() {
	local file=$1 dest=$2 lib
	cp -L "$file" "$root$dest"
	for lib in $(ldd "$file" 2>/dev/null | grep -o '/[^ ]*'); do
		[ -e "$root$lib" ] && continue
		mkdir -p "$root$(dirname "$lib")"
		cp -L "$lib" "$root$lib"
	done
}
copy_with_libs "$(command -v ip)" /usr/sbin/ip
# nft turns conntrack on for the no-conntrack test (skipped without it).
nft=$(command -v nft || true)
[ -n "$nft" ] && copy_with_libs "$nft" /usr/sbin/nft
for b in kmodctl hostile doppel-copy doppel-intercept; do
	[ -x "$bindir/$b" ] && copy_with_libs "$bindir/$b" "/usr/bin/$b"
done
cp "$ko" "$root/lib/doppel.ko"

# Modules in dependency order: each one's dependencies first.
declare -A seen=()
order=()
add_module() {
	local path deps dep
	path=$(grep -E "(^|/)$1\.ko(\.[a-z]+)?:" "$moddir/modules.dep" | head -n1 | cut -d: -f1)
	[ -n "$path" ] || { echo "initramfs: module $1 not found for $kver" >&2; return 1; }
	[ -n "${seen[$path]:-}" ] && return 0
	seen[$path]=1
	deps=$(grep -E "^$path:" "$moddir/modules.dep" | cut -d: -f2)
	for dep in $deps; do
		add_module "$(basename "$dep" | sed -E 's/\.ko(\.[a-z]+)?$//')"
	done
	mkdir -p "$root/lib/modules/$(dirname "$path")"
	case "$path" in
	*.ko.xz) xz -dc "$moddir/$path" >"$root/lib/modules/${path%.xz}"; path=${path%.xz} ;;
	*.ko.zst) zstd -qdc "$moddir/$path" >"$root/lib/modules/${path%.zst}"; path=${path%.zst} ;;
	*) cp "$moddir/$path" "$root/lib/modules/$path" ;;
	esac
	order+=("$path")
}
# nft_ct brings nf_tables, nfnetlink, nf_conntrack and the defrag modules;
# their libcrc32c needs crc32c loaded first (a softdep, and no modprobe here).
for m in veth bridge crc32c_generic nft_ct; do
	add_module "$m"
done
printf '%s\n' "${order[@]}" >"$root/modules.list"

cp "$here/init" "$root/init"
cp "$here/vm_tests.sh" "$root/test/vm_tests.sh"
chmod +x "$root/init" "$root/test/vm_tests.sh"
echo "doppel kmod test page" >"$root/www/index.html"
(cd "$root" && find . | cpio -o -H newc --quiet | gzip -1) >"$out"
