#!/usr/bin/env bash
# -c: the target sees the clients as addresses of 198.19.200.0/24 (routed via
# the assistant like the real ones), never as the real client 198.18.0.1.
. "$(dirname "$0")/../lib.sh"
scenario_begin client-rewrite "$1"
http_lab 8080
http_copy copy "$NS_ONLINE" 8080 -c 198.19.200.x

curl_each 50 "http://$ADDR_ONLINE/"
curl_keepalive 50 "http://$ADDR_ONLINE/"
http_settle 60 copy
http_judge
clients=$(nginx_clients target)
for addr in $clients; do
	case $addr in 198.19.200.*) ;; *) fail "the target saw client address $addr (clients: $clients)" ;; esac
done
copy_stopped_clean copy
pass "$JUDGED requests at online and at target, from $clients(online saw $(nginx_clients online)); $(copy_summary copy)"
