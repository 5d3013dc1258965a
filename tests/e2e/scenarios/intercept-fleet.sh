#!/usr/bin/env bash
# A fleet: two doppel-intercepts (on the assistant, ports 36524 and 36525;
# with nfqueue each reads its own queue, 0 for the answers from port 80 and
# 1 for those from 8080, both installed by doppel-rules; with pcap each
# filters its port), each serving one target port (-s ADDR=TARGET), and
# doppel-copy with -C 4 (four connections to each, sessions spread by a hash
# of the 4-tuple). Judged: every request arrives; each intercept got the
# routes of its own target only, over four connections. Then intercept B is
# killed for good: the requests to A's target still all arrive, A's
# connections are untouched; those to B's target are lost (counted).
. "$(dirname "$0")/../lib.sh"
scenario_begin intercept-fleet "$1"
compare_allow missing "intercept B is killed for good: the answers from its target are lost"
lab_build || fail "could not build the lab"
nginx_start online "$NS_ONLINE" "$ADDR_ONLINE" 80 8080 || fail "nginx did not start in online"
nginx_start target "$NS_TARGET" "$ADDR_TARGET" 80 8080 || fail "nginx did not start in target"
# Both intercepts and the copy daemon's eight connections on the lab's TLS
# channel (daemons.sh).
read -ra channel <<<"$(lab_channel_args | tr '\n' ' ')" || fail "no channel options"
for ab in a:80:36524:0 b:8080:36525:1; do
	IFS=: read -r name port listen queue <<<"$ab"
	if [ "$SOURCE" = nfqueue ]; then
		in_ns "$NS_ASSIST" env DOPPEL_RULES_STATE="$LAB_DIR/rules.state" "$RULES_BIN" install \
			--mode assistant --port "$port" --addr "$ADDR_TARGET" --queues "$queue" \
			>>"$LAB_DIR/rules.log" 2>&1 || fail "doppel-rules install --port $port --queues $queue failed"
		echo "$NS_ASSIST" >>"$LAB_DIR/rules"
		source_args=(--source nfqueue --queues "$queue")
	else
		source_args=(--source pcap -i eth0 -F "tcp and src host $ADDR_TARGET and src port $port")
	fi
	# shellcheck disable=SC2046 # --route-payload N for --compare, or nothing
	daemon_start "intercept-$name" "$NS_ASSIST" "$ICPT_BIN" "${source_args[@]}" "${channel[@]}" -p "$listen" \
		--stats-file "$LAB_DIR/intercept-$name.json" --stats-interval 1s --log-level info \
		$(intercept_compare_args) ||
		fail "doppel-intercept $name did not start"
	lab_wait_listen "$NS_ASSIST" "$listen" 10 || fail "intercept $name is not listening"
done
# --log-level debug: each session's end and its reason, for the verdict.
copy_start copy "$NS_ONLINE" -x "80-$ADDR_TARGET:80,8080-$ADDR_TARGET:8080" -C 4 --log-level debug \
	-s "$ADDR_ASSIST:36524=$ADDR_TARGET:80,$ADDR_ASSIST:36525=$ADDR_TARGET:8080" ||
	fail "doppel-copy did not start"
wait_until 15 stats_is copy intercept_connected 8 ||
	fail "doppel-copy has $(stats_get copy intercept_connected) of 8 connections up"

# 1. both up
curl_each 30 "http://$ADDR_ONLINE/a1"
curl_each 30 "http://$ADDR_ONLINE:8080/b1"
curl_keepalive 30 "http://$ADDR_ONLINE:8080/b1"
wait_until 60 target_caught_up
http_judge
both=$JUDGED
# (the statistics files are written every second)
wait_until 10 stats_is intercept-a routes_added 30
wait_until 10 stats_is intercept-b routes_added 31
routes_a=$(stats_get intercept-a routes_added) routes_b=$(stats_get intercept-b routes_added)
[ "$routes_a" = 30 ] || fail "intercept A got $routes_a routes, not the 30 sessions to port 80"
[ "$routes_b" = 31 ] || fail "intercept B got $routes_b routes, not the 31 sessions to port 8080"
wait_until 10 stats_is intercept-a connections_active 4 ||
	fail "intercept A has $(stats_get intercept-a connections_active) connections, not 4 (-C 4)"
[ "$(stats_get intercept-a summaries_unrouted)" = 0 ] ||
	fail "intercept A: $(stats_get intercept-a summaries_unrouted) answers unrouted"
# Every session of part 1 over (its last FIN acknowledged) before B dies:
# one still closing would lose its end with B and count as failed.
copy_idle copy 30 || fail "$(stats_get copy sessions_active) sessions still open before B was killed"

# 2. B killed for good: A's sessions go on
lab_stop intercept-b KILL >/dev/null 2>&1
wait_until 30 stats_is copy intercept_connected 4 ||
	fail "doppel-copy still counts $(stats_get copy intercept_connected) connections, not A's 4"
curl_each 30 "http://$ADDR_ONLINE/a2"
curl_each 10 "http://$ADDR_ONLINE:8080/b2"
wait_until 60 target_caught_up /a2
http_judge /a2
after=$JUDGED
lost=$(($(online_requests /b2) - $(nginx_requests target /b2)))
[ "$lost" -gt 0 ] || fail "requests to B's target arrived with B dead: the test is not what it seems"
[ "$(stats_get copy intercept_reconnects)" = 0 ] ||
	fail "A's connections were re-established ($(stats_get copy intercept_reconnects) reconnects)"
stats_is intercept-a connections_active 4 ||
	fail "intercept A has $(stats_get intercept-a connections_active) connections after B died"
# B's sessions end when its connections have been gone for the outage
# grace (20 s), A's as they close: then no session is left.
copy_idle copy 60 || fail "$(stats_get copy sessions_active) sessions still open 60 s after B's"
lab_stop copy || fail "doppel-copy exited with status $? on SIGTERM"
# Every session that did not end closed, by target port and reason (its
# detail says which intercept was lost; its connection's #N left out): only
# B's, ended for its loss.
ends=$(sed -n 's/.*session [^ ]* > [^ ]*:\([0-9]*\) ended: \(.*\)$/\1 \2/p' "$LAB_DIR/copy.log" |
	grep -v '^[0-9]* closed' | sed 's/#[0-9]* lost/ lost/' | sort | uniq -c |
	awk '{ n = $1; p = $2; $1 = $2 = ""; sub(/^ +/, ""); printf "%s%s to port %s (%s)", sep, n, p, $0; sep = ", " }')
b2=$(online_requests /b2)
want="$b2 to port 8080 (aborted: intercept $ADDR_ASSIST:36525 lost for more than 20000 ms)"
[ "$ends" = "$want" ] || fail "sessions not closed: '${ends:-none}', want only '$want'"
[ "$(stats_get copy sessions_failed)" = "$b2" ] ||
	fail "$(stats_get copy sessions_failed) sessions failed, not the $b2 to B's target"
lab_stop intercept-a || fail "doppel-intercept A exited with status $? on SIGTERM"
client_clean
pass "both up: $both of $both requests, routes A $routes_a (port 80 only) and B $routes_b (port 8080 only) over 4 connections each; B killed: $after of $after to A's target arrived, $lost of $b2 to B's target lost, their $b2 sessions ended for B's loss after the grace and no other failed; $(copy_summary copy)"
