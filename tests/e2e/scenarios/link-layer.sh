#!/usr/bin/env bash
# Link-layer send: doppel-copy writes Ethernet frames on eth0 (-o) to the
# target's MAC, past online's IP stack.
. "$(dirname "$0")/../lib.sh"
scenario_begin link-layer "$1"
http_lab 80
copy_start copy "$NS_ONLINE" -x "80-$ADDR_TARGET:80@$(lab_mac "$ADDR_TARGET")" -o eth0 ||
	fail "doppel-copy did not start"

http_mixed_traffic
pass "$JUDGED requests at online and at target, sent as frames to $(lab_mac "$ADDR_TARGET"); $(copy_summary copy)"
