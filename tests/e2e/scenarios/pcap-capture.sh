#!/usr/bin/env bash
# libpcap capture (--capture pcap on eth0) instead of the AF_PACKET ring.
. "$(dirname "$0")/../lib.sh"
scenario_begin pcap-capture "$1"
http_lab 80
http_copy copy "$NS_ONLINE" 80 --capture pcap -i eth0

wrk_paced 2 2 "http://$ADDR_ONLINE/"
curl_each 50 "http://$ADDR_ONLINE/"
http_settle 60 copy
http_judge
lab_stop copy || fail "doppel-copy exited with status $? on SIGTERM"
[ "$(stats_get copy sessions_failed)" = 0 ] || fail "sessions failed: $(copy_summary copy)"
client_clean
pass "$JUDGED requests at online and at target, captured with libpcap; $(copy_summary copy)"
