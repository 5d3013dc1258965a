#!/usr/bin/env bash
# MariaDB logins replayed (mysql_native_password, docs/stateful.md): the
# TCPCopy docs' example, sysbench oltp_read_write on online with the same
# users and data at the target, two runs of 2 threads (new sessions each
# run) and short mariadb clients; the target's statement counters (SHOW
# GLOBAL STATUS Com_select, Com_insert, Com_update, Com_delete,
# Com_commit) equal online's, but for one user whose password in the
# credentials is wrong (its session ends, counted and logged). sysbench
# sends text statements (--db-ps-mode=disable): see docs/stateful.md for
# why server-side prepared statements are not replayed.
. "$(dirname "$0")/../lib.sh"
. "$E2E_DIR/sql.sh"
scenario_begin mariadb-sysbench "$1"
# eve's password in the credentials is wrong: her login fails at the target.
# sysbench's two threads write the rows the other reads (k=k+1, new c):
# replayed, their statements interleave otherwise at the target, so range
# selects (SUM, ORDER BY c) legitimately answer with other values.
# Now and then the two threads deadlock online (ERR 1213 on one statement,
# which sysbench then retries): replayed at its own pace, the target does
# not meet that deadlock and answers OK (2 more status differences in one
# run of 16 with pcap and in one of 3 with nfqueue at 5701533; each
# is one status difference).
compare_allow_at_most 6 "eve's login fails at the target only (then her next statement goes unanswered); a deadlock of the two threads online (ERR 1213) that the target does not meet"
compare_allow body "concurrent threads' reads and writes interleave otherwise at the target"
# Text statements: server-side prepared statements carry statement ids the
# server chooses, which the replay does not rewrite (docs/stateful.md).
mariadb_lab disable "CREATE USER 'eve'@'%' IDENTIFIED BY 'eve-right'; GRANT SELECT ON sbtest.* TO 'eve'@'%'"
creds=$(credentials_file "mysql sbtest $MY_PASSWORD" "mariadb eve eve-wrong")
intercept_start "$SOURCE" 3306 || fail "doppel-intercept did not start ($SOURCE)"
copy_start copy "$NS_ONLINE" -x "3306-$ADDR_TARGET:3306" --protocol 3306=mysql \
	--credentials "$creds" || fail "doppel-copy did not start"

counters="Com_select Com_insert Com_update Com_delete Com_commit"
declare -A base
for side in my-online my-target; do
	for c in $counters; do base[$side.$c]=$(my_status $side $c); done
done
for run in 1 2; do
	client_run 120 sysbench oltp_read_write "${sb[@]}" --mysql-host="$ADDR_ONLINE" --threads=2 \
		--events=300 --time=0 run >>"$LAB_DIR/sysbench.out" 2>&1 ||
		fail "sysbench run $run failed: $(tail -n 3 "$LAB_DIR/sysbench.out")"
done
for i in 1 2 3 4 5; do
	client_run 20 mariadb --no-defaults -h "$ADDR_ONLINE" -u sbtest -p"$MY_PASSWORD" sbtest \
		-e "SELECT COUNT(*) FROM sbtest1" >>"$LAB_DIR/mariadb.out" 2>&1 || fail "mariadb client $i failed"
done
client_run 20 mariadb --no-defaults -h "$ADDR_ONLINE" -u eve -peve-right sbtest -e "SELECT 1" \
	>>"$LAB_DIR/mariadb.out" 2>&1 || fail "mariadb as eve failed at online"

delta() { echo $(($(my_status "$1" "$2") - base[$1.$2])); }
caught_up() { [ "$(delta my-target Com_commit)" -ge "$(delta my-online Com_commit)" ] &&
	[ "$(delta my-target Com_select)" -ge $(($(delta my-online Com_select) - 1)) ]; }
wait_until 90 caught_up
copy_idle copy 30
lab_stop copy || fail "doppel-copy exited with status $? on SIGTERM"
summary="$(copy_summary copy); logins replayed $(stats_get copy auth_logins_replayed), wrong password $(stats_get copy auth_wrong_password)"
measured=""
for c in $counters; do
	online=$(delta my-online $c) target=$(delta my-target $c)
	measured="$measured $c $online/$target"
	want=$online
	[ $c = Com_select ] && want=$((online - 1))	# eve's SELECT 1, online only
	[ "$target" = "$want" ] || fail "$c: online +$online, target +$target (want $want);$measured; $summary"
	[ "$online" -gt 0 ] || fail "$c: online +0: sysbench did nothing?"
done
[ "$(stats_get copy auth_wrong_password)" = 1 ] || fail "auth_wrong_password not 1; $summary"
[ "$(stats_get copy auth_logins_replayed)" = $(($(stats_get copy sessions_started) - 1)) ] ||
	fail "not every other login replayed; $summary"
grep -q "wrong_password" "$LAB_DIR/copy.log" || fail "no log line for the wrong password"
grep -q -e "$MY_PASSWORD" -e eve-wrong "$LAB_DIR/copy.log" "$LAB_DIR/copy.json" &&
	fail "a password is in the copy daemon's log or statistics"
client_clean
pass "online/target:$measured (eve's SELECT only online); $summary"
