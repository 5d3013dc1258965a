#!/usr/bin/env bash
# Fault under load: the send path filled. The target's port is closed for
# FAULT_CUT_SECONDS (default 5) by an nft rule in the target's namespace
# while its server keeps running, then opened again:
#   FAULT_PORT_ACTION=drop (default)  a firewall that drops: nothing the
#       copy sends is acknowledged, so every session's data is held and
#       retransmitted with backoff, new sessions' SYNs go unanswered, and
#       the copy's buffered data grows (the send path fills) until the port
#       opens and the backlog drains;
#   FAULT_PORT_ACTION=reject  the port closed as the kernel closes it, an
#       RST for every packet: the sessions end, counted (ended_target_reset).
# Judged: before and after, every request; with drop, what was held while
# the port was closed is delivered (nothing lost but what outlasts the
# sessions' patience); memory back near its level; the real clients never
# see a packet of the replay. Reported: lost, the copy's peak of buffered
# bytes and live sessions while closed, the counters, the recovery time.
# The e2e suite runs it with the nfqueue source only: the fault is on the
# target's side of the copy and the intercept's source only carries the
# target's answers, which this fault stops at the target either way (the
# pcap source is run by `make soak`).
. "$(dirname "$0")/../lib.sh"
. "$E2E_DIR/faults.sh"
scenario_begin fault-target-port "$1"
compare_allow missing "answers refused, or delayed past the comparison's wait, while the target's port is closed"
[ "$SOURCE" = nfqueue ] || [ -n "${FAULT_ALL_SOURCES:-}" ] ||
	skip "run with nfqueue in the e2e suite (the fault is the target's; make soak runs pcap)"
action=${FAULT_PORT_ACTION:-drop}
case $action in
drop) rule=drop ;;
reject) rule="reject with tcp reset" ;;
*) fail "FAULT_PORT_ACTION must be drop or reject, not '$action'" ;;
esac
fault_begin

cut=${FAULT_CUT_SECONDS:-5}
load_start during $((FAULT_SECONDS + cut))
sleep 2
in_ns "$NS_TARGET" nft -f - <<NFT || fail "could not add the nft rule at the target"
table inet doppel_fault {
	chain in { type filter hook input priority 0; tcp dport 80 counter $rule; }
}
NFT
# The copy's stats file is rewritten every second: its peaks while closed.
peak_bytes=0 peak_active=0
closed_at=$(now_ms)
while [ $(($(now_ms) - closed_at)) -lt $((cut * 1000)) ]; do
	b=$(stats_get copy buffered_bytes) a=$(stats_get copy sessions_active)
	[ "${b:-0}" -le "$peak_bytes" ] || peak_bytes=$b
	[ "${a:-0}" -le "$peak_active" ] || peak_active=$a
	sleep 0.5
done
dropped=$(in_ns "$NS_TARGET" nft list table inet doppel_fault 2>/dev/null |
	sed -n 's/.*packets \([0-9]*\).*/\1/p' | head -n 1)
in_ns "$NS_TARGET" nft delete table inet doppel_fault || fail "could not remove the nft rule at the target"
RECOVERY_MS=$(recovery_probe 90) ||
	fail "no request replayed within 90 s of the port's opening: $(copy_summary copy)"
load_wait during
copy_idle copy 120 || fail "sessions still active after the fault: $(copy_summary copy)"
[ "$action" = reject ] || [ "$peak_bytes" -gt 0 ] ||
	fail "the copy held no data while the port dropped everything (buffered_bytes stayed 0)"

fault_end
lab_stop copy || fail "doppel-copy exited with status $? on SIGTERM"
client_clean
pass "port ${action} ${cut} s (${dropped:-?} packets ${action/%p/pp}ed at the target): $(fault_report); while closed: peak buffered_bytes $peak_bytes, peak sessions_active $peak_active; ended_target_reset $(stats_get copy ended_target_reset), ended_syn_timeout $(stats_get copy ended_syn_timeout), ended_retransmit_limit $(stats_get copy ended_retransmit_limit)"
