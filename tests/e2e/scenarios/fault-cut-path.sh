#!/usr/bin/env bash
# Fault under load: the copy ⇄ intercept path cut for FAULT_CUT_SECONDS
# (default 5) by an nft drop on online (both directions of port 36524),
# then restored. Judged: before and after, every request; the real clients
# never see a packet of the replay; memory back near its level. While the
# path is down, answers cannot reach copy: the sessions in flight stall and
# retransmit, and end if the cut outlasts their patience (counted).
. "$(dirname "$0")/../lib.sh"
. "$E2E_DIR/faults.sh"
scenario_begin fault-cut-path "$1"
compare_allow missing "answers lost while the path is cut"
fault_begin

cut=${FAULT_CUT_SECONDS:-5}
load_start during $((FAULT_SECONDS + cut))
sleep 2
in_ns "$NS_ONLINE" nft -f - <<NFT || fail "could not add the nft drop"
table inet doppel_fault {
	chain out { type filter hook output priority 0; ip daddr $ADDR_ASSIST tcp dport $INTERCEPT_PORT drop; }
	chain in { type filter hook input priority 0; ip saddr $ADDR_ASSIST tcp sport $INTERCEPT_PORT drop; }
}
NFT
sleep "$cut"
in_ns "$NS_ONLINE" nft delete table inet doppel_fault || fail "could not remove the nft drop"
RECOVERY_MS=$(recovery_probe 90) ||
	fail "no request replayed within 90 s of the fault's end: $(copy_summary copy)"
load_wait during
copy_idle copy 90 || fail "sessions still active after the fault: $(copy_summary copy)"

fault_end
lab_stop copy || fail "doppel-copy exited with status $? on SIGTERM"
client_clean
pass "cut ${cut} s: $(fault_report); $(stats_get copy intercept_reconnects) reconnect(s)"
