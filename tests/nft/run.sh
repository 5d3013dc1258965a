#!/usr/bin/env bash
# tests/nft/run.sh — nft/doppel-rules and the nfqueue source against the
# running kernel, inside network namespaces this script creates.
#
#   assistant ns  a: 198.18.5.1/24 (va) ─── veth ─── t: 198.18.5.2/24 (vt)  target ns
#
# The "target" sends TCP segments from port 8080 (a raw socket, a bounded
# count) to the assistant, as a target's responses would come. It tests:
#   print_*            the printed rules: nft rulesets equal nft/*.nft with
#                      their defines expanded; iptables-restore input
#   args_*             bad arguments refused (exit 2, a message naming them)
#   backend_auto       the backend the helper picks is the one the kernel
#                      allows (here: no nft queue expression -> iptables)
#   backend_nft_refused  --backend nft on a kernel without the nft queue
#                      expression fails clearly and leaves nothing
#   install_* / idempotent / remove_*  what is installed (iptables-save,
#                      nft list ruleset), twice is once, remove leaves what
#                      was there before and nothing of ours
#   fail_closed_*      with the rule and NO listener the segments are
#                      dropped: counted at priority -400 (before the rule),
#                      never at input (assistant) or on the wire (target)
#   nfqueue_*          doppel's nfqueue source (tests/nft/nfq_listen.c over
#                      intercept/source/source_nfqueue.c) receives every segment,
#                      parsed, and the kernel drops them after its verdicts;
#                      losses (ENOBUFS, queue full) are counted exactly;
#                      GSO super-packets come whole
#   intercept_daemon_nfqueue  the same through build/doppel-intercept (its
#                      statistics), when it has been built
#   tunnel_*           nft/doppel-tunnel: see tests/nft/tunnel_tests.sh
#   vm_tunnel_*        its ipip, gre, fou endpoints in a qemu VM (tunnel_vm.sh)
#   vm_replay_*, vm_mirror_*  in the same VM boot, whole replays with
#                      build/'s daemons through those tunnels and from
#                      gretap, ERSPAN II/III, GENEVE and nested mirrors
#                      (replay_vm_tests.sh)
#   vm_nft_*           the nftables backend (table inet doppel, queue ...
#                      fanout), which this kernel refuses, in a qemu VM with
#                      Debian's kernel (tests/nft/vm.sh, vm_tests.sh)
# Needs root (namespaces, rules); SKIPs without it.
set -uo pipefail
cd "$(dirname "$0")/../.." || exit 1
root=$PWD
helper=$root/nft/doppel-rules

if [ "$(id -u)" != 0 ]; then
	echo "SKIP nft: needs root (network namespaces and rules)"
	exit 0
fi
for tool in ip nft iptables iptables-save ip6tables-save python3 cc pkg-config; do
	if ! command -v $tool >/dev/null 2>&1; then
		echo "SKIP nft: $tool not installed (scripts/deps.sh check)"
		exit 0
	fi
done

# shellcheck source=tests/nft/lib.sh
. "$root/tests/nft/lib.sh"

# --- printed rules ----------------------------------------------------------

test_print_templates() {
	local mode file addr expected
	for mode in assistant target; do
		file=nft/doppel-$mode.nft addr=""
		[ $mode = assistant ] && addr="--addr 198.18.0.2"
		# shellcheck disable=SC2086
		expected=$(sed -n '/^table/,$p' "$file" |
			sed 's/\$TARGET_ADDR/198.18.0.2/; s/\$TARGET_PORT/80/; s/\$QUEUES/0-3/')
		# shellcheck disable=SC2086
		if [ "$("$helper" print --backend nft --mode $mode --port 80 --queues 0-3 $addr)" = "$expected" ]; then
			pass "print_nft_$mode"
		else
			fail "print_nft_$mode" "helper's ruleset differs from $file"
		fi
	done
}

test_print_iptables() {
	local out
	out=$("$helper" print --backend iptables --mode assistant --port 8080 --addr 198.18.5.2 --queues 2-5)
	if grep -qx -- '-A DOPPEL -p tcp -s 198.18.5.2 --sport 8080 -j NFQUEUE --queue-balance 2:5 --queue-cpu-fanout' <<<"$out" &&
		grep -qx -- '-I PREROUTING 1 -j DOPPEL' <<<"$out" && ! grep -q ip6tables <<<"$out" &&
		! grep -q bypass <<<"$out"; then
		pass print_iptables_assistant
	else
		fail print_iptables_assistant "unexpected: $out"
	fi
	out=$("$helper" print --backend iptables --mode target --port 443 --queues 7)
	if [ "$(grep -c -- '-A DOPPEL -p tcp --sport 443 -j NFQUEUE --queue-num 7$' <<<"$out")" = 2 ] &&
		[ "$(grep -c -- '-I OUTPUT 1 -j DOPPEL' <<<"$out")" = 2 ]; then
		pass print_iptables_target_both_families
	else
		fail print_iptables_target_both_families "unexpected: $out"
	fi
	out=$("$helper" print --backend nft --mode assistant --port 80 --addr 2001:db8::7 --queues 1)
	if grep -q 'ip6 saddr 2001:db8::7 tcp sport 80 queue num 1$' <<<"$out"; then
		pass print_nft_ipv6_single_queue
	else
		fail print_nft_ipv6_single_queue "unexpected: $out"
	fi
	# --spread hash: the kernel's address hash instead of the CPU.
	local hashed spread
	out=$("$helper" print --backend iptables --mode assistant --port 80 --queues 0-1 --spread hash)
	hashed=$("$helper" print --backend nft --mode assistant --port 80 --queues 0-1 --spread hash)
	spread=$("$helper" print --backend nft --mode assistant --port 80 --queues 0-1)
	if [ "$(grep -c -- '-A DOPPEL -p tcp --sport 80 -j NFQUEUE --queue-balance 0:1$' <<<"$out")" = 2 ] &&
		! grep -q fanout <<<"$out" && grep -q 'tcp sport 80 queue num 0-1$' <<<"$hashed" &&
		grep -q 'tcp sport 80 queue num 0-1 fanout$' <<<"$spread"; then
		pass print_spread_hash
	else
		fail print_spread_hash "unexpected: $out"
	fi
}

test_bad_arguments() {
	local args want out rc
	while IFS='|' read -r args want; do
		# shellcheck disable=SC2086
		out=$("$helper" $args 2>&1); rc=$?
		if [ $rc = 2 ] && grep -qF -- "$want" <<<"$out"; then
			pass "args_refused: $args"
		else
			fail "args_refused: $args" "exit $rc, said: $out"
		fi
	done <<'EOF'
install --mode assistant --port 0|--port '0': not a port number
install --mode assistant --port 70000|--port '70000': not a port number
install --mode assistant --port http|--port 'http': not a port number
install --mode router --port 80|--mode 'router': not assistant or target
install --port 80|--mode is required
install --mode target|--port is required
install --mode target --port 80 --queues 4-1|--queues '4-1': the last queue is below the first
install --mode target --port 80 --queues 65536|--queues '65536': queue numbers go up to 65535
install --mode target --port 80 --queues a-b|--queues 'a-b': not a queue number
install --mode target --port 80 --queues 0-1 --spread rss|--spread 'rss': not cpu or hash
install --mode target --port 80 --addr 198.18.0.256|--addr '198.18.0.256': not an IPv4 or IPv6 address
install --mode target --port 80 --addr 2001:db8::1::2|--addr '2001:db8::1::2': not an IPv4 or IPv6 address
install --mode target --port 80 --queue-bypass|unknown argument '--queue-bypass'
install --mode target --port 80 --backend ebtables|--backend 'ebtables': not auto, nft or iptables
install --mode target --port|--port needs a value
frobnicate|unknown command 'frobnicate'
|a command is required
EOF
	[ -e "$DOPPEL_RULES_STATE" ] && fail args_leave_no_state "a refused call wrote $DOPPEL_RULES_STATE"
}

# --- install and remove -----------------------------------------------------

test_backend_auto() {
	local before out expected=iptables
	nft_queue_works && expected=nft
	before=$(snapshot "$ns_a")
	out=$(a "$helper" install --mode assistant --port 8080 --addr 198.18.5.2 2>&1)
	if grep -qx "backend $expected" "$DOPPEL_RULES_STATE" 2>/dev/null; then
		pass "backend_auto_picks_$expected"
	else
		fail "backend_auto_picks_$expected" "state: $(cat "$DOPPEL_RULES_STATE" 2>&1); said: $out"
	fi
	if [ $expected = iptables ] && a nft list table inet doppel >/dev/null 2>&1; then
		fail backend_auto_no_nft_table "table inet doppel was left by the nft attempt"
	fi
	a "$helper" remove >/dev/null
	[ "$(snapshot "$ns_a")" = "$before" ] && pass backend_auto_removed ||
		fail backend_auto_removed "rules differ after remove"
}

test_backend_nft_refused() {
	local before out rc
	if nft_queue_works; then
		echo "SKIP backend_nft_refused: this kernel has the nft queue expression"
		return
	fi
	before=$(snapshot "$ns_a")
	out=$(a "$helper" install --backend nft --mode assistant --port 8080 2>&1); rc=$?
	if [ $rc != 0 ] && grep -q "No such file or directory" <<<"$out" &&
		[ ! -e "$DOPPEL_RULES_STATE" ] && [ "$(snapshot "$ns_a")" = "$before" ]; then
		pass backend_nft_refused
	else
		fail backend_nft_refused "exit $rc, state $(ls "$DOPPEL_RULES_STATE" 2>&1), said: $out"
	fi
}

# install_mode MODE NS HOOK: install twice, check iptables-save, remove.
test_install_iptables() {
	local mode=$1 ns=$2 hook=$3 before saved
	before=$(snapshot "$ns")
	ip netns exec "$ns" "$helper" install --backend iptables --mode "$mode" --port 8080 --queues 0-3 >/dev/null &&
	ip netns exec "$ns" "$helper" install --backend iptables --mode "$mode" --port 8080 --queues 0-3 >/dev/null ||
		{ fail "install_$mode" "the helper failed"; return; }
	saved=$(ip netns exec "$ns" iptables-save -t raw)
	if [ "$(grep -c -- '-A DOPPEL -p tcp -m tcp --sport 8080 -j NFQUEUE --queue-balance 0:3 --queue-cpu-fanout$' <<<"$saved")" = 1 ] &&
		[ "$(grep -c -- "-A $hook -j DOPPEL" <<<"$saved")" = 1 ] &&
		[ "$(ip netns exec "$ns" ip6tables-save -t raw | grep -c -- '--queue-balance 0:3')" = 1 ]; then
		pass "install_${mode}_idempotent"
	else
		fail "install_${mode}_idempotent" "iptables-save: $saved"
	fi
	grep -q bypass <<<"$saved" && fail "install_${mode}_no_bypass" "a bypass option is set"
	ip netns exec "$ns" "$helper" show | grep -q "rule: $mode 8080 - 0-3" &&
		pass "show_$mode" || fail "show_$mode" "show does not list the rule"
	ip netns exec "$ns" "$helper" remove >/dev/null
	if [ "$(snapshot "$ns")" = "$before" ] && [ ! -e "$DOPPEL_RULES_STATE" ]; then
		pass "remove_${mode}_leaves_nothing"
	else
		fail "remove_${mode}_leaves_nothing" "left: $(snapshot "$ns")"
	fi
}

# Someone else's raw rules stay; one rule of two goes; then everything.
test_remove_exactly() {
	local saved
	a iptables -t raw -A PREROUTING -p udp --dport 53 -j ACCEPT
	a "$helper" install --backend iptables --mode assistant --port 8080 --addr 198.18.5.2 >/dev/null &&
	a "$helper" install --backend iptables --mode assistant --port 8443 >/dev/null ||
		{ fail remove_exactly "install failed"; return; }
	a "$helper" remove --mode assistant --port 8443 >/dev/null
	saved=$(a iptables-save -t raw)
	if grep -q -- '--sport 8080' <<<"$saved" && ! grep -q -- '--sport 8443' <<<"$saved" &&
		! a ip6tables-save -t raw | grep -q DOPPEL; then
		pass remove_one_rule
	else
		fail remove_one_rule "iptables-save: $saved"
	fi
	a "$helper" remove >/dev/null
	saved=$(a iptables-save -t raw)
	if grep -q -- '-A PREROUTING -p udp -m udp --dport 53 -j ACCEPT' <<<"$saved" &&
		! grep -q DOPPEL <<<"$saved"; then
		pass remove_keeps_foreign_rules
	else
		fail remove_keeps_foreign_rules "iptables-save: $saved"
	fi
	a iptables -t raw -D PREROUTING -p udp --dport 53 -j ACCEPT
	out=$(a "$helper" remove 2>&1) && pass remove_nothing_is_fine || fail remove_nothing_is_fine "$out"
}

test_one_mode_at_a_time() {
	local out rc
	a "$helper" install --backend iptables --mode assistant --port 8080 >/dev/null
	out=$(a "$helper" install --backend iptables --mode target --port 8080 2>&1); rc=$?
	if [ $rc = 1 ] && grep -q "one mode at a time" <<<"$out" && ! a iptables-save | grep -q "OUTPUT -j DOPPEL"; then
		pass one_mode_at_a_time
	else
		fail one_mode_at_a_time "exit $rc: $out"
	fi
	a "$helper" remove >/dev/null
}

# --- packets ----------------------------------------------------------------

# expect_counts NAME NS CHAIN WANT NS CHAIN WANT: NAME passes when both
# counters show what is wanted; else it fails with what they show (and 1).
expect_counts() {
	local name=$1 first second
	first=$(counter "$2" "$3")
	second=$(counter "$5" "$6")
	if [ "$first" = "$4" ] && [ "$second" = "$7" ]; then
		pass "$name"
	else
		fail "$name" "$3 $first, $6 $second; want $4 and $7"
		return 1
	fi
}

# With no rule the 5 segments reach the assistant's input: the counters
# see what is sent, so their zeros below mean something.
test_control() {
	counters_reset "$ns_a"
	send_tcp 5
	expect_counts control_without_rules "$ns_a" early 5 "$ns_a" input 5
}

# Rule installed, nobody on the queue: 5 seen at -400, 0 at input.
test_fail_closed_assistant() {
	a "$helper" install --mode assistant --port 8080 --addr 198.18.5.2 --queues 0-3 >/dev/null ||
		{ fail fail_closed_assistant "install failed"; return; }
	counters_reset "$ns_a"
	send_tcp 5
	expect_counts fail_closed_assistant "$ns_a" early 5 "$ns_a" input 0 || a iptables-save -t raw
	a "$helper" remove >/dev/null
}

# On the target: 5 leave the raw socket (out at -400), 0 reach the assistant.
test_fail_closed_target() {
	t "$helper" install --mode target --port 8080 >/dev/null ||
		{ fail fail_closed_target "install failed"; return; }
	counters_reset "$ns_a"
	counters_reset "$ns_t"
	send_tcp 5
	expect_counts fail_closed_target "$ns_t" out 5 "$ns_a" early 0
	t "$helper" remove >/dev/null
}

# The rule of the assistant tests: the target's segments from port 8080.
assistant_rule="--mode assistant --port 8080 --addr 198.18.5.2"

# start_queue_test NAME NS "INSTALL ARGS" FIRST LAST COUNT [PREFIX [MAXLEN]]:
# install the rule in NS and start the reader there; when either fails,
# say so as NAME's failure, undo, and return 1.
start_queue_test() {
	local name=$1 ns=$2 rule=$3
	shift 3
	# shellcheck disable=SC2086 # the rule's arguments, split on purpose
	if ! ip netns exec "$ns" "$helper" install $rule >/dev/null; then
		fail "$name" "install failed"
		return 1
	fi
	if ! listen "$ns" "$@"; then
		fail "$name" "listener not ready: $(cat "$tmp/listen.out" 2>/dev/null)"
		ip netns exec "$ns" "$helper" remove >/dev/null
		return 1
	fi
}

# name queues prefix want_hex: want_hex is the payload prefix the reader
# should print (hex of "doppel"), "" for none.
test_nfqueue_assistant() {
	local name=$1 queues=$2 prefix=$3 want_hex=$4 lines expected
	start_queue_test "$name" "$ns_a" "$assistant_rule --queues $queues" \
		"${queues%-*}" "${queues#*-}" 5 "$prefix" || return
	counters_reset "$ns_a"
	send_tcp 5
	listen_end
	lines=$(grep '^packet ' "$tmp/listen.out" | sort -k7n)
	expected=$(for i in 0 1 2 3 4; do
		echo "packet 198.18.5.2 8080 198.18.5.1 9 0x18 $((1000 + 10 * i)) 10 $((${#want_hex} / 2)) ${want_hex:-"-"}"
	done)
	if [ "$lines" = "$expected" ] && grep -q '^counters packets=5 malformed=0 lost=0 verdicts=[1-5]$' "$tmp/listen.out" &&
		[ "$(counter "$ns_a" input)" = 0 ]; then
		pass "$name"
	else
		fail "$name" "input $(counter "$ns_a" input); reader said: $(tr '\n' ';' <"$tmp/listen.out")"
	fi
	a "$helper" remove >/dev/null
}

# --queue-threads: queues 0-1 spread by CPU (the default), read by two
# threads. The segments are sent from CPU 0, then from CPU 1 (taskset):
# a veth hands a packet to the receiving namespace on the sending CPU, so
# each queue gets its five. Every segment is delivered, once, parsed, and
# each queue's own count says where it went.
test_nfqueue_threads() {
	local lines
	if [ "$(nproc)" -lt 2 ] || ! command -v taskset >/dev/null; then
		skip nfqueue_threads_two_queues "needs 2 CPUs and taskset"
		return
	fi
	start_queue_test nfqueue_threads_two_queues "$ns_a" "$assistant_rule --queues 0-1" \
		0 1 10 0 65536 2 || return
	counters_reset "$ns_a"
	t taskset -c 0 python3 "$root/tests/nft/send_tcp.py" 5 0
	t taskset -c 1 python3 "$root/tests/nft/send_tcp.py" 5 5
	listen_end
	lines=$(grep '^packet ' "$tmp/listen.out" | awk '{ print $7 }' | sort -n | tr '\n' ' ')
	if [ "$lines" = "1000 1010 1020 1030 1040 1050 1060 1070 1080 1090 " ] &&
		grep -q '^counters packets=10 malformed=0 lost=0 ' "$tmp/listen.out" &&
		grep -q '^queue 0 packets=5 lost=0$' "$tmp/listen.out" &&
		grep -q '^queue 1 packets=5 lost=0$' "$tmp/listen.out" &&
		[ "$(counter "$ns_a" input)" = 0 ]; then
		pass nfqueue_threads_two_queues
	else
		fail nfqueue_threads_two_queues "input $(counter "$ns_a" input); reader said: $(tr '\n' ';' <"$tmp/listen.out")"
	fi
	a "$helper" remove >/dev/null
}

test_nfqueue_target() {
	start_queue_test nfqueue_target "$ns_t" "--mode target --port 8080 --queues 3" 3 3 5 || return
	counters_reset "$ns_a"
	send_tcp 5
	listen_end
	if [ "$(grep -c '^packet 198.18.5.2 8080 198.18.5.1 9 0x18 ' "$tmp/listen.out")" = 5 ] &&
		grep -q '^counters packets=5 malformed=0 lost=0 ' "$tmp/listen.out" &&
		[ "$(counter "$ns_a" early)" = 0 ]; then
		pass nfqueue_target
	else
		fail nfqueue_target "assistant early $(counter "$ns_a" early); reader said: $(tr '\n' ';' <"$tmp/listen.out")"
	fi
	t "$helper" remove >/dev/null
}

# Losses are counted, exactly. The reader is stopped (SIGSTOP) while
# BURST segments arrive: its 16 MiB receive buffer holds some of them, the
# kernel drops the rest (ENOBUFS; fail closed) and counts them in
# /proc/net/netfilter/nfnetlink_queue (7th column, queue_user_dropped).
# Resumed, it reads what was kept (until its buffer is empty the kernel
# drops anything new, so the test waits for that); one more segment then
# shows the gap in the packet ids. So: packets = BURST - dropped + 1,
# lost = dropped > 0 (the kernel's count), and nothing reached the
# assistant's input.
test_nfqueue_lost() {
	local burst=100000 dropped
	start_queue_test nfqueue_lost_counted "$ns_a" "$assistant_rule --queues 5" 5 5 $((burst + 1)) || return
	counters_reset "$ns_a"
	kill -STOP "$listener_pid"
	send_tcp $burst
	dropped=$(a awk '$1 == 5 { print $7 }' /proc/net/netfilter/nfnetlink_queue)
	kill -CONT "$listener_pid"
	for _ in $(seq 300); do
		[ "$(grep -c '^packet ' "$tmp/listen.out")" -ge $((burst - ${dropped:-0})) ] && break
		sleep 0.1
	done
	send_tcp 1 $burst
	listen_end
	echo "measured: burst of $burst to a stopped reader: kernel dropped ${dropped:-?};" \
		"reader: $(grep '^counters' "$tmp/listen.out")"
	if [ -n "$dropped" ] && [ "$dropped" -gt 0 ] &&
		grep -q "^counters packets=$((burst + 1 - dropped)) malformed=0 lost=$dropped " "$tmp/listen.out" &&
		[ "$(counter "$ns_a" early)" = $((burst + 1)) ] && [ "$(counter "$ns_a" input)" = 0 ]; then
		pass nfqueue_lost_counted
	else
		fail nfqueue_lost_counted "kernel dropped ${dropped:-?}, early $(counter "$ns_a" early), input $(counter "$ns_a" input); reader: $(grep '^counters' "$tmp/listen.out")"
	fi
	a "$helper" remove >/dev/null
}

# A queue length of 1000 and a stopped reader: of a burst of 3000 the
# kernel queues 1000 and drops 2000 (queue_dropped, 6th column) without
# giving them ids; the source learns of them from the kernel's count.
test_nfqueue_queue_full() {
	local burst=3000 dropped
	start_queue_test nfqueue_queue_full_counted "$ns_a" "$assistant_rule --queues 6" 6 6 $burst 0 1000 || return
	kill -STOP "$listener_pid"
	send_tcp $burst
	dropped=$(a awk '$1 == 6 { print $6 }' /proc/net/netfilter/nfnetlink_queue)
	kill -CONT "$listener_pid"
	listen_end
	if [ "$dropped" = 2000 ] &&
		grep -q "^counters packets=1000 malformed=0 lost=2000 " "$tmp/listen.out"; then
		pass nfqueue_queue_full_counted
	else
		fail nfqueue_queue_full_counted "kernel dropped ${dropped:-?}; reader: $(grep '^counters' "$tmp/listen.out")"
	fi
	a "$helper" remove >/dev/null
}

# A segment the parser refuses is still dropped: 2 malformed between 3
# good ones; the reader delivers 3, counts 2 malformed, input sees none.
test_nfqueue_malformed() {
	start_queue_test nfqueue_malformed_dropped "$ns_a" "$assistant_rule --queues 0" 0 0 5 || return
	counters_reset "$ns_a"
	send_tcp 1 0 && send_tcp 2 1 baddoff && send_tcp 2 3
	listen_end
	if [ "$(grep -c '^packet ' "$tmp/listen.out")" = 3 ] &&
		grep -q '^counters packets=3 malformed=2 lost=0 ' "$tmp/listen.out" &&
		[ "$(counter "$ns_a" early)" = 5 ] && [ "$(counter "$ns_a" input)" = 0 ]; then
		pass nfqueue_malformed_dropped
	else
		fail nfqueue_malformed_dropped "early $(counter "$ns_a" early), input $(counter "$ns_a" input); reader: $(tr '\n' ';' <"$tmp/listen.out")"
	fi
	a "$helper" remove >/dev/null
}

# doppel-intercept itself, queues 0-1: 5 segments in, no copy daemon
# connected, so 5 summaries unrouted; nothing reaches input.
test_intercept_daemon() {
	local binary=${DOPPEL_INTERCEPT:-$root/build/doppel-intercept} pid stats
	if [ ! -x "$binary" ]; then
		echo "SKIP intercept_daemon_nfqueue: $binary not built"
		return
	fi
	a "$helper" install --mode assistant --port 8080 --addr 198.18.5.2 --queues 0-1 >/dev/null ||
		{ fail intercept_daemon_nfqueue "install failed"; return; }
	# ip netns exec execs the daemon: $! is the daemon's own pid. No copy
	# daemon connects: listening on loopback, plain text needs no option.
	ip netns exec "$ns_a" "$binary" --source nfqueue --queues 0-1 --port 36524 --bind 127.0.0.1 \
		--stats-file "$tmp/stats.json" >"$tmp/intercept.log" 2>&1 &
	pid=$!
	listener_pid=$pid
	for _ in $(seq 50); do
		grep -q "running" "$tmp/intercept.log" && break
		sleep 0.1
	done
	counters_reset "$ns_a"
	send_tcp 5
	# The summaries are counted as they are read; give the loop its turn.
	for _ in $(seq 50); do
		kill -USR1 "$pid"
		grep -q '"summaries_in": 5' "$tmp/stats.json" 2>/dev/null && break
		sleep 0.1
	done
	kill "$pid"
	wait "$pid"
	listener_pid=""
	stats=$(cat "$tmp/stats.json" 2>/dev/null)
	if grep -q '"summaries_in": 5,' <<<"$stats" && grep -q '"summaries_unrouted": 5,' <<<"$stats" &&
		grep -q '"source_lost": 0,' <<<"$stats" && [ "$(counter "$ns_a" input)" = 0 ]; then
		pass intercept_daemon_nfqueue
	else
		fail intercept_daemon_nfqueue "input $(counter "$ns_a" input); stats: $stats; log: $(tail -n 5 "$tmp/intercept.log" | tr '\n' ';')"
	fi
	a "$helper" remove >/dev/null
}

# GSO packets come whole (NFQA_CFG_F_GSO): an established stream from the
# target, its data queued once the rule is in. veth hands the target's TSO
# super-packets to the assistant as they are, so the reader sees payload
# lengths past the 1448-byte MSS; without the flag the kernel would cut
# them to MSS-sized segments before queueing. Port 8090, so that what is
# left of the stream (retransmissions, resets) meets no other test's rule
# or counter.
test_nfqueue_gso() {
	local fifo=$tmp/go big
	t python3 "$root/tests/nft/stream.py" server 198.18.5.2 8090 262144 8 &
	stream_pids=$!
	mkfifo "$fifo"
	for _ in $(seq 50); do t ss -ltn | grep -q '198.18.5.2:8090 ' && break; sleep 0.1; done
	a python3 "$root/tests/nft/stream.py" client 198.18.5.2 8090 8 <"$fifo" >"$tmp/client.out" &
	stream_pids="$stream_pids $!"
	exec 7>"$fifo"
	if ! wait_for_line "$tmp/client.out" connected; then
		fail nfqueue_gso_whole "the stream did not connect"
	elif start_queue_test nfqueue_gso_whole "$ns_a" \
		"--mode assistant --port 8090 --addr 198.18.5.2 --queues 7" 7 7 8; then
		echo go >&7
		listen_end
		big=$(awk '$1 == "packet" && $8 > 1448' "$tmp/listen.out" | wc -l)
		if [ "$big" -ge 1 ] && grep -q '^counters packets=[0-9]* malformed=0 lost=0 ' "$tmp/listen.out"; then
			pass nfqueue_gso_whole
		else
			fail nfqueue_gso_whole "$big packets past the MSS; reader: $(tr '\n' ';' <"$tmp/listen.out")"
		fi
		a "$helper" remove >/dev/null
	fi
	exec 7>&-
	for pid in $stream_pids; do kill "$pid" 2>/dev/null; wait "$pid" 2>/dev/null; done
	stream_pids=""
}

# A second reader of a bound queue is refused with a reason.
test_nfqueue_busy() {
	local out
	listen "$ns_a" 0 0 1 || { fail nfqueue_queue_busy "listener not ready"; return; }
	out=$(a "$tmp/nfq_listen" 0 0 1 100 2>&1)
	if grep -q "queue 0: bind refused" <<<"$out"; then
		pass nfqueue_queue_busy
	else
		fail nfqueue_queue_busy "second reader said: $out"
	fi
	kill "$listener_pid" 2>/dev/null
	listen_end
}

counters_install "$ns_a" && counters_install "$ns_t" ||
	{ echo "FAIL nft_setup: counter tables"; exit 1; }

test_print_templates
test_print_iptables
test_bad_arguments
test_backend_auto
test_backend_nft_refused
test_install_iptables assistant "$ns_a" PREROUTING
test_install_iptables target "$ns_t" OUTPUT
test_remove_exactly
test_one_mode_at_a_time
test_control
test_fail_closed_assistant
test_fail_closed_target
test_nfqueue_assistant nfqueue_assistant_one_queue 0 0 ""
test_nfqueue_assistant nfqueue_assistant_queues_0_3_prefix 0-3 6 646f7070656c
test_nfqueue_target
test_nfqueue_threads
test_nfqueue_malformed
test_nfqueue_busy
test_nfqueue_lost
test_nfqueue_queue_full
test_intercept_daemon
test_nfqueue_gso
# shellcheck source=tests/nft/tunnel_tests.sh
. "$root/tests/nft/tunnel_tests.sh"
test_tunnel
test_tunnel_readonly_sysctl
test_tunnel_vm

# The nft backend where the kernel has the queue expression: in a VM.
"$root/tests/nft/vm.sh" "$tmp/nfq_listen" "$tmp" | tee "$tmp/vm.out"
grep -q '^FAIL ' "$tmp/vm.out" && failures=$((failures + 1))

[ "$failures" = 0 ]
