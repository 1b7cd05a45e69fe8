"""The one channel from the model to the answers: immutable facts and who hears them.

The model (``hpsim.node``) *emits* facts through an :class:`Emitter` and never
reads them back; the recorder (``hpsim.observe.recorder``) keeps them, and
results, reports and plots are built from those records alone. This module is
the contract between the two: it sits below both, so neither imports the
other (the layers are checked by import-linter, see pyproject.toml).

Each record is a named tuple whose fields become a table's columns, in order
(units in the names: ``_s`` seconds, ``_bytes`` bytes).
"""

from __future__ import annotations

from typing import NamedTuple, Protocol

#: The series' level columns, in the table's order: what nodes report, and the cluster's
#: own (its rows have node "").
SERIES_LEVELS = (
    "cpu_allocated_millicores",
    "memory_committed_bytes",
    "memory_commit_slope_bytes_per_s",
    "pods_bound",
    "pods_running",
    "pods_pending",
    "requests_cpu_millicores",
    "requests_memory_bytes",
    "pulls_active",
    "disk_actual_bytes",
    "disk_accounted_bytes",
    "disk_actual_slope_bytes_per_s",
    "disk_accounted_slope_bytes_per_s",
    "disk_os_bytes",
    "disk_content_store_bytes",
    "disk_snapshots_bytes",
    "disk_scratch_bytes",
    "disk_logs_bytes",
    "disk_empty_dir_bytes",
    "disk_host_writes_bytes",
    "paging_slowdown",
    # The cluster's own levels (its rows have node ""): nodes that exist (registered or
    # not) and nodes Ready.
    "nodes_total",
    "nodes_ready",
)
#: The cluster's levels (counted over every node), and the nodes' (each node's own).
CLUSTER_LEVELS = ("pods_pending", "nodes_total", "nodes_ready")
NODE_LEVELS = tuple(c for c in SERIES_LEVELS if c not in CLUSTER_LEVELS)


class PodRecord(NamedTuple):
    """A pod as it stands: emitted when it ends, and for every pod still live at the end."""

    uid: int  # creation order; a StatefulSet reuses names, never uids
    pod: str
    workload: str
    kind: str
    namespace: str
    host_process: bool
    revision: int
    created_s: float
    scheduled_s: float | None
    pull_started_s: float | None
    started_s: float | None  # first app container running
    ready_s: float | None  # every app container running
    finished_s: float | None
    deleted_s: float | None
    phase: str
    reason: str
    message: str
    restarts: int
    alloc_failures: int
    pull_s: float  # time the pod's image pulls took, waits in kubelet's puller included
    ready_duration_s: float  # time its Ready condition was true, in all
    status: str  # kubectl's STATUS ("" once Deleted, or Refused)


class ContainerRecord(NamedTuple):
    """One container instance (each restart is a new one)."""

    pod: str
    workload: str
    container: str
    init: bool
    instance: int
    started_s: float
    ended_s: float | None  # None: still running at the end of the run
    exit_code: int | None  # None: killed, or still running
    memory_cap: bool  # it exited because its job object refused an allocation


class PullRecord(NamedTuple):
    """One pull kubelet asked containerd for (or that failed before any byte moved).

    ``download_s`` runs from the pull's start to its last layer in the content
    store; ``unpack_s`` is the time this pull spent applying layers itself (layers
    another pull fetched or applied are waited for, not counted). The two overlap:
    layer i is applied while later layers download.
    """

    pod: str  # the pod whose request started the pull (others wait on it)
    image: str
    queued_s: float  # kubelet's request reached the node's puller
    started_s: float | None  # the puller let it through (None: failed before)
    downloaded_s: float | None
    finished_s: float
    bytes_downloaded: int  # compressed bytes this pull fetched itself
    bytes_unpacked: int  # snapshot bytes this pull applied itself
    download_s: float
    unpack_s: float
    error: str  # "" for a pull that succeeded


class GCRecord(NamedTuple):
    """An image kubelet's image GC deleted."""

    time_s: float
    image: str
    reason: str  # "space" (over the high threshold) or "age" (imageMaximumGCAge)
    believed_freed_bytes: int  # the image's compressed size, as kubelet counts it
    content_freed_bytes: int  # blobs no other image shares
    snapshot_freed_bytes: int  # snapshots no other image shares


class WriteRecord(NamedTuple):
    """What one writer of one container wrote to the volume.

    Owners: ``scratch`` (one container instance's sandbox.vhdx) and ``logs`` (its log
    file), new at every start of the container; ``empty_dir`` and ``host_writes``
    (host paths), one per container over the pod's life. A dead instance's scratch
    and logs go when kubelet removes the container (the next death of the same
    container, or the pod's deletion); emptyDirs go with the pod; host-path bytes
    stay on the volume.
    """

    pod: str
    workload: str
    container: str
    owner: str
    first_write_s: float
    released_s: float | None  # its bytes were deleted or left behind (None: still there at the end)
    bytes: float
    instance: int | None  # the instance (restart count) for scratch and logs, else None


class NodeRecord(NamedTuple):
    """A node's life: VM created, Node registered, Ready, cordoned for deletion, deleted
    (emitted on the node's channel: the table's ``node`` column names it)."""

    pool: str
    created_s: float
    registered_s: float | None
    ready_s: float | None
    cordoned_s: float | None
    deleted_s: float | None
    reason: str  # why it was deleted ("ScaleDown", "Unregistered"; "" while it lives)
    scale_up_s: float | None  # the autoscaler's decision that asked for it (None: at start)


class Emitter(Protocol):
    """What the model tells: ``kubectl get events``, state changes, levels, records.

    Each node's parts are handed the emitter ``for_node(name)`` gives, so that every
    row they emit names their node; the cluster's (scheduler, controllers, autoscaler)
    rows name none.
    """

    def for_node(self, node: str) -> Emitter: ...

    def event(
        self,
        time: float,
        kind: str,
        name: str,
        reason: str,
        message: str,
        type_: str = ...,
        causes: str = ...,
    ) -> None:
        """An event as ``kubectl get events`` shows it; ``causes``: a FailedScheduling
        event's filter reasons without their node counts (see the events table)."""
        ...

    def transition(
        self, time: float, pod: str, old: str, new: str, status: str, ready: bool
    ) -> None:
        """The pod's state went ``old`` -> ``new`` (equal when only the next two moved);
        ``status`` is what kubectl prints as STATUS from then on, ``ready`` its Ready
        condition."""
        ...

    def level(self, time: float, **values: float) -> None: ...

    def pod(self, record: PodRecord) -> None: ...

    def container(self, record: ContainerRecord) -> None: ...

    def pull(self, record: PullRecord) -> None: ...

    def image_pulled(
        self,
        time: float,
        ref: str,
        os_version: str | None,
        size_bytes: int,
        unpacked_bytes: int,
        layers: int,
        pinned: bool,
        new_bytes: int | None,
    ) -> None: ...

    def image_used(self, time: float, ref: str) -> None: ...

    def image_removed(self, time: float, ref: str) -> None: ...

    def gc(self, record: GCRecord) -> None: ...

    def gc_run(self, time: float, passes: int) -> None:
        """``passes`` image GC passes ran, the last at ``time``."""
        ...

    def write(self, record: WriteRecord) -> None: ...

    def node(self, record: NodeRecord) -> None: ...
