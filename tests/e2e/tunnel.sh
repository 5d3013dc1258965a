# shellcheck shell=bash
# tunnel.sh — the lab as a network that forbids spoofed sources, for the
# tunnel scenarios (sourced by them after lib.sh):
#
#   antispoof_switch   the switch drops every frame from a host's port whose
#                      IPv4 source is not that host's own (an nft bridge
#                      rule per port, counted), as cloud VPCs and Kubernetes
#                      network plugins do;
#   target_alone       the target no longer routes the clients' addresses via
#                      the assistant: intercept runs on the target itself;
#   tunnel_target_up   nft/doppel-tunnel up in the target (the VXLAN endpoint,
#                      the NFQUEUE rule on its output path), recorded so the
#                      lab's teardown runs doppel-tunnel down;
#   intercept_on_target SOURCE   doppel-intercept in the target (nfqueue, or
#                      pcap on a sink device the clients' addresses are
#                      routed to);
#   collector_add      a sixth host, the collector (198.18.0.7), for the
#                      traffic mirror scenarios;
#   mirror_vxlan NAME VNI  in online, a VXLAN device NAME to the collector.

TUNNEL_BIN=$E2E_ROOT/nft/doppel-tunnel
# The addresses the tunnel scenarios use for the target's end of the tunnel
# and for the client; tunnel-ipv6 sets them to the hosts' IPv6 ones.
TUNNEL_ADDR=${TUNNEL_ADDR:-}
TUNNEL_CLIENT=${TUNNEL_CLIENT:-}

ADDR_COLLECTOR=198.18.0.7

antispoof_switch() {
	local host addr rules=""
	for host in "$ADDR_CLIENT" "$ADDR_ONLINE" "$ADDR_TARGET" "$ADDR_ASSIST" "$ADDR_COLLECTOR"; do
		rules+="		iifname \"p${host##*.}\" ether type ip ip saddr != $host counter name spoofed drop
"
		# IPv6: the host's 2001:2::N (lab_ipv6), and link-local for
		# neighbour discovery.
		rules+="		iifname \"p${host##*.}\" ether type ip6 ip6 saddr != { 2001:2::${host##*.}, fe80::/10 } counter name spoofed drop
"
	done
	in_ns "$NS_SWITCH" nft -f - <<-EOF
	table bridge doppel_e2e_antispoof {
		counter spoofed {}
		chain forward {
			type filter hook forward priority 0; policy accept;
	$rules	}
	}
	EOF
}

# Frames the switch dropped as spoofed so far.
antispoof_dropped() {
	in_ns "$NS_SWITCH" nft list counter bridge doppel_e2e_antispoof spoofed |
		sed -n 's/.*packets \([0-9]*\).*/\1/p'
}

target_alone() {
	local dest
	for dest in "$ADDR_CLIENT/32" "$ADDR_CLIENT2/32" "$REWRITE_NET"; do
		ip -n "$NS_TARGET" route del "$dest" via "$ADDR_ASSIST" dev eth0 || return 1
	done
}

# tunnel_target_up KIND PORT [MORE_PORT...]: the target's side in one command,
# plus an output rule for each more port (doppel-rules, same state).
tunnel_target_up() {
	local kind=$1 port=$2 more
	shift 2
	if ! in_ns "$NS_TARGET" env DOPPEL_TUNNEL_STATE="$LAB_DIR/tunnel.state" \
		DOPPEL_RULES_STATE="$LAB_DIR/rules.state" "$TUNNEL_BIN" up --tunnel "$kind" \
		--port "$port" --local "${TUNNEL_ADDR:-$ADDR_TARGET}" --dev-addr 198.18.0.253 \
		>>"$LAB_DIR/rules.log" 2>&1; then
		echo "lab: doppel-tunnel up failed:"
		tail -n 5 "$LAB_DIR/rules.log"
		return 1
	fi
	echo "$NS_TARGET" >>"$LAB_DIR/tunnels"
	echo "$NS_TARGET" >>"$LAB_DIR/rules"
	for more in "$@"; do
		in_ns "$NS_TARGET" env DOPPEL_RULES_STATE="$LAB_DIR/rules.state" "$RULES_BIN" install \
			--mode target --port "$more" --addr "${TUNNEL_ADDR:-$ADDR_TARGET}" >>"$LAB_DIR/rules.log" 2>&1 ||
			return 1
	done
}

# tunnel_target_side SOURCE KIND PORT [MORE_PORT...]: the target's side for
# intercept SOURCE (nfqueue: the rules too; pcap: the endpoint only, the
# answers read on a sink), then doppel-intercept on the target.
tunnel_target_side() {
	local source=$1
	shift
	if [ "$source" = nfqueue ]; then
		tunnel_target_up "$@" || return 1
	else
		in_ns "$NS_TARGET" env DOPPEL_TUNNEL_STATE="$LAB_DIR/tunnel.state" "$TUNNEL_BIN" up \
			--tunnel "$1" --local "${TUNNEL_ADDR:-$ADDR_TARGET}" --dev-addr 198.18.0.253 --no-rules \
			>>"$LAB_DIR/rules.log" 2>&1 || return 1
		echo "$NS_TARGET" >>"$LAB_DIR/tunnels"
	fi
	intercept_on_target "$source"
}

tunnel_target_down() {
	in_ns "$NS_TARGET" env DOPPEL_TUNNEL_STATE="$LAB_DIR/tunnel.state" \
		DOPPEL_RULES_STATE="$LAB_DIR/rules.state" "$TUNNEL_BIN" down >>"$LAB_DIR/rules.log" 2>&1
}

# A teardown that also takes the tunnel down (before the namespaces go).
tunnel_teardown() {
	[ -s "${LAB_DIR:-/nonexistent}/tunnels" ] && tunnel_target_down
	lab_teardown
}

intercept_on_target() {
	local source=$1 channel
	channel=$(lab_channel_args) || return 1
	# shellcheck disable=SC2086 # one option or path a line, no spaces
	local args=(--stats-file "$LAB_DIR/intercept.json" --stats-interval 1s --log-level info
		$channel $(intercept_compare_args))
	case $source in
	nfqueue) args+=(--source nfqueue --queues 0) ;;
	pcap)
		# The clients' addresses are routed to a sink (a veth whose other
		# end drops what it gets, addressed to a MAC not its own); pcap
		# reads the answers where they come in, at that other end.
		ip -n "$NS_TARGET" link add dpsink type veth peer name dpsink-end || return 1
		ip -n "$NS_TARGET" link set dpsink up && ip -n "$NS_TARGET" link set dpsink-end up
		local client=${TUNNEL_CLIENT:-$ADDR_CLIENT}
		ip -n "$NS_TARGET" route add "$client" dev dpsink || return 1
		ip -n "$NS_TARGET" neigh add "$client" lladdr 02:00:00:00:00:99 dev dpsink nud permanent
		args+=(--source pcap -i dpsink-end -F "tcp and src host ${TUNNEL_ADDR:-$ADDR_TARGET}") ;;
	esac
	daemon_start intercept "$NS_TARGET" "$ICPT_BIN" "${args[@]}" || return 1
	lab_wait_listen "$NS_TARGET" "$INTERCEPT_PORT" 10 ||
		{ echo "lab: doppel-intercept is not listening on $INTERCEPT_PORT"; return 1; }
}

# tunnel_copy_start NAME ARGS...: doppel-copy in online (or in $COPY_NS),
# its intercept on the target; returns once it is READY and connected.
tunnel_copy_start() {
	local name=$1 ns=${COPY_NS:-$NS_ONLINE} channel
	shift
	channel=$(lab_channel_args) || return 1
	compare_auto "$name" "$@"
	# shellcheck disable=SC2086 # one option or path a line, no spaces
	daemon_start "$name" "$ns" "$COPY_BIN" -s "$ADDR_TARGET" $channel \
		--stats-file "$LAB_DIR/$name.json" --stats-interval 1s "$@" "${COMPARE_ARGS[@]}" || return 1
	wait_until 15 ns_connected "$ns" "$ADDR_TARGET:$INTERCEPT_PORT" || {
		echo "lab: $name did not connect to intercept at $ADDR_TARGET:$INTERCEPT_PORT"
		tail -n 10 "$LAB_DIR/$name.log"
		return 1
	}
}

collector_add() {
	NS_COLLECTOR=${NS_SWITCH/dp-sw-/dp-col-}
	lab_add_host "$NS_COLLECTOR" "$ADDR_COLLECTOR" || return 1
	# Nobody listens on 4789 there (doppel-copy reads the frames with
	# AF_PACKET, before the IP stack): drop them quietly, no ICMP back.
	in_ns "$NS_COLLECTOR" nft -f - <<-'EOF'
	table inet doppel_e2e_collector {
		chain input { type filter hook input priority 0; policy accept; udp dport 4789 drop; }
	}
	EOF
}

mirror_vxlan() {
	ip -n "$NS_ONLINE" link add "$1" type vxlan id "$2" remote "$ADDR_COLLECTOR" \
		local "$ADDR_ONLINE" dstport 4789 || return 1
	ip -n "$NS_ONLINE" link set "$1" up
}

# lab_ipv6 NS...: IPv6 on in each namespace's eth0 (the lab turns it off),
# with 2001:2::N for its 198.18.0.N, no duplicate address detection.
lab_ipv6() {
	local ns addr
	for ns in "$@"; do
		addr=$(ip -n "$ns" -4 -o addr show dev eth0 | sed -n 's|.* 198\.18\.0\.\([0-9]*\)/.*|\1|p')
		lab_sysctl "$ns" net.ipv6.conf.all.disable_ipv6 0 &&
			lab_sysctl "$ns" net.ipv6.conf.eth0.disable_ipv6 0 &&
			lab_sysctl "$ns" net.ipv6.conf.lo.disable_ipv6 0 &&
			ip -n "$ns" -6 addr add "2001:2::$addr/64" dev eth0 nodad || return 1
	done
}
