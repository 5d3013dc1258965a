#!/bin/bash
# bench/run.sh — doppel's benchmarks (`make bench`). They print figures; none
# of them passes or fails on time, and none runs in CI.
#
# Parts, each runnable alone with --only PART (several --only allowed):
#   engine   instructions per replayed request (callgrind, repeatable on a
#            noisy machine) and wall-clock throughput, median and spread
#   profile  the engine's hot path: callgrind_annotate's top functions
#   memory   RSS and buffered bytes per session, 100,000 and 1,000,000
#            concurrent sessions, in flight and idle
#   wire     summaries encoded and decoded per second; the router's lookups
#            when intercept's router is built; summaries per CPU second
#            through the channel in plain text and in TLS 1.3 (PSK), and
#            the CPU of one handshake
#   compare  --compare's cost per request (pairing, HTTP parse, SHA-256 of
#            both answers) for small and 16 KiB bodies, and its memory
#   capture  the live capture alone (capture_bench, on a veth pair in a
#            namespace of its own): capture delay at 100, 1,000 and 10,000
#            packets/s; a 2 s reader stall at 3,000 and 20,000 packets/s
#            (kernel drops); the -o sender alone (send_bench), through its
#            PACKET_TX_RING and by sendmmsg: CPU per 10,000 packets and
#            system calls per packet. Needs root
#   lab      the replay lab (bench/lab.sh: rates, CPU, intercept sources,
#            the kernel module in qemu, replay delay, the daemons' profile):
#            needs root, the daemons and tests/e2e/lib.sh
#
# Environment: BUILD (default build) is where the binaries are; RUNS
# (default 5) the repetitions of every wall-clock figure; QUICK=1 makes
# every part smaller (a smoke run, not figures to quote).
set -u

here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/.." && pwd)
BUILD=${BUILD:-build}
case $BUILD in /*) ;; *) BUILD=$root/$BUILD ;; esac
RUNS=${RUNS:-5}
QUICK=${QUICK:-0}
bin=$BUILD/bench
parts=()

while [ $# -gt 0 ]; do
	case $1 in
	--only) parts+=("$2"); shift 2 ;;
	--quick) QUICK=1; shift ;;
	-h|--help) sed -n '2,/^[^#]/{/^#/p}' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
	*) echo "bench/run.sh: unknown argument '$1'" >&2; exit 2 ;;
	esac
done
[ ${#parts[@]} -eq 0 ] && parts=(engine profile memory wire compare capture lab)

wanted() {
	local p
	for p in "${parts[@]}"; do [ "$p" = "$1" ] && return 0; done
	return 1
}

section() { printf '\n== %s ==\n' "$*"; }

workdir=$(mktemp -d /tmp/doppel-bench.XXXXXX)
trap 'rm -rf "$workdir"' EXIT

if [ ! -x "$bin/engine_bench" ]; then
	echo "bench/run.sh: $bin/engine_bench is missing: run 'make BUILD=${BUILD#$root/} bench-build'" >&2
	exit 2
fi

# callgrind's instruction count inside the named functions (inclusive),
# divided by the driver's own count of work done (KEY=N on its stdout).
# Prints "instructions per UNIT: X".
callgrind_per() {
	local label=$1 key=$2 unit=$3; shift 3
	local toggles=() out=$workdir/cg.$$.$RANDOM
	while [ "$1" != -- ]; do toggles+=("--toggle-collect=$1"); shift; done
	shift
	if ! command -v valgrind >/dev/null; then
		echo "$label: not measured: valgrind is not installed"
		return
	fi
	valgrind --tool=callgrind --callgrind-out-file="$out.cg" "${toggles[@]}" "$@" \
		>"$out.stdout" 2>"$out.stderr" || { echo "$label: the driver failed:"; cat "$out.stderr"; return; }
	local ir total
	ir=$(sed -n 's/.*Collected : \([0-9]*\).*/\1/p' "$out.stderr")
	total=$(sed -n "s/.*$key=\([0-9]*\).*/\1/p" "$out.stdout")
	awk -v ir="$ir" -v n="$total" -v l="$label" -v u="$unit" \
		'BEGIN { printf "%s: %.0f instructions per %s (callgrind, %d of them)\n", l, ir / n, u, n }'
	cp "$out.cg" "$workdir/last.cg"
}

# The inclusive instruction count of each named function in a callgrind
# file, summed (the largest line per name: inlined pieces show up apart).
cg_inclusive() {
	local file=$1; shift
	callgrind_annotate --inclusive=yes --threshold=100 "$file" 2>/dev/null |
		awk -v names="$*" '
		BEGIN { n = split(names, want, " ") }
		{
			for (i = 1; i <= n; i++)
				if (index($0, ":" want[i] " ") || $0 ~ (":" want[i] "$")) {
					v = $1; gsub(",", "", v)
					if (v + 0 > best[i]) best[i] = v + 0
				}
		}
		END { for (i = 1; i <= n; i++) total += best[i]; printf "%d\n", total }'
}

engine_part() {
	local sessions=100000 ka_sessions=2000 big=20000
	[ "$QUICK" = 1 ] && sessions=5000 ka_sessions=200 big=2000
	section "engine: instructions per replayed request (callgrind)"
	local entries=(engine_client_packet engine_target_packet engine_tick --)
	callgrind_per "short connections (1 request, 1-segment answer)" requests_total request \
		"${entries[@]}" "$bin/engine_bench" --sessions 10000 --runs 1
	callgrind_per "keep-alive (100 requests per connection)" requests_total request \
		"${entries[@]}" "$bin/engine_bench" --sessions 1000 --requests 100 --concurrency 100 --runs 1
	callgrind_per "keep-alive, 10-segment answers" requests_total request \
		"${entries[@]}" "$bin/engine_bench" --sessions 1000 --requests 100 --response-segments 10 \
		--concurrency 100 --runs 1
	section "engine: wall clock ($RUNS runs each)"
	"$bin/engine_bench" --sessions "$sessions" --runs "$RUNS"
	"$bin/engine_bench" --sessions "$ka_sessions" --requests 100 --concurrency 200 --runs "$RUNS"
	"$bin/engine_bench" --sessions "$big" --requests 10 --concurrency "$big" --runs "$RUNS"
}

profile_part() {
	section "engine: hot path profile (keep-alive, callgrind, exclusive)"
	if ! command -v callgrind_annotate >/dev/null; then
		echo "not measured: valgrind is not installed"
		return
	fi
	valgrind --tool=callgrind --callgrind-out-file="$workdir/profile.cg" \
		--toggle-collect=engine_client_packet --toggle-collect=engine_target_packet \
		--toggle-collect=engine_tick "$bin/engine_bench" --sessions 1000 --requests 100 \
		--concurrency 100 --runs 1 >/dev/null 2>&1
	callgrind_annotate "$workdir/profile.cg" 2>/dev/null |
		sed -n '/file:function/,$p' | sed -n '3,22p' |
		sed -e 's|/work/main/||' -e 's| \[/.*\]$||'
}

memory_part() {
	local counts=(100000 1000000) n state
	[ "$QUICK" = 1 ] && counts=(10000 100000)
	section "engine: memory per concurrent session"
	for state in idle inflight; do
		for n in "${counts[@]}"; do
			"$bin/engine_memory_bench" --sessions "$n" --state "$state"
		done
	done
}

wire_part() {
	local n=2000000
	[ "$QUICK" = 1 ] && n=200000
	section "wire codec ($RUNS runs)"
	"$bin/wire_bench" --summaries "$n" --runs "$RUNS"
	if command -v valgrind >/dev/null; then
		local cg=$workdir/wire.cg m=200000
		valgrind --tool=callgrind --callgrind-out-file="$cg" "$bin/wire_bench" --single \
			--summaries $m >/dev/null 2>&1
		printf 'wire instructions per summary (callgrind, %d summaries): ' $m
		printf 'encode %s, ' "$(($(cg_inclusive "$cg" wire_batch_add wire_batch_finish) / m))"
		printf 'decode %s, ' "$(($(cg_inclusive "$cg" wire_decoder_space wire_decoder_commit \
			wire_decoder_next wire_summary_next) / m))"
		printf 'packet_parse %s\n' "$(($(cg_inclusive "$cg" packet_parse) / m))"
	fi
	section "channel: plain text and TLS 1.3 ($RUNS runs)"
	"$bin/tls_channel_bench" --summaries "$n" --runs "$RUNS"
	if [ -x "$bin/intercept_router_bench" ]; then
		section "intercept router ($RUNS runs)"
		"$bin/intercept_router_bench" --runs "$RUNS"
		if command -v valgrind >/dev/null; then
			local rcg=$workdir/router.cg routes=100000
			valgrind --tool=callgrind --callgrind-out-file="$rcg" "$bin/intercept_router_bench" \
				--routes $routes --runs 1 >/dev/null 2>&1
			printf 'router instructions (callgrind, %d routes): lookup %s, add %s, del %s\n' $routes \
				"$(($(cg_inclusive "$rcg" router_lookup) / (2 * routes)))" \
				"$(($(cg_inclusive "$rcg" router_add) / routes))" \
				"$(($(cg_inclusive "$rcg" router_del) / routes))"
		fi
	else
		echo "router: not measured: $bin/intercept_router_bench is not built (intercept/router.c missing?)"
	fi
}

wanted engine && engine_part
wanted profile && profile_part
wanted memory && memory_part
wanted wire && wire_part
if wanted compare; then
	section "compare (--compare)"
	if [ -x "$bin/compare_bench" ]; then
		n=2000
		[ "$QUICK" = 1 ] && n=200
		"$bin/compare_bench" --sessions $n --requests 20 --body 100 --runs "$RUNS"
		"$bin/compare_bench" --sessions $n --requests 20 --body 16384 --runs "$RUNS"
	else
		echo "compare: not measured: $bin/compare_bench is not built"
	fi
fi
# median of the numbers on stdin
median() { sort -n | awk '{ v[NR] = $1 } END { if (NR) print (NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2); else print "-" }'; }

capture_part() {
	local runs=$RUNS kind rate out r
	[ "$runs" -gt 3 ] && runs=3
	[ "$QUICK" = 1 ] && runs=1
	section "live capture and -o alone ($runs runs; load average $(cut -d' ' -f1-3 /proc/loadavg) on $(nproc) cores)"
	out=$workdir/capture.txt
	: >"$out"
	for kind in afpacket pcap; do
		for rate in 100 1000 10000; do
			for r in $(seq 1 "$runs"); do
				"$bin/capture_bench" delay $kind $rate $((rate * 3)) | tee -a "$out" | grep -v RESULT
			done
			printf '%s at %s/s: capture delay p50 median %s us, p99 median %s us\n' $kind $rate \
				"$(awk -v k=$kind -v r=$rate '$2 == "delay" && $3 == k && $4 == r { print $5 }' "$out" | median)" \
				"$(awk -v k=$kind -v r=$rate '$2 == "delay" && $3 == k && $4 == r { print $6 }' "$out" | median)"
		done
	done
	for kind in afpacket pcap; do
		for rate in 3000 20000; do
			for r in $(seq 1 "$runs"); do
				"$bin/capture_bench" stall $kind $rate 3 2000 | tee -a "$out" | grep -v RESULT
			done
		done
	done
	for mode in ring batches; do
		for r in 1 64; do
			"$bin/send_bench" 100000 $r $mode | grep -v RESULT
		done
	done
}
wanted capture && capture_part
if wanted lab; then
	section "replay lab"
	if [ -x "$here/lab.sh" ]; then
		BUILD=$BUILD RUNS=$RUNS QUICK=$QUICK "$here/lab.sh"
	else
		echo "lab: not measured: bench/lab.sh is missing"
	fi
fi
exit 0
