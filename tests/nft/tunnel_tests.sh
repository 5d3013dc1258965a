# tests/nft/tunnel_tests.sh — nft/doppel-tunnel (the target's side of
# doppel-copy --tunnel), sourced by tests/nft/run.sh and run in its
# namespaces ($ns_a 198.18.5.1 ── veth ── $ns_t 198.18.5.2):
#   tunnel_up_vxlan       up adds the vxlan device (VNI, port, the MAC
#                         doppel-copy writes, nolearning), loose rp_filter
#                         and an IPv4 address on it, the output NFQUEUE rule; a second up and
#                         an existing device are refused
#   tunnel_decapsulates   VXLAN frames from $ns_a (tests/nft/send_vxlan.py:
#                         TCP SYNs from a client address that is routed
#                         elsewhere) reach the target's TCP input through
#                         the device, each one (rp_filter loose lets them)
#   tunnel_down_exactly   down leaves the links, the raw table and the
#                         sysctl as they were before up
#   tunnel_refusals       bad arguments exit 2 naming them; a kind this
#                         kernel lacks (gre) fails and leaves nothing
#   tunnel_readonly_sysctl  /proc/sys read-only (as in a container: the
#                         Kubernetes init container): up with
#                         net.ipv4.conf.all.rp_filter 2 or 0 (nothing to
#                         loosen), refused with 1 (strict) leaving nothing
# shellcheck shell=bash disable=SC2154
# (root, ns_t, ns_a, tmp, t, a, pass, fail: from run.sh and lib.sh)

tunnel=$root/nft/doppel-tunnel
export DOPPEL_TUNNEL_STATE=$tmp/tunnel.state

tunnel_snapshot() {
	t ip -br link | sed 's/@[^ ]*//' | awk '{print $1}' | sort
	t iptables-save -t raw | grep -v '^#'
	t ip6tables-save -t raw | grep -v '^#'
}

test_tunnel() {
	local before after out count
	before=$(tunnel_snapshot)
	out=$(t "$tunnel" up --tunnel vxlan:42@02:00:00:00:00:42 --port 8081 --backend iptables \
		--dev-addr 198.18.5.254 2>&1) ||
		{ fail tunnel_up_vxlan "up failed: $out"; return; }
	out=$(t ip -d link show dev doppel0)
	if grep -q "vxlan id 42 .*dstport 4789 .*nolearning" <<<"$out" &&
		grep -q "link/ether 02:00:00:00:00:42" <<<"$out" &&
		t ip -4 addr show dev doppel0 | grep -q "inet 198.18.5.254/32" &&
		[ "$(t cat /proc/sys/net/ipv4/conf/doppel0/rp_filter)" = 2 ] &&
		t iptables-save -t raw | grep -q -- '-A DOPPEL -p tcp -m tcp --sport 8081 -j NFQUEUE' &&
		! t "$tunnel" up --tunnel vxlan --port 8081 >/dev/null 2>&1; then
		pass tunnel_up_vxlan
	else
		fail tunnel_up_vxlan "device or rule not as asked: $out"
	fi

	# The client's address has a route, not through the tunnel: strict
	# rp_filter would drop what comes out of doppel0.
	t ip route add 198.18.77.0/24 via 198.18.5.1
	t sysctl -qw net.ipv4.conf.all.rp_filter=1
	t nft add table inet dptun &&
		t nft add chain inet dptun count_in '{ type filter hook input priority 0; }' &&
		t nft add rule inet dptun count_in iifname doppel0 tcp dport 8081 counter
	a python3 "$root/tests/nft/send_vxlan.py" 20 42 02:00:00:00:00:42
	sleep 0.5
	count=$(t nft list chain inet dptun count_in | sed -n 's/.*counter packets \([0-9]*\).*/\1/p')
	if [ "$count" = 20 ]; then
		pass tunnel_decapsulates
	else
		fail tunnel_decapsulates "$count of 20 SYNs reached TCP input through doppel0"
	fi
	t nft delete table inet dptun
	t sysctl -qw net.ipv4.conf.all.rp_filter=0
	t ip route del 198.18.77.0/24 via 198.18.5.1

	out=$(t "$tunnel" down 2>&1)
	after=$(tunnel_snapshot)
	if [ "$before" = "$after" ] && [ ! -e "$DOPPEL_TUNNEL_STATE" ]; then
		pass tunnel_down_exactly
	else
		fail tunnel_down_exactly "$out; before: $before; after: $after"
	fi

	local bad=""
	refused() {	# words... -- the message: exit 2 and the message
		local args=() rc
		while [ "$1" != -- ]; do args+=("$1"); shift; done
		out=$(t "$tunnel" up "${args[@]}" 2>&1); rc=$?
		[ $rc = 2 ] && grep -q -- "$2" <<<"$out" || bad+=" (${args[*]}: $rc $out)"
	}
	refused --tunnel vxlan:16777216 --port 1 -- "VNI must be"
	refused --tunnel gre --port 1 -- "needs --local"
	refused --tunnel wg --port 1 -- "not vxlan"
	refused --tunnel vxlan -- "port is required"
	refused --tunnel vxlan@01:00:00:00:00:01 --port 1 -- "not a unicast MAC"
	t "$tunnel" up --tunnel vxlan --port 1 --dev-addr none >/dev/null 2>&1
	[ $? = 0 ] && t "$tunnel" down >/dev/null
	if t ip link add name gre-probe type gre local 198.18.5.2 2>/dev/null; then
		t ip link del gre-probe	# this kernel has gre: nothing to prove here
	else
		out=$(t "$tunnel" up --tunnel gre --local 198.18.5.2 --port 8081 2>&1) && bad+=" gre-up"
		grep -q "no gre device" <<<"$out" || bad+=" gre-message($out)"
	fi
	[ "$(tunnel_snapshot)" = "$before" ] && [ ! -e "$DOPPEL_TUNNEL_STATE" ] || bad+=" leftovers"
	if [ -z "$bad" ]; then pass tunnel_refusals; else fail tunnel_refusals "$bad"; fi
}

# up under a read-only /proc/sys (a mount namespace of its own, as a
# container's), for all.rp_filter 2, 0 and 1; down after each up.
test_tunnel_readonly_sysctl() {
	local before rp out bad=""
	before=$(tunnel_snapshot)
	for rp in 2 0 1; do
		t sysctl -qw net.ipv4.conf.all.rp_filter=$rp
		out=$(t unshare -m sh -c 'mount --bind /proc/sys /proc/sys &&
			mount -o remount,bind,ro /proc/sys && exec "$@"' sh \
			"$tunnel" up --tunnel vxlan --port 8081 --backend iptables --dev-addr 198.18.5.254 2>&1)
		case $rp:$? in
		[02]:0) [ "$(t cat /proc/sys/net/ipv4/conf/doppel0/rp_filter)" = 0 ] ||
				bad+=" rp_filter $rp: doppel0's rp_filter was written (not read-only?)"
			t "$tunnel" down >/dev/null 2>&1 || bad+=" rp_filter $rp: down failed" ;;
		1:1) grep -q "it is strict" <<<"$out" || bad+=" rp_filter 1: $out" ;;
		*) bad+=" rp_filter $rp: $out" ;;
		esac
	done
	t sysctl -qw net.ipv4.conf.all.rp_filter=0
	[ "$(tunnel_snapshot)" = "$before" ] && [ ! -e "$DOPPEL_TUNNEL_STATE" ] || bad+=" leftovers"
	if [ -z "$bad" ]; then pass tunnel_readonly_sysctl; else fail tunnel_readonly_sysctl "$bad"; fi
}

# ipip, gre and fou (and vxlan), IPv4 and IPv6, need a kernel with their
# modules: doppel-tunnel against doppel-copy's tunnel send path in a qemu
# VM with Debian's kernel (tests/nft/tunnel_vm.sh, about 45 s).
test_tunnel_vm() {
	if ! make --no-print-directory -C "$root" BUILD="$tmp/obj" "$tmp/obj/tests/nft/tunnel_send" \
		>"$tmp/tunnel_send.log" 2>&1; then
		fail vm_tunnel_build "$(grep -m1 -E 'error|warning|No rule' "$tmp/tunnel_send.log" | head -c 300)"
		return
	fi
	"$root/tests/nft/tunnel_vm.sh" "$tmp/obj/tests/nft/tunnel_send" "$tmp" | tee "$tmp/tunnel_vm.out"
	grep -q '^FAIL ' "$tmp/tunnel_vm.out" && failures=$((failures + 1))
	return 0
}
