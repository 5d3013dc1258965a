#!/usr/bin/env bash
# libpcap capture (--capture pcap on eth0) instead of the AF_PACKET ring.
. "$(dirname "$0")/../lib.sh"
scenario_begin pcap-capture "$1"
http_lab 80
http_copy copy "$NS_ONLINE" 80 --capture pcap -i eth0

http_mixed_traffic
pass "$JUDGED requests at online and at target, captured with libpcap; $(copy_summary copy)"
