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
# deploy/image.sh --tools [IMAGE] — the image of the target pod's init
# container (deploy/kubernetes/target-intercept-sidecar.yaml), default
# localhost/doppel-tools: nft/doppel-tunnel and nft/doppel-rules with what
# they run (bash, ip, nft, iptables with its extensions, and the few
# coreutils they call), from the host's installed packages as well;
# entrypoint doppel-tunnel.
#
# Env: BUILDAH_ARGS (e.g. "--root DIR --runroot DIR --storage-driver vfs",
# where the default storage is not usable). Prints the image's id.
set -euo pipefail
cd "$(dirname "$0")/.."
tools=0
if [ "${1:-}" = --tools ]; then
	tools=1
	shift
fi
build=${1:-build}
image=${2:-localhost/doppel}
[ $tools = 0 ] || { image=${1:-localhost/doppel-tools}; build=; }
# shellcheck disable=SC2206
bargs=(${BUILDAH_ARGS:-})
root=$(mktemp -d /tmp/doppel-image.XXXXXX)
trap 'rm -rf "$root"; [ -n "${ctr:-}" ] && buildah "${bargs[@]}" rm "$ctr" >/dev/null 2>&1' EXIT
mkdir -p "$root/usr/sbin" "$root/usr/bin" "$root/etc" "$root/run/doppel" "$root/tmp"

# add_exe SRC DEST: SRC at DEST in the image, with every library the
# dynamic linker resolves for it, and the linker itself.
add_exe() {
	local lib
	cp "$1" "$root$2"
	for lib in $(ldd "$1" | awk '/=> \// { print $3 } /^\t\/lib/ { print $1 }'); do
		mkdir -p "$root$(dirname "$lib")"
		cp -L "$lib" "$root$lib"
	done
}

if [ $tools = 0 ]; then
	for bin in doppel-copy doppel-intercept; do
		[ -x "$build/$bin" ] || { echo "image: $build/$bin missing (make all)" >&2; exit 1; }
		add_exe "$build/$bin" "/usr/sbin/$bin"
	done
	entrypoint='["/usr/sbin/doppel-copy"]' cmd='["--help"]' title=doppel
	description="doppel-copy and doppel-intercept; run with only CAP_NET_RAW and CAP_NET_ADMIN"
else
	# What doppel-tunnel up/down and doppel-rules run (strace -e execve),
	# env for their "#!/usr/bin/env bash".
	for tool in env bash cat dirname flock grep mkdir mv readlink rm sed tac ip nft; do
		path=$(command -v "$tool") || { echo "image: $tool is not installed" >&2; exit 1; }
		add_exe "$(readlink -f "$path")" "/usr/bin/$tool"
	done
	# iptables is one binary that acts by the name it is called by; its
	# extensions are loaded at run time.
	multi=$(readlink -f "$(command -v iptables)")
	add_exe "$multi" "/usr/sbin/$(basename "$multi")"
	for name in iptables ip6tables iptables-restore ip6tables-restore; do
		ln -s "$(basename "$multi")" "$root/usr/sbin/$name"
	done
	ext=$(readlink -f "$(dirname "$(ldd "$multi" | awk '/libxtables/ { print $3 }')")/xtables")
	mkdir -p "$root$ext"
	cp -L "$ext"/*.so "$root$ext/"
	for lib in $(ldd "$ext"/*.so | awk '/=> \// { print $3 }' | sort -u); do
		mkdir -p "$root$(dirname "$lib")"
		cp -L "$lib" "$root$lib"
	done
	cp nft/doppel-tunnel nft/doppel-rules "$root/usr/sbin/"
	entrypoint='["/usr/sbin/doppel-tunnel"]' cmd='["--help"]' title=doppel-tools
	description="doppel-tunnel and doppel-rules, the target's side; run with only CAP_NET_ADMIN and CAP_NET_RAW"
fi
# The loader finds libraries by path; lib64 for the ELF interpreter.
[ -e "$root/lib64" ] || ln -s usr/lib64 "$root/lib64" 2>/dev/null || true
echo 'root:x:0:0:root:/:/nonexistent' >"$root/etc/passwd"
echo 'root:x:0:' >"$root/etc/group"
ctr=$(buildah "${bargs[@]}" from scratch)
buildah "${bargs[@]}" copy "$ctr" "$root/" / >/dev/null
buildah "${bargs[@]}" config --entrypoint "$entrypoint" --cmd "$cmd" \
	--env PATH=/usr/sbin:/usr/bin \
	--label org.opencontainers.image.title="$title" \
	--label org.opencontainers.image.description="$description" \
	"$ctr"
buildah "${bargs[@]}" commit --quiet "$ctr" "$image"
