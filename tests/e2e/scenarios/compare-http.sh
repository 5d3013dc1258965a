#!/usr/bin/env bash
# --compare http (docs/compare.md): the target's nginx answers /broken with
# 500 and /changed with another body, adds a header the operator marks
# volatile (as are Date, Server, ETag and Last-Modified, which differ between
# the two nginx too), and serves /slow (the same page) through a backend
# that waits 200 ms. doppel-copy must report exactly those requests, by kind
# and count, call every other request the same, and doppel-compare-report
# must name them, most frequent first. /slow's 4 requests must be reported
# slower (--compare-slower 50: their target waits 200 ms by construction);
# other requests reported slower on a loaded machine are counted and shown,
# not failed (their latency is the machine's, not the target's).
# Long answers: /big (4 MiB, the same file on both) compares the same by its
# digest alone, /bigdiff (its last byte differs at the target) as body. The
# target sends MSS-sized segments (TSO and GSO off, as a real NIC puts them
# on the wire), so intercept's 16 KiB a packet carries whole payloads and no
# answer is partial.
. "$(dirname "$0")/../lib.sh"
scenario_begin compare-http "$1"
lab_build || fail "could not build the lab"
nginx_start online "$NS_ONLINE" "$ADDR_ONLINE" 80 || fail "nginx did not start in online"
slow_port=$((30000 + RANDOM % 10000))
NGINX_EXTRA="location = /broken { return 500 \"broken\\n\"; }
location = /changed { default_type text/plain; return 200 \"changed\\n\"; }
location = /slow { proxy_pass http://127.0.0.1:$slow_port; add_header Accept-Ranges bytes; }
add_header X-Target-Build 42;" \
	nginx_start target "$NS_TARGET" "$ADDR_TARGET" 80 || fail "nginx did not start in target"
lab_spawn slow "$NS_TARGET" python3 "$E2E_DIR/slow_http.py" "$slow_port" \
	"$LAB_DIR/target/www/index.html" 200 240
lab_wait_listen "$NS_TARGET" "$slow_port" 10 || fail "the slow backend did not listen"
in_ns "$NS_TARGET" ethtool -K eth0 tso off gso off >/dev/null 2>&1 || fail "ethtool -K eth0 tso off gso off failed in target"
for side in online target; do
	head -c 4194304 /dev/zero | tr '\0' 'a' >"$LAB_DIR/$side/www/big"
	cp "$LAB_DIR/$side/www/big" "$LAB_DIR/$side/www/bigdiff"
done
printf 'b' | dd of="$LAB_DIR/target/www/bigdiff" bs=1 seek=4194303 conv=notrunc 2>/dev/null
# Answer bytes in the summaries (intercept's most, 16 KiB a packet), so bodies
# are compared, not only verdicts.
INTERCEPT_EXTRA_ARGS=(--route-payload 16384)
intercept_start "$SOURCE" 80 || fail "doppel-intercept did not start ($SOURCE)"
http_copy copy "$NS_ONLINE" 80 --compare http --compare-log "$LAB_DIR/diff.jsonl" \
	--compare-volatile date,server,etag,last-modified,x-target-build --compare-slower 50

# 20 requests on one kept-alive connection (5 broken, 3 changed), 10 one per
# connection, and wrk's kept-alive load, all of the same page but the 8.
client_run 60 curl -s "http://$ADDR_ONLINE/broken?b=[1-5]" "http://$ADDR_ONLINE/changed?c=[1-3]" \
	"http://$ADDR_ONLINE/slow?w=[1-4]" "http://$ADDR_ONLINE/same?s=[1-12]" \
	"http://$ADDR_ONLINE/big" "http://$ADDR_ONLINE/bigdiff" >/dev/null ||
	fail "curl to online failed"
curl_each 10 "http://$ADDR_ONLINE/"
wrk_paced 2 2 "http://$ADDR_ONLINE/" 5
http_settle 60 copy
online=$(online_requests)
target=$(nginx_requests target)
[ "$online" = "$target" ] || fail "online served $online requests, target $target"
lab_stop copy || fail "doppel-copy exited with status $? on SIGTERM"

requests=$(stats_get copy compare_requests)
same=$(stats_get copy compare_same)
status=$(stats_get copy compare_different_status)
slower=$(stats_get copy compare_slower)
body=$(stats_get copy compare_different_body)
missing=$(stats_get copy compare_missing)
malformed=$(stats_get copy compare_malformed)
figures="compared $requests of $online: $same same, $status status, $body body, $missing missing, $malformed malformed, $slower slower, $(stats_get copy compare_partial) partial"
[ "$requests" = "$online" ] || fail "not every request was compared: $figures"
[ "$status" = 5 ] && [ "$body" = 4 ] && [ "$missing" = 0 ] && [ "$malformed" = 0 ] &&
	[ "$same" = $((online - 9)) ] && [ "$slower" -ge 4 ] && [ "$(stats_get copy compare_partial)" = 0 ] ||
	fail "$figures"
[ "$(wc -l <"$LAB_DIR/diff.jsonl")" = $((9 + slower)) ] ||
	fail "the diff log has $(wc -l <"$LAB_DIR/diff.jsonl") lines, not $((9 + slower))"
"$REPORT_BIN" "$LAB_DIR/diff.jsonl" >"$LAB_DIR/report.txt" 2>&1 || fail "doppel-compare-report failed: $(cat "$LAB_DIR/report.txt")"
grep -Eq '^ +5  status +GET /broken +200 -> 500 ' "$LAB_DIR/report.txt" &&
	grep -Eq '^ +4  slower +GET /slow +200 -> 200 ' "$LAB_DIR/report.txt" &&
	grep -Eq '^ +3  body +GET /changed +200 -> 200 ' "$LAB_DIR/report.txt" &&
	grep -Eq '^ +1  body +GET /bigdiff +200 -> 200 ' "$LAB_DIR/report.txt" &&
	[ "$(grep -v ' slower ' "$LAB_DIR/report.txt" | grep -c ' e\.g\. ')" = 3 ] ||
	fail "the report does not name /broken (5, status), /slow (4, slower), /changed (3, body) and /bigdiff (1, body) alone: $(cat "$LAB_DIR/report.txt")"
# The slow path's mean time to first byte at the target is 200 ms or more.
awk '/ slower +GET \/slow / { split($(NF-4), t, "/"); exit !(t[2] >= 200) }' "$LAB_DIR/report.txt" ||
	fail "the report's target time for /slow is under 200 ms: $(grep slower "$LAB_DIR/report.txt")"
sed 's/^/    report| /' "$LAB_DIR/report.txt"
client_clean
pass "$figures; the report names /broken, /slow, /changed and /bigdiff"
