#!/bin/bash
# tests/nft/vm_tests.sh — the nftables backend of nft/doppel-rules, run
# inside a qemu VM (tests/nft/vm.sh) whose kernel has the nft queue
# expression, which the CI machine's kernel lacks.
#
#   assistant ns a: 198.18.5.1/24 (va) ─── veth ─── t: 198.18.5.2/24 (vt) target ns
#
# The target runs busybox nc -l on port 8080; the assistant connects to
# it, and the target's SYN-ACKs are the responses the rules must take.
# Each result is a console line "NFTVM PASS|FAIL|SKIP name[: why]".
set -u
export DOPPEL_RULES_STATE=/run/doppel/rules.state
helper=/test/doppel-rules

pass() { echo "NFTVM PASS $1"; }
fail() { echo "NFTVM FAIL $1: $2"; }
a() { ip netns exec a "$@"; }
t() { ip netns exec t "$@"; }

ip netns add a && ip netns add t &&
	a ip link add va type veth peer name vt netns t &&
	a ip addr add 198.18.5.1/24 dev va && a ip link set va up && a ip link set lo up &&
	t ip addr add 198.18.5.2/24 dev vt && t ip link set vt up && t ip link set lo up ||
	{ fail setup "namespaces and veth"; exit 0; }

# The counters of tests/nft/counters.nft ("early", "input", "out").
counters_install() { ip netns exec "$1" nft -f /test/counters.nft; }
counters_reset() { ip netns exec "$1" nft delete table inet dpcount && counters_install "$1"; }
# The ruleset less the counter table, for before/after comparisons.
rules_of() { ip netns exec "$1" nft list ruleset | sed '/^table inet dpcount/,/^}/d'; }
counter() {
	ip netns exec "$1" nft list chain inet dpcount "$2" |
		sed -n 's/.*counter packets \([0-9]*\).*/\1/p'
}
# One connection attempt from the assistant: the target answers with a
# SYN-ACK from port 8080 (and again when the SYN is sent again within nc's
# 1 s timeout).
send_syn() { a nc -w 1 198.18.5.2 8080 </dev/null >/dev/null 2>&1; }

counters_install a && counters_install t || { fail setup "counter tables"; exit 0; }
t nc -l -p 8080 >/dev/null 2>&1 &
server=$!
trap 'kill $server 2>/dev/null' EXIT
for _ in $(seq 50); do t netstat -ltn | grep -q ':8080 ' && break; sleep 0.1; done

if a nft -c -f - >/dev/null 2>&1 <<'EOF'
table inet probe {
	chain c {
		type filter hook prerouting priority 0;
		queue num 0
	}
}
EOF
then
	pass nft_queue_expression_present
else
	fail nft_queue_expression_present "this kernel refuses nft queue: the VM is not what it should be"
	exit 0
fi

before=$(rules_of a)
out=$(a "$helper" install --mode assistant --port 8080 --addr 198.18.5.2 --queues 0-1 2>&1)
table=$(a nft list table inet doppel 2>&1)
if grep -qx "backend nft" "$DOPPEL_RULES_STATE" 2>/dev/null &&
	grep -q 'hook prerouting priority raw' <<<"$table" &&
	grep -q 'ip saddr 198.18.5.2 tcp sport 8080 queue .*0-1' <<<"$table" &&
	grep -q fanout <<<"$table" && ! grep -q bypass <<<"$table"; then
	pass nft_install_auto_picks_nft
else
	fail nft_install_auto_picks_nft "said: $out; table: $(tr '\n' ' ' <<<"$table")"
fi

a "$helper" install --mode assistant --port 8080 --addr 198.18.5.2 --queues 0-1 >/dev/null
if [ "$(a nft list table inet doppel | grep -c 'tcp sport 8080 queue')" = 1 ]; then
	pass nft_install_idempotent
else
	fail nft_install_idempotent "$(a nft list table inet doppel | tr '\n' ' ')"
fi

counters_reset a
send_syn
if [ "$(counter a early)" -ge 1 ] && [ "$(counter a input)" = 0 ]; then
	pass nft_fail_closed_assistant
else
	fail nft_fail_closed_assistant "early $(counter a early), input $(counter a input); want >= 1 and 0"
fi

counters_reset a
a /test/nfq_listen 0 1 1 10000 >/tmp/listen.out 2>&1 &
listener=$!
for _ in $(seq 100); do grep -q ready /tmp/listen.out && break; sleep 0.1; done
send_syn
wait $listener
if grep -q '^packet 198.18.5.2 8080 198.18.5.1 [0-9]* 0x12 ' /tmp/listen.out &&
	grep -q '^counters packets=1 malformed=0 lost=0 verdicts=1$' /tmp/listen.out &&
	[ "$(counter a input)" = 0 ]; then
	pass nft_nfqueue_fanout_receives
else
	fail nft_nfqueue_fanout_receives "input $(counter a input); reader: $(tr '\n' ';' </tmp/listen.out)"
fi

a "$helper" remove >/dev/null
if [ "$(rules_of a)" = "$before" ] && [ ! -e "$DOPPEL_RULES_STATE" ]; then
	pass nft_remove_leaves_nothing
else
	fail nft_remove_leaves_nothing "left: $(rules_of a | tr '\n' ' ')"
fi

before=$(rules_of t)
t "$helper" install --mode target --port 8080 --queues 3 >/dev/null
counters_reset a
counters_reset t
send_syn
table=$(t nft list table inet doppel 2>&1)
if grep -q 'hook output priority raw' <<<"$table" && grep -q 'tcp sport 8080 queue .*3' <<<"$table" &&
	[ "$(counter t out)" -ge 1 ] && [ "$(counter a early)" = 0 ]; then
	pass nft_fail_closed_target
else
	fail nft_fail_closed_target "target out $(counter t out), assistant early $(counter a early); table: $(tr '\n' ' ' <<<"$table")"
fi
t "$helper" remove >/dev/null
if [ "$(rules_of t)" = "$before" ]; then
	pass nft_remove_target
else
	fail nft_remove_target "left: $(rules_of t | tr '\n' ' ')"
fi
