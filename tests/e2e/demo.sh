#!/usr/bin/env bash
# make demo: build the lab, send ~30 s of real HTTP traffic to the online
# nginx, replay it live to the target's nginx with doppel-copy and
# doppel-intercept, show the progress every second, then say what arrived.
#
# Environment: DEMO_SECONDS (traffic time, default 30), DEMO_SOURCE
# (intercept source: nfqueue, the default, or pcap), E2E_BUILD.
set -uo pipefail
. "$(dirname "$0")/lib.sh"
SCENARIO=demo
seconds=${DEMO_SECONDS:-30}
SOURCE=${DEMO_SOURCE:-nfqueue}
# A demo that goes wrong keeps its lab's logs and statistics here.
E2E_KEEP=${E2E_KEEP:-$E2E_ROOT/build/demo-logs}

if [ -t 1 ]; then
	bold=$(printf '\033[1m') dim=$(printf '\033[2m') green=$(printf '\033[32m')
	red=$(printf '\033[31m') cyan=$(printf '\033[36m') reset=$(printf '\033[0m')
else
	bold='' dim='' green='' red='' cyan='' reset=''
fi

# 1234567 -> 1,234,567
num() { echo "${1:-0}" | sed -e ':a' -e 's/\([0-9]\)\([0-9]\{3\}\)\($\|,\)/\1,\2\3/' -e 'ta'; }

die() { echo "${red}demo: $*${reset}" >&2; exit 1; }

[ "$(id -u)" = 0 ] || die "needs root: it builds network namespaces and sends raw packets (sudo make demo)"
for tool in ip nft iptables ss nginx wrk curl python3; do
	command -v "$tool" >/dev/null 2>&1 || die "$tool is not installed (scripts/deps.sh demo)"
done
[ -x "$COPY_BIN" ] && [ -x "$ICPT_BIN" ] || die "the daemons are not built (make all)"

cat <<EOF

${bold}doppel demo${reset} — real HTTP traffic, replayed live to a test server

  ${cyan}client${reset} $ADDR_CLIENT ── wrk + curl ──► ${cyan}online${reset} $ADDR_ONLINE:80 (nginx, production)
                                            │ doppel-copy captures and replays each session
                                            ▼
  ${cyan}assistant${reset} $ADDR_ASSIST ◄── answers ─── ${cyan}target${reset} $ADDR_TARGET:80 (nginx, under test)
  doppel-intercept ($SOURCE) swallows the answers and feeds their headers back to doppel-copy
  over TLS 1.3 with a pre-shared key (the daemons refuse plain text between hosts unless told)

  ${dim}Each host is a network namespace on this machine; nothing leaves it.${reset}

EOF

lab_init
printf '  building the lab ... '
lab_build >/dev/null || die "could not build the lab"
nginx_start online "$NS_ONLINE" "$ADDR_ONLINE" 80 >/dev/null || die "nginx did not start in online"
nginx_start target "$NS_TARGET" "$ADDR_TARGET" 80 >/dev/null || die "nginx did not start in target"
intercept_start "$SOURCE" 80 >"$LAB_DIR/start.out" || die "doppel-intercept did not start: $(cat "$LAB_DIR/start.out")"
copy_start copy "$NS_ONLINE" -x "80-$ADDR_TARGET:80" >"$LAB_DIR/start.out" ||
	die "doppel-copy did not start: $(cat "$LAB_DIR/start.out")"
echo "${green}ready${reset}"
echo "  traffic for ${seconds} s: wrk (8 kept-alive connections, a request every 5 ms each)"
echo "  and curl (10 new connections a second)"
echo

# The traffic, bounded in time and count.
in_ns "$NS_CLIENT" timeout $((seconds + 20)) env WRK_PACE_MS=5 wrk -t1 -c8 -d"${seconds}s" \
	-s "$E2E_DIR/paced.lua" "http://$ADDR_ONLINE/" >"$LAB_DIR/wrk.out" 2>&1 &
wrk_pid=$!
in_ns "$NS_CLIENT" timeout $((seconds + 20)) curl -s --rate 10/s -H 'Connection: close' \
	"http://$ADDR_ONLINE/page?n=[1-$((seconds * 10))]" >/dev/null 2>&1 &
curl_pid=$!

progress() {
	local elapsed=$1 online target pct
	online=$(nginx_requests online) target=$(nginx_requests target)
	# The target may log a request a moment before online does: cap at 100.
	pct=$(awk -v o="$online" -v t="$target" 'BEGIN { p = o ? 100 * t / o : 100; if (p > 100) p = 100; printf "%.1f", p }')
	printf '  %3ss | online %8s req | target %8s req %5s%% | sessions %5s started %5s done | retransmissions %s' \
		"$elapsed" "$(num "$online")" "$(num "$target")" "$pct" \
		"$(num "$(stats_get copy sessions_started)")" "$(num "$(stats_get copy sessions_completed)")" \
		"$(num "$(stats_get copy retransmissions)")"
}

# One line, rewritten every second (every 5 s when not on a terminal).
elapsed=0
settle_left=20
traffic_end_stats=
while :; do
	sleep 1
	elapsed=$((elapsed + 1))
	if [ -t 1 ]; then
		printf '\r%s\033[K' "$(progress $elapsed)"
	elif [ $((elapsed % 5)) = 0 ]; then
		progress $elapsed
		echo
	fi
	lab_alive "$wrk_pid" || lab_alive "$curl_pid" && continue
	[ -n "$traffic_end_stats" ] || traffic_end_stats=$(stats_mtime copy)
	# Traffic done: wait for the replay to catch up, 20 s at most, judged on
	# statistics written since (a file from before may miss the last session).
	if target_caught_up && [ "$(stats_mtime copy)" != "$traffic_end_stats" ] &&
		stats_is copy sessions_active 0; then
		break
	fi
	settle_left=$((settle_left - 1))
	[ $settle_left -gt 0 ] || break
done
[ -t 1 ] && printf '\r%s\033[K\n' "$(progress $elapsed)"
wait "$wrk_pid" "$curl_pid" 2>/dev/null

lab_stop copy >/dev/null
lab_stop intercept >/dev/null
online=$(nginx_requests online)
target=$(nginx_requests target)
matched=$(comm -12 <(nginx_fingerprint online) <(nginx_fingerprint target) | wc -l)
fidelity=$(awk -v o="$online" -v m="$matched" 'BEGIN { printf "%.2f", o ? 100 * m / o : 0 }')
counters=$(lab_client_counters)
colour=$green
[ "$matched" = "$online" ] && [ "$target" = "$online" ] || colour=$red

line() { printf '  %-34s %s\n' "$1" "$2"; }
echo
echo "${bold}  ── what the servers say ─────────────────────────────────────${reset}"
line "requests served by online" "$(num "$online")"
line "requests served by the target" "$(num "$target")"
line "fidelity (same method, URI, bytes)" "${colour}${bold}${fidelity}%${reset} ($(num "$matched") of $(num "$online") matched one for one)"
echo "${bold}  ── what doppel says ─────────────────────────────────────────${reset}"
# How the sessions that did not close cleanly ended (ended_<reason> keys).
endings=$(tr ',{}' '\n\n\n' <"$LAB_DIR/copy.json" | sed -n 's/^ *"ended_\([a-z_]*\)": *\([1-9][0-9]*\)$/\1 \2/p' |
	grep -v '^closed ' | tr '\n' ',' | sed -e 's/,$//' -e 's/,/, /g')
line "sessions" "$(num "$(stats_get copy sessions_started)") started, $(num "$(stats_get copy sessions_completed)") completed, $(num "$(stats_get copy sessions_failed)") failed${endings:+ ($endings)}"
line "packets replayed" "$(num "$(stats_get copy packets_sent)") ($(num "$(stats_get copy bytes_replayed)") bytes of requests)"
line "retransmissions" "$(num "$(stats_get copy retransmissions)")"
line "answers intercepted" "$(num "$(stats_get intercept summaries_routed)") summaries routed back to doppel-copy"
line "packets the real client saw" "$(num "${counters% *}") from the replay, $(num "${counters#* }") RSTs"
echo
if [ "$colour" = "$green" ]; then
	echo "  ${green}${bold}Every request the real clients made reached the target.${reset}"
	echo "  ${dim}Tearing the lab down.${reset}"
else
	echo "  ${red}${bold}Not every request reached the target.${reset} The lab's logs and statistics"
	echo "  are kept in $E2E_KEEP."
	exit 1
fi
