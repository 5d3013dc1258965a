#!/usr/bin/env bash
# Fault under load: the target's network stopped for FAULT_CUT_SECONDS
# (default 5): its eth0 set down (which also drops its routes), then up
# with the routes of the lab put back. Nothing reaches the target and no
# answer leaves it meanwhile: the sessions in flight retransmit, and end if
# the outage outlasts their patience (counted). Judged: before and after,
# every request; nothing of the replay reaches a real client.
. "$(dirname "$0")/../lib.sh"
. "$E2E_DIR/faults.sh"
scenario_begin fault-target-network "$1"
compare_allow missing "answers lost while the target network is down"
fault_begin

cut=${FAULT_CUT_SECONDS:-5}
load_start during $((FAULT_SECONDS + cut))
sleep 2
ip -n "$NS_TARGET" link set eth0 down || fail "could not set the target's eth0 down"
sleep "$cut"
ip -n "$NS_TARGET" link set eth0 up || fail "could not set the target's eth0 up"
for dest in "$ADDR_CLIENT/32" "$ADDR_CLIENT2/32" "$REWRITE_NET"; do
	ip -n "$NS_TARGET" route replace "$dest" via "$ADDR_ASSIST" dev eth0 ||
		fail "could not put the target's route to $dest back"
done
RECOVERY_MS=$(recovery_probe 90) ||
	fail "no request replayed within 90 s of the network's return: $(copy_summary copy)"
load_wait during
copy_idle copy 90 || fail "sessions still active after the fault: $(copy_summary copy)"

fault_end
lab_stop copy || fail "doppel-copy exited with status $? on SIGTERM"
client_clean
pass "network down ${cut} s: $(fault_report)"
