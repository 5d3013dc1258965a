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
		$channel "${INTERCEPT_EXTRA_ARGS[@]}")
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
	# shellcheck disable=SC2086 # one option or path a line, no spaces
	daemon_start "$name" "$ns" "$COPY_BIN" -s "$ADDR_ASSIST" $channel \
		--stats-file "$LAB_DIR/$name.json" --stats-interval 1s "$@" || return 1
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
