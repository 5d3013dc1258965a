#!/usr/bin/env bash
# HTTP keep-alive: wrk holds 4 connections for 3 s, as many requests as it
# can; the target must serve the very same requests, one for one.
. "$(dirname "$0")/../lib.sh"
scenario_begin http-keepalive "$1"
http_lab 80
http_copy copy "$NS_ONLINE" 80

client_run 30 wrk -t1 -c4 -d3s "http://$ADDR_ONLINE/" >"$LAB_DIR/wrk.out" 2>&1 ||
	fail "wrk failed: $(tail -n 3 "$LAB_DIR/wrk.out")"
http_settle 60 copy
http_judge
connections=$(nginx_connections target)
lab_stop copy || fail "doppel-copy exited with status $? on SIGTERM"
[ "$(stats_get copy sessions_failed)" = 0 ] || fail "sessions failed: $(copy_summary copy)"
client_clean
pass "$JUDGED requests at online and at target over $connections connections; $(copy_summary copy)"
