#!/usr/bin/env bash
# HTTP keep-alive at full speed: wrk, 4 connections, 3 s, no pacing — as
# many requests as the online host can serve on this machine (about 10,000
# a second on 2 cores), every one of them served again by the target.
. "$(dirname "$0")/../lib.sh"
scenario_begin http-saturation "$1"
http_lab 80
http_copy copy "$NS_ONLINE" 80

client_run 30 wrk -t1 -c4 -d3s "http://$ADDR_ONLINE/" >"$LAB_DIR/wrk.out" 2>&1 ||
	fail "wrk failed: $(tail -n 3 "$LAB_DIR/wrk.out")"
http_settle 60 copy
http_judge
copy_stopped_clean copy
pass "$JUDGED requests in 3 s at online and at target; $(stats_get copy capture_kernel_drops) capture drops; $(copy_summary copy)"
