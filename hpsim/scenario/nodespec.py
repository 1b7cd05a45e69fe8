"""A node's settings in a scenario: kubelet's, containerd's, the machine's and its pulls' rates.

Part of the typed scenario (:mod:`hpsim.scenario.schema` re-exports every name), in a module
of its own so that checking a bare manifest (``hpsim validate``, which needs a node and
nothing else of a scenario) builds these models only. Keys, units and cited defaults follow
:mod:`hpsim.scenario.schema`'s rules.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from fractions import Fraction
from typing import Any, Literal

from pydantic import Field, ValidationInfo, field_validator, model_validator
from pydantic.json_schema import SkipJsonSchema

from hpsim import units
from hpsim.errors import excerpt
from hpsim.scenario.schemabase import (
    INT32_MAX,
    Bytes,
    BytesPerSecond,
    Millicores,
    Model,
    Seconds,
    error_at,
    not_modelled,
    version_tuple,
)


class ResourceList(Model):
    """Reserved resources, as kubelet's systemReserved / kubeReserved maps."""

    cpu: Millicores = 0
    memory: Bytes = 0
    ephemeral_storage: Bytes = Field(0, alias="ephemeral-storage")
    pid: SkipJsonSchema[int] = Field(0, exclude=True)  # refused: see _pid

    @field_validator("pid", mode="before")
    @classmethod
    def _pid(cls, v: Any) -> Any:
        raise not_modelled("pid", "hpsim counts no process IDs")


# The eviction signals kubelet accepts, on every OS: k/k pkg/kubelet/eviction/helpers.go
# signalToResource (validSignal); the names are pkg/kubelet/eviction/api/types.go's Signal*.
# hpsim models memory.available and nodefs.available; a Windows node observes no inodes
# and no separate image or container filesystem, so the others never fire there and have
# no effect in hpsim either.
EVICTION_SIGNALS = (
    "memory.available",
    "allocatableMemory.available",
    "nodefs.available",
    "nodefs.inodesFree",
    "imagefs.available",
    "imagefs.inodesFree",
    "containerfs.available",
    "containerfs.inodesFree",
    "pid.available",
)
# strconv.ParseFloat's decimal syntax (Go's hex, inf and nan forms are left out).
_GO_FLOAT_RE = re.compile(r"[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?")


def eviction_threshold(signal: str, value: str) -> Fraction | str | None:
    """One evictionHard entry as kubelet reads it: a percentage (text ending in ``%``),
    a quantity (a Fraction), or None when kubelet ignores it (``0%`` and ``100%``).

    kubelet's rules and words (k/k pkg/kubelet/eviction/helpers.go parseThresholdStatement
    and parsePercentage); ValueError on what kubelet refuses at start.
    """
    if signal not in EVICTION_SIGNALS:
        raise ValueError(f"unsupported eviction signal {excerpt(signal)}")
    if value.endswith("%"):
        if value in ("0%", "100%"):  # "ignore 0% and 100%"
            return None
        number = value[:-1]
        if not _GO_FLOAT_RE.fullmatch(number):
            raise ValueError(f'strconv.ParseFloat: parsing "{excerpt(number)}": invalid syntax')
        if float(number) < 0:
            raise ValueError(
                f"eviction percentage threshold {signal} must be >= 0%: {excerpt(value)}"
            )
        if float(number) > 100:
            raise ValueError(
                f"eviction percentage threshold {signal} must be <= 100%: {excerpt(value)}"
            )
        return value
    quantity = units.parse_quantity(value)
    if quantity <= 0:
        raise ValueError(f"eviction threshold {signal} must be positive: {excerpt(value)}")
    return quantity


def eviction_threshold_bytes(value: str, capacity: float) -> int:
    """A kubelet-valid evictionHard value in bytes: a percentage of ``capacity`` or a quantity."""
    if value.endswith("%"):
        return int(capacity * float(value[:-1]) / 100)
    return units.parse_memory_bytes(value)


# The Windows kubelet enforces hard eviction from this version on (k/k PR #122922).
EVICTION_ENFORCED_FROM = (1, 31, 0)


def default_eviction_hard(kubernetes: str) -> dict[str, str]:
    """kubelet's default evictionHard on Windows for a Kubernetes version.

    From 1.31 k/k pkg/kubelet/eviction/defaults_windows.go: memory.available<500Mi,
    nodefs.available<10% (imagefs.available<15% too until k/k PR #141844, a
    signal that never fires on Windows). Before 1.31 the generic defaults
    (pkg/kubelet/eviction/defaults_linux.go DefaultEvictionHard) applied,
    memory.available<100Mi, and none was enforced on Windows.
    """
    if version_tuple(kubernetes) >= EVICTION_ENFORCED_FROM:
        return {"memory.available": "500Mi", "nodefs.available": "10%", "imagefs.available": "15%"}
    return {"memory.available": "100Mi", "nodefs.available": "10%", "imagefs.available": "15%"}


class KubeletConfig(Model):
    """The KubeletConfiguration fields hpsim models.

    Defaults: k/k pkg/kubelet/apis/config/v1beta1/defaults.go.
    """

    max_pods: int = Field(110, ge=1)
    # serializeImagePulls is true unless maxParallelImagePulls >= 2 (defaults.go).
    serialize_image_pulls: bool | None = None
    max_parallel_image_pulls: int | None = Field(None, ge=1)
    image_gc_high_threshold_percent: int = Field(
        85, ge=0, le=100, alias="imageGCHighThresholdPercent"
    )
    image_gc_low_threshold_percent: int = Field(
        80, ge=0, le=100, alias="imageGCLowThresholdPercent"
    )
    image_minimum_gc_age: Seconds = Field(120.0, alias="imageMinimumGCAge")
    # 0 disables age-based GC (image_gc_manager.go freeOldImages returns early).
    image_maximum_gc_age: Seconds = Field(0.0, alias="imageMaximumGCAge")
    # None: the Windows default for the node's Kubernetes version
    # (k/k pkg/kubelet/eviction/defaults_windows.go).
    eviction_hard: dict[str, str] | None = None
    system_reserved: ResourceList = ResourceList()
    kube_reserved: ResourceList = ResourceList()
    container_log_max_size: Bytes = 10 * 2**20
    container_log_max_files: int = Field(5, ge=2)
    # --allow-privileged; validateWindowsHostProcessPod rule 4
    # (k/k pkg/apis/core/validation/validation.go).
    allow_privileged: bool = True
    # A token bucket in front of the runtime's PullImage (k/k pkg/kubelet/images/helpers.go
    # throttleImagePulling): registryPullQPS tokens a second, at most registryBurst held; a
    # pull that finds none fails with "pull QPS exceeded". 0 QPS: no limit. Both int32;
    # defaults.go sets 5 and 10.
    registry_pull_qps: int = Field(5, alias="registryPullQPS", le=INT32_MAX)
    registry_burst: int = Field(10, alias="registryBurst", le=INT32_MAX)

    @field_validator("registry_pull_qps", "registry_burst")
    @classmethod
    def _not_negative(cls, v: int, info: ValidationInfo) -> int:
        # k/k pkg/kubelet/apis/config/validation/validation.go ValidateKubeletConfiguration.
        if v < 0:
            name, flag = {
                "registry_pull_qps": ("registryPullQPS", "--registry-qps"),
                "registry_burst": ("registryBurst", "--registry-burst"),
            }[str(info.field_name)]
            raise ValueError(f"{name} ({flag}) {v} must not be a negative number")
        return v

    @field_validator("eviction_hard")
    @classmethod
    def _eviction_hard(cls, v: dict[str, str] | None) -> dict[str, str] | None:
        for signal, value in (v or {}).items():
            try:
                eviction_threshold(signal, value)
            except ValueError as exc:
                raise error_at((signal,), str(exc), value) from None
        return v

    @model_validator(mode="after")
    def _check(self) -> KubeletConfig:
        if self.image_gc_low_threshold_percent > self.image_gc_high_threshold_percent:
            raise ValueError(
                "imageGCLowThresholdPercent must not exceed imageGCHighThresholdPercent "
                f"({self.image_gc_low_threshold_percent} > {self.image_gc_high_threshold_percent})"
            )
        if self.serialize_image_pulls and (self.max_parallel_image_pulls or 1) > 1:
            raise ValueError("maxParallelImagePulls needs serializeImagePulls: false")
        return self

    @property
    def pulls_serialized(self) -> bool:
        """Effective serializeImagePulls (defaults.go)."""
        if self.serialize_image_pulls is not None:
            return self.serialize_image_pulls
        return (self.max_parallel_image_pulls or 1) < 2


class ContainerdConfig(Model):
    """containerd's version and the CRI settings hpsim models (containerd internal/cri/config)."""

    version: str = "1.7.22"  # guess: a current 1.7 patch release, as AKS and EKS ship
    # containerd@HEAD internal/cri/config/config_windows.go DefaultImageConfig.
    max_concurrent_downloads: int = Field(3, ge=1)
    # internal/cri/config/config.go: blobs are kept after unpack by default.
    discard_unpacked_layers: bool = False
    # image_pull_progress_timeout: containerd cancels a pull whose open downloads read no byte
    # for this long; 0 turns it off. None: the version's default (see
    # pull_progress_timeout): none before 1.7.0 (containerd 1.6 has no such setting), 1 min
    # on Windows in 1.7.0-1.7.9 (pkg/cri/config/config_windows.go), 5 min from 1.7.10
    # (commit 206806128, internal/cri/config/config.go defaultImagePullProgressTimeoutDuration).
    image_pull_progress_timeout: Seconds | None = None
    # pinned_images.sandbox; containerd 1.7's DefaultSandboxImage (2.0 uses pause:3.10).
    sandbox_image: str = "registry.k8s.io/pause:3.8"
    # hcsshim runhcs.proto default_container_scratch_size_in_gb comment: 20 GB.
    scratch_size: Bytes = 20 * 2**30

    @field_validator("version")
    @classmethod
    def _version(cls, v: str) -> str:
        version_tuple(v)
        return v

    @model_validator(mode="after")
    def _progress_timeout(self) -> ContainerdConfig:
        timeout = self.image_pull_progress_timeout
        if timeout is None:
            return self
        if timeout < 0:
            # A negative one would make containerd's reporter ticker panic (time.NewTicker).
            raise error_at(("imagePullProgressTimeout",), "must not be negative", timeout)
        if version_tuple(self.version) < PULL_PROGRESS_TIMEOUT_FROM:
            raise error_at(
                ("imagePullProgressTimeout",),
                f"containerd {excerpt(self.version)} has no image_pull_progress_timeout "
                "(it came with 1.7.0)",
                timeout,
            )
        return self


# containerd's image_pull_progress_timeout: added in 1.7.0 (commit 00d102da9); on Windows 1 min
# until 1.7.9 (pkg/cri/config/config_windows.go DefaultConfig), 5 min from 1.7.10 (commit
# 206806128, defaultImagePullProgressTimeoutDuration in internal/cri/config/config.go).
PULL_PROGRESS_TIMEOUT_FROM = (1, 7, 0)
PULL_PROGRESS_TIMEOUT_5M_FROM = (1, 7, 10)


def pull_progress_timeout(containerd: ContainerdConfig) -> float:
    """Seconds without a byte after which containerd cancels a pull (0: never)."""
    if containerd.image_pull_progress_timeout is not None:
        return containerd.image_pull_progress_timeout
    version = version_tuple(containerd.version)
    if version < PULL_PROGRESS_TIMEOUT_FROM:
        return 0.0
    return 300.0 if version >= PULL_PROGRESS_TIMEOUT_5M_FROM else 60.0


class StartupCosts(Model):
    """Time the runtime spends creating things: no source gives these (guesses)."""

    sandbox: Seconds = 2.0  # guess: RunPodSandbox incl. HNS endpoint on Windows
    # guess: hcsshim fakes the sandbox task (cmd/containerd-shim-runhcs-v1/pod.go).
    host_process_sandbox: Seconds = 0.5
    container: Seconds = 1.0  # guess: CreateContainer + StartContainer (WCIFS layer mount)
    host_process_container: Seconds = 0.5  # guess: job object + silo + bindflt mount


class Taint(Model):
    key: str
    value: str = ""
    effect: Literal["NoSchedule", "PreferNoSchedule", "NoExecute"]


# -- image pulls: download and layer extraction ---------------------------------------------
#
# What limits a pull on Windows is extracting its layers, not downloading them
# (containerd/containerd#4989: 74 s of download, then 16 min of unpack). Applying a layer
# is hcsshim's import of its tar stream (containerd pkg/archive/tar_opts_windows.go
# applyWindowsLayer -> hcsshim pkg/ociwclayer ImportLayerFromTar): one goroutine reads the
# tar and, for every file, opens it with backup semantics and write-DAC/owner/SACL access,
# sets its basic info and writes a Win32 backup stream (internal/wclayer/baselayerwriter.go
# Add, legacy.go legacyLayerWriter.Add); a base layer is then processed by the HCS
# (ProcessBaseLayer, and ProcessUtilityVMImage when it has a UtilityVM), a non-base layer
# is written to a temporary folder and imported (ImportLayer). The cost is per file, so a
# scanner that inspects every new file (Microsoft Defender real-time protection) and the
# disk's per-operation speed weigh on it; decompression does not (in #4989 unpigz sat at
# ~0.5% CPU). No per-layer overhead is modelled: #4989 shows 3.6 min between the end of
# decompression and "pull completed" for its one (base) layer, ProcessBaseLayer's time,
# but one observation cannot tell a fixed cost from one that grows with the layer, so it
# is in the rate. No source gives rates by disk type.
#
# By containerd version: 1.6, 1.7 and 2.x extract the same way. The default windows
# snapshotter applies through ImportLayerFromTar since containerd 1.5 (commit a64a76846,
# "Replace inline applyWindowsLayer using hcsshim"), and hcsshim's writers kept the same
# per-file steps since (its git log of internal/wclayer and pkg/ociwclayer shows refactors
# and fixes, none to that work). 2.x pulls through the transfer service with the same
# unpacker, one layer at a time (core/unpack/unpacker.go supportParallel: the windows
# snapshotter lacks the rebase capability); its gzip decoder changed in 2.4 (commit
# d8f13bf4c), which #4989 shows is not the limit. 2.x also offers the cimfs and blockcim
# snapshotters (plugins/snapshots/windows/cimfs.go, block_cimfs.go), opt-in and not
# modelled; no published extraction rate of them was found. So one rate serves every
# version hpsim accepts.

# [OBS] microsoft/Windows-Containers#607: Docker 28 extracting windows/server:ltsc2022 on
# Windows Server 2022, "140 seconds to extract 2GB" (~14 MB/s of compressed input, as
# Docker's progress counts). Docker's installation excludes its files from Defender
# (kubernetes/website#26600, kubernetes/kubernetes#100029) and it writes layers with the
# same hcsshim layer writer, so this is the rate without scanning. actions/runner-images#13851
# agrees: servercore:ltsc2025 in ~5 min on a runner whose Defender is off
# (runner-images images/windows/scripts/build/Configure-WindowsDefender.ps1); the model
# gives 4.7 min at this rate and the download rate below (tests/test_pull_observations.py).
UNPACK_RATE = 14e6
# [OBS] containerd/containerd#4989: ctr pulled servercore:1809 (1.71 GB compressed) from
# mcr.microsoft.com on a GCE VM in 74 s of download, ~23 MB/s. The only published download
# rate of a Windows node found; no AKS or EKS figure was.
NETWORK_RATE = 23e6
# Our bound on the antivirus slowdown: far past the ~8x that 2020's Defender cost (#4989).
UNPACK_SLOWDOWN_LIMIT = 100.0


class Antivirus(Model):
    """Real-time antivirus scanning of the files a layer apply writes (Microsoft Defender).

    With scanning on, layers extract ``unpackSlowdown`` times slower than ``unpackRate``.
    """

    # On where node images leave it on. AKS: Windows Server's Defender stays on (Azure/AKS#3647
    # shows it running on AKS nodes) and AgentBaker's CSE adds exclusions
    # (staging/cse/windows/kubernetesfunc.ps1 Update-DefenderPreferences: the containerd.exe
    # process, and the snapshots folder only since Azure/AgentBaker#8245, 2026-04). GCE:
    # kubernetes cluster/gce/windows/k8s-node-setup.psm1 Configure-WindowsDefender turns off
    # sample submission and MAPS reporting, not real-time protection. EKS: no public source
    # found. GitHub's runner images turn it off (actions/runner-images
    # Configure-WindowsDefender.ps1).
    real_time_scanning: bool = True
    # guess: no source measures one node with scanning on and off. Azure/AgentBaker#7005:
    # server:ltsc2022 (3.014 GB) takes 10-15 min at an AKS node's bootstrap, containerd.exe
    # excluded: after 131 s of download at 23 MB/s, 469-769 s of unpack, 3.9-6.4 MB/s, which
    # is 14 MB/s slowed 2.2-3.6 times; 3 is in that range. Before Defender's 2022 fix for
    # container extraction (microsoft/Windows-Containers#92, containerd PR #6875's review) it
    # was ~8x (containerd/containerd#4989), and containerd pulled 5.3x slower than Docker
    # (containerd/cri#1355).
    unpack_slowdown: float = Field(3.0, ge=1, le=UNPACK_SLOWDOWN_LIMIT)


_OS_BUILD_RE = re.compile(r"^10\.0\.(\d+)(?:\.(\d+))?$")

# Our bound, a guess: above the most logical processors any Windows Server edition supports
# (2,048 for Windows Server 2022 Datacenter, Microsoft Learn "Maximum number of processors"),
# so no real node is refused and an absurd count is not carried into millicore arithmetic.
CPU_LIMIT = 4096
# Our bound: the unpacked/compressed size ratio of layers. Images commonly unpack to 2-3x
# their compressed size; 100x is far past any real image and keeps layer sizes finite
# (1e308 overflowed a float once multiplied by a layer's size).
UNPACKED_RATIO_LIMIT = 100.0


def _quantity_text(n: int, *, cpu: bool = False) -> str:
    """A reservation or capacity as Kubernetes writes a quantity: ``16``, ``9400m``, ``32Gi``."""
    if cpu:
        return str(n // 1000) if n % 1000 == 0 else f"{n}m"
    for suffix, scale in (("Ei", 2**60), ("Pi", 2**50), ("Ti", 2**40), ("Gi", 2**30)):
        if n and n % scale == 0:
            return f"{n // scale}{suffix}"
    for suffix, scale in (("Mi", 2**20), ("Ki", 2**10)):
        if n and n % scale == 0:
            return f"{n // scale}{suffix}"
    return str(n)


class RuntimeClass(Model):
    """A RuntimeClass (node.k8s.io/v1) and what containerd's runtime for its handler does."""

    handler: str
    # containerd runtime options SandboxIsolation = 1 (hcsshim runhcs options.proto
    # SandboxIsolation HYPERVISOR): pods of this class run in a utility VM.
    hypervisor: bool = False


class NodeSpec(Model):
    """One Windows Server node."""

    name: str = "win-node-0"
    os_build: str = "10.0.20348.2227"
    cpu: int = Field(ge=1, le=CPU_LIMIT)
    memory: Bytes
    # guess: Windows sizes a system-managed pagefile itself; set what your nodes use.
    pagefile: Bytes = 8 * 2**30
    # guess: what Windows, kubelet and containerd commit before any pod. No source measures
    # it; Kubernetes' "Resource Management for Windows nodes" (kubernetes/website content/en/
    # docs/concepts/configuration/windows-resource-management.md) asks for a system reserved
    # memory of at least 2 GiB for them, taken here as what they commit.
    system_commit: Bytes = 2 * 2**30
    # Commit a process-isolated container costs outside its own job object (its silo's
    # system processes): microsoft/Windows-Containers#180 reports 200-300 MB per container
    # missing from the container's statistics; the default is the middle, 250 MiB.
    # HostProcess containers have none.
    isolated_container_commit: Bytes = 250 * 2**20
    # guess: the share of committed memory processes actually touch (their working sets
    # over their commit); no source gives it. Touched = residentShare x the node's commit;
    # past RAM work slows down (hpsim.node.paging, a slowdown form no source gives either).
    # 1.0: every committed byte is touched, so the node pages once commit passes RAM.
    resident_share: float = Field(1.0, gt=0, le=1)
    disk: Bytes = 128 * 2**30  # guess: AKS's default OS disk for Windows pools
    # guess: what Windows Server and the node's own software hold before any image.
    os_disk_usage: Bytes = 20 * 2**30
    # On-disk (unpacked) / compressed size of image layers: no source gives it (repo-info
    # sizes are compressed only); 2-3x is commonly observed, so the default is a guess in that
    # range.
    unpacked_ratio: float = Field(2.5, gt=0, le=UNPACKED_RATIO_LIMIT)
    # The registry download rate, shared by the downloads in flight. See NETWORK_RATE.
    network: BytesPerSecond = NETWORK_RATE
    # Layer extraction without antivirus scanning, bytes of compressed input per second, for
    # the node as a whole (the applies in flight share it). See UNPACK_RATE.
    unpack_rate: BytesPerSecond = UNPACK_RATE
    # hpsim's own parameter, no upstream default: how much pulls of the same bytes differ
    # (registry latency, the VM's disk and network from one pull to the next). Each pull
    # draws a factor exp(sigma x N(0, 1)) on its download and extraction work: a pull
    # alone takes that factor times the time at the node's rates. 0 (default): every
    # pull at the node's rates. hpsim calibrate fits it from kubelet's Pulled events.
    pull_spread: float = Field(0.0, ge=0, le=2)
    antivirus: Antivirus = Antivirus()
    kubernetes: str = "1.31"  # guess: a currently supported minor version
    containerd: ContainerdConfig = ContainerdConfig()
    feature_gates: dict[str, bool] = {}
    # bindflt present (KEP-1981 README.md): true on WS2022+ and on WS2019 since the 2022-07
    # patches. hcsshim (containerd 1.7+) binds HostProcess volumes with it, else symlinks them
    # (hpsim.scenario.hpcmounts).
    file_binding: bool = True
    # RuntimeClasses by name: the handler, and whether containerd's runtime for it runs
    # hypervisor isolation (runhcs option SandboxIsolation = 1). Only what admission needs.
    runtime_classes: dict[str, RuntimeClass] = {}
    labels: dict[str, str] = {}
    taints: list[Taint] = []
    kubelet: KubeletConfig = KubeletConfig()
    startup: StartupCosts = StartupCosts()
    # Images in containerd's store when the node starts: the node image (VHD/AMI) pulled
    # them at build time. None: the sandbox image alone, which AKS's and EKS's Windows node
    # images both cache (Azure/AgentBaker parts/common/components.json, ContainerImages
    # with windowsVersions: oss/v2/kubernetes/pause; EKS User Guide
    # eks-optimized-windows-ami.adoc "Cached container images": eks/pause-windows). Both
    # cache nanoserver and servercore too, at the patch levels of the image's month: list
    # them (scenario or catalogue images) to model that; [] for a node that caches nothing.
    pre_pulled_images: list[str] | None = None

    @property
    def pre_pulled(self) -> list[str]:
        """The images the node starts with (the sandbox image unless set)."""
        if self.pre_pulled_images is None:
            return [self.containerd.sandbox_image]
        return list(dict.fromkeys(self.pre_pulled_images))

    @model_validator(mode="before")
    @classmethod
    def _containerd_shorthand(cls, data: Any) -> Any:
        # `containerd: "1.7.13"` is short for `containerd: {version: "1.7.13"}`.
        if isinstance(data, dict) and isinstance(data.get("containerd"), str):
            data = {**data, "containerd": {"version": data["containerd"]}}
        return data

    @field_validator("memory", "disk")
    @classmethod
    def _size(cls, v: int) -> int:
        if v <= 0:
            raise ValueError("must be greater than zero")
        return v

    @field_validator("network", "unpack_rate")
    @classmethod
    def _rate(cls, v: float) -> float:
        if v <= 0:
            raise ValueError("must be greater than zero: at zero no image would ever be pulled")
        return v

    @model_validator(mode="after")
    def _capacity(self) -> NodeSpec:
        if self.disk <= self.os_disk_usage:
            raise error_at(
                ("disk",),
                f"must be larger than osDiskUsage ({_quantity_text(self.disk)} is not larger "
                f"than {_quantity_text(self.os_disk_usage)}): Windows itself would fill the volume",
                self.disk,
            )
        if self.system_commit >= self.memory + self.pagefile:
            raise error_at(
                ("systemCommit",),
                f"must be less than memory + pagefile ({_quantity_text(self.system_commit)} "
                f"is not less than {_quantity_text(self.memory + self.pagefile)}): the node "
                "could not commit anything for its pods",
                self.system_commit,
            )
        self._check_reservations()
        return self

    def _check_reservations(self) -> None:
        """kubelet's validateNodeAllocatable: reservations must not exceed capacity.

        Reservation = systemReserved + kubeReserved + the hard eviction threshold for memory
        (memory.available) and ephemeral-storage (nodefs.available), as
        GetNodeAllocatableReservation and hardEvictionReservation add them (k/k
        pkg/kubelet/cm/node_container_manager_linux.go, pkg/kubelet/cm/helpers.go). The
        message is validateNodeAllocatable's, with quantities written as Kubernetes writes
        them (kubelet prints the Go struct). On Linux kubelet refuses to start with it. The
        Windows container manager (pkg/kubelet/cm/container_manager_windows.go) never calls
        it: a Windows kubelet starts and reports allocatable 0 (pkg/kubelet/nodestatus/
        setters.go MachineInfo: "Negative Allocatable resources don't make sense"), so no pod
        with a request could run there. hpsim refuses such a node instead: our choice.
        """
        reserved = node_reservation(self)
        rows = (
            ("cpu", reserved.cpu_m, self.cpu * 1000),
            ("memory", reserved.memory, self.memory),
            ("ephemeral-storage", reserved.ephemeral_storage, self.disk),
        )
        errors = [
            f'Resource "{name}" has a reservation of {_quantity_text(res, cpu=name == "cpu")} '
            f"but capacity of {_quantity_text(cap, cpu=name == 'cpu')}. "
            "Expected capacity >= reservation."
            for name, res, cap in rows
            if res > cap
        ]
        if errors:
            raise error_at(
                ("kubelet",),
                "invalid Node Allocatable configuration. "
                + " ".join(errors)
                + " (a Windows kubelet would start with allocatable 0; hpsim refuses the node)",
                None,
            )

    @field_validator("os_build")
    @classmethod
    def _os_build(cls, v: str) -> str:
        if not _OS_BUILD_RE.match(v):
            raise ValueError(
                f"invalid osBuild {v!r}: expected 10.0.BUILD[.REVISION] such as 10.0.20348.2227"
            )
        return v

    @field_validator("kubernetes")
    @classmethod
    def _kubernetes(cls, v: str) -> str:
        version_tuple(v)
        return v

    @property
    def build(self) -> int:
        """The OS build number: 17763 (ltsc2019), 20348 (ltsc2022), 26100 (ltsc2025)."""
        return int(_OS_BUILD_RE.match(self.os_build).group(1))  # type: ignore[union-attr]

    @property
    def all_labels(self) -> dict[str, str]:
        """The labels kubelet sets on a Windows node, then the user's."""
        builtin = {
            "kubernetes.io/os": "windows",
            "kubernetes.io/arch": "amd64",
            "kubernetes.io/hostname": self.name,
            # kubelet sets node.kubernetes.io/windows-build to major.minor.build (KEP-1981 docs).
            "node.kubernetes.io/windows-build": ".".join(self.os_build.split(".")[:3]),
        }
        return {**builtin, **self.labels}


def eviction_hard(node: NodeSpec) -> dict[str, str]:
    """The node's evictionHard: its kubelet's setting, else the version's Windows default.

    ``0%`` and ``100%`` are left out: kubelet ignores them (k/k pkg/kubelet/eviction/helpers.go
    parseThresholdStatement, "ignore 0% and 100%").
    """
    hard = node.kubelet.eviction_hard
    if hard is None:
        return default_eviction_hard(node.kubernetes)
    return {k: v for k, v in hard.items() if v not in ("0%", "100%")}


@dataclass(frozen=True)
class Reservation:
    """What kubelet holds back from capacity: systemReserved + kubeReserved + the hard
    eviction threshold (k/k pkg/kubelet/cm/node_container_manager_linux.go
    GetNodeAllocatableReservation, pkg/kubelet/cm/helpers.go hardEvictionReservation)."""

    cpu_m: int
    memory: int
    ephemeral_storage: int


def node_reservation(node: NodeSpec) -> Reservation:
    """The node's reservation (the hard thresholds of memory.available and nodefs.available
    count against memory and ephemeral-storage)."""
    k = node.kubelet
    hard = eviction_hard(node)
    mem_hard = hard.get("memory.available")
    disk_hard = hard.get("nodefs.available")
    return Reservation(
        cpu_m=k.system_reserved.cpu + k.kube_reserved.cpu,
        memory=k.system_reserved.memory
        + k.kube_reserved.memory
        + (eviction_threshold_bytes(mem_hard, node.memory) if mem_hard is not None else 0),
        ephemeral_storage=k.system_reserved.ephemeral_storage
        + k.kube_reserved.ephemeral_storage
        + (eviction_threshold_bytes(disk_hard, node.disk) if disk_hard is not None else 0),
    )
