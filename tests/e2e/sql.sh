# shellcheck shell=bash
# sql.sh — the lab's SQL servers (PostgreSQL 15, MariaDB) for the stateful
# scenarios (docs/stateful.md): each with its own data directory in the
# lab's temporary directory, run as the packages' system user in a lab
# namespace, started and stopped by PID like the other servers, and what
# they say they served (pg_stat_database, SHOW GLOBAL STATUS). Sourced by
# the pg-* and mariadb-* scenarios after lib.sh.

PG_BIN=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)
PG_PASSWORD=doppel-pg-secret
MY_PASSWORD=doppel-my-secret

# as_user USER CMD...: CMD with USER's ids (exec, so the PID is CMD's).
as_user() {
	local user=$1
	shift
	setpriv --reuid="$user" --regid="$user" --init-groups -- "$@"
}

# sql_dir NAME OWNER: $LAB_DIR/NAME, owned by OWNER (the lab directory is
# opened for traversal: the servers run as their own users).
sql_dir() {
	chmod 711 "$LAB_DIR"
	mkdir -p "$LAB_DIR/$1"
	chown "$2:" "$LAB_DIR/$1"
}

# pg_start NAME NS ADDR METHOD: PostgreSQL on ADDR:5432, TCP logins by
# METHOD (scram-sha-256 or md5) for the superuser postgres, password
# PG_PASSWORD stored the way METHOD needs; local (socket) logins trusted,
# for the lab's own questions. No autovacuum: the counters compared are
# the clients' alone.
pg_start() {
	local name=$1 ns=$2 addr=$3 method=$4 dir=$LAB_DIR/$1 enc
	[ -n "$PG_BIN" ] || { echo "lab: PostgreSQL is not installed"; return 1; }
	enc=$method
	[ "$method" = md5 ] || enc=scram-sha-256
	sql_dir "$1" postgres
	printf '%s\n' "$PG_PASSWORD" >"$dir/pw"
	chown postgres: "$dir/pw"
	as_user postgres "$PG_BIN/initdb" -D "$dir/data" -U postgres --pwfile="$dir/pw" \
		--auth-local=trust --auth-host="$method" -E UTF8 >"$dir/initdb.log" 2>&1 || {
		echo "lab: initdb for $name failed:"
		tail -n 5 "$dir/initdb.log"
		return 1
	}
	# the lab's clients (initdb's host lines cover only the loopback)
	echo "host all all 198.18.0.0/15 $method" >>"$dir/data/pg_hba.conf"
	lab_spawn "$name" "$ns" setpriv --reuid=postgres --regid=postgres --init-groups -- \
		"$PG_BIN/postgres" -D "$dir/data" -c listen_addresses="$addr" -c port=5432 \
		-c unix_socket_directories="$dir" -c autovacuum=off -c fsync=off \
		-c synchronous_commit=off -c shared_buffers=16MB -c max_connections=40 \
		-c password_encryption="$enc"
	lab_wait_listen "$ns" 5432 20 || {
		echo "lab: $name did not listen on $addr:5432; its log:"
		tail -n 5 "$LAB_DIR/$name.log"
		return 1
	}
	# initdb stored the password with its default (SCRAM): store it again
	# with the server's password_encryption (md5 for an md5 run).
	pg_sql "$1" "ALTER USER postgres PASSWORD '$PG_PASSWORD'" >/dev/null
}

# pg_sql NAME SQL [DB]: one statement through NAME's socket (never the
# network: nothing the copy daemon captures), its value unaligned; in
# database template1 unless DB, so that the lab's own questions do not count
# in database postgres, the clients'.
pg_sql() {
	"$PG_BIN/psql" -X -q -A -t -h "$LAB_DIR/$1" -U postgres -d "${3:-template1}" -c "$2"
}

# pg_commits NAME: pg_stat_database's xact_commit of database postgres.
pg_commits() {
	pg_sql "$1" "SELECT xact_commit FROM pg_stat_database WHERE datname = 'postgres'"
}

# my_start NAME NS ADDR: MariaDB on ADDR:3306 with a user sbtest@% of
# password MY_PASSWORD (mysql_native_password) and a database sbtest.
my_start() {
	local name=$1 ns=$2 addr=$3 dir=$LAB_DIR/$1
	sql_dir "$1" mysql
	mariadb-install-db --user=mysql --datadir="$dir/data" --auth-root-authentication-method=normal \
		--skip-test-db >"$dir/install.log" 2>&1 || {
		echo "lab: mariadb-install-db for $name failed:"
		tail -n 5 "$dir/install.log"
		return 1
	}
	lab_spawn "$name" "$ns" setpriv --reuid=mysql --regid=mysql --init-groups -- \
		mariadbd --no-defaults --datadir="$dir/data" --socket="$dir/sock" \
		--pid-file="$dir/pid" --bind-address="$addr" --port=3306 --skip-name-resolve \
		--innodb-buffer-pool-size=32M --innodb-flush-log-at-trx-commit=0 \
		--skip-log-bin --max-connections=60
	lab_wait_listen "$ns" 3306 30 || {
		echo "lab: $name did not listen on $addr:3306; its log:"
		tail -n 5 "$LAB_DIR/$name.log"
		return 1
	}
	my_sql "$1" "CREATE DATABASE sbtest; CREATE USER 'sbtest'@'%' IDENTIFIED VIA
		mysql_native_password USING PASSWORD('$MY_PASSWORD');
		GRANT ALL ON sbtest.* TO 'sbtest'@'%'; FLUSH PRIVILEGES"
}

# my_sql NAME SQL: through NAME's socket as root (never the network).
my_sql() { mariadb --no-defaults -S "$LAB_DIR/$1/sock" -u root -N -B -e "$2"; }

# mariadb_lab PS_MODE [SQL]: MariaDB in online and in target, sysbench's
# oltp tables prepared in both (the same rows: --rand-seed), then SQL run
# in each; sets sb, the sysbench options the scenario runs with
# (--db-ps-mode=PS_MODE: disable for text statements, auto for prepared).
mariadb_lab() {
	local ps_mode=$1 sql=${2:-} tool side
	for tool in mariadbd mariadb mariadb-install-db sysbench setpriv; do
		command -v $tool >/dev/null || fail "$tool is not installed (mariadb-server, sysbench: scripts/deps.sh)"
	done
	lab_build || fail "could not build the lab"
	my_start my-online "$NS_ONLINE" "$ADDR_ONLINE" || fail "MariaDB did not start in online"
	my_start my-target "$NS_TARGET" "$ADDR_TARGET" || fail "MariaDB did not start in target"
	sb=(--db-driver=mysql --db-ps-mode="$ps_mode" --mysql-user=sbtest --mysql-password="$MY_PASSWORD"
		--mysql-db=sbtest --tables=2 --table-size=2000 --rand-seed=1)
	for side in my-online my-target; do
		sysbench oltp_read_write "${sb[@]}" --mysql-socket="$LAB_DIR/$side/sock" prepare \
			>>"$LAB_DIR/sysbench-prepare.log" 2>&1 ||
			fail "sysbench prepare on $side failed: $(tail -n 3 "$LAB_DIR/sysbench-prepare.log")"
		[ -z "$sql" ] || my_sql "$side" "$sql"
	done
}

# my_status NAME VAR: a SHOW GLOBAL STATUS counter.
my_status() { my_sql "$1" "SHOW GLOBAL STATUS LIKE '$2'" | awk '{ print $2 }'; }

# credentials_file LINES...: a 0600 credentials file in the lab; its path.
credentials_file() {
	local f=$LAB_DIR/credentials
	(umask 077 && printf '%s\n' "$@" >"$f")
	echo "$f"
}

# compare_sql_judge SESSIONS MIN_REQUESTS VERDICTS [DIFF_PATTERN]: for the
# compare-pg and compare-mysql scenarios (their statements on t2 fail at the
# target only): wait until copy compared SESSIONS sessions and is idle, stop
# it, then fail unless exactly 3 pairs (of at least MIN_REQUESTS) differ in
# status and the rest are the same, doppel-compare-report names them alone
# with VERDICTS ("ONLINE -> TARGET"), and the diff log has 3 lines on t2
# (and 3 matching DIFF_PATTERN, if given). Sets FIGURES.
compare_sql_judge() {
	local sessions=$1 min=$2 verdicts=$3 pattern=${4:-}
	local requests same status
	sessions_done() { [ "$(stats_get copy compare_sessions)" = "$sessions" ] && stats_is copy sessions_active 0; }
	wait_until 60 sessions_done || fail "not every session was replayed: $(copy_summary copy)"
	copy_idle copy 20
	lab_stop copy || fail "doppel-copy exited with status $? on SIGTERM"
	requests=$(stats_get copy compare_requests)
	same=$(stats_get copy compare_same)
	status=$(stats_get copy compare_different_status)
	FIGURES="compared $requests: $same same, $status status, $(stats_get copy compare_different_body) body, $(stats_get copy compare_missing) missing, $(stats_get copy compare_malformed) malformed; $(stats_get copy auth_logins_replayed) logins replayed"
	[ "$status" = 3 ] && [ "$same" = $((requests - 3)) ] && [ "$requests" -ge "$min" ] || fail "$FIGURES"
	"$REPORT_BIN" "$LAB_DIR/diff.jsonl" >"$LAB_DIR/report.txt" 2>&1 ||
		fail "doppel-compare-report failed: $(cat "$LAB_DIR/report.txt")"
	grep -Eq "^ +3  status +SELECT \\* +$verdicts " "$LAB_DIR/report.txt" &&
		[ "$(grep -v ' slower ' "$LAB_DIR/report.txt" | grep -c ' e\.g\. ')" = 1 ] &&
		{ [ -z "$pattern" ] || [ "$(grep -c "$pattern" "$LAB_DIR/diff.jsonl")" = 3 ]; } &&
		[ "$(grep -c 'FROM t2' "$LAB_DIR/diff.jsonl")" = 3 ] ||
		fail "the report does not name the 3 statements on t2 alone: $(cat "$LAB_DIR/report.txt")"
	sed 's/^/    report| /' "$LAB_DIR/report.txt"
}
