"""How many more replicas of a pod fit, and what stops the next one: ``hpsim fit``.

The question kubernetes-sigs/cluster-capacity answers on a live cluster, asked of the
model's state at one instant. cluster-capacity (pkg/framework/simulator.go
``ClusterCapacity.nextPod`` and ``Bind``) creates a copy of the pod, lets the real
scheduler place it, counts it on its node as bound, and creates the next copy, until
the scheduler fails one; it reports the copies per node and the FitError's reasons
(pkg/framework/report.go ``ClusterCapacityReview``: ``ReplicasOnNodes``,
``FailReason``). Here the copies go through hpsim's model of kube-scheduler's default
profile (:mod:`hpsim.cluster.plugins`): the filters in order, the scores with their
weights, ``selectHost``'s tie-break from a seeded stream of the fit's own. Nothing
preempts: a fit is room that is free, not room that could be taken.

Windows costs the peer does not count, hpsim's own and labelled so ("hpsim: ..."),
never in kube-scheduler's words:

- the image's disk: a node that does not hold the pod's images (their layers, and the
  sandbox image) must fetch and unpack them onto its C: volume -- the compressed blobs
  (kept after unpack unless ``discard_unpacked_layers``) and the unpacked snapshots,
  from the first layer whose chain the node lacks, as containerd pulls
  (:mod:`hpsim.node.containerd`). The first replica on a node pays it, later ones
  share it;
- the replicas' ephemeral-storage requests, as bytes they will write on that volume.

A node is full for the next replica when what would be left free on its volume falls
below kubelet's hard eviction threshold ``nodefs.available`` (default 10%: the node
would reclaim images and evict pods, k/k pkg/kubelet/eviction), or, where the Windows
kubelet enforces none (before Kubernetes 1.31), below nothing at all: the pull fails
with "There is not enough space on the disk.". Windows has one volume: no separate
imagefs is checked. This check runs after the scheduler's filters pass a node, and
takes the node out of the candidates as a filter would: kube-scheduler itself would
bind there (it does not see disk), and the node would then go under disk pressure.

The snapshot the question reads: the registered nodes (NotReady and cordoned ones are
rejected by their taints, as the scheduler rejects them), the requests of the pods
bound to them and of the pods nominated to them with at least the pod's priority
(``addNominatedPods``), the host ports in use, the images in each node's store (for
ImageLocality and the disk) and its volume's free bytes. Pods still pending in the
scheduler's queue hold nothing (they are counted apart, as cluster-capacity ignores
them). node.status.images is not updated as copies land, as a burst of pods created
at once would see it. Everything is copied: the model is not touched.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from collections.abc import Set as AbstractSet
from dataclasses import dataclass, field, replace

import numpy as np

from hpsim.cluster import plugins
from hpsim.cluster.cluster import Cluster, pod_priority
from hpsim.gcpause import paused_gc
from hpsim.node.containerd import Image
from hpsim.node.images import resolve_images
from hpsim.node.scheduler import Usage, host_ports, matches_node, untolerated_taint
from hpsim.scenario.derived import Allocatable, allocatable, eviction_enforced, eviction_hard
from hpsim.scenario.load import LoadedScenario
from hpsim.scenario.manifests import PodTemplate
from hpsim.scenario.schema import NodePool, NodeSpec, eviction_threshold_bytes
from hpsim.scenario.verdicts import scenario_verdicts
from hpsim.words import bytes_words

__all__ = [
    "REASON_DISK",
    "REASON_IMAGE_DISK",
    "DiskRoom",
    "FitNode",
    "FitResult",
    "ImagePull",
    "NodeFit",
    "Stop",
    "ask_of",
    "fit",
    "fresh_node",
    "live_nodes",
    "pod_images",
    "pull_cost",
]

# hpsim's reasons (not kube-scheduler's): the short form counted in the histogram.
REASON_IMAGE_DISK = "hpsim: image disk"
REASON_DISK = "hpsim: disk"
DISK_PLUGIN = "hpsim/NodeDisk"
SCHEDULER = "kube-scheduler"
HPSIM = "hpsim"
SIGNAL = "nodefs.available"
# What a pull that does not fit fails with (hpsim.node.containerd Containerd.check).
NO_SPACE = "There is not enough space on the disk."


# --- the disk ---------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ImagePull:
    """What the pod's images add to a node that lacks them: the images a pull would
    bring, the compressed blobs it would store and the snapshots it would unpack."""

    refs: tuple[str, ...] = ()
    compressed: int = 0
    unpacked: int = 0

    @property
    def bytes(self) -> int:
        return self.compressed + self.unpacked


def pod_images(refs: Iterable[str], images: Mapping[str, Image], sandbox: str) -> list[Image]:
    """The images a pod's containers need on a node, the sandbox image first (RunPodSandbox
    pulls it), each once; a reference nobody defines is left out (it cannot be pulled)."""
    out: dict[str, Image] = {}
    for ref in (sandbox, *refs):
        if ref in images and ref not in out:
            out[ref] = images[ref]
    return list(out.values())


def pull_cost(
    images: Sequence[Image],
    blobs: AbstractSet[str],
    chains: AbstractSet[str],
    discard: bool = False,
) -> ImagePull:
    """The bytes pulling ``images`` adds to a store holding ``blobs`` (digests) and
    ``chains`` (snapshot chain IDs), each layer counted once across the images. As
    containerd pulls (hpsim.node.containerd ``_pull``): from the first layer whose chain
    is not a snapshot, every layer's blob not in the store is fetched (none kept with
    ``discard``) and its chain applied."""
    fetched: set[str] = set()
    applied: set[str] = set()
    refs: list[str] = []
    compressed = unpacked = 0
    for image in images:
        chain_ids = image.chain_ids
        first = next((i for i, c in enumerate(chain_ids) if c not in chains), len(chain_ids))
        added = False
        for layer, chain in zip(image.layers[first:], chain_ids[first:], strict=True):
            if not discard and layer.digest not in blobs and layer.digest not in fetched:
                fetched.add(layer.digest)
                compressed += layer.size
                added = True
            if chain not in chains and chain not in applied:
                applied.add(chain)
                unpacked += layer.unpacked
                added = True
        if added:
            refs.append(image.ref)
    return ImagePull(tuple(refs), compressed, unpacked)


@dataclass(frozen=True, slots=True)
class DiskRoom:
    """A node's C: volume as the fit reads it."""

    capacity: int
    free: float  # bytes free now
    floor: int  # bytes that must stay free: the nodefs.available threshold, 0 if none enforced
    threshold: str  # the evictionHard value ("10%", "5Gi"); "" when none is enforced


def disk_room(spec: NodeSpec, free: float) -> DiskRoom:
    """The volume's room: ``free`` bytes, and the nodefs.available threshold where the
    node's kubelet enforces it (Windows: from 1.31, hpsim.scenario.derived)."""
    value = eviction_hard(spec).get(SIGNAL) if eviction_enforced(spec) else None
    floor = eviction_threshold_bytes(value, float(spec.disk)) if value is not None else 0
    return DiskRoom(int(spec.disk), free, floor, value or "")


# --- the question -----------------------------------------------------------------------


def ask_of(template: PodTemplate) -> plugins.PodAsk:
    """The scheduler's view of a copy of the pod (its priority from spec.priority or its
    built-in PriorityClass; a workload's name is its spreading key)."""
    return plugins.pod_ask(
        template.spec, template.kind, template.name, priority=pod_priority(template.spec)
    )


@dataclass(slots=True)
class FitNode:
    """One node as the fit reads it: the scheduler's view, its volume and what the pod's
    images would add to it."""

    view: plugins.NodeView
    pool: str
    disk: DiskRoom
    pull: ImagePull


@dataclass(frozen=True, slots=True)
class Stop:
    """What stops the next replica on one node: the first failing filter (kube-scheduler's
    plugin and reasons) or hpsim's disk check (``detail`` says it in numbers)."""

    plugin: str
    reasons: tuple[str, ...]
    source: str = SCHEDULER  # "kube-scheduler" or "hpsim"
    detail: str = ""
    needed_bytes: float = 0.0  # hpsim's disk check: what the next replica would add
    left_bytes: float = 0.0  # ... and what the volume would then have free


@dataclass(frozen=True, slots=True)
class NodeFit:
    """One node's answer: the replicas it takes, what stops the next, what is left."""

    node: str
    pool: str
    replicas: int
    stop: Stop | None  # None: not evaluated (the pod is pinned to another node)
    alloc: Allocatable
    usage: Usage  # requests after the replicas (nominated pods' included)
    disk: DiskRoom
    pull: ImagePull
    disk_free_after: float  # volume bytes free once the replicas and their images land


@dataclass(frozen=True, slots=True)
class FitResult:
    nodes: tuple[NodeFit, ...]
    total: int
    message: str  # the last attempt's reasons as a FitError histogram, hpsim's included


def _disk_stop(node: FitNode, placed: int, ephemeral: int) -> Stop | None:
    """hpsim's check for the next replica on ``node`` with ``placed`` already there: the
    pod's images land with the first replica, and every replica's ephemeral-storage
    request is bytes it will write on the volume."""
    disk, p = node.disk, node.pull
    n = placed + 1
    eph = n * ephemeral
    left = disk.free - p.bytes - eph
    if left >= disk.floor and left >= 0:
        return None
    parts = []
    if p.bytes and placed == 0:
        parts.append(
            f"pulling {', '.join(p.refs)} ({bytes_words(p.bytes)}: "
            f"{bytes_words(p.compressed)} compressed + {bytes_words(p.unpacked)} unpacked)"
        )
    elif p.bytes:
        parts.append(f"{', '.join(p.refs)} pulled ({bytes_words(p.bytes)})")
    if eph:
        whose = "its" if n == 1 else f"{n} replicas'"
        parts.append(
            f"{whose} ephemeral-storage request{'s' if n > 1 else ''} ({bytes_words(eph)})"
        )
    if not parts:
        detail = (
            f"{bytes_words(disk.free)} of {bytes_words(disk.capacity)} free, already below "
            f"{SIGNAL}<{disk.threshold} ({bytes_words(disk.floor)})"
        )
    elif disk.floor:
        detail = (
            f"{' and '.join(parts)} would leave {bytes_words(max(left, 0.0))} of "
            f"{bytes_words(disk.capacity)} free, below {SIGNAL}<{disk.threshold} "
            f"({bytes_words(disk.floor)}): kubelet would reclaim images and evict pods"
        )
    else:
        detail = (
            f"{' and '.join(parts)} would not fit in the {bytes_words(disk.free)} free "
            f"(no {SIGNAL} threshold enforced before Kubernetes 1.31): {NO_SPACE}"
        )
    label = REASON_IMAGE_DISK if p.bytes and placed == 0 else REASON_DISK
    added = (p.bytes if placed == 0 else 0) + ephemeral
    return Stop(DISK_PLUGIN, (label,), HPSIM, f"{label}: {detail}", float(added), float(left))


def _place(view: plugins.NodeView, ask: plugins.PodAsk) -> None:
    """A replica binds to ``view``: its requests, host ports and spread count are taken."""
    u = view.usage
    u.cpu_m += ask.cpu_m
    u.memory += ask.memory
    u.ephemeral += ask.ephemeral
    u.pods += 1
    u.nonzero_cpu_m += ask.nonzero_cpu_m
    u.nonzero_memory += ask.nonzero_memory
    view.nonzero_cpu_m += ask.nonzero_cpu_m
    view.nonzero_memory += ask.nonzero_memory
    view.host_ports.update(ask.host_ports)
    if ask.spread_key is not None:
        view.workload_pods[ask.spread_key] = view.workload_pods.get(ask.spread_key, 0) + 1


def _copy(node: FitNode) -> plugins.NodeView:
    v = node.view
    return replace(
        v,
        usage=v.usage.copy(),
        host_ports=set(v.host_ports),
        workload_pods=dict(v.workload_pods),
        images=dict(v.images),
    )


def fit(
    ask: plugins.PodAsk,
    nodes: Sequence[FitNode],
    rng: np.random.Generator,
    weights: Mapping[str, int] | None = None,
    strategy: str = "LeastAllocated",
) -> FitResult:
    """Place copies of the pod one at a time until none fits (cluster-capacity's loop):
    the default profile's filters on every node, hpsim's disk check on those that pass,
    then the scores and ``selectHost`` among them. Works on copies of the views."""
    views = [_copy(n) for n in nodes]
    counts = [0] * len(nodes)
    nodes_with = plugins.nodes_with_image(views)

    def status(i: int) -> Stop | None:
        if not plugins.evaluated(ask, views[i]):
            return None
        st = plugins.filter_status(ask, views[i])
        if not st.ok:
            return Stop(st.plugin, st.reasons)
        return _disk_stop(nodes[i], counts[i], ask.ephemeral)

    # A node's status changes only when a replica lands on it: the others are kept.
    stops: list[Stop | None] = [status(i) for i in range(len(nodes))]
    evaluated = [plugins.evaluated(ask, v) for v in views]
    while True:
        feasible = [i for i in range(len(nodes)) if evaluated[i] and stops[i] is None]
        if not feasible:
            break
        k = plugins.choose(
            ask,
            [views[i] for i in feasible],
            len(views),
            nodes_with,
            rng,
            weights=weights,
            strategy=strategy,
            all_nodes=views,
        )
        i = feasible[k]
        _place(views[i], ask)
        counts[i] += 1
        stops[i] = status(i)
    out = []
    for i, n in enumerate(nodes):
        placed = counts[i]
        used = n.pull.bytes if placed else 0
        out.append(
            NodeFit(
                node=n.view.name,
                pool=n.pool,
                replicas=placed,
                stop=stops[i],
                alloc=n.view.alloc,
                usage=views[i].usage,
                disk=n.disk,
                pull=n.pull,
                disk_free_after=n.disk.free - used - placed * ask.ephemeral,
            )
        )
    rejected = [s.reasons for s in stops if s is not None]
    return FitResult(tuple(out), sum(counts), plugins.fit_error_message(len(nodes), rejected))


# --- the snapshots --------------------------------------------------------------------------


def live_nodes(cluster: Cluster, ask: plugins.PodAsk, refs: Sequence[str]) -> list[FitNode]:
    """The cluster's registered nodes as they stand now (read, never changed): the
    scheduler's view with the nominated pods' requests, the store and the volume.
    ``refs``: the pod's images."""
    out = []
    for node in cluster.nodes.values():
        usage = node.usage.copy()
        for other in cluster.scheduler.nominated.get(node.name, {}).values():
            # framework.go addNominatedPods: pods nominated here of at least its priority.
            if other.priority >= ask.priority:
                usage.add(other)
        view = plugins.NodeView(
            name=node.name,
            alloc=node.alloc,
            labels=dict(node.labels),
            taints=list(node.taints),
            unschedulable=node.unschedulable,
            usage=usage,
            nonzero_cpu_m=usage.nonzero_cpu_m,
            nonzero_memory=usage.nonzero_memory,
            images=dict(node.images_held()),  # copies: replicas placed here change them
            host_ports=node.host_ports(),
            workload_pods=dict(node.workload_pods()),
        )
        spec = node.spec
        blobs, chains = node.containerd.held()
        images = pod_images(refs, cluster.images_for(spec), spec.containerd.sandbox_image)
        pull = pull_cost(images, blobs, chains, node.containerd.discards_unpacked_layers)
        out.append(FitNode(view, node.pool, disk_room(spec, node.volume.available()), pull))
    return out


@dataclass
class _Store:
    blobs: set[str] = field(default_factory=set)
    chains: set[str] = field(default_factory=set)
    content: int = 0
    snapshots: int = 0
    images: dict[str, int] = field(default_factory=dict)

    def add(self, image: Image, discard: bool) -> None:
        for layer, chain in zip(image.layers, image.chain_ids, strict=True):
            if not discard and layer.digest not in self.blobs:
                self.blobs.add(layer.digest)
                self.content += layer.size
            if chain not in self.chains:
                self.chains.add(chain)
                self.snapshots += layer.unpacked
        self.images[image.ref] = image.size


def fresh_node(loaded: LoadedScenario, pool: NodePool, refs: Sequence[str]) -> FitNode:
    """One new node of ``pool`` once its DaemonSet pods run, as the Cluster Autoscaler's
    template node (CA@1.31 core/utils/utils.go ``GetNodeInfoFromTemplate``): the pool's
    labels, allocatable and taints (no condition taints: ``SanitizeNode``), a pod for
    every DaemonSet whose ``NodeShouldRunDaemonPod`` holds there (utils/daemonset/
    daemonset.go ``GetDaemonSetPodsForNode``; a DaemonSet the API server refuses makes
    none). Its store holds the node image's images (``prePulledImages``) and those of
    its DaemonSet pods, pulled; its volume the OS and that store."""
    spec = pool.node
    name = f"template-node-for-{pool.name}"
    labels = {**spec.all_labels, "kubernetes.io/hostname": name}
    taints: list[tuple[str, str, str]] = [(t.key, t.value, t.effect) for t in spec.taints]
    images = resolve_images(loaded.scenario, spec)
    discard = spec.containerd.discard_unpacked_layers
    store = _Store()
    for ref in spec.pre_pulled:
        if ref in images:
            store.add(images[ref], discard)
    usage = Usage()
    ports: set[tuple[str, int]] = set()
    by_workload: dict[str, int] = {}
    verdicts = scenario_verdicts(loaded)
    for plan, verdict in zip(loaded.workloads, verdicts, strict=True):
        t = plan.template
        if t.kind != "DaemonSet" or not verdict.admitted:
            continue
        ds = plugins.pod_ask(t.spec, t.kind, plan.name, node_name=name)
        if untolerated_taint(ds.spec, taints) is not None or not matches_node(ds.spec, labels):
            continue
        usage.cpu_m += ds.cpu_m
        usage.memory += ds.memory
        usage.ephemeral += ds.ephemeral
        usage.pods += 1
        usage.nonzero_cpu_m += ds.nonzero_cpu_m
        usage.nonzero_memory += ds.nonzero_memory
        ports.update(host_ports(t.spec))
        by_workload[plan.name] = by_workload.get(plan.name, 0) + 1
        ds_refs = [c.image for c in (*t.spec.init_containers, *t.spec.containers) if c.image]
        for image in pod_images(ds_refs, images, spec.containerd.sandbox_image):
            store.add(image, discard)
    view = plugins.NodeView(
        name=name,
        alloc=allocatable(spec),
        labels=labels,
        taints=taints,
        unschedulable=False,
        usage=usage,
        nonzero_cpu_m=usage.nonzero_cpu_m,
        nonzero_memory=usage.nonzero_memory,
        images=dict(store.images),
        host_ports=ports,
        workload_pods=by_workload,
    )
    free = float(spec.disk) - float(spec.os_disk_usage) - store.content - store.snapshots
    needed = pod_images(refs, images, spec.containerd.sandbox_image)
    pull = pull_cost(needed, store.blobs, store.chains, discard)
    return FitNode(view, pool.name, disk_room(spec, max(free, 0.0)), pull)


class _Unrecorded:
    """An Emitter that keeps nothing: the run up to the question's instant is the model's
    own, and its facts are no run's results (hpsim.facts.Emitter)."""

    def for_node(self, node: str) -> _Unrecorded:
        return self

    def event(self, *args: object, **kwargs: object) -> None:
        pass

    transition = level = pod = container = pull = image_pulled = event
    image_used = image_removed = gc = gc_run = write = node = event


def cluster_at(loaded: LoadedScenario, seed: np.random.SeedSequence, at: float) -> Cluster:
    """The model run on ``seed``'s streams through every event at time ``at`` (those at
    ``at`` included), its facts kept nowhere; the caller only reads it."""
    cluster = Cluster(loaded, seed, _Unrecorded())
    with paused_gc():
        cluster.start()
        cluster.advance(math.nextafter(at, math.inf))
    return cluster
