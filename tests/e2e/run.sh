#!/usr/bin/env bash
# The end-to-end suite: every scenario of tests/e2e/scenarios/ in a lab of
# its own, once per intercept source (nfqueue, through the iptables fallback
# on kernels without the nft queue expression, and pcap). One line each:
#   PASS <scenario>.<source>: <measured>   FAIL ...: <why>   SKIP ...: <why>
#
# Needs root; without it every scenario is SKIPped and the suite exits 0.
# Environment: E2E_SOURCES (default "nfqueue pcap"), E2E_SCENARIOS (names,
# default all), E2E_BUILD (where the daemons are: build/san, the ASan+UBSan
# build `make check` makes, when it has both daemons, else build), and
# E2E_LOGS (default build/test-logs/e2e): the lab directory of every failed
# scenario is kept there (daemon logs, stats JSON, server logs).
# Then the scenarios of E2E_IPV6_SCENARIOS run again in the IPv6 lab
# (E2E_FAMILY=6, 2001:2::/48; verdicts <scenario>.<source>.ipv6): by default
# the families that matter there when E2E_SCENARIOS is not given, none when
# it is.
set -uo pipefail
cd "$(dirname "$0")/../.." || exit 1
dir=tests/e2e/scenarios
sources=${E2E_SOURCES:-"nfqueue pcap"}
# Real traffic through sanitized daemons: a memory error or a leak at exit
# fails the scenario (the daemon's exit status is checked).
if [ -z "${E2E_BUILD:-}" ] && [ -x build/san/doppel-copy ] && [ -x build/san/doppel-intercept ]; then
	export E2E_BUILD=build/san
fi
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=0}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
# The lab's self-test first: if it fails, nothing else can pass.
scenarios=${E2E_SCENARIOS:-"lab http-keepalive http-per-connection http-post-1mb redis-pipeline
	redis-large loss-high-rate
	idle-connection client-rewrite two-online link-layer pcap-capture intercept-restart loss
	client-silence copies percent workers http-saturation metrics intercept-queues fault-kill-intercept
	fault-kill-copy fault-cut-path fault-queue-rules tcpcopy-dialect
	http-downloads tunnel-vxlan tunnel-ipv6 mirror-vxlan container kube intercept-fleet
	pg-login pg-login-md5 pg-pooled fault-target-restart fault-target-network fault-target-port
	compare-http compare-redis compare-pg compare-mysql mariadb-sysbench mariadb-pooled mariadb-prepared
	tls-certs tls-psk"}
if [ -z "${E2E_SCENARIOS:-}" ]; then
	ipv6_scenarios=${E2E_IPV6_SCENARIOS-"http-keepalive http-per-connection http-downloads
		redis-pipeline loss client-rewrite"}
else
	ipv6_scenarios=${E2E_IPV6_SCENARIOS:-}
fi
logs=${E2E_LOGS:-build/test-logs/e2e}
status=0
runs=0

# run_one NAME SOURCE [FAMILY]: FAMILY 6 runs it in the IPv6 lab.
run_one() {
	local name=$1 source=$2 family=${3:-4} out rc leftover id began=$(date +%s)
	local label=$1.$2
	[ "$family" = 6 ] && label=$label.ipv6
	runs=$((runs + 1))
	id=$$x$runs
	rm -rf "${logs:?}/$label"
	E2E_FAMILY=$family E2E_RUN_ID=$id E2E_KEEP="$logs/$label" timeout -k 20 300 \
		bash "$dir/$name.sh" "$source" >"$logs/$label.out" 2>&1
	rc=$?
	out=$(cat "$logs/$label.out")
	printf '%s\n' "$out"
	if ! printf '%s\n' "$out" | grep -qE "^(PASS|FAIL|SKIP) ${label//./\\.}:"; then
		echo "FAIL $label: exited $rc without a verdict$([ $rc = 124 ] && echo ' (timed out after 300 s)')"
		rc=1
	fi
	# A scenario killed before its trap ran leaves its namespaces behind:
	# their processes are ours (started in them), stop them and delete them.
	for leftover in $(ip netns list 2>/dev/null | awk -v s="-$id-" 'index($1, s) { print $1 }'); do
		echo "  cleaning up $leftover left by $label"
		ip netns pids "$leftover" 2>/dev/null | xargs -r kill -KILL 2>/dev/null
		ip netns del "$leftover" 2>/dev/null
	done
	rm -f "$logs/$label.out"
	# The suite's cost per scenario, for CI's time budget.
	echo "  time $label: $(($(date +%s) - began)) s"
	[ $rc = 0 ] || status=1
}

if [ "$(id -u)" != 0 ]; then
	for name in $scenarios; do
		if [ "$name" = lab ]; then
			echo "SKIP lab.none: needs root (network namespaces, raw sockets)"
			continue
		fi
		for source in $sources; do
			echo "SKIP $name.$source: needs root (network namespaces, raw sockets)"
		done
	done
	for name in $ipv6_scenarios; do
		for source in $sources; do
			echo "SKIP $name.$source.ipv6: needs root (network namespaces, raw sockets)"
		done
	done
	exit 0
fi

mkdir -p "$logs"
start=$(date +%s)
for name in $scenarios; do
	if [ ! -f "$dir/$name.sh" ]; then
		echo "FAIL $name: no scenario $dir/$name.sh"
		status=1
		continue
	fi
	if [ "$name" = lab ]; then
		run_one lab none
		continue
	fi
	for source in $sources; do
		run_one "$name" "$source"
	done
done
for name in $ipv6_scenarios; do
	for source in $sources; do
		run_one "$name" "$source" 6
	done
done
echo "e2e: $(($(date +%s) - start)) s, daemons from ${E2E_BUILD:-build}"
exit $status
