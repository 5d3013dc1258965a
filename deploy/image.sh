#!/usr/bin/env bash
# deploy/image.sh [BUILD] [IMAGE] — an OCI image of doppel's daemons, built
# here with buildah from scratch (no base image is pulled): doppel-copy and
# doppel-intercept from BUILD (default build), the shared libraries they
# load, as the host's Debian packages installed them (ldd), and nothing
# else: no shell, no package manager. The image runs as root with every
# capability dropped but CAP_NET_RAW and CAP_NET_ADMIN (its entrypoint is
# doppel-copy; run doppel-intercept with --entrypoint).
#
#   podman run --cap-drop all --cap-add NET_RAW,NET_ADMIN --network host \
#       -v /etc/doppel/tls:/etc/doppel/tls:ro localhost/doppel \
#       -x 80-10.0.1.20:8080 -s 10.0.1.20 --tunnel vxlan \
#       --tls-psk-file /etc/doppel/tls/channel.psk
# (the channel to a non-loopback intercept needs TLS, or --insecure-plaintext).
#
# Env: BUILDAH_ARGS (e.g. "--root DIR --runroot DIR --storage-driver vfs",
# where the default storage is not usable). Prints the image's id.
set -euo pipefail
cd "$(dirname "$0")/.."
build=${1:-build}
image=${2:-localhost/doppel}
# shellcheck disable=SC2206
bargs=(${BUILDAH_ARGS:-})
for bin in doppel-copy doppel-intercept; do
	[ -x "$build/$bin" ] || { echo "image: $build/$bin missing (make all)" >&2; exit 1; }
done
root=$(mktemp -d /tmp/doppel-image.XXXXXX)
trap 'rm -rf "$root"; [ -n "${ctr:-}" ] && buildah "${bargs[@]}" rm "$ctr" >/dev/null 2>&1' EXIT
mkdir -p "$root/usr/sbin" "$root/etc" "$root/run/doppel" "$root/tmp"
for bin in doppel-copy doppel-intercept; do
	cp "$build/$bin" "$root/usr/sbin/$bin"
	# Every library the dynamic linker resolves, and the linker itself.
	for lib in $(ldd "$build/$bin" | awk '/=> \// { print $3 } /^\t\/lib/ { print $1 }'); do
		mkdir -p "$root$(dirname "$lib")"
		cp -L "$lib" "$root$lib"
	done
done
# The loader finds libraries by path; lib64 for the ELF interpreter.
[ -e "$root/lib64" ] || ln -s usr/lib64 "$root/lib64" 2>/dev/null || true
echo 'root:x:0:0:root:/:/nonexistent' >"$root/etc/passwd"
echo 'root:x:0:' >"$root/etc/group"
ctr=$(buildah "${bargs[@]}" from scratch)
buildah "${bargs[@]}" copy "$ctr" "$root/" / >/dev/null
buildah "${bargs[@]}" config --entrypoint '["/usr/sbin/doppel-copy"]' --cmd '["--help"]' \
	--label org.opencontainers.image.title=doppel \
	--label org.opencontainers.image.description="doppel-copy and doppel-intercept; run with only CAP_NET_RAW and CAP_NET_ADMIN" \
	"$ctr"
buildah "${bargs[@]}" commit --quiet "$ctr" "$image"
