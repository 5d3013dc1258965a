#!/usr/bin/env python3
"""kube_pod.py — one workload of deploy/kubernetes/ as what `podman kube play`
(Debian 12's podman 4.3) can run, changed as little as the lab needs, for
tests/e2e/scenarios/kube.sh:

  kube_pod.py MANIFEST --image IMAGE [--tools-image IMAGE] [--sub OLD=NEW]...
              [--secret NAME=DIR]... [--keep CONTAINER]... [--arg CONTAINER=ARG]...
              [--append CONFIGMAP/KEY=LINE]... [--host-network]

What changes, and why:
  - a DaemonSet's or Deployment's pod template becomes a Pod of the
    workload's name (podman 4.3 plays no DaemonSet), restartPolicy Never so
    that a daemon that exits stays exited and the test sees its status;
  - the images named registry.example/doppel:* become IMAGE, and
    registry.example/doppel-tools:* the --tools-image (both built by
    deploy/image.sh); --keep drops the other containers (the placeholder
    application: the lab runs its own server in the same namespace);
  - --arg adds an argument to a container (or init container): the lab's
    own address for doppel-tunnel's device, where its default is
    link-local;
  - --sub replaces the placeholder addresses in the ConfigMaps' data and in
    the containers' args and commands;
  - a secret volume NAME becomes a hostPath volume of DIR, laid out by the
    test as kubelet lays a secret out: podman 4.3 writes a Secret's data
    still base64-encoded and ignores defaultMode, so the daemons would read
    no key (and refuse a key of mode 0644);
  - --host-network: the pod gets hostNetwork, i.e. the network namespace
    podman is run in (the lab's stand-in for the pod's own): podman 4.3
    puts no pod into a namespace given with --network ns:PATH ("pods
    presently do not support network mode path");
  - the containers' ports go: podman 4.3 publishes each containerPort on
    the host, refused with the host's network; in Kubernetes they only
    inform (the pod's own address serves them);
  - --append adds a line to a ConfigMap's key (the lab's short statistics
    interval).
Everything else (securityContext, volumes, mounts, the ConfigMap's other
lines, args) is played as written.
"""
import argparse
import sys

import yaml

DOPPEL_IMAGE = "registry.example/doppel:"
TOOLS_IMAGE = "registry.example/doppel-tools:"


def pair(text):
    key, sep, value = text.partition("=")
    if not sep or not key:
        raise argparse.ArgumentTypeError(f"'{text}': want KEY=VALUE")
    return key, value


def substitute(text, subs):
    for old, new in subs:
        text = text.replace(old, new)
    return text


def workload(docs, path):
    found = [d for d in docs if d.get("kind") in ("DaemonSet", "Deployment", "Pod")]
    if len(found) != 1:
        sys.exit(f"kube_pod: {path}: want one DaemonSet, Deployment or Pod, found {len(found)}")
    return found[0]


def as_pod(work):
    if work["kind"] == "Pod":
        return work
    template = work["spec"]["template"]
    meta = {"name": work["metadata"]["name"], "labels": template.get("metadata", {}).get("labels", {})}
    return {"apiVersion": "v1", "kind": "Pod", "metadata": meta, "spec": template["spec"]}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("manifest")
    ap.add_argument("--image")
    ap.add_argument("--sub", type=pair, action="append", default=[])
    ap.add_argument("--secret", type=pair, action="append", default=[])
    ap.add_argument("--keep", action="append", default=[])
    ap.add_argument("--append", type=pair, action="append", default=[])
    ap.add_argument("--tools-image")
    ap.add_argument("--arg", type=pair, action="append", default=[])
    ap.add_argument("--host-network", action="store_true")
    a = ap.parse_args()
    with open(a.manifest) as f:
        docs = [d for d in yaml.safe_load_all(f) if d]
    pod = as_pod(workload(docs, a.manifest))
    spec = pod["spec"]
    if not a.image:
        ap.error("--image is required")
    out = []
    for d in docs:
        if d.get("kind") != "ConfigMap":
            continue
        data = d.get("data", {})
        for k in data:
            data[k] = substitute(data[k], a.sub)
        out.append(d)
    for target, line in a.append:
        name, _, key = target.partition("/")
        cms = [d for d in out if d["metadata"]["name"] == name and key in d.get("data", {})]
        if not cms:
            sys.exit(f"kube_pod: no ConfigMap {name} with key {key} in {a.manifest}")
        cms[0]["data"][key] += line + "\n"
    if a.keep:
        spec["containers"] = [c for c in spec["containers"] if c["name"] in a.keep]
        if len(spec["containers"]) != len(set(a.keep)):
            sys.exit(f"kube_pod: {a.manifest} lacks a container of {a.keep}")
    images = {DOPPEL_IMAGE: a.image, TOOLS_IMAGE: a.tools_image}
    for c in spec.get("initContainers", []) + spec["containers"]:
        for prefix, image in images.items():
            if c.get("image", "").startswith(prefix):
                if not image:
                    sys.exit(f"kube_pod: {c['name']} needs an image for {prefix}")
                c["image"] = image
        c.pop("ports", None)
        for field in ("command", "args"):
            if field in c:
                c[field] = [substitute(s, a.sub) for s in c[field]]
    for name, arg in a.arg:
        found = [c for c in spec.get("initContainers", []) + spec["containers"] if c["name"] == name]
        if not found:
            sys.exit(f"kube_pod: no container {name} in {a.manifest}")
        found[0].setdefault("args", []).append(arg)
    secrets = dict(a.secret)
    for v in spec.get("volumes", []):
        name = v.get("secret", {}).get("secretName")
        if name in secrets:
            del v["secret"]
            v["hostPath"] = {"path": secrets.pop(name), "type": "Directory"}
    if secrets:
        sys.exit(f"kube_pod: no secret volume {sorted(secrets)} in {a.manifest}")
    if a.host_network:
        spec["hostNetwork"] = True
    spec["restartPolicy"] = "Never"
    out.append(pod)
    yaml.safe_dump_all(out, sys.stdout, sort_keys=False)


if __name__ == "__main__":
    main()
