#!/usr/bin/env bash
# HTTP keep-alive: wrk holds 4 connections for 3 s, each sending a request
# every millisecond (after its answer); the target must serve the very same
# requests, one for one.
. "$(dirname "$0")/../lib.sh"
scenario_begin http-keepalive "$1"
http_lab 80
http_copy copy "$NS_ONLINE" 80

wrk_paced 3 4 "http://$HOST_ONLINE/" 1
http_settle 60 copy
http_judge
connections=$(nginx_connections target)
copy_stopped_clean copy
if [ "$SOURCE" = nfqueue ]; then
	# The rules go as they came, and nothing of them is left.
	rules_gone && fail "doppel-rules installed nothing that can be seen (iptables raw DOPPEL or nft table doppel)"
	intercept_rules_remove || fail "doppel-rules remove failed: $(tail -n 3 "$LAB_DIR/rules.log")"
	rules_gone || fail "doppel-rules remove left rules behind: $(in_ns "$NS_ASSIST" iptables -t raw -S | grep DOPPEL)"
fi
pass "$JUDGED requests at online and at target over $connections connections; $(copy_summary copy)"
