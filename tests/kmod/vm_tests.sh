#!/bin/sh
# The kmod tests that run inside the qemu VM (busybox sh), as PID 1's child.
# Each prints "KMODTEST PASS name", "KMODTEST FAIL name: why" or
# "KMODTEST SKIP name: why" on the console; tests/kmod/run.sh greps them.
#
#   tgt (198.18.0.2, 2001:2::2) t0 ==veth== a0 (198.18.0.1, 2001:2::1) asst
#   httpd :8080 in tgt                      wget, kmodctl, doppel.ko's rules
#
# Responses from tgt:8080 reach asst's PRE_ROUTING; with a rule on them the
# module swallows them (the client's connection never completes) and sends
# their summaries to kmodctl, which runs intercept's real kmod source. In
# LOCAL_OUT mode the rule sits in tgt and catches the responses leaving.
# hostile sends malformed packets at both hooks; dmesg is checked at the end.
# IPv6 addresses are from 2001:2::/48, the IPv6 benchmarking range.

# busybox sh runs its own applets before PATH: iproute2's ip by path.
ip() { /usr/sbin/ip "$@"; }
pass() { echo "KMODTEST PASS $1"; }
fail() { echo "KMODTEST FAIL $1: $2"; }
skip() { echo "KMODTEST SKIP $1: $2"; }
A() { ip netns exec asst "$@"; }
T() { ip netns exec tgt "$@"; }

# wait_line FILE PATTERN: poll up to 30 s for a line (TCG on a loaded
# machine is slow).
wait_line() {
	i=0
	while [ $i -lt 300 ]; do
		grep -q "$2" "$1" 2>/dev/null && return 0
		sleep 0.1
		i=$((i + 1))
	done
	return 1
}

# stat NS NAME: one counter of doppel.ko in namespace NS.
stat() {
	ip netns exec "$1" kmodctl stats | awk -v n="$2" '$1 == n { print $2 }'
}

# fetch NS HOST: 0 when httpd's page arrives from HOST:8080 (at most 5 s).
# busybox nc, since the static busybox's wget crashes in this initramfs.
fetch() {
	printf 'GET /index.html HTTP/1.0\r\n\r\n' |
		ip netns exec "$1" timeout 5 nc -w 2 "$2" 8080 >/tmp/page 2>/dev/null
	grep -q "doppel kmod test page" /tmp/page
}

# arrives NS HOST: the page arrives, allowing a slow VM three tries.
arrives() {
	fetch "$1" "$2" || fetch "$1" "$2" || fetch "$1" "$2"
}

# listen NS OUTFILE ARGS...: start kmodctl listen in the background, wait
# until it is attached. Sets $listener, kmodctl's pid (ip netns exec forks),
# and $listener_job, the job to wait for. 1 if it did not attach.
listen() {
	ns=$1 out=$2
	shift 2
	ip netns exec "$ns" kmodctl listen "$@" >"$out" 2>&1 &
	listener_job=$!
	wait_line "$out" '^listening\|^open failed\|^closed'
	listener=$(sed -n 's/^listening pid=//p' "$out")
	[ -n "$listener" ]
}

# swallowed CLIENT_NS HOST LISTENER_OUT SUMMARY_PATTERN NAME [RULE_NS]: the
# fetch from CLIENT_NS must fail *because* the rule swallowed the answer:
# the module in RULE_NS (default CLIENT_NS) matched packets during it and
# the listener printed the answer's summary. A fetch that fails for any
# other reason (httpd gone, no route) fails the test.
swallowed() {
	rule_ns=${6:-$1}
	matched=$(stat "$rule_ns" matched)
	if fetch "$1" "$2"; then
		fail "$5" "the page arrived through the rule"
	elif [ "$(stat "$rule_ns" matched)" -gt "${matched:-0}" ] && wait_line "$3" "$4"; then
		pass "$5"
	else
		fail "$5" "the fetch failed, but not by the rule: matched ${matched:-?} -> $(stat "$rule_ns" matched), summary '$4' $(grep -c "$4" "$3") times"
	fi
}

dump() {
	echo "--- $1"
	sed 's/^/    /' "$1" | tail -n 20
}

setup() {
	ip netns add tgt && ip netns add asst &&
	ip link add t0 netns tgt type veth peer name a0 netns asst &&
	T ip addr add 198.18.0.2/24 dev t0 && T ip -6 addr add 2001:2::2/64 dev t0 nodad &&
	A ip addr add 198.18.0.1/24 dev a0 && A ip -6 addr add 2001:2::1/64 dev a0 nodad &&
	T ip link set t0 up && T ip link set lo up &&
	A ip link set a0 up && A ip link set lo up || return 1
	T httpd -f -p 8080 -h /www &
	httpd_pid=$!
	i=0
	while [ $i -lt 20 ] && ! fetch asst 198.18.0.2; do
		sleep 0.2
		i=$((i + 1))
	done
	fetch asst 198.18.0.2
}

test_load() {
	if insmod /lib/doppel.ko; then
		pass insmod
	else
		fail insmod "insmod /lib/doppel.ko failed"
		return 1
	fi
	out=$(kmodctl stats 2>&1)
	if echo "$out" | grep -q '^rules 0' && echo "$out" | grep -q '^listener 0'; then
		pass family_stats
	else
		fail family_stats "kmodctl stats said: $out"
	fi
}

test_refusals() {
	kmodctl refuse >/tmp/refuse 2>&1
	rc=$?
	n=$(grep -c '^refused ' /tmp/refuse)
	if [ $rc = 0 ] && [ "$n" = 13 ] &&
	   grep -q 'rule_empty: doppel: a rule needs an address, a port or both' /tmp/refuse &&
	   grep -q 'attach_bad_version: doppel: unsupported protocol version' /tmp/refuse &&
	   grep -q 'rules_too_many: doppel: more rules than' /tmp/refuse; then
		pass netlink_refusals
	else
		fail netlink_refusals "exit $rc, $n of 13 refused with the expected messages"
		dump /tmp/refuse
	fi
}

test_roundtrip_v4() {
	if ! listen asst /tmp/l_v4 --match 198.18.0.2:8080 --seconds 30; then
		fail roundtrip_v4 "listener did not attach"
		dump /tmp/l_v4
		return
	fi
	swallowed asst 198.18.0.2 /tmp/l_v4 \
		'summary v4 198.18.0.2:8080 > 198.18.0.1:.*flags=0x12' swallowed_v4
	kill $listener
	wait $listener_job
	if grep 'summary v4 198.18.0.2:8080 > 198.18.0.1:' /tmp/l_v4 | grep -q 'flags=0x12'; then
		pass roundtrip_v4
	else
		fail roundtrip_v4 "no SYN-ACK summary from 198.18.0.2:8080"
		dump /tmp/l_v4
	fi
	# Closing the source cleared the rules: the page arrives again.
	if arrives asst 198.18.0.2; then
		pass close_clears_rules
	else
		fail close_clears_rules "the page does not arrive after the listener closed"
	fi
}

test_roundtrip_v6() {
	if ! listen asst /tmp/l_v6 --match '[2001:2::2]:8080' --seconds 30; then
		fail roundtrip_v6 "listener did not attach"
		dump /tmp/l_v6
		return
	fi
	swallowed asst 2001:2::2 /tmp/l_v6 \
		'summary v6 2001:2::2:8080 > 2001:2::1:.*flags=0x12' swallowed_v6
	kill $listener
	wait $listener_job
	if grep 'summary v6 2001:2::2:8080 > 2001:2::1:' /tmp/l_v6 | grep -q 'flags=0x12'; then
		pass roundtrip_v6
	else
		fail roundtrip_v6 "no SYN-ACK summary from [2001:2::2]:8080"
		dump /tmp/l_v6
	fi
}

test_fail_closed() {
	before=$(stat asst no_listener)
	A kmodctl set 8080 >/tmp/set 2>&1 || { fail fail_closed "kmodctl set: $(cat /tmp/set)"; return; }
	if fetch asst 198.18.0.2; then
		fail fail_closed "the page arrived with a rule and no listener"
	else
		after=$(stat asst no_listener)
		if [ "${after:-0}" -gt "${before:-0}" ]; then
			pass fail_closed
		else
			fail fail_closed "no_listener did not grow ($before -> $after)"
		fi
	fi
	A kmodctl set >/dev/null 2>&1
	if arrives asst 198.18.0.2; then
		pass rules_cleared
	else
		fail rules_cleared "the page does not arrive after the rules were cleared"
	fi
}

test_local_out() {
	if ! listen tgt /tmp/l_out --local-out --match 8080 --seconds 30; then
		fail local_out "listener did not attach"
		dump /tmp/l_out
		return
	fi
	swallowed asst 198.18.0.2 /tmp/l_out \
		'summary v4 198.18.0.2:8080 > 198.18.0.1:.*flags=0x12' local_out_swallowed tgt
	kill $listener
	wait $listener_job
	if grep 'summary v4 198.18.0.2:8080 > 198.18.0.1:' /tmp/l_out | grep -q 'flags=0x12'; then
		pass local_out
	else
		fail local_out "no SYN-ACK summary at LOCAL_OUT"
		dump /tmp/l_out
	fi
}

# Swallowed responses never reach conntrack: the hook runs before defrag and
# conntrack. With conntrack on in asst (an nft rule that uses it), a fetch
# from asst without rules leaves an [ASSURED] entry (the control: conntrack
# saw the answers); under a rule on 198.18.0.2:8080 the client's SYN leaves
# a SYN_SENT [UNREPLIED] entry and no entry learns of an answer.
ct_lines() {
	ip netns exec asst cat /proc/net/nf_conntrack 2>/dev/null | grep ' tcp .* dport=8080 '
}

test_no_conntrack() {
	if [ ! -x /usr/sbin/nft ]; then
		skip no_conntrack_entry "nft is not in the initramfs"
		return
	fi
	if ! A /usr/sbin/nft -f - <<-EOF
	table inet dp_ct {
		chain input {
			type filter hook input priority 0; policy accept;
			ct state established counter accept
		}
	}
	EOF
	then
		fail no_conntrack_entry "nft could not turn conntrack on"
		return
	fi
	arrives asst 198.18.0.2
	control=$(ct_lines | grep -c 'ASSURED')
	before=$(ct_lines | wc -l)
	A kmodctl set 198.18.0.2:8080 >/dev/null
	fetch asst 198.18.0.2
	A kmodctl set >/dev/null
	unreplied=$(ct_lines | grep -c 'SYN_SENT .*UNREPLIED')
	answered=$(ct_lines | grep -c -E 'SYN_RECV|ESTABLISHED')
	if [ "$control" -gt 0 ] && [ "$unreplied" -gt 0 ] && [ "$answered" = 0 ]; then
		pass no_conntrack_entry
	else
		fail no_conntrack_entry "control assured $control, unreplied $unreplied, answered $answered (of $before before)"
		ct_lines
	fi
	A /usr/sbin/nft delete table inet dp_ct
}

test_busy() {
	if ! listen asst /tmp/l_busy --match 9999 --seconds 30; then
		fail second_listener_refused "first listener did not attach"
		dump /tmp/l_busy
		return
	fi
	out=$(A kmodctl attach 2>&1)
	if echo "$out" | grep -q 'another listener is attached'; then
		pass second_listener_refused
	else
		fail second_listener_refused "second attach said: $out"
	fi
	kill $listener
	wait $listener_job
}

# hostile_round NS SRC4 DST4 SRC6 DST6 ROUNDS SEED [fixed]
hostile_round() {
	ip netns exec "$1" hostile "$2" "$3" "$4" "$5" 9090 40000 "$6" "$7" $8
}

hostile_pre_routing_seen() {
	grep -q 'data=doppel-payload-0123456789' /tmp/l_h &&
		grep -q 'summary v6 .*data=doppel-payload-v6' /tmp/l_h &&
		grep -q 'summary v4 .* fragment' /tmp/l_h
}

# counters NS: the module's counters in NS, as shell assignments c_NAME=N.
counters() {
	ip netns exec "$1" kmodctl stats | awk '{ print "c_" $1 "=" $2 }'
}

test_hostile() {
	if ! listen asst /tmp/l_h --match 9090 --prefix 64 --seconds 120; then
		fail hostile_pre_routing "listener did not attach"
		dump /tmp/l_h
return
	fi
	hostile_round tgt 198.18.0.2 198.18.0.1 2001:2::2 2001:2::1 200 7 >/tmp/h1 2>&1 &
	sender=$!
	# Rules change under the traffic; every set keeps 9090 in it.
	i=0
	while [ $i -lt 30 ]; do
		A kmodctl set 9090 198.18.0.2 '[2001:2::2]:9090' >/dev/null
		A kmodctl set 9090 --local-out 9090 7 >/dev/null
		A kmodctl set 198.18.0.2:9090 '[2001:2::2]:9090' >/dev/null
		A kmodctl set 9090 >/dev/null
		i=$((i + 1))
	done
	wait $sender
	wait_cmd 150 hostile_pre_routing_seen
	kill $listener
	wait $listener_job
	if hostile_pre_routing_seen && grep -q '^closed' /tmp/l_h; then
		pass hostile_pre_routing
	else
		fail hostile_pre_routing "summaries missing (payload prefix, IPv6, fragment)"
		dump /tmp/h1
		dump /tmp/l_h
	fi

	if ! listen asst /tmp/l_h2 --local-out --match 9090 --prefix 16 --seconds 120; then
		fail hostile_local_out "listener did not attach"
		dump /tmp/l_h2
return
	fi
	malformed=$(stat asst malformed)
	hostile_round asst 198.18.0.1 198.18.0.2 2001:2::1 2001:2::2 100 11 >/tmp/h2 2>&1
	wait_line /tmp/l_h2 'data=doppel-payload-0$'
	kill $listener
	wait $listener_job
	if grep -q 'data=doppel-payload-0$' /tmp/l_h2 &&
	   [ "$(stat asst malformed)" -gt "${malformed:-0}" ]; then
		pass hostile_local_out
	else
		fail hostile_local_out "no prefixed summary, or malformed did not grow"
		dump /tmp/h2
		dump /tmp/l_h2
	fi
	test_hostile_counters
}

# What the module counts for hostile's fixed cases (no random packets),
# sent from asst through a LOCAL_OUT rule on port 9090; per round:
#   IPv4: 4 well-formed, IP options + 60-byte TCP header, odd TCP options,
#         a first fragment: 7 matched and summarized; TCP cut to 4, 8 and
#         19 bytes, data offset 2 and past the end, a tiny first fragment:
#         6 matched, malformed; cut to 0 and 2 bytes (no ports): 2
#         malformed, not matched; a later fragment: 1 fragment; ihl 3 and
#         UDP: nothing.
#   IPv6: 2 well-formed, extension headers, a first fragment: 4 matched and
#         summarized; TCP cut to 6 bytes, data offset past the end: 2
#         matched, malformed; an extension header running off the end: 1
#         malformed; a later fragment: 1 fragment.
# So per round 19 matched, 11 summaries, 11 malformed, 2 fragments, out of
# 26 packets (the kernel refuses one of the unmatched shapes at send time,
# after the hook: sent + refused is 26); nothing lost. Of the 11 summaries
# intercept's source refuses one, the TCP option of length 0 ("tcp option
# length < 2"): the listener counts 10 packets and 1 malformed per round.
HC_ROUNDS=10
summaries_reach() { [ "$(stat asst summaries)" -ge "$1" ]; }
summary_lines() { [ "$(grep -c '^summary' "$1")" -ge "$2" ]; }
test_hostile_counters() {
	want=$((HC_ROUNDS * 11))
	if ! listen asst /tmp/l_hc --local-out --match 9090 --seconds 120; then
		fail hostile_counters "listener did not attach"
		dump /tmp/l_hc
		return
	fi
	eval "$(counters asst)"
	m0=$c_matched s0=$c_summaries b0=$c_batches f0=$c_malformed g0=$c_fragments
	l0=$((c_lost_full + c_lost_nomem + c_lost_copy)) n0=$c_no_listener
	hostile_round asst 198.18.0.1 198.18.0.2 2001:2::1 2001:2::2 $HC_ROUNDS 23 fixed >/tmp/hc 2>&1
	# Until the module delivered what it should and the listener printed
	# what it took (30 s at most each).
	wait_cmd 150 summaries_reach $((s0 + want))
	wait_cmd 150 summary_lines /tmp/l_hc $((HC_ROUNDS * 10))
	kill $listener
	wait $listener_job
	eval "$(counters asst)"
	got="matched +$((c_matched - m0)) summaries +$((c_summaries - s0))"
	got="$got malformed +$((c_malformed - f0)) fragments +$((c_fragments - g0))"
	got="$got lost +$((c_lost_full + c_lost_nomem + c_lost_copy - l0))"
	got="$got no_listener +$((c_no_listener - n0)) batches +$((c_batches - b0))"
	expect="matched +$((HC_ROUNDS * 19)) summaries +$want"
	expect="$expect malformed +$((HC_ROUNDS * 11)) fragments +$((HC_ROUNDS * 2)) lost +0 no_listener +0"
	batches=$((c_batches - b0))
	sent=$(sed -n 's/^sent \([0-9]*\) refused \([0-9]*\)$/\1 + \2/p' /tmp/hc)
	if [ "${got% batches*}" = "$expect" ] &&
	   [ "$batches" -ge $(((want + 31) / 32)) ] && [ "$batches" -le "$want" ] &&
	   [ "$((${sent:-0}))" = $((HC_ROUNDS * 26)) ] &&
	   [ "$(grep -c '^summary' /tmp/l_hc)" = $((HC_ROUNDS * 10)) ] &&
	   grep -q "^closed packets=$((HC_ROUNDS * 10)) malformed=$HC_ROUNDS lost=0$" /tmp/l_hc; then
		pass hostile_counters
	else
		fail hostile_counters "got $got; want $expect, batches 4-$want; hostile: $(cat /tmp/hc); listener: $(tail -n1 /tmp/l_hc)"
	fi
	A kmodctl stats >/tmp/stats
	dump /tmp/stats
}

# A listener that does not read: its socket fills, the module counts what it
# cannot queue (lost_full) and, once the listener reads again, says how many
# in DOPPEL_A_LOST. Every matched packet is swallowed all along.
test_socket_full() {
	full=$(stat asst lost_full)
	A kmodctl stall 9090 >/tmp/stall 2>&1 &
	stall_job=$!
	if ! wait_line /tmp/stall '^stalling pid='; then
		fail socket_full_counted "kmodctl stall: $(cat /tmp/stall)"
		return
	fi
	staller=$(sed -n 's/^stalling pid=//p' /tmp/stall)
	hostile_round tgt 198.18.0.2 198.18.0.1 2001:2::2 2001:2::1 30 13 >/dev/null 2>&1
	kill -USR1 "$staller"
	wait_line /tmp/stall '^drained'
	# The batch after the jam carries the count of what was lost.
	hostile_round tgt 198.18.0.2 198.18.0.1 2001:2::2 2001:2::1 1 17 >/dev/null 2>&1
	wait_line /tmp/stall '^lost [1-9]'
	kill "$staller"
	wait $stall_job
	lost=$(sed -n 's/^stalled summaries=[0-9]* lost=//p' /tmp/stall)
	if [ "$(stat asst lost_full)" -gt "${full:-0}" ] && [ "${lost:-0}" -gt 0 ]; then
		pass socket_full_counted
	else
		fail socket_full_counted "lost_full $full -> $(stat asst lost_full), reported lost '${lost}'"
		dump /tmp/stall
	fi
	A kmodctl set >/dev/null 2>&1
}

test_kill_reattach() {
	if ! listen asst /tmp/l_k1 --match 9090 --seconds 60; then
		fail kill_reattach "listener did not attach"
		dump /tmp/l_k1
return
	fi
	kill -9 $listener
	wait $listener_job 2>/dev/null
	# Killed, it could not clear its rules: the module keeps dropping.
	if [ "$(stat asst listener)" = 0 ] && [ "$(stat asst rules)" = 1 ]; then
		pass killed_listener_released
	else
		fail killed_listener_released "listener $(stat asst listener), rules $(stat asst rules)"
	fi
	if ! listen asst /tmp/l_k2 --match 9090 --count 1 --seconds 20; then
		fail kill_reattach "a new listener could not attach"
		dump /tmp/l_k2
		return
	fi
	hostile_round tgt 198.18.0.2 198.18.0.1 2001:2::2 2001:2::1 1 3 >/dev/null 2>&1
	wait $listener_job
	if grep -q '^summary' /tmp/l_k2; then
		pass kill_reattach
	else
		fail kill_reattach "the new listener got no summary"
		dump /tmp/l_k2
	fi
}

# dyndbg +p|-p: doppel's pr_debug lines on or off (dynamic debug, in /proc
# since 5.x, else in debugfs).
dyndbg() {
	ctl=/proc/dynamic_debug/control
	if [ ! -w $ctl ]; then
		mount -t debugfs debugfs /sys/kernel/debug 2>/dev/null
		ctl=/sys/kernel/debug/dynamic_debug/control
	fi
	[ -w $ctl ] && echo "module doppel $1" >$ctl
}

NETNS_EXIT='doppel: namespace exit: 2 rules released'
netns_exit_logged() { dmesg | grep -q "$NETNS_EXIT"; }

# A namespace deleted with rules in both hooks: the module's pernet exit
# must unregister its hooks and free the rules. "ip netns del" returns
# before the exit runs (cleanup_net is a work item), so the test turns on
# the exit's debug line, waits for it (bounded), checks what it says was
# left (nothing) and that the kernel logged no warning since the delete.
test_netns_delete() {
	if ! dyndbg +p; then
		fail netns_delete_with_rules "cannot turn on doppel's debug lines (dynamic_debug)"
		return
	fi
	mark=$(dmesg | wc -l)
	ip netns add gone
	ip netns exec gone ip link set lo up
	if ! ip netns exec gone kmodctl set 80 --local-out 81 >/tmp/gone 2>&1 ||
	   ! ip netns exec gone kmodctl stats | grep -q '^rules 2' || ! ip netns del gone; then
		fail netns_delete_with_rules "$(cat /tmp/gone)"
		ip netns del gone 2>/dev/null
		dyndbg -p
		return
	fi
	wait_cmd 150 netns_exit_logged
	dmesg | tail -n +$((mark + 1)) >/tmp/gone_dmesg
	dyndbg -p
	line=$(grep "$NETNS_EXIT" /tmp/gone_dmesg | tail -n 1)
	bad=$(grep -E 'BUG|WARNING|Oops|general protection|refcount_t|list_(add|del) corruption' /tmp/gone_dmesg)
	if echo "$line" | grep -q 'rules released, hooks left 0x0, rules left 0$' && [ -z "$bad" ]; then
		pass netns_delete_with_rules
	else
		fail netns_delete_with_rules "exit line '${line:-none in 30 s}', warnings '$(echo "$bad" | head -n 1)'"
		dump /tmp/gone_dmesg
	fi
}

test_rmmod_attached() {
	if ! listen asst /tmp/l_r --match 9090 --seconds 60; then
		fail rmmod_attached "listener did not attach"
		dump /tmp/l_r
return
	fi
	hostile_round tgt 198.18.0.2 198.18.0.1 2001:2::2 2001:2::1 300 5 >/dev/null 2>&1 &
	sender=$!
	# Unload while summaries flow.
	wait_line /tmp/l_r '^summary'
	if rmmod doppel; then
		pass rmmod_attached
	else
		fail rmmod_attached "rmmod failed: $(lsmod | grep doppel)"
	fi
	kill $listener
	wait $listener_job
	wait $sender
	if grep -q '^closed' /tmp/l_r; then
		pass listener_survives_unload
	else
		fail listener_survives_unload "kmodctl did not close cleanly"
		dump /tmp/l_r
	fi
	if insmod /lib/doppel.ko && [ "$(stat asst rules)" = 0 ] &&
	   [ "$(stat asst listener)" = 0 ] && rmmod doppel; then
		pass reload_clean
	else
		fail reload_clean "state after reload: $(A kmodctl stats 2>&1 | tr '\n' ' ')"
	fi
}

test_dmesg() {
	dmesg >/tmp/dmesg
	bad=$(grep -E 'BUG|WARNING|Oops|general protection|leak|UBSAN|KASAN|refcount_t|list_(add|del) corruption|RCU stall|hung_task|INFO: task' /tmp/dmesg)
	if [ -z "$bad" ]; then
		pass dmesg_clean
	else
		fail dmesg_clean "$(echo "$bad" | head -n 3 | tr '\n' ' ')"
		dump /tmp/dmesg
	fi
	grep -i doppel /tmp/dmesg | sed 's/^/dmesg: /'
}

# The replay lab, on a bridge in its own namespace:
#   cli 198.18.1.11 -- onl 198.18.1.12 (httpd :80, doppel-copy)
#   tgt 198.18.1.13 (httpd :80; routes cli via ast) -- ast 198.18.1.14
# doppel-intercept --source kmod swallows tgt's answers on ast (PRE_ROUTING)
# or, in the LOCAL_OUT run, on tgt itself; every client request must reach
# tgt. Both httpds log one "url:" line per request.
R_CLI=198.18.1.11 R_ONL=198.18.1.12 R_TGT=198.18.1.13 R_AST=198.18.1.14

replay_lab() {
	ip netns add rsw && ip -n rsw link add br0 type bridge && ip -n rsw link set br0 up || return 1
	for h in cli:$R_CLI onl:$R_ONL tgt:$R_TGT ast:$R_AST; do
		ns=r${h%%:*} addr=${h#*:}
		ip netns add "$ns" &&
		ip -n rsw link add "p$ns" type veth peer name eth0 netns "$ns" &&
		ip -n rsw link set "p$ns" master br0 up &&
		ip -n "$ns" link set lo up && ip -n "$ns" addr add "$addr/24" dev eth0 &&
		ip -n "$ns" link set eth0 up || return 1
	done
	ip -n rtgt route add "$R_CLI/32" via "$R_AST" dev eth0 || return 1
	ip netns exec rast sysctl -qw net.ipv4.conf.all.rp_filter=0
	ip netns exec rast sysctl -qw net.ipv4.conf.eth0.rp_filter=0
	ip netns exec ronl httpd -f -vv -p 80 -h /www 2>>/tmp/r_onl.log &
	r_onl_httpd=$!
	ip netns exec rtgt httpd -f -vv -p 80 -h /www 2>>/tmp/r_tgt.log &
	r_tgt_httpd=$!
}

replay_teardown() {
	# ip netns exec forks: these stop the ip processes, whose httpd
	# children die with the namespaces' last users below.
	kill $r_onl_httpd $r_tgt_httpd 2>/dev/null
	for ns in rcli ronl rtgt rast rsw; do ip netns del "$ns" 2>/dev/null; done
}

# wait_cmd TRIES CMD...: poll CMD every 0.2 s.
wait_cmd() {
	tries=$1
	shift
	while [ "$tries" -gt 0 ]; do
		"$@" && return 0
		sleep 0.2
		tries=$((tries - 1))
	done
	return 1
}

# stop_daemon PIDFILE JOB: SIGTERM to the daemon (its pid file: ip netns
# exec forks), then wait for the job.
stop_daemon() {
	[ -s "$1" ] && kill "$(cat "$1")"
	wait "$2"
}

listening_on() { ip netns exec "$1" netstat -ltn | grep -q ":$2 "; }
connected_to() { ip netns exec "$1" netstat -tn | grep -q "$2 *ESTABLISHED"; }
requests() { grep -c 'url:/index.html' "$1"; }
all_arrived() { [ "$(requests /tmp/r_tgt.log)" -ge "$1" ]; }
stats_written() { [ -s /tmp/r_copy.json ] && [ -s /tmp/r_icpt.json ]; }

# replay NAME ICPT_NS SERVER ICPT_ARGS...: one replay of 20 requests.
replay() {
	name=$1 icpt_ns=$2 server=$3
	shift 3
	: >/tmp/r_tgt.log
	: >/tmp/r_onl.log
	rm -f /tmp/r_icpt.pid /tmp/r_copy.pid /tmp/r_icpt.json /tmp/r_copy.json
	# The channel in plain text, on purpose: the daemons refuse it on a
	# network address otherwise, and this tests the module, not TLS.
	ip netns exec "$icpt_ns" doppel-intercept --source kmod "$@" --insecure-plaintext -P /tmp/r_icpt.pid \
		--stats-file /tmp/r_icpt.json --stats-interval 1s >/tmp/r_icpt.log 2>&1 &
	icpt_job=$!
	if ! wait_cmd 150 listening_on "$icpt_ns" 36524; then
		fail "$name" "doppel-intercept did not listen"
		dump /tmp/r_icpt.log
		stop_daemon /tmp/r_icpt.pid $icpt_job
		return
	fi
	ip netns exec ronl doppel-copy -x "80-$R_TGT:80" -s "$server" --insecure-plaintext -P /tmp/r_copy.pid \
		--stats-file /tmp/r_copy.json --stats-interval 1s >/tmp/r_copy.log 2>&1 &
	copy_job=$!
	if ! wait_cmd 150 connected_to ronl "$server:36524"; then
		fail "$name" "doppel-copy did not connect to intercept"
		dump /tmp/r_copy.log
		stop_daemon /tmp/r_copy.pid $copy_job
		stop_daemon /tmp/r_icpt.pid $icpt_job
		return
	fi
	# Expected: 20 client requests online, so 20 replayed at the target.
	i=1
	while [ $i -le 20 ]; do
		printf 'GET /index.html?n=%s HTTP/1.0\r\n\r\n' $i |
			ip netns exec rcli timeout 5 nc -w 2 $R_ONL 80 >/dev/null 2>&1
		i=$((i + 1))
	done
	online=$(requests /tmp/r_onl.log)
	wait_cmd 300 all_arrived 20
	target=$(requests /tmp/r_tgt.log)
	summaries=$(stat "$icpt_ns" summaries)
	# Both daemons have written their statistics once (--stats-interval 1s),
	# for the dump on failure; at most 10 s.
	wait_cmd 50 stats_written
	stop_daemon /tmp/r_copy.pid $copy_job
	stop_daemon /tmp/r_icpt.pid $icpt_job
	if [ "$online" = 20 ] && [ "$target" = 20 ] && [ "${summaries:-0}" -gt 0 ]; then
		pass "$name"
	else
		fail "$name" "online served $online/20, target got $target/20, module summaries ${summaries:-?}"
		dump /tmp/r_copy.log
		dump /tmp/r_icpt.log
		dump /tmp/r_tgt.log
		cat /tmp/r_copy.json /tmp/r_icpt.json 2>/dev/null
	fi
	if [ "$(stat "$icpt_ns" rules)" = 0 ] && [ "$(stat "$icpt_ns" listener)" = 0 ]; then
		pass "${name}_cleanup"
	else
		fail "${name}_cleanup" "intercept left rules or a listener after SIGTERM"
	fi
}

test_replay() {
	if [ ! -x /usr/bin/doppel-copy ] || [ ! -x /usr/bin/doppel-intercept ]; then
		skip replay "doppel-copy or doppel-intercept was not built"
		return
	fi
	if ! replay_lab; then
		fail replay "the replay lab did not come up"
		replay_teardown
		return
	fi
	replay replay_pre_routing rast "$R_AST" --match "$R_TGT:80"
	replay replay_local_out rtgt "$R_TGT" --local-out --match "$R_TGT:80"
	replay_teardown
}

if ! setup; then
	fail lab_setup "namespaces, veth or httpd did not come up"
	A ip addr
	A ping -c 1 -W 2 198.18.0.2
	fetch asst 198.18.0.2; cat /tmp/page
	T netstat -ltn
	exit 0
fi
pass lab_setup
test_load || exit 0
# kmodtests=a,b on the kernel command line (KMOD_VM_TESTS) runs only those.
only=$(sed -n 's/.*kmodtests=\([^ ]*\).*/\1/p' /proc/cmdline | tr ',' ' ')
for t in ${only:-refusals roundtrip_v4 roundtrip_v6 fail_closed local_out no_conntrack \
	busy hostile socket_full kill_reattach netns_delete replay rmmod_attached}; do
	"test_$t"
done
kill $httpd_pid
test_dmesg
