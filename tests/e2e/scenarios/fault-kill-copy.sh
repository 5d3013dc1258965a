#!/usr/bin/env bash
# Fault under load: doppel-copy killed with SIGKILL while the clients' load
# runs, then started again. A restart cannot recover the sessions the dead
# process was replaying (their state was in its memory): what it can do is
# replay every session that starts after it, take up the kept-alive
# connection from its next request (a missed start), and leave the target
# with no connection of the dead one: the kept-alive connection's socket at
# the target answers the new session's SYN with a challenge ACK, which the
# engine resets (stale_resets) before its SYN goes again. Judged: before
# and after, every request; the target holds no socket to the client
# addresses but TIME-WAIT within FAULT_HALFOPEN_SECONDS (default 30) of the
# load's end (before stale_resets it took the target's own timeouts, about
# 120 s); a socket open at the kill was reset; the real clients never see
# a packet of the replay.
. "$(dirname "$0")/../lib.sh"
. "$E2E_DIR/faults.sh"
scenario_begin fault-kill-copy "$1"
fault_begin

load_start during "$FAULT_SECONDS"
sleep 2
lab_stop copy KILL >/dev/null 2>&1
open_at_kill=$(target_open_to_clients)
restart=$(now_ms)
http_copy copy "$NS_ONLINE" 80
probe_wait=$(now_ms)
probe=$(recovery_probe 60) || fail "no request replayed within 60 s of the restart: $(copy_summary copy)"
RECOVERY_MS=$((probe_wait - restart + probe))
load_wait during
fault_end

ended=$(now_ms)
wait_until "${FAULT_HALFOPEN_SECONDS:-30}" no_open_to_clients ||
	fail "the target still holds $(target_open_to_clients) sockets to the clients $((($(now_ms) - ended) / 1000)) s after the load: $(in_ns "$NS_TARGET" ss -Htn state all "( dst $ADDR_CLIENT )" | head -n 3 | tr '\n' ';')"
halfopen_s=$((($(now_ms) - ended) / 1000))
stale=$(stats_get copy stale_resets)
[ "$open_at_kill" = 0 ] || [ "${stale:-0}" -ge 1 ] ||
	fail "the target held $open_at_kill sockets at the kill and none was reset (stale_resets ${stale:-none})"
lab_stop copy || fail "doppel-copy exited with status $? on SIGTERM"
client_clean
pass "$(fault_report); $stale stale connection(s) reset, $(stats_get copy sessions_missed_start) missed start(s); the target held $open_at_kill sockets to the clients at the kill and none but TIME-WAIT $halfopen_s s after the load"
