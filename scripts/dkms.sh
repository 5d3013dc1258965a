#!/usr/bin/env bash
# DKMS for doppel.ko (docs/kmod.md).
#
#   scripts/dkms.sh install [KVER]   copy the sources to /usr/src/doppel-VERSION,
#                                    then dkms add, build and install (for KVER,
#                                    default the running kernel)   (make dkms)
#   scripts/dkms.sh remove           dkms remove --all and delete the sources
#   scripts/dkms.sh test-build KVER  dkms add + build for KVER in a private mount
#                                    namespace whose /var/lib/dkms and source
#                                    tree are temporary: nothing is left behind.
#                                    Prints the module's path and modinfo.
set -euo pipefail
cd "$(dirname "$0")/.."

name=doppel
version=$(sed -n 's/^PACKAGE_VERSION="\(.*\)"/\1/p' dkms.conf)

copy_sources() {
	local dest=$1
	rm -rf "$dest"
	mkdir -p "$dest/kmod" "$dest/include/uapi"
	cp dkms.conf "$dest/"
	cp kmod/Kbuild kmod/Makefile kmod/*.c kmod/*.h "$dest/kmod/"
	cp include/uapi/doppel.h "$dest/include/uapi/"
}

case "${1:-}" in
install)
	kver=${2:-$(uname -r)}
	copy_sources "/usr/src/$name-$version"
	dkms add -m "$name" -v "$version" 2>/dev/null || true
	dkms build -m "$name" -v "$version" -k "$kver"
	dkms install -m "$name" -v "$version" -k "$kver"
	;;
remove)
	dkms remove -m "$name" -v "$version" --all 2>/dev/null || true
	rm -rf "/usr/src/$name-$version"
	;;
test-build)
	kver=${2:?test-build needs a kernel version}
	tmp=$(mktemp -d /tmp/doppel-dkms.XXXXXX)
	trap 'rm -rf "$tmp"' EXIT
	copy_sources "$tmp/src/$name-$version"
	mkdir -p "$tmp/out"
	# A private mount namespace: DKMS's tree, and the MOK key it makes
	# to sign with, land on a tmpfs that goes away with it.
	unshare --mount --propagation private bash -euc '
		mount -t tmpfs doppel-dkms /var/lib/dkms
		dkms add -m "$1" -v "$2" --sourcetree "$4"
		dkms build -m "$1" -v "$2" -k "$3" --sourcetree "$4"
		cp /var/lib/dkms/"$1"/"$2"/"$3"/*/module/"$1".ko* "$5"/
	' dkms-test "$name" "$version" "$kver" "$tmp/src" "$tmp/out"
	ko=$(ls "$tmp"/out/"$name".ko*)
	echo "built $ko"
	modinfo "$ko"
	;;
*)
	echo "usage: $0 install [KVER] | remove | test-build KVER" >&2
	exit 2
	;;
esac
