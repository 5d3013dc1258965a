#!/usr/bin/env bash
# -c: the target sees the clients as addresses of 198.19.200.0/24 (IPv6:
# 8 addresses of 2001:2:0:200::/64), routed via the assistant like the real
# ones, never as the real client 198.18.0.1 (2001:2::1).
. "$(dirname "$0")/../lib.sh"
scenario_begin client-rewrite "$1"
if [ "$LAB_FAMILY" = 6 ]; then
	rewrite=$(printf '2001:2:0:200::%d,' 1 2 3 4 5 6 7 8) rewritten='2001:2:0:200::*'
	rewrite=${rewrite%,}
else
	rewrite=198.19.200.x rewritten='198.19.200.*'
fi
http_lab 8080
http_copy copy "$NS_ONLINE" 8080 -c "$rewrite"

curl_each 50 "http://$HOST_ONLINE/"
curl_keepalive 50 "http://$HOST_ONLINE/"
http_settle 60 copy
http_judge
clients=$(nginx_clients target)
for addr in $clients; do
	# shellcheck disable=SC2254
	case $addr in $rewritten) ;; *) fail "the target saw client address $addr (clients: $clients)" ;; esac
done
copy_stopped_clean copy
pass "$JUDGED requests at online and at target, from $clients(online saw $(nginx_clients online)); $(copy_summary copy)"
