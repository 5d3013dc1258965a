# shellcheck shell=bash
# lab.sh — the hosts of the replay lab: network namespaces joined by a bridge,
# and the processes started in them, all torn down by PID and by name.
#
#   client     198.18.0.1 (and 198.18.0.6, the source of its traffic to online2)
#   online     198.18.0.2       production host: real servers, doppel-copy
#   target     198.18.0.3       test host: the same servers; routes the client
#                               addresses (198.18.0.1, .6, 198.19.200.0/24)
#                               via the assistant, so its answers never reach
#                               the real clients
#   assistant  198.18.0.4       doppel-intercept; ip_forward off: a black hole
#   online2    198.18.0.5       a second production host (lab_build online2)
#   switch                      holds the bridge br0 and the hosts' peers
#
# Nothing is created in the root namespace: each veth pair is made inside the
# switch namespace with its other end moved straight into its host, where it
# is called eth0. Every name carries a random suffix so parallel runs do not
# collide. Sourced by lib.sh.

# E2E_FAMILY=6: the same lab over IPv6, in 2001:2::/48 (RFC 5180's
# benchmarking range): hosts 2001:2::1 to ::6, the -c range
# 2001:2:0:200::/64; every address and route below follows.
LAB_FAMILY=${E2E_FAMILY:-4}
if [ "$LAB_FAMILY" = 6 ]; then
	ADDR_CLIENT=2001:2::1
	ADDR_ONLINE=2001:2::2
	ADDR_TARGET=2001:2::3
	ADDR_ASSIST=2001:2::4
	ADDR_ONLINE2=2001:2::5
	ADDR_CLIENT2=2001:2::6
	REWRITE_NET=2001:2:0:200::/64
	LAB_PREFIX=64 LAB_HOST_PREFIX=128 LAB_L3=ip6 LAB_ADDR_TYPE=ipv6_addr
else
	ADDR_CLIENT=198.18.0.1
	ADDR_ONLINE=198.18.0.2
	ADDR_TARGET=198.18.0.3
	ADDR_ASSIST=198.18.0.4
	ADDR_ONLINE2=198.18.0.5
	ADDR_CLIENT2=198.18.0.6
	REWRITE_NET=198.19.200.0/24	# the -c range; routed via the assistant too
	LAB_PREFIX=24 LAB_HOST_PREFIX=32 LAB_L3=ip LAB_ADDR_TYPE=ipv4_addr
fi

# lab_host ADDR: ADDR as the host part of a URL or ADDR:PORT ([v6]; one
# given in brackets already stays as it is).
lab_host() { case $1 in \[*) echo "$1" ;; *:*) echo "[$1]" ;; *) echo "$1" ;; esac; }
HOST_ONLINE=$(lab_host "$ADDR_ONLINE")

# Fixed MACs, so -o's next-hop MAC is known: 02:00:c6:12:00:<last octet
# or group>.
lab_mac() { printf '02:00:c6:12:00:%02x' "${1##*[.:]}"; }

# Start a lab: temp dir, names, and the trap that tears it all down.
lab_init() {
	local sfx
	# E2E_RUN_ID: set by run.sh, to find what a killed scenario left behind.
	sfx=${E2E_RUN_ID:-$$}-$(printf '%04x' $((RANDOM * 2)))
	LAB_DIR=$(mktemp -d /tmp/doppel-e2e.XXXXXX)
	NS_SWITCH=dp-sw-$sfx
	NS_CLIENT=dp-cli-$sfx
	NS_ONLINE=dp-onl-$sfx
	NS_TARGET=dp-tgt-$sfx
	NS_ASSIST=dp-ast-$sfx
	NS_ONLINE2=dp-onl2-$sfx
	: >"$LAB_DIR/pids"
	: >"$LAB_DIR/netns"
	trap lab_teardown EXIT
	trap 'exit 143' TERM INT HUP
}

# ip netns exec, shorter.
in_ns() { local ns=$1; shift; ip netns exec "$ns" "$@"; }

lab_sysctl() { in_ns "$1" sysctl -qw "$2=$3" >/dev/null; }

# One host: namespace, eth0 (its veth, the peer on the bridge), address.
lab_add_host() {
	local ns=$1 addr=$2 port=p${2##*[.:]}
	ip netns add "$ns" || return 1
	echo "$ns" >>"$LAB_DIR/netns"
	ip -n "$NS_SWITCH" link add "$port" type veth peer name eth0 netns "$ns" || return 1
	ip -n "$ns" link set eth0 address "$(lab_mac "$addr")"
	ip -n "$NS_SWITCH" link set "$port" master br0 up
	ip -n "$ns" link set lo up
	if [ "$LAB_FAMILY" = 6 ]; then
		# No router solicitations, no DAD (the address is usable at
		# once), no autoconfiguration: only the lab's own packets.
		# eth0 was made in the switch, whose IPv6 is off.
		lab_sysctl "$ns" net.ipv6.conf.eth0.disable_ipv6 0
		lab_sysctl "$ns" net.ipv6.conf.eth0.accept_ra 0
		lab_sysctl "$ns" net.ipv6.conf.eth0.router_solicitations 0
		lab_sysctl "$ns" net.ipv6.conf.eth0.accept_dad 0
		ip -n "$ns" addr add "$addr/$LAB_PREFIX" dev eth0 nodad
	else
		# IPv6 off: no router solicitations or DAD in the counts of a scenario.
		lab_sysctl "$ns" net.ipv6.conf.all.disable_ipv6 1
		lab_sysctl "$ns" net.ipv6.conf.default.disable_ipv6 1
		ip -n "$ns" addr add "$addr/$LAB_PREFIX" dev eth0
	fi
	ip -n "$ns" link set eth0 up
}

# Build the hosts; "online2" as an argument adds the second online host.
lab_build() {
	local with_online2=0
	[ "${1:-}" = online2 ] && with_online2=1
	ip netns add "$NS_SWITCH" || return 1
	echo "$NS_SWITCH" >>"$LAB_DIR/netns"
	lab_sysctl "$NS_SWITCH" net.ipv6.conf.all.disable_ipv6 1
	lab_sysctl "$NS_SWITCH" net.ipv6.conf.default.disable_ipv6 1
	ip -n "$NS_SWITCH" link add br0 type bridge || return 1
	ip -n "$NS_SWITCH" link set br0 up
	lab_add_host "$NS_CLIENT" "$ADDR_CLIENT" || return 1
	lab_add_host "$NS_ONLINE" "$ADDR_ONLINE" || return 1
	lab_add_host "$NS_TARGET" "$ADDR_TARGET" || return 1
	lab_add_host "$NS_ASSIST" "$ADDR_ASSIST" || return 1
	if [ $with_online2 = 1 ]; then
		lab_add_host "$NS_ONLINE2" "$ADDR_ONLINE2" || return 1
		# The client talks to online2 from its second address, so the two
		# copy daemons never replay the same client address and port.
		ip -n "$NS_CLIENT" addr add "$ADDR_CLIENT2/$LAB_PREFIX" dev eth0 \
			$([ "$LAB_FAMILY" = 6 ] && echo nodad)
		ip -n "$NS_CLIENT" route add "$ADDR_ONLINE2/$LAB_HOST_PREFIX" dev eth0 src "$ADDR_CLIENT2"
	fi
	# The target answers the client addresses through the assistant. Its
	# packets from those addresses come from online's MAC: rp_filter loose.
	local dest
	for dest in "$ADDR_CLIENT/$LAB_HOST_PREFIX" "$ADDR_CLIENT2/$LAB_HOST_PREFIX" "$REWRITE_NET"; do
		ip -n "$NS_TARGET" route add "$dest" via "$ADDR_ASSIST" dev eth0 || return 1
	done
	lab_sysctl "$NS_TARGET" net.ipv4.conf.all.rp_filter 2
	lab_sysctl "$NS_TARGET" net.ipv4.conf.eth0.rp_filter 2
	# Room for the replay's half-open connections (the listen backlog caps
	# them; nginx asks 65535). At thousands of connections a second with
	# the SYN-ACKs coming back late through a loaded intercept, more than
	# the default 4096 were half-open at once, the target went to SYN
	# cookies, and a few requests were then never taken (loss-high-rate:
	# 394 cookies sent, 5 requests unacknowledged through 8 retransmissions;
	# the target kernel's reason not traced). A target under replay is
	# sized like the production server it stands in for.
	lab_sysctl "$NS_TARGET" net.core.somaxconn 65535
	lab_sysctl "$NS_TARGET" net.ipv4.tcp_max_syn_backlog 65535
	# The assistant forwards nothing: answers not taken by intercept die here.
	lab_sysctl "$NS_ASSIST" net.ipv4.ip_forward 0
	lab_sysctl "$NS_ASSIST" net.ipv4.conf.all.rp_filter 0
	lab_sysctl "$NS_ASSIST" net.ipv4.conf.eth0.rp_filter 0
	lab_sysctl "$NS_ASSIST" net.ipv4.conf.all.send_redirects 0
	[ "$LAB_FAMILY" = 6 ] && lab_sysctl "$NS_ASSIST" net.ipv6.conf.all.forwarding 0
	lab_watch_client
}

# Counters in the client: every unicast packet reaching its IP stack from a
# host other than the online hosts (stray), and every RST it receives. Real
# clients must see nothing of the replay. (Multicast such as IGMP reports
# from the other hosts is not the replay's.)
lab_watch_client() {
	in_ns "$NS_CLIENT" nft -f - <<-EOF
	table inet doppel_e2e_watch {
		counter stray {}
		counter resets {}
		set senders { type $LAB_ADDR_TYPE . inet_service; flags dynamic; size 1024; }
		chain prerouting {
			type filter hook prerouting priority -400; policy accept;
			meta pkttype host $LAB_L3 saddr != { $ADDR_ONLINE, $ADDR_ONLINE2 } add @senders { $LAB_L3 saddr . th sport } counter name stray
			tcp flags & rst != 0 add @senders { $LAB_L3 saddr . th sport } counter name resets
		}
	}
	EOF
}

# "stray resets" packet counts seen by the client so far.
lab_client_counters() {
	local stray resets
	stray=$(in_ns "$NS_CLIENT" nft list counter inet doppel_e2e_watch stray |
		sed -n 's/.*packets \([0-9]*\).*/\1/p')
	resets=$(in_ns "$NS_CLIENT" nft list counter inet doppel_e2e_watch resets |
		sed -n 's/.*packets \([0-9]*\).*/\1/p')
	echo "${stray:-?} ${resets:-?}"
}

# The address.port senders of those packets, for the failure message.
lab_client_senders() {
	in_ns "$NS_CLIENT" nft list set inet doppel_e2e_watch senders |
		tr -d '\n\t' | sed -n 's/.*elements = { \([^}]*\)}.*/\1/p'
}

# --- processes -------------------------------------------------------------

# lab_spawn NAME NS CMD...: start CMD in NS in the background, output to
# $LAB_DIR/NAME.log; the PID is remembered under NAME. (ip netns exec execs
# the command, so $! is the command itself.)
lab_spawn() {
	local name=$1 ns=$2
	shift 2
	ip netns exec "$ns" "$@" >>"$LAB_DIR/$name.log" 2>&1 </dev/null &
	echo "$! $name" >>"$LAB_DIR/pids"
}

# lab_spawn_here NAME CMD...: the same in the root namespace (helpers that
# touch no network, e.g. the sd_notify listener).
lab_spawn_here() {
	local name=$1
	shift
	"$@" >>"$LAB_DIR/$name.log" 2>&1 </dev/null &
	echo "$! $name" >>"$LAB_DIR/pids"
}

lab_pid() { awk -v n="$1" '$2 == n { p = $1 } END { print p }' "$LAB_DIR/pids"; }

# Running and not a zombie.
lab_alive() {
	local state
	[ -n "$1" ] && [ -r "/proc/$1/stat" ] || return 1
	state=$(awk '{ print $3 }' "/proc/$1/stat" 2>/dev/null) || return 1
	[ -n "$state" ] && [ "$state" != Z ]
}

# Wait at most $2 seconds (default 10) for PID $1 to exit.
lab_wait_exit() {
	local pid=$1 tries=$((${2:-10} * 10))
	while lab_alive "$pid" && [ $tries -gt 0 ]; do
		sleep 0.1
		tries=$((tries - 1))
	done
	! lab_alive "$pid"
}

# lab_stop NAME [SIGNAL] [SECONDS]: signal it, wait for it, KILL if it will
# not go; returns its exit status (or 137). Forgotten once stopped.
lab_stop() {
	local name=$1 sig=${2:-TERM} secs=${3:-10} pid rc=0
	pid=$(lab_pid "$name")
	[ -n "$pid" ] || return 0
	kill -s "$sig" "$pid" 2>/dev/null
	if ! lab_wait_exit "$pid" "$secs"; then
		echo "lab: $name (pid $pid) ignored SIG$sig for ${secs}s; killing it"
		kill -KILL "$pid" 2>/dev/null
		lab_wait_exit "$pid" 5
	fi
	wait "$pid" 2>/dev/null || rc=$?
	awk -v p="$pid" '$1 != p' "$LAB_DIR/pids" >"$LAB_DIR/pids.new"
	mv "$LAB_DIR/pids.new" "$LAB_DIR/pids"
	return $rc
}

# --- polling ----------------------------------------------------------------

# wait_until SECONDS CMD...: run CMD every 0.1 s until it succeeds; 1 on timeout.
wait_until() {
	local tries=$(($1 * 10))
	shift
	while [ $tries -gt 0 ]; do
		"$@" && return 0
		sleep 0.1
		tries=$((tries - 1))
	done
	"$@"
}

ns_listening() { [ -n "$(in_ns "$1" ss -Hltn "sport = :$2")" ]; }
ns_connected() { [ -n "$(in_ns "$1" ss -Htn state established "dst $2")" ]; }

# lab_wait_listen NS PORT [SECONDS]
lab_wait_listen() { wait_until "${3:-10}" ns_listening "$1" "$2"; }

# --- teardown ---------------------------------------------------------------

lab_teardown() {
	local rc=$? pid name ns
	trap - EXIT TERM INT HUP
	[ -n "${LAB_DIR:-}" ] && [ -d "$LAB_DIR" ] || return $rc
	# Last started, first stopped: daemons before the servers they watch.
	while read -r pid name; do
		[ -n "$pid" ] || continue
		kill -TERM "$pid" 2>/dev/null
		lab_wait_exit "$pid" 5 || { kill -KILL "$pid" 2>/dev/null; lab_wait_exit "$pid" 2; }
	done < <(tac "$LAB_DIR/pids")
	if [ -s "$LAB_DIR/rules" ]; then
		# doppel-rules remove, as the scenario would have done.
		while read -r ns; do
			in_ns "$ns" env DOPPEL_RULES_STATE="$LAB_DIR/rules.state" \
				"$E2E_ROOT/nft/doppel-rules" remove >/dev/null 2>&1
		done <"$LAB_DIR/rules"
	fi
	while read -r ns; do
		ip netns del "$ns" 2>/dev/null
	done < <(tac "$LAB_DIR/netns")
	if [ $rc != 0 ] && [ -n "${E2E_KEEP:-}" ]; then
		mkdir -p "$E2E_KEEP" && cp -r "$LAB_DIR"/. "$E2E_KEEP"/ 2>/dev/null
		rm -rf "$E2E_KEEP/www" "$E2E_KEEP"/*/www "$E2E_KEEP/post.bin" 2>/dev/null
	fi
	rm -rf "$LAB_DIR"
	return $rc
}
