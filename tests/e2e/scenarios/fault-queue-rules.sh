#!/usr/bin/env bash
# Fault under load (nfqueue): the intercept's queue rules removed while it
# runs, for FAULT_CUT_SECONDS (default 5), then installed again. Fail
# closed: the target's answers are no longer queued, and the assistant
# (forwarding off) drops them: not one reaches a real client, checked at
# the client. Judged: that, and before and after, every request.
. "$(dirname "$0")/../lib.sh"
. "$E2E_DIR/faults.sh"
scenario_begin fault-queue-rules "$1"
compare_allow missing "answers that passed while the queue rules were gone are lost"
[ "$SOURCE" = nfqueue ] || skip "queue rules exist with --source nfqueue only"
fault_begin

cut=${FAULT_CUT_SECONDS:-5}
load_start during $((FAULT_SECONDS + cut))
sleep 2
intercept_rules_remove || fail "doppel-rules remove failed"
rules_gone || fail "rules still there after doppel-rules remove"
sleep "$cut"
client_clean
intercept_rules 80 || fail "doppel-rules install failed"
RECOVERY_MS=$(recovery_probe 90) ||
	fail "no request replayed within 90 s of the fault's end: $(copy_summary copy)"
load_wait during
copy_idle copy 90 || fail "sessions still active after the fault: $(copy_summary copy)"

fault_end
lab_stop copy || fail "doppel-copy exited with status $? on SIGTERM"
client_clean
pass "rules gone ${cut} s, no answer reached a client: $(fault_report)"
