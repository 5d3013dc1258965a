#!/bin/sh
# Runs inside a systemd-nspawn container booted by tests/ops/run.sh, as a
# oneshot unit, with systemd 252 as PID 1: starts the real units and checks
# what systemd and the kernel say about them. Writes PASS/FAIL lines to
# /ops-out/results, then powers the container off. The container has its
# own network namespace (lo only), so the NFQUEUE rules installed here and
# every packet stay inside it.
out=/ops-out/results
: >"$out"
pass() { echo "PASS $1" >>"$out"; }
fail() { echo "FAIL $1: $2" >>"$out"; }
prop() { systemctl show -p "$2" --value "$1"; }
caps_want=0000000000003000

# The unit's main process: uid, and exactly CAP_NET_RAW|CAP_NET_ADMIN.
check_process() {
	unit=$1 name=systemd_privileges_$1
	pid=$(prop "$unit" MainPID)
	uid=$(awk '/^Uid:/ { print $2 $3 $4 $5 }' "/proc/$pid/status" 2>/dev/null)
	eff=$(awk '/^CapEff:/ { print $2 }' "/proc/$pid/status" 2>/dev/null)
	prm=$(awk '/^CapPrm:/ { print $2 }' "/proc/$pid/status" 2>/dev/null)
	bnd=$(awk '/^CapBnd:/ { print $2 }' "/proc/$pid/status" 2>/dev/null)
	nnp=$(awk '/^NoNewPrivs:/ { print $2 }' "/proc/$pid/status" 2>/dev/null)
	want_uid=$(id -u doppel)
	if [ "$uid" != "$want_uid$want_uid$want_uid$want_uid" ]; then
		fail "$name" "MainPID $pid: Uid '$uid', want $want_uid (doppel) four times; $(head -c 300 "/proc/$pid/status" 2>&1 | tr '\n' ' ')"
	elif [ "$eff" != $caps_want ] || [ "$prm" != $caps_want ] || [ "$bnd" != $caps_want ]; then
		fail "$name" "CapEff $eff CapPrm $prm CapBnd $bnd, want $caps_want"
	elif [ "$nnp" != 1 ]; then
		fail "$name" "NoNewPrivs $nnp"
	else
		pass "$name"
	fi
}

# Start a unit and wait (at most 30 s) for it to be active: with
# Type=notify that is when the daemon said READY=1.
start_unit() {
	unit=$1
	systemctl start --no-block "$unit"
	for _ in $(seq 60); do
		case $(prop "$unit" ActiveState) in
		active)
			pass "systemd_ready_$unit"
			return 0 ;;
		failed | inactive)
			break ;;
		esac
		sleep 0.5
	done
	{ systemctl list-jobs; systemctl status "$unit"; } >>/ops-out/systemctl.log 2>&1
	fail "systemd_ready_$unit" "not active ($(prop "$unit" ActiveState)/$(prop "$unit" SubState)): $(journalctl -u "$unit" -o cat --no-pager | tail -n 4 | tr '\n' ' ')"
	return 1
}

rules_installed() { doppel-rules show 2>&1 | grep -q 'sport 8080'; }

# The pre-shared key of both configs (run.sh wrote it, mode 0600): the
# daemons read it as the units' user.
chown doppel:doppel /etc/doppel/tls/channel.psk

if start_unit doppel-intercept; then
	check_process doppel-intercept
	if rules_installed; then
		pass systemd_rules_installed
	else
		fail systemd_rules_installed "doppel-rules show: $(doppel-rules show 2>&1 | tr '\n' ' ')"
	fi
fi
start_unit doppel-copy && check_process doppel-copy

# The units' WatchdogSec is 8 s here (a drop-in; 30 s as shipped), pinged
# every 4 s: after 17 s without a ping systemd would have killed and
# restarted them (Result=watchdog). The margin is for a loaded machine.
copy_pid=$(prop doppel-copy MainPID)
intercept_pid=$(prop doppel-intercept MainPID)
sleep 17
for unit in doppel-copy doppel-intercept; do
	state=$(prop $unit ActiveState) restarts=$(prop $unit NRestarts) result=$(prop $unit Result)
	if [ "$state" = active ] && [ "$restarts" = 0 ] && [ "$result" = success ]; then
		pass "systemd_watchdog_$unit"
	else
		fail "systemd_watchdog_$unit" "ActiveState $state NRestarts $restarts Result $result"
	fi
done
# The same processes as before the wait, both still there (MainPID is 0
# for a unit that is not running: never "the same").
now_copy=$(prop doppel-copy MainPID) now_intercept=$(prop doppel-intercept MainPID)
if [ "${copy_pid:-0}" != 0 ] && [ "${intercept_pid:-0}" != 0 ] &&
   [ "$now_copy" = "$copy_pid" ] && [ "$now_intercept" = "$intercept_pid" ] &&
   kill -0 "$copy_pid" && kill -0 "$intercept_pid"; then
	pass systemd_same_process
else
	fail systemd_same_process "MainPID copy ${copy_pid:-none} -> $now_copy, intercept ${intercept_pid:-none} -> $now_intercept"
fi

# The statistics file, written by the daemon as doppel into its
# RuntimeDirectory (ProtectSystem=strict leaves nothing else writable).
stats=/run/doppel/copy/stats.json
if [ -s $stats ] && [ "$(stat -c %U $stats)" = doppel ]; then
	pass systemd_stats_file
else
	fail systemd_stats_file "$stats: $(ls -l $stats 2>&1)"
fi

# Reload is SIGHUP, which reopens the log file: moved away (as logrotate
# does), a reload must make the daemon write a new one, in the unit's
# LogsDirectory, as doppel; the moved file must not get the new lines.
# wait_for SECONDS CMD...: poll CMD every 0.5 s.
wait_for() {
	tries=$(($1 * 2))
	shift
	while [ "$tries" -gt 0 ]; do
		"$@" && return 0
		sleep 0.5
		tries=$((tries - 1))
	done
	return 1
}
log=/var/log/doppel/copy.log
reopened() { grep -q 'SIGHUP: log file reopened' $log 2>/dev/null; }
if ! wait_for 30 test -s $log; then
	fail systemd_reload "doppel-copy wrote no log file $log: $(ls -l /var/log/doppel 2>&1 | tr '\n' ' ')"
else
	mv $log $log.1
	systemctl reload doppel-copy
	wait_for 30 reopened
	if [ "$(prop doppel-copy ActiveState)" != active ] || [ "$(prop doppel-copy MainPID)" != "$copy_pid" ]; then
		fail systemd_reload "doppel-copy not active with the same process after reload"
	elif ! reopened || [ "$(stat -c %U $log)" != doppel ] ||
	     grep -q 'SIGHUP: log file reopened' $log.1; then
		fail systemd_reload "log not reopened: $(ls -l /var/log/doppel 2>&1 | tr '\n' ' '), new file: $(tail -n 2 $log 2>&1 | tr '\n' ' ')"
	else
		pass systemd_reload
	fi
fi

systemctl stop doppel-copy doppel-intercept
copy_status=$(prop doppel-copy ExecMainStatus) intercept_status=$(prop doppel-intercept ExecMainStatus)
if [ "$copy_status" = 0 ] && [ "$intercept_status" = 0 ]; then
	pass systemd_stop
else
	fail systemd_stop "exit status after SIGTERM: copy $copy_status, intercept $intercept_status"
fi
if rules_installed; then
	fail systemd_rules_removed "rules still installed after stop"
else
	pass systemd_rules_removed
fi

# A refused configuration: the start fails with the daemon's exit status 2
# and its message in the journal.
echo "transfer = 80-nowhere" >>/etc/doppel/doppel-copy.conf
systemctl start doppel-copy 2>/dev/null
status=$(prop doppel-copy ExecMainStatus)
if [ "$status" = 2 ] && journalctl -u doppel-copy -o cat --no-pager | grep -q "80-nowhere"; then
	pass systemd_bad_config
else
	fail systemd_bad_config "ExecMainStatus $status, journal: $(journalctl -u doppel-copy -o cat --no-pager | tail -n 2 | tr '\n' ' ')"
fi
systemctl stop doppel-copy 2>/dev/null
journalctl -o short-monotonic --no-pager -u doppel-copy -u doppel-intercept >/ops-out/journal.log 2>&1
echo finished >>"$out"
systemctl --no-block poweroff
