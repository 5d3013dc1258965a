#!/usr/bin/env bash
# Two online hosts, each with its own doppel-copy, replaying to one target
# through one intercept: the target serves the sum, each client address's
# requests come from its own online host, and each copy daemon gets the
# summaries of its own sessions only (none unmatched).
. "$(dirname "$0")/../lib.sh"
scenario_begin two-online "$1"
http_lab 80 online2
http_copy copy "$NS_ONLINE" 80
http_copy copy2 "$NS_ONLINE2" 80
ONLINE_HOSTS="online online2"

# The client talks to online from 198.18.0.1 and to online2 from 198.18.0.6,
# to both at once. Every connection ends with FIN (curl, not wrk, whose
# RSTs at exit leave answers in flight that may arrive after the session
# ended, and count as unmatched without being anyone else's).
(curl_keepalive 300 "http://$ADDR_ONLINE/" && curl_each 40 "http://$ADDR_ONLINE/") &
first=$!
curl_keepalive 300 "http://$ADDR_ONLINE2/"
curl_each 40 "http://$ADDR_ONLINE2/"
wait $first || fail "the client's traffic to online failed"
http_settle 60 copy copy2
http_judge
from1=$(nginx_requests target "^$ADDR_CLIENT ")
from2=$(nginx_requests target "^$ADDR_CLIENT2 ")
[ "$from1" = "$(nginx_requests online)" ] && [ "$from2" = "$(nginx_requests online2)" ] ||
	fail "target: $from1 requests from $ADDR_CLIENT (online served $(nginx_requests online)), $from2 from $ADDR_CLIENT2 (online2 served $(nginx_requests online2))"
lab_stop copy || fail "doppel-copy (online) exited with status $? on SIGTERM"
lab_stop copy2 || fail "doppel-copy (online2) exited with status $? on SIGTERM"
lab_stop intercept || fail "doppel-intercept exited with status $? on SIGTERM"
for name in copy copy2; do
	[ "$(stats_get $name summaries_unmatched)" = 0 ] && [ "$(stats_get $name summaries)" -gt 0 ] &&
		[ "$(stats_get $name sessions_failed)" = 0 ] || fail "$name: $(copy_summary $name)"
done
routed=$(stats_get intercept summaries_routed)
sum=$(($(stats_get copy summaries) + $(stats_get copy2 summaries)))
[ "$routed" = "$sum" ] || fail "intercept routed $routed summaries, the copy daemons received $sum"
client_clean
pass "target served $JUDGED = $from1 (online) + $from2 (online2); intercept routed $routed summaries = $(stats_get copy summaries) + $(stats_get copy2 summaries), none unmatched"
