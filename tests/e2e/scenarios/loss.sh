#!/usr/bin/env bash
# 5% loss on the path to the target (nft `numgen random mod 100 < 5 drop` on
# the target's input: this kernel has no netem): the copy daemon
# retransmits, and every request still arrives.
. "$(dirname "$0")/../lib.sh"
scenario_begin loss "$1"
http_lab 80
in_ns "$NS_TARGET" nft -f - <<EOF2 || fail "could not install the loss rule in target"
table inet doppel_e2e_loss {
	counter dropped {}
	chain input {
		type filter hook input priority -300; policy accept;
		tcp dport 80 numgen random mod 100 < 5 counter name dropped drop
	}
}
EOF2
http_copy copy "$NS_ONLINE" 80

curl_each 100 "http://$HOST_ONLINE/"
curl_keepalive 200 "http://$HOST_ONLINE/"
wrk_paced 2 2 "http://$HOST_ONLINE/" 10
http_settle 120 copy
http_judge
dropped=$(in_ns "$NS_TARGET" nft list counter inet doppel_e2e_loss dropped | sed -n 's/.*packets \([0-9]*\).*/\1/p')
[ "${dropped:-0}" -gt 0 ] || fail "the loss rule dropped nothing"
lab_stop copy || fail "doppel-copy exited with status $? on SIGTERM"
[ "$(stats_get copy sessions_failed)" = 0 ] || fail "sessions failed: $(copy_summary copy)"
[ "$(stats_get copy retransmissions)" -gt 0 ] || fail "$dropped packets lost and no retransmission: $(copy_summary copy)"
client_clean
pass "$JUDGED of $JUDGED requests arrived through $dropped dropped packets; $(copy_summary copy)"
