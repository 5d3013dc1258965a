#!/usr/bin/env bash
# --workers 2: two replaying processes share the capture through a
# PACKET_FANOUT group. Every request arrives, the statistics file's totals
# are the two workers' sums and count each connection once, both workers
# took sessions, and no session was split (every session began with its
# SYN on its worker, ended cleanly, and the target saw each connection
# once). Twice: by flow (plain), and by client address with -n 2 -c
# (clients 198.18.0.1 and .6, which the fanout program puts on different
# workers of two).
. "$(dirname "$0")/../lib.sh"
scenario_begin workers "$1"
http_lab 8080

# workers_judge NAME COPIES: the checks above for copy daemon NAME, whose
# target should have served every online request COPIES times.
workers_judge() {
	local name=$1 copies=$2 online conns target tconns started sum=0 w n
	online=$(nginx_requests online)
	conns=$(nginx_connections online)
	target=$(nginx_requests target)
	tconns=$(nginx_connections target)
	[ "$target" = $((copies * online)) ] ||
		fail "$name: online served $online requests, the target $target (expected x$copies)"
	[ "$tconns" = $((copies * conns)) ] ||
		fail "$name: online saw $conns connections, the target $tconns (expected x$copies)"
	started=$(stats_get "$name" sessions_started)
	[ "$started" = $((copies * conns)) ] ||
		fail "$name: $started sessions started for $conns connections x$copies"
	[ "$(stats_get "$name" sessions_completed)" = "$started" ] ||
		fail "$name: not every session completed: $(copy_summary "$name")"
	[ "$(stats_get "$name" sessions_missed_start)" = 0 ] ||
		fail "$name: sessions began without their SYN (split?): $(stats_get "$name" sessions_missed_start)"
	[ "$(stats_get "$name" workers)" = 2 ] || fail "$name: the stats file names no 2 workers"
	for w in 0 1; do
		n=$(stats_get "$name" "worker_${w}_sessions_started")
		[ "${n:-0}" -gt 0 ] || fail "$name: worker $w started no session"
		sum=$((sum + n))
	done
	[ "$sum" = "$started" ] || fail "$name: the workers started $sum sessions, the total says $started"
	WORKERS_SPREAD="$(stats_get "$name" worker_0_sessions_started)+$(stats_get "$name" worker_1_sessions_started)"
}

# By flow: one client address, 50 connections and one kept-alive.
http_copy copy "$NS_ONLINE" 8080 --workers 2 --metrics "$(lab_host "$ADDR_ONLINE"):9101"
curl_each 50 "http://$HOST_ONLINE/"
curl_keepalive 50 "http://$HOST_ONLINE/"
http_settle 60 copy
http_judge
# The supervisor's /metrics: the total, and the same split per worker.
in_ns "$NS_ASSIST" curl -sS --max-time 5 -o "$LAB_DIR/scrape.txt" \
	"http://$(lab_host "$ADDR_ONLINE"):9101/metrics" || fail "GET /metrics failed"
scraped=$(awk '$1 == "doppel_copy_sessions_started_total" { print $2 }' "$LAB_DIR/scrape.txt")
per_worker=$(awk '$1 ~ /^doppel_copy_worker_sessions_started_total[{]worker="[01]"[}]$/ { n++; s += $2 }
	END { print n "/" s }' "$LAB_DIR/scrape.txt")
[ "$scraped" = "$(stats_get copy sessions_started)" ] && [ "$per_worker" = "2/$scraped" ] ||
	fail "/metrics: sessions_started $scraped, per worker (count/sum) $per_worker, the file $(stats_get copy sessions_started)"
copy_stopped_clean copy
workers_judge copy 1
first="$JUDGED requests, sessions by worker $WORKERS_SPREAD"

# By address, -n 2 -c: a second client address; the logs start again.
ip -n "$NS_CLIENT" addr add "$ADDR_CLIENT2/$LAB_PREFIX" dev eth0 || fail "cannot add $ADDR_CLIENT2"
for h in online target; do : >"$LAB_DIR/$h/access.log"; done
http_copy copy2 "$NS_ONLINE" 8080 --workers 2 -n 2 -c 198.19.200.x
curl_each 25 "http://$HOST_ONLINE/"
client_run 120 curl -s --interface "$ADDR_CLIENT2" -H 'Connection: close' \
	"http://$HOST_ONLINE/?m=[1-25]" >/dev/null || fail "curl from $ADDR_CLIENT2 failed"
twice() { [ "$(nginx_requests target)" -ge $((2 * $(nginx_requests online))) ]; }
wait_until 60 twice
copy_idle copy2 20
for addr in $(nginx_clients target); do
	case $addr in 198.19.200.*) ;; *) fail "the target saw client address $addr" ;; esac
done
copy_stopped_clean copy2
workers_judge copy2 2
pass "by flow: $first; by address with -n 2 -c: $(nginx_requests online) requests each served twice, sessions by worker $WORKERS_SPREAD"
