#!/usr/bin/env bash
# Fault under load: the target's server (nginx) stopped for
# FAULT_CUT_SECONDS (default 5) and started again, with its access log kept.
# While it is down the target's kernel resets the replayed connections:
# those sessions end (counted), and the requests sent meanwhile cannot be
# served by anyone. Judged: before and after, every request; the resets
# never reach a real client; memory back near its level.
. "$(dirname "$0")/../lib.sh"
. "$E2E_DIR/faults.sh"
scenario_begin fault-target-restart "$1"
compare_allow missing "requests sent while the target is down are answered by no one"
fault_begin

cut=${FAULT_CUT_SECONDS:-5}
load_start during $((FAULT_SECONDS + cut))
sleep 2
lab_stop target || true
sleep "$cut"
# As nginx_start, but the access log is kept: it is the count.
lab_spawn target "$NS_TARGET" nginx -p "$LAB_DIR/target" -c "$LAB_DIR/target/nginx.conf" \
	-e "$LAB_DIR/target/error.log"
lab_wait_listen "$NS_TARGET" 80 10 || fail "nginx did not start again on the target"
RECOVERY_MS=$(recovery_probe 60) ||
	fail "no request replayed within 60 s of the restart: $(copy_summary copy)"
load_wait during
copy_idle copy 90 || fail "sessions still active after the fault: $(copy_summary copy)"

fault_end
lab_stop copy || fail "doppel-copy exited with status $? on SIGTERM"
client_clean
pass "server down ${cut} s: $(fault_report)"
