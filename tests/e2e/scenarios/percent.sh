#!/usr/bin/env bash
# -r 50: about half of the sessions are replayed (chosen by a hash of the
# client address and port), each of them whole. Of 200 one-request
# sessions, between 60 and 140 reach the target (50% +- 5.6 standard
# deviations), and nothing the online host did not serve.
. "$(dirname "$0")/../lib.sh"
scenario_begin percent "$1"
http_lab 80
http_copy copy "$NS_ONLINE" 80 -r 50

curl_each 200 "http://$ADDR_ONLINE/"
started_is_final() { copy_idle copy 5 && [ "$(stats_get copy sessions_started)" = "$(nginx_requests target)" ]; }
wait_until 60 started_is_final
lab_stop copy || fail "doppel-copy exited with status $? on SIGTERM"
started=$(stats_get copy sessions_started)
target=$(nginx_requests target)
[ "$target" -ge 60 ] && [ "$target" -le 140 ] || fail "$target of 200 sessions reached the target with -r 50"
[ "$target" = "$started" ] || fail "doppel-copy started $started sessions, the target served $target"
extra=$(comm -13 <(online_fingerprint) <(nginx_fingerprint target) | wc -l)
[ "$extra" = 0 ] || fail "the target served $extra requests online did not"
[ "$(stats_get copy sessions_failed)" = 0 ] || fail "sessions failed: $(copy_summary copy)"
client_clean
pass "$target of 200 sessions replayed with -r 50, each whole; $(copy_summary copy)"
