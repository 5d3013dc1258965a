#!/usr/bin/env bash
# HTTP, one request per connection: 200 short connections, replayed from
# online port 80 to the target's port 8080 (the port is rewritten).
. "$(dirname "$0")/../lib.sh"
scenario_begin http-per-connection "$1"
http_lab 8080
http_copy copy "$NS_ONLINE" 8080

curl_each 200 "http://$HOST_ONLINE/"
http_settle 60 copy
http_judge
connections=$(nginx_connections target)
[ "$connections" = 200 ] || fail "the target saw $connections connections, not 200"
lab_stop copy || fail "doppel-copy exited with status $? on SIGTERM"
lab_stop intercept || fail "doppel-intercept exited with status $? on SIGTERM"
[ "$(stats_get copy sessions_failed)" = 0 ] || fail "sessions failed: $(copy_summary copy)"
client_clean
# Answers that reached intercept before their session's route: held until
# the route came (or, held too long, unrouted: that session's SYN goes again
# a second later). Reported, not judged.
pass "$JUDGED requests on $connections connections at online and at target (port 80 -> 8080); $(copy_summary copy); intercept: $(stats_get intercept summaries_held) answers held for their route, $(stats_get intercept summaries_held_delivered) delivered, $(stats_get intercept summaries_unrouted) unrouted"
