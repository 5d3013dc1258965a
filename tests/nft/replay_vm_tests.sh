#!/bin/bash
# tests/nft/replay_vm_tests.sh — whole replays through doppel-copy's
# tunnels and from traffic mirrors, with the real daemons, on Debian's
# kernel inside the tunnel VM (tests/nft/tunnel_vm.sh runs it after
# tunnel_vm_tests.sh, in the same boot): the CI machine's kernel has no
# ipip, gre, fou, gretap, erspan or geneve devices and no tc classifier.
#
#   cli 198.18.10.11 ─┐                 onl: busybox httpd :80 (production)
#   onl 198.18.10.12 ─┤ br0 (ns rsw)    col: the mirror's collector
#   col 198.18.10.13 ─┤                 tgt: busybox httpd :80, the target,
#   tgt 198.18.10.14 ─┘                      doppel-intercept (nfqueue) on it
#   onl mon0 198.18.11.12 ── veth ── col mon0 198.18.11.13  (the mirror port)
#
# The target's intercept rule (doppel-rules install --mode target, nft
# backend: this kernel has nft queue) and doppel-intercept --source nfqueue
# run once for every case; each case starts its own doppel-copy.
# replay_{ipip,gre,fou,fou6}: doppel-copy on onl captures eth0 and replays
#   with --tunnel KIND (fou6: IPv6 clients, fou over IPv6); tgt's endpoint comes from `doppel-tunnel up`. tgt drops
#   (and counts) every packet from the client's address that arrives
#   plain on eth0, so only the tunnel can deliver; the tunnel device's
#   counter must see the replay.
# mirror_{gretap,erspan2,erspan3,geneve}: onl's eth0 is mirrored with tc
#   (clsact, matchall, mirred) into two devices of the kind (two mirror
#   sessions of its ingress) and its egress into one, over mon0 to col,
#   where doppel-copy --mirror decapsulates and replays to tgt; the
#   kind's statistic must count both sessions, in the statistics file and
#   on --metrics.
# mirror_nested: GENEVE inside VXLAN (a geneve device over a vxlan one),
#   --mirror all; both levels counted.
# Each case: REQUESTS one-request HTTP connections from cli to onl
# (/r1, /r2, ...): all answered at onl, and at tgt each exactly once.
# Console lines "NFTVM PASS|FAIL|SKIP name[: why]".
set -u
export DOPPEL_TUNNEL_STATE=/run/doppel/tunnel.state DOPPEL_RULES_STATE=/run/doppel/rules.state
CLI=198.18.10.11 ONL=198.18.10.12 COL=198.18.10.13 TGT=198.18.10.14
CLI6=2001:2:10::11 ONL6=2001:2:10::12 TGT6=2001:2:10::14
ONL_MON=198.18.11.12 COL_MON=198.18.11.13
REQUESTS=10

pass() { echo "NFTVM PASS $1"; }
fail() { echo "NFTVM FAIL $1: $2"; }
skip() { echo "NFTVM SKIP $1: $2"; }
on() { local ns=$1; shift; ip netns exec "$ns" "$@"; }

# wait_for TENTHS CMD...: poll CMD every 0.1 s, TENTHS times at most.
wait_for() {
	local n=$1
	shift
	while [ "$n" -gt 0 ]; do
		"$@" && return 0
		sleep 0.1
		n=$((n - 1))
	done
	return 1
}

lab_up() {
	ip netns add rsw && ip -n rsw link add br0 type bridge && ip -n rsw link set br0 up || return 1
	for h in cli:$CLI onl:$ONL col:$COL tgt:$TGT; do
		ns=${h%%:*} addr=${h#*:}
		ip netns add "$ns" &&
			ip -n rsw link add "p$ns" type veth peer name eth0 netns "$ns" &&
			ip -n rsw link set "p$ns" master br0 up &&
			ip -n "$ns" link set lo up && ip -n "$ns" addr add "$addr/24" dev eth0 &&
			ip -n "$ns" link set eth0 up || return 1
	done
	for h in cli:$CLI6 onl:$ONL6 tgt:$TGT6; do
		ip -n "${h%%:*}" addr add "${h#*:}/64" dev eth0 nodad || return 1
	done
	ip -n onl link add mon0 type veth peer name mon0 netns col &&
		ip -n onl addr add "$ONL_MON/24" dev mon0 && ip -n onl link set mon0 up &&
		ip -n col addr add "$COL_MON/24" dev mon0 && ip -n col link set mon0 up || return 1
	mkdir -p /www && for i in $(seq $REQUESTS); do echo "$i" >"/www/r$i"; done
	on onl httpd -f -vv -p 80 -h /www 2>>/tmp/onl.log &
	onl_httpd=$!
	on tgt httpd -f -vv -p 80 -h /www 2>>/tmp/tgt.log &
	tgt_httpd=$!
}

lab_down() {
	kill "$onl_httpd" "$tgt_httpd" 2>/dev/null
	for ns in cli onl col tgt rsw; do ip netns del "$ns" 2>/dev/null; done
}

nft_count() {	# nft_count IIFNAME: the packets tgt's rule for it counted
	on tgt nft list chain inet vmr pre | sed -n "s/.*iifname \"$1\".*counter packets \([0-9]*\).*/\1/p"
}
listening() { on tgt netstat -ltn | grep -q ":36524 "; }
connected() { on "$1" netstat -tn | grep -q "$TGT:36524 *ESTABLISHED"; }
served() { grep -c "url:/r[0-9]" "$1"; }
all_arrived() { [ "$(served /tmp/tgt.log)" -ge $REQUESTS ]; }
stop() {	# stop PIDFILE JOB: SIGTERM to the daemon, wait for its job
	[ -s "$1" ] && kill "$(cat "$1")"
	wait "$2"
}
mark() { echo "NFTVM TIME $(cut -d' ' -f1 /proc/uptime) $*"; }
dump() { echo "--- $1"; tail -n 15 "$1"; }

# replay NAME COPY_NS DOPPEL-COPY-ARGS...: doppel-copy in COPY_NS, the
# requests (to REPLAY_ONL, default $ONL; replayed to REPLAY_TO, default
# $TGT, "[ADDR]" for IPv6); 0 when every one arrived exactly once (the FAIL said
# otherwise). Leaves doppel-copy's statistics in /tmp/copy.json.
replay() {
	local name=$1 ns=$2 copy online dups
	shift 2
	: >/tmp/tgt.log
	: >/tmp/onl.log
	rm -f /tmp/copy.pid /tmp/copy.json
	on "$ns" doppel-copy -x "80-${REPLAY_TO:-$TGT}:80" -s "$TGT" --insecure-plaintext -P /tmp/copy.pid --log-level info \
		--stats-file /tmp/copy.json --stats-interval 1s "$@" >/tmp/copy.log 2>&1 &
	copy=$!
	mark "$name copy started"
	if ! wait_for 150 connected "$ns"; then
		fail "$name" "doppel-copy did not connect to intercept"
		dump /tmp/copy.log
		stop /tmp/copy.pid $copy
		return 1
	fi
	mark "$name connected"
	for i in $(seq $REQUESTS); do
		printf 'GET /r%s HTTP/1.0\r\n\r\n' "$i" | on cli timeout 5 nc -w 2 "${REPLAY_ONL:-$ONL}" 80 >/dev/null 2>&1
	done
	mark "$name sent"
	online=$(served /tmp/onl.log)
	wait_for 300 all_arrived
	mark "$name arrived"
	# A duplicate would come with the first copy: a second to show itself.
	sleep 1
	rm -f /tmp/metrics.txt
	[ -n "${METRICS:-}" ] && on "$ns" timeout 5 wget -q -O /tmp/metrics.txt "http://$METRICS/metrics"
	stop /tmp/copy.pid $copy
	mark "$name stopped"
	dups=$(grep -o "url:/r[0-9]*" /tmp/tgt.log | sort | uniq -d | tr '\n' ' ')
	if [ "$online" != $REQUESTS ] || [ "$(served /tmp/tgt.log)" != $REQUESTS ] ||
		[ "$(grep -o "url:/r[0-9]*" /tmp/tgt.log | sort -u | wc -l)" != $REQUESTS ]; then
		fail "$name" "online served $online/$REQUESTS, target got $(served /tmp/tgt.log) (twice: ${dups:-none})"
		dump /tmp/copy.log
		dump /tmp/icpt.log
		return 1
	fi
}

# json_get KEY: a number from /tmp/copy.json.
json_get() { sed -n "s/.*\"$1\": *\([0-9]*\).*/\1/p" /tmp/copy.json | head -n1; }

# tunnel_case KIND [6]: a replay through --tunnel KIND, tgt's side by
# doppel-tunnel; with 6, of IPv6 clients through an IPv6 tunnel.
tunnel_case() {
	local kind=$1 name=replay_${1%%:*} out before_dev before_eth local=$TGT plain="ip saddr $CLI"
	local REPLAY_TO=$TGT REPLAY_ONL=$ONL
	if [ "${2:-4}" = 6 ]; then
		name=${name}6 local=$TGT6 plain="ip6 saddr $CLI6" REPLAY_TO="[$TGT6]" REPLAY_ONL=$ONL6
	fi
	out=$(on tgt /test/doppel-tunnel up --tunnel "$kind" --port 80 --local "$local" \
		--dev-addr 198.18.10.254 --no-rules 2>&1) || { fail "$name" "doppel-tunnel up: $out"; return; }
	# Only the tunnel may deliver the client's TCP packets to the target
	# (its IPv6 neighbour solicitations reach every port of the bridge).
	on tgt nft -f - <<-EOF
	table inet vmr {
		chain pre {
			type filter hook prerouting priority -300; policy accept;
			iifname "eth0" $plain meta l4proto tcp counter drop
			iifname "doppel0" tcp dport 80 counter
		}
	}
	EOF
	before_dev=$(nft_count doppel0) before_eth=$(nft_count eth0)
	[ -n "$before_dev" ] || { fail "$name" "the target's counters"; }
	if replay "$name" onl -i eth0 --tunnel "$kind"; then
		if [ "$(nft_count eth0)" != "$before_eth" ] ||
			[ "$(nft_count doppel0)" -lt $((before_dev + 3 * REQUESTS)) ]; then
			fail "$name" "not through the tunnel: $(($(nft_count doppel0) - before_dev)) packets on doppel0, $(($(nft_count eth0) - before_eth)) plain on eth0"
		else
			pass "$name: $REQUESTS requests once each; $(($(nft_count doppel0) - before_dev)) packets through doppel0, none plain"
		fi
	fi
	on tgt nft delete table inet vmr
	out=$(on tgt /test/doppel-tunnel down 2>&1) || fail "${name}_down" "$out"
	if ip -n tgt link show doppel0 >/dev/null 2>&1; then
		fail "${name}_down" "doppel0 is left"
	fi
}

# mirror_case NAME --mirror-KIND LINK-ARGS-A -- LINK-ARGS-B: onl's ingress
# mirrored into devices mirA and mirB (ip link add ... ARGS), its egress
# into mirA; KEY the statistic that counts the kind's decapsulations.
mirror_case() {
	local name=$1 kind=$2 key=$3 a=() b=() sessions
	shift 3
	while [ $# -gt 0 ] && [ "$1" != -- ]; do a+=("$1"); shift; done
	shift
	b=("$@")
	if ! ip -n onl link add mirA "${a[@]}" 2>/tmp/mir.err || ! ip -n onl link add mirB "${b[@]}" 2>>/tmp/mir.err; then
		fail "$name" "the mirror devices: $(cat /tmp/mir.err)"
		ip -n onl link del mirA 2>/dev/null
		return
	fi
	if ! { ip -n onl link set mirA up && ip -n onl link set mirB up &&
		tc -n onl qdisc add dev eth0 clsact &&
		tc -n onl filter add dev eth0 ingress matchall \
			action mirred egress mirror dev mirA pipe action mirred egress mirror dev mirB &&
		tc -n onl filter add dev eth0 egress matchall action mirred egress mirror dev mirA; }; then
		fail "$name" "tc mirred into the mirror devices"
	elif METRICS=127.0.0.1:19109 replay "$name" col -i mon0 --mirror "$kind" \
		--metrics 127.0.0.1:19109; then
		# Both sessions carried each of the client's packets: at least
		# twice 3 per request (SYN, request, ACK of the answer) arrived.
		sessions=$(json_get "$key")
		if [ -z "$sessions" ]; then
			fail "$name" "no $key in the statistics: $(tr '\n' ' ' </tmp/copy.json | head -c 300)"
		elif [ "$sessions" -lt $((2 * 3 * REQUESTS)) ]; then
			fail "$name" "$key is $sessions, fewer than two mirror sessions' worth"
		elif ! grep -Eq "^doppel_copy_${key}_total [1-9]" /tmp/metrics.txt 2>/dev/null; then
			fail "$name" "--metrics has no doppel_copy_${key}_total above 0: $(grep mirror /tmp/metrics.txt 2>&1 | tr '\n' ' ')"
		else
			pass "$name: $REQUESTS requests once each; $key $sessions, mirror_filtered_out $(json_get mirror_filtered_out)"
		fi
	fi
	tc -n onl qdisc del dev eth0 clsact
	ip -n onl link del mirA
	ip -n onl link del mirB
}

# mirror_nested: onl's eth0 (ingress and egress) mirrored into a GENEVE
# device whose underlay is a VXLAN device to col: GENEVE inside VXLAN,
# taken apart by --mirror all; both levels counted.
mirror_nested() {
	local name=mirror_nested vx ge
	if ! { ip -n onl link add mirV type vxlan id 200 local "$ONL_MON" remote "$COL_MON" dstport 4789 &&
		ip -n onl addr add 198.18.12.12/24 dev mirV && ip -n onl link set mirV up &&
		ip -n onl neigh add 198.18.12.13 lladdr 02:00:00:00:00:33 dev mirV nud permanent &&
		ip -n onl link add mirG type geneve id 300 remote 198.18.12.13 &&
		ip -n onl link set mirG up && tc -n onl qdisc add dev eth0 clsact &&
		tc -n onl filter add dev eth0 ingress matchall action mirred egress mirror dev mirG &&
		tc -n onl filter add dev eth0 egress matchall action mirred egress mirror dev mirG; }; then
		fail "$name" "the nested mirror devices or tc mirred"
	elif replay "$name" col -i mon0 --mirror all; then
		vx=$(json_get mirror_decapsulated_vxlan) ge=$(json_get mirror_decapsulated_geneve)
		if [ "${vx:-0}" -lt $((3 * REQUESTS)) ] || [ "${ge:-0}" -lt $((3 * REQUESTS)) ]; then
			fail "$name" "mirror_decapsulated_vxlan ${vx:-?}, mirror_decapsulated_geneve ${ge:-?}: both levels should count each packet"
		else
			pass "$name: $REQUESTS requests once each; mirror_decapsulated_vxlan $vx, mirror_decapsulated_geneve $ge"
		fi
	fi
	tc -n onl qdisc del dev eth0 clsact
	ip -n onl link del mirG
	ip -n onl link del mirV
}

if [ ! -x /usr/bin/doppel-copy ] || [ ! -x /usr/bin/doppel-intercept ]; then
	skip replay "doppel-copy or doppel-intercept was not built"
	exit 0
fi
if ! lab_up; then
	fail replay_lab "namespaces, veth, httpd or the target's counters did not come up"
	lab_down
	exit 0
fi
# The intercept rule and doppel-intercept on the target, once for all
# cases (nft/doppel-tunnel's own "up" with rules is tested on the host).
out=$(on tgt /test/doppel-rules install --mode target --port 80 2>&1) ||
	{ fail replay_rules "doppel-rules install: $out"; lab_down; exit 0; }
# The channel in plain text, open only to the copy hosts (-x): a lab.
on tgt doppel-intercept --source nfqueue --queues 0 -x "$ONL,$COL" -P /tmp/icpt.pid >/tmp/icpt.log 2>&1 &
icpt=$!
if ! wait_for 150 listening; then
	fail replay_intercept "doppel-intercept did not listen: $(tail -n 5 /tmp/icpt.log)"
	stop /tmp/icpt.pid $icpt
	lab_down
	exit 0
fi

mark intercept
tunnel_case ipip
tunnel_case gre
tunnel_case fou:5555
tunnel_case fou:5555 6
# The mirrors' replays are plain, from the collector.
m=(local "$ONL_MON" remote "$COL_MON")
mirror_case mirror_gretap gre mirror_decapsulated_gre \
	type gretap "${m[@]}" key 1 -- type gretap "${m[@]}" key 2
mirror_case mirror_erspan2 gre mirror_decapsulated_erspan2 \
	type erspan "${m[@]}" seq key 1 erspan_ver 1 erspan 101 -- \
	type erspan "${m[@]}" seq key 2 erspan_ver 1 erspan 102
mirror_case mirror_erspan3 gre mirror_decapsulated_erspan3 \
	type erspan "${m[@]}" seq key 1 erspan_ver 2 erspan_dir ingress erspan_hwid 7 -- \
	type erspan "${m[@]}" seq key 2 erspan_ver 2 erspan_dir egress erspan_hwid 8
mirror_case mirror_geneve geneve mirror_decapsulated_geneve \
	type geneve id 100 remote "$COL_MON" -- type geneve id 101 remote "$COL_MON"
mirror_nested

stop /tmp/icpt.pid $icpt
out=$(on tgt /test/doppel-rules remove 2>&1) || fail replay_rules "doppel-rules remove: $out"
lab_down
