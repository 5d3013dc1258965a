# shellcheck shell=bash
# faults.sh — faults under load, measured: what the fault scenarios
# (scenarios/fault-*.sh) and `make soak` (tests/soak/run.sh) share.
#
# Each fault scenario runs three phases of real client load to online,
# every request's URI tagged with its phase so the servers' own access logs
# tell the phases apart:
#   before  load, no fault: every request must reach the target;
#   during  load while the fault happens: what reached the target is
#           reported (the loss the design accepts for that fault), not
#           judged, except where the scenario says otherwise;
#   after   load once the fault is over: every request must arrive again.
# Load is steady and real: curl on one kept-alive connection (FAULT_KA_RATE
# requests a second) and curl with one request per connection
# (FAULT_ONE_RATE a second), both --rate bounded and timeout bounded.
#
# Reported per fault: requests lost (online's count minus the target's, per
# phase), the daemons' counters, the recovery time (from the end of the
# fault until a probe request is first replayed), and each daemon's RSS
# before the fault and after recovery. Sourced after lib.sh.

FAULT_SECONDS=${FAULT_SECONDS:-6}	# length of the "during" load
FAULT_KA_RATE=${FAULT_KA_RATE:-40}
FAULT_ONE_RATE=${FAULT_ONE_RATE:-10}

# load_start PHASE SECONDS: both loads in the background.
load_start() {
	local phase=$1 secs=$2
	lab_spawn "load-ka-$phase" "$NS_CLIENT" timeout $((secs + 60)) curl -s -o /dev/null \
		--rate "$FAULT_KA_RATE/s" "http://$ADDR_ONLINE/$phase/ka?k=[1-$((secs * FAULT_KA_RATE))]"
	lab_spawn "load-one-$phase" "$NS_CLIENT" timeout $((secs + 60)) curl -s -o /dev/null \
		--rate "$FAULT_ONE_RATE/s" -H 'Connection: close' \
		"http://$ADDR_ONLINE/$phase/one?n=[1-$((secs * FAULT_ONE_RATE))]"
}

# load_wait PHASE: both loads finished (bounded by their timeout).
load_wait() {
	local name
	for name in "load-ka-$1" "load-one-$1"; do
		lab_wait_exit "$(lab_pid "$name")" 120
		lab_stop "$name" >/dev/null 2>&1
	done
}

# load_phase PHASE SECONDS: a whole phase, in the foreground.
load_phase() {
	load_start "$1" "$2"
	load_wait "$1"
}

# rss_kb NAME: the resident memory of lab process NAME, in KiB.
rss_kb() {
	awk '/^VmRSS:/ { print $2 }' "/proc/$(lab_pid "$1")/status" 2>/dev/null
}

now_ms() { date +%s%3N; }

# recovery_probe SECONDS: from now, one probe request (its own connection)
# every 0.25 s until the target logs one; prints the milliseconds from now
# to the sending of the first probe that arrived; 1 if none did.
recovery_probe() {
	local start sent=() i=0 first
	start=$(now_ms)
	while [ $(($(now_ms) - start)) -lt $(($1 * 1000)) ]; do
		sent[i]=$(now_ms)
		client_run 5 curl -s -o /dev/null -H 'Connection: close' \
			"http://$ADDR_ONLINE/probe/$i" || true
		i=$((i + 1))
		first=$(grep -m 1 -oE 'GET /probe/[0-9]+' "$LAB_DIR/target/access.log" | cut -d/ -f3)
		if [ -n "$first" ]; then
			echo $((sent[first] - start))
			return 0
		fi
		sleep 0.25
	done
	return 1
}

# phase_counts PHASE: "T of O" — requests of PHASE the target served of
# those online served.
phase_counts() {
	echo "$(nginx_requests target "/$1/") of $(nginx_requests online "/$1/")"
}

# target_open_to_clients: the target's TCP sockets with the client
# addresses that are not TIME-WAIT (what a dead replay can leave behind).
target_open_to_clients() {
	in_ns "$NS_TARGET" ss -Htn state all "( dst $ADDR_CLIENT or dst $ADDR_CLIENT2 )" |
		awk '$1 != "TIME-WAIT" && $1 != "LISTEN"' | wc -l
}

no_open_to_clients() { [ "$(target_open_to_clients)" = 0 ]; }

# fault_report: the figures every fault scenario ends its PASS line with.
fault_report() {
	printf 'before %s, during %s, after %s requests replayed; recovery %s ms; RSS copy %s -> %s KiB, intercept %s -> %s KiB; %s' \
		"$(phase_counts before)" "$(phase_counts during)" "$(phase_counts after)" \
		"$RECOVERY_MS" "$RSS_COPY_BEFORE" "$RSS_COPY_AFTER" "$RSS_ICPT_BEFORE" \
		"$RSS_ICPT_AFTER" "$(copy_summary copy)"
}

# rss_grew NAME BEFORE: NAME's RSS is more than twice BEFORE plus 16 MiB
# (sanitizer builds keep freed memory in quarantine: only a leak that
# grows with the load fails this).
rss_grew() {
	local now
	now=$(rss_kb "$1")
	[ -n "$now" ] && [ "$now" -gt $((2 * $2 + 16384)) ]
}

# fault_begin: the HTTP lab, copy, and the "before" phase, judged.
fault_begin() {
	http_lab 80
	http_copy copy "$NS_ONLINE" 80
	load_phase before 3
	http_settle 60 copy
	http_judge /before/
	RSS_COPY_BEFORE=$(rss_kb copy)
	RSS_ICPT_BEFORE=$(rss_kb intercept)
}

# fault_end: the "after" phase, judged, memory checked, copy stopped clean.
fault_end() {
	load_phase after 3
	wait_until 60 target_caught_up /after/
	http_judge /after/
	copy_idle copy 60 || fail "copy still has sessions after the load: $(copy_summary copy)"
	RSS_COPY_AFTER=$(rss_kb copy)
	RSS_ICPT_AFTER=$(rss_kb intercept)
	! rss_grew copy "$RSS_COPY_BEFORE" ||
		fail "doppel-copy's RSS grew from $RSS_COPY_BEFORE to $(rss_kb copy) KiB"
	! rss_grew intercept "$RSS_ICPT_BEFORE" ||
		fail "doppel-intercept's RSS grew from $RSS_ICPT_BEFORE to $(rss_kb intercept) KiB"
}
