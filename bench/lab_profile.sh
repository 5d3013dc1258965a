#!/bin/bash
# bench/lab_profile.sh — where doppel-copy and doppel-intercept spend their
# CPU under load in the lab: perf's cpu-clock sampling (this machine has no
# hardware counters) of both daemons while wrk keeps 4 HTTP keep-alive
# connections busy (or --close: one request per connection), then the top
# symbols of each, user and kernel, as perf report prints them. Run by
# bench/lab.sh (LAB_PARTS=profile) or alone; prints figures only.
#
# Environment: BUILD (the daemons' directory), PROFILE_SECONDS (default 5).
set -u

here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/.." && pwd)
export E2E_BUILD=${BUILD:-build}
PROFILE_SECONDS=${PROFILE_SECONDS:-5}
mode=keepalive
[ "${1:-}" = --close ] && mode=close

if [ "$(id -u)" != 0 ] || ! command -v perf >/dev/null; then
	echo "profile: not measured: needs root and perf (linux-perf)"
	exit 0
fi
# The channel in plain text (--insecure-plaintext), so that the figures
# compare with those before TLS; TLS's own cost is bench/tls_channel_bench.
# LAB_CHANNEL=psk measures the whole replay with TLS.
LAB_CHANNEL=${LAB_CHANNEL:-plain}
# shellcheck source=../tests/e2e/lib.sh
. "$root/tests/e2e/lib.sh"
fail() { echo "  profile not measured: $*"; scenario_diagnostics | sed 's/^/    /'; exit 1; }

scenario_begin bench-profile nfqueue
http_lab 80
http_copy copy "$NS_ONLINE" 80
header=()
[ $mode = close ] && header=(-H 'Connection: close')
for name in copy intercept; do
	lab_spawn_here "perf-$name" perf record -q -e cpu-clock -F 2000 -g \
		-o "$LAB_DIR/perf-$name.data" -p "$(lab_pid "$name")"
done
for name in copy intercept; do
	lab_spawn_here "stat-$name" perf stat -x, -e raw_syscalls:sys_enter -o "$LAB_DIR/stat-$name.csv" \
		-p "$(lab_pid "$name")" sleep $((PROFILE_SECONDS + 1))
done
sleep 0.5
target0=$(nginx_requests target)
client_run $((PROFILE_SECONDS + 30)) wrk -t2 -c4 -d"${PROFILE_SECONDS}s" "${header[@]}" \
	"http://$ADDR_ONLINE/" >"$LAB_DIR/wrk.out" 2>&1
lab_stop perf-copy INT 20
lab_stop perf-intercept INT 20
wait_until 10 target_caught_up
replayed=$(($(nginx_requests target) - target0))
lab_wait_exit "$(lab_pid stat-copy)" 10
lab_wait_exit "$(lab_pid stat-intercept)" 10
echo "  load: $(awk '/^Requests\/sec:/ { print $2 }' "$LAB_DIR/wrk.out") req/s ($mode), $replayed requests replayed; load average $(cut -d' ' -f1-3 /proc/loadavg)"
for name in copy intercept; do
	calls=$(awk -F, '/raw_syscalls/ { print $1 }' "$LAB_DIR/stat-$name.csv")
	echo "  doppel-$name: ${calls:-?} system calls, $(awk -v c="${calls:-0}" -v r="$replayed" 'BEGIN { if (r) printf "%.1f", c / r; else printf "-" }') per replayed request"
done
for name in copy intercept; do
	echo "  -- doppel-$name: self time by object (cpu-clock samples)"
	perf report -q -i "$LAB_DIR/perf-$name.data" --no-children --sort dso --stdio \
		-g none 2>/dev/null | sed -e '/^$/d' -e 's/^/    /' | head -n 6
	echo "  -- doppel-$name: top symbols by self time"
	perf report -q -i "$LAB_DIR/perf-$name.data" --no-children --sort dso,sym --stdio \
		-g none --percent-limit 0.8 2>/dev/null | sed -e '/^$/d' -e 's/^/    /' | head -n 22
	echo "  -- doppel-$name: its own code, top symbols (share of all its samples)"
	perf report -q -i "$LAB_DIR/perf-$name.data" --no-children --dsos "doppel-$name" \
		--sort sym --stdio -g none 2>/dev/null | sed -e '/^$/d' -e 's/^/    /' | head -n 12
done
