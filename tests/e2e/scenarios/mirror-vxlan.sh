#!/usr/bin/env bash
# Capture from a traffic mirror: nothing of doppel runs on online. Online's
# eth0 is mirrored by nft netdev `dup to` into VXLAN devices to a collector,
# where doppel-copy --mirror vxlan decapsulates, filters the mirrored
# packets with the filter built from -x, and replays them, tunnelled
# (--tunnel vxlan) through the anti-spoofing switch to the target, whose
# intercept runs on the target itself. The mirror is duplicated: online's
# ingress goes to the collector twice (two sessions, VNI 100 and 101) and
# its egress once (the server's answers, which the filter leaves out).
# Every request must arrive at the target exactly once.
. "$(dirname "$0")/../lib.sh"
. "$E2E_DIR/tunnel.sh"
scenario_begin mirror-vxlan "$1"
trap tunnel_teardown EXIT
lab_build || fail "could not build the lab"
collector_add || fail "could not add the collector"
antispoof_switch || fail "could not install the anti-spoofing switch rules"
target_alone || fail "could not remove the target's routes via the assistant"
nginx_start online "$NS_ONLINE" "$ADDR_ONLINE" 80 || fail "nginx did not start in online"
nginx_start target "$NS_TARGET" "$ADDR_TARGET" 80 || fail "nginx did not start in target"
tunnel_target_side "$SOURCE" vxlan:7 80 || fail "the target's side did not come up ($SOURCE)"

mirror_vxlan mir0 100 && mirror_vxlan mir1 101 || fail "could not add online's mirror devices"
in_ns "$NS_ONLINE" nft -f - <<EOF || fail "could not install online's mirror rules"
table netdev doppel_e2e_mirror {
	chain ingress {
		type filter hook ingress device "eth0" priority 0; policy accept;
		meta l4proto tcp dup to "mir0"
		meta l4proto tcp dup to "mir1"
	}
	chain egress {
		type filter hook egress device "eth0" priority 0; policy accept;
		meta l4proto tcp tcp sport 80 dup to "mir0"
	}
}
EOF

COPY_NS=$NS_COLLECTOR tunnel_copy_start copy -x "80-$ADDR_TARGET:80" --mirror vxlan -i eth0 \
	--tunnel vxlan:7 --log-level info || fail "doppel-copy --mirror vxlan did not start in the collector"
grep -q "mirror: decapsulating (udp dst port 4789)" "$LAB_DIR/copy.log" ||
	fail "doppel-copy did not say it decapsulates"
before=$(antispoof_dropped)
wrk_paced 2 2 "http://$ADDR_ONLINE/" 2
curl_each 30 "http://$ADDR_ONLINE/one"
http_settle 60 copy
copy_idle copy 20
lab_stop copy || fail "doppel-copy exited with status $? on SIGTERM"
summary=$(copy_summary copy)
mirror=$(sed -n 's/.*mirror: \([0-9]*\) packets decapsulated, \([0-9]*\) filtered out.*/\1 \2/p' "$LAB_DIR/copy.log")
decapsulated=${mirror% *} filtered=${mirror#* }
captured=$(stats_get copy packets_captured)
http_judge
[ "$(stats_get copy sessions_failed)" = 0 ] || fail "sessions failed: $summary"
[ "$(antispoof_dropped)" = "$before" ] ||
	fail "the switch dropped $(($(antispoof_dropped) - before)) frames during the replay"
# Twice the ingress: the copy saw each client packet twice and replayed it
# once. The egress (the server's answers) is filtered out, or with
# --compare (the lab's default) taken as the answers compared.
[ -n "$decapsulated" ] && [ "$captured" -ge $((2 * JUDGED)) ] &&
	{ [ "$filtered" -gt 0 ] || [ "$(stats_get copy compare_requests)" -gt 0 ]; } ||
	fail "mirror counters: ${decapsulated:-?} decapsulated, ${filtered:-?} filtered out, $captured captured for $JUDGED requests"
# The statistics file at exit says the same as the log, by kind.
[ "$(stats_get copy mirror_decapsulated_vxlan)" = "$decapsulated" ] &&
	[ "$(stats_get copy mirror_filtered_out)" = "$filtered" ] &&
	[ "$(stats_get copy mirror_decapsulated_geneve)" = 0 ] ||
	fail "statistics: mirror_decapsulated_vxlan $(stats_get copy mirror_decapsulated_vxlan), mirror_filtered_out $(stats_get copy mirror_filtered_out), mirror_decapsulated_geneve $(stats_get copy mirror_decapsulated_geneve); the log said $decapsulated and $filtered"
client_clean
pass "$JUDGED requests at online and once each at target from a doubled mirror ($decapsulated packets decapsulated, $captured of the clients' delivered, $filtered answers filtered out); $summary"
