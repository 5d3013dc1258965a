#!/usr/bin/env bash
# Link-layer send: doppel-copy writes Ethernet frames on eth0 (-o) to the
# target's MAC, past online's IP stack.
. "$(dirname "$0")/../lib.sh"
scenario_begin link-layer "$1"
http_lab 80
copy_start copy "$NS_ONLINE" -x "80-$ADDR_TARGET:80@$(lab_mac "$ADDR_TARGET")" -o eth0 ||
	fail "doppel-copy did not start"

wrk_paced 2 2 "http://$ADDR_ONLINE/"
curl_each 50 "http://$ADDR_ONLINE/"
http_settle 60 copy
http_judge
lab_stop copy || fail "doppel-copy exited with status $? on SIGTERM"
[ "$(stats_get copy sessions_failed)" = 0 ] || fail "sessions failed: $(copy_summary copy)"
client_clean
pass "$JUDGED requests at online and at target, sent as frames to $(lab_mac "$ADDR_TARGET"); $(copy_summary copy)"
