#!/bin/bash
# tests/nft/tunnel_vm_tests.sh — nft/doppel-tunnel's ipip, gre and fou
# endpoints (and vxlan), IPv4 and IPv6, on Debian's kernel inside a qemu VM
# (tests/nft/tunnel_vm.sh): the CI machine's kernel has no ipip, gre or fou.
#
#   copy ns a: 198.18.9.1/24 2001:2:9::1/64 ─ veth ─ t: 198.18.9.2/24 2001:2:9::2/64
#
# For each kind, t runs `doppel-tunnel up --tunnel KIND --local T --no-rules`,
# a sends 20 TCP SYNs from the client 198.18.77.1 (2001:2:77::1) through
# doppel-copy's own tunnel send path (tunnel_send), and each must reach
# t's TCP input through the tunnel device (counted by nft; rp_filter strict
# globally, so the device's loose setting is what lets them in); then
# `doppel-tunnel down` must leave no device. Console lines
# "NFTVM PASS|FAIL name[: why]".
set -u
export DOPPEL_TUNNEL_STATE=/run/doppel/tunnel.state DOPPEL_RULES_STATE=/run/doppel/rules.state
tunnel=/test/doppel-tunnel

pass() { echo "NFTVM PASS $1"; }
fail() { echo "NFTVM FAIL $1: $2"; }
a() { ip netns exec a "$@"; }
t() { ip netns exec t "$@"; }

ip netns add a && ip netns add t &&
	a ip link add va type veth peer name vt netns t &&
	a ip addr add 198.18.9.1/24 dev va && a ip -6 addr add 2001:2:9::1/64 dev va nodad &&
	a ip link set va up && a ip link set lo up &&
	t ip addr add 198.18.9.2/24 dev vt && t ip -6 addr add 2001:2:9::2/64 dev vt nodad &&
	t ip link set vt up && t ip link set lo up &&
	t ip route add 198.18.77.0/24 via 198.18.9.1 && t ip -6 route add 2001:2:77::/64 via 2001:2:9::1 &&
	t sysctl -qw net.ipv4.conf.all.rp_filter=1 ||
	{ fail tunnel_setup "namespaces and veth"; exit 0; }

links() { t ip -o link show | awk -F': ' '{ print $2 }' | sed 's/@.*//' | sort | tr '\n' ' '; }

# tunnel_case NAME KIND FAMILY
tunnel_case() {
	local name=$1 kind=$2 family=$3 target client out count before
	if [ "$family" = 6 ]; then target=2001:2:9::2 client=2001:2:77::1
	else target=198.18.9.2 client=198.18.77.1; fi
	before=$(links)
	out=$(t "$tunnel" up --tunnel "$kind" --local "$target" --no-rules --dev-addr 198.18.9.254 2>&1) ||
		{ fail "$name" "doppel-tunnel up: $out"; return; }
	t nft add table inet dptun && t nft add chain inet dptun count_in '{ type filter hook input priority 0; }' &&
		t nft add rule inet dptun count_in iifname doppel0 tcp dport 80 counter
	out=$(a /test/tunnel_send "$kind" "$client" "$target" 20 2>&1) || { fail "$name" "tunnel_send: $out"; }
	sleep 1
	count=$(t nft list chain inet dptun count_in | sed -n 's/.*counter packets \([0-9]*\).*/\1/p')
	stats="$out; $(t ip -s -d link show dev doppel0 2>&1 | tr '\n' ' ')"
	t nft delete table inet dptun
	out=$(t "$tunnel" down 2>&1) || fail "${name}_down" "$out"
	if [ "$count" != 20 ]; then
		fail "$name" "${count:-?} of 20 SYNs reached TCP input through doppel0 ($stats)"
	elif [ "$(links)" != "$before" ] || [ -e "$DOPPEL_TUNNEL_STATE" ]; then
		fail "$name" "down left: $(links) (before: $before)"
	else
		pass "$name"
	fi
}

tunnel_case tunnel_ipip ipip 4
tunnel_case tunnel_gre gre 4
tunnel_case tunnel_fou fou:5555 4
tunnel_case tunnel_vxlan vxlan:9 4
tunnel_case tunnel_ipip6 ipip 6
tunnel_case tunnel_gre6 gre 6
tunnel_case tunnel_fou6 fou:5555 6
tunnel_case tunnel_vxlan6 vxlan:9 6
# Whole replays and mirrors, in the same boot (tests/nft/replay_vm_tests.sh);
# the console's "NFTVM TIME" lines (uptime) say where the VM's time goes.
echo "NFTVM TIME $(cut -d' ' -f1 /proc/uptime) tunnel endpoints done"
bash /test/replay_vm_tests.sh
