#!/usr/bin/env bash
# The cmocka unit tests, built with ASan and UBSan under build/san/tests.
# Each binary reports in TAP; every test case becomes a PASS or FAIL line.
set -uo pipefail
cd "$(dirname "$0")/../.."
bindir=${UNIT_BINDIR:-build/san/tests}
export CMOCKA_MESSAGE_OUTPUT=TAP
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=0}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
status=0
found=0
for t in "$bindir"/test_*; do
	[ -x "$t" ] || continue
	found=1
	name=$(basename "$t")
	out=$(timeout 300 "$t" 2>&1)
	rc=$?
	printf '%s\n' "$out" | sed "s/^/[$name] /"
	printf '%s\n' "$out" | sed -n -E "s/^ok [0-9]+ - (.*)$/PASS $name.\1/p"
	printf '%s\n' "$out" | sed -n -E "s/^not ok [0-9]+ - (.*)$/FAIL $name.\1: see log/p"
	printf '%s\n' "$out" | sed -n -E "s/^not ok [0-9]+ # SKIP (.*)$/SKIP $name.\1: skipped by the test (see log)/p"
	if [ $rc != 0 ] && ! printf '%s\n' "$out" | grep -q '^not ok'; then
		echo "FAIL $name: exited $rc (sanitizer report or crash above)"
	fi
	[ $rc = 0 ] || status=1
done
[ $found = 1 ] || { echo "FAIL unit: no test binaries in $bindir"; exit 1; }
exit $status
