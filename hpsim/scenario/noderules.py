"""What a Windows node refuses of a HostProcess pod that the API server admitted.

- The WindowsHostProcessContainers feature gate by Kubernetes version (KEP-1981 kep.yaml,
  k/k PR #117570; kubelet pkg/kubelet/kuberuntime/kuberuntime_container_windows.go;
  component-base featuregate).
- containerd >= 1.6 for HostProcess and >= 1.7 for local-group users (hcsshim
  internal/jobcontainers/logon.go; k8s docs create-hostprocess-pod.md).
- hcsshim's refusal of named pipe mounts (internal/jobcontainers/mounts.go); Unix domain
  socket mounts, which the Kubernetes docs list as not supported for HostProcess containers
  (kubernetes/website content/en/docs/tasks/configure-pod-container/create-hostprocess-pod.md,
  "Limitations": "Both Named pipe mounts and Unix domain sockets are not supported").
- Hyper-V isolation: hcsshim runs a job container only when the spec is not hypervisor
  isolated (cmd/containerd-shim-runhcs-v1/task_hcs.go: ``oci.IsJobContainer(s) &&
  !oci.IsIsolated(s)``); the docs' "Limitations": "Filesystem or Hyper-V isolation are not
  supported for HostProcess containers".
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

from hpsim.scenario.fielderrors import go_quote
from hpsim.scenario.podspec import (
    as_list,
    as_map,
    container_name,
    effective_host_process,
    effective_user,
    get_in,
    is_host_process_pod,
    pod_host_process,
    visit_containers,
)

__all__ = [
    "GATE",
    "GATE_OFF_MESSAGE",
    "HYPERV_MESSAGE",
    "LOCAL_USER_MESSAGE",
    "NAMED_PIPE_MESSAGE",
    "SOCKET_MESSAGE",
    "NodeFacts",
    "NodeVerdict",
    "host_process_field_allowed",
    "is_service_account",
    "node_rules",
]

GATE = "WindowsHostProcessContainers"

_VERSION = re.compile(r"v?(\d+)\.(\d+)(?:\.(\d+))?")


def _version(text: str) -> tuple[int, int, int]:
    """``v1.29``, ``1.29``, ``1.29.3``, ``1.7.13+azure`` -> numeric (major, minor, patch).

    A pre-release or build suffix is ignored: ``1.7.0-rc.1`` counts as 1.7.0.
    """
    m = _VERSION.match(str(text).strip())
    if not m:
        raise ValueError(f"invalid version {text!r}: expected MAJOR.MINOR[.PATCH] such as 1.29")
    return int(m.group(1)), int(m.group(2)), int(m.group(3) or 0)


@dataclass(frozen=True)
class NodeFacts:
    """What the node rules need: versions and kubelet feature-gate overrides."""

    kubernetes_version: str
    containerd_version: str
    feature_gates: Mapping[str, bool] = field(default_factory=dict)
    # RuntimeClass name -> its handler, for the classes whose runtime is hypervisor isolated.
    hypervisor_classes: Mapping[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        object.__setattr__(self, "feature_gates", MappingProxyType(dict(self.feature_gates)))
        object.__setattr__(
            self, "hypervisor_classes", MappingProxyType(dict(self.hypervisor_classes))
        )


@dataclass(frozen=True)
class NodeVerdict:
    """One node-level refusal: the rule's name and the message the node would give."""

    rule: str
    message: str

    def to_json(self) -> dict[str, str]:
        return {"rule": self.rule, "message": self.message}


# kuberuntime_container_windows.go generateWindowsContainerConfig, before the gate's removal.
GATE_OFF_MESSAGE = f"pod contains HostProcess containers but feature '{GATE}' is not enabled"
# k8s docs create-hostprocess-pod.md
LOCAL_USER_MESSAGE = (
    "Running HostProcess containers as local user accounts requires containerd v1.7+"
)
# hcsshim internal/jobcontainers/mounts.go setupMounts / fallbackMountSetup
NAMED_PIPE_MESSAGE = (
    "named pipe mounts not supported for job containers - interact with the pipe directly"
)
# hpsim's words, after the Kubernetes docs' "Limitations" (create-hostprocess-pod.md).
SOCKET_MESSAGE = (
    "Unix domain socket mounts are not supported for HostProcess containers - "
    "access the socket by its path on the host"
)
HYPERV_MESSAGE = "Hyper-V isolation is not supported for HostProcess containers"
# The three service accounts hcsshim logs on with LOGON32_LOGON_SERVICE; Windows accepts
# these names with or without the space, in any case.
_SERVICE_ACCOUNTS = frozenset({"system", "localservice", "networkservice"})


def is_service_account(user: str) -> bool:
    """``NT AUTHORITY\\SYSTEM``, ``...\\LOCAL SERVICE``, ``...\\NETWORK SERVICE``, any spelling.

    hcsshim itself compares the domain case-sensitively (``domain == "NT AUTHORITY"``,
    logon.go); a lower-case domain would fall through to an interactive logon that fails.
    That failure is not modelled: any case counts here.
    """
    domain, sep, name = user.partition("\\")
    if not sep or domain.strip().upper() != "NT AUTHORITY":
        return False
    return name.replace(" ", "").lower() in _SERVICE_ACCOUNTS


def host_process_field_allowed(node: NodeFacts) -> bool:
    """Whether the API server accepts ``windowsOptions.hostProcess``: false only on 1.22-1.25
    with the WindowsHostProcessContainers gate off (alpha 1.22, default off; beta 1.23-1.25,
    default on: pkg/features/kube_features.go defaultKubernetesFeatureGates at v1.22.0-v1.25.0;
    GA and locked on in 1.26). The scenario's ``featureGates`` stand for the API server's and
    the kubelet's alike (KEP-1981 README.md: "Components depending on the feature gate:
    Kubelet, kube-apiserver"). Before 1.22 the node rule below refuses the pod.
    """
    minor = _version(node.kubernetes_version)[:2]
    if not (1, 22) <= minor < (1, 26):
        return True
    override = node.feature_gates.get(GATE)
    return override if override is not None else minor >= (1, 23)


def _gate_verdicts(node: NodeFacts) -> list[NodeVerdict]:
    """WindowsHostProcessContainers: alpha 1.22 (off), beta 1.23 (on), GA 1.26 (locked on),
    removed 1.28 (KEP-1981 kep.yaml; k/k PR #117570)."""
    minor = _version(node.kubernetes_version)[:2]
    override = node.feature_gates.get(GATE)
    out = []
    if override is not None and (minor < (1, 22) or minor >= (1, 28)):
        # component-base featuregate Set(): the kubelet refuses its configuration.
        out.append(NodeVerdict("featureGate", f"unrecognized feature gate: {GATE}"))
    if minor < (1, 22):
        # hpsim's words: before 1.22 the API has no hostProcess field at all.
        out.append(
            NodeVerdict(
                "featureGate",
                f"Kubernetes v{minor[0]}.{minor[1]} has no HostProcess containers: "
                f"securityContext.windowsOptions.hostProcess and the {GATE} feature gate "
                "arrived as alpha in v1.22",
            )
        )
        return out
    if (1, 26) <= minor < (1, 28) and override is False:
        out.append(
            NodeVerdict(
                "featureGate",
                f"cannot set feature gate {GATE} to false, feature is locked to true",
            )
        )
    elif minor < (1, 26):
        enabled = override if override is not None else minor >= (1, 23)
        if not enabled:
            out.append(NodeVerdict("featureGate", GATE_OFF_MESSAGE))
    return out


def _named_pipe(path: object) -> bool:
    # hcsshim isnamedPipePath: strings.HasPrefix(p, `\\.\pipe\`). kubelet hands the hostPath
    # through as written; //./pipe/ is the forward-slash spelling of the same path.
    return isinstance(path, str) and path.startswith(("\\\\.\\pipe\\", "//./pipe/"))


def _socket(volume: Mapping[str, Any]) -> bool:
    # hostPath type Socket (kubelet checks the path is a socket); a path ending in .sock is
    # our reading of a Unix socket by its usual name (containerd.sock, docker.sock).
    host = as_map(volume.get("hostPath"))
    path = host.get("path")
    return host.get("type") == "Socket" or (
        isinstance(path, str) and path.lower().endswith(".sock")
    )


def node_rules(spec: Mapping[str, Any], node: NodeFacts) -> list[NodeVerdict]:
    """Node-level refusals of a HostProcess pod; empty when the node can run it.

    Rules, in order: ``featureGate``, ``containerd`` (< 1.6 has no HostProcess),
    ``localUser`` (a user other than the three NT AUTHORITY service accounts is a local group
    to hcsshim, which needs containerd 1.7+), ``namedPipe`` (hcsshim refuses a mount whose
    source is a named pipe). Pods without HostProcess containers get no verdicts.
    """
    if not is_host_process_pod(spec):
        return []
    out = _gate_verdicts(node)
    containerd = _version(node.containerd_version)
    if containerd < (1, 6, 0):
        # hpsim's words: containerd 1.6.0 (2022-02-15) was the first with HostProcess
        # (KEP-1981 README.md, Implementation History).
        out.append(
            NodeVerdict(
                "containerd",
                f"containerd {node.containerd_version} cannot run HostProcess containers: "
                "support arrived in containerd 1.6.0",
            )
        )
    pod_hp = pod_host_process(spec)
    hp_containers = [
        c for _k, c, _p in visit_containers(spec, "spec") if effective_host_process(c, pod_hp)
    ]
    if (1, 6, 0) <= containerd < (1, 7, 0):
        pod_user = get_in(spec, "securityContext", "windowsOptions", "runAsUserName")
        for c in hp_containers:
            user = effective_user(c, pod_user)
            if user is not None and not is_service_account(user):
                out.append(
                    NodeVerdict(
                        "localUser",
                        f"container {go_quote(container_name(c))} runs as {go_quote(user)}, "
                        "which is not an NT AUTHORITY service account: "
                        f"{LOCAL_USER_MESSAGE}",
                    )
                )
    pipes = {
        as_map(v).get("name"): get_in(v, "hostPath", "path")
        for v in as_list(spec.get("volumes"))
        if _named_pipe(get_in(v, "hostPath", "path"))
    }
    sockets = {
        as_map(v).get("name"): get_in(v, "hostPath", "path")
        for v in as_list(spec.get("volumes"))
        if _socket(as_map(v))
    }
    for c in hp_containers:
        for m in map(as_map, as_list(c.get("volumeMounts"))):
            if m.get("name") in sockets:
                out.append(
                    NodeVerdict(
                        "socket",
                        f"container {go_quote(container_name(c))} mounts volume "
                        f"{go_quote(str(m.get('name')))} ({sockets[m.get('name')]}): "
                        f"{SOCKET_MESSAGE}",
                    )
                )
            if m.get("name") in pipes:
                out.append(
                    NodeVerdict(
                        "namedPipe",
                        f"container {go_quote(container_name(c))} mounts volume "
                        f"{go_quote(str(m.get('name')))} ({pipes[m.get('name')]}): "
                        f"{NAMED_PIPE_MESSAGE}",
                    )
                )
    rc = spec.get("runtimeClassName")
    if isinstance(rc, str) and rc in node.hypervisor_classes:
        out.append(
            NodeVerdict(
                "hyperV",
                f"runtimeClassName {go_quote(rc)} (handler "
                f"{go_quote(node.hypervisor_classes[rc])}) runs hypervisor-isolated pods: "
                f"{HYPERV_MESSAGE}",
            )
        )
    return out
