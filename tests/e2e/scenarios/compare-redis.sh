#!/usr/bin/env bash
# --compare redis (docs/compare.md): the target's redis has GET renamed
# away (rename-command), so exactly the replayed GETs are answered with an
# error there; every SET and INCR must compare the same (identical servers
# otherwise), and doppel-compare-report must name GET alone.
# (GET of a 1000-byte value: the target's error is shorter than the online
# answer, so each GET waits for its answer. An error longer than the online
# answer lets the engine send the next requests early: test_copy_compare_pairs
# covers that pairing; docs/compare.md, Limits.)
. "$(dirname "$0")/../lib.sh"
scenario_begin compare-redis "$1"
lab_build || fail "could not build the lab"
redis_start redis-online "$NS_ONLINE" "$ADDR_ONLINE" 6379 || fail "redis did not start in online"
REDIS_EXTRA='rename-command GET ""' \
	redis_start redis-target "$NS_TARGET" "$ADDR_TARGET" 6379 || fail "redis did not start in target"
INTERCEPT_EXTRA_ARGS=(--route-payload 16384)
intercept_start "$SOURCE" 6379 || fail "doppel-intercept did not start ($SOURCE)"
copy_start copy "$NS_ONLINE" -x "6379-$ADDR_TARGET:6379" --compare redis \
	--compare-log "$LAB_DIR/diff.jsonl" || fail "doppel-copy did not start"

# One connection each, one command after another (redis-cli -r).
redis_run() {
	client_run 30 redis-cli -h "$ADDR_ONLINE" -p 6379 "$@" >>"$LAB_DIR/cli.out" 2>&1 ||
		fail "redis-cli $* failed: $(tail -n 3 "$LAB_DIR/cli.out")"
}
value=$(printf 'v%.0s' $(seq 1000))
redis_run -r 40 SET key "$value"
redis_run -r 5 GET key
redis_run -r 10 INCR counter
redis_run -r 10 SET key2 other
target_done() { [ "$(redis_calls "$NS_TARGET" "$ADDR_TARGET" 6379 set)" -ge 50 ] &&
	[ "$(redis_calls "$NS_TARGET" "$ADDR_TARGET" 6379 incr)" -ge 10 ]; }
wait_until 60 target_done || fail "the target did not get every SET and INCR"
copy_idle copy 30 || fail "doppel-copy did not become idle: $(copy_summary copy)"
lab_stop copy || fail "doppel-copy exited with status $? on SIGTERM"

requests=$(stats_get copy compare_requests)
same=$(stats_get copy compare_same)
status=$(stats_get copy compare_different_status)
figures="compared $requests: $same same, $status status, $(stats_get copy compare_different_body) body, $(stats_get copy compare_missing) missing, $(stats_get copy compare_malformed) malformed"
[ "$requests" = 65 ] && [ "$same" = 60 ] && [ "$status" = 5 ] || fail "$figures (expected 65: 60 same, 5 status)"
"$REPORT_BIN" "$LAB_DIR/diff.jsonl" >"$LAB_DIR/report.txt" 2>&1 || fail "doppel-compare-report failed: $(cat "$LAB_DIR/report.txt")"
grep -Eq '^ +5  status +GET +- -> ERR ' "$LAB_DIR/report.txt" &&
	[ "$(grep -c ' e\.g\. ' "$LAB_DIR/report.txt")" = 1 ] ||
	fail "the report does not name GET (5, status) alone: $(cat "$LAB_DIR/report.txt")"
sed 's/^/    report| /' "$LAB_DIR/report.txt"
client_clean
pass "$figures; the report names GET alone"
