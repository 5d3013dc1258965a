#!/usr/bin/env bash
# doppel-copy from the OCI image (deploy/image.sh: built here from scratch
# with buildah, the daemons and their libraries only) in a podman container
# joined to online's network namespace, with every capability dropped but
# CAP_NET_RAW and CAP_NET_ADMIN: keep-alive and one-request HTTP replayed
# one for one through the classic lab (assistant, intercept there). SKIPs,
# saying why, where podman cannot run a container on this machine.
. "$(dirname "$0")/../lib.sh"
scenario_begin container "$1"
for tool in podman buildah runc; do
	command -v $tool >/dev/null 2>&1 || skip "$tool is not installed (scripts/deps.sh check)"
done
store=$LAB_DIR/containers
image=localhost/doppel-e2e
ctr=doppel-e2e-$$
# A private store (vfs: no overlay mounts), runc and cgroupfs (crun refuses
# hybrid cgroup hierarchies), open-file and process limits within the
# caller's own (the runtime may not raise them).
pm=(podman --root "$store/root" --runroot "$store/run" --storage-driver vfs --runtime runc
	--cgroup-manager cgroupfs)
run_args=(--rm --name "$ctr" --ulimit "nofile=$(ulimit -Hn):$(ulimit -Hn)" --ulimit nproc=4096:4096
	--cap-drop all --cap-add NET_RAW,NET_ADMIN)
container_teardown() {
	local d
	"${pm[@]}" rm -f "$ctr" >/dev/null 2>&1
	# podman's cgroupfs manager leaves its parent cgroups behind: remove
	# them when empty (rmdir refuses one still in use).
	for d in /sys/fs/cgroup/*/libpod_parent; do
		rmdir "$d/conmon" "$d" 2>/dev/null
	done
	lab_teardown
}
trap container_teardown EXIT
BUILDAH_ARGS="--root $store/root --runroot $store/run --storage-driver vfs" \
	"$E2E_ROOT/deploy/image.sh" "$E2E_BUILD" "$image" >"$LAB_DIR/image.log" 2>&1 ||
	fail "deploy/image.sh failed: $(tail -n 3 "$LAB_DIR/image.log")"
probe=$("${pm[@]}" run "${run_args[@]}" --network none --entrypoint /usr/sbin/doppel-copy \
	"$image" --version 2>&1) || skip "podman cannot run a container here: $(tail -n 1 <<<"$probe")"

http_lab 80
# The stats file and the log go to the lab directory, mounted at the same
# path (the diff log of --compare, the lab's default, too).
compare_auto copy -x "80-$ADDR_TARGET:80"
lab_spawn_here copy "${pm[@]}" run "${run_args[@]}" --network "ns:/run/netns/$NS_ONLINE" \
	-v "$LAB_DIR:$LAB_DIR" "$image" -x "80-$ADDR_TARGET:80" -s "$ADDR_ASSIST" $(lab_channel_args) \
	--stats-file "$LAB_DIR/copy.json" --stats-interval 1s "${COMPARE_ARGS[@]}"
wait_until 30 ns_connected "$NS_ONLINE" "$ADDR_ASSIST:$INTERCEPT_PORT" ||
	fail "doppel-copy in the container did not connect to intercept: $(tail -n 5 "$LAB_DIR/copy.log")"
capeff=$(for pid in $(ip netns pids "$NS_ONLINE"); do
	[ "$(cat "/proc/$pid/comm" 2>/dev/null)" = doppel-copy ] && awk '/^CapEff:/ { print $2 }' "/proc/$pid/status"
done | head -n 1)
[ "$capeff" = 0000000000003000 ] || fail "doppel-copy in the container has CapEff '$capeff', want 0000000000003000"

http_mixed_traffic
pass "$JUDGED requests at online and at target, doppel-copy in a podman container (CapEff $capeff: NET_ADMIN and NET_RAW only); $(copy_summary copy)"
