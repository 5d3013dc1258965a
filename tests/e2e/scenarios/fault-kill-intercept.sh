#!/usr/bin/env bash
# Fault under load: doppel-intercept killed with SIGKILL while the clients'
# load runs, then started again. Measured: the requests of each phase that
# reached the target (faults.sh), how long until a new session is replayed
# again, memory before and after. Judged: before, during and after, every
# request (doppel-copy keeps its sessions while intercept is down, registers
# their routes again when it is back, and the target's retransmissions
# cover the answers lost meanwhile); the real clients never see a packet of
# the replay; both daemons' memory back near its level.
. "$(dirname "$0")/../lib.sh"
. "$E2E_DIR/faults.sh"
scenario_begin fault-kill-intercept "$1"
compare_allow missing "answers that came while intercept was down are lost"
fault_begin

load_start during "$FAULT_SECONDS"
sleep 2
lab_stop intercept KILL >/dev/null 2>&1
sleep 1
intercept_run "$SOURCE" || fail "doppel-intercept did not start again"
RECOVERY_MS=$(recovery_probe 60) ||
	fail "no request replayed within 60 s of the fault's end: $(copy_summary copy)"
load_wait during
copy_idle copy 90 || fail "sessions still active after the fault: $(copy_summary copy)"
wait_until 60 target_caught_up /during/
http_judge /during/

fault_end
lab_stop copy || fail "doppel-copy exited with status $? on SIGTERM"
client_clean
pass "$(fault_report); $(stats_get copy sessions_refused_route) refused for want of intercept, $(stats_get copy intercept_reconnects) reconnect(s)"
