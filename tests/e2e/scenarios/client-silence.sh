#!/usr/bin/env bash
# The real clients see nothing of the replay: with keep-alive, one-shot and
# idle connections, and the copy daemon stopped while a session is open (it
# resets that session at the target), no packet from a host other than
# online, and no RST, reaches the client namespace. The counter is first
# shown to work: a SYN from the assistant to the client counts as stray.
. "$(dirname "$0")/../lib.sh"
scenario_begin client-silence "$1"
http_lab 80
http_copy copy "$NS_ONLINE" 80

# Control: a packet from the assistant reaches the client and is counted.
in_ns "$NS_ASSIST" timeout 5 curl -s --max-time 1 -o /dev/null "http://$ADDR_CLIENT:9/" 2>/dev/null
control=$(lab_client_counters)
[ "${control% *}" -ge 1 ] || fail "the client's stray counter missed a packet from the assistant ($control)"
in_ns "$NS_CLIENT" nft reset counters table inet doppel_e2e_watch >/dev/null
in_ns "$NS_CLIENT" nft flush set inet doppel_e2e_watch senders

wrk_paced 2 4 "http://$ADDR_ONLINE/"
curl_each 50 "http://$ADDR_ONLINE/"
client_run 30 python3 "$E2E_DIR/idle_client.py" "$ADDR_ONLINE" 80 /idle 4 >"$LAB_DIR/idle.out" 2>&1 &
idle=$!
wait_until 10 target_caught_up "step=1" || fail "the idle client's first request did not reach the target"
lab_stop copy || fail "doppel-copy exited with status $? on SIGTERM"
aborted=$(stats_get copy ended_aborted)
wait $idle || fail "the idle client failed: $(tail -n 2 "$LAB_DIR/idle.out")"
client_clean
pass "$(nginx_requests online) requests, $aborted session(s) aborted at stop, and the client saw 0 stray packets and 0 RSTs (control: $control)"
