#!/usr/bin/env python3
"""kube_manifests.py BUILD MANIFEST... — the Kubernetes manifests of
deploy/kubernetes/ checked offline, as far as that goes without an API
server (kubectl validates against the server's OpenAPI schema; Debian has
no offline validator):

  API     each document's apiVersion and kind are known; every field is one
          the Kubernetes API defines for that object (strict decoding
          rejects unknown fields), of its type; required fields are there;
          enumerations, ranges (ports, modes), names (DNS-1123), label
          keys and values, quantities, capability names (no CAP_ prefix)
          are valid; duplicate keys are refused; the selector matches the
          template's labels; every volumeMount names a volume of the pod;
          every configMap volume names a ConfigMap of the same file with
          the keys its items ask for.
  doppel  every container of the doppel and doppel-tools images drops ALL
          capabilities and adds NET_RAW/NET_ADMIN only, no privilege
          escalation, a read-only root; the daemons' long options in args and the keys of
          the doppel-*.conf ConfigMaps are options the built daemon lists
          in --help; every absolute path they name is under a volumeMount
          of that container (the root is read-only and holds only the
          daemons).

The field lists are the Kubernetes API reference's (core/v1 and apps/v1)
for the objects used here and their usual neighbours; an object of another
kind is refused, so a new manifest extends this table on purpose.
One line per manifest: PASS kube_manifest_NAME / FAIL kube_manifest_NAME: why.
"""
import os
import re
import subprocess
import sys

import yaml

S, I, B = "string", "integer", "boolean"
ANY = "any"
STRMAP = ("map", S)


def lst(t):
    return ("list", t)


# object name -> {field: type}; a type is S/I/B/ANY, ("map", S), ("list", T)
# or another object's name. Required fields are listed in REQUIRED.
TYPES = {
    "ObjectMeta": {"name": S, "namespace": S, "labels": STRMAP, "annotations": STRMAP,
                   "generateName": S},
    "ConfigMap": {"apiVersion": S, "kind": S, "metadata": "ObjectMeta", "data": STRMAP,
                  "binaryData": STRMAP, "immutable": B},
    "DaemonSet": {"apiVersion": S, "kind": S, "metadata": "ObjectMeta", "spec": "DaemonSetSpec"},
    "Deployment": {"apiVersion": S, "kind": S, "metadata": "ObjectMeta", "spec": "DeploymentSpec"},
    "DaemonSetSpec": {"selector": "LabelSelector", "template": "PodTemplateSpec",
                      "updateStrategy": ANY, "minReadySeconds": I, "revisionHistoryLimit": I},
    "DeploymentSpec": {"replicas": I, "selector": "LabelSelector", "template": "PodTemplateSpec",
                       "strategy": ANY, "minReadySeconds": I, "revisionHistoryLimit": I,
                       "progressDeadlineSeconds": I, "paused": B},
    "LabelSelector": {"matchLabels": STRMAP, "matchExpressions": lst(ANY)},
    "PodTemplateSpec": {"metadata": "ObjectMeta", "spec": "PodSpec"},
    "PodSpec": {"containers": lst("Container"), "initContainers": lst("Container"),
                "volumes": lst("Volume"), "hostNetwork": B, "hostPID": B, "hostIPC": B,
                "dnsPolicy": S, "nodeSelector": STRMAP, "automountServiceAccountToken": B,
                "serviceAccountName": S, "securityContext": "PodSecurityContext",
                "tolerations": lst(ANY), "affinity": ANY, "restartPolicy": S,
                "terminationGracePeriodSeconds": I, "priorityClassName": S,
                "imagePullSecrets": lst(ANY), "shareProcessNamespace": B},
    "PodSecurityContext": {"runAsUser": I, "runAsGroup": I, "runAsNonRoot": B, "fsGroup": I,
                           "supplementalGroups": lst(I), "seccompProfile": "SeccompProfile",
                           "sysctls": lst(ANY)},
    "Container": {"name": S, "image": S, "command": lst(S), "args": lst(S), "env": lst("EnvVar"),
                  "envFrom": lst(ANY), "ports": lst("ContainerPort"),
                  "securityContext": "SecurityContext", "resources": "ResourceRequirements",
                  "volumeMounts": lst("VolumeMount"), "workingDir": S, "imagePullPolicy": S,
                  "livenessProbe": ANY, "readinessProbe": ANY, "startupProbe": ANY,
                  "restartPolicy": S, "stdin": B, "tty": B},
    "EnvVar": {"name": S, "value": S, "valueFrom": ANY},
    "ContainerPort": {"containerPort": I, "protocol": S, "name": S, "hostPort": I, "hostIP": S},
    "SecurityContext": {"runAsUser": I, "runAsGroup": I, "runAsNonRoot": B,
                        "allowPrivilegeEscalation": B, "readOnlyRootFilesystem": B,
                        "privileged": B, "capabilities": "Capabilities",
                        "seccompProfile": "SeccompProfile", "seLinuxOptions": ANY,
                        "appArmorProfile": ANY, "procMount": S},
    "Capabilities": {"add": lst(S), "drop": lst(S)},
    "SeccompProfile": {"type": S, "localhostProfile": S},
    "ResourceRequirements": {"limits": STRMAP, "requests": STRMAP, "claims": lst(ANY)},
    "VolumeMount": {"name": S, "mountPath": S, "readOnly": B, "subPath": S, "subPathExpr": S,
                    "mountPropagation": S, "recursiveReadOnly": S},
    "Volume": {"name": S, "emptyDir": "EmptyDirVolumeSource", "configMap": "ConfigMapVolumeSource",
               "secret": "SecretVolumeSource", "hostPath": "HostPathVolumeSource"},
    "EmptyDirVolumeSource": {"medium": S, "sizeLimit": S},
    "ConfigMapVolumeSource": {"name": S, "items": lst("KeyToPath"), "defaultMode": I, "optional": B},
    "SecretVolumeSource": {"secretName": S, "items": lst("KeyToPath"), "defaultMode": I,
                           "optional": B},
    "HostPathVolumeSource": {"path": S, "type": S},
    "KeyToPath": {"key": S, "path": S, "mode": I},
}
REQUIRED = {
    "DaemonSetSpec": ["selector", "template"], "DeploymentSpec": ["selector", "template"],
    "PodSpec": ["containers"], "Container": ["name"], "EnvVar": ["name"],
    "ContainerPort": ["containerPort"], "VolumeMount": ["name", "mountPath"], "Volume": ["name"],
    "HostPathVolumeSource": ["path"], "KeyToPath": ["key", "path"], "SeccompProfile": ["type"],
}
ENUMS = {
    ("PodSpec", "dnsPolicy"): {"ClusterFirst", "ClusterFirstWithHostNet", "Default", "None"},
    ("PodSpec", "restartPolicy"): {"Always", "OnFailure", "Never"},
    ("Container", "imagePullPolicy"): {"Always", "IfNotPresent", "Never"},
    ("ContainerPort", "protocol"): {"TCP", "UDP", "SCTP"},
    ("SeccompProfile", "type"): {"RuntimeDefault", "Localhost", "Unconfined"},
    ("EmptyDirVolumeSource", "medium"): {"", "Memory", "HugePages"},
    ("HostPathVolumeSource", "type"): {"", "DirectoryOrCreate", "Directory", "FileOrCreate", "File",
                                       "Socket", "CharDevice", "BlockDevice"},
}
KINDS = {("v1", "ConfigMap"), ("apps/v1", "DaemonSet"), ("apps/v1", "Deployment")}
# Linux capabilities (capabilities(7)), as Kubernetes takes them: no CAP_.
CAPS = set("""AUDIT_CONTROL AUDIT_READ AUDIT_WRITE BLOCK_SUSPEND BPF CHECKPOINT_RESTORE CHOWN
DAC_OVERRIDE DAC_READ_SEARCH FOWNER FSETID IPC_LOCK IPC_OWNER KILL LEASE LINUX_IMMUTABLE
MAC_ADMIN MAC_OVERRIDE MKNOD NET_ADMIN NET_BIND_SERVICE NET_BROADCAST NET_RAW PERFMON SETFCAP
SETGID SETPCAP SETUID SYSLOG SYS_ADMIN SYS_BOOT SYS_CHROOT SYS_MODULE SYS_NICE SYS_PACCT
SYS_PTRACE SYS_RAWIO SYS_RESOURCE SYS_TIME SYS_TTY_CONFIG WAKE_ALARM ALL""".split())
DNS_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$")
DNS_SUBDOMAIN = re.compile(r"^[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?$")
LABEL_NAME = re.compile(r"^([A-Za-z0-9][-A-Za-z0-9_.]{0,61})?[A-Za-z0-9]$")
LABEL_VALUE = re.compile(r"^(([A-Za-z0-9][-A-Za-z0-9_.]{0,61})?[A-Za-z0-9])?$")
QUANTITY = re.compile(r"^[0-9]+(\.[0-9]+)?(m|k|M|G|T|P|E|Ki|Mi|Gi|Ti|Pi|Ei)?$")
DOPPEL_IMAGE = "registry.example/doppel:"
TOOLS_IMAGE = "registry.example/doppel-tools:"
DOPPEL_CAPS = {"NET_RAW", "NET_ADMIN"}


class StrictLoader(yaml.SafeLoader):
    """A YAML loader that refuses a key twice in one mapping."""


def _mapping(loader, node, deep=False):
    keys = set()
    for key_node, _ in node.value:
        key = loader.construct_object(key_node, deep=deep)
        if key in keys:
            raise yaml.constructor.ConstructorError(
                None, None, f"duplicate key {key!r}", key_node.start_mark)
        keys.add(key)
    return loader.construct_mapping(node, deep)


StrictLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _mapping)


def check_type(value, t, where, errs):
    if t == ANY:
        return
    if isinstance(t, tuple):
        if t[0] == "map":
            if not isinstance(value, dict):
                errs.append(f"{where}: want a map")
                return
            for k, v in value.items():
                if not isinstance(v, str):
                    errs.append(f"{where}.{k}: want a string, got {type(v).__name__} {v!r}")
            return
        if not isinstance(value, list):
            errs.append(f"{where}: want a list")
            return
        for i, v in enumerate(value):
            check_type(v, t[1], f"{where}[{i}]", errs)
        return
    if t == S:
        ok = isinstance(value, str)
    elif t == I:
        ok = isinstance(value, int) and not isinstance(value, bool)
    elif t == B:
        ok = isinstance(value, bool)
    else:
        check_object(value, t, where, errs)
        return
    if not ok:
        errs.append(f"{where}: want {t}, got {type(value).__name__} {value!r}")


def check_object(obj, name, where, errs):
    if not isinstance(obj, dict):
        errs.append(f"{where}: want an object ({name})")
        return
    fields = TYPES[name]
    for k, v in obj.items():
        if k not in fields:
            errs.append(f"{where}: unknown field {k!r} in {name}")
            continue
        check_type(v, fields[k], f"{where}.{k}", errs)
        enum = ENUMS.get((name, k))
        if enum is not None and v not in enum:
            errs.append(f"{where}.{k}: {v!r} is not one of {sorted(enum)}")
    for k in REQUIRED.get(name, []):
        if k not in obj:
            errs.append(f"{where}: {name} needs {k!r}")


def check_meta(meta, where, errs, named=True):
    if named and not DNS_SUBDOMAIN.match(str(meta.get("name", ""))):
        errs.append(f"{where}.name: {meta.get('name')!r} is not a DNS-1123 subdomain")
    for k, v in (meta.get("labels") or {}).items():
        prefix, _, label = str(k).rpartition("/")
        if (prefix and not DNS_SUBDOMAIN.match(prefix)) or not LABEL_NAME.match(label):
            errs.append(f"{where}.labels: bad key {k!r}")
        if not isinstance(v, str) or not LABEL_VALUE.match(v):
            errs.append(f"{where}.labels.{k}: bad value {v!r}")


def daemon_options(build, daemon, cache={}):
    if daemon not in cache:
        out = subprocess.run([os.path.join(build, daemon), "--help"], capture_output=True,
                             text=True).stdout
        cache[daemon] = set(re.findall(r"--([a-z][a-z0-9-]+)", out))
    return cache[daemon]


def conf_values(text):
    """The key = value lines of a doppel-*.conf."""
    for line in text.splitlines():
        line = line.split("#", 1)[0].strip()
        if line:
            key, _, value = line.partition("=")
            yield key.strip(), value.strip()


def check_pod(spec, where, configmaps, build, errs):
    volumes = {}
    for i, v in enumerate(spec.get("volumes", [])):
        vw = f"{where}.volumes[{i}]"
        if not DNS_LABEL.match(str(v.get("name", ""))):
            errs.append(f"{vw}.name: {v.get('name')!r} is not a DNS-1123 label")
        if v.get("name") in volumes:
            errs.append(f"{vw}: a second volume named {v['name']!r}")
        sources = [k for k in v if k != "name"]
        if len(sources) != 1:
            errs.append(f"{vw}: want exactly one volume source, got {sources}")
        volumes[v.get("name")] = v
        for src in ("configMap", "secret"):
            mode = (v.get(src) or {}).get("defaultMode")
            if isinstance(mode, int) and not 0 <= mode <= 0o777:
                errs.append(f"{vw}.{src}.defaultMode: {mode} is not within 0..0777")
        cm = v.get("configMap")
        if cm:
            data = configmaps.get(cm.get("name"))
            if data is None:
                errs.append(f"{vw}: no ConfigMap {cm.get('name')!r} in this file")
            else:
                for item in cm.get("items", []):
                    if item.get("key") not in data:
                        errs.append(f"{vw}: ConfigMap {cm['name']!r} has no key {item.get('key')!r}")
    names = set()
    for kind in ("initContainers", "containers"):
        for i, c in enumerate(spec.get(kind, [])):
            cw = f"{where}.{kind}[{i}]"
            if c.get("name") in names or not DNS_LABEL.match(str(c.get("name", ""))):
                errs.append(f"{cw}.name: {c.get('name')!r} is a repeated or not a DNS-1123 label")
            names.add(c.get("name"))
            check_container(c, cw, volumes, configmaps, build, errs)


def check_container(c, cw, volumes, configmaps, build, errs):
    mounts = {}
    for m in c.get("volumeMounts", []):
        if m.get("name") not in volumes:
            errs.append(f"{cw}: volumeMount {m.get('name')!r} names no volume of the pod")
        mounts[m.get("mountPath")] = volumes.get(m.get("name"), {})
    for p in c.get("ports", []):
        if isinstance(p.get("containerPort"), int) and not 0 < p["containerPort"] < 65536:
            errs.append(f"{cw}: containerPort {p['containerPort']} is out of range")
    for kind in ("limits", "requests"):
        for k, q in (c.get("resources", {}).get(kind) or {}).items():
            if not QUANTITY.match(str(q)):
                errs.append(f"{cw}.resources.{kind}.{k}: {q!r} is not a quantity")
    sc = c.get("securityContext", {})
    caps = sc.get("capabilities", {})
    for k in ("add", "drop"):
        for cap in caps.get(k, []):
            if cap not in CAPS:
                errs.append(f"{cw}: capability {cap!r} is not a Linux capability name (no CAP_)")
    image = str(c.get("image", ""))
    if not image.startswith((DOPPEL_IMAGE, TOOLS_IMAGE)):
        return
    # doppel's images: the capabilities and the context they need.
    if caps.get("drop") != ["ALL"] or not set(caps.get("add", [])) <= DOPPEL_CAPS:
        errs.append(f"{cw}: want capabilities drop [ALL], add NET_RAW/NET_ADMIN only, got {caps}")
    if sc.get("allowPrivilegeEscalation") is not False or sc.get("privileged"):
        errs.append(f"{cw}: want allowPrivilegeEscalation false, not privileged")
    if sc.get("readOnlyRootFilesystem") is not True:
        errs.append(f"{cw}: want readOnlyRootFilesystem true")
    if image.startswith(TOOLS_IMAGE):
        return
    daemon = os.path.basename((c.get("command") or ["/usr/sbin/doppel-copy"])[0])
    known = daemon_options(build, daemon)
    if not known:
        errs.append(f"{cw}: {build}/{daemon} --help lists no option")
        return
    paths = []
    args = c.get("args", [])
    for i, a in enumerate(args):
        if a.startswith("--") and a[2:].split("=")[0] not in known:
            errs.append(f"{cw}: {daemon} has no option {a}")
        if a.startswith("/"):
            paths.append((f"args {args[i - 1] if i else ''} {a}", a))
        if a == "--config" and i + 1 < len(args):
            conf = args[i + 1]
            base = next((m for m in mounts if conf.startswith(m.rstrip("/") + "/")), None)
            cm = (mounts.get(base) or {}).get("configMap") if base else None
            text = configmaps.get(cm["name"], {}).get(conf[len(base):].lstrip("/")) if cm else None
            if text is None:
                errs.append(f"{cw}: --config {conf} is not a key of a mounted ConfigMap")
                continue
            for key, value in conf_values(text):
                if key not in known:
                    errs.append(f"{cw}: {conf}: {daemon} has no option {key!r}")
                if value.startswith("/"):
                    paths.append((f"{conf}: {key}", value))
    for what, path in paths:
        if not any(path.startswith(m.rstrip("/") + "/") for m in mounts):
            errs.append(f"{cw}: {what}: {path} is under no volumeMount (the root is read-only)")


def check_file(path, build):
    errs = []
    try:
        with open(path) as f:
            docs = [d for d in yaml.load_all(f, Loader=StrictLoader) if d is not None]
    except (OSError, yaml.YAMLError) as e:
        return [str(e)]
    configmaps = {}
    for n, d in enumerate(docs):
        where = f"document {n + 1}"
        if (d.get("apiVersion"), d.get("kind")) not in KINDS:
            errs.append(f"{where}: unknown apiVersion/kind {d.get('apiVersion')}/{d.get('kind')}")
            continue
        where += f" ({d['kind']})"
        check_object(d, d["kind"], where, errs)
        check_meta(d.get("metadata", {}), f"{where}.metadata", errs)
        if d["kind"] == "ConfigMap":
            configmaps[d["metadata"].get("name")] = d.get("data") or {}
    for n, d in enumerate(docs):
        if d.get("kind") not in ("DaemonSet", "Deployment") or not isinstance(d.get("spec"), dict):
            continue
        where = f"document {n + 1} ({d['kind']}).spec"
        template = d["spec"].get("template") or {}
        labels = (template.get("metadata") or {}).get("labels") or {}
        check_meta(template.get("metadata") or {}, f"{where}.template.metadata", errs, False)
        selector = (d["spec"].get("selector") or {}).get("matchLabels") or {}
        if not selector or any(labels.get(k) != v for k, v in selector.items()):
            errs.append(f"{where}.selector: {selector} does not select the template's labels {labels}")
        if isinstance(template.get("spec"), dict):
            check_pod(template["spec"], f"{where}.template.spec", configmaps, build, errs)
    return errs


def main():
    if len(sys.argv) < 3:
        sys.exit("usage: kube_manifests.py BUILD MANIFEST...")
    build, status = sys.argv[1], 0
    for path in sys.argv[2:]:
        name = "kube_manifest_" + os.path.basename(path).rsplit(".", 1)[0].replace("-", "_")
        errs = check_file(path, build)
        if errs:
            status = 1
            print(f"FAIL {name}: {errs[0]}" + (f" (and {len(errs) - 1} more)" if len(errs) > 1 else ""))
            for e in errs[1:]:
                print(f"    {e}")
        else:
            print(f"PASS {name}")
    return status


if __name__ == "__main__":
    sys.exit(main())
