#!/usr/bin/env bash
# `make fuzz-long`: a fuzz campaign. Runs every harness (or FUZZ_HARNESSES,
# names separated by spaces) for FUZZ_RUNS executions (default 10 million)
# or FUZZ_SECONDS (if set, whichever comes first), one after the other,
# from the repository's corpus and what earlier runs found
# (build/fuzz/corpus/<harness>/). With FUZZ_MERGE=1, the inputs that add
# coverage are then merged into tests/fuzz/corpus/<harness>/ (libFuzzer's
# -merge=1: the corpus stays minimal; commit them).
#
# Prints one line per harness, ready for docs/reliability.md:
#   | harness | executions | cov | ft | corpus | crashes |
# and keeps each log in build/fuzz/long/<harness>.log. Exit 1 if any
# harness crashed or broke an invariant (the input is kept beside its log).
set -uo pipefail
cd "$(dirname "$0")/../.."

runs=${FUZZ_RUNS:-10000000}
harnesses=(${FUZZ_HARNESSES:-})
if [ ${#harnesses[@]} = 0 ]; then
	for src in tests/fuzz/fuzz_*.c; do harnesses+=("$(basename "$src" .c)"); done
fi
make --no-print-directory fuzz-build || exit 1
mkdir -p build/fuzz/long
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}

status=0
echo "| harness | executions | cov | ft | corpus files | crashes |"
echo "|---|---|---|---|---|---|"
for h in "${harnesses[@]}"; do
	bin=build/fuzz/$h seeds=tests/fuzz/corpus/$h found=build/fuzz/corpus/$h
	log=build/fuzz/long/$h.log
	mkdir -p "$found" "$seeds"
	limit=()
	[ -n "${FUZZ_SECONDS:-}" ] && limit=(-max_total_time="$FUZZ_SECONDS")
	"$bin" -runs="$runs" "${limit[@]}" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
		-artifact_prefix="build/fuzz/long/$h-" "$found" "$seeds" >"$log" 2>&1
	rc=$?
	execs=$(sed -n -E 's/^stat::number_of_executed_units: *([0-9]+)/\1/p' "$log")
	cov=$(grep -oE 'cov: [0-9]+' "$log" | tail -n 1 | cut -d' ' -f2)
	ft=$(grep -oE 'ft: [0-9]+' "$log" | tail -n 1 | cut -d' ' -f2)
	crashes=0
	if [ $rc != 0 ]; then
		crashes="1: $(grep -m 1 -E 'ERROR|invariant failed|deadly signal|runtime error' "$log")"
		status=1
	fi
	if [ "${FUZZ_MERGE:-0}" = 1 ] && [ $rc = 0 ]; then
		"$bin" -merge=1 "$seeds" "$found" >"build/fuzz/long/$h.merge.log" 2>&1 ||
			echo "$h: merge failed (build/fuzz/long/$h.merge.log)" >&2
	fi
	echo "| $h | ${execs:-?} | ${cov:-?} | ${ft:-?} | $(ls "$seeds" | wc -l) | $crashes |"
done
exit $status
