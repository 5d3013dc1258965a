#!/usr/bin/env bash
# The Kubernetes manifests of deploy/kubernetes/, run by `podman kube play`
# (Debian's podman 4.3 with runc and cgroupfs; no cluster here) on a
# network that forbids spoofed sources (the anti-spoofing switch of the
# tunnel scenarios), with the image deploy/image.sh builds:
#   online   the node: doppel-copy-daemonset.yaml's pod template played in
#            online's network namespace (hostNetwork: podman runs in it),
#            its ConfigMap (doppel-copy.conf) as written but for the
#            target's address and a 1 s statistics interval;
#   target   target-intercept-sidecar.yaml's pod played in the target's
#            namespace (the pod's): its init container (doppel-tunnel up,
#            from the image deploy/image.sh --tools builds) makes the VXLAN
#            endpoint and the output rule, then the doppel-intercept
#            sidecar; nginx on 8080 stands in for the placeholder
#            application container.
# Both daemons from the manifests' securityContext: uid 0, CapEff NET_ADMIN
# and NET_RAW only, no_new_privs, a read-only root. Keep-alive and
# one-request HTTP replayed through the VXLAN tunnel, judged one for one,
# the switch dropping nothing, doppel-copy exiting 0 when its pod stops.
# kube_pod.py says what is changed in the manifests and why. The sidecar
# uses nfqueue: the pcap source SKIPs.
. "$(dirname "$0")/../lib.sh"
. "$E2E_DIR/tunnel.sh"
scenario_begin kube "$1"
[ "$SOURCE" = nfqueue ] || skip "the sidecar manifest runs doppel-intercept --source nfqueue"
for tool in podman buildah runc catatonit; do
	command -v $tool >/dev/null 2>&1 || skip "$tool is not installed (scripts/deps.sh check)"
done
manifests=$E2E_ROOT/deploy/kubernetes
store=$LAB_DIR/containers
image=localhost/doppel-e2e
tools_image=localhost/doppel-tools-e2e
# A private store (vfs: no overlay mounts); runc and cgroupfs (crun refuses
# hybrid cgroup hierarchies); limits within the caller's own (the runtime
# may not raise them); no tmpfs on /run and /tmp of a read-only container,
# as Kubernetes gives none: what the daemons write must go to the volumes.
mkdir -p "$store"
cat >"$store/containers.conf" <<EOF
[containers]
default_ulimits = ["nofile=$(ulimit -Hn):$(ulimit -Hn)", "nproc=4096:4096"]
read_only_tmpfs = false
[engine]
runtime = "runc"
cgroup_manager = "cgroupfs"
EOF
export CONTAINERS_CONF=$store/containers.conf
pm=(podman --root "$store/root" --runroot "$store/run" --storage-driver vfs)
kube_teardown() {
	local rc=$? d
	"${pm[@]}" pod rm -f -a >/dev/null 2>&1
	# podman's cgroupfs manager leaves its parent cgroups behind: remove
	# them when empty (rmdir refuses one still in use).
	for d in /sys/fs/cgroup/*/libpod_parent; do
		rmdir "$d"/*/ "$d/conmon" "$d" 2>/dev/null
	done
	(exit $rc)
	tunnel_teardown
}
trap kube_teardown EXIT
export BUILDAH_ARGS="--root $store/root --runroot $store/run --storage-driver vfs"
"$E2E_ROOT/deploy/image.sh" "$E2E_BUILD" "$image" >"$LAB_DIR/image.log" 2>&1 ||
	fail "deploy/image.sh failed: $(tail -n 3 "$LAB_DIR/image.log")"
"$E2E_ROOT/deploy/image.sh" --tools "$tools_image" >>"$LAB_DIR/image.log" 2>&1 ||
	fail "deploy/image.sh --tools failed: $(tail -n 3 "$LAB_DIR/image.log")"
probe=$("${pm[@]}" run --rm --network none "$image" --version 2>&1) ||
	skip "podman cannot run a container here: $(tail -n 1 <<<"$probe")"

# The Secret doppel-channel-psk as kubelet lays it out (defaultMode 0600):
# the key behind the ..data symlink, in a directory of its own.
psk_dir=$LAB_DIR/secret-psk
mkdir -p "$psk_dir/..2026_01_01_00_00_00.000000001"
lab_channel_args >/dev/null || fail "could not make the channel's key"
install -m 0600 "$LAB_DIR/channel.psk" "$psk_dir/..2026_01_01_00_00_00.000000001/channel.psk"
ln -s ..2026_01_01_00_00_00.000000001 "$psk_dir/..data"
ln -s ..data/channel.psk "$psk_dir/channel.psk"

lab_build || fail "could not build the lab"
antispoof_switch || fail "could not install the anti-spoofing switch rules"
target_alone || fail "could not remove the target's routes via the assistant"
nginx_start online "$NS_ONLINE" "$ADDR_ONLINE" 8080 || fail "nginx did not start in online"
nginx_start target "$NS_TARGET" "$ADDR_TARGET" 8080 || fail "nginx did not start in target"

# --- the target's pod: the init container (doppel-tunnel up), then the sidecar ------
python3 "$E2E_DIR/kube_pod.py" "$manifests/target-intercept-sidecar.yaml" --image "$image" \
	--tools-image "$tools_image" --keep doppel-intercept --secret "doppel-channel-psk=$psk_dir" \
	--arg doppel-tunnel=--dev-addr --arg doppel-tunnel=198.18.0.253 --host-network \
	>"$LAB_DIR/target-pod.yaml" || fail "kube_pod.py could not make the target's pod"
# The pod's network namespace is the target's (podman 4.3 cannot be given
# one for a pod: the pod gets podman's own, which is the target's). The
# namespace goes at the end with the device and the rules the init
# container made in it.
nsenter --net="/run/netns/$NS_TARGET" "${pm[@]}" kube play --log-opt "path=$LAB_DIR/intercept.log" \
	"$LAB_DIR/target-pod.yaml" >"$LAB_DIR/play-target.log" 2>&1 ||
	fail "podman kube play of the target's pod failed: $(tail -n 3 "$LAB_DIR/play-target.log")"
in_ns "$NS_TARGET" ip link show dev doppel0 >/dev/null 2>&1 ||
	fail "the init container made no doppel0: $(grep doppel-tunnel "$LAB_DIR/intercept.log" | tail -n 3)"
lab_wait_listen "$NS_TARGET" "$INTERCEPT_PORT" 20 ||
	fail "doppel-intercept (the sidecar) is not listening on $INTERCEPT_PORT"

# --- the node's pod: doppel-copy with the host network (online's) ----------------
python3 "$E2E_DIR/kube_pod.py" "$manifests/doppel-copy-daemonset.yaml" --image "$image" \
	--sub "10.0.1.20=$ADDR_TARGET" --secret "doppel-channel-psk=$psk_dir" \
	--append "doppel-copy-config/doppel-copy.conf=stats-interval = 1s" >"$LAB_DIR/copy-pod.yaml" ||
	fail "kube_pod.py could not make doppel-copy's pod"
nsenter --net="/run/netns/$NS_ONLINE" "${pm[@]}" kube play --log-opt "path=$LAB_DIR/copy.log" \
	"$LAB_DIR/copy-pod.yaml" >"$LAB_DIR/play-copy.log" 2>&1 ||
	fail "podman kube play of doppel-copy's pod failed: $(tail -n 3 "$LAB_DIR/play-copy.log")"
wait_until 30 ns_connected "$NS_ONLINE" "$ADDR_TARGET:$INTERCEPT_PORT" ||
	fail "doppel-copy (the DaemonSet's pod) did not connect to the sidecar"
ctr=doppel-copy-doppel-copy
# Its /run/doppel (the emptyDir) seen from here, for its statistics.
run_dir=$("${pm[@]}" inspect "$ctr" --format \
	'{{range .Mounts}}{{if eq .Destination "/run/doppel"}}{{.Source}}{{end}}{{end}}')
[ -d "$run_dir" ] || fail "no /run/doppel volume in $ctr"
ln -s "$run_dir" "$LAB_DIR/pod-run"

# What the securityContext made of each daemon, from /proc.
daemon_context() {
	local ns=$1 comm=$2 pid
	for pid in $(ip netns pids "$ns"); do
		[ "$(cat "/proc/$pid/comm" 2>/dev/null)" = "$comm" ] || continue
		printf 'uid %s CapEff %s NoNewPrivs %s root %s\n' \
			"$(awk '/^Uid:/ { print $3 }' "/proc/$pid/status")" \
			"$(awk '/^CapEff:/ { print $2 }' "/proc/$pid/status")" \
			"$(awk '/^NoNewPrivs:/ { print $2 }' "/proc/$pid/status")" \
			"$(awk '$5 == "/" { split($6, o, ","); print o[1] }' "/proc/$pid/mountinfo")"
		return 0
	done
	echo "no $comm process in $ns"
}
want='uid 0 CapEff 0000000000003000 NoNewPrivs 1 root ro'
copy_context=$(daemon_context "$NS_ONLINE" doppel-copy)
[ "$copy_context" = "$want" ] || fail "doppel-copy runs with '$copy_context', want '$want'"
icpt_context=$(daemon_context "$NS_TARGET" doppel-intercep)
[ "$icpt_context" = "$want" ] || fail "doppel-intercept runs with '$icpt_context', want '$want'"

# --- the replay --------------------------------------------------------------------
before=$(antispoof_dropped)
wrk_paced 2 2 "http://$HOST_ONLINE:8080/"
curl_each 30 "http://$HOST_ONLINE:8080/one"
wait_until 60 target_caught_up
copy_idle pod-run/copy 20
"${pm[@]}" pod stop -t 20 doppel-copy >/dev/null 2>&1 || fail "podman pod stop doppel-copy failed"
status=$("${pm[@]}" inspect "$ctr" --format '{{.State.ExitCode}}')
[ "$status" = 0 ] || fail "doppel-copy exited with status $status when its pod stopped"
http_judge
[ "$(stats_get pod-run/copy sessions_failed)" = 0 ] || fail "sessions failed: $(copy_summary pod-run/copy)"
[ "$(antispoof_dropped)" = "$before" ] ||
	fail "the switch dropped $(($(antispoof_dropped) - before)) frames during the replay"
client_clean
grep -q "tunnel: vxlan" "$LAB_DIR/copy.log" || fail "doppel-copy did not say it tunnels"
pass "$JUDGED requests at online and at target through the VXLAN tunnel, 0 spoofed frames; doppel-copy from the DaemonSet's pod (hostNetwork, ConfigMap) and doppel-intercept from the sidecar, each $want; $(copy_summary pod-run/copy)"
