#!/usr/bin/env bash
# The layering of docs/architecture.md, checked on every quoted #include
# (includes are written from the repository root, so each one names the
# part it depends on):
#   copy/ and intercept/ never include each other;
#   lib/ includes neither daemon;
#   copy/engine/ includes only copy/engine/ and lib/net/ (it is pure);
#   lib/net/ includes only lib/net/ (pure packet code);
#   a quoted include names a file that exists from the root (no -I tricks).
# Also: the engine and lib/net/ include no system header that does I/O or
# reads a clock.
# Prints PASS/FAIL lines; LAYOUT_ROOT checks another tree (the test of the
# test uses it).
set -uo pipefail
root=${LAYOUT_ROOT:-$(cd "$(dirname "$0")/../.." && pwd)}
cd "$root" || exit 1
status=0

# rule NAME FILES... -- ALLOWED-PREFIX...: every quoted include of FILES
# starts with one of the prefixes.
violations() {
	local files=() allowed=() f inc p ok
	while [ $# -gt 0 ] && [ "$1" != -- ]; do files+=("$1"); shift; done
	shift
	allowed=("$@")
	for f in "${files[@]}"; do
		[ -f "$f" ] || continue
		while IFS= read -r inc; do
			ok=0
			for p in "${allowed[@]}"; do
				case "$inc" in "$p"*) ok=1 ;; esac
			done
			[ $ok = 1 ] || echo "$f includes \"$inc\""
		done < <(sed -n -E 's/^[[:space:]]*#[[:space:]]*include[[:space:]]+"([^"]+)".*/\1/p' "$f")
	done
}

check() {
	local name=$1 out
	shift
	out=$(violations "$@")
	if [ -z "$out" ]; then
		echo "PASS layout_$name"
	else
		echo "FAIL layout_$name: $(echo "$out" | head -n 3 | tr '\n' ';')"
		echo "$out"
		status=1
	fi
}

mapfile -t copy_files < <(find copy -name '*.[ch]' 2>/dev/null | sort)
mapfile -t engine_files < <(find copy/engine -name '*.[ch]' 2>/dev/null | sort)
mapfile -t icpt_files < <(find intercept -name '*.[ch]' 2>/dev/null | sort)
mapfile -t lib_files < <(find lib -name '*.[ch]' 2>/dev/null | sort)
mapfile -t net_files < <(find lib/net -name '*.[ch]' 2>/dev/null | sort)

check copy_not_intercept "${copy_files[@]}" -- copy/ lib/ include/
check intercept_not_copy "${icpt_files[@]}" -- intercept/ lib/ include/
check lib_not_daemons "${lib_files[@]}" -- lib/ include/
check engine_pure "${engine_files[@]}" -- copy/engine/ lib/net/
check net_pure "${net_files[@]}" -- lib/net/

# Every quoted include in the project's C names a file from the root.
missing=$(for f in $(find copy intercept lib bench tests/unit tests/kmod tests/nft tests/fuzz -name '*.[ch]' 2>/dev/null); do
	d=$(dirname "$f")
	sed -n -E 's/^[[:space:]]*#[[:space:]]*include[[:space:]]+"([^"]+)".*/\1/p' "$f" |
	while IFS= read -r inc; do
		# A test's or tool's own helper header sits beside it.
		case "$f" in tests/*|bench/*) [ -f "$d/$inc" ] && continue ;; esac
		[ -f "$inc" ] || echo "$f includes \"$inc\", which is not a path from the root"
	done
done)
if [ -z "$missing" ]; then
	echo "PASS layout_includes_from_root"
else
	echo "FAIL layout_includes_from_root: $(echo "$missing" | head -n 2 | tr '\n' ';')"
	echo "$missing"
	status=1
fi

# The engine and lib/net/ do no I/O and read no clock: no such header.
io=$(grep -nE '^[[:space:]]*#[[:space:]]*include[[:space:]]*<(unistd|time|sys/[a-z_]+|pcap[^>]*|poll|fcntl|signal|pthread|netpacket/[a-z_]+|linux/[a-z_]+)\.h>' \
	"${engine_files[@]}" "${net_files[@]}" 2>/dev/null)
if [ -z "$io" ]; then
	echo "PASS layout_pure_no_io_headers"
else
	echo "FAIL layout_pure_no_io_headers: $(echo "$io" | head -n 2 | tr '\n' ';')"
	status=1
fi

# The check itself can fail: in a copy of the tree, each forbidden include
# added to one file must turn its rule to FAIL.
if [ -z "${LAYOUT_ROOT:-}" ]; then
	tmp=$(mktemp -d /tmp/doppel-layout.XXXXXX)
	trap 'rm -rf "$tmp"' EXIT
	caught=0 tried=0
	for c in "copy/engine/engine.c:lib/runtime/loop.h:engine_pure" \
		 "copy/engine/engine.c:copy/send/send.h:engine_pure" \
		 "copy/copy.c:intercept/router.h:copy_not_intercept" \
		 "intercept/router.c:copy/engine/engine.h:intercept_not_copy" \
		 "lib/runtime/log.c:copy/copy.h:lib_not_daemons" \
		 "lib/net/packet.c:lib/runtime/log.h:net_pure"; do
		IFS=: read -r file inc rule <<<"$c"
		rm -rf "$tmp/tree" && mkdir -p "$tmp/tree"
		cp -r copy intercept lib include "$tmp/tree/"
		printf '#include "%s"\n' "$inc" >>"$tmp/tree/$file"
		tried=$((tried + 1))
		said=$(LAYOUT_ROOT="$tmp/tree" "$0" 2>&1)
		if grep -q "^FAIL layout_$rule: $file includes \"$inc\"" <<<"$said"; then
			caught=$((caught + 1))
		else
			echo "not caught: $file including $inc ($rule)"
		fi
	done
	if [ "$caught" = "$tried" ]; then
		echo "PASS layout_check_catches_forbidden_includes ($caught of $tried)"
	else
		echo "FAIL layout_check_catches_forbidden_includes: $caught of $tried caught"
		status=1
	fi
fi
exit $status
