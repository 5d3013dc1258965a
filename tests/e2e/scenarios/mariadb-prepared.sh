#!/usr/bin/env bash
# MariaDB server-side prepared statements (docs/stateful.md): sysbench
# oltp_read_write with its default --db-ps-mode=auto (COM_STMT_PREPARE,
# then COM_STMT_EXECUTE by statement id), two runs of one thread. Statement
# ids are the server's: MariaDB numbers them per connection from a counter
# kept with the server thread, which its thread cache reuses for later
# connections (online's second run got ids 21..40 where the target's fresh
# threads gave 1..20, and every execute failed there, error 1243). With the
# thread cache off on both servers (thread_cache_size = 0) every connection
# numbers from 1 on both, and every prepared statement's execution arrives:
# Com_stmt_prepare, Com_stmt_execute, Com_stmt_close and the statement
# counters are equal. Compared: every answer the same. The two servers'
# tables are the same from the start (CHECKSUM TABLE after mariadb_lab);
# with two threads a run, or run 2 started before the target replayed run
# 1, their writes (the same ids, the same seed) reached the target in
# another order than online, and ~1,000 of 4,088 reads differed in c (the
# final tables differed too). So one thread, and run 2 waits for the target.
. "$(dirname "$0")/../lib.sh"
. "$E2E_DIR/sql.sh"
scenario_begin mariadb-prepared "$1"
mariadb_lab auto "SET GLOBAL thread_cache_size = 0"
creds=$(credentials_file "mysql sbtest $MY_PASSWORD")
intercept_start "$SOURCE" 3306 || fail "doppel-intercept did not start ($SOURCE)"
copy_start copy "$NS_ONLINE" -x "3306-$ADDR_TARGET:3306" --protocol 3306=mysql \
	--credentials "$creds" || fail "doppel-copy did not start"

counters="Com_stmt_prepare Com_stmt_execute Com_stmt_close Com_select Com_update Com_commit"
declare -A base
for side in my-online my-target; do
	for c in $counters; do base[$side.$c]=$(my_status $side $c); done
done
delta() { echo $(($(my_status "$1" "$2") - base[$1.$2])); }
caught_up() { [ "$(delta my-target Com_stmt_close)" -ge "$(delta my-online Com_stmt_close)" ]; }
for run in 1 2; do
	client_run 120 sysbench oltp_read_write "${sb[@]}" --mysql-host="$ADDR_ONLINE" --threads=1 \
		--events=100 --time=0 run >>"$LAB_DIR/sysbench.out" 2>&1 ||
		fail "sysbench run $run failed: $(tail -n 3 "$LAB_DIR/sysbench.out")"
	wait_until 60 caught_up
done
copy_idle copy 30
lab_stop copy || fail "doppel-copy exited with status $? on SIGTERM"
summary="$(copy_summary copy); logins replayed $(stats_get copy auth_logins_replayed)"
measured=""
for c in $counters; do
	online=$(delta my-online $c) target=$(delta my-target $c)
	measured="$measured $c $online/$target"
	[ "$online" -gt 0 ] || fail "$c: online +0: sysbench did nothing?;$measured"
	[ "$target" = "$online" ] || fail "$c: online +$online, target +$target;$measured; $summary"
done
pass "online/target:$measured; $summary"
