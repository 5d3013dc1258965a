#!/usr/bin/env bash
# Prometheus: Debian's prometheus server, in the assistant's namespace,
# scrapes doppel-copy (--metrics on the online host's address) and
# doppel-intercept (--metrics on the assistant's) every second during an
# HTTP replay. Its query API must then return the daemons' series, each
# with the value the daemon's own statistics file holds, and the labelled
# series (reason, transfer, intercept, source, peer).
. "$(dirname "$0")/../lib.sh"
scenario_begin metrics "$1"
command -v prometheus >/dev/null 2>&1 || fail "prometheus is not installed (scripts/deps.sh check)"
COPY_METRICS=$ADDR_ONLINE:9101
ICPT_METRICS=$ADDR_ASSIST:9102
PROM=127.0.0.1:9090
INTERCEPT_EXTRA_ARGS=(--metrics "$ICPT_METRICS")
http_lab 80
http_copy copy "$NS_ONLINE" 80 --metrics "$COPY_METRICS"

# Each endpoint answers by itself first, with the text format's type.
for ep in "$COPY_METRICS" "$ICPT_METRICS"; do
	in_ns "$NS_ASSIST" curl -sS --max-time 5 -D "$LAB_DIR/headers" -o "$LAB_DIR/scrape.txt" \
		"http://$ep/metrics" || fail "GET http://$ep/metrics failed"
	grep -qi '^Content-Type: text/plain; version=0.0.4' "$LAB_DIR/headers" ||
		fail "http://$ep/metrics: $(grep -i content-type "$LAB_DIR/headers")"
done

cat >"$LAB_DIR/prometheus.yml" <<CONF
global:
  scrape_interval: 1s
  scrape_timeout: 1s
scrape_configs:
  - job_name: doppel
    static_configs:
      - targets: ['$COPY_METRICS', '$ICPT_METRICS']
CONF
lab_spawn prometheus "$NS_ASSIST" prometheus --config.file="$LAB_DIR/prometheus.yml" \
	--storage.tsdb.path="$LAB_DIR/prometheus-data" --web.listen-address="$PROM"
prom_ready() { in_ns "$NS_ASSIST" curl -sf --max-time 2 "http://$PROM/-/ready" >/dev/null; }
wait_until 60 prom_ready || fail "prometheus did not get ready: $(tail -n 3 "$LAB_DIR/prometheus.log")"

wrk_paced 3 4 "http://$ADDR_ONLINE/" 1
http_settle 60 copy
http_judge

# prom_value QUERY: the value of the query's single result, or "" (none,
# several, or an error).
prom_value() {
	in_ns "$NS_ASSIST" curl -s --max-time 5 "http://$PROM/api/v1/query" \
		--data-urlencode "query=$1" | python3 -c '
import json, sys
r = json.load(sys.stdin)
res = r.get("data", {}).get("result", []) if r.get("status") == "success" else []
print(res[0]["value"][1] if len(res) == 1 else "")' 2>/dev/null
}
# prom_equals QUERY VALUE: Prometheus has scraped VALUE for QUERY.
prom_equals() { [ "$(prom_value "$1")" = "$2" ]; }
# prom_matches QUERY STATS_NAME KEY: the series equals the stats file's key
# (both are read from the same counters; idle now, they stay put).
prom_matches() {
	local want
	want=$(stats_get "$2" "$3")
	[ -n "$want" ] && prom_equals "$1" "$want"
}

wait_until 30 prom_equals 'count(up{job="doppel"} == 1)' 2 ||
	fail "prometheus does not see both daemons up: $(prom_value 'count(up{job="doppel"} == 1)')"
[ "$(stats_get copy sessions_started)" -gt 0 ] || fail "no session replayed"
checked=0
for pair in "doppel_copy_sessions_started_total copy sessions_started" \
	"doppel_copy_packets_captured_total copy packets_captured" \
	"doppel_copy_sessions_active copy sessions_active" \
	"doppel_copy_bytes_replayed_total copy bytes_replayed" \
	'doppel_copy_sessions_ended_total{reason="closed"} copy ended_closed' \
	"doppel_intercept_summaries_routed_total intercept summaries_routed" \
	"doppel_intercept_routes_added_total intercept routes_added" \
	"doppel_intercept_connections_active intercept connections_active"; do
	read -r query name key <<<"$pair"
	wait_until 20 prom_matches "$query" "$name" "$key" ||
		fail "prometheus has $query = '$(prom_value "$query")', $name's $key is $(stats_get "$name" "$key")"
	checked=$((checked + 1))
done
[ "$(prom_value 'doppel_intercept_summaries_routed_total')" -gt 0 ] || fail "no summary routed"
for query in "doppel_copy_transfer_packets_captured_total{transfer=\"80-$ADDR_TARGET:80\"} > 0" \
	"doppel_copy_intercept_up{intercept=\"$ADDR_ASSIST:$INTERCEPT_PORT\"} == 1" \
	"doppel_intercept_source_packets_total{source=\"$SOURCE\"} > 0" \
	"count(doppel_intercept_peer_routes{peer=~\"$ADDR_ONLINE:[0-9]+\"})" \
	'count(doppel_copy_sessions_ended_total)' \
	'doppel_copy_build_info' 'doppel_intercept_build_info' \
	'doppel_copy_capture_delay_seconds_count > 0' \
	'histogram_quantile(0.99, doppel_copy_capture_delay_seconds_bucket)'; do
	[ -n "$(prom_value "$query")" ] || fail "prometheus has no result for $query"
	checked=$((checked + 1))
done
ended=$(prom_value 'count(doppel_copy_sessions_ended_total)')
copy_stopped_clean copy
pass "prometheus scraped both daemons: $checked queries matched (sessions_ended by $ended reasons); $JUDGED requests replayed; capture delay p50 <= $(stats_get copy capture_delay_p50_us) us, p99 <= $(stats_get copy capture_delay_p99_us) us; $(copy_summary copy)"
