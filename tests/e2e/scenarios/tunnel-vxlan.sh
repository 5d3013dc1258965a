#!/usr/bin/env bash
# Tunnel send on a network that forbids spoofed sources: the switch drops
# every frame whose source address is not its port's host's own. Two hosts,
# no assistant in the path: intercept runs on the target.
#   control  the plain replay (the clients' addresses as source) is dropped
#            by the switch: the target serves nothing, the switch counts it;
#   vxlan    doppel-copy --tunnel vxlan; the target's side is one command
#            (nft/doppel-tunnel up): keep-alive HTTP (wrk), one request per
#            connection (curl) and pipelined Redis each arrive one for one;
#            nothing reaches the real client; then the same tunnel written
#            by doppel-copy itself on AF_PACKET (-o eth0): one-request HTTP;
#            doppel-tunnel down leaves nothing behind.
. "$(dirname "$0")/../lib.sh"
. "$E2E_DIR/tunnel.sh"
scenario_begin tunnel-vxlan "$1"
trap tunnel_teardown EXIT
redis_requests=4000
lab_build || fail "could not build the lab"
antispoof_switch || fail "could not install the anti-spoofing switch rules"
target_alone || fail "could not remove the target's routes via the assistant"
nginx_start online "$NS_ONLINE" "$ADDR_ONLINE" 80 || fail "nginx did not start in online"
nginx_start target "$NS_TARGET" "$ADDR_TARGET" 80 || fail "nginx did not start in target"
redis_start redis-online "$NS_ONLINE" "$ADDR_ONLINE" 6379 || fail "redis did not start in online"
# Also on 127.0.0.1: the target's output rule queues the answers from
# $ADDR_TARGET:6379, its own questions to redis included, so they go there.
redis_start redis-target "$NS_TARGET" "$ADDR_TARGET 127.0.0.1" 6379 || fail "redis did not start in target"
if [ "$SOURCE" = nfqueue ]; then
	tunnel_target_up vxlan:7 80 6379 || fail "the target's tunnel side did not come up"
else
	# pcap: the endpoint only; the answers are read on a sink device.
	in_ns "$NS_TARGET" env DOPPEL_TUNNEL_STATE="$LAB_DIR/tunnel.state" "$TUNNEL_BIN" up \
		--tunnel vxlan:7 --local "$ADDR_TARGET" --dev-addr 198.18.0.253 --no-rules \
		>>"$LAB_DIR/rules.log" 2>&1 || fail "doppel-tunnel up --no-rules failed"
	echo "$NS_TARGET" >>"$LAB_DIR/tunnels"
fi
intercept_on_target "$SOURCE" || fail "doppel-intercept did not start on the target ($SOURCE)"

# --- control: the plain replay never arrives -----------------------------------
# (Not compared: its replay is dropped on purpose, every answer missing.)
E2E_COMPARE=0 tunnel_copy_start plain -x "80-$ADDR_TARGET:80" || fail "doppel-copy (plain) did not start"
curl_each 5 "http://$ADDR_ONLINE/control"
wait_until 5 test "$(antispoof_dropped)" -ge 5
sleep 1
dropped=$(antispoof_dropped)
[ "$(nginx_requests target)" = 0 ] ||
	fail "control: $(nginx_requests target) plain-replayed requests reached the target through the anti-spoofing switch"
[ "${dropped:-0}" -ge 5 ] || fail "control: the switch dropped only ${dropped:-0} spoofed frames"
lab_stop plain

# --- the tunnel ------------------------------------------------------------------
tunnel_copy_start copy -x "80-$ADDR_TARGET:80,6379-$ADDR_TARGET:6379" --tunnel vxlan:7 ||
	fail "doppel-copy --tunnel vxlan did not start"
grep -q "tunnel: vxlan" "$LAB_DIR/copy.log" || fail "doppel-copy did not say it tunnels"
before=$(antispoof_dropped)
wrk_paced 2 2 "http://$ADDR_ONLINE/" 2
curl_each 30 "http://$ADDR_ONLINE/one"
# The SETs, then (once the target has them) the GETs, as in redis-pipeline.
for test in set get; do
	client_run 60 redis-benchmark -h "$ADDR_ONLINE" -p 6379 -P 16 -c 2 -n $redis_requests -r 1000 \
		-t $test -q >>"$LAB_DIR/benchmark.out" 2>&1 ||
		fail "redis-benchmark failed: $(tail -n 3 "$LAB_DIR/benchmark.out")"
	[ $test = get ] || wait_until 60 redis_calls_reach "$NS_TARGET" 127.0.0.1 6379 set $redis_requests
done
replayed='GET /([?]w=|one[?]|link[?])'	# all but the control's requests
target_done() {
	target_caught_up "$replayed" &&
		[ "$(redis_calls "$NS_TARGET" 127.0.0.1 6379 set)" -ge $redis_requests ] &&
		[ "$(redis_calls "$NS_TARGET" 127.0.0.1 6379 get)" -ge $redis_requests ]
}
wait_until 60 target_done
copy_idle copy 20
lab_stop copy || fail "doppel-copy exited with status $? on SIGTERM"
summary=$(copy_summary copy)
# -o: the outer Ethernet, IP and UDP headers written by doppel-copy.
tunnel_copy_start copy-o -x "80@$(lab_mac "$ADDR_ONLINE")-$ADDR_TARGET:80@$(lab_mac "$ADDR_TARGET")" \
	-o eth0 --tunnel vxlan:7 || fail "doppel-copy -o --tunnel vxlan did not start"
curl_each 20 "http://$ADDR_ONLINE/link"
wait_until 30 target_caught_up "$replayed"
copy_idle copy-o 20
lab_stop copy-o || fail "doppel-copy -o exited with status $? on SIGTERM"
[ "$(stats_get copy-o sessions_completed)" = 20 ] || fail "-o: $(copy_summary copy-o)"
[ "$(antispoof_dropped)" = "$before" ] ||
	fail "the switch dropped $(($(antispoof_dropped) - before)) frames during the tunnelled replay"
# HTTP: every request but the control's, one for one.
http_judge "$replayed"
online_set=$(redis_calls "$NS_ONLINE" "$ADDR_ONLINE" 6379 set)
online_get=$(redis_calls "$NS_ONLINE" "$ADDR_ONLINE" 6379 get)
target_set=$(redis_calls "$NS_TARGET" 127.0.0.1 6379 set)
target_get=$(redis_calls "$NS_TARGET" 127.0.0.1 6379 get)
[ "$online_set" = $redis_requests ] && [ "$online_get" = $redis_requests ] ||
	fail "online served $online_set SET and $online_get GET of $redis_requests each"
[ "$target_set" = "$online_set" ] && [ "$target_get" = "$online_get" ] ||
	fail "target served $target_set SET and $target_get GET, online $online_set and $online_get"
[ "$(stats_get copy sessions_failed)" = 0 ] || fail "sessions failed: $summary"
client_clean

# --- the target's side goes as it came -------------------------------------------
lab_stop intercept
if [ "$SOURCE" = nfqueue ]; then
	in_ns "$NS_TARGET" env DOPPEL_RULES_STATE="$LAB_DIR/rules.state" "$RULES_BIN" remove --mode target \
		--port 6379 --addr "$ADDR_TARGET" >>"$LAB_DIR/rules.log" 2>&1 || fail "doppel-rules remove 6379 failed"
fi
tunnel_target_down || fail "doppel-tunnel down failed: $(tail -n 3 "$LAB_DIR/rules.log")"
: >"$LAB_DIR/tunnels"
: >"$LAB_DIR/rules"
in_ns "$NS_TARGET" ip link show dev doppel0 >/dev/null 2>&1 && fail "doppel-tunnel down left doppel0"
in_ns "$NS_TARGET" iptables -t raw -S 2>/dev/null | grep -q DOPPEL && fail "doppel-tunnel down left the DOPPEL chain"
pass "control: plain replay 0 of 5 requests at target, $dropped spoofed frames dropped by the switch; vxlan: $JUDGED HTTP requests (20 of them sent with -o) and SET $target_set GET $target_get at online and at target, 0 frames dropped; $summary"
