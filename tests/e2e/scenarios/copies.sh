#!/usr/bin/env bash
# -n 2: every session replayed twice (the second copy from client port +
# 2048, -f's default): the target serves each request exactly twice.
. "$(dirname "$0")/../lib.sh"
scenario_begin copies "$1"
http_lab 80
http_copy copy "$NS_ONLINE" 80 -n 2

curl_each 50 "http://$ADDR_ONLINE/"
curl_keepalive 50 "http://$ADDR_ONLINE/"
online=$(nginx_requests online)
twice() { [ "$(nginx_requests target)" -ge $((2 * online)) ]; }
wait_until 60 twice
copy_idle copy 20
if ! diff -q <(online_fingerprint | awk '{ print; print }') <(nginx_fingerprint target) >/dev/null; then
	fail "online served $online requests, the target $(nginx_requests target) (expected each twice)"
fi
ports=$(awk '{ print $2 }' "$LAB_DIR/target/access.log" | sort -u | wc -l)
[ "$ports" = 102 ] || fail "the target saw $ports client ports, not 2 x 51"
copy_stopped_clean copy
pass "$online requests at online, each served twice at target from $ports client ports; $(copy_summary copy)"
