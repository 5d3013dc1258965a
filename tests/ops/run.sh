#!/usr/bin/env bash
# The operations suite: systemd units, make install, the module source
# built by DKMS, Debian packages, lintian, the man pages and sample configs
# against the daemons' real options, the unit's setup helper, each daemon
# under a stand-in for systemd's notification socket (READY=1, WATCHDOG=1)
# and with --user (uid and capabilities from /proc/PID/status), and the
# installed units started by systemd itself, PID 1 of a systemd-nspawn
# container (tests/ops/in_container.sh).
#
# One line per test: PASS name / FAIL name: why / SKIP name: why.
# Daemons run only inside a network namespace made here (dp-ops-*), with
# addresses from 198.18.0.0/15; nothing is sent out of it.
#
# DOPPEL_BUILD (or DOPPEL_BINDIR, as the kmod suite): where the daemons are
# built, a make BUILD directory (default build, as make check).
set -uo pipefail
cd "$(dirname "$0")/../.." || exit 1
repo=$PWD
build=${DOPPEL_BUILD:-${DOPPEL_BINDIR:-build}}
version=$(sed -n 's/^VERSION *:= *//p' Makefile)
work=$(mktemp -d /tmp/dp-ops.XXXXXX)
chmod 0755 "$work"	# the daemons reach the notify socket after --user nobody
ns=dp-ops-$$-$RANDOM
pids=()

cleanup() {
	local p
	# Only a daemon of ours still running: a pid stopped earlier in the run
	# may belong to some other process by now.
	for p in "${pids[@]}"; do
		[[ $(cmdline_of "$p") == *"$build/doppel-"* ]] || continue
		kill "$p" 2>/dev/null && wait "$p" 2>/dev/null
	done
	ip netns del "$ns" 2>/dev/null
	rm -rf "$work"
}
trap cleanup EXIT

# A process's command line, or nothing when it is gone. (No "cmd | grep -q"
# in this file: with pipefail, grep's early exit can fail the pipeline.)
cmdline_of() { { tr '\0' ' ' <"/proc/$1/cmdline"; } 2>/dev/null; }
pass() { echo "PASS $1"; }
fail() { echo "FAIL $1: $2"; }
skip() { echo "SKIP $1: $2"; }
# Show a log's last lines for a failure's context (not a test line).
show() { sed -n '1,200p' "$1" | tail -n "${2:-15}" | sed 's/^/    | /'; }

# ---------------------------------------------------------------- install
root=$work/root
install_ok=no
if make --no-print-directory BUILD="$build" PREFIX=/usr DESTDIR="$root" install \
	>"$work/install.log" 2>&1; then
	install_ok=yes
	pass make_install
else
	fail make_install "make install DESTDIR=... failed"
	show "$work/install.log"
fi

expected_install_files() {
	cat <<-LIST
	usr/sbin/doppel-copy
	usr/sbin/doppel-intercept
	usr/sbin/doppel-rules
	usr/sbin/doppel-tunnel
	usr/bin/doppel-compare-report
	lib/systemd/system/doppel-copy.service
	lib/systemd/system/doppel-intercept.service
	usr/libexec/doppel/doppel-intercept-setup
	usr/lib/tmpfiles.d/doppel.conf
	usr/lib/sysusers.d/doppel.conf
	etc/doppel/doppel-copy.conf
	etc/doppel/doppel-intercept.conf
	etc/doppel/doppel-intercept.env
	etc/logrotate.d/doppel
	usr/share/doc/doppel/examples/sysctl.d/90-doppel-assistant.conf
	usr/share/doc/doppel/examples/sysctl.d/90-doppel-target.conf
	usr/share/man/man8/doppel-copy.8
	usr/share/man/man8/doppel-intercept.8
	usr/share/man/man8/doppel-rules.8
	usr/share/man/man8/doppel-tunnel.8
	usr/share/man/man1/doppel-compare-report.1
	usr/share/doc/doppel/examples/nft/doppel-assistant.nft
	usr/share/doc/doppel/architecture.md
	usr/share/doc/doppel/deployment.md
	usr/share/doc/doppel/troubleshooting.md
	usr/share/doc/doppel/glossary.md
	usr/share/doc/doppel/protocol.md
	usr/share/doc/doppel/kmod.md
	usr/src/doppel-$version/dkms.conf
	usr/src/doppel-$version/include/uapi/doppel.h
	LIST
}

test_install_files() {
	local missing="" f
	while read -r f; do
		[ -e "$root/$f" ] || missing="$missing $f"
	done < <(expected_install_files)
	if ! ls "$root/usr/src/doppel-$version/kmod/"*.c >/dev/null 2>&1; then
		missing="$missing usr/src/doppel-$version/kmod/*.c"
	fi
	if [ -n "$missing" ]; then
		fail install_files "missing:$missing"
		return
	fi
	# Units name the installed paths, never DESTDIR, and the DKMS tree
	# holds sources only.
	if grep -q "$work" "$root"/lib/systemd/system/*.service "$root/usr/libexec/doppel/doppel-intercept-setup"; then
		fail install_files "an installed file names the DESTDIR"
	elif ! grep -q '^ExecStart=/usr/sbin/doppel-copy --config /etc/doppel/doppel-copy.conf$' \
		"$root/lib/systemd/system/doppel-copy.service"; then
		fail install_files "doppel-copy.service does not start /usr/sbin/doppel-copy"
	elif [ -n "$(find "$root/usr/src" -name '*.o' -o -name '*.ko')" ]; then
		fail install_files "build products in the DKMS source"
	elif grep -q '#MODULE_VERSION#' "$root/usr/src/doppel-$version/dkms.conf"; then
		fail install_files "dkms.conf still says #MODULE_VERSION#"
	else
		pass install_files
	fi
}

# A second install keeps a changed config and puts the new sample beside it.
test_install_keeps_config() {
	local conf=$root/etc/doppel/doppel-copy.conf
	echo "transfer = 80-198.18.0.3:80  # mine" >>"$conf"
	if ! DESTDIR="$root" PREFIX=/usr scripts/install-extra.sh >"$work/install2.log" 2>&1; then
		fail install_keeps_config "second install-extra.sh failed"
	elif ! grep -q '# mine' "$conf"; then
		fail install_keeps_config "the changed config was overwritten"
	elif ! cmp -s systemd/doppel-copy.conf "$conf.dist"; then
		fail install_keeps_config "no $conf.dist with the new sample"
	else
		pass install_keeps_config
	fi
}

if [ "$install_ok" = yes ]; then
	test_install_files
	test_install_keeps_config
else
	skip install_files "make install failed"
	skip install_keeps_config "make install failed"
fi

# make uninstall removes every installed file but the configuration, in a
# second DESTDIR (the first is used below).
test_uninstall() {
	local dir=$work/uninstall left
	if ! make --no-print-directory BUILD="$build" PREFIX=/usr DESTDIR="$dir" install \
		>"$work/uninstall.log" 2>&1 ||
	   ! make --no-print-directory BUILD="$build" PREFIX=/usr DESTDIR="$dir" uninstall \
		>>"$work/uninstall.log" 2>&1; then
		fail uninstall "make install/uninstall failed"
		show "$work/uninstall.log"
		return
	fi
	left=$(cd "$dir" && find . ! -type d | sed 's|^\./||' | grep -v '^etc/doppel/' | sort)
	if [ -n "$left" ]; then
		fail uninstall "left behind: $(echo "$left" | head -n 5 | tr '\n' ' ')"
	elif [ ! -f "$dir/etc/doppel/doppel-copy.conf" ]; then
		fail uninstall "the configuration was removed"
	else
		pass uninstall
	fi
}
if [ "$install_ok" = yes ]; then
	test_uninstall
else
	skip uninstall "make install failed"
fi

# A private PREFIX or a DESTDIR keeps every file under it, even as root
# (tests/ops/install_contained.sh: under a read-only root file system).
tests/ops/install_contained.sh "$build" "$work"

# The module source as installed builds with DKMS itself (dkms add + build
# from the installed tree) against a kernel whose headers are here (make
# deps installs Debian's linux-headers-amd64). In a private mount namespace
# with a tmpfs on /var/lib/dkms, so neither DKMS's state nor the signing
# key it makes is left on the machine.
test_dkms_build() {
	local name=dkms_build kver="" k tree=$work/dkms
	if ! command -v dkms >/dev/null; then
		skip $name "no dkms (scripts/deps.sh check installs it)"
		return
	fi
	if [ "$install_ok" != yes ] || [ ! -f "$root/usr/src/doppel-$version/dkms.conf" ]; then
		fail $name "no installed module source to build"
		return
	fi
	for k in /lib/modules/*/build; do
		[ -d "$k" ] && kver=$(basename "$(dirname "$k")") && break
	done
	if [ -z "$kver" ]; then
		skip $name "no kernel headers under /lib/modules/*/build"
		return
	fi
	mkdir -p "$tree"
	if ! unshare -m sh -c '
		mount -t tmpfs dkms /var/lib/dkms &&
		dkms add -m doppel -v "$1" --dkmstree "$2" --sourcetree "$3" &&
		dkms build -m doppel -v "$1" -k "$4" --dkmstree "$2" --sourcetree "$3"' \
		sh "$version" "$tree" "$root/usr/src" "$kver" >"$work/dkms.log" 2>&1; then
		fail $name "dkms add/build of the installed source for $kver failed"
		show "$work/dkms.log"
	elif [ -z "$(find "$tree/doppel/$version/$kver" -name 'doppel.ko*')" ]; then
		fail $name "dkms build left no doppel.ko for $kver"
	else
		pass $name
	fi
}
test_dkms_build

# ------------------------------------------------------- systemd-analyze
# verify checks that every command exists and every man page named in
# Documentation= opens: the installed units are pointed at the DESTDIR
# tree, with MANPATH on its man pages.
test_units_verify() {
	local dir=$work/units u out
	if ! command -v systemd-analyze >/dev/null; then
		skip units_verify "no systemd-analyze (scripts/deps.sh check installs systemd)"
		return
	fi
	if [ "$install_ok" != yes ]; then
		fail units_verify "needs make install, which failed"
		return
	fi
	mkdir -p "$dir"
	for u in doppel-copy.service doppel-intercept.service; do
		sed -e "s|=/usr/sbin/|=$root/usr/sbin/|; s|=+/usr/libexec/|=+$root/usr/libexec/|" \
			"$root/lib/systemd/system/$u" >"$dir/$u"
	done
	out=$(MANPATH=$root/usr/share/man SYSTEMD_LOG_LEVEL=notice \
		systemd-analyze verify "$dir/doppel-copy.service" "$dir/doppel-intercept.service" 2>&1)
	local rc=$?
	if [ $rc != 0 ] || [ -n "$out" ]; then
		fail units_verify "systemd-analyze verify (rc $rc): $(echo "$out" | head -n 5 | tr '\n' ' ')"
	else
		pass units_verify
	fi
}
test_units_verify

# The exposure score of each unit, for the docs (informative; the test
# fails only when a unit is rated worse than MEDIUM).
test_units_security() {
	local u line
	if ! command -v systemd-analyze >/dev/null; then
		skip units_security "no systemd-analyze"
		return
	fi
	for u in doppel-copy doppel-intercept; do
		line=$(systemd-analyze security --offline=true "systemd/$u.service" 2>&1 |
			grep -E 'Overall exposure level' | sed 's/\x1b\[[0-9;]*m//g')
		echo "security $u: ${line:-no score}"
		case "$line" in
		*OK* | *MEDIUM*) ;;
		*) fail units_security "$u: ${line:-systemd-analyze security gave no score}"; return ;;
		esac
	done
	pass units_security
}
test_units_security

# ----------------------------------------------------------- setup helper
# doppel-intercept-setup against a recording doppel-rules: the arguments
# it builds from the config and the env file.
test_setup_helper() {
	local name=setup_helper dir=$work/setup out
	mkdir -p "$dir"
	printf '#!/bin/sh\necho "$*" >>"%s/calls"\n' "$dir" >"$dir/rules"
	chmod +x "$dir/rules"
	printf 'source = nfqueue  # comment\nqueues 2-3\n' >"$dir/conf"
	local action
	run_setup() {
		env -i PATH="$PATH" DOPPEL_RULES="$dir/rules" DOPPEL_INTERCEPT_CONFIG="$dir/conf" "$@" \
			systemd/doppel-intercept-setup "$action" >"$dir/out" 2>&1
	}
	action=start run_setup DOPPEL_RULES_MODE=assistant DOPPEL_RULES_PORT=8080 DOPPEL_RULES_ADDR=198.18.0.3 ||
		{ fail $name "start failed: $(cat "$dir/out")"; return; }
	action=stop run_setup DOPPEL_RULES_MODE=assistant DOPPEL_RULES_PORT=8080 ||
		{ fail $name "stop failed: $(cat "$dir/out")"; return; }
	out=$(tr '\n' '|' <"$dir/calls")
	if [ "$out" != "install --mode assistant --port 8080 --queues 2-3 --addr 198.18.0.3|remove|" ]; then
		fail $name "doppel-rules called as '$out'"
		return
	fi
	if action=start run_setup; then
		fail $name "nfqueue start without DOPPEL_RULES_MODE succeeded"
		return
	fi
	grep -q DOPPEL_RULES_MODE "$dir/out" || { fail $name "no message naming DOPPEL_RULES_MODE"; return; }
	rm -f "$dir/calls"
	printf 'source = pcap\n' >"$dir/conf"
	action=start run_setup || { fail $name "pcap start failed"; return; }
	[ -e "$dir/calls" ] && { fail $name "pcap start called doppel-rules"; return; }
	# kmod: modprobe doppel on start (a recording modprobe first in PATH),
	# nothing on stop.
	printf '#!/bin/sh\necho "modprobe $*" >>"%s/calls"\n' "$dir" >"$dir/modprobe"
	chmod +x "$dir/modprobe"
	printf 'source = kmod\nmatch = 8080\n' >"$dir/conf"
	PATH="$dir:$PATH" action=start run_setup || { fail $name "kmod start failed: $(cat "$dir/out")"; return; }
	PATH="$dir:$PATH" action=stop run_setup || { fail $name "kmod stop failed: $(cat "$dir/out")"; return; }
	out=$(tr '\n' '|' <"$dir/calls" 2>/dev/null)
	if [ "$out" != "modprobe doppel|" ]; then
		fail $name "kmod start/stop ran '$out', want 'modprobe doppel|'"
		return
	fi
	printf 'source = carrier-pigeon\n' >"$dir/conf"
	if action=start run_setup || ! grep -q "carrier-pigeon" "$dir/out"; then
		fail $name "an unknown source was not refused by name"
		return
	fi
	pass $name
}
test_setup_helper

# ------------------------------------------ options: help, man, samples
# The long options a daemon's --help lists.
help_options() {
	"$1" --help 2>&1 | grep -oE -- '--[a-z][a-z0-9-]+' | sed 's/^--//' | sort -u
}

test_options_documented() {
	local daemon=$1 bin=$build/$1 missing_man="" missing_conf="" unknown="" o
	local name=options_documented_$daemon
	if [ ! -x "$bin" ]; then
		fail $name "$bin missing"
		return
	fi
	help_options "$bin" >"$work/$daemon.options"
	if [ ! -s "$work/$daemon.options" ]; then
		fail $name "$bin --help lists no long option"
		return
	fi
	while read -r o; do
		grep -qF -- "\\-\\-${o//-/\\-}" "man/$daemon.8" || missing_man="$missing_man --$o"
		case $o in help | version | config | list-stats) continue ;; esac
		grep -qE "^#?$o( |=)" "systemd/$daemon.conf" || missing_conf="$missing_conf $o"
	done <"$work/$daemon.options"
	# Every key in the sample is an option the daemon knows.
	for o in $(sed -nE 's/^#?([a-z][a-z0-9-]*) *=.*/\1/p' "systemd/$daemon.conf"); do
		grep -qx -- "$o" "$work/$daemon.options" || unknown="$unknown $o"
	done
	if [ -n "$missing_man$missing_conf$unknown" ]; then
		fail $name "not in man page:${missing_man:- none}; not in sample config:${missing_conf:- none}; unknown sample keys:${unknown:- none}"
	else
		pass $name
	fi
}
test_options_documented doppel-copy
test_options_documented doppel-intercept

# doppel-rules(8) and doppel-tunnel(8) name every option their --help lists.
test_tool_documented() {
	local tool=$1 o missing="" options
	options=$(help_options nft/$tool)
	if [ -z "$options" ]; then
		fail options_documented_$tool "nft/$tool --help lists no option"
		return
	fi
	for o in $options; do
		grep -qF -- "\\-\\-${o//-/\\-}" man/$tool.8 || missing="$missing --$o"
	done
	if [ -n "$missing" ]; then
		fail options_documented_$tool "not in man/$tool.8:$missing"
	else
		pass options_documented_$tool
	fi
}
test_tool_documented doppel-rules
test_tool_documented doppel-tunnel

# The Kubernetes manifests checked offline: the API's fields and types, and
# the daemons' options and paths (tests/ops/kube_manifests.py; the e2e
# scenario kube runs them with podman kube play).
if [ -x "$build/doppel-copy" ] && [ -x "$build/doppel-intercept" ]; then
	python3 tests/ops/kube_manifests.py "$build" deploy/kubernetes/*.yaml
else
	skip kube_manifests "the daemons are not built in $build"
fi

# Every example value in a sample config parses: each "#key = value" line is
# uncommented alone and read by the daemon, followed by a command-line
# option that is sure to be refused (the config is read first). A good line
# gets the daemon as far as refusing that option; a bad one is refused by
# FILE:LINE. "user" is probed as nobody: "doppel" may not exist here.
test_sample_values() {
	local daemon=$1 probe=$2 probe_says=$3 name=sample_values_$1 line bad="" out
	local conf=$work/probe-$1.conf
	if [ ! -x "$build/$daemon" ]; then
		fail $name "$build/$daemon missing"
		return
	fi
	while IFS= read -r line; do
		printf '%s\n' "$line" | sed -E 's/^#//; s/^user *=.*/user = nobody/' >"$conf"
		# shellcheck disable=SC2086
		out=$("$build/$daemon" --config "$conf" $probe 2>&1)
		case "$out" in
		*"$probe_says"*) ;;
		*) bad="$bad [$line: ${out:0:120}]" ;;
		esac
	done < <(grep -E '^#?[a-z][a-z0-9-]* *= *[^ ]' "systemd/$daemon.conf")
	if [ -n "$bad" ]; then
		fail $name "refused:$bad"
	else
		pass $name
	fi
}
test_sample_values doppel-copy "--percent 0" "-r '0'"
test_sample_values doppel-intercept "--port 0" "-p '0'"

# ------------------------------------------------------- daemons, notify
ns_up=no
make_namespace() {
	ip netns add "$ns" || return 1
	ip -n "$ns" link set lo up &&
	ip -n "$ns" link add v0 type veth peer name v1 &&
	ip -n "$ns" addr add 198.18.0.1/24 dev v0 &&
	ip -n "$ns" link set v0 up &&
	ip -n "$ns" link set v1 up
}
if make_namespace 2>"$work/ns.log"; then
	ns_up=yes
else
	echo "namespace $ns: $(cat "$work/ns.log")"
fi

# The daemons' arguments in these tests. They talk to nobody here (the copy
# daemon's intercept does not exist): the channel is plain text on purpose
# (the daemons refuse it on a network address otherwise); test_channel_default
# sets ops_channel to check the refusals and the other ways.
ops_channel=--insecure-plaintext
daemon_args() {
	case $1 in
	doppel-copy)
		echo "--config systemd/doppel-copy.conf -x 80-198.18.0.3:80 -s 198.18.0.4" \
			"--stats-file $work/copy-stats.json $ops_channel" ;;
	doppel-intercept)
		echo "--config systemd/doppel-intercept.conf --source pcap -i lo" \
			"--stats-file $work/intercept-stats.json $ops_channel" ;;
	esac
}

# Start daemon $1 in the namespace with NOTIFY_SOCKET and WATCHDOG_USEC,
# extra arguments after it; wait (at most 20 s) for READY=1 and WATCHDOG=1.
# The command in the array launcher (if any) runs the daemon. Sets
# started_pid; 0 when both arrived.
launcher=()
start_notified() {
	local daemon=$1 tag=$2 sock=$work/$2.sock
	shift 2
	tests/ops/notify_listener.py "$sock" 20 >"$work/$tag.notify" 2>&1 &
	local listener=$!
	for _ in $(seq 50); do [ -S "$sock" ] && break; sleep 0.1; done
	# shellcheck disable=SC2046
	ip netns exec "$ns" env NOTIFY_SOCKET="$sock" WATCHDOG_USEC=2000000 \
		"${launcher[@]}" "$build/$daemon" $(daemon_args "$daemon") "$@" >"$work/$tag.log" 2>&1 &
	started_pid=$!
	pids+=("$started_pid")
	wait "$listener"
}

# Whether daemon $2 can run for test $1; a FAIL line says why not.
can_run() {
	if [ ! -x "$build/$2" ]; then
		fail "$1" "$build/$2 missing"
		return 1
	fi
	if [ $ns_up != yes ]; then
		fail "$1" "could not create network namespace $ns"
		return 1
	fi
}

stop_daemon() {
	kill "$1" 2>/dev/null
	wait "$1" 2>/dev/null
	stop_status=$?
}

test_notify() {
	local daemon=$1 name=notify_$1
	can_run $name "$daemon" || return
	if ! start_notified "$daemon" "$daemon-notify"; then
		fail $name "$(tail -n 1 "$work/$daemon-notify.notify"); daemon said: $(tail -n 3 "$work/$daemon-notify.log" | tr '\n' ' ')"
		stop_daemon "$started_pid"
		return
	fi
	# READY=1 must come before the first WATCHDOG=1 and the daemon must
	# still be running; SIGTERM then ends it with status 0.
	local ready watchdog
	ready=$(awk '$2 == "READY=1" { print $1; exit }' "$work/$daemon-notify.notify")
	watchdog=$(awk '$2 == "WATCHDOG=1" { print $1; exit }' "$work/$daemon-notify.notify")
	if [ "$ready" -gt "$watchdog" ]; then
		fail $name "WATCHDOG=1 came before READY=1"
	elif ! kill -0 "$started_pid" 2>/dev/null; then
		fail $name "daemon exited after notifying"
	else
		stop_daemon "$started_pid"
		if [ "$stop_status" != 0 ]; then
			fail $name "exit status $stop_status after SIGTERM"
		else
			pass $name
		fi
	fi
}
test_notify doppel-copy
test_notify doppel-intercept

# The channel is authenticated by default: plain text on a network address
# is refused at start, exit status 2, with a line naming every way to set
# it up; loopback, TLS (a PSK here), an allowlist (intercept) and
# --insecure-plaintext (test_notify above) start.
# channel_refused NAME DAEMON WANTS ARGS...: exit status 2, and the line
# holds each of WANTS ('|'-separated).
channel_refused() {
	local name=$1 daemon=$2 wants=$3 out status want
	shift 3
	# shellcheck disable=SC2046
	out=$(ip netns exec "$ns" timeout 20 "$build/$daemon" $(daemon_args "$daemon") "$@" 2>&1)
	status=$?
	IFS='|' read -ra wants <<<"$wants"
	for want in "${wants[@]}"; do
		[[ $out == *"$want"* ]] || { fail $name "no '$want' in: $out"; return; }
	done
	if [ $status != 2 ]; then
		fail $name "exit status $status, want 2: $out"
	else
		pass $name
	fi
}
channel_starts() {
	local name=$1 daemon=$2
	shift 2
	if ! start_notified "$daemon" "$name" "$@"; then
		fail $name "no READY=1: $(tail -n 3 "$work/$name.log" | tr '\n' ' ')"
	elif ! kill -0 "$started_pid" 2>/dev/null; then
		fail $name "exited after READY=1: $(tail -n 3 "$work/$name.log" | tr '\n' ' ')"
	else
		pass $name
	fi
	stop_daemon "$started_pid"
}
# channel_noted NAME DAEMON WANT ARGS...: starts, and its log says WANT.
channel_noted() {
	local name=$1 daemon=$2 want=$3
	shift 3
	if ! start_notified "$daemon" "$name" "$@"; then
		fail $name "no READY=1: $(tail -n 3 "$work/$name.log" | tr '\n' ' ')"
	elif ! grep -qF -- "$want" "$work/$name.log"; then
		fail $name "no '$want' in: $(tail -n 3 "$work/$name.log" | tr '\n' ' ')"
	else
		pass $name
	fi
	stop_daemon "$started_pid"
}
test_channel_default() {
	local psk=$work/channel.psk
	can_run channel_default doppel-copy && can_run channel_default doppel-intercept || return
	(umask 077 && printf 'ops:%s\n' "$(od -An -tx1 -N32 /dev/urandom | tr -d ' \n')" >"$psk")
	ops_channel=""
	local ways="--tls-cert FILE --tls-key FILE --tls-ca FILE|--tls-psk-file FILE|--insecure-plaintext"
	channel_refused channel_refused_copy doppel-copy \
		"-s 198.18.0.4: the channel to this intercept would be plain text|$ways"
	channel_refused channel_refused_copy_tcpcopy1 doppel-copy \
		"TCPCopy's intercept (--wire tcpcopy1) speaks no TLS|--insecure-plaintext" --wire tcpcopy1
	channel_refused channel_refused_intercept doppel-intercept \
		"listening on every address in plain text|$ways|-x ADDR[,ADDR...]"
	channel_refused channel_refused_intercept_bind doppel-intercept \
		"listening on -b 198.18.0.1 in plain text|$ways|-x ADDR[,ADDR...]" -b 198.18.0.1
	channel_starts channel_loopback_copy doppel-copy -s 127.0.0.1
	channel_starts channel_loopback_intercept doppel-intercept -b 127.0.0.1
	channel_starts channel_psk_copy doppel-copy --tls-psk-file "$psk"
	channel_starts channel_psk_intercept doppel-intercept --tls-psk-file "$psk"
	channel_starts channel_allowlist_intercept doppel-intercept -x 198.18.0.3
	channel_starts channel_insecure_tcpcopy1 doppel-copy --wire tcpcopy1 --insecure-plaintext
	# TLS wins over the opt-in, and says so (the flag then does nothing).
	channel_noted channel_psk_insecure_copy doppel-copy "--insecure-plaintext has no effect" \
		--tls-psk-file "$psk" --insecure-plaintext
	channel_noted channel_psk_insecure_intercept doppel-intercept \
		"--insecure-plaintext has no effect" --tls-psk-file "$psk" --insecure-plaintext
	ops_channel=--insecure-plaintext
}
test_channel_default

# ------------------------------------------------- a light install
# make deps installs what building and running need and no server: the
# dependency closure of its packages (scripts/deps.sh --list, without
# recommends, as deps.sh installs) holds none of the servers, load
# generators, emulators or kernels the tests and the demo use. The check
# itself must see them in make check's closure, or it could see nothing.
servers_re='^(nginx|apache2|lighttpd|redis-server|redis-tools|memcached|mariadb-server|mysql-server|postgresql|prometheus|openssh-server|exim4|postfix|wrk|qemu-system|linux-image)'
deps_closure() {
	# shellcheck disable=SC2046
	apt-cache depends --recurse --no-recommends --no-suggests --no-conflicts --no-breaks \
		--no-replaces --no-enhances $(scripts/deps.sh --list "$@") 2>/dev/null |
		awk '!/^[ <]/' | sort -u
}
test_deps_no_server() {
	local base full servers
	if ! command -v apt-cache >/dev/null 2>&1; then
		skip deps_no_server "no apt-cache (not Debian)"
		return
	fi
	base=$(deps_closure)
	full=$(deps_closure check)
	servers=$(grep -E "$servers_re" <<<"$base" | tr '\n' ' ')
	if [ -z "$base" ] || ! grep -qx nginx-light <<<"$full" || ! grep -qx prometheus <<<"$full"; then
		fail deps_no_server "the closure cannot be computed here (base: $(wc -l <<<"$base") packages; make check's lacks nginx-light or prometheus)"
	elif [ -n "$servers" ]; then
		fail deps_no_server "make deps would install: $servers"
	else
		pass deps_no_server
	fi
}
test_deps_no_server

# The shipped logrotate file rotates: run by logrotate itself on a copy
# pointed at a scratch folder (as root, not the doppel user that may not
# exist here), with a postrotate that records it ran.
test_logrotate() {
	local dir=$work/logrotate
	if ! command -v logrotate >/dev/null 2>&1; then
		skip logrotate "no logrotate (scripts/deps.sh check installs it)"
		return
	fi
	mkdir -p "$dir/log"
	echo "a line" >"$dir/log/copy.log"
	sed -e "s|/var/log/doppel/|$dir/log/|" -e 's/doppel doppel/root root/' \
		-e "s|systemctl try-reload-or-restart.*|touch $dir/reloaded|" \
		systemd/doppel.logrotate >"$dir/conf"
	if ! grep -q '^	su doppel doppel$' systemd/doppel.logrotate; then
		fail logrotate "the file does not rotate as the doppel user"
	elif ! logrotate -f -s "$dir/state" "$dir/conf" >"$dir/out" 2>&1 || grep -q error "$dir/out"; then
		fail logrotate "logrotate: $(head -n 3 "$dir/out" | tr '\n' ' ')"
	elif [ ! -s "$dir/log/copy.log.1" ] || [ ! -e "$dir/log/copy.log" ] || [ ! -e "$dir/reloaded" ]; then
		fail logrotate "not rotated, not recreated or no reload: $(ls "$dir/log" "$dir" | tr '\n' ' ')"
	else
		pass logrotate
	fi
}
test_logrotate

# The sysctl examples deployment.md tells operators to copy apply as they
# are (in the test namespace: these settings are per network namespace).
test_sysctl_examples() {
	local f out
	if [ $ns_up != yes ]; then
		fail sysctl_examples "could not create network namespace $ns"
		return
	fi
	for f in systemd/sysctl-assistant.conf systemd/sysctl-target.conf; do
		if ! out=$(ip netns exec "$ns" sysctl -p "$f" 2>&1); then
			fail sysctl_examples "sysctl -p $f: $out"
			return
		fi
	done
	if [ "$(ip netns exec "$ns" sysctl -n net.ipv4.conf.all.rp_filter)" != 2 ] ||
		[ "$(ip netns exec "$ns" sysctl -n net.ipv4.ip_forward)" != 0 ]; then
		fail sysctl_examples "the settings did not take"
	else
		pass sysctl_examples
	fi
}
test_sysctl_examples

# The one list of statistics (the daemon's --list-stats, from the X()
# table in copy/copy_stats.h or intercept/intercept_stats.h) against the
# man page's STATISTICS section, both ways, and against the file written at
# exit (SIGTERM in test_notify): the file holds exactly the listed keys.
# A key in a labelled family (ended_<reason>) is documented by its reason
# under the family's ended_ paragraph.
test_stats_keys() {
	local daemon=$1 file=$2 name=stats_keys_$1 list keys section k
	local undocumented="" stale="" missing="" extra="" names
	if [ ! -x "$build/$daemon" ]; then
		fail $name "$build/$daemon missing"
		return
	fi
	if ! list=$("$build/$daemon" --list-stats 2>&1) ||
		! awk -F'\t' 'NF != 3 || $2 !~ /^(counter|gauge|info)$/ || $3 == "" { bad = 1 } END { exit bad || NR == 0 }' <<<"$list"; then
		fail $name "--list-stats: not name<TAB>counter|gauge|info<TAB>help lines: $list"
		return
	fi
	names=$(cut -f1 <<<"$list")
	section=$(awk '/^\.SH STATISTICS/ { p = 1; next } /^\.SH/ { p = 0 } p' "man/$daemon.8")
	local ended
	ended=$(awk '/^\.BI ended_ reason/ { p = 1; next } /^\.TP/ { p = 0 } p' <<<"$section")
	while IFS=$'\t' read -r k _; do
		case $k in
		ended_*) grep -qw -- "${k#ended_}" <<<"$ended" && continue ;;
		*) grep -qw -- "$k" <<<"$section" && continue ;;
		esac
		undocumented="$undocumented $k"
	done <<<"$list"
	# Every key the page names in a paragraph's head is in the list.
	for k in $(awk '/^\.TP/ { getline; if ($1 == ".B" || $1 == ".BR") print }' <<<"$section" |
		tr -d '",' | tr ' ' '\n' | grep -E '^[a-z][a-z0-9_]*$'); do
		grep -qx -- "$k" <<<"$names" || stale="$stale $k"
	done
	if [ ! -s "$file" ]; then
		fail $name "no statistics file written at exit ($file)"
		return
	fi
	if ! keys=$(python3 -c 'import json, sys; print("\n".join(json.load(open(sys.argv[1]))))' "$file" 2>&1); then
		fail $name "$file is not a JSON object: $keys"
		return
	fi
	for k in $names; do
		grep -qx -- "$k" <<<"$keys" || missing="$missing $k"
	done
	for k in $keys; do
		grep -qx -- "$k" <<<"$names" || extra="$extra $k"
	done
	if [ -n "$undocumented$stale$missing$extra" ]; then
		fail $name "listed but not in man/$daemon.8 STATISTICS:${undocumented:- none}; in the page but not listed:${stale:- none}; listed but not in $file:${missing:- none}; in $file but not listed:${extra:- none}"
	else
		pass $name
	fi
}
test_stats_keys doppel-copy "$work/copy-stats.json"
test_stats_keys doppel-intercept "$work/intercept-stats.json"

# SIGHUP: both daemons, connected to each other in the namespace, read
# their edited config files again. What can change without dropping a
# session is applied (log level, statistics interval, metrics address, -r,
# the allowlist) and logged; what cannot (-t, --hold-unrouted) is refused
# with a line naming it. The copy daemon's connection to intercept stays.
poll() { local n=$1; shift; while [ "$n" -gt 0 ]; do "$@" && return 0; sleep 0.1; n=$((n - 1)); done; "$@"; }
# Not "curl | grep -q": under pipefail grep's early exit fails curl's write
# (status 23) about one time in three here, which failed the unpolled check.
metrics_up() {
	local body
	body=$(ip netns exec "$ns" curl -s --max-time 2 "http://127.0.0.1:$1/metrics") || return 1
	grep -q "^$2" <<<"$body"
}
logged() { grep -qF -- "$2" "$1"; }
test_sighup_reload() {
	local name=sighup_reload c=$work/reload-copy.conf i=$work/reload-icpt.conf copy icpt why="" reconnects
	can_run $name doppel-copy && can_run $name doppel-intercept || return
	cat >"$i" <<-CONF
	source = pcap
	device = lo
	allow = 127.0.0.1
	log-level = info
	stats-interval = 30s
	metrics = 127.0.0.1:19102
	hold-unrouted = 250ms
	stats-file = $work/reload-icpt.json
	CONF
	cat >"$c" <<-CONF
	transfer = 80-198.18.0.3:80
	intercept = 127.0.0.1
	log-level = info
	stats-interval = 30s
	metrics = 127.0.0.1:19101
	percent = 100
	session-timeout = 120s
	stats-file = $work/reload-copy.json
	CONF
	ip netns exec "$ns" "$build/doppel-intercept" --config "$i" >"$work/reload-icpt.log" 2>&1 &
	icpt=$!
	pids+=("$icpt")
	ip netns exec "$ns" "$build/doppel-copy" --config "$c" >"$work/reload-copy.log" 2>&1 &
	copy=$!
	pids+=("$copy")
	if ! poll 200 metrics_up 19101 'doppel_copy_intercept_up{intercept="127.0.0.1:36524"} 1'; then
		fail $name "the copy daemon did not connect to intercept: $(tail -n 2 "$work/reload-copy.log" | tr '\n' ' ')"
		stop_daemon "$copy"; stop_daemon "$icpt"
		return
	fi
	# Reconnections before the reload (the copy daemon may have started
	# before intercept listened): the reload must add none.
	reconnects=$(ip netns exec "$ns" curl -s --max-time 2 http://127.0.0.1:19101/metrics |
		sed -n 's/^doppel_copy_intercept_reconnects_total \([0-9]*\)$/\1/p')
	sed -i -e 's/= info/= debug/' -e 's/= 30s/= 1s/' -e 's/19101/19111/' -e 's/percent = 100/percent = 50/' \
		-e 's/session-timeout = 120s/session-timeout = 60s/' "$c"
	sed -i -e 's/= info/= debug/' -e 's/= 30s/= 1s/' -e 's/19102/19112/' \
		-e 's/allow = 127.0.0.1/allow = 127.0.0.1,198.18.0.9/' -e 's/hold-unrouted = 250ms/hold-unrouted = 1s/' "$i"
	kill -HUP "$copy" "$icpt"
	for line in "SIGHUP: --log-level changed from 'info' to 'debug'" \
		"SIGHUP: --stats-interval changed from '30s' to '1s'" \
		"SIGHUP: --metrics changed from '127.0.0.1:19101' to '127.0.0.1:19111'" \
		"SIGHUP: -r changed from '100' to '50'" \
		"SIGHUP: -t changed from '120s' to '60s': needs a restart; still running with '120s'"; do
		poll 100 logged "$work/reload-copy.log" "$line" || why="$why; copy did not log \"$line\""
	done
	for line in "SIGHUP: -x changed from '127.0.0.1' to '127.0.0.1,198.18.0.9'" \
		"SIGHUP: --metrics changed from '127.0.0.1:19102' to '127.0.0.1:19112'" \
		"SIGHUP: --hold-unrouted changed from '250ms' to '1s': needs a restart"; do
		poll 100 logged "$work/reload-icpt.log" "$line" || why="$why; intercept did not log \"$line\""
	done
	# Applied: the new endpoints answer (the old do not), the statistics
	# come every second, and the connection between them never dropped.
	poll 50 metrics_up 19111 doppel_copy_packets_captured_total || why="$why; nothing on the new copy metrics port"
	poll 50 metrics_up 19112 doppel_intercept_summaries_in_total || why="$why; nothing on the new intercept metrics port"
	metrics_up 19101 doppel_copy && why="$why; the old copy metrics port still answers"
	rm -f "$work/reload-copy.json"
	poll 50 test -s "$work/reload-copy.json" || why="$why; the 1s statistics interval was not applied"
	poll 50 metrics_up 19112 'doppel_intercept_connections_accepted_total 1$' ||
		why="$why; intercept accepted more than one connection (the copy reconnected)"
	[ -n "$reconnects" ] && metrics_up 19111 "doppel_copy_intercept_reconnects_total $reconnects\$" ||
		why="$why; the copy daemon reconnected (reconnections before the reload: ${reconnects:-unread})"
	# A reload that would leave the channel in plain text to anyone (the
	# allowlist removed, no TLS) is refused whole: nothing changes.
	sed -i '/^allow = /d' "$i"
	kill -HUP "$icpt"
	poll 100 logged "$work/reload-icpt.log" "SIGHUP: listening on every address in plain text" ||
		why="$why; intercept did not refuse a reload that drops the allowlist"
	poll 20 logged "$work/reload-icpt.log" "(docs/deployment.md, \"The channel: TLS 1.3\"); nothing changed" ||
		why="$why; the refused reload did not say nothing changed"
	# SIGUSR2 lists the live sessions (none here), and the copy runs on.
	kill -USR2 "$copy"
	poll 100 logged "$work/reload-copy.log" "sessions: 0 live" ||
		why="$why; copy did not list its sessions on SIGUSR2"
	kill -0 "$copy" 2>/dev/null && kill -0 "$icpt" 2>/dev/null || why="$why; a daemon exited"
	stop_daemon "$copy"
	stop_daemon "$icpt"
	if [ -n "$why" ]; then
		fail $name "${why#; }"
		show "$work/reload-copy.log" 8
		show "$work/reload-icpt.log" 8
	else
		pass $name
	fi
}
test_sighup_reload

# The drop: after READY=1 the daemon runs as nobody with exactly
# CAP_NET_RAW (13) and CAP_NET_ADMIN (12) effective and permitted.
test_user_drop() {
	local daemon=$1 name=user_drop_$1 status uid capeff capprm
	local want_caps=0000000000003000 nobody
	nobody=$(id -u nobody)
	can_run $name "$daemon" || return
	if ! start_notified "$daemon" "$daemon-user" --user nobody; then
		fail $name "no READY=1/WATCHDOG=1 with --user nobody: $(tail -n 3 "$work/$daemon-user.log" | tr '\n' ' ')"
		stop_daemon "$started_pid"
		return
	fi
	status=$(cat "/proc/$started_pid/status" 2>/dev/null)
	uid=$(echo "$status" | awk '/^Uid:/ { print $2, $3, $4, $5 }')
	capeff=$(echo "$status" | awk '/^CapEff:/ { print $2 }')
	capprm=$(echo "$status" | awk '/^CapPrm:/ { print $2 }')
	stop_daemon "$started_pid"
	if [ "$uid" != "$nobody $nobody $nobody $nobody" ]; then
		fail $name "Uid is '$uid', want $nobody in all four"
	elif [ "$capeff" != $want_caps ] || [ "$capprm" != $want_caps ]; then
		fail $name "CapEff $capeff CapPrm $capprm, want $want_caps (CAP_NET_RAW|CAP_NET_ADMIN)"
	else
		pass $name
	fi
}
test_user_drop doppel-copy
test_user_drop doppel-intercept

# As the unit starts them: a plain user from the start, with only the two
# capabilities ambient and NoNewPrivileges (setpriv does what systemd's
# User=, AmbientCapabilities= and NoNewPrivileges= do).
test_ambient_start() {
	local daemon=$1 name=ambient_start_$1 capeff
	can_run $name "$daemon" || return
	if ! command -v setpriv >/dev/null; then
		skip $name "no setpriv"
		return
	fi
	# shellcheck disable=SC2054 # the commas are setpriv's
	launcher=(setpriv --reuid=nobody --regid=nogroup --clear-groups
		--inh-caps=-all,+net_raw,+net_admin --ambient-caps=-all,+net_raw,+net_admin
		--bounding-set=-all,+net_raw,+net_admin --no-new-privs)
	start_notified "$daemon" "$daemon-ambient"
	local ready=$?
	launcher=()
	if [ $ready != 0 ]; then
		fail $name "no READY=1/WATCHDOG=1 as the unit starts it: $(tail -n 3 "$work/$daemon-ambient.log" | tr '\n' ' ')"
		stop_daemon "$started_pid"
		return
	fi
	capeff=$(awk '/^CapEff:/ { print $2 }' "/proc/$started_pid/status" 2>/dev/null)
	stop_daemon "$started_pid"
	if [ "$capeff" != 0000000000003000 ]; then
		fail $name "CapEff $capeff, want 0000000000003000"
	elif [ "$stop_status" != 0 ]; then
		fail $name "exit status $stop_status after SIGTERM"
	else
		pass $name
	fi
}
test_ambient_start doppel-copy
test_ambient_start doppel-intercept

# Without systemd (deployment.md, section 8): -d forks to the background
# and the pid file names the daemon; SIGTERM stops it and removes the file.
test_daemonize() {
	local daemon=$1 name=daemonize_$1 pidfile=$work/$1.pid pid=""
	can_run $name "$daemon" || return
	# shellcheck disable=SC2046
	if ! ip netns exec "$ns" "$build/$daemon" $(daemon_args "$daemon") -d -P "$pidfile" \
		-l "$work/$daemon-daemonized.log" >"$work/$daemon-d.out" 2>&1; then
		fail $name "-d exited non-zero: $(tail -n 2 "$work/$daemon-d.out" | tr '\n' ' ')"
		return
	fi
	for _ in $(seq 50); do
		pid=$(cat "$pidfile" 2>/dev/null)
		[ -n "$pid" ] && break
		sleep 0.1
	done
	if [ -z "$pid" ] || [[ $(cmdline_of "$pid") != *"$daemon"* ]]; then
		fail $name "pid file '$pid' does not name a running $daemon"
		return
	fi
	pids+=("$pid")
	kill "$pid"
	for _ in $(seq 100); do
		[ -d "/proc/$pid" ] || break
		sleep 0.1
	done
	if [ -d "/proc/$pid" ]; then
		kill -9 "$pid"
		fail $name "still running 10 s after SIGTERM"
	elif [ -e "$pidfile" ]; then
		fail $name "the pid file was left behind"
	else
		pass $name
	fi
}
test_daemonize doppel-copy
test_daemonize doppel-intercept

# ------------------------------------------------ the units under systemd
# Boot systemd 252 as PID 1 in a systemd-nspawn container (own network
# namespace: lo only) over the host's /usr with the DESTDIR install laid on
# top, and let tests/ops/in_container.sh start the real units and check them.
test_units_under_systemd() {
	local skel=$work/container outdir=$work/container-out l line
	if ! command -v systemd-nspawn >/dev/null; then
		skip systemd_units "no systemd-nspawn (scripts/deps.sh check installs systemd-container)"
		return
	fi
	if [ "$install_ok" != yes ]; then
		fail systemd_units "needs make install, which failed"
		return
	fi
	mkdir -p "$skel"/{etc/systemd/system,etc/doppel,usr,var,run,tmp,root,proc,sys,dev,ops-out,ops-tests} "$outdir"
	for l in bin sbin lib lib64; do
		[ -L "/$l" ] && ln -s "usr/$l" "$skel/$l"
	done
	# /etc/alternatives: awk, iptables, nft's helpers are found through it.
	# The users and groups, but never the host's password hashes: shadow
	# files with every account locked.
	cp -a /etc/passwd /etc/group /etc/nsswitch.conf /etc/alternatives "$skel/etc/"
	awk -F: '{ print $1 ":!*:19000::::::" }' /etc/passwd >"$skel/etc/shadow"
	awk -F: '{ print $1 ":!*::" }' /etc/group >"$skel/etc/gshadow"
	chmod 0640 "$skel/etc/shadow" "$skel/etc/gshadow"
	cp /usr/lib/os-release "$skel/etc/os-release"
	cp "$root"/lib/systemd/system/doppel-*.service "$skel/etc/systemd/system/"
	# The channel as docs/deployment.md sets it up: a pre-shared key, mode
	# 0600, that in_container.sh gives to the doppel user (made at boot).
	mkdir -p "$skel/etc/doppel/tls"
	(umask 077 && printf 'ops:%s\n' "$(od -An -tx1 -N32 /dev/urandom | tr -d ' \n')" \
		>"$skel/etc/doppel/tls/channel.psk")
	cat >"$skel/etc/doppel/doppel-copy.conf" <<-CONF
	transfer = 80-198.18.0.3:80
	intercept = 198.18.0.4
	tls-psk-file = /etc/doppel/tls/channel.psk
	stats-file = /run/doppel/copy/stats.json
	stats-interval = 1s
	log = /var/log/doppel/copy.log
	CONF
	cat >"$skel/etc/doppel/doppel-intercept.conf" <<-CONF
	source = nfqueue
	queues = 0
	tls-psk-file = /etc/doppel/tls/channel.psk
	stats-file = /run/doppel/intercept/stats.json
	CONF
	cat >"$skel/etc/doppel/doppel-intercept.env" <<-CONF
	DOPPEL_RULES_MODE=assistant
	DOPPEL_RULES_PORT=8080
	DOPPEL_RULES_ADDR=198.18.0.3
	CONF
	for l in doppel-copy doppel-intercept; do
		mkdir -p "$skel/etc/systemd/system/$l.service.d"
		printf '[Service]\nWatchdogSec=8s\nRestartSec=1s\n' >"$skel/etc/systemd/system/$l.service.d/test.conf"
	done
	# Nothing configures the container's network (lo only): waiting for
	# "online" would hold network-online.target, and the units, for 2 min.
	ln -s /dev/null "$skel/etc/systemd/system/systemd-networkd-wait-online.service"
	cat >"$skel/etc/systemd/system/ops-check.service" <<-UNIT
	[Unit]
	Description=doppel ops checks
	After=sysinit.target systemd-sysusers.service systemd-tmpfiles-setup.service
	# Type=simple: the boot's start job ends at once. A start job running
	# for seconds makes PID 1 send "User job ... running" STATUS= lines to
	# systemd-nspawn, which stops reading them after READY=1: PID 1 then
	# blocks on the full socket (seen with systemd 252).
	[Service]
	Type=simple
	ExecStart=/ops-tests/in_container.sh
	UNIT
	# On timeout nspawn gets SIGTERM and kills the container's PID 1 (and with
	# it every process of the container); -k: nspawn itself, 10 s later.
	timeout -k 10 120 systemd-nspawn -q --directory="$skel" --register=no --keep-unit \
		--kill-signal=SIGKILL \
		--private-network --console=pipe \
		--overlay-ro="/usr:$root/usr:/usr" \
		--bind="$outdir:/ops-out" --bind-ro="$repo/tests/ops:/ops-tests" \
		-b systemd.unit=ops-check.service </dev/null >"$work/nspawn.log" 2>&1
	if [ ! -s "$outdir/results" ]; then
		fail systemd_units "the container wrote no results: $(grep -v 'propagate/root' "$work/nspawn.log" | tail -n 3 | tr '\n' ' ')"
		return
	fi
	while IFS= read -r line; do
		case $line in PASS* | FAIL*) echo "$line" ;; esac
	done <"$outdir/results"
	grep -qx finished "$outdir/results" || fail systemd_units "the checks did not finish"
	if grep -q '^FAIL' "$outdir/results"; then
		sed 's/^/    journal| /' "$outdir/journal.log" | tail -n 25
	fi
}
test_units_under_systemd

# ------------------------------------------------------- Debian packages
src=$work/src/doppel
debs_ok=no
build_debs() {
	mkdir -p "$src"
	tar -C "$repo" --exclude=./build --exclude=./.git --exclude=./debian/build \
		--exclude=./debian/tmp -cf - . | tar -C "$src" -xf -
	(cd "$src" && dpkg-buildpackage -us -uc -b) >"$work/deb.log" 2>&1
}
if ! command -v dpkg-buildpackage >/dev/null; then
	skip deb_build "no dpkg-buildpackage (scripts/deps.sh check installs dpkg-dev)"
elif build_debs; then
	debs_ok=yes
	pass deb_build
else
	fail deb_build "dpkg-buildpackage -us -uc -b failed"
	show "$work/deb.log" 20
fi

deb_main=$work/src/doppel_${version}_$(dpkg --print-architecture 2>/dev/null).deb
deb_dkms=$work/src/doppel-dkms_${version}_all.deb

# $1 = test name, $2 = .deb, then paths (no leading ./) that must be in it.
check_deb_contents() {
	local name=$1 deb=$2 listing missing="" p
	shift 2
	listing=$(dpkg-deb -c "$deb" | awk '{ print $6 }' | sed 's|^\./||')
	for p in "$@"; do
		grep -qx -- "$p" <<<"$listing" || missing="$missing $p"
	done
	if [ -n "$missing" ]; then
		fail "$name" "missing:$missing"
		return 1
	fi
	return 0
}

test_deb_doppel() {
	local name=deb_contents_doppel dir=$work/deb-doppel
	check_deb_contents $name "$deb_main" \
		usr/sbin/doppel-copy usr/sbin/doppel-intercept usr/sbin/doppel-rules usr/sbin/doppel-tunnel \
		usr/bin/doppel-compare-report \
		lib/systemd/system/doppel-copy.service lib/systemd/system/doppel-intercept.service \
		usr/libexec/doppel/doppel-intercept-setup \
		usr/lib/sysusers.d/doppel.conf usr/lib/tmpfiles.d/doppel.conf \
		etc/doppel/doppel-copy.conf etc/doppel/doppel-intercept.conf etc/doppel/doppel-intercept.env \
		usr/share/man/man8/doppel-copy.8.gz usr/share/man/man8/doppel-intercept.8.gz \
		usr/share/man/man8/doppel-rules.8.gz usr/share/man/man8/doppel-tunnel.8.gz \
		usr/share/man/man1/doppel-compare-report.1.gz \
		usr/share/doc/doppel/deployment.md usr/share/doc/doppel/troubleshooting.md \
		usr/share/doc/doppel/examples/nft/doppel-assistant.nft \
		usr/share/doc/doppel/copyright || return
	dpkg-deb -e "$deb_main" "$dir"
	if ! grep -qx /etc/doppel/doppel-copy.conf "$dir/conffiles"; then
		fail $name "/etc/doppel/doppel-copy.conf is not a conffile"
	elif ! grep -q 'systemd-sysusers' "$dir/postinst"; then
		fail $name "postinst does not create the doppel user (systemd-sysusers)"
	elif ! grep -q 'systemd-standalone-sysusers' <<<"$(dpkg-deb -f "$deb_main" Depends)"; then
		# debhelper 13.11's postinst calls systemd-sysusers unguarded.
		fail $name "no dependency on a systemd-sysusers provider"
	elif ! grep -q 'systemd-tmpfiles' "$dir/postinst"; then
		fail $name "postinst does not create /run/doppel (systemd-tmpfiles)"
	# Shipped disabled: postinst enables a unit only if it was enabled
	# before (an upgrade), and deb-systemd-invoke starts no disabled unit.
	elif [ "$(grep -c 'deb-systemd-helper enable' "$dir/postinst")" != \
		"$(grep -c 'deb-systemd-helper --quiet was-enabled' "$dir/postinst")" ]; then
		fail $name "postinst enables a unit on first install: they must stay off until configured"
	elif ! grep -q "deb-systemd-invoke stop 'doppel-copy.service' 'doppel-intercept.service'" \
		"$dir/prerm" 2>/dev/null; then
		fail $name "prerm does not stop the services on removal"
	elif grep -q 'usr/src/' <<<"$(dpkg-deb -c "$deb_main")"; then
		fail $name "module source in the daemons' package"
	else
		pass $name
	fi
}

test_deb_dkms() {
	local name=deb_contents_dkms dir=$work/deb-dkms
	check_deb_contents $name "$deb_dkms" \
		"usr/src/doppel-$version/dkms.conf" "usr/src/doppel-$version/include/uapi/doppel.h" || return
	dpkg-deb -e "$deb_dkms" "$dir"
	if ! grep -qE "usr/src/doppel-$version/kmod/[^/]+\.c$" <<<"$(dpkg-deb -c "$deb_dkms")"; then
		fail $name "no kmod/*.c in the module source"
	elif ! grep -q dkms <<<"$(dpkg-deb -f "$deb_dkms" Depends)"; then
		fail $name "does not depend on dkms"
	# dh_dkms's scripts: postinst runs DKMS's common.postinst (dkms add,
	# build, install) for DKMS_NAME; prerm runs dkms remove --all.
	elif ! grep -qx "DKMS_NAME=doppel" "$dir/postinst" ||
		! grep -q "DKMS_VERSION=$version" "$dir/postinst" ||
		! grep -q "/usr/lib/dkms/common.postinst" "$dir/postinst"; then
		fail $name "postinst does not run DKMS's common.postinst for doppel $version"
	elif ! grep -qx "DKMS_NAME=doppel" "$dir/prerm" ||
		! grep -q 'dkms remove -m $DKMS_NAME -v $DKMS_VERSION --all' "$dir/prerm"; then
		fail $name "prerm does not dkms remove doppel"
	else
		pass $name
	fi
}

# No error or warning is accepted. The two info tags left
# (package-supports-alternative-init-but-no-init.d-script: the daemons run
# under systemd or by hand with -d, there is no init.d script) are printed.
test_lintian() {
	local out errors warnings unexpected
	if ! command -v lintian >/dev/null; then
		skip lintian "no lintian (scripts/deps.sh check installs it)"
		return
	fi
	out=$(lintian --tag-display-limit 0 -I "$deb_main" "$deb_dkms" 2>&1 | grep -v "running with root privileges")
	echo "$out" | sed 's/^/lintian: /'
	errors=$(echo "$out" | grep -c '^E: ')
	warnings=$(echo "$out" | grep -c '^W: ')
	unexpected=$(echo "$out" | grep -E '^(E|W): ')
	echo "lintian summary: $errors errors, $warnings warnings, $(echo "$out" | grep -c '^I: ') info"
	if [ -n "$unexpected" ]; then
		fail lintian "$(echo "$unexpected" | head -n 3 | tr '\n' ' ')"
	else
		pass lintian
	fi
}

if [ $debs_ok = yes ]; then
	test_deb_doppel
	test_deb_dkms
	test_lintian
else
	for t in deb_contents_doppel deb_contents_dkms lintian; do
		skip $t "no packages (deb_build did not pass)"
	done
fi
exit 0
