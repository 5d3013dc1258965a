#!/bin/bash
# bench/lab.sh — doppel's figures in the replay lab (tests/e2e/lib.sh builds
# it: client, online, target, assistant namespaces on a bridge, addresses in
# 198.18.0.0/15 only). Run by bench/run.sh; prints figures, never PASS/FAIL.
#
#   rate     (a) the highest client rate at which every request still reaches
#            the target, for HTTP one-request connections, HTTP keep-alive and
#            Redis pipelined 16 deep; (b) at each step, CPU seconds of
#            doppel-copy and doppel-intercept per 10,000 replayed requests
#            (/proc/PID/stat utime + stime), and at the end their peak RSS
#            (VmHWM)
#   sources  (c) intercept's response sources on the same HTTP keep-alive
#            load: nfqueue with 1 queue, with 2 queues, with 2 queues read
#            by 2 threads (--queue-threads 2), pcap; CPU per
#            10,000 summaries, summaries lost, requests arrived
#   delay    (e) replay delay: a request's capture at online (tcpdump on
#            online's eth0) to its replayed copy's arrival at the target
#            (tcpdump on target's eth0): p50, p99, max; same kernel clock
#   stall    (f) doppel-copy stopped (SIGSTOP) for 2 s under load, then
#            continued: requests at online and target, capture kernel drops
#            (not in the default parts; LAB_STALL_LOADS, default
#            "wrk-afpacket wrk-pcap", or e.g. r1000-afpacket)
#   ring     (h) doppel-copy's RSS (VmRSS, of it RssFile: the mapped capture
#            ring) quiet and at the peak of a wrk load, and the capture's
#            kernel drops over a 2 s SIGSTOP under that load, for each
#            --capture-ring of LAB_RINGS (default "64m 8m"; "auto": none,
#            the ring sized to the traffic; LAB_RING_STOP_AT, default 0.5,
#            when the stop comes; not in the default parts)
#   txring   (i) -o through its PACKET_TX_RING (--tx-ring yes) and by
#            sendmmsg (no), at TXRING_STEPS (default "r1000 c4"): system
#            calls (perf) and CPU of doppel-copy per packet sent (not in
#            the default parts; needs perf)
#   kmod     (c) the kmod source against nfqueue inside one qemu VM
#            (kmod_vm.sh: this kernel loads no modules)
#   workers  (g) doppel-copy --workers 1 and 2 on HTTP one-request
#            connections (wrk at WORKERS_STEPS, default "c8 c32"): rate at
#            online, requests arrived, packets captured per second, CPU of
#            all doppel-copy processes per packet, sessions per worker
#   profile  where both daemons spend their CPU under load (lab_profile.sh)
#
# The client's rate is stepped with curl --rate (HTTP, up to what one curl
# does one request after the other), then by concurrency: Debian's
# wrk has no -R (that is wrk2), and redis-benchmark has no rate limit. Each
# step runs for a fixed time (HTTP) or a fixed count (Redis); the rate is
# what the client achieved. Everything shares this machine's cores: the
# client, both servers, both daemons. A rate with no loss at the last step
# is the lab's ceiling, not doppel's.
#
# Environment: BUILD (the daemons' directory), RUNS (repetitions, default 3
# here: each is a fresh lab), QUICK=1 (fewer, shorter steps),
# LAB_PARTS ("rate sources kmod delay workers profile" by default), LAB_DELAY_LOADS
# (the delay part's loads: LOAD-CAPTURE[+fifo] with LOAD r100, r1000,
# curl or wrk, CAPTURE afpacket or pcap; see delay_lab), LAB_KINDS (the
# loads of the rate part, "http-close http-keepalive redis" by default),
# BENCH_KEEP (a directory: keep each rate lab's daemon logs and stats there),
# BENCH_COPY_ARGS (more doppel-copy options for the HTTP rate labs, for a
# diagnosis, e.g. "--log-level debug": not for figures).
set -u

here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/.." && pwd)
export E2E_BUILD=${BUILD:-build}
RUNS=${RUNS:-3}
[ "$RUNS" -gt 3 ] && RUNS=3
QUICK=${QUICK:-0}
LAB_PARTS=${LAB_PARTS:-rate sources kmod delay workers profile}
LAB_KINDS=${LAB_KINDS:-http-close http-keepalive redis}
STEP_SECONDS=3
[ "$QUICK" = 1 ] && STEP_SECONDS=2 RUNS=1

if [ "$(id -u)" != 0 ]; then
	echo "lab: not measured: needs root (network namespaces)"
	exit 0
fi
if [ ! -f "$root/tests/e2e/lib.sh" ]; then
	echo "lab: not measured: tests/e2e/lib.sh (the lab) is missing"
	exit 0
fi
# The channel in plain text (--insecure-plaintext), so that the figures
# compare with those before TLS; TLS's own cost is bench/tls_channel_bench.
# LAB_CHANNEL=psk measures the whole replay with TLS.
LAB_CHANNEL=${LAB_CHANNEL:-plain}
# No comparison (the e2e lab's default since 33eab5a): it captures the
# answers too and costs CPU per request, so figures with it are not the
# replay's; E2E_COMPARE=1 measures the replay with --compare.
export E2E_COMPARE=${E2E_COMPARE:-0}
# shellcheck source=../tests/e2e/lib.sh
. "$root/tests/e2e/lib.sh"
for b in "$COPY_BIN" "$ICPT_BIN"; do
	[ -x "$b" ] || { echo "lab: not measured: $b is missing (make all)"; exit 0; }
done
CLK_TCK=$(getconf CLK_TCK)
export LC_ALL=C

# A lab that cannot be built is a figure not measured, not a test failure.
fail() {
	echo "  not measured ($SCENARIO): $*"
	scenario_diagnostics | sed 's/^/    /'
	exit 1
}
skip() { echo "  not measured ($SCENARIO): $*"; exit 0; }
results=$(mktemp /tmp/doppel-bench-lab.XXXXXX)
trap 'rm -f "$results"' EXIT

# --- measuring processes ------------------------------------------------------

# CPU ticks (user + system) of a lab process by name.
cpu_ticks() {
	local pid
	pid=$(lab_pid "$1")
	[ -n "$pid" ] && [ -r "/proc/$pid/stat" ] || { echo 0; return; }
	# Fields after the command name, which may hold spaces: utime is the
	# 12th and stime the 13th after ") ".
	sed 's/.*) //' "/proc/$pid/stat" | awk '{ print $12 + $13 }'
}

# Peak resident memory in KiB.
peak_rss() {
	local pid
	pid=$(lab_pid "$1")
	awk '/^VmHWM:/ { print $2 }' "/proc/$pid/status" 2>/dev/null
}

# seconds per 10,000 of COUNT, from a tick delta
per_10k() { awk -v t="$1" -v n="$2" -v hz="$CLK_TCK" 'BEGIN { if (n > 0) printf "%.3f", t / hz / n * 10000; else printf "-" }'; }

# --- the three kinds of load --------------------------------------------------

# load_setup KIND SOURCE: servers, intercept and doppel-copy for KIND.
load_setup() {
	case $1 in
	http-close | http-keepalive)
		http_lab 80
		# shellcheck disable=SC2086
		http_copy copy "$NS_ONLINE" 80 ${BENCH_COPY_ARGS:-} ;;
	redis)
		lab_build || fail "could not build the lab"
		redis_start redis-online "$NS_ONLINE" "$ADDR_ONLINE" 6379 || fail "redis did not start in online"
		redis_start redis-target "$NS_TARGET" "$ADDR_TARGET" 6379 || fail "redis did not start in target"
		intercept_start "$2" 6379 || fail "doppel-intercept did not start ($2)"
		copy_start copy "$NS_ONLINE" -x "6379-$ADDR_TARGET:6379" || fail "doppel-copy did not start" ;;
	esac
}

# Requests served so far, at online and at target.
served_online() {
	case $1 in
	redis) echo "${REDIS_SENT:-0}" ;;
	*) nginx_requests online ;;
	esac
}

served_target() {
	case $1 in
	redis) echo $(($(redis_calls "$NS_TARGET" "$ADDR_TARGET" 6379 set) +
		$(redis_calls "$NS_TARGET" "$ADDR_TARGET" 6379 get))) ;;
	*) nginx_requests target ;;
	esac
}

# load_run KIND STEP: one step of client load; LOAD_RATE is the rate the
# client reached (requests per second, 0 when unknown). STEP is rN (HTTP:
# curl --rate N/s, one request after the other, for STEP_SECONDS) or cN
# (N connections of wrk or redis-benchmark, as fast as they go).
load_run() {
	local kind=$1 c=${2#?} threads=1 out=$LAB_DIR/client.out n header=()
	[ "$c" -ge 2 ] && threads=2
	[ "$kind" = http-close ] && header=(-H 'Connection: close')
	case $kind/$2 in
	http-*/r*)
		n=$((c * STEP_SECONDS))
		LOAD_RATE=0
		local start end
		start=$(date +%s.%N)
		client_run $((STEP_SECONDS * 3 + 30)) curl -s "${header[@]}" --rate "$c/s" \
			"http://$ADDR_ONLINE/?r=[1-$n]" >/dev/null 2>"$out"
		end=$(date +%s.%N)
		LOAD_RATE=$(awk -v n=$n -v a="$start" -v b="$end" 'BEGIN { printf "%.0f", n / (b - a) }')
		return ;;
	http-close/*)
		client_run $((STEP_SECONDS + 30)) wrk -t$threads -c"$c" -d${STEP_SECONDS}s \
			-H 'Connection: close' "http://$ADDR_ONLINE/" >"$out" 2>&1 ;;
	http-keepalive/*)
		client_run $((STEP_SECONDS + 30)) wrk -t$threads -c"$c" -d${STEP_SECONDS}s \
			"http://$ADDR_ONLINE/" >"$out" 2>&1 ;;
	redis/*)
		# SET and GET, n each: a fixed count, so the online total is known
		# without asking online (a question to online would be replayed).
		n=$((20000 * c))
		[ $n -gt 400000 ] && n=400000
		client_run 120 redis-benchmark -h "$ADDR_ONLINE" -p 6379 -P 16 -c "$c" -n $n -r 1000 \
			-t set,get -q >"$out" 2>&1 && REDIS_SENT=$((${REDIS_SENT:-0} + 2 * n)) ;;
	esac
	case $kind in
	redis) LOAD_RATE=$(tr '\r' '\n' <"$out" | awk '/requests per second/ { s += $2; k++ } END { printf "%.0f", k ? s / k : 0 }') ;;
	*) LOAD_RATE=$(awk '/^Requests\/sec:/ { printf "%.0f", $2 }' "$out") ;;
	esac
	case $LOAD_RATE in '' | *[!0-9]*) LOAD_RATE=0 ;; esac
}

# Wait (bounded) until the target served as much as online and copy is idle.
load_settle() {
	local kind=$1 want=$2 tries=300
	while [ "$(served_target "$kind")" -lt "$want" ] && [ $tries -gt 0 ]; do
		sleep 0.1
		tries=$((tries - 1))
	done
	copy_idle copy 20 || true
}

# Why sessions failed and what was missed: the non-zero ended_* reasons
# other than closed, the capture's kernel drops, intercept's unrouted
# summaries (responses that came before their route, or after it went) and
# those it held for a route still to come (--hold-unrouted) and delivered.
copy_losses() {
	local key value out=""
	for key in $(tr ',{}' '\n\n\n' <"$LAB_DIR/copy.json" | sed -n 's/.*"\(ended_[a-z_]*\)".*/\1/p'); do
		[ "$key" = ended_closed ] && continue
		value=$(stats_get copy "$key")
		[ "${value:-0}" != 0 ] && out="$out$key $value, "
	done
	echo "${out}capture_kernel_drops $(stats_get copy capture_kernel_drops), summaries_unrouted $(stats_get intercept summaries_unrouted), summaries_held $(stats_get intercept summaries_held), summaries_held_delivered $(stats_get intercept summaries_held_delivered)"
}

# --- (a) and (b): stepping the rate up ----------------------------------------

rate_steps() {
	case $1 in
	redis) [ "$QUICK" = 1 ] && echo "c1 c4" || echo "c1 c2 c4 c8 c16 c32" ;;
	*) [ "$QUICK" = 1 ] && echo "r200 c1 c8" || echo "r100 r200 r500 r1000 c1 c2 c4 c8 c16 c32 c64" ;;
	esac
}

# One fresh lab: every step of KIND with SOURCE. Prints a line per step and
# "RESULT rate KIND SOURCE BEST_RATE COPY_HWM ICPT_HWM".
rate_lab() {
	local kind=$1 source=$2 c rate online0 target0 sent got copy0 icpt0 best=0 lost=0
	scenario_begin "bench-$kind" "$source"
	load_setup "$kind" "$source"
	for c in $(rate_steps "$kind"); do
		online0=$(served_online "$kind")
		target0=$(served_target "$kind")
		copy0=$(cpu_ticks copy)
		icpt0=$(cpu_ticks intercept)
		load_run "$kind" "$c"
		rate=$LOAD_RATE
		load_settle "$kind" "$(served_online "$kind")"
		sent=$(($(served_online "$kind") - online0))
		got=$(($(served_target "$kind") - target0))
		printf '  %s/%s %-5s %7s req/s at online, %d of %d arrived; CPU s per 10k requests: copy %s, intercept %s\n' \
			"$kind" "$source" "$c" "$rate" "$got" "$sent" \
			"$(per_10k $(($(cpu_ticks copy) - copy0)) "$got")" \
			"$(per_10k $(($(cpu_ticks intercept) - icpt0)) "$got")"
		# The counters so far (the stats files lag by up to a second):
		# which step a failure reason or a drop came with.
		echo "    after $c: $(copy_losses)"
		if [ "$sent" -gt 0 ] && [ "$got" -ge "$sent" ]; then
			[ "$rate" -gt $best ] && best=$rate
		else
			lost=$((sent - got))
			echo "  first loss at step $c: $lost requests did not arrive"
			break
		fi
	done
	sleep 1.5	# the stats files are rewritten every second
	printf '  %s/%s %s\n' "$kind" "$source" "$(copy_summary copy)"
	echo "  $kind/$source $(copy_losses)"
	echo "RESULT rate $kind $source $best $(peak_rss copy) $(peak_rss intercept)"
	lab_keep "$kind"
}

# lab_keep NAME: with BENCH_KEEP=DIR, the daemons' logs and stats of this
# lab go to DIR/NAME.N (the lab directory itself is removed at its end).
lab_keep() {
	local dir n=1
	[ -n "${BENCH_KEEP:-}" ] || return 0
	while [ -e "$BENCH_KEEP/$1.$n" ]; do n=$((n + 1)); done
	dir=$BENCH_KEEP/$1.$n
	mkdir -p "$dir" && cp "$LAB_DIR"/*.log "$LAB_DIR"/*.json "$dir"/ 2>/dev/null
	echo "  logs and stats kept in $dir"
}

# --- (c): the intercept sources -----------------------------------------------

# source_lab SOURCE QUEUES: HTTP keep-alive, 4 connections, intercept on
# SOURCE (nfqueue with QUEUES, e.g. 0 or 0-1). "RESULT sources NAME
# CPU_PER_10K_SUMMARIES LOST ARRIVED SENT".
source_lab() {
	local source=$1 queues=$2 threads=${3:-0} name args summaries icpt0 lost sent got
	name=$source
	[ "$source" = nfqueue ] && name="nfqueue-$queues"
	[ "$threads" != 0 ] && name="$name-t$threads"
	scenario_begin "bench-sources" "$source"
	lab_build || fail "could not build the lab"
	nginx_start online "$NS_ONLINE" "$ADDR_ONLINE" 80 || fail "nginx did not start in online"
	nginx_start target "$NS_TARGET" "$ADDR_TARGET" 80 || fail "nginx did not start in target"
	read -ra args <<<"$(lab_channel_args | tr '\n' ' ')"
	args+=(--stats-file "$LAB_DIR/intercept.json" --stats-interval 1s)
	if [ "$source" = nfqueue ]; then
		in_ns "$NS_ASSIST" env DOPPEL_RULES_STATE="$LAB_DIR/rules.state" "$RULES_BIN" install \
			--mode assistant --port 80 --addr "$ADDR_TARGET" --queues "$queues" \
			>>"$LAB_DIR/rules.log" 2>&1 || fail "doppel-rules install --queues $queues failed"
		echo "$NS_ASSIST" >>"$LAB_DIR/rules"
		args+=(--source nfqueue --queues "$queues" --queue-threads "$threads")
	else
		args+=(--source pcap -i eth0 -F "tcp and src host $ADDR_TARGET")
	fi
	daemon_start intercept "$NS_ASSIST" "$ICPT_BIN" "${args[@]}" || fail "intercept did not start"
	lab_wait_listen "$NS_ASSIST" "$INTERCEPT_PORT" 10 || fail "intercept is not listening"
	http_copy copy "$NS_ONLINE" 80
	icpt0=$(cpu_ticks intercept)
	load_run http-keepalive c4
	load_settle http-keepalive "$(nginx_requests online)"
	sleep 1.5	# the stats file is rewritten every second
	sent=$(nginx_requests online)
	got=$(nginx_requests target)
	summaries=$(stats_get intercept summaries_in)
	lost=$(stats_get intercept source_lost)
	printf '  %s: %s summaries, %s lost; %d of %d requests arrived; intercept CPU s per 10k summaries %s\n' \
		"$name" "$summaries" "$lost" "$got" "$sent" \
		"$(per_10k $(($(cpu_ticks intercept) - icpt0)) "${summaries:-0}")"
	echo "RESULT sources $name $(per_10k $(($(cpu_ticks intercept) - icpt0)) "${summaries:-0}") ${lost:-?} $got $sent"
}

# --- (e): replay delay --------------------------------------------------------

# tcpdump of the client's data packets to DEST:80, on eth0 of NS. (Online's
# eth0 also carries the replayed copies, to the target: hence the address.)
delay_capture() {
	local name=$1 ns=$2 dest=$3
	lab_spawn "$name" "$ns" tcpdump -i eth0 -n -B 16384 -s 96 -w "$LAB_DIR/$name.pcap" \
		"tcp and dst host $dest and dst port 80 and src host $ADDR_CLIENT and (ip[2:2] - ((ip[0] & 0xf) << 2) - ((tcp[12] & 0xf0) >> 2)) > 0"
	wait_until 10 grep -qs "listening on" "$LAB_DIR/$name.log" || fail "tcpdump did not start in $ns"
}

# The client's SYNs to DEST:80 on eth0 of NS: a SYN's copy waits for no
# answer of the target, so its delay is doppel-copy's alone.
delay_capture_syn() {
	local name=$1 ns=$2 dest=$3
	lab_spawn "$name" "$ns" tcpdump -i eth0 -n -B 4096 -s 96 -w "$LAB_DIR/$name.pcap" \
		"tcp and dst host $dest and dst port 80 and src host $ADDR_CLIENT and tcp[tcpflags] & (tcp-syn|tcp-ack) == tcp-syn"
	wait_until 10 grep -qs "listening on" "$LAB_DIR/$name.log" || fail "tcpdump did not start in $ns"
}

# "port seq time" for each data packet in a capture (absolute seq numbers).
delay_packets() {
	tcpdump -r "$LAB_DIR/$1.pcap" -tt -n -S 2>/dev/null |
		awk '{ split($3, a, "."); for (i = 1; i <= NF; i++) if ($i == "seq") { split($(i + 1), s, ":"); print a[5], s[1], $1 } }'
}

# "P50 P99 MAX MATCHED" in microseconds from each data packet's capture in
# FIRST to the same port and sequence number's in SECOND.
delay_between() {
	join <(delay_packets "$1" | awk '{ print $1 "/" $2, $3 }' | sort -s -u -k1,1) \
		<(delay_packets "$2" | awk '{ print $1 "/" $2, $3 }' | sort -s -u -k1,1) |
		awk '{ printf "%.0f\n", ($3 - $2) * 1e6 }' | sort -n |
		awk '{ v[NR] = $1 } END { if (NR) printf "%.0f %.0f %.0f %d", v[int(NR * 0.5 + 0.5)], v[int(NR * 0.99 + 0.5)], v[NR], NR; else printf "- - - 0" }'
}

# delay_lab LOAD [CAPTURE]: LOAD is "curl" (one request at a time on one
# connection, back to back), "rN" (curl on one kept-alive connection paced
# at N requests a second, 5 s and at least 500 requests), "cN" (the same
# with a connection per request: each SYN's copy is measured too, a delay
# that is doppel-copy's alone, since it waits for no answer) or "wrk" (4
# connections, as fast as they go); CAPTURE the --capture kind (afpacket:
# the TPACKET_V2 ring, woken per frame; pcap: libpcap's immediate mode,
# woken per packet), with "+fifo" doppel-copy runs SCHED_FIFO priority 10
# (chrt; what systemd's CPUSchedulingPolicy=fifo gives: the scheduler runs
# it as soon as it wakes, ahead of the machine's other work; not with wrk,
# which would keep it running), with "+fifoall" so do doppel-intercept and
# the target's nginx (every process the replay waits for: the engine sends
# a request's copy after the target's answer to the one before): a busy
# machine's other work then stands aside as on a quiet one. "RESULT delay LOAD-CAPTURE
# P50 P99 MAX MATCHED TOTAL DAEMON_P50 DAEMON_P99 LEAVE_P50 LEAVE_P99" in
# microseconds: the replay delay from tcpdump at both ends, doppel-copy's
# own capture delay (kernel timestamp to the daemon; bucket bounds), and
# the delay to the copy leaving the online host (tcpdump on online's eth0
# sees the original come in and the copy, to the target, go out).
delay_lab() {
	local load=$1 kind=${2:-afpacket} stats own leave syn n fifo="" name=$1-${2:-afpacket} pid
	scenario_begin "bench-delay-$load-$kind" nfqueue
	case $kind in
	*+fifo) fifo=copy kind=${kind%+fifo} ;;
	*+fifoall) fifo=all kind=${kind%+fifoall} ;;
	esac
	[ -n "$fifo" ] && [ "$load" = wrk ] && skip "+fifo is not run with wrk"
	http_lab 80
	http_copy copy "$NS_ONLINE" 80 --capture "$kind"
	if [ -n "$fifo" ]; then
		chrt -a -f -p 10 "$(lab_pid copy)" >/dev/null || fail "chrt: cannot make doppel-copy SCHED_FIFO"
	fi
	if [ "$fifo" = all ]; then
		for pid in "$(lab_pid intercept)" $(ip netns pids "$NS_TARGET"); do
			chrt -a -f -p 10 "$pid" >/dev/null || fail "chrt: cannot make $pid SCHED_FIFO"
		done
	fi
	delay_capture tcpdump-online "$NS_ONLINE" "$ADDR_ONLINE"
	delay_capture tcpdump-online-out "$NS_ONLINE" "$ADDR_TARGET"
	delay_capture tcpdump-target "$NS_TARGET" "$ADDR_TARGET"
	delay_capture_syn syn-online "$NS_ONLINE" "$ADDR_ONLINE"
	delay_capture_syn syn-online-out "$NS_ONLINE" "$ADDR_TARGET"
	if [ "$load" = curl ]; then
		client_run 120 curl -s "http://$ADDR_ONLINE/?d=[1-2000]" >/dev/null || fail "curl failed"
	elif [ "${load#r}" != "$load" ]; then
		n=$((${load#r} * 5))
		[ $n -lt 500 ] && n=500
		client_run 120 curl -s --rate "${load#r}/s" "http://$ADDR_ONLINE/?d=[1-$n]" >/dev/null ||
			fail "curl --rate failed"
	elif [ "${load#c}" != "$load" ]; then
		n=$((${load#c} * 5))
		[ $n -lt 500 ] && n=500
		client_run 120 curl -s -H 'Connection: close' --rate "${load#c}/s" \
			"http://$ADDR_ONLINE/?d=[1-$n]" >/dev/null || fail "curl --rate failed"
	else
		load_run http-keepalive c4
	fi
	load_settle http-keepalive "$(nginx_requests online)"
	lab_stop tcpdump-online INT
	lab_stop tcpdump-online-out INT
	lab_stop tcpdump-target INT
	lab_stop syn-online INT
	lab_stop syn-online-out INT
	lab_stop copy
	own="$(stats_get copy capture_delay_p50_us) $(stats_get copy capture_delay_p99_us)"
	stats=$(delay_between tcpdump-online tcpdump-target)
	leave=$(delay_between tcpdump-online tcpdump-online-out)
	syn=$(delay_between syn-online syn-online-out)
	printf '  %s: replay delay p50 %s us, p99 %s us, max %s us over %s requests matched (%s captured at online)\n' \
		"$name" $stats "$(delay_packets tcpdump-online | wc -l)"
	printf '  %s: to the copy leaving online, p50 %s us, p99 %s us, max %s us over %s\n' "$name" $leave
	printf '  %s: inside doppel-copy, capture delay p50 <= %s us, p99 <= %s us\n' "$name" $own
	printf '  %s: SYN to its copy leaving online, p50 %s us, p99 %s us, max %s us over %s\n' "$name" $syn
	echo "RESULT delay $name $stats $(delay_packets tcpdump-online | wc -l) $own $(echo "$leave" | cut -d' ' -f1-2) $(echo "$syn" | cut -d' ' -f1-2,4)"
}

# --- (h): the capture ring's size -------------------------------------------------

# "VmRSS RssFile RssAnon" of PID in KiB.
rss_of() {
	awk '/^VmRSS:/ { r = $2 } /^RssFile:/ { f = $2 } /^RssAnon:/ { a = $2 }
		END { print r, f, a }' "/proc/$1/status" 2>/dev/null
}

# ring_lab SIZE: doppel-copy with --capture-ring SIZE (auto: without, the
# ring sized to the traffic); its RSS 2 s after start (quiet), then wrk (4
# keep-alive connections, STEP_SECONDS) with doppel-copy stopped for 2 s
# from LAB_RING_STOP_AT (0.5) s in; its RSS and peak RSS after.
# "RESULT ring SIZE QUIET_RSS QUIET_FILE LOAD_RSS LOAD_FILE HWM ONLINE
# TARGET DROPS CAPTURED" (KiB, requests, packets).
ring_lab() {
	local size=$1 pid client quiet loaded hwm online target drops captured ring_args=()
	local stop_at=${LAB_RING_STOP_AT:-0.5}
	scenario_begin "bench-ring-$size" nfqueue
	http_lab 80
	# auto: no --capture-ring, the ring sized to the traffic (8m..64m)
	[ "$size" = auto ] || ring_args=(--capture-ring "$size")
	http_copy copy "$NS_ONLINE" 80 "${ring_args[@]}"
	pid=$(lab_pid copy)
	sleep 2
	read -r -a quiet < <(rss_of "$pid")
	load_run http-keepalive c4 &
	client=$!
	sleep "$stop_at"
	kill -STOP "$pid"
	sleep 2
	kill -CONT "$pid"
	wait "$client"
	load_settle http-keepalive "$(nginx_requests online)"
	read -r -a loaded < <(rss_of "$pid")
	hwm=$(peak_rss copy)
	online=$(nginx_requests online)
	target=$(nginx_requests target)
	lab_stop copy
	drops=$(stats_get copy capture_kernel_drops)
	captured=$(stats_get copy packets_captured)
	printf '  ring %s: RSS quiet %s KiB (ring and files %s, anonymous %s); after wrk %s KiB (%s, %s), peak %s KiB\n' \
		"$size" "${quiet[0]}" "${quiet[1]}" "${quiet[2]}" "${loaded[0]}" "${loaded[1]}" "${loaded[2]}" "$hwm"
	printf '  ring %s: copy stopped 2 s under wrk from %s s in: %s requests at online, %s at target; kernel drops %s of %s captured; ring %s KiB at the end after %s resizes\n' \
		"$size" "$stop_at" "$online" "$target" "${drops:--}" "${captured:--}" \
		"$(($(stats_get copy capture_ring_bytes) / 1024))" "$(stats_get copy capture_ring_resizes)"
	echo "RESULT ring $size ${quiet[0]} ${quiet[1]} ${loaded[0]} ${loaded[1]} $hwm $online $target ${drops:--} ${captured:--}"
}

# --- (f): a stalled copy daemon ---------------------------------------------------

# stall_lab LOAD [CAPTURE]: doppel-copy is stopped (SIGSTOP) for 2 s while
# LOAD runs ("wrk": 4 keep-alive connections for STEP_SECONDS, as fast as
# they go; "rN": curl at N requests/s), then continued. "RESULT stall
# LOAD-CAPTURE ONLINE TARGET KERNEL_DROPS CAPTURED": requests served at
# online and at the target, the capture's kernel drops, packets captured.
stall_lab() {
	local load=$1 kind=${2:-afpacket} pid client online target drops captured
	scenario_begin "bench-stall-$load-$kind" nfqueue
	http_lab 80
	http_copy copy "$NS_ONLINE" 80 --capture "$kind"
	pid=$(lab_pid copy)
	if [ "$load" = wrk ]; then
		load_run http-keepalive c4 &
	else
		load_run http-keepalive "$load" &
	fi
	client=$!
	sleep 0.5
	kill -STOP "$pid"
	sleep 2
	kill -CONT "$pid"
	wait "$client"
	load_settle http-keepalive "$(nginx_requests online)"
	online=$(nginx_requests online)
	target=$(nginx_requests target)
	lab_stop copy
	drops=$(stats_get copy capture_kernel_drops)
	captured=$(stats_get copy packets_captured)
	printf '  %s-%s: copy stopped 2 s: %s requests at online, %s at target; capture kernel drops %s of %s captured\n' \
		"$load" "$kind" "$online" "$target" "${drops:--}" "${captured:--}"
	echo "RESULT stall $load-$kind $online $target ${drops:--} ${captured:--}"
}

# --- (i): -o through the PACKET_TX_RING or by sendmmsg ---------------------------

# txring_lab yes|no: doppel-copy -o eth0 --tx-ring yes|no (frames to the
# target's MAC); per step of TXRING_STEPS (rN: curl at N requests/s, one
# after the other; cN: wrk, N keep-alive connections, as fast as they go)
# the system calls doppel-copy made (perf's raw_syscalls and its send
# calls: sendto is send(), sendmmsg) and its CPU, per packet it sent.
# "RESULT txring MODE STEP RATE ARRIVED SENT PACKETS SYSCALLS_PER_PACKET
# SENDCALLS_PER_PACKET US_PER_PACKET".
txring_lab() {
	local mode=$1 c pid rate online0 target0 sent got ticks0 ticks pkt0 pkts perf_out
	local all sendto mmsg
	command -v perf >/dev/null || skip "perf is not installed"
	scenario_begin "bench-txring-$mode" nfqueue
	http_lab 80
	copy_start copy "$NS_ONLINE" -x "80-$ADDR_TARGET:80@$(lab_mac "$ADDR_TARGET")" -o eth0 \
		--tx-ring "$mode" || fail "doppel-copy -o did not start"
	pid=$(lab_pid copy)
	perf_out=$LAB_DIR/perf.txt
	for c in ${TXRING_STEPS:-r1000 c4}; do
		online0=$(nginx_requests online)
		target0=$(nginx_requests target)
		ticks0=$(cpu_ticks copy)
		sleep 1.2	# the stats file is rewritten every second
		pkt0=$(stats_get copy packets_sent)
		perf stat -x, -e raw_syscalls:sys_enter,syscalls:sys_enter_sendto,syscalls:sys_enter_sendmmsg \
			-p "$pid" -o "$perf_out" &
		local perf_pid=$!
		load_run http-keepalive "$c"
		rate=$LOAD_RATE
		load_settle http-keepalive "$(nginx_requests online)"
		sleep 1.2
		kill -INT "$perf_pid"
		wait "$perf_pid"
		sent=$(($(nginx_requests online) - online0))
		got=$(($(nginx_requests target) - target0))
		ticks=$(($(cpu_ticks copy) - ticks0))
		pkts=$(($(stats_get copy packets_sent) - ${pkt0:-0}))
		all=$(awk -F, '$3 == "raw_syscalls:sys_enter" { print $1 }' "$perf_out")
		sendto=$(awk -F, '$3 == "syscalls:sys_enter_sendto" { print $1 }' "$perf_out")
		mmsg=$(awk -F, '$3 == "syscalls:sys_enter_sendmmsg" { print $1 }' "$perf_out")
		read -r per_all per_send us < <(awk -v a="${all:-0}" -v s="$((${sendto:-0} + ${mmsg:-0}))" \
			-v t="$ticks" -v p="$pkts" -v hz="$CLK_TCK" \
			'BEGIN { if (p > 0) printf "%.3f %.4f %.2f\n", a / p, s / p, t / hz / p * 1e6; else print "- - -" }')
		printf '  tx-ring %s %-5s %6s req/s at online, %d of %d arrived; %s packets sent; per packet: %s system calls (%s send/sendmmsg), %s us CPU\n' \
			"$mode" "$c" "$rate" "$got" "$sent" "$pkts" "$per_all" "$per_send" "$us"
		echo "RESULT txring $mode $c $rate $got $sent $pkts $per_all $per_send $us"
	done
	lab_stop copy
}

# --- (g): doppel-copy --workers ---------------------------------------------------

# CPU ticks of doppel-copy and its workers (the supervisor's children).
copy_tree_ticks() {
	local pid p t=0
	pid=$(lab_pid copy)
	[ -n "$pid" ] || { echo 0; return; }
	for p in $pid $(pgrep -P "$pid"); do
		[ -r "/proc/$p/stat" ] && t=$((t + $(sed 's/.*) //' "/proc/$p/stat" | awk '{ print $12 + $13 }')))
	done
	echo $t
}

# workers_lab N: HTTP one-request connections (wrk, as fast as it goes, at
# each concurrency of WORKERS_STEPS) replayed by doppel-copy --workers N.
# Per step: the rate at online, requests arrived, packets doppel-copy
# captured per second, its CPU (all processes) per packet, and the
# sessions each worker took. "RESULT workers N STEP RATE ARRIVED SENT
# PACKETS_PER_S US_PER_PACKET".
workers_lab() {
	local n=$1 c rate online0 target0 sent got ticks0 ticks cap0 pkts spread w
	scenario_begin "bench-workers-$n" nfqueue
	http_lab 80
	http_copy copy "$NS_ONLINE" 80 --workers "$n"
	for c in ${WORKERS_STEPS:-c8 c32}; do
		online0=$(nginx_requests online)
		target0=$(nginx_requests target)
		ticks0=$(copy_tree_ticks)
		cap0=$(stats_get copy packets_captured)
		load_run http-close "$c"
		rate=$LOAD_RATE
		load_settle http-close "$(nginx_requests online)"
		sent=$(($(nginx_requests online) - online0))
		got=$(($(nginx_requests target) - target0))
		ticks=$(($(copy_tree_ticks) - ticks0))
		pkts=$(($(stats_get copy packets_captured) - ${cap0:-0}))
		spread=""
		for ((w = 0; w < n; w++)); do
			spread="$spread${spread:+/}$(stats_get copy "worker_${w}_sessions_started")"
		done
		printf '  workers %s %-4s %6s req/s at online, %d of %d arrived; %s packets/s captured; copy CPU %s us per packet; sessions by worker %s\n' \
			"$n" "$c" "$rate" "$got" "$sent" "$((pkts / STEP_SECONDS))" \
			"$(awk -v t="$ticks" -v p="$pkts" -v hz="$CLK_TCK" 'BEGIN { if (p > 0) printf "%.1f", t / hz / p * 1e6; else printf "-" }')" \
			"${spread:-$n worker}"
		echo "RESULT workers $n $c $rate $got $sent $((pkts / STEP_SECONDS)) $(awk -v t="$ticks" -v p="$pkts" -v hz="$CLK_TCK" 'BEGIN { if (p > 0) printf "%.1f", t / hz / p * 1e6; else printf "-" }')"
	done
	lab_stop copy
}

# --- the figures, repeated ------------------------------------------------------

# median min max of the numbers on stdin ("-" when none).
spread() {
	sort -n | awk '{ v[NR] = $1 } END { if (!NR) { print "- - -"; exit }
		m = NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2
		printf "%s %s %s\n", m, v[1], v[NR] }'
}

run_part() {
	local run
	for run in $(seq 1 "$RUNS"); do
		# Other work on the machine moves these figures: say how busy it was.
		echo "  run $run of $*: load average $(cut -d' ' -f1-3 /proc/loadavg) on $(nproc) cores"
		("$@") 2>&1 | tee -a "$results" | grep -v '^RESULT'
	done
}

for part in $LAB_PARTS; do
	case $part in
	rate)
		echo "-- (a, b) highest replay rate with 100% arrival; CPU and peak RSS, $RUNS runs"
		for kind in $LAB_KINDS; do
			run_part rate_lab "$kind" nfqueue
			read -r m lo hi < <(awk -v k="$kind" '$1 == "RESULT" && $2 == "rate" && $3 == k { print $5 }' "$results" | spread)
			read -r cm _ < <(awk -v k="$kind" '$1 == "RESULT" && $2 == "rate" && $3 == k { print $6 }' "$results" | spread)
			read -r im _ < <(awk -v k="$kind" '$1 == "RESULT" && $2 == "rate" && $3 == k { print $7 }' "$results" | spread)
			echo "$kind: highest rate with every request arriving: median $m req/s (min $lo, max $hi); peak RSS copy $cm KiB, intercept $im KiB (medians)"
		done ;;
	sources)
		echo "-- (c) intercept sources on the same HTTP keep-alive load, $RUNS runs"
		for spec in "nfqueue 0" "nfqueue 0-1" "nfqueue 0-1 2" "pcap -"; do
			# shellcheck disable=SC2086
			run_part source_lab $spec
		done
		for name in nfqueue-0 nfqueue-0-1 nfqueue-0-1-t2 pcap; do
			read -r m lo hi < <(awk -v n="$name" '$1 == "RESULT" && $2 == "sources" && $3 == n { print $4 }' "$results" | spread)
			echo "$name: intercept CPU s per 10k summaries median $m (min $lo, max $hi); lost per run: $(awk -v n="$name" '$2 == "sources" && $3 == n { printf "%s ", $5 }' "$results")"
		done
		echo "kmod source: see the kmod part (inside qemu)" ;;
	kmod)
		echo "-- (c) kmod against nfqueue inside one qemu VM, one-request connections"
		BUILD=$E2E_BUILD KMOD_RUNS=$RUNS "$here/kmod_vm.sh" ;;
	delay)
		echo "-- (e) replay delay, capture at online to arrival at target, $RUNS runs"
		for load in ${LAB_DELAY_LOADS:-r100-afpacket r1000-afpacket curl-afpacket curl-pcap wrk-afpacket wrk-pcap r100-afpacket+fifo r1000-afpacket+fifo curl-afpacket+fifo}; do
			run_part delay_lab "${load%-*}" "${load#*-}"
			read -r m lo hi < <(awk -v l="$load" '$2 == "delay" && $3 == l { print $4 }' "$results" | spread)
			read -r m99 lo99 hi99 < <(awk -v l="$load" '$2 == "delay" && $3 == l { print $5 }' "$results" | spread)
			read -r d99 _ < <(awk -v l="$load" '$2 == "delay" && $3 == l { print $10 }' "$results" | spread)
			read -r l50 _ < <(awk -v l="$load" '$2 == "delay" && $3 == l { print $11 }' "$results" | spread)
			read -r l99 _ < <(awk -v l="$load" '$2 == "delay" && $3 == l { print $12 }' "$results" | spread)
			read -r s50 _ < <(awk -v l="$load" '$2 == "delay" && $3 == l && $15 >= 100 { print $13 }' "$results" | spread)
			read -r s99 slo shi < <(awk -v l="$load" '$2 == "delay" && $3 == l && $15 >= 100 { print $14 }' "$results" | spread)
			[ "$s50" = - ] && s50=""
			echo "$load: p50 median $m us (min $lo, max $hi); p99 median $m99 us (min $lo99, max $hi99); inside doppel-copy p99 median <= $d99 us; to the copy leaving online p50 median $l50 us, p99 median $l99 us${s50:+; SYN to its copy leaving online p50 median $s50 us, p99 median $s99 us (min $slo, max $shi)}"
		done ;;
	stall)
		echo "-- (f) doppel-copy stopped for 2 s under load, $RUNS runs"
		for load in ${LAB_STALL_LOADS:-wrk-afpacket wrk-pcap}; do
			run_part stall_lab "${load%-*}" "${load#*-}"
		done ;;
	workers)
		echo "-- (g) doppel-copy --workers 1 and 2, HTTP one-request connections, $RUNS runs"
		for n in 1 2; do
			run_part workers_lab "$n"
		done
		for n in 1 2; do
			for c in ${WORKERS_STEPS:-c8 c32}; do
				read -r r _ < <(awk -v n="$n" -v c="$c" '$2 == "workers" && $3 == n && $4 == c { print $5 }' "$results" | spread)
				read -r p _ < <(awk -v n="$n" -v c="$c" '$2 == "workers" && $3 == n && $4 == c { print $8 }' "$results" | spread)
				read -r u lo hi < <(awk -v n="$n" -v c="$c" '$2 == "workers" && $3 == n && $4 == c { print $9 }' "$results" | spread)
				lost=$(awk -v n="$n" -v c="$c" '$2 == "workers" && $3 == n && $4 == c { l += $7 - $6 } END { print l + 0 }' "$results")
				echo "workers $n $c: median $r req/s at online, $p packets/s captured, copy CPU $u us per packet (min $lo, max $hi); requests lost in all runs: $lost"
			done
		done ;;
	ring)
		echo "-- (h) --capture-ring: RSS quiet and under wrk, a 2 s stop under wrk, $RUNS runs"
		for size in ${LAB_RINGS:-64m 8m}; do
			run_part ring_lab "$size"
		done ;;
	txring)
		echo "-- (i) -o through the PACKET_TX_RING (yes) or by sendmmsg (no), HTTP keep-alive, $RUNS runs"
		for mode in yes no; do
			run_part txring_lab "$mode"
		done
		for mode in yes no; do
			for c in ${TXRING_STEPS:-r1000 c4}; do
				read -r sc _ < <(awk -v m="$mode" -v c="$c" '$2 == "txring" && $3 == m && $4 == c { print $9 }' "$results" | spread)
				read -r ss _ < <(awk -v m="$mode" -v c="$c" '$2 == "txring" && $3 == m && $4 == c { print $10 }' "$results" | spread)
				read -r u lo hi < <(awk -v m="$mode" -v c="$c" '$2 == "txring" && $3 == m && $4 == c { print $11 }' "$results" | spread)
				read -r r _ < <(awk -v m="$mode" -v c="$c" '$2 == "txring" && $3 == m && $4 == c { print $5 }' "$results" | spread)
				echo "tx-ring $mode $c: median $r req/s at online; per packet sent: $sc system calls, $ss send calls, $u us CPU (min $lo, max $hi)"
			done
		done ;;
	profile)
		echo "-- where the daemons' CPU goes (perf, cpu-clock), HTTP keep-alive and one request per connection"
		BUILD=$E2E_BUILD "$here/lab_profile.sh"
		BUILD=$E2E_BUILD "$here/lab_profile.sh" --close ;;
	*) echo "lab: unknown part '$part'" ;;
	esac
done
exit 0
