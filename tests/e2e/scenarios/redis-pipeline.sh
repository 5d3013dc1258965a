#!/usr/bin/env bash
# Redis SET/GET pipelined 16 deep (redis-benchmark -P 16, 4 connections):
# the target's INFO commandstats and DBSIZE must equal online's.
. "$(dirname "$0")/../lib.sh"
scenario_begin redis-pipeline "$1"
requests=20000
lab_build || fail "could not build the lab"
redis_start redis-online "$NS_ONLINE" "$ADDR_ONLINE" 6379 || fail "redis did not start in online"
redis_start redis-target "$NS_TARGET" "$ADDR_TARGET" 6379 || fail "redis did not start in target"
intercept_start "$SOURCE" 6379 || fail "doppel-intercept did not start ($SOURCE)"
copy_start copy "$NS_ONLINE" -x "6379-$(lab_host "$ADDR_TARGET"):6379" || fail "doppel-copy did not start"

# The SETs, then (once the target has them all) the GETs: the sessions are
# replayed each at its own pace, and a GET replayed before the SET of its
# key would answer otherwise than online (docs/compare.md, Limits).
for test in set get; do
	client_run 60 redis-benchmark -h "$ADDR_ONLINE" -p 6379 -P 16 -c 4 -n $requests -r 1000 \
		-t $test -q >>"$LAB_DIR/benchmark.out" 2>&1 ||
		fail "redis-benchmark failed: $(tail -n 3 "$LAB_DIR/benchmark.out")"
	[ $test = get ] || wait_until 60 redis_calls_reach "$NS_TARGET" "$ADDR_TARGET" 6379 set $requests
done
# The target is asked from inside its own namespace; online only once the
# copy daemon is stopped, so these questions are not replayed.
target_done() {
	[ "$(redis_calls "$NS_TARGET" "$ADDR_TARGET" 6379 set)" -ge $requests ] &&
		[ "$(redis_calls "$NS_TARGET" "$ADDR_TARGET" 6379 get)" -ge $requests ]
}
wait_until 60 target_done
copy_idle copy 20
lab_stop copy || fail "doppel-copy exited with status $? on SIGTERM"
summary=$(copy_summary copy)
for side in online target; do
	if [ $side = online ]; then ns=$NS_ONLINE addr=$ADDR_ONLINE; else ns=$NS_TARGET addr=$ADDR_TARGET; fi
	eval "${side}_set=\$(redis_calls $ns $addr 6379 set)"
	eval "${side}_get=\$(redis_calls $ns $addr 6379 get)"
	eval "${side}_keys=\$(redis_dbsize $ns $addr 6379)"
done
# shellcheck disable=SC2154
{
	[ "$online_set" = $requests ] && [ "$online_get" = $requests ] ||
		fail "online served $online_set SET and $online_get GET of $requests each"
	[ "$target_set" = "$online_set" ] && [ "$target_get" = "$online_get" ] ||
		fail "target served $target_set SET and $target_get GET, online $online_set and $online_get"
	[ "$target_keys" = "$online_keys" ] || fail "DBSIZE target $target_keys, online $online_keys"
}
[ "$(stats_get copy sessions_failed)" = 0 ] || fail "sessions failed: $summary"
client_clean
pass "SET $target_set, GET $target_get, DBSIZE $target_keys at online and at target; $summary"
