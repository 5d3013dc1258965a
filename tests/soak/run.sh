#!/usr/bin/env bash
# `make soak` (not in CI; root; about an hour with the defaults): the long
# versions of the reliability runs, one after the other, each printing one
# PASS/FAIL/SKIP line with its figures (docs/reliability.md has the table):
#   - the fault scenarios of the e2e suite with 30 s of load around each
#     fault, the copy-intercept path cut for 5 s and for 60 s, the target's
#     server and network down for 5 s, its port closed for 5 s (dropped,
#     then rejected: the send path filled);
#   - the SYN flood (flood.sh, FLOOD_SYNS, default 1,000,000);
#   - the steady soak (steady.sh, SOAK_SECONDS, default 1800) with the
#     sanitizer build and with the release build.
# SOAK_PARTS picks some of: faults flood soak-san soak-release.
# SOAK_SOURCE: the intercept's source (nfqueue).
set -uo pipefail
cd "$(dirname "$0")/../.." || exit 1
parts=${SOAK_PARTS:-"faults flood soak-san soak-release"}
source=${SOAK_SOURCE:-nfqueue}
status=0
run() { "$@" || status=1; }
[ "$(id -u)" = 0 ] || { echo "SKIP soak: needs root"; exit 0; }
make --no-print-directory all >/dev/null || exit 1
for part in $parts; do
	case $part in
	faults)
		for s in fault-kill-intercept fault-kill-copy fault-queue-rules fault-target-restart \
			fault-target-network; do
			run env E2E_BUILD=build FAULT_SECONDS=30 bash tests/e2e/scenarios/$s.sh "$source"
		done
		for cut in 5 60; do
			run env E2E_BUILD=build FAULT_SECONDS=30 FAULT_CUT_SECONDS=$cut \
				bash tests/e2e/scenarios/fault-cut-path.sh "$source"
		done
		for action in drop reject; do
			run env E2E_BUILD=build FAULT_SECONDS=30 FAULT_PORT_ACTION=$action \
				FAULT_ALL_SOURCES=1 bash tests/e2e/scenarios/fault-target-port.sh "$source"
		done
		;;
	flood) run env E2E_BUILD=build tests/soak/flood.sh "$source" ;;
	soak-san)
		make --no-print-directory BUILD=build/san SAN=1 build/san/doppel-copy \
			build/san/doppel-intercept >/dev/null || exit 1
		# ASan keeps freed memory in a quarantine (256 MB by default) that
		# fills for most of a run: a small one (4 MB), and the second half judged.
		run env E2E_BUILD=build/san ASAN_OPTIONS=detect_leaks=1:quarantine_size_mb=4 \
			SOAK_WARMUP_PERCENT=50 tests/soak/steady.sh "$source"
		;;
	soak-release) run env E2E_BUILD=build tests/soak/steady.sh "$source" ;;
	*) echo "FAIL soak: unknown part '$part'"; status=1 ;;
	esac
done
exit $status
