#!/usr/bin/env bash
# --compare mysql (docs/compare.md) with logins replayed (--protocol,
# docs/stateful.md): MariaDB on online and target with table t1; only
# online has t2. The mariadb client's statements on t2 must be reported
# with the target's ERR 1146 (no such table), every other packet exchange
# (the login, the statements on t1, the goodbye) the same, and
# doppel-compare-report must name the statement on t2 alone.
. "$(dirname "$0")/../lib.sh"
. "$E2E_DIR/sql.sh"
scenario_begin compare-mysql "$1"
for tool in mariadbd mariadb mariadb-install-db setpriv; do
	command -v $tool >/dev/null || fail "$tool is not installed (mariadb-server: scripts/deps.sh)"
done
lab_build || fail "could not build the lab"
my_start my-online "$NS_ONLINE" "$ADDR_ONLINE" || fail "MariaDB did not start in online"
my_start my-target "$NS_TARGET" "$ADDR_TARGET" || fail "MariaDB did not start in target"
for side in my-online my-target; do
	my_sql "$side" "CREATE TABLE sbtest.t1 (id int, name text); INSERT INTO sbtest.t1 VALUES (1, 'one'), (2, 'two')" ||
		fail "CREATE TABLE t1 failed on $side"
done
my_sql my-online "CREATE TABLE sbtest.t2 (id int); INSERT INTO sbtest.t2 VALUES (7)" ||
	fail "CREATE TABLE t2 failed on online"
creds=$(credentials_file "mysql sbtest $MY_PASSWORD")
INTERCEPT_EXTRA_ARGS=(--route-payload 16384)
intercept_start "$SOURCE" 3306 || fail "doppel-intercept did not start ($SOURCE)"
copy_start copy "$NS_ONLINE" -x "3306-$ADDR_TARGET:3306" --protocol 3306=mysql \
	--credentials "$creds" --compare mysql --compare-log "$LAB_DIR/diff.jsonl" ||
	fail "doppel-copy did not start"

# One session a statement: login, the statement, goodbye.
my_run() {
	client_run 20 mariadb --no-defaults -h "$ADDR_ONLINE" -u sbtest -p"$MY_PASSWORD" sbtest \
		-e "$1" >>"$LAB_DIR/mariadb.out" 2>&1 || fail "mariadb -e '$1' failed at online: $(tail -n 2 "$LAB_DIR/mariadb.out")"
}
for i in 1 2 3; do my_run "SELECT * FROM t1 WHERE id = $i"; done
for i in 1 2 3; do my_run "SELECT * FROM t2 WHERE id = $i"; done
my_run "SELECT count(*) FROM t1"
compare_sql_judge 7 21 "RESULT -> ERR 1146"
client_clean
pass "$FIGURES; the report names the statements on t2 (ERR 1146) alone"
