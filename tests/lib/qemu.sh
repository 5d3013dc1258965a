# shellcheck shell=bash
# tests/lib/qemu.sh — booting Debian's kernel under qemu on a busybox
# initramfs: what tests/kmod/initramfs.sh, tests/nft/vm.sh and
# bench/kmod_vm.sh share. Source it (bash); it defines functions and runs
# nothing. The functions print nothing on success and say nothing on
# failure either: they return non-zero and the caller words the FAIL,
# SKIP or "not measured" line its suite wants.
#
#   qemu_kernel_version                 the kernel version to boot
#   qemu_busybox_root ROOT              a root with busybox and its applets
#   qemu_copy_with_libs ROOT FILE DEST  a binary and the libraries ldd names
#   qemu_add_modules ROOT KVER MOD...   modules, dependencies first
#   qemu_pack ROOT OUT                  ROOT as a gzipped newc cpio archive
#   qemu_boot TIMEOUT MEM KERNEL INITRD LOG [APPEND]
#   qemu_test_root ROOT TOOL...         kernel, qemu and tools there; a root
#                                       with busybox, /usr/bin/env and TOOLs
#   qemu_report LOG MARK PREFIX [DONE_NAME]  the console's MARK lines as results

# The version linux-image-amd64 installs (its Depends), not the running
# kernel's: this machine's own kernel loads no modules. Else the newest
# -amd64 one under /lib/modules; empty when there is none.
qemu_kernel_version() {
	local v
	v=$(dpkg-query -W -f='${Depends}' linux-image-amd64 2>/dev/null |
		grep -o 'linux-image-[0-9][^ ,]*' | head -n1 | sed 's/^linux-image-//')
	# shellcheck disable=SC2010 # version order (sort -V), not a glob's
	[ -n "$v" ] || v=$(ls /lib/modules 2>/dev/null | grep -- '-amd64$' | sort -V | tail -n1)
	echo "$v"
}

# ROOT's directories, busybox at /bin/busybox and a link in /bin for each of
# its applets. The callers' init scripts mount proc, sys and dev themselves.
qemu_busybox_root() {
	local root=$1 busybox applet
	busybox=$(command -v busybox || echo /bin/busybox)
	mkdir -p "$root"/{bin,sbin,usr/bin,usr/sbin,proc,sys,dev,run,tmp,etc,lib/modules,test} &&
		cp "$busybox" "$root/bin/busybox" || return 1
	for applet in $("$root/bin/busybox" --list); do
		[ -e "$root/bin/$applet" ] || ln -s busybox "$root/bin/$applet"
	done
}

# FILE at ROOT/DEST (replacing a busybox applet of that name: cp onto its
# link would overwrite busybox itself) and every library ldd names for it,
# at the same paths as on the host.
qemu_copy_with_libs() {
	local root=$1 file=$2 dest=$3 lib
	mkdir -p "$root$(dirname "$dest")" && rm -f "$root$dest" &&
		cp -L "$file" "$root$dest" || return 1
	for lib in $(ldd "$file" 2>/dev/null | grep -o '/[^ ]*'); do
		[ -e "$root$lib" ] && continue
		mkdir -p "$root$(dirname "$lib")" && cp -L "$lib" "$root$lib" || return 1
	done
}

# The modules named and what each depends on (KVER's modules.dep), under
# ROOT/lib/modules decompressed (the initramfs has no xz or zstd to load
# them), and their paths in load order, dependencies first, in
# ROOT/modules.list for the init script to insmod. Soft dependencies are
# not in modules.dep: name them before what needs them (crc32c_generic
# before libcrc32c's users). 1 when a module is not there; its name is then
# in QEMU_MISSING_MODULE.
qemu_add_modules() {
	local root=$1 kver=$2 module
	shift 2
	_qemu_moddir=/lib/modules/$kver
	_qemu_seen=()
	_qemu_order=()
	QEMU_MISSING_MODULE=
	for module in "$@"; do
		_qemu_add_module "$root" "$module" || return 1
	done
	printf '%s\n' "${_qemu_order[@]}" >"$root/modules.list"
}

declare -A _qemu_seen=()
_qemu_order=()

_qemu_add_module() {
	local root=$1 name=$2 path dep src
	path=$(grep -E "(^|/)$name\.ko(\.[a-z]+)?:" "$_qemu_moddir/modules.dep" |
		head -n1 | cut -d: -f1)
	# shellcheck disable=SC2034 # read by the callers
	[ -n "$path" ] || { QEMU_MISSING_MODULE=$name; return 1; }
	[ -n "${_qemu_seen[$path]:-}" ] && return 0
	_qemu_seen[$path]=1
	for dep in $(grep -E "^$path:" "$_qemu_moddir/modules.dep" | cut -d: -f2); do
		_qemu_add_module "$root" "$(basename "$dep" | sed -E 's/\.ko(\.[a-z]+)?$//')" ||
			return 1
	done
	src=$_qemu_moddir/$path
	mkdir -p "$root/lib/modules/$(dirname "$path")"
	case $path in
	*.ko.xz) path=${path%.xz}; xz -dc "$src" >"$root/lib/modules/$path" ;;
	*.ko.zst) path=${path%.zst}; zstd -qdc "$src" >"$root/lib/modules/$path" ;;
	*) cp "$src" "$root/lib/modules/$path" ;;
	esac || return 1
	_qemu_order+=("$path")
}

# The kernel unpacks concatenated archives in order, later files winning:
# an overlay archive can be appended to a base one.
qemu_pack() {
	local root=$1 out=$2
	(cd "$root" && find . | cpio -o -H newc --quiet | gzip -1) >"$out"
}

# Boot KERNEL on INITRD with MEM MiB, the serial console written to LOG,
# ended after TIMEOUT seconds; APPEND is added to the kernel command line.
# Returns qemu's status (124: the timeout). TCG: KVM hangs on these
# machines. oops=panic with panic=-1 and -no-reboot: a crash ends the VM at
# once instead of waiting for the timeout. no_timer_check: on a loaded host
# TCG's timer ticks come too late for the kernel's IO-APIC timer check,
# which then panics at boot ("IO-APIC + timer doesn't work!", seen here with
# nine builds beside the VM); the check is for broken boards, not VMs.
qemu_boot() {
	local timeout_s=$1 mem=$2 kernel=$3 initrd=$4 log=$5 append=${6:-}
	timeout "$timeout_s" qemu-system-x86_64 -accel tcg -cpu max -smp 2 -m "$mem" \
		-display none -monitor none -serial "file:$log" -no-reboot \
		-kernel "$kernel" -initrd "$initrd" \
		-append "console=ttyS0 panic=-1 oops=panic no_timer_check loglevel=4 quiet${append:+ $append}" </dev/null
}

# What tests/nft's VMs share: the kernel to boot (QEMU_KVER, its image in
# QEMU_KERNEL), qemu and each TOOL on this machine, then ROOT (emptied) a
# busybox root with /usr/bin/env (for "#!/usr/bin/env bash") and each TOOL,
# with its libraries, as /usr/bin/TOOL (before busybox's applets in /bin on
# the VM's PATH; bash as /bin/bash). 1 with QEMU_WHY when something is
# missing (the caller SKIPs), 2 with QEMU_WHY when ROOT cannot be made
# (the caller FAILs).
# shellcheck disable=SC2034 # QEMU_WHY is read by the callers
qemu_test_root() {
	local root=$1 tool path
	shift
	QEMU_KVER=$(qemu_kernel_version)
	QEMU_KERNEL=/boot/vmlinuz-$QEMU_KVER
	QEMU_WHY="no Debian kernel image and modules (linux-image-amd64; scripts/deps.sh check)"
	[ -n "$QEMU_KVER" ] && [ -d "/lib/modules/$QEMU_KVER" ] && [ -r "$QEMU_KERNEL" ] || return 1
	for tool in qemu-system-x86_64 busybox cpio gzip "$@"; do
		QEMU_WHY="no $tool (scripts/deps.sh check)"
		command -v "$tool" >/dev/null || return 1
	done
	QEMU_WHY="cannot make the busybox root $root"
	rm -rf "$root" && qemu_busybox_root "$root" && ln -s /bin/busybox "$root/usr/bin/env" || return 2
	for tool in "$@"; do
		path=$(command -v "$tool")
		QEMU_WHY="cannot copy $path"
		case $tool in
		bash) qemu_copy_with_libs "$root" "$path" /bin/bash ;;
		*) qemu_copy_with_libs "$root" "$path" "/usr/bin/$tool" ;;
		esac || return 2
	done
}

# The console LOG's "MARK PASS|FAIL|SKIP name[: why]" lines as tests/run.sh
# results "PASS PREFIXname[: why]", and "FAIL DONE_NAME" (default
# PREFIXcompleted) with the console's last lines when "MARK DONE" is
# missing (a timeout or a panic).
# Set QEMU_RC to qemu_boot's status first. This one prints: it is the
# suites' report.
qemu_report() {
	local log=$1 mark=$2 prefix=$3 done_name=${4:-${3}completed}
	tr -d '\r' <"$log" | sed -n "s/.*$mark \(PASS\|FAIL\|SKIP\) /\1 $prefix/p"
	if ! tr -d '\r' <"$log" | grep -q "$mark DONE"; then
		echo "FAIL $done_name: qemu exited ${QEMU_RC:-?} (124: the timeout) before the tests ended"
		tr -d '\r' <"$log" | tail -n 30
	fi
}
