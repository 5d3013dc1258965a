#!/usr/bin/env bash
# make install with a private PREFIX, or with a DESTDIR, as root, must put
# every file under it and create no user, folder or file anywhere else.
# Checked the hard way: in a private mount namespace whose root file system
# is remounted read-only, except the repository (make may rebuild into
# build/) and the install's own folder. A write outside fails the install
# (or shows in its log); the user database and /run are compared too.
#
#   install_contained.sh BUILD WORK   (from the repository's root, as root)
# Prints PASS/FAIL/SKIP lines as tests/ops/run.sh does; exit 0 unless FAIL.
set -uo pipefail
build=$1 work=$2
repo=$PWD
status=0

pass() { echo "PASS $1"; }
fail() { echo "FAIL $1: $2"; status=1; }

if [ "$(id -u)" != 0 ] || ! command -v unshare >/dev/null; then
	echo "SKIP install_contained: needs root and unshare"
	exit 0
fi

# One install in a read-only world; $1 names the test, the rest is make's.
contained() {
	local name=$1 dir=$2; shift 2
	local log=$work/$name.log before after
	mkdir -p "$dir"
	before=$(getent passwd doppel; getent group doppel; ls -d /run/doppel 2>/dev/null)
	# shellcheck disable=SC2016
	unshare -m bash -c '
		set -e
		mount --make-rprivate /
		mount --bind "$1" "$1"
		mount --bind "$2" "$2"
		mount -o remount,bind,ro /
		shift 2
		exec make --no-print-directory "$@"
	' contained "$repo" "$dir" "$@" >"$log" 2>&1
	local rc=$?
	after=$(getent passwd doppel; getent group doppel; ls -d /run/doppel 2>/dev/null)
	if [ $rc != 0 ]; then
		fail "$name" "make $* failed under a read-only root (a write outside?): $(grep -m1 -iE 'read-only|denied|error' "$log")"
	elif grep -qiE 'read-only|failed' "$log"; then
		fail "$name" "$(grep -m1 -iE 'read-only|failed' "$log")"
	elif [ "$before" != "$after" ]; then
		fail "$name" "the user database or /run changed"
	else
		pass "$name"
	fi
}

# The binaries first, outside the read-only world (make install needs them).
make --no-print-directory BUILD="$build" all >"$work/contained-build.log" 2>&1 ||
	fail install_contained "make all failed"

prefix=$work/prefix
contained install_private_prefix "$prefix" BUILD="$build" PREFIX="$prefix" install
for f in sbin/doppel-copy etc/doppel/doppel-copy.conf lib/systemd/system/doppel-copy.service \
	lib/sysusers.d/doppel.conf; do
	[ -e "$prefix/$f" ] || fail install_private_prefix "no $prefix/$f"
done
grep -q "ExecStart=$prefix/sbin/doppel-copy" "$prefix/lib/systemd/system/doppel-copy.service" ||
	fail install_private_prefix "the unit does not start $prefix/sbin/doppel-copy"
find "$prefix" -type f | sort >"$work/prefix.files"
contained uninstall_private_prefix "$prefix" BUILD="$build" PREFIX="$prefix" uninstall
[ ! -e "$prefix/sbin/doppel-copy" ] || fail uninstall_private_prefix "doppel-copy left behind"

dest=$work/dest
contained install_destdir "$dest" BUILD="$build" PREFIX=/usr DESTDIR="$dest" install
[ -e "$dest/etc/doppel/doppel-copy.conf" ] && [ -e "$dest/usr/sbin/doppel-copy" ] ||
	fail install_destdir "the files are not under $dest"
exit $status
