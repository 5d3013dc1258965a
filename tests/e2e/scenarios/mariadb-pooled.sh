#!/usr/bin/env bash
# Pooled MariaDB connections (docs/stateful.md, "Pooled connections"):
# sysbench oltp_read_write with long connections (text statements) is
# started BEFORE doppel-copy, so no login is captured. Without the opt-in
# its sessions are counted in auth_not_captured and the target gets
# nothing; with 3306=mysql:pooled and a "pooled mysql sbtest sbtest" line
# doppel-copy opens each with its own login and replays the captured
# statements: the target's Com_commit grows by online's from the moment
# the capture began (between the readings before and after doppel-copy
# started), and so do Com_insert, Com_update, Com_delete.
. "$(dirname "$0")/../lib.sh"
. "$E2E_DIR/sql.sh"
scenario_begin mariadb-pooled "$1"
# Pooled sessions are missed starts: --compare (E2E_COMPARE) pairs no
# request of theirs (the target's answers begin with doppel's own login).
compare_expect_none "pooled sessions: no captured start to pair answers from"
mariadb_lab disable
creds=$(credentials_file "mysql sbtest $MY_PASSWORD" "pooled mysql sbtest sbtest")
intercept_start "$SOURCE" 3306 || fail "doppel-intercept did not start ($SOURCE)"

# 2 long connections, 20 events a second in all, for 18 s.
threads=2
client_run 60 sysbench oltp_read_write "${sb[@]}" --mysql-host="$ADDR_ONLINE" --threads=$threads \
	--rate=20 --time=18 --events=0 run >"$LAB_DIR/sysbench.out" 2>&1 &
bench=$!
connected() { [ "$(my_sql my-online "SELECT COUNT(*) FROM information_schema.processlist WHERE user = 'sbtest'")" -ge $threads ]; }
wait_until 20 connected || fail "sysbench's $threads connections did not open at online"
sleep 1

# Without the opt-in: counted, not started.
target_a=$(my_status my-target Com_commit)
copy_start copy-plain "$NS_ONLINE" -x "3306-$ADDR_TARGET:3306" --protocol 3306=mysql --compare mysql \
	--credentials "$creds" || fail "doppel-copy did not start"
not_captured() { [ "$(stats_get copy-plain auth_not_captured)" = $threads ]; }
wait_until 20 not_captured || fail "auth_not_captured $(stats_get copy-plain auth_not_captured), not $threads"
sleep 1
lab_stop copy-plain || fail "doppel-copy (plain) exited with status $? on SIGTERM"
[ "$(stats_get copy-plain sessions_started)" = 0 ] || fail "without :pooled, sessions were started"
[ "$(my_status my-target Com_commit)" = "$target_a" ] || fail "without :pooled, the target committed"

counters="Com_commit Com_insert Com_update Com_delete"
declare -A before after
for c in $counters; do
	before[my-online.$c]=$(my_status my-online $c)
	before[my-target.$c]=$(my_status my-target $c)
done
copy_start copy "$NS_ONLINE" -x "3306-$ADDR_TARGET:3306" --protocol 3306=mysql:pooled \
	--credentials "$creds" || fail "doppel-copy (pooled) did not start"
for c in $counters; do after[$c]=$(my_status my-online $c); done
wait $bench || fail "sysbench failed: $(tail -n 3 "$LAB_DIR/sysbench.out")"
delta() { echo $(($(my_status "$1" "$2") - before[$1.$2])); }
caught_up() { [ "$(delta my-target Com_commit)" -ge $(($(my_status my-online Com_commit) - after[Com_commit] - threads)) ]; }
wait_until 60 caught_up
copy_idle copy 30
lab_stop copy || fail "doppel-copy exited with status $? on SIGTERM"
opened=$(stats_get copy auth_pooled_opened)
summary="$(copy_summary copy); pooled opened $opened, failed $(stats_get copy auth_pooled_failed), bytes skipped $(stats_get copy auth_pooled_skipped_bytes)"
measured=""
for c in $counters; do
	end=$(my_status my-online $c) target=$(delta my-target $c)
	lo=$((end - after[$c])) hi=$((end - before[my-online.$c]))
	measured="$measured $c target +$target, online +$lo..+$hi;"
	# an event in flight when the capture began: its last statements
	# replayed alone, its first ones not (one per thread either way)
	[ "$target" -ge $((lo - threads)) ] && [ "$target" -le $((hi + threads)) ] ||
		fail "$c: target +$target, online +$lo (from after doppel-copy started) to +$hi (from before);$measured $summary"
done
[ "$(delta my-target Com_commit)" -ge 100 ] || fail "too few commits replayed;$measured $summary"
[ "$opened" = $threads ] || fail "auth_pooled_opened $opened, not $threads;$measured $summary"
[ "$(stats_get copy auth_pooled_failed)" = 0 ] || fail "pooled logins failed;$measured $summary"
grep -q -e "$MY_PASSWORD" "$LAB_DIR/copy.log" "$LAB_DIR/copy.json" &&
	fail "the password is in the copy daemon's log or statistics"
pass "$measured without :pooled $threads sessions not captured, target +0; $summary"
