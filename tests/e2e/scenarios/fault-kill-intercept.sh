#!/usr/bin/env bash
# Fault under load: doppel-intercept killed with SIGKILL while the clients'
# load runs, then started again. Measured: the requests of each phase that
# reached the target (faults.sh), how long until a new session is replayed
# again, memory before and after. Judged: before and after, every request;
# the real clients never see a packet of the replay; both daemons' memory
# back near its level. While intercept is down, the sessions in flight lose
# their answers and end, and new ones are refused (counted): the loss the
# design accepts. (Sessions surviving a restart are another piece of work:
# this scenario only measures what happens.)
. "$(dirname "$0")/../lib.sh"
. "$E2E_DIR/faults.sh"
scenario_begin fault-kill-intercept "$1"
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

fault_end
lab_stop copy || fail "doppel-copy exited with status $? on SIGTERM"
client_clean
pass "$(fault_report); $(stats_get copy sessions_refused_route) refused for want of intercept, $(stats_get copy intercept_reconnects) reconnect(s)"
