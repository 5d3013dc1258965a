# shellcheck shell=bash
# servers.sh — the real servers of the lab (nginx, redis-server) and what
# they say they served: access-log lines, INFO commandstats, DBSIZE.
# Sourced by lib.sh; every server gets its own directory $LAB_DIR/<name>.

# nginx_start NAME NS ADDR PORT...: nginx listening on ADDR:PORT for each PORT;
# NGINX_EXTRA, if set, goes into its server block (extra.conf).
nginx_start() {
	local name=$1 ns=$2 addr=$3 dir=$LAB_DIR/$1 listen="" port i
	shift 3
	mkdir -p "$dir/www"
	for port in "$@"; do
		listen="$listen		listen $(lab_host "$addr"):$port reuseport backlog=65535;\n"
	done
	# A 16 KB page: answers of several segments, for the replay to acknowledge.
	for i in $(seq 1 400); do
		printf '<p>line %04d of the doppel lab page, served by nginx</p>\n' "$i"
	done >"$dir/www/index.html"
	sed -e "s|@DIR@|$dir|g" -e "s|@LISTEN@|$listen|" -e "s|@SINK@|$((20000 + RANDOM % 10000))|g" \
		"$E2E_DIR/nginx.conf.in" >"$dir/nginx.conf"
	: >"$dir/access.log"
	printf '%s\n' "${NGINX_EXTRA:-}" >"$dir/extra.conf"
	lab_spawn "$name" "$ns" nginx -p "$dir" -c "$dir/nginx.conf" -e "$dir/error.log"
	for port in "$@"; do
		lab_wait_listen "$ns" "$port" 10 || {
			echo "lab: $name did not listen on $addr:$port; its log:"
			tail -n 5 "$dir/error.log" "$LAB_DIR/$name.log" 2>/dev/null
			return 1
		}
	done
}

# redis_start NAME NS ADDR PORT (REDIS_EXTRA, if set, is added to its config)
redis_start() {
	local name=$1 ns=$2 addr=$3 port=$4 dir=$LAB_DIR/$1
	mkdir -p "$dir"
	sed -e "s|@DIR@|$dir|g" -e "s|@ADDR@|$addr|" -e "s|@PORT@|$port|" \
		"$E2E_DIR/redis.conf.in" >"$dir/redis.conf"
	# A scenario's own directives for this server ($REDIS_EXTRA).
	printf '%s\n' "${REDIS_EXTRA:-}" >>"$dir/redis.conf"
	lab_spawn "$name" "$ns" redis-server "$dir/redis.conf"
	lab_wait_listen "$ns" "$port" 10 || {
		echo "lab: $name did not listen on $addr:$port"
		tail -n 5 "$dir/redis.log" 2>/dev/null
		return 1
	}
}

# nginx_requests NAME [REGEX]: lines of NAME's access log (matching REGEX).
nginx_requests() {
	local log=$LAB_DIR/$1/access.log
	if [ -n "${2:-}" ]; then
		grep -c -E -- "$2" "$log"
	else
		wc -l <"$log"
	fi
}

# nginx_fingerprint NAME [REGEX]: the requests as a sorted list of
# "method uri status request_length" — what two servers must have in common.
nginx_fingerprint() {
	awk -v re="${2:-.}" '$0 ~ re { print $5, $6, $7, $8 }' "$LAB_DIR/$1/access.log" | sort
}

# nginx_clients NAME: the distinct client addresses in NAME's log.
nginx_clients() { awk '{ print $1 }' "$LAB_DIR/$1/access.log" | sort -u | tr '\n' ' '; }

# nginx_connections NAME: distinct connections that carried requests.
nginx_connections() { awk '{ print $3 }' "$LAB_DIR/$1/access.log" | sort -u | wc -l; }

# redis_calls NS ADDR PORT CMD: calls of CMD (set, get ...) per INFO commandstats.
redis_calls() {
	local n
	n=$(in_ns "$1" timeout 5 redis-cli -h "$2" -p "$3" INFO commandstats |
		tr -d '\r' | sed -n "s/^cmdstat_$4:calls=\([0-9]*\),.*/\1/p")
	echo "${n:-0}"
}

# redis_calls_reach NS ADDR PORT COMMAND N: the server has run COMMAND N times.
redis_calls_reach() { [ "$(redis_calls "$1" "$2" "$3" "$4")" -ge "$5" ]; }

redis_dbsize() { in_ns "$1" timeout 5 redis-cli -h "$2" -p "$3" DBSIZE | tr -d '\r'; }
