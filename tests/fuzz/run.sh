#!/usr/bin/env bash
# The fuzz suite of `make check`: builds every tests/fuzz/fuzz_*.c with
# libFuzzer (make fuzz-build), replays each harness's whole corpus kept in
# the repository, tests/fuzz/corpus/<harness>/ (seeds and what campaigns
# merged in: every input, once, -runs=0), then gives each harness a short
# bounded run from that corpus plus whatever earlier runs found
# (build/fuzz/corpus/<harness>/, outside the repository).
# `make fuzz` runs them for as long as asked; `make fuzz-long` is a campaign
# (tests/fuzz/long.sh).
#
# Prints PASS <harness>, FAIL <harness>: <why>, or SKIP when clang cannot
# build fuzzers here. The whole suite gets FUZZ_SMOKE_SECONDS (default 60),
# shared between the harnesses, at least 5 s each (7 harnesses: 8 s each).
set -uo pipefail
cd "$(dirname "$0")/../.."

harnesses=()
for src in tests/fuzz/fuzz_*.c; do
	[ -e "$src" ] && harnesses+=("$(basename "$src" .c)")
done
if [ ${#harnesses[@]} = 0 ]; then
	echo "SKIP fuzz: no tests/fuzz/fuzz_*.c"
	exit 0
fi

skip_all() {
	for h in "${harnesses[@]}"; do echo "SKIP $h: $1"; done
	exit 0
}

# libFuzzer ships with clang's runtime (libclang-rt-*-dev on Debian).
command -v clang >/dev/null 2>&1 || skip_all "clang not installed"
probe=$(mktemp -d)
trap 'rm -rf "$probe"' EXIT
echo 'int LLVMFuzzerTestOneInput(const char *d, unsigned long n) { return 0; }' >"$probe/p.c"
clang -fsanitize=fuzzer "$probe/p.c" -o "$probe/p" >"$probe/log" 2>&1 ||
	skip_all "clang cannot link -fsanitize=fuzzer (libFuzzer runtime missing): $(head -n 1 "$probe/log")"

mkdir -p build/fuzz
if ! make --no-print-directory fuzz-build >build/fuzz/build.log 2>&1; then
	cat build/fuzz/build.log
	for h in "${harnesses[@]}"; do
		echo "FAIL $h: make fuzz-build failed (build/fuzz/build.log)"
	done
	exit 1
fi

total=${FUZZ_SMOKE_SECONDS:-60}
each=$((total / ${#harnesses[@]}))
[ "$each" -ge 5 ] || each=5
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}

status=0
for h in "${harnesses[@]}"; do
	bin=build/fuzz/$h
	seeds=tests/fuzz/corpus/$h
	found=build/fuzz/corpus/$h
	log=build/fuzz/$h.log
	mkdir -p "$found"
	dirs=("$found")
	[ -d "$seeds" ] && dirs+=("$seeds")
	# First the repository's whole corpus, every input once (-runs=0):
	# what a campaign found and kept must still pass, every run.
	if [ -d "$seeds" ]; then
		timeout 600 "$bin" -runs=0 -timeout=10 -rss_limit_mb=2048 \
			-artifact_prefix="build/fuzz/$h-" "$seeds" >"$log.replay" 2>&1
		rc=$?
		if [ $rc != 0 ]; then
			why=$(grep -m 1 -E 'ERROR|invariant failed|deadly signal|runtime error' "$log.replay")
			echo "FAIL $h: the corpus replay exited $rc: ${why:-see $log.replay}"
			tail -n 30 "$log.replay"
			status=1
			continue
		fi
		echo "$h: corpus replayed, $(ls "$seeds" | wc -l) inputs"
	fi
	# New inputs go to the first directory; the repository's seeds stay
	# as they are. timeout is a backstop should the fuzzer itself hang.
	timeout $((each + 60)) "$bin" -max_total_time="$each" -timeout=10 -rss_limit_mb=2048 \
		-print_final_stats=1 -artifact_prefix="build/fuzz/$h-" "${dirs[@]}" >"$log" 2>&1
	rc=$?
	runs=$(sed -n -E 's/^stat::number_of_executed_units: *([0-9]+)/\1/p' "$log")
	if [ $rc = 0 ]; then
		echo "$h: ${runs:-?} runs in ${each} s"
		echo "PASS $h"
	else
		why=$(grep -m 1 -E 'ERROR|invariant failed|deadly signal|runtime error' "$log")
		artifact=$(sed -n -E 's/.*Test unit written to (.*)$/\1/p' "$log" | head -n 1)
		echo "FAIL $h: exit $rc: ${why:-see $log}${artifact:+ (input: $artifact)}"
		tail -n 30 "$log"
		status=1
	fi
done
exit $status
