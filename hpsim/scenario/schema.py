"""The typed scenario: what a user wrote, checked (pydantic v2).

Keys are camelCase as in Kubernetes' own configuration files
(KubeletConfiguration, containerd's CRI config); unknown keys are refused.
Quantities, durations and rates are parsed by :mod:`hpsim.units` into
integers (bytes, millicores) and floats (seconds, bytes/s, events/s).

Every default that mirrors a real component cites its upstream source (a
repository path and symbol, a document or an issue). Defaults marked *guess*
have no source: they are parameters the user should set for their own fleet.

The node's settings are in :mod:`hpsim.scenario.nodespec` and what every model shares (the
base model, the unit-typed fields) in :mod:`hpsim.scenario.schemabase`, so that checking a bare
manifest builds those models only (``hpsim validate``, ``tests/test_startup.py``); this
module gathers their public names with the rest of the scenario's.
"""

from __future__ import annotations

import re
from datetime import datetime, timezone
from typing import Any, Literal

from pydantic import (
    AwareDatetime,
    ConfigDict,
    Field,
    ValidationInfo,
    field_validator,
    model_validator,
)

from hpsim.errors import excerpt
from hpsim.scenario.nodespec import (
    CPU_LIMIT,
    EVICTION_ENFORCED_FROM,
    EVICTION_SIGNALS,
    NETWORK_RATE,
    PULL_PROGRESS_TIMEOUT_5M_FROM,
    PULL_PROGRESS_TIMEOUT_FROM,
    UNPACK_RATE,
    UNPACK_SLOWDOWN_LIMIT,
    UNPACKED_RATIO_LIMIT,
    Antivirus,
    ContainerdConfig,
    KubeletConfig,
    NodeSpec,
    Reservation,
    ResourceList,
    RuntimeClass,
    StartupCosts,
    Taint,
    default_eviction_hard,
    eviction_hard,
    eviction_threshold,
    eviction_threshold_bytes,
    node_reservation,
    pull_progress_timeout,
)
from hpsim.scenario.schemabase import (
    INT32_MAX,
    INT32_MIN,
    POOL_NODES_LIMIT,
    WORKLOAD_PODS_LIMIT,
    Bytes,
    BytesPerSecond,
    Millicores,
    Model,
    PerSecond,
    Seconds,
    error_at,
    exactly_one,
    pods_limit_problem,
    version_tuple,
)
from hpsim.words import duration_words

__all__ = [
    "CPU_LIMIT",
    "EVICTION_ENFORCED_FROM",
    "EVICTION_SIGNALS",
    "INT32_MAX",
    "INT32_MIN",
    "NAME_LIMIT",
    "NETWORK_RATE",
    "POOL_NODES_LIMIT",
    "PROVISIONING_S",
    "PULL_PROGRESS_TIMEOUT_5M_FROM",
    "PULL_PROGRESS_TIMEOUT_FROM",
    "REPLICATIONS_LIMIT",
    "SCORE_PLUGINS",
    "SIGMA_LIMIT",
    "START_TIME",
    "UNPACKED_RATIO_LIMIT",
    "UNPACK_RATE",
    "UNPACK_SLOWDOWN_LIMIT",
    "WORKLOAD_PODS_LIMIT",
    "Antivirus",
    "Arrivals",
    "AutoscalerFlags",
    "Bytes",
    "BytesPerSecond",
    "ClusterSpec",
    "ContainerdConfig",
    "Drain",
    "Event",
    "Exponential",
    "Fixed",
    "ImageSpec",
    "KubeletConfig",
    "LayerSpec",
    "Lifetime",
    "LogNormal",
    "LogNormalTime",
    "MemoryDist",
    "Millicores",
    "Model",
    "NodePool",
    "NodeSpec",
    "Normal",
    "PerSecond",
    "PodSecurityLevel",
    "Poisson",
    "Profile",
    "RegistryTrouble",
    "Reservation",
    "ResourceList",
    "Rollout",
    "RuntimeClass",
    "Scale",
    "Scenario",
    "SchedulerSettings",
    "Seconds",
    "Spikes",
    "StartupCosts",
    "Taint",
    "Throttle",
    "Uniform",
    "Workload",
    "default_eviction_hard",
    "eviction_hard",
    "eviction_threshold",
    "eviction_threshold_bytes",
    "node_reservation",
    "pull_progress_timeout",
    "version_tuple",
]

# -- images -------------------------------------------------------------------------------------


class LayerSpec(Model):
    size: Bytes  # compressed (transfer) size
    unpacked: Bytes | None = None  # on-disk size; None: size x the catalogue's ratio
    digest: str | None = None  # sha256:...; None: unique to this image


class ImageSpec(Model):
    """An image the node can pull: an optional Windows base plus its own layers."""

    name: str
    base: str | None = None
    # Platform OSVersion in the manifest; None: the base's, or none (HostProcess images).
    os_version: str | None = None
    # Published as a manifest list (buildx, manifest-tool) whose Windows entry carries
    # os_version: containerd matches that entry against the host at pull time. false: a
    # single manifest, pulled whatever its OS version (hpsim.node.platforms).
    manifest_list: bool = False
    layers: list[LayerSpec] = []

    @field_validator("name")
    @classmethod
    def _name(cls, v: str) -> str:
        if not v or any(c.isspace() for c in v):
            raise ValueError(f"invalid image reference {v!r}")
        return v


# -- workloads ----------------------------------------------------------------------------------


# Our bound on a lognormal's sigma: a draw is median x exp(sigma x z), z standard normal.
# At sigma 10 the 99th percentile is already e^23 (about 10^10) times the median; far
# larger sigmas overflowed math.exp at run time (sigma 1,000,000).
SIGMA_LIMIT = 10.0


class Normal(Model):
    mean: Bytes
    sd: Bytes


class LogNormal(Model):
    median: Bytes
    sigma: float = Field(ge=0, le=SIGMA_LIMIT)


class MemoryDist(Model):
    """Memory committed at start: a constant, or per-pod random."""

    constant: Bytes | None = None
    normal: Normal | None = None
    lognormal: LogNormal | None = None

    @model_validator(mode="before")
    @classmethod
    def _scalar(cls, data: Any) -> Any:
        return data if isinstance(data, dict) else {"constant": data}

    @model_validator(mode="after")
    def _one(self) -> MemoryDist:
        exactly_one(self, ("constant", "normal", "lognormal"), "memory")
        return self


class Spikes(Model):
    """Short extra commits at a Poisson rate."""

    rate: PerSecond
    size: Bytes
    duration: Seconds


class Profile(Model):
    """What a container does over time."""

    memory: MemoryDist = MemoryDist(constant=0)
    memory_growth: BytesPerSecond = 0.0  # a leak: linear growth of commit
    spikes: Spikes | None = None
    cpu: Millicores = 0  # CPU demand while running
    work: Seconds | None = None  # CPU-seconds to finish (Jobs): exit 0 when done
    run_for: Seconds | None = None  # wall time to exit on its own
    exit_code: int = Field(0, ge=INT32_MIN, le=INT32_MAX)  # exit code when run_for elapses
    # Seconds the process takes to exit once told to stop; None: it waits to be
    # killed (the grace period, or hcsshim's 5 s for HostProcess).
    stop_time: Seconds | None = None
    host_writes: BytesPerSecond = 0.0  # writes to host paths (HostProcess)
    rootfs_writes: BytesPerSecond = 0.0  # writes into the container's scratch VHDX
    log_rate: BytesPerSecond = 0.0  # stdout/stderr to C:\var\log\pods
    empty_dir_writes: BytesPerSecond = 0.0

    @property
    def writes(self) -> bool:
        """Whether a container with this profile writes to the volume at all."""
        return bool(
            self.host_writes or self.rootfs_writes or self.log_rate or self.empty_dir_writes
        )


# A lifetime of zero: a controller replaces the pod at the instant it is deleted, whose
# replacement lives zero seconds too, forever, and simulated time never moves.
_ZERO_LIFETIME = (
    "a lifetime must be greater than zero: a controller would replace the pod "
    "at the same instant, forever"
)


def _positive_lifetime(v: float | None) -> float | None:
    if v is not None and v <= 0:
        raise ValueError(_ZERO_LIFETIME)
    return v


class Fixed(Model):
    fixed: Seconds


class Exponential(Model):
    mean: Seconds

    _mean = field_validator("mean")(_positive_lifetime)


class LogNormalTime(Model):
    median: Seconds
    sigma: float = Field(ge=0, le=SIGMA_LIMIT)

    _median = field_validator("median")(_positive_lifetime)


class Uniform(Model):
    # min 0 is fine when max > 0: a draw of exactly 0 has probability zero.
    min: Seconds
    max: Seconds

    @model_validator(mode="after")
    def _order(self) -> Uniform:
        if self.min > self.max:
            raise error_at(
                ("min",),
                f"min must not be greater than max ({duration_words(self.min)} > "
                f"{duration_words(self.max)})",
                self.min,
            )
        if self.max <= 0:
            raise error_at(("max",), _ZERO_LIFETIME, self.max)
        return self


class Lifetime(Model):
    """How long a pod lives before it is deleted."""

    fixed: Seconds | None = None
    exponential: Exponential | None = None
    lognormal: LogNormalTime | None = None
    uniform: Uniform | None = None

    _fixed = field_validator("fixed")(_positive_lifetime)

    @model_validator(mode="after")
    def _one(self) -> Lifetime:
        exactly_one(self, ("fixed", "exponential", "lognormal", "uniform"), "lifetime")
        return self


class Poisson(Model):
    rate: PerSecond
    start: Seconds = 0.0  # relative to the workload's start, as is stop
    stop: Seconds | None = None
    limit: int | None = Field(None, ge=0)


class Arrivals(Model):
    """When instances of a Pod or Job are created."""

    at: list[Seconds] | None = None
    poisson: Poisson | PerSecond | None = None
    trace: str | None = None  # CSV with columns create_s[,delete_s], relative to the scenario

    @model_validator(mode="after")
    def _one(self) -> Arrivals:
        exactly_one(self, ("at", "poisson", "trace"), "arrivals")
        # Checked here, not in Poisson: a validator on a union member renames the member
        # in pydantic's field paths. "Poisson" is that member's name.
        p = self.poisson
        if isinstance(p, Poisson) and p.stop is not None and p.stop <= p.start:
            raise error_at(
                ("poisson", "Poisson", "stop"),
                f"stop must be after start ({duration_words(p.stop)} is not after "
                f"{duration_words(p.start)})",
                p.stop,
            )
        return self


class Workload(Model):
    """A Kubernetes object (by path or inline) plus what Kubernetes does not say."""

    manifest: str | dict[str, Any]
    start: Seconds = 0.0  # when the object is created
    arrivals: Arrivals | None = None
    lifetime: Lifetime | None = None
    profile: Profile = Profile()
    containers: dict[str, Profile] = {}  # per-container profiles, over `profile`
    # What the process does when its job object refuses an allocation (Windows has
    # no OOM killer, kubernetes/website windows-resource-management.md). guess: most
    # runtimes (.NET, Go, Java) exit on it.
    on_memory_cap: Literal["crash", "degrade"] = "crash"


# -- events -------------------------------------------------------------------------------------


class Rollout(Model):
    workload: str
    image: str
    container: str | None = None


class Scale(Model):
    workload: str
    # int32 as the Scale subresource's spec.replicas (k/k staging/src/k8s.io/api/autoscaling/v1
    # types.go ScaleSpec.Replicas).
    replicas: int = Field(ge=0, le=INT32_MAX)

    @field_validator("replicas")
    @classmethod
    def _simulable(cls, v: int) -> int:
        problem = pods_limit_problem(v, "replicas")
        if problem is not None:
            raise ValueError(problem)
        return v


class Drain(Model):
    grace_period: Seconds | None = None


def _positive_window(v: float | None) -> float | None:
    if v is not None and v <= 0:
        raise ValueError("must be greater than zero")
    return v


class Throttle(Model):
    """The registry serves the node at no more than ``rate`` for a while."""

    rate: BytesPerSecond
    for_: Seconds = Field(alias="for")

    _rate = field_validator("rate")(_positive_window)
    _for = field_validator("for_")(_positive_window)


class RegistryTrouble(Model):
    """The image registry down (``outage: 30m``) or slow (``throttle: {rate, for}``) from
    the event's time on (hpsim.node.registry says what each does to pulls)."""

    outage: Seconds | None = None
    throttle: Throttle | None = None

    _outage = field_validator("outage")(_positive_window)

    @model_validator(mode="after")
    def _one(self) -> RegistryTrouble:
        exactly_one(self, ("outage", "throttle"), "registry")
        return self


class Event(Model):
    at: Seconds
    rollout: Rollout | None = None
    scale: Scale | None = None
    cordon: bool | None = None
    drain: Drain | None = None
    registry: RegistryTrouble | None = None

    @model_validator(mode="after")
    def _one(self) -> Event:
        exactly_one(self, ("rollout", "scale", "cordon", "drain", "registry"), "an event")
        return self


# -- node pools and the cluster -----------------------------------------------------------------

# From VM create to the kubelet registering its Node. A guess from one observation: "5 or
# so minutes it takes to start a Windows node on a m5a.xlarge" with the EKS-optimized AMI
# (blog "How I Reduced EKS Windows Node Start Time From 5 Min to ~90s", hackernoon,
# 2024-06); no AKS figure is published (Azure/azure-capi-cli-extension PR #162 raised its
# wait for Windows nodes from 5 to 15 minutes). Set what your clusters measure.
PROVISIONING_S = 300.0

# The kube-scheduler score plugins of the default profile and their weights
# (kubernetes/kubernetes pkg/scheduler/apis/config/v1/default_plugins.go getDefaultPlugins).
SCORE_PLUGINS = {
    "TaintToleration": 3,
    "NodeAffinity": 2,
    "PodTopologySpread": 2,
    "InterPodAffinity": 2,
    "NodeResourcesFit": 1,
    "NodeResourcesBalancedAllocation": 1,
    "ImageLocality": 1,
}


class NodePool(Model):
    """A group of alike Windows nodes: the node template, its size or its autoscaling bounds."""

    name: str
    node: NodeSpec
    # A fixed size, or min/max for the Cluster Autoscaler (count then is the size at
    # the start, min if unset).
    count: int | None = Field(None, ge=0, le=POOL_NODES_LIMIT)
    min: int | None = Field(None, ge=0, le=POOL_NODES_LIMIT)
    max: int | None = Field(None, ge=0, le=POOL_NODES_LIMIT)
    # VM create -> kubelet registered (see PROVISIONING_S: a guess).
    provisioning: Lifetime = Lifetime(fixed=PROVISIONING_S)
    # The DaemonSet whose pod writes the node's CNI configuration (flannel, Calico,
    # Antrea run as HostProcess DaemonSets on self-managed clusters: kubernetes-sigs/
    # sig-windows-tools hostprocess/): the node's network, and so its Ready condition,
    # waits for that pod to run. None: the node's bootstrap writes the configuration
    # before the kubelet starts (AKS: Azure/AgentBaker staging/cse/windows/azurecnifunc.ps1
    # Set-AzureCNIConfig; EKS: Start-EKSBootstrap.ps1).
    cni_daemon_set: str | None = None

    @field_validator("name")
    @classmethod
    def _pool_name(cls, v: str) -> str:
        if not re.fullmatch(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?", v) or len(v) > 40:
            raise ValueError(
                f"invalid pool name '{excerpt(v)}': lowercase letters, digits and '-', "
                "at most 40 characters (it names the pool's nodes)"
            )
        return v

    @model_validator(mode="after")
    def _size(self) -> NodePool:
        if self.min is None and self.max is None:
            if self.count is None:
                raise ValueError("a node pool takes count, or min and max (found none)")
            return self
        if self.min is None or self.max is None:
            raise ValueError("a node pool that autoscales takes both min and max")
        if self.min > self.max:
            raise error_at(("min",), f"min ({self.min}) is larger than max ({self.max})", self.min)
        if self.count is not None and not self.min <= self.count <= self.max:
            raise error_at(
                ("count",),
                f"count must be between min ({self.min}) and max ({self.max})",
                self.count,
            )
        return self

    @property
    def autoscaled(self) -> bool:
        return self.max is not None

    @property
    def initial(self) -> int:
        """Nodes at the start of the run."""
        if self.count is not None:
            return self.count
        return self.min or 0

    @property
    def bounds(self) -> tuple[int, int]:
        """(min, max) nodes; a fixed pool's are its count."""
        if self.min is not None and self.max is not None:
            return self.min, self.max
        return self.initial, self.initial


class SchedulerSettings(Model):
    """kube-scheduler's default profile (KubeSchedulerConfiguration), what hpsim models of it."""

    # NodeResourcesFit's scoringStrategy.type (defaults.go SetDefaults_NodeResourcesFitArgs:
    # LeastAllocated, cpu and memory weight 1).
    scoring_strategy: Literal["LeastAllocated", "MostAllocated"] = "LeastAllocated"
    # Score plugin weights; a plugin left out keeps its default (SCORE_PLUGINS), 0 turns it off.
    weights: dict[str, int] = {}
    # The scheduling queue's back-off for a pod that failed: initial x 2^(attempts-1), capped
    # (k/k pkg/scheduler/apis/config/v1/defaults.go SetDefaults_KubeSchedulerConfiguration:
    # PodInitialBackoffSeconds 1, PodMaxBackoffSeconds 10; validation.go
    # ValidateKubeSchedulerConfiguration refuses initial <= 0 and max < initial).
    pod_initial_backoff_seconds: int = Field(1, ge=1, le=3600)
    pod_max_backoff_seconds: int = Field(10, ge=1, le=3600)

    @field_validator("weights")
    @classmethod
    def _weights(cls, v: dict[str, int]) -> dict[str, int]:
        for name, w in v.items():
            if name not in SCORE_PLUGINS:
                raise ValueError(
                    f"unknown score plugin '{excerpt(name)}' (known: {', '.join(SCORE_PLUGINS)})"
                )
            if not 0 <= w <= 100:
                raise ValueError(f"the weight of {name} must be between 0 and 100 (found {w})")
        return v

    @model_validator(mode="after")
    def _backoff(self) -> SchedulerSettings:
        if self.pod_max_backoff_seconds < self.pod_initial_backoff_seconds:
            raise ValueError(
                f"podMaxBackoffSeconds ({self.pod_max_backoff_seconds}) is less than "
                f"podInitialBackoffSeconds ({self.pod_initial_backoff_seconds})"
            )
        return self

    @property
    def plugin_weights(self) -> dict[str, int]:
        return {**SCORE_PLUGINS, **self.weights}


class AutoscalerFlags(Model):
    """The Cluster Autoscaler's flags, by their names, with CA 1.31's defaults
    (kubernetes/autoscaler cluster-autoscaler/main.go and config/const.go)."""

    model_config = ConfigDict(
        extra="forbid",
        alias_generator=lambda n: n.replace("_", "-"),
        populate_by_name=True,
        frozen=True,
        validate_default=False,
    )

    # config/const.go DefaultScanInterval
    scan_interval: Seconds = 10.0
    max_node_provision_time: Seconds = 900.0
    # clusterstate/clusterstate.go MaxNodeStartupTime (a flag from CA 1.35)
    max_node_startup_time: Seconds = 900.0
    scale_down_enabled: bool = True
    # config/const.go DefaultScaleDownUnneededTime
    scale_down_unneeded_time: Seconds = 600.0
    scale_down_unready_time: Seconds = 1200.0
    scale_down_delay_after_add: Seconds = 600.0
    scale_down_delay_after_delete: Seconds = 0.0
    scale_down_delay_after_failure: Seconds = 180.0
    scale_down_utilization_threshold: float = Field(0.5, ge=0, le=1)
    # "random" up to CA 1.32; "least-waste" from 1.33 (config/flags/flags.go)
    expander: str = "random"
    max_nodes_total: int = Field(0, ge=0)
    new_pod_scale_up_delay: Seconds = 0.0
    initial_node_group_backoff_duration: Seconds = 300.0
    max_node_group_backoff_duration: Seconds = 1800.0
    node_group_backoff_reset_timeout: Seconds = 10800.0
    skip_nodes_with_system_pods: bool = True
    skip_nodes_with_local_storage: bool = True
    max_empty_bulk_delete: int = Field(10, ge=1)
    max_drain_parallelism: int = Field(1, ge=1)
    ignore_daemonsets_utilization: bool = False
    expendable_pods_priority_cutoff: int = -10
    max_total_unready_percentage: float = Field(45.0, ge=0, le=100)
    ok_total_unready_count: int = Field(3, ge=0)

    @field_validator("expander")
    @classmethod
    def _expander(cls, v: str) -> str:
        known = ("random", "least-waste", "most-pods", "priority", "least-nodes")
        for name in v.split(","):
            if name not in known:
                raise ValueError(f"unknown expander '{excerpt(name)}' (known: {', '.join(known)})")
        return v


class ClusterSpec(Model):
    """The cluster's own components: kube-scheduler and the Cluster Autoscaler."""

    scheduler: SchedulerSettings = SchedulerSettings()
    autoscaler: AutoscalerFlags = AutoscalerFlags()


# -- scenario -----------------------------------------------------------------------------------

PodSecurityLevel = Literal["privileged", "baseline", "restricted"]
_NAME_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]*")  # used with fullmatch: no "\n" after it
# Our bound on a scenario's name, which names the folder results/<name>/<timestamp>/: well
# under the 255-byte file-name limit of ext4 and NTFS, and short enough that a results
# folder copied to a Windows machine stays inside its 260-character MAX_PATH.
NAME_LIMIT = 100


# The most replications one run or one sweep point may ask for. A guess at a bound
# no capacity question needs to pass: 10,000 replications of the smallest scenario
# take hours, and a plan of that many runs is held in memory.
REPLICATIONS_LIMIT = 10_000


# The wall-clock time at t = 0, for schedules (CronJob). Our choice, no source: a Monday at
# midnight UTC, so that hours and weekdays of the run are those of the schedules.
START_TIME = datetime(2026, 1, 5, tzinfo=timezone.utc)


class Scenario(Model):
    """A whole scenario file."""

    name: str
    description: str = ""
    duration: Seconds
    # The wall clock at t = 0 (ISO 8601 with a zone: 2026-01-05T00:00:00Z); CronJob
    # schedules fire on it.
    start_time: AwareDatetime = START_TIME
    seed: int = Field(0, ge=0)
    replications: int = Field(1, ge=1, le=REPLICATIONS_LIMIT)
    # One node (a pool of one), or node pools.
    node: NodeSpec | None = None
    node_pools: list[NodePool] = []
    cluster: ClusterSpec = ClusterSpec()
    # Pod Security enforce level per namespace. A namespace not listed is
    # "privileged": the PodSecurity admission plugin's default enforce level.
    namespaces: dict[str, PodSecurityLevel] = {}
    images: list[ImageSpec] = []
    workloads: list[Workload] = []
    events: list[Event] = []

    @field_validator("name")
    @classmethod
    def _name(cls, v: str) -> str:
        if not _NAME_RE.fullmatch(v):
            raise ValueError(
                f"invalid name '{excerpt(v)}': use letters, digits, '.', '_' and '-' "
                "(it names the results folder)"
            )
        if len(v) > NAME_LIMIT:
            raise ValueError(
                f"a name has at most {NAME_LIMIT} characters (found {len(v)}): "
                "it names the results folder"
            )
        return v

    @field_validator("workloads")
    @classmethod
    def _workloads(cls, v: list[Workload], info: ValidationInfo) -> list[Workload]:
        # Nothing happens at or after the end: a workload created then never runs
        # (events after the end are refused the same way, in hpsim.scenario.load).
        duration = info.data.get("duration")
        if duration is None:
            return v
        for i, w in enumerate(v):
            if w.start >= duration:
                raise error_at(
                    (i, "start"), "the workload starts at or after the end of the scenario", w.start
                )
            p = w.arrivals.poisson if w.arrivals is not None else None
            if isinstance(p, Poisson) and w.start + p.start >= duration:
                raise error_at(
                    # "Poisson": the union member, as pydantic names it in a field path
                    (i, "arrivals", "poisson", "Poisson", "start"),
                    "the arrivals start at or after the end of the scenario",
                    p.start,
                )
        return v

    @field_validator("duration")
    @classmethod
    def _duration(cls, v: float) -> float:
        if v <= 0:
            raise ValueError("duration must be greater than zero")
        return v

    @model_validator(mode="after")
    def _nodes(self) -> Scenario:
        if (self.node is None) == (not self.node_pools):
            found = "both" if self.node is not None else "neither"
            raise ValueError(f"a scenario takes node or nodePools (found {found})")
        names = [p.name for p in self.node_pools]
        for i, name in enumerate(names):
            if name in names[:i]:
                raise error_at(("nodePools", i, "name"), f"pool '{name}' is defined twice", name)
        return self

    @property
    def pools(self) -> list[NodePool]:
        """The node pools; ``node:`` is a pool of one node, named as the node."""
        if self.node is not None:
            return [NodePool(name="node", node=self.node, count=1)]
        return self.node_pools

    @property
    def first_node(self) -> NodeSpec:
        """The first pool's node template: what settings shared by the cluster (the API
        server's version, the catalogue's host build) are read from."""
        return self.node if self.node is not None else self.node_pools[0].node

    def namespace_level(self, namespace: str) -> str:
        return self.namespaces.get(namespace, "privileged")
