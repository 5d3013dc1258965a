# shellcheck shell=bash
# lib.sh — what every e2e scenario uses: the lab (lab.sh), its servers
# (servers.sh), the daemons (daemons.sh), and the scenario's verdict.
#
# A scenario is tests/e2e/scenarios/NAME.sh SOURCE (SOURCE = nfqueue | pcap,
# the intercept's response source). It prints exactly one verdict line,
#   PASS NAME.SOURCE: <what was measured>
#   FAIL NAME.SOURCE: <what went wrong>
#   SKIP NAME.SOURCE: <why>
# plus indented diagnostics, and tears its lab down whatever happens.
#
# Environment: E2E_BUILD (directory of the daemons, default build),
# E2E_KEEP (copy a failed scenario's lab directory there: logs, stats, captures).

E2E_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
E2E_ROOT=$(cd "$E2E_DIR/../.." && pwd)
E2E_BUILD=${E2E_BUILD:-build}
case $E2E_BUILD in /*) ;; *) E2E_BUILD=$E2E_ROOT/$E2E_BUILD ;; esac
COPY_BIN=$E2E_BUILD/doppel-copy
ICPT_BIN=$E2E_BUILD/doppel-intercept
REPORT_BIN=$E2E_BUILD/doppel-compare-report
RULES_BIN=$E2E_ROOT/nft/doppel-rules
export PATH=$PATH:/usr/sbin:/sbin

# shellcheck source=lab.sh
. "$E2E_DIR/lab.sh"
# shellcheck source=servers.sh
. "$E2E_DIR/servers.sh"
# shellcheck source=daemons.sh
. "$E2E_DIR/daemons.sh"

# --- verdicts ---------------------------------------------------------------

pass() {
	compare_judge
	echo "PASS $SCENARIO: $*$COMPARE_FIGURES"
	exit 0
}
skip() { echo "SKIP $SCENARIO: $*"; exit 0; }

# fail WHY: the verdict, then what the daemons said, indented.
fail() {
	echo "FAIL $SCENARIO: $*"
	scenario_diagnostics | sed 's/^/    /'
	exit 1
}

# check WHY CMD...: fail with WHY unless CMD succeeds.
check() {
	local why=$1
	shift
	"$@" || fail "$why"
}

scenario_diagnostics() {
	local f
	[ -n "${LAB_DIR:-}" ] || return 0
	# What the scenario measured on the way (FAIL_CONTEXT), for a failure
	# seen only in CI's output.
	[ -z "${FAIL_CONTEXT:-}" ] || echo "context: $FAIL_CONTEXT"
	for f in "$LAB_DIR"/*.json; do
		[ -e "$f" ] && echo "$(basename "$f"): $(tr -d '\n' <"$f")"
	done
	for f in "$LAB_DIR"/*.diff.jsonl; do
		[ -s "$f" ] || continue
		echo "--- first lines of $(basename "$f")"
		head -n 3 "$f"
	done
	for f in "$LAB_DIR"/copy*.log "$LAB_DIR"/intercept.log "$LAB_DIR"/rules.log; do
		[ -s "$f" ] || continue
		echo "--- last lines of $(basename "$f")"
		tail -n 12 "$f"
	done
}

# --- the comparison of every scenario (daemons.sh, compare_auto) ------------

# What a scenario says of its legitimate differences (none by default: its
# online and target servers are identical), each with its reason:
#   compare_allow KIND WHY    KIND (status, body, missing, malformed) may
#                             occur any number of times;
#   compare_allow_at_most N WHY  at most N differences of the other kinds;
#   compare_expect_none WHY   no session can be compared here (the intercept
#                             gives no answer bytes): none may be.
compare_allow() { COMPARE_ALLOWED="${COMPARE_ALLOWED:-} $1"; COMPARE_WHY+="${COMPARE_WHY:+; }$1: $2"; }
compare_allow_at_most() { COMPARE_AT_MOST=$1; COMPARE_WHY+="${COMPARE_WHY:+; }at most $1: $2"; }
compare_expect_none() { COMPARE_NONE_WHY=$1; }

# compare_judge: for every doppel-copy that compare_auto turned comparison on
# for, stopped first if still running (its last statistics written): fail
# unless it compared at least one pair and found no difference (status, body,
# missing, malformed): online and target are identical. A partial pair (a
# lost summary, an answer packet cut by --route-payload) is no difference.
# Sets COMPARE_FIGURES, for the verdict line.
compare_judge() {
	local name req same part differ kind n
	local -A got
	COMPARE_FIGURES=''
	[ -s "${LAB_DIR:-/nonexistent}/compare-auto" ] || return 0
	for name in $(cat "$LAB_DIR/compare-auto"); do
		if lab_alive "$(lab_pid "$name")"; then
			lab_stop "$name" || fail "doppel-copy ($name) exited with status $? on SIGTERM"
		fi
		req=$(stats_get "$name" compare_requests) same=$(stats_get "$name" compare_same)
		got[status]=$(stats_get "$name" compare_different_status)
		got[body]=$(stats_get "$name" compare_different_body)
		got[missing]=$(stats_get "$name" compare_missing)
		got[malformed]=$(stats_get "$name" compare_malformed)
		part=$(stats_get "$name" compare_partial)
		COMPARE_FIGURES+="; compared${name:+ ($name)} ${req:-?}: ${same:-?} same, ${got[status]:-?} status, ${got[body]:-?} body, ${got[missing]:-?} missing, ${got[malformed]:-?} malformed, ${part:-?} partial"
		if [ -n "${COMPARE_NONE_WHY:-}" ]; then
			[ "${req:-0}" = 0 ] || fail "--compare ($name) compared requests, expected none (${COMPARE_NONE_WHY})${COMPARE_FIGURES}"
			continue
		fi
		[ "${req:-0}" -gt 0 ] || fail "--compare ($name) compared no request${COMPARE_FIGURES}"
		differ=0
		for kind in status body missing malformed; do
			case " ${COMPARE_ALLOWED:-} " in *" $kind "*) continue ;; esac
			n=${got[$kind]:-0}
			differ=$((differ + n))
		done
		[ "$differ" -le "${COMPARE_AT_MOST:-0}" ] ||
			fail "identical online and target servers, yet --compare ($name) found $differ differences${COMPARE_WHY:+ (allowed: $COMPARE_WHY)}${COMPARE_FIGURES}"
	done
	[ -z "${COMPARE_WHY:-}" ] || COMPARE_FIGURES+=" (allowed: $COMPARE_WHY)"
	[ -z "${COMPARE_NONE_WHY:-}" ] || COMPARE_FIGURES+=" (none expected: $COMPARE_NONE_WHY)"
}

# scenario_begin NAME SOURCE: check we can run, then start a lab (not built
# yet). SOURCE "none": a scenario without the daemons.
scenario_begin() {
	SCENARIO=$1.$2
	[ "$LAB_FAMILY" = 6 ] && SCENARIO=$SCENARIO.ipv6
	SOURCE=$2
	case $SOURCE in nfqueue | pcap | none) ;; *) echo "FAIL $SCENARIO: unknown source '$SOURCE'"; exit 1 ;; esac
	[ "$(id -u)" = 0 ] || skip "needs root (network namespaces, raw sockets)"
	local tool
	for tool in ip nft iptables ss nginx redis-server redis-cli redis-benchmark wrk curl python3; do
		command -v "$tool" >/dev/null 2>&1 || fail "$tool is not installed (scripts/deps.sh check)"
	done
	[ "$SOURCE" = none ] && { lab_init; return; }
	[ -x "$COPY_BIN" ] || fail "$COPY_BIN is missing (make all)"
	[ -x "$ICPT_BIN" ] || fail "$ICPT_BIN is missing (make all)"
	[ "$SOURCE" != nfqueue ] || [ -x "$RULES_BIN" ] || fail "$RULES_BIN is missing"
	lab_init
}

# --- the common HTTP set-up ---------------------------------------------------

# http_lab TARGET_PORT [online2]: lab, nginx on online:80 (and online2:80),
# nginx on target:80 and :8080, intercept for TARGET_PORT.
http_lab() {
	lab_build "${2:-}" || fail "could not build the lab"
	nginx_start online "$NS_ONLINE" "$ADDR_ONLINE" 80 || fail "nginx did not start in online"
	if [ "${2:-}" = online2 ]; then
		nginx_start online2 "$NS_ONLINE2" "$ADDR_ONLINE2" 80 || fail "nginx did not start in online2"
	fi
	nginx_start target "$NS_TARGET" "$ADDR_TARGET" 80 8080 || fail "nginx did not start in target"
	intercept_start "$SOURCE" "$1" || fail "doppel-intercept did not start ($SOURCE)"
}

# http_copy NAME NS TARGET_PORT [ARGS...]: doppel-copy replaying port 80 of
# NS to the target's TARGET_PORT.
http_copy() {
	local name=$1 ns=$2 port=$3
	shift 3
	copy_start "$name" "$ns" -x "80-$(lab_host "$ADDR_TARGET"):$port" "$@" || fail "$name did not start"
}

# client_run SECONDS CMD...: a real client in the client namespace, bounded.
client_run() {
	local secs=$1
	shift
	in_ns "$NS_CLIENT" timeout "$secs" "$@"
}

# wrk_paced SECONDS CONNECTIONS URL [PACE_MS]: wrk, each connection sending
# a request every PACE_MS (default 2), every URI unique (paced.lua).
wrk_paced() {
	client_run $(($1 + 20)) env WRK_PACE_MS="${4:-2}" wrk -t1 -c"$2" -d"$1s" \
		-s "$E2E_DIR/paced.lua" "$3" >>"$LAB_DIR/wrk.out" 2>&1 ||
		fail "wrk to $3 failed: $(tail -n 3 "$LAB_DIR/wrk.out")"
}

# curl_each N URL: N requests, one connection each (Connection: close).
curl_each() {
	client_run 120 curl -s -H 'Connection: close' "$2?n=[1-$1]" >/dev/null ||
		fail "curl: $1 requests to $2 did not all succeed"
}

# curl_keepalive N URL: N requests on one kept-alive connection.
curl_keepalive() {
	client_run 120 curl -s "$2?k=[1-$1]" >/dev/null ||
		fail "curl: $1 kept-alive requests to $2 did not all succeed"
}

# --- waiting for the replay, and judging it ---------------------------------

# Requests logged by the online hosts named in $ONLINE_HOSTS (default online).
online_requests() {
	local h n=0
	for h in ${ONLINE_HOSTS:-online}; do
		n=$((n + $(nginx_requests "$h" "${1:-.}")))
	done
	echo $n
}

online_fingerprint() {
	local h
	for h in ${ONLINE_HOSTS:-online}; do nginx_fingerprint "$h" "${1:-.}"; done | sort
}

target_caught_up() { [ "$(nginx_requests target "${1:-.}")" -ge "$(online_requests "${1:-.}")" ]; }

# http_settle SECONDS COPY... : wait until the target has logged as many
# requests as the online hosts and every copy daemon is idle.
http_settle() {
	local secs=$1 name
	shift
	wait_until "$secs" target_caught_up
	for name in "$@"; do copy_idle "$name" 20; done
}

# judge_missing_kept [REGEX]: the online log lines (client port included)
# of the requests the target did not log, in the kept lab directory, so a
# failed run says which connections lost them.
judge_missing_kept() {
	local h
	comm -23 <(online_fingerprint "${1:-.}") <(nginx_fingerprint target "${1:-.}") |
		sort -u >"$LAB_DIR/judge-missing.txt"
	for h in ${ONLINE_HOSTS:-online}; do
		awk 'NR == FNR { miss[$0] = 1; next } ($5 " " $6 " " $7 " " $8) in miss' \
			"$LAB_DIR/judge-missing.txt" "$LAB_DIR/$h/access.log"
	done >"$LAB_DIR/judge-missing-online.log"
}

# http_judge [REGEX]: fail unless target and online logged the same requests
# (method, URI, status, bytes read), one for one. Sets JUDGED to their number.
http_judge() {
	local online target missing extra
	online=$(online_requests "${1:-.}")
	target=$(nginx_requests target "${1:-.}")
	[ "$online" -gt 0 ] || fail "no request reached online: the client traffic failed"
	if [ "$target" != "$online" ] || ! diff -q <(online_fingerprint "${1:-.}") \
		<(nginx_fingerprint target "${1:-.}") >/dev/null; then
		missing=$(comm -23 <(online_fingerprint "${1:-.}") <(nginx_fingerprint target "${1:-.}") | wc -l)
		extra=$(comm -13 <(online_fingerprint "${1:-.}") <(nginx_fingerprint target "${1:-.}") | wc -l)
		judge_missing_kept "${1:-.}"
		fail "online served $online requests, target $target ($missing missing, $extra unexpected)"
	fi
	JUDGED=$online
}

# client_clean: fail if the client saw a packet of the replay (a packet from
# a host other than online, or any RST).
client_clean() {
	local counters
	counters=$(lab_client_counters)
	[ "$counters" = "0 0" ] ||
		fail "the client namespace received stray packets (from hosts other than online: ${counters% *}; RSTs: ${counters#* }; senders: $(lab_client_senders))"
}

# copy_stopped_clean NAME: stop copy daemon NAME; fail unless it exited 0
# with no failed session, and the client saw nothing of the replay.
copy_stopped_clean() {
	lab_stop "$1" || fail "doppel-copy ($1) exited with status $? on SIGTERM"
	[ "$(stats_get "$1" sessions_failed)" = 0 ] || fail "sessions failed: $(copy_summary "$1")"
	client_clean
}

# http_mixed_traffic: wrk (2 kept-alive connections, 2 s) then 50 one-shot
# curl requests to online; the replay judged one for one, copy stopped clean.
http_mixed_traffic() {
	wrk_paced 2 2 "http://$HOST_ONLINE/"
	curl_each 50 "http://$HOST_ONLINE/"
	http_settle 60 copy
	http_judge
	copy_stopped_clean copy
}
