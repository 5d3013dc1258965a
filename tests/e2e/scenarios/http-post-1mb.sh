#!/usr/bin/env bash
# HTTP POST bodies of 1 MB: 6 on one kept-alive connection, 4 on connections
# of their own. nginx reads each body in full, and its access log's
# request_length (headers + body) must match at online and at target.
. "$(dirname "$0")/../lib.sh"
scenario_begin http-post-1mb "$1"
http_lab 80
http_copy copy "$NS_ONLINE" 80

head -c 1048576 /dev/urandom >"$LAB_DIR/post.bin"
client_run 60 curl -s --data-binary @"$LAB_DIR/post.bin" "http://$ADDR_ONLINE/post?k=[1-6]" >/dev/null ||
	fail "curl: kept-alive POSTs failed"
client_run 60 curl -s -H 'Connection: close' --data-binary @"$LAB_DIR/post.bin" \
	"http://$ADDR_ONLINE/post?n=[1-4]" >/dev/null || fail "curl: POSTs on their own connections failed"
http_settle 90 copy
http_judge
big=$(awk '$5 == "POST" && $7 == 200 && $8 > 1048576' "$LAB_DIR/target/access.log" | wc -l)
[ "$big" = 10 ] || fail "the target read $big whole 1 MB bodies of 10"
copy_stopped_clean copy
pass "$JUDGED POSTs of 1 MB read whole at online and at target ($(stats_get copy bytes_replayed) bytes replayed); $(copy_summary copy)"
