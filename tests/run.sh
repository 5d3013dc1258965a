#!/usr/bin/env bash
# Run every suite and close with one "N passed, N failed, N skipped" line.
#
# Each suite is tests/<suite>/run.sh; it prints one line per test:
#   PASS <name>            FAIL <name>: <why>            SKIP <name>: <why>
# and anything else it likes (kept in build/test-logs/<suite>.log and shown
# for failing suites). A suite that exits non-zero without printing a FAIL
# counts as one failure of its own.
set -uo pipefail
cd "$(dirname "$0")/.."
logdir=build/test-logs
mkdir -p "$logdir"
suites=${DOPPEL_SUITES:-"layout unit fuzz nft e2e kmod ops"}
pass=0 fail=0 skip=0
for s in $suites; do
	runner=tests/$s/run.sh
	if [ ! -x "$runner" ]; then
		echo "SKIP suite $s: no tests/$s/run.sh yet"
		skip=$((skip + 1))
		continue
	fi
	echo "== suite $s"
	start=$(date +%s)
	"$runner" >"$logdir/$s.log" 2>&1
	rc=$?
	p=$(grep -c '^PASS ' "$logdir/$s.log")
	f=$(grep -c '^FAIL ' "$logdir/$s.log")
	k=$(grep -c '^SKIP ' "$logdir/$s.log")
	grep -E '^(FAIL|SKIP) ' "$logdir/$s.log" | sed 's/^/   /'
	if [ "$rc" != 0 ] && [ "$f" = 0 ]; then
		echo "   FAIL suite $s: runner exited $rc without naming a failure"
		f=1
	fi
	if [ "$f" != 0 ]; then
		echo "   --- last lines of $logdir/$s.log"
		tail -n 40 "$logdir/$s.log" | sed 's/^/   | /'
	fi
	echo "   $s: $p passed, $f failed, $k skipped ($(( $(date +%s) - start )) s)"
	pass=$((pass + p)) fail=$((fail + f)) skip=$((skip + k))
done
echo "$pass passed, $fail failed, $skip skipped"
[ "$fail" = 0 ]
