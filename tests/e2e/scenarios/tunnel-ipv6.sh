#!/usr/bin/env bash
# Tunnel send of IPv6 clients on a network that forbids spoofed sources:
# the switch drops every IPv4 and IPv6 packet whose source is not its
# port's host's own. Client, online and target speak IPv6 (2001:2::N); the
# replay goes in VXLAN over IPv6 to the target (doppel-tunnel up --local
# 2001:2::3), the intercept on the target swallows the IPv6 answers.
#   control  the plain IPv6 replay is dropped by the switch;
#   vxlan    keep-alive HTTP (wrk) and pipelined Redis arrive one for one.
. "$(dirname "$0")/../lib.sh"
. "$E2E_DIR/tunnel.sh"
scenario_begin tunnel-ipv6 "$1"
trap tunnel_teardown EXIT
redis_requests=2000
V6_CLIENT=2001:2::1 V6_ONLINE=2001:2::2 V6_TARGET=2001:2::3
TUNNEL_ADDR=$V6_TARGET TUNNEL_CLIENT=$V6_CLIENT
lab_build || fail "could not build the lab"
lab_ipv6 "$NS_CLIENT" "$NS_ONLINE" "$NS_TARGET" || fail "could not give the hosts IPv6 addresses"
antispoof_switch || fail "could not install the anti-spoofing switch rules"
target_alone || fail "could not remove the target's routes via the assistant"
nginx_start online "$NS_ONLINE" "[$V6_ONLINE]" 80 || fail "nginx did not start in online"
nginx_start target "$NS_TARGET" "[$V6_TARGET]" 80 || fail "nginx did not start in target"
redis_start redis-online "$NS_ONLINE" "$V6_ONLINE" 6379 || fail "redis did not start in online"
redis_start redis-target "$NS_TARGET" "$V6_TARGET ::1" 6379 || fail "redis did not start in target"
tunnel_target_side "$SOURCE" vxlan:7 80 6379 || fail "the target's side did not come up ($SOURCE)"
# The lab's client watch counts IPv4 only: IPv6 packets reaching the
# client from any host but online (not link-local) are counted here.
in_ns "$NS_CLIENT" nft -f - <<EOF || fail "could not install the client's IPv6 watch"
table inet doppel_e2e_watch6 {
	counter stray6 {}
	chain prerouting {
		type filter hook prerouting priority -400; policy accept;
		meta pkttype host ip6 saddr != { $V6_ONLINE, fe80::/10 } counter name stray6
	}
}
EOF

# --- control: the plain IPv6 replay never arrives --------------------------------
# (Not compared: its replay is dropped on purpose, every answer missing.)
E2E_COMPARE=0 tunnel_copy_start plain -x "80-[$V6_TARGET]:80" || fail "doppel-copy (plain) did not start"
before=$(antispoof_dropped)
client_run 30 curl -s -g -H 'Connection: close' "http://[$V6_ONLINE]/control" >/dev/null ||
	fail "curl to online over IPv6 failed"
wait_until 5 test "$(antispoof_dropped)" -gt "$before"
sleep 1
dropped=$(($(antispoof_dropped) - before))
[ "$(nginx_requests target)" = 0 ] || fail "control: the plain IPv6 replay reached the target"
[ "$dropped" -ge 1 ] || fail "control: the switch dropped no spoofed IPv6 frame"
lab_stop plain

# --- the tunnel ------------------------------------------------------------------
tunnel_copy_start copy -x "80-[$V6_TARGET]:80,6379-[$V6_TARGET]:6379" --tunnel vxlan:7 ||
	fail "doppel-copy --tunnel vxlan did not start"
before=$(antispoof_dropped)
wrk_paced 2 2 "http://[$V6_ONLINE]/" 2
# The SETs, then (once the target has them) the GETs, as in redis-pipeline.
for test in set get; do
	client_run 60 redis-benchmark -h "$V6_ONLINE" -p 6379 -P 16 -c 2 -n $redis_requests -r 1000 \
		-t $test -q >>"$LAB_DIR/benchmark.out" 2>&1 ||
		fail "redis-benchmark failed: $(tail -n 3 "$LAB_DIR/benchmark.out")"
	[ $test = get ] || wait_until 60 redis_calls_reach "$NS_TARGET" ::1 6379 set $redis_requests
done
replayed='GET /[?]w='
target_done() {
	target_caught_up "$replayed" &&
		[ "$(redis_calls "$NS_TARGET" ::1 6379 set)" -ge $redis_requests ] &&
		[ "$(redis_calls "$NS_TARGET" ::1 6379 get)" -ge $redis_requests ]
}
wait_until 60 target_done
copy_idle copy 20
lab_stop copy || fail "doppel-copy exited with status $? on SIGTERM"
summary=$(copy_summary copy)
[ "$(antispoof_dropped)" = "$before" ] ||
	fail "the switch dropped $(($(antispoof_dropped) - before)) frames during the tunnelled replay"
http_judge "$replayed"
target_set=$(redis_calls "$NS_TARGET" ::1 6379 set)
target_get=$(redis_calls "$NS_TARGET" ::1 6379 get)
[ "$target_set" = $redis_requests ] && [ "$target_get" = $redis_requests ] ||
	fail "target served $target_set SET and $target_get GET of $redis_requests each"
[ "$(stats_get copy sessions_failed)" = 0 ] || fail "sessions failed: $summary"
grep -q "2001:2::1" "$LAB_DIR/target/access.log" || fail "the target did not see the IPv6 client"
client_clean
stray6=$(in_ns "$NS_CLIENT" nft list counter inet doppel_e2e_watch6 stray6 | sed -n 's/.*packets \([0-9]*\).*/\1/p')
[ "$stray6" = 0 ] || fail "the client received $stray6 IPv6 packets from hosts other than online"
pass "control: plain IPv6 replay dropped ($dropped spoofed frames); vxlan over IPv6: $JUDGED HTTP requests and SET $target_set GET $target_get at online and at target; $summary"
