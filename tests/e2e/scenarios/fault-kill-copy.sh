#!/usr/bin/env bash
# Fault under load: doppel-copy killed with SIGKILL while the clients' load
# runs, then started again. A restart cannot recover the sessions the dead
# process was replaying (their state was in its memory): what it can do is
# replay every session that starts after it, take up the kept-alive
# connection from its next request (a missed start), and leave the target
# with no connection of the dead one: the kept-alive connection's socket at
# the target answers the new session's SYN with a challenge ACK, which the
# engine resets (stale_resets) before its SYN goes again; an idle one,
# closed after the restart, is reset at its FIN (orphan_resets). Judged: before
# and after, every request; the target holds no socket of the long-lived
# connections (kept-alive and idle) but TIME-WAIT within FAULT_RESET_SECONDS
# (default 30) of the load's end (before stale_resets and orphan_resets it
# took the target's own timeouts, about 120 s), and none at all within
# FAULT_HALFOPEN_SECONDS (default 200: a one-request connection caught at
# the kill sends nothing more, and only the target's timeouts end it); a
# socket open at the kill was reset; the real clients never see a packet
# of the replay.
. "$(dirname "$0")/../lib.sh"
. "$E2E_DIR/faults.sh"
scenario_begin fault-kill-copy "$1"

# client_ports_to_online: the client's ports of its established connections
# to online's port 80, sorted.
client_ports_to_online() {
	in_ns "$NS_CLIENT" ss -Htn state all "( dst $ADDR_ONLINE )" |
		awk '$1 == "ESTAB" && $5 ~ /:80$/ { n = split($4, a, ":"); print a[n] }' | sort
}
# long_at_target: the target's sockets, not TIME-WAIT, of those ports.
long_at_target() {
	in_ns "$NS_TARGET" ss -Htn state all "( dst $ADDR_CLIENT )" |
		awk -v ports=" $(echo $long_ports) " '$1 != "TIME-WAIT" && $1 != "LISTEN" {
			n = split($5, a, ":"); if (index(ports, " " a[n] " ")) c++ } END { print c + 0 }'
}
no_long_at_target() { [ "$(long_at_target)" = 0 ]; }
target_sockets_left() {
	in_ns "$NS_TARGET" ss -Htn state all "( dst $ADDR_CLIENT or dst $ADDR_CLIENT2 )" |
		awk '$1 != "TIME-WAIT" && $1 != "LISTEN"' | head -n 6 | tr '\n' ';'
}
fault_begin

# An idle kept-alive connection too: one request before the kill, silent
# through the restart, closed after it. The new process sees only its FIN
# (no data to take it up with): the RST it sends at the FIN's seq
# (orphan_resets) is all that frees the target's socket before nginx's
# 75 s keep-alive timeout.
lab_spawn idle "$NS_CLIENT" timeout 120 python3 -c '
import http.client, os, sys, time
c = http.client.HTTPConnection(sys.argv[1], 80, timeout=10)
c.request("GET", "/during/idle")
c.getresponse().read()
deadline = time.time() + 100
while not os.path.exists(sys.argv[2]) and time.time() < deadline:
    time.sleep(0.1)
c.close()
print("closed", flush=True)
' "$ADDR_ONLINE" "$LAB_DIR/idle-close"
load_start during "$FAULT_SECONDS"
sleep 1.5
# The long-lived connections at the kill (kept-alive curl, the idle one):
# the client's established connections to online seen twice, 0.5 s apart.
long_ports=$(comm -12 <(client_ports_to_online) <(sleep 0.5; client_ports_to_online))
lab_stop copy KILL >/dev/null 2>&1
open_at_kill=$(target_open_to_clients)
restart=$(now_ms)
http_copy copy "$NS_ONLINE" 80
probe_wait=$(now_ms)
probe=$(recovery_probe 60) || fail "no request replayed within 60 s of the restart: $(copy_summary copy)"
RECOVERY_MS=$((probe_wait - restart + probe))
touch "$LAB_DIR/idle-close"
lab_wait_exit "$(lab_pid idle)" 30
grep -q closed "$LAB_DIR/idle.log" || fail "the idle client failed: $(tail -n 2 "$LAB_DIR/idle.log")"
load_wait during
fault_end

ended=$(now_ms)
[ -n "$long_ports" ] || fail "no long-lived client connection seen before the kill"
# What the resets free: the long-lived connections' sockets at the target,
# within FAULT_RESET_SECONDS (default 30; nginx would keep them 75 s).
wait_until "${FAULT_RESET_SECONDS:-30}" no_long_at_target ||
	fail "the target still holds $(long_at_target) of the long-lived connections (client ports $(echo $long_ports)) $((($(now_ms) - ended) / 1000)) s after the load: $(target_sockets_left)"
reset_s=$((($(now_ms) - ended) / 1000))
# A connection whose client sent nothing after the restart (a one-request
# connection caught at the kill) only the target's timeouts end: any
# socket, within FAULT_HALFOPEN_SECONDS (default 200).
left=$(target_open_to_clients)
wait_until "${FAULT_HALFOPEN_SECONDS:-200}" no_open_to_clients ||
	fail "the target still holds $(target_open_to_clients) sockets to the clients $((($(now_ms) - ended) / 1000)) s after the load: $(target_sockets_left)"
halfopen_s=$((($(now_ms) - ended) / 1000))
stale=$(stats_get copy stale_resets)
[ "$open_at_kill" = 0 ] || [ "${stale:-0}" -ge 1 ] ||
	fail "the target held $open_at_kill sockets at the kill and none was reset (stale_resets ${stale:-none})"
orphan=$(stats_get copy orphan_resets)
[ "${orphan:-0}" -ge 1 ] || fail "the idle connection's FIN after the restart sent no RST (orphan_resets ${orphan:-none})"
lab_stop copy || fail "doppel-copy exited with status $? on SIGTERM"
client_clean
pass "$(fault_report); $stale stale connection(s) reset, $orphan orphan FIN(s) reset, $(stats_get copy sessions_missed_start) missed start(s); the target held $open_at_kill sockets to the clients at the kill (long-lived: $(echo $long_ports | wc -w)), none of the long-lived ones $reset_s s after the load, and none but TIME-WAIT $halfopen_s s after it ($left left at $reset_s s: connections whose clients sent nothing after the restart)"
