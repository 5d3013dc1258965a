#!/usr/bin/env bash
# Pooled PostgreSQL connections (docs/stateful.md, "Pooled connections"):
# pgbench with long connections is started BEFORE doppel-copy, so no login
# is captured. Without the opt-in (--protocol 5432=postgres) its sessions
# are counted in auth_not_captured and the target gets nothing; with it
# (5432=postgres:pooled and a "pooled" line in the credentials) doppel-copy
# opens each session to the target with its own login and replays the
# captured commands: the target's pg_stat_database xact_commit grows by
# what online's did while the copy ran, give or take what a capture that
# starts in the middle of a transaction makes of it.
. "$(dirname "$0")/../lib.sh"
. "$E2E_DIR/sql.sh"
scenario_begin pg-pooled "$1"
# A session is compared from its SYN: these began before the capture.
compare_expect_none "the pooled sessions began before the capture"
[ -x "$PG_BIN/pgbench" ] || fail "pgbench is not installed (postgresql, scripts/deps.sh)"
lab_build || fail "could not build the lab"
pg_start pg-online "$NS_ONLINE" "$ADDR_ONLINE" scram-sha-256 || fail "PostgreSQL did not start in online"
pg_start pg-target "$NS_TARGET" "$ADDR_TARGET" scram-sha-256 || fail "PostgreSQL did not start in target"
for side in pg-online pg-target; do
	"$PG_BIN/pgbench" -i -q -s 1 -h "$LAB_DIR/$side" -U postgres postgres >>"$LAB_DIR/pgbench-init.log" 2>&1 ||
		fail "pgbench -i on $side failed: $(tail -n 3 "$LAB_DIR/pgbench-init.log")"
done
creds=$(credentials_file "# the lab's" "postgres postgres $PG_PASSWORD" "pooled postgres postgres postgres")
intercept_start "$SOURCE" 5432 || fail "doppel-intercept did not start ($SOURCE)"

# 3 long connections, 60 transactions a second in all, for 18 s: opened
# (and logged in) before any doppel-copy runs.
clients=3
client_run 60 env PGPASSWORD="$PG_PASSWORD" PGSSLMODE=disable "$PG_BIN/pgbench" -h "$ADDR_ONLINE" \
	-U postgres -c $clients -j 1 -R 60 -T 18 postgres >"$LAB_DIR/pgbench.out" 2>&1 &
bench=$!
backends() { [ "$(pg_sql pg-online "SELECT count(*) FROM pg_stat_activity WHERE application_name = 'pgbench' AND state IS NOT NULL")" -ge $clients ]; }
wait_until 20 backends || fail "pgbench's $clients connections did not open at online"

# Without the opt-in: counted, not started.
target_a=$(pg_commits pg-target)
copy_start copy-plain "$NS_ONLINE" -x "5432-$ADDR_TARGET:5432" --protocol 5432=postgres --compare postgres \
	--credentials "$creds" || fail "doppel-copy did not start"
not_captured() { [ "$(stats_get copy-plain auth_not_captured)" = $clients ]; }
wait_until 20 not_captured || fail "auth_not_captured $(stats_get copy-plain auth_not_captured), not $clients"
sleep 1
lab_stop copy-plain || fail "doppel-copy (plain) exited with status $? on SIGTERM"
plain_started=$(stats_get copy-plain sessions_started)
[ "$plain_started" = 0 ] || fail "without :pooled, $plain_started sessions were started"
[ "$(pg_commits pg-target)" = "$target_a" ] || fail "without :pooled, the target committed transactions"

# With the opt-in: the same connections, replayed.
before_copy=$(date +%s.%N)
copy_start copy "$NS_ONLINE" -x "5432-$ADDR_TARGET:5432" --protocol 5432=postgres:pooled \
	--credentials "$creds" || fail "doppel-copy (pooled) did not start"
online0=$(pg_commits pg-online) target0=$(pg_commits pg-target)
after_copy=$(date +%s.%N)
wait $bench || fail "pgbench failed: $(tail -n 3 "$LAB_DIR/pgbench.out")"
sleep 1
online=$(($(pg_commits pg-online) - online0))
caught_up() { [ $(($(pg_commits pg-target) - target0)) -ge $((online - online / 20)) ]; }
wait_until 60 caught_up
copy_idle copy 30
lab_stop copy || fail "doppel-copy exited with status $? on SIGTERM"
sleep 1
target=$(($(pg_commits pg-target) - target0))
opened=$(stats_get copy auth_pooled_opened)
failed=$(stats_get copy auth_pooled_failed)
skipped=$(stats_get copy auth_pooled_skipped_bytes)
# pgbench_history: one row per transaction, stamped with its start: the
# target's rows are the replayed transactions, as many as online has from
# the moment the capture began, which lies between before_copy and
# after_copy (a transaction in flight then: one more or less per client).
history_target=$(pg_sql pg-target "SELECT count(*) FROM pgbench_history" postgres)
rows_since() { pg_sql pg-online "SELECT count(*) FROM pgbench_history WHERE mtime >= to_timestamp($1)" postgres; }
history_after=$(rows_since "$after_copy") history_before=$(rows_since "$before_copy")
summary="pgbench_history rows: target $history_target, online $history_after to $history_before (begun after and before doppel-copy started); $(copy_summary copy); pooled opened $opened, failed $failed, bytes skipped $skipped, not captured $(stats_get copy auth_not_captured)"
[ "$opened" = $clients ] || fail "auth_pooled_opened $opened, not $clients; $summary"
[ "$failed" = 0 ] || fail "auth_pooled_failed $failed; $summary"
[ "$(stats_get copy auth_not_captured)" = 0 ] || fail "sessions counted not captured with :pooled; $summary"
[ "$online" -ge 200 ] || fail "online committed only $online transactions while copy ran; $summary"
# Each pooled backend's start-up transaction counts at the target; a
# capture that starts inside a transaction replays its last statements as
# transactions of their own (pgbench's has 7): a few more. Fewer only
# because PostgreSQL's statistics lag: a backend reports its commits at
# most once a second, so online0 may miss up to a second of them (60).
[ "$target" -ge $((online - online / 50 - 60)) ] && [ "$target" -le $((online + online / 50 + clients * 8)) ] ||
	fail "xact_commit: online +$online while copy ran, target +$target; $summary"
[ "$history_target" -ge $((history_after - clients)) ] && [ "$history_target" -le $((history_before + clients)) ] ||
	fail "transactions replayed (pgbench_history rows) $history_target, online $history_after to $history_before; $summary"
grep -q "$PG_PASSWORD" "$LAB_DIR/copy.log" "$LAB_DIR/copy.json" && fail "the password is in the copy daemon's log or statistics"
pass "xact_commit online +$online while copy ran, target +$target; without :pooled $clients sessions not captured, target +0; $summary"
