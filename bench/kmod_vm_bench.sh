#!/bin/sh
# kmod_vm_bench.sh — runs INSIDE the qemu VM that bench/kmod_vm.sh boots
# (busybox sh, Debian's 6.1 kernel, TCG): intercept's kmod source against
# its nfqueue source on the same replay, in the same VM, since timings
# under emulation compare only with each other. Prints "KMODBENCH ..."
# lines on the console; kmod_vm.sh greps them.
#
#   cli 198.18.1.11 -- onl 198.18.1.12 (httpd :80, doppel-copy)
#   tgt 198.18.1.13 (httpd :80; routes cli via ast) -- ast 198.18.1.14
#   (doppel-intercept: doppel.ko's PRE_ROUTING hook, or an nft queue rule)
#
# Each run: REQUESTS one-request connections from cli to onl (one
# vm_http_client process, so that the load is not process starts), replayed
# to tgt; once every request arrived, intercept's CPU ticks (utime + stime)
# and the whole VM's busy ticks (/proc/stat: the module works in softirq
# context, charged to no process of ours) per summary intercept received.

ip() { /usr/sbin/ip "$@"; }
say() { echo "KMODBENCH $*"; }
REQUESTS=${REQUESTS:-200}
RUNS=${RUNS:-3}
CLI=198.18.1.11 ONL=198.18.1.12 TGT=198.18.1.13 AST=198.18.1.14

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

listening_on() { ip netns exec "$1" netstat -ltn | grep -q ":$2 "; }
connected_to() { ip netns exec "$1" netstat -tn | grep -q "$2 *ESTABLISHED"; }
requests() { grep -c 'url:/index.html' "$1"; }
all_arrived() { [ "$(requests /tmp/tgt.log)" -ge "$1" ]; }
json_get() { sed -n "s/.*\"$2\": *\([0-9]*\).*/\1/p" "$1" | head -n 1; }
proc_ticks() { sed 's/.*) //' "/proc/$1/stat" | awk '{ print $12 + $13 }'; }
vm_busy() { awk '/^cpu / { print $2 + $3 + $4 + $7 + $8 }' /proc/stat; }

lab() {
	ip netns add sw && ip -n sw link add br0 type bridge && ip -n sw link set br0 up || return 1
	for h in cli:$CLI onl:$ONL tgt:$TGT ast:$AST; do
		ns=${h%%:*} addr=${h#*:}
		ip netns add "$ns" &&
		ip -n sw link add "p$ns" type veth peer name eth0 netns "$ns" &&
		ip -n sw link set "p$ns" master br0 up &&
		ip -n "$ns" link set lo up && ip -n "$ns" addr add "$addr/24" dev eth0 &&
		ip -n "$ns" link set eth0 up || return 1
	done
	ip -n tgt route add "$CLI/32" via "$AST" dev eth0 || return 1
	ip netns exec ast sysctl -qw net.ipv4.conf.all.rp_filter=0
	ip netns exec ast sysctl -qw net.ipv4.conf.eth0.rp_filter=0
	ip netns exec ast sysctl -qw net.ipv4.ip_forward=0
	ip netns exec onl httpd -f -vv -p 80 -h /www 2>>/tmp/onl.log &
	ip netns exec tgt httpd -f -vv -p 80 -h /www 2>>/tmp/tgt.log &
	wait_cmd 50 listening_on onl 80 && wait_cmd 50 listening_on tgt 80
}

# The nfqueue source's rule: the target's answers, queued, no bypass.
queue_rule() {
	ip netns exec ast nft -f - <<-EOF
	table inet doppel_bench {
		chain prerouting {
			type filter hook prerouting priority -300; policy accept;
			ip saddr $TGT tcp sport 80 queue num 0
		}
	}
	EOF
}

# one SOURCE RUN: a replay of REQUESTS connections with SOURCE.
one() {
	source=$1 run=$2
	: >/tmp/tgt.log
	: >/tmp/onl.log
	rm -f /tmp/icpt.pid /tmp/copy.pid /tmp/icpt.json
	if [ "$source" = kmod ]; then
		set -- --source kmod --match "$TGT:80"
	else
		if ! queue_rule >/tmp/nft.log 2>&1; then
			say "ERROR $source: nft refused the queue rule: $(head -n 3 /tmp/nft.log | tr '\n' ' ')"
			return
		fi
		set -- --source nfqueue --queues 0
	fi
	# The channel in plain text, on purpose (the daemons refuse it on a
	# network address otherwise): the figures compare the sources, not TLS.
	ip netns exec ast doppel-intercept "$@" --insecure-plaintext -P /tmp/icpt.pid \
		--stats-file /tmp/icpt.json --stats-interval 1s >/tmp/icpt.log 2>&1 &
	icpt_job=$!
	ip netns exec onl doppel-copy -x "80-$TGT:80" -s "$AST" --insecure-plaintext -P /tmp/copy.pid \
		--stats-file /tmp/copy.json --stats-interval 1s >/tmp/copy.log 2>&1 &
	copy_job=$!
	if ! wait_cmd 100 connected_to onl "$AST:36524"; then
		say "ERROR $source: doppel-copy did not connect to intercept"
		tail -n 5 /tmp/icpt.log /tmp/copy.log
	else
		icpt_pid=$(cat /tmp/icpt.pid)
		ticks0=$(proc_ticks "$icpt_pid")
		busy0=$(vm_busy)
		ip netns exec cli vm_http_client $ONL 80 "$REQUESTS" >/tmp/client.log 2>&1
		wait_cmd 300 all_arrived "$REQUESTS"
		ticks=$(($(proc_ticks "$icpt_pid") - ticks0))
		busy=$(($(vm_busy) - busy0))
		sleep 1.5
		say "RESULT $source $run intercept_ticks $ticks vm_busy_ticks $busy" \
			"summaries $(json_get /tmp/icpt.json summaries_in) lost $(json_get /tmp/icpt.json source_lost)" \
			"arrived $(requests /tmp/tgt.log) online $(requests /tmp/onl.log)"
	fi
	[ -s /tmp/copy.pid ] && kill "$(cat /tmp/copy.pid)"
	wait $copy_job
	[ -s /tmp/icpt.pid ] && kill "$(cat /tmp/icpt.pid)"
	wait $icpt_job
	[ "$source" = nfqueue ] && ip netns exec ast nft delete table inet doppel_bench
}

if ! insmod /lib/doppel.ko; then
	say "ERROR insmod doppel.ko failed"
	exit 0
fi
if ! lab; then
	say "ERROR the lab did not come up"
	exit 0
fi
say "CLK_TCK 100 REQUESTS $REQUESTS"
run=1
while [ $run -le "$RUNS" ]; do
	one kmod "$run"
	one nfqueue "$run"
	run=$((run + 1))
done
