#!/usr/bin/env bash
# Long downloads (issue 12): 20 clients at once fetch files of 1, 8 and
# 64 MiB over HTTP/1.0, HTTP/1.1 kept alive (each a second file after the
# first: the next request follows a long answer) and HTTP/1.1 chunked.
# The replayed client must not send its next request or its FIN before the
# target has sent what the online client had read: every body must be
# complete at the target, that is nginx's logged body bytes equal the
# file's size (chunked: the size and the framing), for the very same
# requests as online.
. "$(dirname "$0")/../lib.sh"
scenario_begin http-downloads "$1"
http_lab 80
http_copy copy "$NS_ONLINE" 80

MiB=1048576
for host in online target; do
	for n in 1 8 64; do
		truncate -s $((n * MiB)) "$LAB_DIR/$host/www/f$n" # sparse: no disk, no time
	done
done

# Each client: curl with its own URIs (?c=N), output thrown away; curl
# reads every byte before it exits, and its exit status says the body was
# whole at online.
client() {
	local id=$1 opts=$2
	shift 2
	local urls=() f
	for f in "$@"; do urls+=(-o /dev/null "http://$HOST_ONLINE/$f?c=$id"); done
	client_run 150 curl -sf "$opts" "${urls[@]}"
}
pids=()
id=0
for n in 1 8; do
	for i in 1 2 3; do
		id=$((id + 1)); client $id --http1.0 "f$n" & pids+=($!)
		id=$((id + 1)); client $id --http1.1 "f$n" f1 & pids+=($!)
		id=$((id + 1)); client $id --http1.1 "chunked/f$n" chunked/f1 & pids+=($!)
	done
done
id=$((id + 1)); client $id --http1.0 f1 & pids+=($!)
id=$((id + 1)); client $id --http1.1 f64 & pids+=($!)
failed=0
for pid in "${pids[@]}"; do wait "$pid" || failed=$((failed + 1)); done
[ "$failed" = 0 ] || fail "$failed of ${#pids[@]} curl clients failed against online"

http_settle 180 copy
http_judge
# The bodies: $6 the URI (?c=N names each client), $7 the status, $9
# body_bytes_sent: the file's size, or more when chunked (the framing, which
# differs with the timing, is counted too).
short=$(awk -v M=$MiB '{
	f = $6; sub(/\?.*/, "", f); sub(/.*\/f/, "", f)
	if ($7 != 200 || $9 < f * M || ($6 !~ /chunked/ && $9 != f * M)) print $6, $7, $9 }' \
	"$LAB_DIR/target/access.log")
[ -z "$short" ] || fail "bodies cut short at the target: $(echo "$short" | head -n 5 | tr '\n' ';')"
chunked=$(awk '$6 ~ /chunked/' "$LAB_DIR/target/access.log" | wc -l)
[ "$chunked" = 12 ] || fail "$chunked chunked downloads at the target, not 12"
waits=$(stats_get copy pace_waits)
copy_stopped_clean copy
pass "$JUDGED downloads (1, 8, 64 MiB; HTTP/1.0, kept alive, chunked), 20 clients at once, every body whole at the target; $waits packets waited for the target's answer ($(stats_get copy pace_wait_ms) ms in all, $(stats_get copy pace_timeouts) let go by the quiet period after $(stats_get copy pace_probes) probes); $(copy_summary copy)"
