"""kubectl's objects -> node pools, workloads, traces and the observed tables.

What each part mirrors (Kubernetes API reference, core/v1 Node, Pod, Event; apps/v1 and
batch/v1 workloads):

- **Pools.** Windows nodes (label ``kubernetes.io/os``, else ``status.nodeInfo.
  operatingSystem``) alike in their pool label (AKS ``agentpool``, EKS
  ``eks.amazonaws.com/nodegroup``, GKE ``cloud.google.com/gke-nodepool``), instance type,
  capacity, OS build and versions form one pool of that many nodes. The OS build is
  ``status.nodeInfo.kernelVersion`` (``10.0.20348.2762`` on Windows: the kubelet reads it
  from the registry, k/k pkg/kubelet/winstats version.go ``GetKernelVersion``);
  allocatable becomes ``kubeReserved`` (capacity - allocatable, less the hard eviction
  threshold hpsim also subtracts: k/k pkg/kubelet/cm GetNodeAllocatableReservation).
  ``status.images`` (names and compressed ``sizeBytes``, k/k pkg/kubelet/nodestatus
  setters.go ``Images``) less what the events show pulled in the window are the images
  the node image held.
- **Workloads.** A pod's controller ``ownerReferences`` are followed up: ReplicaSet ->
  Deployment (by the ReplicaSet's own owner when the workloads file has it, else by its
  name less the ``pod-template-hash`` label, as the Deployment controller names it:
  pkg/controller/deployment/sync.go ``getNewReplicaSet``), Job -> CronJob (the CronJob
  controller names a Job ``<cronjob>-<scheduled time in minutes>``:
  pkg/controller/cronjob/utils.go ``getJobName``), DaemonSet and StatefulSet as they are.
- **Manifests** are the owner object (``--workloads``) or the newest pod's spec, less what
  the API server and controllers add: status, uid, resourceVersion, managedFields,
  ownerReferences, generated labels, the service-account token volume
  ``kube-api-access-*`` (plugin/pkg/admission/serviceaccount), the DaemonSet controller's
  node affinity and tolerations (pkg/controller/daemon/util daemonset_util.go) and the
  DefaultTolerationSeconds ones (plugin/pkg/admission/defaulttolerationseconds).
- **Times.** ``metadata.creationTimestamp``, the ``PodScheduled`` condition, containers'
  ``state``/``lastState`` ``startedAt``/``finishedAt``, ``metadata.deletionTimestamp``;
  events by ``lastTimestamp``, else ``eventTime`` (events.k8s.io/v1 writers such as the
  scheduler leave the legacy timestamps empty), else their creation.
"""

from __future__ import annotations

import json
import math
import re
import statistics
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from hpsim.errors import HpsimError, excerpt
from hpsim.importer.kubectl import (
    ReadResult,
    already_present,
    normal_image,
    parse_pulled,
    parse_time,
)
from hpsim.scenario import catalog
from hpsim.scenario.apivalidation import is_dns1123_label, is_dns1123_subdomain
from hpsim.scenario.schema import (
    default_eviction_hard,
    eviction_threshold_bytes,
    version_tuple,
)
from hpsim.scenario.schemabase import pods_limit_problem
from hpsim.units import parse_cpu_millicores, parse_memory_bytes

# Labels naming a node's pool, by provider.
POOL_LABELS = (
    "agentpool",
    "kubernetes.azure.com/agentpool",
    "eks.amazonaws.com/nodegroup",
    "alpha.eksctl.io/nodegroup-name",
    "cloud.google.com/gke-nodepool",
)
INSTANCE_TYPE_LABELS = ("node.kubernetes.io/instance-type", "beta.kubernetes.io/instance-type")
# Node labels kubelet sets itself (hpsim's NodeSpec.all_labels sets them per node) or that
# name one machine.
NODE_OWN_LABELS = {
    "kubernetes.io/hostname",
    "kubernetes.io/os",
    "kubernetes.io/arch",
    "beta.kubernetes.io/os",
    "beta.kubernetes.io/arch",
    "node.kubernetes.io/windows-build",
}
# Taints the node lifecycle controller and kubelet set from conditions
# (k/k pkg/controller/nodelifecycle, pkg/kubelet/kubelet_node_status.go): a state, not the
# pool's configuration. The autoscaler's too.
TRANSIENT_TAINTS = (
    "node.kubernetes.io/",
    "ToBeDeletedByClusterAutoscaler",
    "DeletionCandidateOfClusterAutoscaler",
)
# Labels controllers put on pods and templates (pkg/controller/deployment, daemon,
# statefulset; batch/v1 Job's controller-uid and job-name).
GENERATED_LABELS = {
    "pod-template-hash",
    "controller-revision-hash",
    "pod-template-generation",
    "controller-uid",
    "job-name",
    "batch.kubernetes.io/controller-uid",
    "batch.kubernetes.io/job-name",
    "batch.kubernetes.io/job-completion-index",
    "apps.kubernetes.io/pod-index",
    "statefulset.kubernetes.io/pod-name",
}
GENERATED_ANNOTATIONS = {
    "kubectl.kubernetes.io/last-applied-configuration",
    "deployment.kubernetes.io/revision",
    "deprecated.daemonset.template.generation",
    "batch.kubernetes.io/job-tracking",
    "batch.kubernetes.io/cronjob-scheduled-timestamp",
    "kubernetes.io/config.seen",
    "kubernetes.io/config.source",
}
WINDOWS_BUILDS = {17763: "ltsc2019", 20348: "ltsc2022", 25398: "23h2", 26100: "ltsc2025"}
# The CronJob controller's Job names: <cronjob>-<scheduled time in minutes since the epoch>.
_CRON_JOB_RE = re.compile(r"^(?P<cron>.+)-(?P<minutes>[0-9]{8,})$")
_OS_BUILD_RE = re.compile(r"^10\.0\.\d+(?:\.\d+)?$")
# Node and pod names are DNS-1123 subdomains and a namespace a DNS-1123 label (k/k
# pkg/apis/core/validation ValidateNodeName, ValidatePodName, ValidateNamespaceName):
# hpsim.scenario.apivalidation is_dns1123_subdomain, is_dns1123_label.


def _readable_version(text: object) -> bool:
    """Whether a kubelet or containerd version reads as the scenario's versions do."""
    try:
        version_tuple(str(text))
    except ValueError:
        return False
    return True


# An image no node and no Pulled event gives a size for: our guess, about a servercore-based
# app image's compressed size.
UNKNOWN_IMAGE_BYTES = 2 * 2**30
KINDS = ("Deployment", "StatefulSet", "DaemonSet", "ReplicaSet", "CronJob", "Job", "Pod")


@dataclass
class Inputs:
    nodes: ReadResult
    pods: list[ReadResult]
    events: ReadResult | None = None
    workloads: ReadResult | None = None


@dataclass
class PoolPlan:
    name: str
    nodes: list[str]  # the cluster's node names, in the order hpsim names them <pool>-<i>
    node: dict[str, Any]  # the scenario's nodePools[].node
    comments: list[str]

    def sim_name(self, real: str) -> str:
        return f"{self.name}-{self.nodes.index(real)}"


@dataclass
class PodObs:
    """One pod as the input shows it, times in seconds from time zero."""

    key: str  # namespace/name
    name: str
    namespace: str
    uid: str
    node: str | None
    created: datetime | None
    scheduled: datetime | None
    started: datetime | None
    finished: datetime | None
    deleted: datetime | None
    restarts: int
    evicted: bool
    phase: str
    obj: dict[str, Any]
    workload: tuple[str, str, str] | None = None  # kind, namespace, name


@dataclass
class WorkloadPlan:
    kind: str
    namespace: str
    name: str  # the scenario's name (metadata.name, made unique)
    manifest: dict[str, Any]
    pods: list[PodObs]
    start_s: float = 0.0
    trace: list[tuple[float, float | None]] | None = None
    profile: dict[str, Any] = field(default_factory=dict)
    containers: dict[str, dict[str, Any]] = field(default_factory=dict)
    comments: list[str] = field(default_factory=list)

    @property
    def file(self) -> str:
        return f"manifests/{self.kind.lower()}-{self.name}.yaml"

    @property
    def trace_file(self) -> str:
        return f"traces/{self.kind.lower()}-{self.name}.csv"


@dataclass
class ImportPlan:
    name: str
    t0: datetime
    duration_s: float
    pools: list[PoolPlan]
    workloads: list[WorkloadPlan]
    images: list[dict[str, Any]]
    image_comments: dict[str, str]
    skipped: list[str]  # "what: why"
    notes: list[str]  # guesses and facts a reader must know
    problems: list[str]  # bad or partial input
    pods_rows: list[dict[str, Any]]
    events_rows: list[dict[str, Any]]
    pulls_rows: list[dict[str, Any]]
    namespaces: dict[str, str]
    counts: dict[str, int]


# -- helpers --------------------------------------------------------------------------------


def _meta(obj: dict[str, Any]) -> dict[str, Any]:
    m = obj.get("metadata")
    return m if isinstance(m, dict) else {}


def _key(obj: dict[str, Any]) -> str:
    m = _meta(obj)
    return f"{m.get('namespace') or ''}/{m.get('name') or ''}"


def _latest(
    results: list[ReadResult], kinds: tuple[str, ...] | None
) -> tuple[list[dict[str, Any]], set[str]]:
    """The last state of each object (by metadata.uid, else namespace/name), in the order
    first seen, and the identities a watch stream reported deleted."""
    out: dict[str, dict[str, Any]] = {}
    deleted: set[str] = set()
    for res in results:
        for i, obj in enumerate(res.objects):
            kind = obj.get("kind")
            if kinds is not None and kind is not None and kind not in kinds:
                continue
            ident = str(_meta(obj).get("uid") or f"{kind}:{_key(obj)}")
            earlier = out.get(ident)
            if earlier is not None and "deletionTimestamp" in _meta(earlier):
                # A later state never un-deletes: keep when the deletion began.
                _meta(obj).setdefault("deletionTimestamp", _meta(earlier)["deletionTimestamp"])
            out[ident] = obj
            if i in res.deleted:
                deleted.add(ident)
    return list(out.values()), deleted


def _quantity(value: Any, parse: Any) -> int | None:
    try:
        return int(parse(value)) if value is not None else None
    except (ValueError, TypeError, ArithmeticError):
        return None


def _seconds(t: datetime | None, t0: datetime) -> float | None:
    return None if t is None else round((t - t0).total_seconds(), 3)


def _dns_name(text: str) -> str:
    s = re.sub(r"[^a-z0-9-]+", "-", text.lower()).strip("-")
    return s[:40].strip("-") or "pool"


# -- nodes -> pools -------------------------------------------------------------------------


def _is_windows(node: dict[str, Any]) -> bool:
    labels = _meta(node).get("labels") or {}
    os_ = labels.get("kubernetes.io/os") or (node.get("status", {}).get("nodeInfo") or {}).get(
        "operatingSystem"
    )
    return os_ == "windows"


def _pulled_on(events: list[dict[str, Any]]) -> dict[str, set[str]]:
    """Per node, the images kubelet says it pulled in the window (normalised names)."""
    out: dict[str, set[str]] = defaultdict(set)
    for ev in events:
        if ev.get("reason") != "Pulled":
            continue
        p = parse_pulled(str(ev.get("message") or ""))
        host = (ev.get("source") or {}).get("host") or ev.get("reportingInstance")
        if p is not None and host:
            out[host].add(normal_image(p.image))
    return out


def _image_name(entry: dict[str, Any]) -> str | None:
    names = [n for n in entry.get("names") or [] if isinstance(n, str)]
    tagged = [n for n in names if "@" not in n]
    chosen = tagged[0] if tagged else (names[0] if names else None)
    return None if chosen is None else normal_image(chosen).removesuffix(":latest")


def _pools(
    nodes: list[dict[str, Any]], pulled: dict[str, set[str]], skipped: list[str], notes: list[str]
) -> tuple[list[PoolPlan], dict[str, int]]:
    groups: dict[tuple[Any, ...], list[dict[str, Any]]] = defaultdict(list)
    sizes: dict[str, int] = {}  # normalised image name -> the largest sizeBytes seen
    for node in nodes:
        meta, status = _meta(node), node.get("status") or {}
        name = str(meta.get("name") or "?")
        if not _is_windows(node):
            os_ = (meta.get("labels") or {}).get("kubernetes.io/os") or (
                status.get("nodeInfo") or {}
            ).get("operatingSystem", "unknown")
            skipped.append(
                f"node {name}: not a Windows node (kubernetes.io/os={os_}); "
                "hpsim models Windows nodes only"
            )
            continue
        info = status.get("nodeInfo") or {}
        cap = status.get("capacity") or {}
        if is_dns1123_subdomain(name):
            skipped.append(
                f"node {excerpt(name)}: not a Kubernetes node name (a DNS-1123 subdomain: "
                "lowercase letters, digits, '-' and '.', at most 253 characters)"
            )
            continue
        kubelet_v = info.get("kubeletVersion")
        if kubelet_v is not None and not _readable_version(kubelet_v):
            skipped.append(
                f"node {name}: kubeletVersion '{excerpt(str(kubelet_v))}' is not a version "
                "(expected v1.31.2 or the like)"
            )
            continue
        kernel = str(info.get("kernelVersion") or "")
        if not _OS_BUILD_RE.match(kernel):
            label = (meta.get("labels") or {}).get("node.kubernetes.io/windows-build", "")
            kernel = label if _OS_BUILD_RE.match(label) else ""
        if (
            not kernel
            or _quantity(cap.get("cpu"), parse_cpu_millicores) is None
            or _quantity(cap.get("memory"), parse_memory_bytes) is None
        ):
            skipped.append(f"node {name}: no OS build, CPU or memory capacity in its status")
            continue
        labels = meta.get("labels") or {}
        pool_label = next((labels[k] for k in POOL_LABELS if labels.get(k)), "")
        itype = next((labels[k] for k in INSTANCE_TYPE_LABELS if labels.get(k)), "")
        key = (
            pool_label,
            itype,
            str(cap.get("cpu")),
            str(cap.get("memory")),
            str(cap.get("pods")),
            str(cap.get("ephemeral-storage")),
            kernel.split(".")[2],
            info.get("kubeletVersion"),
            info.get("containerRuntimeVersion"),
        )
        groups[key].append(node)
        for entry in status.get("images") or []:
            n = _image_name(entry)
            if n is not None and isinstance(entry.get("sizeBytes"), int):
                sizes[n] = max(sizes.get(n, 0), entry["sizeBytes"])
    pools: list[PoolPlan] = []
    used: set[str] = set()
    for key, members in groups.items():
        members.sort(key=lambda n: str(_meta(n).get("name")))
        build = int(key[6])
        base = _dns_name(key[0]) if key[0] else WINDOWS_BUILDS.get(build, f"win{build}")
        name, i = base, 2
        while name in used:
            name, i = f"{base}-{i}", i + 1
        used.add(name)
        pools.append(_pool(name, members, pulled, notes))
    return pools, sizes


def _pool(
    name: str, members: list[dict[str, Any]], pulled: dict[str, set[str]], notes: list[str]
) -> PoolPlan:
    first = members[0]
    status = first.get("status") or {}
    info, cap, alloc = (
        status.get("nodeInfo") or {},
        status.get("capacity") or {},
        status.get("allocatable") or {},
    )
    comments: list[str] = []
    kernels = Counter(
        str((m.get("status") or {}).get("nodeInfo", {}).get("kernelVersion")) for m in members
    )
    os_build = kernels.most_common(1)[0][0]
    if not _OS_BUILD_RE.match(os_build):
        os_build = str((_meta(first).get("labels") or {}).get("node.kubernetes.io/windows-build"))
    if len(kernels) > 1:
        comments.append(f"osBuild: the most common of {', '.join(sorted(kernels))}")
    kubelet_v = str(info.get("kubeletVersion") or "v1.31").lstrip("v")
    runtime = str(info.get("containerRuntimeVersion") or "")
    node: dict[str, Any] = {
        "osBuild": os_build,
        "cpu": max(1, math.ceil((_quantity(cap.get("cpu"), parse_cpu_millicores) or 1000) / 1000)),
        "memory": str(cap.get("memory")),
    }
    disk = _quantity(cap.get("ephemeral-storage"), parse_memory_bytes)
    if disk is not None and disk > 21 * 2**30:
        node["disk"] = str(cap.get("ephemeral-storage"))
    else:
        comments.append("disk: no usable ephemeral-storage capacity; hpsim's default (a guess)")
    node["kubernetes"] = kubelet_v
    if runtime.startswith("containerd://") and _readable_version(
        runtime.removeprefix("containerd://")
    ):
        node["containerd"] = runtime.removeprefix("containerd://")
    else:
        comments.append(
            f"containerd: the node reports {excerpt(runtime) or 'no runtime'}; "
            "hpsim's default containerd"
        )
    kubelet: dict[str, Any] = {}
    pods_cap = _quantity(cap.get("pods"), int)
    if pods_cap:
        kubelet["maxPods"] = pods_cap
    reserved = _reservation(cap, alloc, kubelet_v, disk)
    if reserved:
        kubelet["kubeReserved"] = reserved
        comments.append(
            "kubelet.kubeReserved: capacity - allocatable as the node reports them, less the "
            "default evictionHard hpsim subtracts too (system and kube reservations are not "
            "told apart by the API)"
        )
    if kubelet:
        node["kubelet"] = kubelet
    labels = _common_labels(members)
    if labels:
        node["labels"] = labels
    taints = _common_taints(members)
    if taints:
        node["taints"] = taints
    pre = _pre_pulled(members, pulled)
    node["prePulledImages"] = pre
    comments.append(
        "prePulledImages: what every node of the pool held (status.images) less what the "
        "events show it pulled in the window"
    )
    pause = next((n for n in pre if n.rsplit(":", 1)[0].endswith("/pause")), None)
    if pause is not None and isinstance(node.get("containerd"), str):
        # The node image configures containerd's sandbox image (config.toml
        # sandbox_image, pinned_images.sandbox in 2.0) and pre-pulls it: AKS and EKS
        # Windows images ship mcr.microsoft.com/oss/kubernetes/pause. The API does not
        # say which image is configured; the pause image every node holds is taken.
        node["containerd"] = {"version": node["containerd"], "sandboxImage": pause}
        comments.append(
            f"containerd.sandboxImage: {pause}, the pause image every node of the pool held "
            "(inferred: the API does not report containerd's configured sandbox image)"
        )
    return PoolPlan(
        name=name, nodes=[str(_meta(m).get("name")) for m in members], node=node, comments=comments
    )


def _reservation(
    cap: dict[str, Any], alloc: dict[str, Any], version: str, disk: int | None
) -> dict[str, str]:
    hard = default_eviction_hard(version)
    out: dict[str, str] = {}
    cpu_c, cpu_a = (
        _quantity(cap.get("cpu"), parse_cpu_millicores),
        _quantity(alloc.get("cpu"), parse_cpu_millicores),
    )
    if cpu_c is not None and cpu_a is not None and cpu_c > cpu_a:
        out["cpu"] = f"{cpu_c - cpu_a}m"
    mem_c, mem_a = (
        _quantity(cap.get("memory"), parse_memory_bytes),
        _quantity(alloc.get("memory"), parse_memory_bytes),
    )
    if mem_c is not None and mem_a is not None:
        r = mem_c - mem_a - eviction_threshold_bytes(hard["memory.available"], mem_c)
        if r >= 2**20:
            out["memory"] = f"{r // 2**10}Ki"
    eph_a = _quantity(alloc.get("ephemeral-storage"), parse_memory_bytes)
    if disk is not None and eph_a is not None:
        r = disk - eph_a - eviction_threshold_bytes(hard["nodefs.available"], disk)
        if r >= 2**20:
            out["ephemeral-storage"] = f"{r // 2**10}Ki"
    return out


def _common_labels(members: list[dict[str, Any]]) -> dict[str, str]:
    sets = [(_meta(m).get("labels") or {}) for m in members]
    out = {
        k: v
        for k, v in sets[0].items()
        if k not in NODE_OWN_LABELS and all(s.get(k) == v for s in sets[1:])
    }
    return {k: str(v) for k, v in sorted(out.items())}


def _common_taints(members: list[dict[str, Any]]) -> list[dict[str, str]]:
    def taints(m: dict[str, Any]) -> list[dict[str, str]]:
        out = []
        for t in (m.get("spec") or {}).get("taints") or []:
            key = str(t.get("key") or "")
            if key.startswith(TRANSIENT_TAINTS) or t.get("effect") not in (
                "NoSchedule",
                "PreferNoSchedule",
                "NoExecute",
            ):
                continue
            d = {"key": key, "effect": t["effect"]}
            if t.get("value"):
                d["value"] = str(t["value"])
            out.append(d)
        return out

    first = taints(members[0])
    return [t for t in first if all(t in taints(m) for m in members[1:])]


def _pre_pulled(members: list[dict[str, Any]], pulled: dict[str, set[str]]) -> list[str]:
    per_node: list[list[str]] = []
    for m in members:
        name = str(_meta(m).get("name"))
        held = []
        for entry in (m.get("status") or {}).get("images") or []:
            n = _image_name(entry)
            if n is not None and normal_image(n) not in pulled.get(name, set()):
                held.append(n)
        per_node.append(held)
    common = set(per_node[0]).intersection(*map(set, per_node[1:]))
    return [n for n in per_node[0] if n in common]


# -- pods -> workloads ----------------------------------------------------------------------


def _pod_obs(pod: dict[str, Any]) -> PodObs:
    meta, spec, status = _meta(pod), pod.get("spec") or {}, pod.get("status") or {}
    scheduled = None
    for c in status.get("conditions") or []:
        if c.get("type") == "PodScheduled" and c.get("status") == "True":
            scheduled = parse_time(c.get("lastTransitionTime"))
    starts: list[datetime] = []
    ends: list[datetime] = []
    restarts = 0
    statuses = [
        *(status.get("initContainerStatuses") or []),
        *(status.get("containerStatuses") or []),
    ]
    app = status.get("containerStatuses") or []
    for cs in statuses:
        restarts += int(cs.get("restartCount") or 0) if cs in app else 0
        for st in (cs.get("state") or {}, cs.get("lastState") or {}):
            for kind in ("running", "terminated"):
                t = parse_time((st.get(kind) or {}).get("startedAt"))
                if t is not None:
                    starts.append(t)
    for cs in app:
        t = parse_time(((cs.get("state") or {}).get("terminated") or {}).get("finishedAt"))
        if t is not None:
            ends.append(t)
    phase = str(status.get("phase") or "Unknown")
    finished = (
        max(ends) if ends and len(ends) == len(app) and phase in ("Succeeded", "Failed") else None
    )
    return PodObs(
        key=_key(pod),
        name=str(meta.get("name") or ""),
        namespace=str(meta.get("namespace") or "default"),
        uid=str(meta.get("uid") or ""),
        node=spec.get("nodeName"),
        created=parse_time(meta.get("creationTimestamp")),
        scheduled=scheduled,
        started=min(starts) if starts else None,
        finished=finished,
        deleted=parse_time(meta.get("deletionTimestamp")),
        restarts=restarts,
        evicted=status.get("reason") == "Evicted",
        phase=phase,
        obj=pod,
    )


def _controller(obj: dict[str, Any]) -> dict[str, Any] | None:
    refs = [r for r in _meta(obj).get("ownerReferences") or [] if isinstance(r, dict)]
    return next((r for r in refs if r.get("controller")), refs[0] if refs else None)


def _owner(
    pod: PodObs, owners: dict[tuple[str, str, str], dict[str, Any]], notes: set[str]
) -> tuple[str, str, str] | str:
    """(kind, namespace, name) of the workload the pod belongs to, or why it has none."""
    ref = _controller(pod.obj)
    ns = pod.namespace
    if ref is None:
        return ("Pod", ns, pod.name)
    kind, name = str(ref.get("kind")), str(ref.get("name"))
    if kind == "ReplicaSet":
        rs = owners.get(("ReplicaSet", ns, name))
        up = _controller(rs) if rs is not None else None
        if up is not None and up.get("kind") == "Deployment":
            return ("Deployment", ns, str(up.get("name")))
        if rs is not None:
            return ("ReplicaSet", ns, name)
        h = (_meta(pod.obj).get("labels") or {}).get("pod-template-hash")
        if h and name.endswith(f"-{h}"):
            notes.add(
                "ReplicaSets were not given: each Deployment's name is its ReplicaSet's less "
                "the pod-template-hash suffix (the Deployment controller's naming)"
            )
            return ("Deployment", ns, name[: -len(h) - 1])
        return ("ReplicaSet", ns, name)
    if kind == "Job":
        job = owners.get(("Job", ns, name))
        up = _controller(job) if job is not None else None
        if up is not None and up.get("kind") == "CronJob":
            return ("CronJob", ns, str(up.get("name")))
        m = _CRON_JOB_RE.match(name)
        if job is None and m is not None:
            notes.add(
                "Jobs named <name>-<minutes> (a CronJob's naming) are one Job workload with a "
                "trace of their runs: give the CronJob (--workloads) to import its schedule"
            )
            return ("Job", ns, m.group("cron"))
        return ("Job", ns, name)
    if kind in ("DaemonSet", "StatefulSet"):
        return (kind, ns, name)
    return f"owned by a {kind} ({name}), which hpsim does not model"


def _clean_meta(meta: dict[str, Any], *, keep_name: bool = True) -> dict[str, Any]:
    out: dict[str, Any] = {}
    if keep_name and meta.get("name"):
        out["name"] = meta["name"]
    if meta.get("namespace"):
        out["namespace"] = meta["namespace"]
    labels = {k: v for k, v in (meta.get("labels") or {}).items() if k not in GENERATED_LABELS}
    if labels:
        out["labels"] = labels
    ann = {
        k: v for k, v in (meta.get("annotations") or {}).items() if k not in GENERATED_ANNOTATIONS
    }
    if ann:
        out["annotations"] = ann
    return out


def _is_ds_affinity(term: dict[str, Any]) -> bool:
    fields = term.get("matchFields") or []
    return (
        bool(fields)
        and all(f.get("key") == "metadata.name" for f in fields)
        and not term.get("matchExpressions")
    )


def _added_toleration(t: dict[str, Any]) -> bool:
    key = str(t.get("key") or "")
    if not key.startswith("node.kubernetes.io/") or t.get("operator") != "Exists":
        return False
    # DefaultTolerationSeconds' two (NoExecute, 300 s) and the DaemonSet controller's.
    return t.get("tolerationSeconds") in (None, 300)


def _clean_spec(spec: dict[str, Any], *, keep_node: bool, daemon: bool) -> dict[str, Any]:
    s = json.loads(json.dumps(spec))
    if not keep_node:
        s.pop("nodeName", None)
    s.pop("serviceAccount", None)  # the deprecated copy of serviceAccountName
    if s.get("priorityClassName"):
        s.pop("priority", None)  # the Priority admission plugin fills it from the class
    elif not s.get("priority"):
        s.pop("priority", None)
    token = {
        v.get("name")
        for v in s.get("volumes") or []
        if str(v.get("name", "")).startswith("kube-api-access-")
    }
    if token:
        s["volumes"] = [v for v in s["volumes"] if v.get("name") not in token]
        if not s["volumes"]:
            del s["volumes"]
        for c in [*(s.get("initContainers") or []), *(s.get("containers") or [])]:
            mounts = [vm for vm in c.get("volumeMounts") or [] if vm.get("name") not in token]
            if mounts:
                c["volumeMounts"] = mounts
            else:
                c.pop("volumeMounts", None)
    na = (s.get("affinity") or {}).get("nodeAffinity") or {}
    req = na.get("requiredDuringSchedulingIgnoredDuringExecution") or {}
    terms = req.get("nodeSelectorTerms") or []
    if terms and all(_is_ds_affinity(t) for t in terms):
        del na["requiredDuringSchedulingIgnoredDuringExecution"]
        if not na:
            del s["affinity"]["nodeAffinity"]
        if not s["affinity"]:
            del s["affinity"]
    tol = [t for t in s.get("tolerations") or [] if not _added_toleration(t)]
    if tol:
        s["tolerations"] = tol
    else:
        s.pop("tolerations", None)
    del daemon
    return s


def _manifest_from_owner(obj: dict[str, Any]) -> dict[str, Any]:
    kind = obj["kind"]
    spec = json.loads(json.dumps(obj.get("spec") or {}))
    out = {"apiVersion": obj.get("apiVersion"), "kind": kind, "metadata": _clean_meta(_meta(obj))}
    tmpl_parent = spec
    if kind == "CronJob":
        jt = spec.get("jobTemplate") or {}
        jt["metadata"] = _clean_meta(jt.get("metadata") or {}, keep_name=False)
        tmpl_parent = jt.get("spec") or {}
    if kind == "Job":
        for k in ("selector", "manualSelector"):
            spec.pop(k, None)
    tmpl = tmpl_parent.get("template") or {}
    tmpl["metadata"] = _clean_meta(tmpl.get("metadata") or {}, keep_name=False)
    if tmpl.get("spec"):
        tmpl["spec"] = _clean_spec(tmpl["spec"], keep_node=False, daemon=kind == "DaemonSet")
    for k in [k for k, v in tmpl["metadata"].items() if v in ({}, None)]:
        del tmpl["metadata"][k]
    out["spec"] = spec
    return out


def _manifest_from_pod(
    kind: str, name: str, pod: PodObs, replicas: int, pin: str | None
) -> dict[str, Any]:
    meta = _clean_meta(_meta(pod.obj), keep_name=False)
    spec = _clean_spec(pod.obj.get("spec") or {}, keep_node=False, daemon=kind == "DaemonSet")
    if kind == "Pod":
        if pin is not None:
            spec["nodeName"] = pin
        return {"apiVersion": "v1", "kind": "Pod", "metadata": {**meta, "name": name}, "spec": spec}
    labels = meta.get("labels") or {"app": name}
    template = {"metadata": {"labels": labels}, "spec": spec}
    if meta.get("annotations"):
        template["metadata"]["annotations"] = meta["annotations"]
    wspec: dict[str, Any] = {}
    if kind in ("Deployment", "StatefulSet", "ReplicaSet"):
        wspec["replicas"] = replicas
    if kind != "Job":
        wspec["selector"] = {"matchLabels": labels}
    if kind == "StatefulSet":
        wspec["serviceName"] = name
    wspec["template"] = template
    api = "batch/v1" if kind == "Job" else "apps/v1"
    return {
        "apiVersion": api,
        "kind": kind,
        "metadata": {"name": name, "namespace": pod.namespace, "labels": labels},
        "spec": wspec,
    }


def _linux(pod: PodObs, skipped_nodes: set[str]) -> str | None:
    spec = pod.obj.get("spec") or {}
    if pod.node is not None and pod.node in skipped_nodes:
        return f"ran on node {pod.node}, which is not imported"
    sel = (spec.get("nodeSelector") or {}).get("kubernetes.io/os")
    os_name = (spec.get("os") or {}).get("name")
    if "linux" in (sel, os_name):
        return "a Linux pod (nodeSelector or spec.os)"
    return None


def _pod_problem(p: PodObs) -> str | None:
    """What in a pod object no API server would have returned (a damaged or hostile
    file), in the field's words; None when the pod can be imported."""
    if is_dns1123_subdomain(p.name):
        return f"metadata.name '{excerpt(p.name)}' is not a pod name (a DNS-1123 subdomain)"
    if is_dns1123_label(p.namespace):
        return (
            f"metadata.namespace '{excerpt(p.namespace)}' is not a namespace name "
            "(a DNS-1123 label)"
        )
    return _containers_problem(p.obj.get("spec"), "spec")


def _containers_problem(spec: Any, where: str) -> str | None:
    """What no API server would return in a pod spec (at ``where``): containers that are
    no list of named containers, or a request or limit that is no quantity."""
    containers = spec.get("containers") if isinstance(spec, dict) else None
    if not isinstance(containers, list) or not containers:
        return f"{where}.containers: no containers"
    assert isinstance(spec, dict)
    for field_name in ("initContainers", "containers"):
        listed = spec.get(field_name) or []
        if not isinstance(listed, list):
            return f"{where}.{field_name}: not a list"
        for i, c in enumerate(listed):
            at = f"{where}.{field_name}[{i}]"
            if not isinstance(c, dict) or not isinstance(c.get("name"), str):
                return f"{at}: not a container with a name"
            res = c.get("resources") or {}
            for kind in ("requests", "limits"):
                amounts = (res.get(kind) or {}) if isinstance(res, dict) else None
                if not isinstance(amounts, dict):
                    return f"{at}.resources.{kind}: not a mapping"
                for resource in ("cpu", "memory", "ephemeral-storage"):
                    if resource not in amounts:
                        continue
                    parse = parse_cpu_millicores if resource == "cpu" else parse_memory_bytes
                    try:
                        parse(amounts[resource])
                    except (ValueError, TypeError, ArithmeticError) as exc:
                        return f"{at}.resources.{kind}.{resource}: {exc}"
    return None


def _owner_problem(obj: dict[str, Any]) -> str | None:
    """What in a workload object no API server would return, or hpsim cannot simulate;
    None when its manifest can be rebuilt from it."""
    meta = _meta(obj)
    name, ns = str(meta.get("name") or ""), str(meta.get("namespace") or "default")
    if is_dns1123_subdomain(name):
        return f"metadata.name '{excerpt(name)}' is not a Kubernetes name"
    if is_dns1123_label(ns):
        return f"metadata.namespace '{excerpt(ns)}' is not a namespace name"
    spec = obj.get("spec")
    where = "spec"
    if isinstance(spec, dict) and obj.get("kind") == "CronJob":
        spec = (spec.get("jobTemplate") or {}).get("spec")
        where = "spec.jobTemplate.spec"
    if not isinstance(spec, dict) or not isinstance(spec.get("template"), dict):
        return f"{where}.template: no pod template"
    for count in ("replicas", "parallelism"):
        value = spec.get(count)
        if value is None:
            continue
        if not isinstance(value, int) or isinstance(value, bool) or value < 0:
            return f"{where}.{count}: not a count"
        problem = pods_limit_problem(value, count)
        if problem is not None:
            return f"{where}.{count}: {problem}"
    return _containers_problem(spec["template"].get("spec"), f"{where}.template.spec")


def _profile(containers: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    out: dict[str, dict[str, Any]] = {}
    for c in containers:
        res = c.get("resources") or {}
        req, lim = res.get("requests") or {}, res.get("limits") or {}
        p: dict[str, Any] = {}
        mem = req.get("memory") or lim.get("memory")
        cpu = req.get("cpu") or lim.get("cpu")
        if mem is not None:
            p["memory"] = str(mem)
        if cpu is not None:
            p["cpu"] = str(cpu)
        out[str(c.get("name"))] = p
    return out


# -- the whole plan -------------------------------------------------------------------------


def plan_import(inputs: Inputs, name: str) -> ImportPlan:
    problems = [*inputs.nodes.problems, *(p for r in inputs.pods for p in r.problems)]
    skipped: list[str] = []
    notes: list[str] = []
    note_set: set[str] = set()
    nodes, _ = _latest([inputs.nodes], ("Node",))
    events: list[dict[str, Any]] = []
    if inputs.events is not None:
        problems += inputs.events.problems
        events, _ = _latest([inputs.events], ("Event",))
    owners: dict[tuple[str, str, str], dict[str, Any]] = {}
    if inputs.workloads is not None:
        problems += inputs.workloads.problems
        objs, _ = _latest([inputs.workloads], None)
        for o in objs:
            m = _meta(o)
            why = _owner_problem(o)
            if why is not None:
                skipped.append(
                    f"workload {excerpt(str(o.get('kind')))} {excerpt(_key(o))}: {why}; "
                    "its pods are imported as if it had not been given"
                )
                continue
            owners[
                (str(o.get("kind")), str(m.get("namespace") or "default"), str(m.get("name")))
            ] = o
    pulled = _pulled_on(events)
    pools, image_sizes = _pools(nodes, pulled, skipped, notes)
    if not pools:
        raise HpsimError(
            "no Windows node to import (hpsim simulates Windows nodes only): "
            + ("; ".join([*skipped, *problems]) or "the nodes file holds no Node"),
            file=inputs.nodes.file,
        )
    real_to_sim = {real: p.sim_name(real) for p in pools for real in p.nodes}
    all_nodes = {str(_meta(n).get("name")) for n in nodes}
    skipped_nodes = all_nodes - set(real_to_sim)

    pod_objs, deleted_ids = _latest(inputs.pods, ("Pod",))
    pods = [_pod_obs(p) for p in pod_objs]
    for p in pods:
        if p.uid in deleted_ids and p.deleted is None:
            note_set.add(
                "pods a watch stream reported DELETED without a deletionTimestamp count as "
                "deleted at their last observed time"
            )
            p.deleted = p.finished or p.started or p.scheduled or p.created
    # Time zero: the earliest creation of a pod imported, or the earliest event.
    kept: list[PodObs] = []
    groups: dict[tuple[str, str, str], list[PodObs]] = defaultdict(list)
    for p in pods:
        why = _linux(p, skipped_nodes)
        if why is not None:
            skipped.append(f"pod {p.key}: {why}")
            continue
        why = _pod_problem(p)
        if why is not None:
            skipped.append(f"pod {excerpt(p.key)}: {why}")
            continue
        if p.created is None:
            skipped.append(f"pod {p.key}: no metadata.creationTimestamp")
            continue
        owner = _owner(p, owners, note_set)
        if isinstance(owner, str):
            skipped.append(f"pod {p.key}: {owner}")
            continue
        p.workload = owner
        kept.append(p)
        groups[owner].append(p)
    event_times = [t for t in (_event_time(e) for e in events) if t is not None]
    starts = [p.created for p in kept if p.created is not None] + event_times
    if not starts:
        raise HpsimError(
            "no Windows pod and no event to import: "
            + ("; ".join(skipped[-5:]) or "the pods file holds no Pod"),
            file=inputs.pods[0].file if inputs.pods else None,
        )
    t0 = min(starts)
    times = [
        t
        for p in kept
        for t in (p.created, p.scheduled, p.started, p.finished, p.deleted)
        if t is not None
    ]
    last = max([*times, *event_times])
    span = (last - t0).total_seconds()
    duration = float(math.ceil((span + 1) / 600) * 600)

    # Owner objects of skipped-only workloads.
    for key, obj in owners.items():
        if key[0] in ("Deployment", "DaemonSet", "StatefulSet", "CronJob") and key not in groups:
            spec = ((obj.get("spec") or {}).get("template") or {}).get("spec") or {}
            if key[0] == "CronJob":
                spec = (
                    (((obj.get("spec") or {}).get("jobTemplate") or {}).get("spec") or {}).get(
                        "template"
                    )
                    or {}
                ).get("spec") or {}
            sel = (spec.get("nodeSelector") or {}).get("kubernetes.io/os")
            why = "a Linux workload" if sel == "linux" else "no pod of it in the pods file"
            skipped.append(f"{key[0]} {key[1]}/{key[2]}: {why}")

    workloads: list[WorkloadPlan] = []
    used_names: set[str] = set()
    for (kind, ns, wname), members in sorted(
        groups.items(),
        key=lambda kv: (KINDS.index(kv[0][0]) if kv[0][0] in KINDS else 9, kv[0][1], kv[0][2]),
    ):
        members.sort(key=lambda p: (p.created, p.name))
        sim_name = wname
        if sim_name in used_names:
            sim_name = f"{wname}-{ns}"
            notes.append(
                f"{kind} {ns}/{wname} is named {sim_name} in the scenario (the name is taken)"
            )
        used_names.add(sim_name)
        workloads.append(
            _workload(kind, ns, wname, sim_name, members, owners, real_to_sim, t0, notes)
        )

    images, image_comments = _images(workloads, pools, image_sizes, events, notes)
    namespaces: dict[str, str] = {}
    for w in workloads:
        tmpl = w.manifest
        ns = w.namespace
        namespaces.setdefault(ns, "privileged")
    del tmpl
    notes.extend(sorted(note_set))
    pods_rows = [
        _pod_row(p, t0, real_to_sim) for p in sorted(kept, key=lambda p: (p.created, p.key))
    ]
    events_rows, pulls_rows = _event_rows(events, t0, real_to_sim, {p.key for p in pods}, problems)
    # Each pull's pool (hpsim calibrate --pool fits a pool to its own pulls); "" for a node
    # in no pool (gone, or not Windows).
    pool_of = {p.sim_name(real): p.name for p in pools for real in p.nodes}
    for row in pulls_rows:
        row["pool"] = pool_of.get(row["node"], "")
    counts = {
        "nodes": len(nodes),
        "pods": len(pods),
        "pods_imported": len(kept),
        "events": len(events),
        "workload_objects": len(owners),
    }
    return ImportPlan(
        name=name,
        t0=t0,
        duration_s=duration,
        pools=pools,
        workloads=workloads,
        images=images,
        image_comments=image_comments,
        skipped=skipped,
        notes=notes,
        problems=problems,
        pods_rows=pods_rows,
        events_rows=events_rows,
        pulls_rows=pulls_rows,
        namespaces=dict(sorted(namespaces.items())),
        counts=counts,
    )


def _workload(
    kind: str,
    ns: str,
    wname: str,
    sim_name: str,
    members: list[PodObs],
    owners: dict[tuple[str, str, str], dict[str, Any]],
    real_to_sim: dict[str, str],
    t0: datetime,
    notes: list[str],
) -> WorkloadPlan:
    newest = members[-1]
    owner = owners.get((kind, ns, wname))
    live = [p for p in members if p.deleted is None and p.finished is None]
    comments: list[str] = []
    pin: str | None = None
    if kind == "Pod" or kind == "Job":
        bound = {p.node for p in members if p.node is not None}
        if len(bound) == 1 and next(iter(bound)) in real_to_sim:
            pin = real_to_sim[next(iter(bound))]
            comments.append(f"pinned to {pin} (spec.nodeName {next(iter(bound))} in the cluster)")
        elif len(bound) > 1:
            comments.append("its pods ran on several nodes: left to the scheduler")
    if owner is not None:
        manifest = _manifest_from_owner(owner)
        manifest["metadata"]["name"] = sim_name
        comments.append(f"manifest: the {kind} object from the workloads file")
    else:
        manifest = _manifest_from_pod(kind, sim_name, newest, max(1, len(live)), pin)
        source = f"the pod spec of {newest.key}"
        if kind in ("Deployment", "StatefulSet", "ReplicaSet"):
            source += f"; replicas = {max(1, len(live))}, its pods not deleted at the end"
        comments.append(f"manifest: rebuilt from {source}")
    if kind == "Job" and pin is not None:
        manifest["spec"]["template"]["spec"]["nodeName"] = pin
    w = WorkloadPlan(
        kind=kind, namespace=ns, name=sim_name, manifest=manifest, pods=members, comments=comments
    )
    first = _seconds(members[0].created, t0) or 0.0
    if kind in ("Pod", "Job"):
        rows: list[tuple[float, float | None]] = []
        if kind == "Job":
            by_job: dict[str, list[PodObs]] = defaultdict(list)
            for p in members:
                ref = _controller(p.obj) or {}
                by_job[str(ref.get("name"))].append(p)
            for job_pods in by_job.values():
                c = min(_seconds(p.created, t0) or 0.0 for p in job_pods)
                dels = [_seconds(p.deleted, t0) for p in job_pods]
                rows.append(
                    (
                        c,
                        None
                        if any(d is None for d in dels)
                        else max(d for d in dels if d is not None),
                    )
                )
        else:
            rows = [(_seconds(p.created, t0) or 0.0, _seconds(p.deleted, t0)) for p in members]
        w.trace = sorted(rows, key=lambda r: r[0])
    elif kind != "CronJob":
        # A CronJob's Jobs come from its schedule on the scenario's clock (startTime).
        w.start_s = first
    tmpl_spec = _template_spec(manifest)
    profiles = _profile(tmpl_spec.get("containers") or [])
    runs = [
        (p.finished - p.started).total_seconds()
        for p in members
        if p.phase == "Succeeded" and p.finished is not None and p.started is not None
    ]
    if kind in ("Job", "CronJob") or (kind == "Pod" and runs):
        if runs:
            run_for = round(statistics.median(runs), 3)
            for prof in profiles.values():
                prof["runFor"] = f"{run_for}s"
            comments.append(
                f"runFor: the median time its pods ran to completion ({len(runs)} observed)"
            )
        else:
            comments.append("runFor: no pod of it completed in the window; it runs until deleted")
    if len(profiles) == 1:
        w.profile = next(iter(profiles.values()))
    else:
        w.containers = profiles
    return w


def _template_spec(manifest: dict[str, Any]) -> dict[str, Any]:
    kind = manifest["kind"]
    spec = manifest.get("spec") or {}
    if kind == "Pod":
        return spec
    if kind == "CronJob":
        spec = ((spec.get("jobTemplate") or {}).get("spec")) or {}
    return ((spec.get("template") or {}).get("spec")) or {}


def _images(
    workloads: list[WorkloadPlan],
    pools: list[PoolPlan],
    sizes: dict[str, int],
    events: list[dict[str, Any]],
    notes: list[str],
) -> tuple[list[dict[str, Any]], dict[str, str]]:
    pulled_sizes: dict[str, int] = {}
    for ev in events:
        p = parse_pulled(str(ev.get("message") or "")) if ev.get("reason") == "Pulled" else None
        if p is not None and p.size_bytes:
            pulled_sizes[normal_image(p.image)] = p.size_bytes
    wanted: list[str] = []
    for w in workloads:
        spec = _template_spec(w.manifest)
        for c in [*(spec.get("initContainers") or []), *(spec.get("containers") or [])]:
            if c.get("image"):
                wanted.append(str(c["image"]))
    for pool in pools:
        wanted.extend(pool.node["prePulledImages"])
    by_norm = {normal_image(k): v for k, v in sizes.items()}
    images: list[dict[str, Any]] = []
    comments: dict[str, str] = {}
    guessed: list[str] = []
    for ref in dict.fromkeys(wanted):
        if catalog.lookup(ref) is not None:
            continue
        size = by_norm.get(normal_image(ref)) or pulled_sizes.get(normal_image(ref))
        if size:
            comments[ref] = (
                "compressed size as containerd reported it; "
                "unpacked: the node's unpackedRatio (a guess)"
            )
        else:
            size = UNKNOWN_IMAGE_BYTES
            comments[ref] = "size unknown (no node held it, no Pulled event gave it): 2Gi, a guess"
            guessed.append(ref)
        images.append({"name": ref, "layers": [{"size": size}]})
    if images:
        notes.append(
            f"{len(images)} images are not in hpsim's catalogue: each is one layer of its "
            "compressed size (no base, so no layer is shared between them), unpacked at the "
            "node's unpackedRatio (2.5, a guess)"
        )
    if guessed:
        notes.append(f"images of unknown size (2Gi, a guess): {', '.join(guessed)}")
    return images, comments


def _event_time(ev: dict[str, Any]) -> datetime | None:
    return (
        parse_time(ev.get("lastTimestamp"))
        or parse_time(ev.get("eventTime"))
        or parse_time((ev.get("series") or {}).get("lastObservedTime"))
        or parse_time(_meta(ev).get("creationTimestamp"))
    )


def _pod_row(p: PodObs, t0: datetime, real_to_sim: dict[str, str]) -> dict[str, Any]:
    return {
        "pod": p.key,
        "workload": p.workload[2] if p.workload else "",
        "node": real_to_sim.get(p.node or "", ""),
        "cluster_node": p.node or "",
        "created_s": _seconds(p.created, t0),
        "scheduled_s": _seconds(p.scheduled, t0),
        "started_s": _seconds(p.started, t0),
        "finished_s": _seconds(p.finished, t0),
        "deleted_s": _seconds(p.deleted, t0),
        "restarts": p.restarts,
        "evicted": p.evicted,
        "phase": p.phase,
    }


def _event_rows(
    events: list[dict[str, Any]],
    t0: datetime,
    real_to_sim: dict[str, str],
    pod_keys: set[str],
    problems: list[str],
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    rows, pulls = [], []
    orphans: set[str] = set()
    untimed = 0
    for ev in events:
        t = _event_time(ev)
        if t is None:
            untimed += 1
            continue
        obj = ev.get("involvedObject") or {}
        key = f"{obj.get('namespace') or ''}/{obj.get('name') or ''}"
        host = (ev.get("source") or {}).get("host") or ""
        # events.k8s.io/v1 writers count repeats in series.count (core/v1 count stays unset).
        count = (ev.get("series") or {}).get("count") or ev.get("count") or 1
        rows.append(
            {
                "time_s": _seconds(t, t0),
                "kind": obj.get("kind", ""),
                "object": key,
                "type": ev.get("type", ""),
                "reason": ev.get("reason", ""),
                "message": ev.get("message", ""),
                "count": count,
                "node": real_to_sim.get(host, host),
            }
        )
        if obj.get("kind") == "Pod" and key not in pod_keys:
            orphans.add(key)
        if ev.get("reason") == "Pulled":
            msg = str(ev.get("message") or "")
            p = parse_pulled(msg)
            if p is not None:
                pulls.append(
                    {
                        "node": real_to_sim.get(host, host),
                        "pod": key,
                        "image": p.image,
                        "bytes": p.size_bytes,
                        "pull_s": p.pull_s,
                        "including_waiting_s": p.including_waiting_s,
                        "time_s": _seconds(t, t0),
                    }
                )
            elif already_present(msg) is None:
                problems.append(f"a Pulled event whose message hpsim cannot read: {excerpt(msg)}")
    rows.sort(key=lambda r: (r["time_s"], r["object"]))
    pulls.sort(key=lambda r: (r["time_s"], r["pod"]))
    if orphans:
        problems.append(
            f"{len(orphans)} pods named by events are not in the pods file (deleted before it "
            f"was written?): their events are in observed/events.csv and pulls.csv, they are "
            f"not workloads: {excerpt(', '.join(sorted(orphans)), 200)}"
        )
    if untimed:
        problems.append(f"{untimed} events without any timestamp were skipped")
    return rows, pulls
