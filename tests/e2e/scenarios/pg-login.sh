#!/usr/bin/env bash
# PostgreSQL 15 logins replayed (docs/stateful.md): pgbench, new connection
# per transaction (-C) then long connections, against online under
# PG_METHOD (scram-sha-256 by default, or md5), replayed to a target whose
# salts and nonces differ: the target commits as many transactions as
# online (pg_stat_database xact_commit) and every login is accounted for.
# Then a user with a wrong password in the credentials (its sessions end,
# counted and logged, the others unharmed), a client that negotiates
# TLS with online (counted, not replayed), and carol, whose password has a
# non-ASCII space and a soft hyphen: under SCRAM both servers hash it
# SASLprep'ed (U+00A0 -> U+0020, U+00AD removed), and so must doppel-copy
# (under md5 the raw bytes): her session is one more login replayed.
. "$(dirname "$0")/../lib.sh"
. "$E2E_DIR/sql.sh"
method=${PG_METHOD:-scram-sha-256}
scenario_begin "${PG_SCENARIO:-pg-login}" "$1"
# bob's login fails at the target only (28P01, then its statement goes
# unanswered): differences by design (the TLS client is not replayed, nor
# compared);
# and now and then a SELECT abalance races another client's UPDATE of the
# same account (pgbench's clients run at once; replayed, each session at
# its own pace).
compare_allow_at_most 6 "bob's wrong password fails at the target only; an account read racing another client's update"
command -v openssl >/dev/null || fail "openssl is not installed"
carol_pw=$'pass\xc2\xa0word\xc2\xad\xc3\xa9X'	# pass<U+00A0>word<U+00AD>éX
[ -x "$PG_BIN/pgbench" ] || fail "pgbench is not installed (postgresql, scripts/deps.sh)"
lab_build || fail "could not build the lab"
pg_start pg-online "$NS_ONLINE" "$ADDR_ONLINE" "$method" || fail "PostgreSQL did not start in online"
pg_start pg-target "$NS_TARGET" "$ADDR_TARGET" "$method" || fail "PostgreSQL did not start in target"
for side in pg-online pg-target; do
	"$PG_BIN/pgbench" -i -q -s 1 -h "$LAB_DIR/$side" -U postgres postgres >>"$LAB_DIR/pgbench-init.log" 2>&1 ||
		fail "pgbench -i on $side failed: $(tail -n 3 "$LAB_DIR/pgbench-init.log")"
	pg_sql "$side" "CREATE USER bob PASSWORD 'bob-right'" >/dev/null
	pg_sql "$side" "GRANT ALL ON ALL TABLES IN SCHEMA public TO bob" postgres >/dev/null
	pg_sql "$side" "CREATE USER carol PASSWORD '$carol_pw'" >/dev/null
done
# TLS at online only: its clients negotiate it, the target refuses it.
openssl req -x509 -newkey rsa:2048 -nodes -days 1 -subj /CN=online -keyout "$LAB_DIR/pg-online/key.pem" \
	-out "$LAB_DIR/pg-online/cert.pem" >/dev/null 2>&1 || fail "openssl could not make a certificate"
chown postgres: "$LAB_DIR/pg-online/"*.pem && chmod 600 "$LAB_DIR/pg-online/key.pem"
pg_sql pg-online "ALTER SYSTEM SET ssl_cert_file = '$LAB_DIR/pg-online/cert.pem'" >/dev/null
pg_sql pg-online "ALTER SYSTEM SET ssl_key_file = '$LAB_DIR/pg-online/key.pem'" >/dev/null
pg_sql pg-online "ALTER SYSTEM SET ssl = on" >/dev/null
pg_sql pg-online "SELECT pg_reload_conf()" >/dev/null
# What one "psql -c 'SELECT 1'" session adds to xact_commit (its backend's
# start-up transaction counts too): bob's and the TLS client's sessions
# add it at online only.
before=$(pg_commits pg-online)
pg_sql pg-online "SELECT 1" postgres >/dev/null
calibrated() { [ "$(pg_commits pg-online)" -gt "$before" ]; }
wait_until 10 calibrated
sleep 1
per_session=$(($(pg_commits pg-online) - before))
creds=$(credentials_file "# the lab's" "postgres postgres $PG_PASSWORD" "postgres bob bob-wrong" \
	"postgres carol $carol_pw")
intercept_start "$SOURCE" 5432 || fail "doppel-intercept did not start ($SOURCE)"
copy_start copy "$NS_ONLINE" -x "5432-$ADDR_TARGET:5432" --protocol 5432=postgres \
	--credentials "$creds" || fail "doppel-copy did not start"
online0=$(pg_commits pg-online) target0=$(pg_commits pg-target)

pgbench_run() {
	client_run 120 env PGPASSWORD="$PG_PASSWORD" PGSSLMODE=disable "$PG_BIN/pgbench" -h "$ADDR_ONLINE" -U postgres \
		"$@" postgres >>"$LAB_DIR/pgbench.out" 2>&1 ||
		fail "pgbench $* failed: $(tail -n 3 "$LAB_DIR/pgbench.out")"
}
pgbench_run -C -c 2 -t 60
pgbench_run -c 2 -t 300
# bob: the online server takes his password, the target not the one we have.
client_run 20 env PGPASSWORD=bob-right PGSSLMODE=disable "$PG_BIN/psql" -X -h "$ADDR_ONLINE" \
	-U bob -d postgres -c 'SELECT 1' >>"$LAB_DIR/psql.out" 2>&1 || fail "psql as bob failed at online"
client_run 20 env PGPASSWORD="$carol_pw" PGSSLMODE=disable "$PG_BIN/psql" -X -h "$ADDR_ONLINE" \
	-U carol -d postgres -c 'SELECT 3' >>"$LAB_DIR/psql.out" 2>&1 || fail "psql as carol failed at online"
client_run 20 env PGPASSWORD="$PG_PASSWORD" PGSSLMODE=require "$PG_BIN/psql" -X -h "$ADDR_ONLINE" \
	-U postgres -d postgres -c 'SELECT 2' >>"$LAB_DIR/psql.out" 2>&1 ||
	fail "psql with TLS failed at online: $(tail -n 2 "$LAB_DIR/psql.out")"

online=$(($(pg_commits pg-online) - online0))
target_commits() { [ $(($(pg_commits pg-target) - target0)) -ge $((online - 2 * per_session)) ]; }
wait_until 60 target_commits
copy_idle copy 30
lab_stop copy || fail "doppel-copy exited with status $? on SIGTERM"
sleep 1
online=$(($(pg_commits pg-online) - online0))
target=$(($(pg_commits pg-target) - target0))
history_online=$(pg_sql pg-online "SELECT count(*) FROM pgbench_history" postgres)
history_target=$(pg_sql pg-target "SELECT count(*) FROM pgbench_history" postgres)
started=$(stats_get copy sessions_started)
replayed=$(stats_get copy auth_logins_replayed)
wrong=$(stats_get copy auth_wrong_password)
tls=$(stats_get copy auth_tls)
summary="$(copy_summary copy); pgbench_history rows online $history_online, target $history_target; logins replayed $replayed, wrong password $wrong, TLS $tls, not captured $(stats_get copy auth_not_captured)"
# every pgbench transaction (and each connection's own start-up) at both;
# bob's and the TLS client's sessions only at online.
[ "$target" = $((online - 2 * per_session)) ] ||
	fail "xact_commit: online +$online (2 sessions of +$per_session not replayable), target +$target; $summary"
[ "$wrong" = 1 ] || fail "auth_wrong_password $wrong, not 1 (bob; 2: carol too, her password not SASLprep'ed?); $summary"
[ "$tls" = 1 ] || fail "auth_tls $tls, not 1; $summary"
[ "$replayed" = $((started - 2)) ] || fail "of $started sessions, $replayed logins replayed (2 not: bob, TLS); $summary"
[ "$(stats_get copy ended_auth_failed)" = 2 ] || fail "ended_auth_failed $(stats_get copy ended_auth_failed); $summary"
grep -q "wrong_password" "$LAB_DIR/copy.log" || fail "no log line for the wrong password"
grep -q "$PG_PASSWORD\|bob-wrong\|$carol_pw" "$LAB_DIR/copy.log" && fail "a password is in the copy daemon's log"
stats_pw=$(grep -c "$PG_PASSWORD\|bob-wrong\|$carol_pw" "$LAB_DIR/copy.json")
[ "$stats_pw" = 0 ] || fail "a password is in the statistics"
# Nothing reached the client but from online. RSTs from online's port are
# the real server's, not doppel's: tcpdump in the lab without doppel saw
# them end (a) psql's TLS session (PostgreSQL sends close_notify and FIN
# and closes after Terminate; libpq's own close_notify, when later, finds
# the socket closed: 5 of 40 and 2 of 60 sessions) and (b) pgbench -C
# sessions under SCRAM (the client's FIN, sent again 4-12 ms later while
# the exiting backend had not acked it, reaches the server after the
# socket closed: the RST's seq is that FIN's ack; 2 of 360 sessions).
counters=$(lab_client_counters)
[ "${counters% *}" = 0 ] || fail "the client namespace received packets from hosts other than online: $(lab_client_senders)"
others=$(lab_client_senders | tr ',' '\n' | grep -v "^ *$ADDR_ONLINE \\. 5432 *$" | grep -c .)
[ "$others" = 0 ] || fail "packets or RSTs at the client from: $(lab_client_senders)"
pass "$method: xact_commit online +$online, target +$target (+$per_session each for bob's and the TLS client's sessions, only at online); $summary"
