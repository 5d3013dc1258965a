#!/usr/bin/env bash
# Redis values of 1 MiB (issue 12): redis-benchmark SETs then GETs them on
# 4 connections (the GETs once the SETs are replayed); each GET's 1 MiB
# reply must leave the target whole, which it does not when the replayed
# client's next GET or its close reaches redis while the reply is still
# going out (redis drops a closing client's pending output). Judged by each server's own counts, asked once after the
# replay: commands, and the bytes it read and wrote (total_net_input_bytes,
# total_net_output_bytes) must be the same at online and at target.
. "$(dirname "$0")/../lib.sh"
scenario_begin redis-large "$1"
requests=40
lab_build || fail "could not build the lab"
redis_start redis-online "$NS_ONLINE" "$ADDR_ONLINE" 6379 || fail "redis did not start in online"
redis_start redis-target "$NS_TARGET" "$ADDR_TARGET" 6379 || fail "redis did not start in target"
intercept_start "$SOURCE" 6379 || fail "doppel-intercept did not start ($SOURCE)"
copy_start copy "$NS_ONLINE" -x "6379-$(lab_host "$ADDR_TARGET"):6379" || fail "doppel-copy did not start"

# The SETs first, all of them replayed, then the GETs: connections are
# replayed side by side as they were captured, not one after the other, so
# with the replay lagging behind (a loaded machine) the GET connections
# began at the target while the SET ones were still being replayed, and
# their first GET found no key (a 5-byte null reply instead of 1 MiB:
# exactly one reply short per connection). That is the order of separate
# connections, which no replay keeps, not what this scenario judges.
for test in set get; do
	client_run 120 redis-benchmark -h "$ADDR_ONLINE" -p 6379 -c 4 -n $requests -d 1048576 \
		-t $test -q >>"$LAB_DIR/benchmark.out" 2>&1 ||
		fail "redis-benchmark failed: $(tail -n 3 "$LAB_DIR/benchmark.out")"
	[ $test = get ] || copy_idle copy 90 ||
		fail "doppel-copy still replayed the SETs after 90 s: $(copy_summary copy)"
done
# Not a question to the target before it is done (its answers would count
# in its bytes): the copy daemon idle means every session ended.
copy_idle copy 90 || fail "doppel-copy still had sessions after 90 s: $(copy_summary copy)"
lab_stop copy || fail "doppel-copy exited with status $? on SIGTERM"
summary=$(copy_summary copy)
info() { in_ns "$1" timeout 5 redis-cli -h "$2" -p 6379 INFO "${3:-all}" | tr -d '\r'; }
field() { sed -n "s/^$1:\([0-9]*\).*/\1/p"; }
# shellcheck disable=SC2154
for side in online target; do
	if [ $side = online ]; then ns=$NS_ONLINE addr=$ADDR_ONLINE; else ns=$NS_TARGET addr=$ADDR_TARGET; fi
	all=$(info "$ns" "$addr")
	eval "${side}_in=$(field total_net_input_bytes <<<"$all")"
	eval "${side}_out=$(field total_net_output_bytes <<<"$all")"
	eval "${side}_get=$(sed -n 's/^cmdstat_get:calls=\([0-9]*\),.*/\1/p' <<<"$all")"
	eval "${side}_set=$(sed -n 's/^cmdstat_set:calls=\([0-9]*\),.*/\1/p' <<<"$all")"
done
# shellcheck disable=SC2154
{
	[ "$online_get" = $requests ] && [ "$online_set" = $requests ] ||
		fail "online served $online_set SET and $online_get GET of $requests each"
	[ "$target_set" = "$online_set" ] && [ "$target_get" = "$online_get" ] ||
		fail "target served $target_set SET and $target_get GET, online $online_set and $online_get"
	[ "$target_in" = "$online_in" ] ||
		fail "redis read $target_in bytes at the target, $online_in at online"
	[ "$target_out" = "$online_out" ] ||
		fail "redis wrote $target_out bytes at the target, $online_out at online: replies cut short"
}
[ "$(stats_get copy sessions_failed)" = 0 ] || fail "sessions failed: $summary"
client_clean
pass "SET and GET of 1 MiB values, $target_get each; $target_out bytes of replies at both; $(stats_get copy pace_waits) packets waited for the answer ($(stats_get copy pace_timeouts) let go by the quiet period); $summary"
