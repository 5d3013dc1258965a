# shellcheck shell=bash
# daemons.sh — doppel-copy and doppel-intercept in the lab: started with an
# sd_notify socket so the lab knows when they are up, their NFQUEUE rules,
# and their statistics files. Sourced by lib.sh.

INTERCEPT_PORT=36524

# The channel between the daemons. The daemons refuse plain text on a
# network address unless told (docs/protocol.md section 2.1), and the lab's
# addresses are network addresses, so by default the lab runs TLS 1.3 with
# a pre-shared key made for it (psk). A scenario may set LAB_CHANNEL before
# starting the daemons: plain (--insecure-plaintext on both: for peers that
# speak no TLS, such as TCPCopy's dialect) or none (the scenario gives its
# own options, e.g. certificates).
LAB_CHANNEL=${LAB_CHANNEL:-psk}

# lab_channel_args: the options of either daemon for LAB_CHANNEL, one a
# line (the PSK file made on first use, mode 0600 as the daemons demand).
lab_channel_args() {
	local psk=$LAB_DIR/channel.psk
	case $LAB_CHANNEL in
	psk)
		if [ ! -s "$psk" ]; then
			(umask 077 && printf 'doppel-lab:%s\n' \
				"$(od -An -tx1 -N32 /dev/urandom | tr -d ' \n')" >"$psk") || return 1
		fi
		printf '%s\n' --tls-psk-file "$psk" ;;
	plain) echo --insecure-plaintext ;;
	none) ;;
	*) echo "lab: unknown LAB_CHANNEL '$LAB_CHANNEL'" >&2; return 1 ;;
	esac
}

# --- comparison in every scenario (docs/compare.md) -------------------------
# E2E_COMPARE=1 (the default): every doppel-copy started here without a
# --compare of its own compares its answers (http for the nginx ports, redis,
# postgres, mysql by port, raw otherwise), with a diff log in the lab, and
# every intercept gives whole answer packets (--route-payload 65535). The online and target
# servers of the scenarios are identical, so pass() (lib.sh) fails a scenario
# whose copy reported a difference, unless it said why they are legitimate
# (compare_allow, lib.sh). E2E_COMPARE=0: the scenarios as before.
E2E_COMPARE=${E2E_COMPARE:-1}

compare_proto_of() {
	case $1 in
	80 | 8080) echo http ;;
	6379) echo redis ;;
	5432) echo postgres ;;
	3306) echo mysql ;;
	*) echo raw ;;
	esac
}

# compare_auto NAME ARGS...: set COMPARE_ARGS to the --compare options for
# doppel-copy NAME started with ARGS (none when it compares already, or
# cannot: --offline, --workers N > 1) and note NAME as judged by pass().
# E2E_COMPARE_LOG_RATE: the diff log's lines a second (doppel-copy's 100
# drop most of a long run's lines; set it high to trace a false pairing).
compare_auto() {
	local name=$1 a prev='' spec='' t port
	shift
	COMPARE_ARGS=()
	[ "$E2E_COMPARE" = 1 ] || return 0
	for a in "$@"; do
		case $a in --compare | --compare=* | --offline | --offline=*) return 0 ;; esac
		# doppel-copy refuses --workers N > 1 with --compare (not yet).
		[ "$prev" = --workers ] && [ "$a" != 1 ] && return 0
		if [ "$prev" = -x ]; then
			for t in ${a//,/ }; do
				# [online-addr:]port[@mac]-target...: the online port.
				port=${t%%-*}
				port=${port%%@*}
				port=${port##*:}
				case ",$spec," in *",$port="*) continue ;; esac
				spec=${spec:+$spec,}$port=$(compare_proto_of "$port")
			done
		fi
		prev=$a
	done
	[ -n "$spec" ] || return 0
	COMPARE_ARGS=(--compare "$spec" --compare-log "$LAB_DIR/$name.diff.jsonl" ${E2E_COMPARE_LOG_RATE:+--compare-log-rate $E2E_COMPARE_LOG_RATE})
	grep -qx "$name" "$LAB_DIR/compare-auto" 2>/dev/null || echo "$name" >>"$LAB_DIR/compare-auto"
}

# intercept_compare_args: what every intercept gets for the comparison.
intercept_compare_args() {
	[ "$E2E_COMPARE" = 1 ] || return 0
	case " ${INTERCEPT_EXTRA_ARGS[*]} " in *" --route-payload "*) return 0 ;; esac
	echo --route-payload 65535
}

# daemon_start NAME NS CMD...: start CMD in NS and wait (15 s at most) for
# its READY=1 on an sd_notify socket of the lab's own.
daemon_start() {
	local name=$1 ns=$2 sock=$LAB_DIR/$1.notify waiter pid
	shift 2
	rm -f "$sock"
	lab_spawn_here "$name-notify" python3 "$E2E_DIR/notify_wait.py" "$sock" 15
	waiter=$(lab_pid "$name-notify")
	if ! wait_until 5 test -S "$sock"; then
		echo "lab: the notify listener for $name did not start"
		return 1
	fi
	lab_spawn "$name" "$ns" env NOTIFY_SOCKET="$sock" "$@"
	pid=$(lab_pid "$name")
	# Bounded by the listener's own 15 s.
	while lab_alive "$waiter"; do
		if ! lab_alive "$pid"; then
			echo "lab: $name exited while starting; its log:"
			tail -n 15 "$LAB_DIR/$name.log"
			lab_stop "$name-notify"
			return 1
		fi
		sleep 0.05
	done
	if ! lab_stop "$name-notify"; then
		echo "lab: $name sent no READY=1 within 15 s; its log:"
		tail -n 15 "$LAB_DIR/$name.log"
		return 1
	fi
}

# intercept_rules PORT: the NFQUEUE rules for the target's answers from PORT,
# installed in the assistant with nft/doppel-rules (its state kept in the lab),
# to the queues INTERCEPT_QUEUES (default 0; a range A-B fans out).
intercept_rules() {
	if ! in_ns "$NS_ASSIST" env DOPPEL_RULES_STATE="$LAB_DIR/rules.state" \
		"$RULES_BIN" install --mode assistant --port "$1" --addr "$ADDR_TARGET" \
		--queues "${INTERCEPT_QUEUES:-0}" >>"$LAB_DIR/rules.log" 2>&1; then
		echo "lab: doppel-rules install failed:"
		tail -n 10 "$LAB_DIR/rules.log"
		return 1
	fi
	echo "$NS_ASSIST" >>"$LAB_DIR/rules"
}

intercept_rules_remove() {
	in_ns "$NS_ASSIST" env DOPPEL_RULES_STATE="$LAB_DIR/rules.state" \
		"$RULES_BIN" remove >>"$LAB_DIR/rules.log" 2>&1 || return 1
	: >"$LAB_DIR/rules"
}

# rules_gone: nothing of doppel-rules is left in the assistant (no DOPPEL
# chain, no doppel table, no state file).
rules_gone() {
	! in_ns "$NS_ASSIST" iptables -t raw -S 2>/dev/null | grep -q DOPPEL &&
		! in_ns "$NS_ASSIST" iptables -t mangle -S 2>/dev/null | grep -q DOPPEL &&
		! in_ns "$NS_ASSIST" nft list tables 2>/dev/null | grep -qw doppel &&
		[ ! -e "$LAB_DIR/rules.state" ]
}

# intercept_run SOURCE: doppel-intercept in the assistant (rules already there
# for nfqueue), listening when this returns. A scenario may set the array
# INTERCEPT_EXTRA_ARGS (e.g. --metrics ...) before.
intercept_run() {
	local source=$1 channel
	channel=$(lab_channel_args) || return 1
	local args=(--stats-file "$LAB_DIR/intercept.json" --stats-interval 1s --log-level info
		$channel "${INTERCEPT_EXTRA_ARGS[@]}" $(intercept_compare_args))
	case $source in
	pcap) args+=(--source pcap -i eth0 -F "tcp and src host $ADDR_TARGET") ;;
	nfqueue) args+=(--source nfqueue --queues "${INTERCEPT_QUEUES:-0}") ;;
	*) echo "lab: unknown source $source"; return 1 ;;
	esac
	daemon_start intercept "$NS_ASSIST" "$ICPT_BIN" "${args[@]}" || return 1
	lab_wait_listen "$NS_ASSIST" "$INTERCEPT_PORT" 10 ||
		{ echo "lab: doppel-intercept is not listening on $INTERCEPT_PORT"; return 1; }
}

# intercept_start SOURCE PORT: rules (nfqueue) for the target port, then the daemon.
intercept_start() {
	if [ "$1" = nfqueue ]; then
		intercept_rules "$2" || return 1
	fi
	intercept_run "$1"
}

# copy_start NAME NS ARGS...: doppel-copy with ARGS (-x ... and the rest),
# pointed at the assistant's intercept, its stats in $LAB_DIR/NAME.json.
# Returns once it is READY and connected to intercept.
copy_start() {
	local name=$1 ns=$2 channel
	shift 2
	channel=$(lab_channel_args) || return 1
	compare_auto "$name" "$@"
	# shellcheck disable=SC2086 # one option or path a line, no spaces
	daemon_start "$name" "$ns" "$COPY_BIN" -s "$ADDR_ASSIST" $channel \
		--stats-file "$LAB_DIR/$name.json" --stats-interval 1s "$@" "${COMPARE_ARGS[@]}" || return 1
	if ! wait_until 15 ns_connected "$ns" "$(lab_host "$ADDR_ASSIST"):$INTERCEPT_PORT"; then
		echo "lab: $name did not connect to intercept at $ADDR_ASSIST:$INTERCEPT_PORT"
		tail -n 10 "$LAB_DIR/$name.log"
		return 1
	fi
}

# stats_get NAME KEY: a counter from NAME's stats JSON (a flat object), or "".
stats_get() {
	sed -n "s/.*\"$2\": *\([0-9][0-9]*\).*/\1/p" "$LAB_DIR/$1.json" 2>/dev/null | head -n 1
}

stats_is() { [ "$(stats_get "$1" "$2")" = "$3" ]; }

stats_mtime() { stat -c %.9Y "$LAB_DIR/$1.json" 2>/dev/null || echo 0; }

# copy_idle NAME [SECONDS]: wait until NAME's stats, written after this was
# called (they are rewritten every second), say no session is active.
copy_idle() {
	local name=$1 tries=$((${2:-30} * 10)) seen
	seen=$(stats_mtime "$name")
	while [ $tries -gt 0 ]; do
		if [ "$(stats_mtime "$name")" != "$seen" ]; then
			stats_is "$name" sessions_active 0 && return 0
			seen=$(stats_mtime "$name")
		fi
		sleep 0.1
		tries=$((tries - 1))
	done
	return 1
}

# copy_summary NAME: the figures a scenario reports.
copy_summary() {
	printf 'sessions %s started, %s completed, %s failed; %s retransmissions; %s summaries (%s unmatched)' \
		"$(stats_get "$1" sessions_started)" "$(stats_get "$1" sessions_completed)" \
		"$(stats_get "$1" sessions_failed)" "$(stats_get "$1" retransmissions)" \
		"$(stats_get "$1" summaries)" "$(stats_get "$1" summaries_unmatched)"
}
