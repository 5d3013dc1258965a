#!/usr/bin/env bash
# A long-lived connection: one request, 10 s of silence, a second request on
# the same connection. Both must reach the target, on one connection.
. "$(dirname "$0")/../lib.sh"
scenario_begin idle-connection "$1"
http_lab 80
http_copy copy "$NS_ONLINE" 80

client_run 30 python3 "$E2E_DIR/idle_client.py" "$ADDR_ONLINE" 80 /idle 10 >"$LAB_DIR/idle.out" 2>&1 ||
	fail "the idle client failed: $(tail -n 2 "$LAB_DIR/idle.out")"
http_settle 30 copy
http_judge
# Both requests on one target connection, as its 1st and 2nd request.
shape=$(awk '{ print $3, $4, $6 }' "$LAB_DIR/target/access.log" | tr '\n' ' ')
set -- $shape
[ $# = 6 ] && [ "$1" = "$4" ] && [ "$2" = 1 ] && [ "$5" = 2 ] ||
	fail "the target did not serve both requests on one connection: $shape"
lab_stop copy || fail "doppel-copy exited with status $? on SIGTERM"
[ "$(stats_get copy sessions_started)" = 1 ] && [ "$(stats_get copy sessions_failed)" = 0 ] ||
	fail "expected one session, ended well: $(copy_summary copy)"
client_clean
pass "2 requests 10 s apart on one connection at online and at target; $(copy_summary copy)"
