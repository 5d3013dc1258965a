#!/usr/bin/env bash
# Link-layer send: doppel-copy writes Ethernet frames on eth0 (-o) to the
# target's MAC, past online's IP stack, through a PACKET_TX_RING (the
# default; its log line says so).
. "$(dirname "$0")/../lib.sh"
scenario_begin link-layer "$1"
http_lab 80
copy_start copy "$NS_ONLINE" -x "80-$ADDR_TARGET:80@$(lab_mac "$ADDR_TARGET")" -o eth0 \
	--log-level info || fail "doppel-copy did not start"
grep -q 'PACKET_TX_RING of' "$LAB_DIR/copy.log" ||
	fail "-o did not send through a PACKET_TX_RING: $(grep -- '-o eth0' "$LAB_DIR/copy.log")"

http_mixed_traffic
pass "$JUDGED requests at online and at target, sent as frames to $(lab_mac "$ADDR_TARGET"); $(copy_summary copy)"
