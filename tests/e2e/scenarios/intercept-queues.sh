#!/usr/bin/env bash
# doppel-intercept reading two NFQUEUE queues on two threads
# (--queue-threads 2): doppel-rules installs the target's answers to queues
# 0-1 with the CPU fanout, and 200 one-shot HTTP requests are replayed, the
# first 100 with the target's nginx and doppel-copy pinned to CPU 0, the
# rest to CPU 1 (a veth hands a packet on on the sending CPU, so the answers
# take queue 0, then queue 1; a NIC with RSS spreads flows so by itself).
# Every request must reach the target, one for one; each queue's own count
# (the metrics' source_queue_packets{queue}) must be above zero and add up
# to what the daemon delivered, nothing lost; both reader threads run; the
# daemons stop clean. nfqueue only (pcap has no queues).
. "$(dirname "$0")/../lib.sh"
scenario_begin intercept-queues "$1"
[ "$SOURCE" = nfqueue ] || skip "queues are nfqueue's"
[ "$(nproc)" -ge 2 ] || skip "needs 2 CPUs"
command -v taskset >/dev/null 2>&1 || fail "taskset is not installed (util-linux)"
ICPT_METRICS=$ADDR_ASSIST:9102
INTERCEPT_QUEUES=0-1
INTERCEPT_EXTRA_ARGS=(--queue-threads 2 --metrics "$ICPT_METRICS")
http_lab 80
http_copy copy "$NS_ONLINE" 80

# The reader threads, named by the daemon.
icpt=$(lab_pid intercept)
threads=$(cat /proc/"$icpt"/task/*/comm 2>/dev/null | grep -c '^nfq-r[01]$')
[ "$threads" = 2 ] || fail "doppel-intercept runs $threads reader threads, not 2: $(cat /proc/"$icpt"/task/*/comm | tr '\n' ' ')"

# pin CPU: the target's processes (nginx) and doppel-copy on that CPU.
pin() {
	local pid
	for pid in $(ip netns pids "$NS_TARGET") "$(lab_pid copy)"; do
		taskset -a -p -c "$1" "$pid" >/dev/null 2>&1
	done
}
pin 0
curl_each 100 "http://$HOST_ONLINE/"
wait_until 60 target_caught_up
pin 1
client_run 120 curl -s -H 'Connection: close' "http://$HOST_ONLINE/?m=[1-100]" >/dev/null ||
	fail "curl: the second 100 requests did not all succeed"
http_settle 60 copy
http_judge

# metric NAME: its one sample from doppel-intercept's endpoint.
scrape() {
	in_ns "$NS_ASSIST" curl -sS --max-time 5 "http://$ICPT_METRICS/metrics" >"$LAB_DIR/scrape.txt" ||
		fail "GET http://$ICPT_METRICS/metrics failed"
}
sample() { awk -v n="$1" '$1 == n { print $2 }' "$LAB_DIR/scrape.txt"; }
# The stats file is written every second: read both after it settles.
sleep 1.5
scrape
q0=$(sample 'doppel_intercept_source_queue_packets_total{queue="0"}')
q1=$(sample 'doppel_intercept_source_queue_packets_total{queue="1"}')
lost=$(( $(sample 'doppel_intercept_source_queue_lost_total{queue="0"}') + \
	$(sample 'doppel_intercept_source_queue_lost_total{queue="1"}') ))
delivered=$(sample doppel_intercept_source_packets_total'{source="nfqueue"}')
[ -n "$q0" ] && [ -n "$q1" ] || fail "no per-queue samples: $(grep source_queue "$LAB_DIR/scrape.txt")"
[ "$q0" -gt 0 ] && [ "$q1" -gt 0 ] || fail "a queue saw nothing: queue 0 $q0, queue 1 $q1"
[ "$((q0 + q1))" = "$delivered" ] || fail "queues 0 and 1 delivered $q0 + $q1, the source $delivered"
[ "$lost" = 0 ] || fail "$lost answers lost in the queues"
routed=$(stats_get intercept summaries_routed)
[ "$(stats_get intercept summaries_in)" = "$delivered" ] ||
	fail "summaries_in $(stats_get intercept summaries_in), the queues delivered $delivered"

lab_stop copy || fail "doppel-copy exited with status $? on SIGTERM"
lab_stop intercept || fail "doppel-intercept exited with status $? on SIGTERM"
[ "$(stats_get copy sessions_failed)" = 0 ] || fail "sessions failed: $(copy_summary copy)"
client_clean
pass "$JUDGED requests at online and at target; queue 0 delivered $q0 answers, queue 1 $q1, none lost; $routed routed; $(copy_summary copy)"
