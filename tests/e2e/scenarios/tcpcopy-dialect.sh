#!/usr/bin/env bash
# TCPCopy 1.0's wire dialect both ways, each of our daemons against a peer
# that speaks only the dialect (tests/e2e/tcpcopy1_peer.py, written from
# docs/protocol.md section 15):
#  1. doppel-intercept serves a stock-tcpcopy stand-in: version message and
#     a route in; the target's SYN-ACK to the route's client comes back as a
#     combined batch of 64-byte records.
#  2. doppel-copy --wire tcpcopy1 replays HTTP through a stock-intercept
#     stand-in (AF_PACKET capture on the assistant, records in batches of
#     at most 16): every request arrives at the target.
. "$(dirname "$0")/../lib.sh"
scenario_begin tcpcopy-dialect "$1"
# Stock TCPCopy speaks no TLS, so the channel is plain text, each daemon's
# explicit way: doppel-intercept serves the stand-in tcpcopy by allowlist
# (-x its address), and doppel-copy --wire tcpcopy1 gets --insecure-plaintext.
LAB_CHANNEL=none
INTERCEPT_EXTRA_ARGS=(-x "$ADDR_ONLINE")
http_lab 80

# 1. doppel-intercept and a stock tcpcopy
out=$(in_ns "$NS_ONLINE" timeout 30 python3 "$E2E_DIR/tcpcopy1_peer.py" tcpcopy \
	"$ADDR_ASSIST" "$INTERCEPT_PORT" "$ADDR_CLIENT" "$ADDR_TARGET" 80 2>&1) ||
	fail "doppel-intercept and a stock tcpcopy: $out"
served=$(stats_get intercept connections_tcpcopy)
wait_until 10 stats_is intercept connections_tcpcopy 1 ||
	fail "doppel-intercept did not count the tcpcopy connection ($served)"
grep -q "TCPCopy 1.0 tcpcopy (version 5, advanced)" "$LAB_DIR/intercept.log" ||
	fail "doppel-intercept did not log the tcpcopy's version"
part1=$out

# 2. doppel-copy and a stock intercept: doppel-intercept (and its rules) go
lab_stop intercept || fail "doppel-intercept exited with status $? on SIGTERM"
[ "$SOURCE" != nfqueue ] || intercept_rules_remove || fail "the NFQUEUE rules could not be removed"
INTERCEPT_PORT=36600
lab_spawn stock-intercept "$NS_ASSIST" timeout 120 python3 "$E2E_DIR/tcpcopy1_peer.py" \
	intercept "$INTERCEPT_PORT" eth0 110
lab_wait_listen "$NS_ASSIST" "$INTERCEPT_PORT" 10 || fail "the stock intercept stand-in did not listen"
# --compare (the lab's default) cannot have the target's answer bytes from
# a stock intercept: every session is replayed all the same, uncompared.
compare_expect_none "a stock TCPCopy intercept gives no answer bytes"
http_copy copy "$NS_ONLINE" 80 -s "$ADDR_ASSIST:$INTERCEPT_PORT" --wire tcpcopy1 --insecure-plaintext
curl_each 30 "http://$ADDR_ONLINE/"
curl_keepalive 20 "http://$ADDR_ONLINE/"
http_settle 60 copy
http_judge
copy_stopped_clean copy
lab_stop stock-intercept
part2=$(tail -n 1 "$LAB_DIR/stock-intercept.log")
case $part2 in version\ 32773,*) ;; *) fail "the stock intercept stand-in saw: $part2" ;; esac
pass "1. $part1; 2. $JUDGED of $JUDGED requests through a stock-intercept stand-in ($part2); $(copy_summary copy)"
