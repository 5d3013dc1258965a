#!/usr/bin/env bash
# A soak (`make soak`; not in CI): SOAK_SECONDS (default 1800) of steady
# real load to online, replayed through both daemons (E2E_BUILD: the
# sanitizer build build/san or the release build build). Both daemons' RSS
# is sampled every SOAK_SAMPLE seconds (default 10) into $LAB_DIR/rss.tsv.
#
# Judged: every request arrived (the servers' own logs, one for one); RSS
# flat after warm-up: the last sample of each daemon within SOAK_GROWTH_KB
# (default 4096) of its sample at the end of the warm-up, the first
# SOAK_WARMUP_PERCENT (default 10) of the run; both daemons
# exit 0 on SIGTERM (a sanitizer report or a leak at exit fails them).
# The channel is the lab's: TLS 1.3 with a pre-shared key (LAB_CHANNEL=plain
# for plain text, tests/e2e/daemons.sh).
# With the sanitizer build, give ASAN_OPTIONS=quarantine_size_mb=4 and
# SOAK_WARMUP_PERCENT=50 (as tests/soak/run.sh does): ASan keeps freed
# memory in a quarantine (256 MB by default) that grows RSS steadily until
# it is full; at 16 MB, doppel-copy's filled in about 10 minutes here and
# doppel-intercept's (it frees less) was still filling after 25.
#   tests/soak/steady.sh [nfqueue|pcap]
. "$(dirname "$0")/../e2e/lib.sh"
. "$E2E_DIR/faults.sh"
scenario_begin soak "${1:-nfqueue}"
secs=${SOAK_SECONDS:-1800}
every=${SOAK_SAMPLE:-10}
growth=${SOAK_GROWTH_KB:-4096}
warmup=${SOAK_WARMUP_PERCENT:-10}

http_lab 80
http_copy copy "$NS_ONLINE" 80
load_start soak "$secs"
started=$(now_ms)
printf 'seconds\tcopy_kb\tintercept_kb\n' >"$LAB_DIR/rss.tsv"
warm_copy="" warm_icpt=""
while [ $(($(now_ms) - started)) -lt $((secs * 1000)) ]; do
	sleep "$every"
	t=$((($(now_ms) - started) / 1000))
	c=$(rss_kb copy) i=$(rss_kb intercept)
	printf '%s\t%s\t%s\n' "$t" "$c" "$i" >>"$LAB_DIR/rss.tsv"
	if [ -z "$warm_copy" ] && [ "$t" -ge $((secs * warmup / 100)) ]; then
		warm_copy=$c warm_icpt=$i
	fi
done
load_wait soak
wait_until 120 target_caught_up /soak/
http_judge /soak/
copy_idle copy 60 || fail "sessions still active after the load: $(copy_summary copy)"
end_copy=$(rss_kb copy) end_icpt=$(rss_kb intercept)
[ "$end_copy" -le $((warm_copy + growth)) ] ||
	fail "doppel-copy's RSS grew from $warm_copy KiB after warm-up to $end_copy KiB"
[ "$end_icpt" -le $((warm_icpt + growth)) ] ||
	fail "doppel-intercept's RSS grew from $warm_icpt KiB after warm-up to $end_icpt KiB"
lab_stop copy || fail "doppel-copy exited with status $? on SIGTERM"
lab_stop intercept || fail "doppel-intercept exited with status $? on SIGTERM"
client_clean
[ -n "${SOAK_KEEP:-}" ] && cp "$LAB_DIR/rss.tsv" "$SOAK_KEEP"
pass "$secs s, $JUDGED of $JUDGED requests replayed; RSS copy $warm_copy KiB after warm-up, $end_copy KiB at the end; intercept $warm_icpt -> $end_icpt KiB; $(copy_summary copy)"
