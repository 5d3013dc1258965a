#!/usr/bin/env bash
# The lab itself, without doppel: servers up, the client reaches online, and
# the target's answers to the client addresses go to the assistant, which
# drops them — so a client that talks to the target directly gets nothing
# back, and nothing stray reaches it.
. "$(dirname "$0")/../lib.sh"
scenario_begin lab "${1:-none}"

lab_build online2 || fail "could not build the lab"
nginx_start online "$NS_ONLINE" "$ADDR_ONLINE" 80 || fail "nginx did not start in online"
nginx_start target "$NS_TARGET" "$ADDR_TARGET" 80 8080 || fail "nginx did not start in target"
nginx_start online2 "$NS_ONLINE2" "$ADDR_ONLINE2" 80 || fail "nginx did not start in online2"
redis_start redis-online "$NS_ONLINE" "$ADDR_ONLINE" 6379 || fail "redis did not start in online"

# The client reaches online's servers.
curl_each 5 "http://$ADDR_ONLINE/"
[ "$(nginx_requests online ' 200 ')" = 5 ] || fail "online logged $(nginx_requests online) requests of 5"
pong=$(client_run 5 redis-cli -h "$ADDR_ONLINE" PING | tr -d '\r')
[ "$pong" = PONG ] || fail "redis-cli PING to online answered '$pong'"

# The target routes every client address via the assistant.
for dest in "$ADDR_CLIENT" "$ADDR_CLIENT2" 198.19.200.7; do
	route=$(ip -n "$NS_TARGET" route get "$dest")
	case $route in *"via $ADDR_ASSIST "*) ;; *) fail "target's route to $dest is '$route'" ;; esac
done
[ "$(in_ns "$NS_ASSIST" sysctl -n net.ipv4.ip_forward)" = 0 ] || fail "the assistant forwards"

# Count the target's SYN-ACKs arriving at the assistant.
in_ns "$NS_ASSIST" nft -f - <<EOF || fail "nft in the assistant"
table inet e2e_selftest {
	counter synack {}
	chain prerouting {
		type filter hook prerouting priority -400; policy accept;
		ip saddr $ADDR_TARGET tcp flags & (syn | ack) == syn | ack counter name synack
	}
}
EOF
# A direct connection from the client to the target cannot complete.
if client_run 5 curl -s --max-time 2 -o /dev/null "http://$ADDR_TARGET/"; then
	fail "the client reached the target directly: its answers bypass the assistant"
fi
synacks=$(in_ns "$NS_ASSIST" nft list counter inet e2e_selftest synack | sed -n 's/.*packets \([0-9]*\).*/\1/p')
[ "${synacks:-0}" -ge 1 ] || fail "the target's SYN-ACK did not reach the assistant"
# The client saw none of it (and no RST from its own traffic to online).
client_clean

# online2 answers from the client's second address.
client_run 10 curl -s -o /dev/null "http://$ADDR_ONLINE2/" ||
	fail "the client cannot reach online2"
pass "servers up; client reaches online and online2; $synacks SYN-ACK(s) from the target died at the assistant; client saw nothing stray"
