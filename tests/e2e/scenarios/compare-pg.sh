#!/usr/bin/env bash
# --compare postgres (docs/compare.md) with logins replayed (--protocol,
# docs/stateful.md): online and target have table t1; only online has t2.
# Every psql session's statements on t2 must be reported with the target's
# SQLSTATE 42P01 (undefined table), every other message (the SCRAM login,
# the statements on t1, the goodbye) the same, and doppel-compare-report
# must name the statement on t2 alone.
. "$(dirname "$0")/../lib.sh"
. "$E2E_DIR/sql.sh"
scenario_begin compare-pg "$1"
[ -x "$PG_BIN/psql" ] || fail "psql is not installed (postgresql, scripts/deps.sh)"
lab_build || fail "could not build the lab"
pg_start pg-online "$NS_ONLINE" "$ADDR_ONLINE" scram-sha-256 || fail "PostgreSQL did not start in online"
pg_start pg-target "$NS_TARGET" "$ADDR_TARGET" scram-sha-256 || fail "PostgreSQL did not start in target"
for side in pg-online pg-target; do
	pg_sql "$side" "CREATE TABLE t1 (id int, name text); INSERT INTO t1 VALUES (1, 'one'), (2, 'two')" \
		postgres >/dev/null || fail "CREATE TABLE t1 failed on $side"
done
pg_sql pg-online "CREATE TABLE t2 (id int); INSERT INTO t2 VALUES (7)" postgres >/dev/null ||
	fail "CREATE TABLE t2 failed on online"
creds=$(credentials_file "postgres postgres $PG_PASSWORD")
INTERCEPT_EXTRA_ARGS=(--route-payload 16384)
intercept_start "$SOURCE" 5432 || fail "doppel-intercept did not start ($SOURCE)"
copy_start copy "$NS_ONLINE" -x "5432-$ADDR_TARGET:5432" --protocol 5432=postgres \
	--credentials "$creds" --compare postgres --compare-log "$LAB_DIR/diff.jsonl" ||
	fail "doppel-copy did not start"

# One session a statement: login, the statement, goodbye.
psql_run() {
	client_run 20 env PGPASSWORD="$PG_PASSWORD" PGSSLMODE=disable "$PG_BIN/psql" -X -q -h "$ADDR_ONLINE" \
		-U postgres -d postgres -c "$1" >>"$LAB_DIR/psql.out" 2>&1 ||
		fail "psql -c '$1' failed at online: $(tail -n 2 "$LAB_DIR/psql.out")"
}
for i in 1 2 3 4; do psql_run "SELECT * FROM t1 WHERE id = $i"; done
for i in 1 2 3; do psql_run "SELECT * FROM t2 WHERE id = $i"; done
psql_run "SELECT count(*) FROM t1"
compare_sql_judge 8 32 "SELECT -> 42P01" 42P01
client_clean
pass "$FIGURES; the report names the statements on t2 (42P01) alone"
