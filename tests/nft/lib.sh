# tests/nft/lib.sh — the lab of tests/nft/run.sh, sourced by it: two
# namespaces joined by a veth, the test reader built, the sender, counters,
# rule snapshots and the reader's start and end. Expects root, helper and
# failures set by run.sh; its namespaces and files go in cleanup (trap).
# shellcheck shell=bash disable=SC2154
# (root, helper, ns names: set by run.sh)

suffix=$$-$RANDOM
ns_a=dp-nft-a-$suffix
ns_t=dp-nft-t-$suffix
tmp=$(mktemp -d /tmp/doppel-nft-test.XXXXXX)
export DOPPEL_RULES_STATE=$tmp/rules.state
listener_pid=""
failures=0

stream_pids=""	# the GSO test's server and client, while they run

cleanup() {
	local pid
	for pid in $listener_pid $stream_pids; do
		kill "$pid" 2>/dev/null && wait "$pid" 2>/dev/null
	done
	ip netns del "$ns_a" 2>/dev/null
	ip netns del "$ns_t" 2>/dev/null
	rm -rf "$tmp"
}
trap cleanup EXIT

a() { ip netns exec "$ns_a" "$@"; }
t() { ip netns exec "$ns_t" "$@"; }
pass() { echo "PASS $1"; }
skip() { echo "SKIP $1: $2"; }
fail() { echo "FAIL $1: $2"; failures=$((failures + 1)); }

# --- fixtures ---------------------------------------------------------------

ip netns add "$ns_a" && ip netns add "$ns_t" || { echo "FAIL nft_setup: ip netns add"; exit 1; }
a ip link add va type veth peer name vt netns "$ns_t" &&
	a ip addr add 198.18.5.1/24 dev va && a ip link set va up && a ip link set lo up &&
	t ip addr add 198.18.5.2/24 dev vt && t ip link set vt up && t ip link set lo up ||
	{ echo "FAIL nft_setup: veth between the namespaces"; exit 1; }

# The test reader, built by the Makefile from the sources the daemon uses.
if ! make --no-print-directory -C "$root" BUILD="$tmp/obj" "$tmp/obj/tests/nft/nfq_listen" >"$tmp/cc.log" 2>&1 ||
	! cp "$tmp/obj/tests/nft/nfq_listen" "$tmp/nfq_listen"; then
	echo "FAIL nft_build_listener: $(grep -m1 -E 'error|warning|No rule' "$tmp/cc.log" | head -c 300)"
	exit 1
fi

# send_tcp COUNT [FIRST [baddoff]]: see tests/nft/send_tcp.py.
send_tcp() { t python3 "$root/tests/nft/send_tcp.py" "$@"; }

# The counters of tests/nft/counters.nft, in namespace $1.
counters_install() { ip netns exec "$1" nft -f "$root/tests/nft/counters.nft"; }
counter() {	# ns chain -> packets
	ip netns exec "$1" nft list chain inet dpcount "$2" |
		sed -n 's/.*counter packets \([0-9]*\).*/\1/p'
}
# Anonymous counters do not reset in nft 1.0.6: make the table anew.
counters_reset() { ip netns exec "$1" nft delete table inet dpcount && counters_install "$1"; }

# The rules of both namespaces, less the counter table, for before/after.
snapshot() {	# ns
	{
		ip netns exec "$1" iptables-save | grep -v '^#'
		ip netns exec "$1" ip6tables-save | grep -v '^#'
		ip netns exec "$1" nft list ruleset | sed '/^table inet dpcount/,/^}/d'
	} 2>&1
}

# Does this kernel have the nft queue expression? (a check, nothing kept)
nft_queue_works() {
	a nft -c -f - >/dev/null 2>&1 <<'EOF'
table inet dpprobe {
	chain c {
		type filter hook prerouting priority 0;
		queue num 0
	}
}
EOF
}

# Wait for a line in a file (the listener's "ready"), 5 s at most.
wait_for_line() {
	for _ in $(seq 50); do
		grep -qx "$2" "$1" 2>/dev/null && return 0
		sleep 0.1
	done
	return 1
}

# listen NS FIRST LAST COUNT [PREFIX [MAXLEN [THREADS]]]: start the reader,
# wait until it is bound.
listen() {
	rm -f "$tmp/listen.out"	# or the last reader's "ready" would do
	ip netns exec "$1" "$tmp/nfq_listen" "$2" "$3" "$4" 10000 "${5:-0}" "${6:-65536}" \
		"${7:-0}" >"$tmp/listen.out" 2>&1 &
	listener_pid=$!
	wait_for_line "$tmp/listen.out" ready
}
listen_end() { wait "$listener_pid"; listener_pid=""; }

# The reader gets the 5 segments, parsed, in order; none reaches input.
