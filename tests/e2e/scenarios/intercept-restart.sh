#!/usr/bin/env bash
# doppel-intercept restarted in the middle of a run: the copy daemon
# reconnects and registers again the routes of its live sessions, so every
# request arrives: those before, those begun while intercept was down (their
# SYNs are retransmitted until the target's answers reach a route again)
# and those after.
. "$(dirname "$0")/../lib.sh"
scenario_begin intercept-restart "$1"
http_lab 80
http_copy copy "$NS_ONLINE" 80

curl_each 30 "http://$ADDR_ONLINE/phase1"
wait_until 30 target_caught_up phase1
copy_idle copy 20
lab_stop intercept || fail "doppel-intercept exited with status $? on SIGTERM"
curl_each 10 "http://$ADDR_ONLINE/down"
intercept_run "$SOURCE" || fail "doppel-intercept did not start again"
reconnected() { [ "$(stats_get copy intercept_reconnects)" -ge 1 ] 2>/dev/null && stats_is copy intercept_connected 1; }
wait_until 30 reconnected || fail "doppel-copy did not reconnect to intercept: $(copy_summary copy)"

curl_each 50 "http://$ADDR_ONLINE/phase2"
curl_keepalive 50 "http://$ADDR_ONLINE/phase2"
wait_until 60 target_caught_up phase2
wait_until 60 target_caught_up /down
http_judge phase1
phase1=$JUDGED
http_judge /down
down=$JUDGED
http_judge phase2
[ "$(stats_get copy sessions_refused_route)" = 0 ] ||
	fail "$(stats_get copy sessions_refused_route) sessions refused for want of intercept"
copy_idle copy 30
copy_stopped_clean copy
pass "before: $phase1 of $phase1 requests; while down: $down of $down; after: $JUDGED of $JUDGED; $(copy_summary copy), $(stats_get copy intercept_reconnects) reconnect(s), $(stats_get copy intercept_routes_restored) route(s) registered again"
