#!/usr/bin/env bash
# A SYN flood during normal traffic (`make soak`; not in CI): FLOOD_SYNS
# (default 1,000,000) SYNs from distinct addresses and ports of
# 198.18.0.0/15 at online's port 80 (syn_flood.py, from the client's
# namespace), while real clients load online as in the fault scenarios;
# doppel-copy runs with -m FLOOD_MEMORY (default 16m), a small cap.
#
# Judged: doppel-copy's RSS (sampled every 0.5 s) stays under its RSS
# before the flood (the fixed overhead: capture ring, buffers) plus the
# cap; the flood's sessions are refused or ended, and counted (at the cap
# the oldest session that sent only its SYN makes room for a new one:
# sessions_evicted_syn, so real clients, whose data follows, keep theirs); the real
# load before and after the flood is replayed one for one. Reported: SYNs
# sent, peak RSS, sessions started and refused for memory, and the share
# of the real requests sent during the flood that reached the target.
#   tests/soak/flood.sh [nfqueue|pcap]     (E2E_BUILD as the e2e suite)
. "$(dirname "$0")/../e2e/lib.sh"
. "$E2E_DIR/faults.sh"
scenario_begin flood "${1:-nfqueue}"
syns=${FLOOD_SYNS:-1000000}
cap=${FLOOD_MEMORY:-16m}
case $cap in
*[kK]) cap_kb=${cap%?} ;;
*[mM]) cap_kb=$((${cap%?} * 1024)) ;;
*[gG]) cap_kb=$((${cap%?} * 1024 * 1024)) ;;
*) fail "FLOOD_MEMORY: give k, m or g" ;;
esac

http_lab 80
http_copy copy "$NS_ONLINE" 80 -m "$cap"
load_phase before 3
http_settle 60 copy
http_judge /before/
rss_before=$(rss_kb copy)

# The flood, with the real load running through it.
load_start during 20
lab_spawn flood "$NS_CLIENT" timeout 1800 python3 "$(dirname "$0")/syn_flood.py" \
	"$syns" "$ADDR_ONLINE" 80
flood_pid=$(lab_pid flood)
peak=$rss_before
started=$(now_ms)
while lab_alive "$flood_pid"; do
	now=$(rss_kb copy)
	[ -n "$now" ] && [ "$now" -gt "$peak" ] && peak=$now
	sleep 0.5
done
flood_s=$((($(now_ms) - started) / 1000))
lab_stop flood || fail "the flood failed: $(tail -n 2 "$LAB_DIR/flood.log")"
load_wait during
# The flood's sessions end by their SYN retransmission limit.
copy_idle copy 300 || fail "sessions still active 300 s after the flood: $(copy_summary copy)"
rss_idle=$(rss_kb copy)

load_phase after 3
wait_until 60 target_caught_up /after/
http_judge /after/
limit=$((rss_before + cap_kb))
[ "$peak" -le "$limit" ] ||
	fail "doppel-copy's RSS peaked at $peak KiB, over $rss_before KiB before plus the $cap cap"
lab_stop copy || fail "doppel-copy exited with status $? on SIGTERM"
client_clean
pass "$(tail -n 1 "$LAB_DIR/flood.log") (${flood_s} s with sampling); RSS $rss_before KiB before, peak $peak KiB (limit $limit), $rss_idle KiB idle after; sessions $(stats_get copy sessions_started) started, $(stats_get copy sessions_evicted_syn) of them ended having sent only their SYN to make room, $(stats_get copy sessions_refused_memory) refused for memory, $(stats_get copy capture_kernel_drops) packets dropped by the kernel before capture; real requests during the flood: $(phase_counts during) replayed; before $(phase_counts before), after $(phase_counts after)"
