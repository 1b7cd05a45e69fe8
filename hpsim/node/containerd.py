"""containerd on Windows: image pulls (download + unpack), the content store and snapshots.

What the real components do, and where that comes from:

- Layers are blobs in the content store, keyed by digest and shared between images
  (containerd plugins/content/local/store.go). A blob already in the store is not
  fetched again. A blob another pull is fetching is waited for, not fetched twice:
  the unpacker locks ``blob://<digest>`` (containerd core/unpack/unpacker.go
  ``lockBlobDescriptor``), and the CRI plugin shares that lock between all pulls.
- At most ``max_concurrent_downloads`` (default 3) layers of *one image* download at
  once (internal/cri/config/config_windows.go ``DefaultImageConfig``).
  The unpacker takes a limiter slot per layer in manifest order. It keeps the slot
  while it waits for another pull's fetch of the same blob.
- All downloads in flight on the node share the network rate equally
  (processor sharing across layers and across images).
- The windows snapshotter applies each layer into a snapshot named by its chain ID:
  the layer and every layer below it (``identity.ChainID``). Images on the same base
  therefore share the unpacked base (plugins/snapshots/windows/windows.go
  ``parentIDsToParentPaths``). Layer i is applied once it is fetched and layer i-1
  is applied: one image's layers are applied one at a time, in every version
  (core/unpack/unpacker.go ``supportParallel``: parallel unpack needs the snapshotter's
  rebase capability, which the windows snapshotter does not declare). A chain that is
  already committed is skipped. A chain another pull is applying is waited for
  (``lockSnChainID``): the CRI plugin shares one lock set between its pulls
  (internal/cri/server/images/service.go ``unpackDuplicationSuppressor``;
  plugins/transfer/plugin.go for the 2.x transfer service).
- Applying a layer is hcsshim's import of its tar stream (pkg/archive/tar_opts_windows.go
  ``applyWindowsLayer`` -> hcsshim pkg/ociwclayer ``ImportLayerFromTar``): one goroutine
  reads the tar and, file by file, creates the file with backup semantics and writes it
  as a Win32 backup stream (internal/wclayer baseLayerWriter / legacyLayerWriter); a
  base layer is then processed (``ProcessBaseLayer``), a non-base layer written to a
  temporary folder first and imported (``ImportLayer``). On Windows this step dominates
  pull time (containerd/containerd#4989). It runs at ``unpack_Bps`` bytes of compressed
  input per second for the node as a whole: the applies in flight (of different chains)
  share it equally, as downloads share the link. containerd/containerd#11451: the same
  image pulled by two ``ctr`` clients at once took 38m36s for both, against 19m02s for
  one pull alone; ctr's local unpack takes no chain lock (client/image.go ``Unpack``
  calls rootfs ``ApplyLayerWithOpts`` layer by layer), so both applied every layer.
- Fetching starts at the first layer whose chain is not yet a snapshot. The layers
  below it are neither fetched nor applied: ``unpack`` starts ``fetch(layers[i:])``
  at the first ``Prepare`` that does not return AlreadyExists. Here that layer is
  chosen when the pull starts, not after waiting for chains that other pulls are
  applying.
- Compressed blobs stay after unpack unless ``discard_unpacked_layers`` is set
  (internal/cri/config/config.go). A CRI pull runs under a lease, so blobs
  that a pull still in flight uses are kept until that pull ends.
- Removing an image frees the blobs and snapshots that no other image and no pull in
  flight references. This is the end state of containerd's GC after an image delete.

What can make a pull fail (``PullResult.error``), in the order containerd meets it:

- the registry is down: the resolve is answered 503 (hpsim.node.registry);
- the reference names a manifest list and no Windows entry matches the host
  (hpsim.node.platforms): "no match for platform in manifest", before any layer moves;
- the volume cannot hold what the pull would add: the first layer that does not fit
  fails to extract ("There is not enough space on the disk."), checked up front;
- no byte arrives for ``image_pull_progress_timeout`` while the pull has downloads open:
  the CRI's progress reporter checks every 10 s (``defaultPullProgressReportInterval``,
  half the timeout when that is under 10 s) and cancels the pull once the time since
  the last check that saw progress exceeds the timeout (internal/cri/server/images/
  image_pull.go ``pullProgressReporter.start``, ``transferProgressReporter``). Bytes flow
  whenever the link has a rate, so only a registry outage stalls a pull; the check that
  last saw progress is the first at or after the stall began (the reporter's ticks run
  from the pull's start). The cancelled pull's own downloads and layer apply stop;
  blobs it stored and chains it applied stay for the next attempt (the next pull finds
  them; containerd's GC might remove them first once the pull's lease is gone, which
  hpsim does not model), partial downloads are lost. Another pull waiting on one of its
  downloads or applies takes it over.
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Callable, Generator
from dataclasses import dataclass
from functools import cached_property
from typing import Any, cast

import numpy as np
import simpy
from simpy.events import Event, Process, Timeout
from simpy.exceptions import Interrupt

from hpsim.node.platforms import no_match_error
from hpsim.node.registry import Registry, cancelled_error, not_found_error, unavailable_error

DONE_EPS = 1e-6  # bytes: a download with no more than this left has finished
# internal/cri/server/images/image_pull.go defaultPullProgressReportInterval.
PROGRESS_REPORT_INTERVAL_S = 10.0
_TICK_EPS = 1e-9  # a time this close to a reporter tick is on it (float rounding)

Fact = Callable[[str, dict[str, Any]], None]


@dataclass(frozen=True)
class Layer:
    digest: str
    size: int  # compressed bytes: what is downloaded and kept in the content store
    unpacked: int  # bytes of the snapshot once applied


@dataclass(frozen=True)
class Image:
    ref: str
    layers: tuple[Layer, ...]
    os_version: str | None = None
    # Published as a manifest list whose Windows entry has ``os_version`` as its platform
    # OSVersion: containerd's platform matcher chooses (or refuses) it at pull time.
    manifest_list: bool = False

    @property
    def size(self) -> int:
        """Compressed size: what containerd's CRI reports as the image size."""
        return sum(layer.size for layer in self.layers)

    @cached_property
    def chain_ids(self) -> tuple[str, ...]:
        """The snapshot key of each layer, as in containerd's ``identity.ChainIDs``.

        ChainID(L0) = L0 and ChainID(L0..Ln) = sha256(ChainID(L0..Ln-1) + " " + Ln).
        containerd hashes the uncompressed diff IDs. Each layer has exactly one diff ID,
        so the layer digest can take its place.
        """
        ids: list[str] = []
        for layer in self.layers:
            if not ids:
                ids.append(layer.digest)
            else:
                text = f"{ids[-1]} {layer.digest}".encode()
                ids.append("sha256:" + hashlib.sha256(text).hexdigest())
        return tuple(ids)


@dataclass(frozen=True)
class PullError:
    """Why containerd's CRI refused or gave up a pull: the gRPC code kubelet gets
    (containerd errdefs ``ToGRPC``) and containerd's message."""

    code: str
    message: str

    def rpc(self) -> str:
        """As kubelet prints a CRI error (a gRPC status)."""
        return f"rpc error: code = {self.code} desc = {self.message}"


@dataclass(frozen=True)
class PullResult:
    ref: str
    started: float
    downloaded: float  # when the last of its layers was in the content store
    finished: float
    bytes_downloaded: int  # compressed bytes this pull fetched itself
    bytes_unpacked: int  # snapshot bytes this pull applied itself
    unpack_s: float = 0.0  # seconds this pull spent applying layers itself
    error: PullError | None = None  # None: the image is in the store


@dataclass
class _Work:
    """What one pull did itself, as opposed to what it found or waited for."""

    downloaded: int = 0
    unpacked: int = 0
    unpack_s: float = 0.0


class _Shared:
    """A rate shared equally by the jobs in flight (processor sharing).

    The node's link is one, shared by the downloads in flight; the node's layer
    extraction is another, shared by the layer applies in flight. The rate may change
    (a throttled or unreachable registry) and may be 0: then nothing moves.
    """

    def __init__(self, env: simpy.Environment, rate: float) -> None:
        self._env = env
        self._rate = rate
        self._left: dict[int, float] = {}  # job -> bytes still to go
        self._done: dict[int, simpy.Event] = {}
        self._key_of: dict[simpy.Event, int] = {}
        self._next_key = 0
        self._since = env.now
        self._generation = 0

    @property
    def rate(self) -> float:
        return self._rate

    def transfer(self, size: float) -> simpy.Event:
        """An event that succeeds once ``size`` bytes (of work: a slow pull's are more) have
        gone through."""
        self._settle()
        key = self._next_key
        self._next_key += 1
        self._left[key] = float(size)
        self._done[key] = done = Event(self._env)
        self._key_of[done] = key
        self._reschedule()
        return done

    def cancel(self, done: simpy.Event) -> None:
        """Stop the transfer whose event is ``done`` (it never succeeds)."""
        key = self._key_of.pop(done, None)
        if key is None:
            return
        self._settle()
        del self._left[key]
        del self._done[key]
        self._reschedule()

    def set_rate(self, rate: float) -> None:
        self._settle()
        self._rate = rate
        self._reschedule()

    def _settle(self) -> None:
        # Every job has had the same share since the set of jobs (or the rate) last changed.
        if self._left:
            progress = (self._env.now - self._since) * self._rate / len(self._left)
            if progress:
                for key in self._left:
                    self._left[key] -= progress
        self._since = self._env.now

    def _reschedule(self) -> None:
        if self._left:
            share = self._rate / len(self._left)
            now = self._env.now
            # A remainder too small to move the float clock counts as done; if it did not,
            # it would schedule zero-length timeouts forever.
            finished = [
                k
                for k, b in self._left.items()
                if b <= DONE_EPS or (share > 0 and now + b / share <= now)
            ]
            for key in finished:
                del self._left[key]
                done = self._done.pop(key)
                del self._key_of[done]
                done.succeed(now)
        # A new generation makes the timeout scheduled before it stale.
        self._generation += 1
        if self._left and self._rate > 0:
            share = self._rate / len(self._left)
            generation = self._generation
            wake = Timeout(self._env, min(self._left.values()) / share)
            wake.callbacks.append(lambda _event: self._wake(generation))

    def _wake(self, generation: int) -> None:
        if generation == self._generation:
            self._settle()
            self._reschedule()


class _Job:
    """One CRI pull in flight: what its progress reporter watches and a cancel undoes."""

    def __init__(self, image: Image, started: float) -> None:
        self.image = image
        self.started = started
        self.work = _Work()
        self.fetches: list[simpy.Process] = []
        self.process: simpy.Process | None = None
        self.active = 0  # its own downloads open (the reporter's activeReqs)
        self.stalled = False  # downloads open and no byte arriving
        self.watch = 0  # a scheduled cancel of an older generation does nothing
        # Its factor on download and extraction work (NodeSpec.pull_spread): 1 at the
        # node's rates.
        self.slowness = 1.0
        # (chain ID, extraction transfer, chain lock) of the layer it is applying itself
        self.applying: tuple[str, simpy.Event, simpy.Event] | None = None


class Containerd:
    """The pulls, content store and snapshots of one node's containerd."""

    def __init__(
        self,
        env: simpy.Environment,
        *,
        network_Bps: float,
        unpack_Bps: float,
        max_concurrent_downloads: int = 3,
        discard_unpacked_layers: bool = False,
        on_fact: Fact | None = None,
        version: str = "1.7.22",
        platform: Callable[[str | None], bool] | None = None,
        progress_timeout_s: float = 0.0,
        room: Callable[[int], bool] | None = None,
        registry: Registry | None = None,
        spread: float = 0.0,
        spread_rng: np.random.Generator | None = None,
    ) -> None:
        """``platform`` says whether a manifest list's Windows entry of an OS version
        matches the host (None: every entry does); ``progress_timeout_s`` is
        image_pull_progress_timeout (0: none); ``room`` whether the volume can take so
        many more bytes; ``registry`` the registry's state (None: always up);
        ``spread`` the lognormal sigma of each pull's factor on its work, drawn from
        ``spread_rng`` (NodeSpec.pull_spread; none drawn when 0)."""
        if network_Bps <= 0 or unpack_Bps <= 0:
            raise ValueError("network_Bps and unpack_Bps must be positive")
        if max_concurrent_downloads < 1:
            raise ValueError("max_concurrent_downloads must be at least 1")
        self._env = env
        self._spread = spread
        self._spread_rng = spread_rng
        if spread > 0 and spread_rng is None:
            raise ValueError("a pull spread needs its random stream")
        self._network = network_Bps
        self._net = _Shared(env, network_Bps)
        self._extract = _Shared(env, unpack_Bps)
        self._max_downloads = max_concurrent_downloads
        self._discard = discard_unpacked_layers
        self._fact: Fact = on_fact or (lambda kind, fields: None)
        self._version = version
        self._platform = platform
        self._timeout = progress_timeout_s
        self._room = room
        self._registry = registry
        self._images: dict[str, Image] = {}
        self._sizes: dict[str, int] = {}  # the same images' compressed sizes (image_sizes)
        self._blobs: dict[str, int] = {}  # digest -> compressed bytes
        self._snapshots: dict[str, int] = {}  # chain ID -> unpacked bytes
        self._fetching: dict[str, simpy.Event] = {}  # digest -> lock of its download in flight
        self._applying: dict[str, simpy.Event] = {}  # chain ID -> lock of its unpack in flight
        self._leases: list[Image] = []  # images being pulled: their content is in use
        self._jobs: list[_Job] = []

    # -- queries ---------------------------------------------------------------------------

    def has_image(self, ref: str) -> bool:
        return ref in self._images

    def images(self) -> list[str]:
        return list(self._images)

    def image_size(self, ref: str) -> int:
        """Compressed size, as the CRI reports it (not the disk the image takes)."""
        return self._images[ref].size

    def image_sizes(self) -> dict[str, int]:
        """Every image in the store with its :meth:`image_size`; read only (the scheduler
        reads it for every node it scores)."""
        return self._sizes

    def missing_bytes(self, image: Image) -> int:
        """Bytes a pull of ``image`` would add: blobs not in the store + snapshots not applied."""
        blobs = sum(lay.size for lay in image.layers if lay.digest not in self._blobs)
        snaps = sum(
            lay.unpacked
            for lay, chain in zip(image.layers, image.chain_ids, strict=True)
            if chain not in self._snapshots
        )
        return (0 if self._discard else blobs) + snaps

    def held(self) -> tuple[frozenset[str], frozenset[str]]:
        """The blobs (layer digests) and snapshots (chain IDs) in the store now: what a
        pull would not fetch or apply again (a copy: reading it changes nothing)."""
        return frozenset(self._blobs), frozenset(self._snapshots)

    @property
    def discards_unpacked_layers(self) -> bool:
        """``discard_unpacked_layers``: blobs are deleted once their image is unpacked."""
        return self._discard

    @property
    def content_bytes(self) -> int:
        return sum(self._blobs.values())

    @property
    def snapshot_bytes(self) -> int:
        return sum(self._snapshots.values())

    # -- the node image ----------------------------------------------------------------------

    def preload(self, image: Image) -> None:
        """An image the node image ships with, in the store before anything runs (no fact:
        the node builds its volume after, and the volume reads the store then)."""
        for layer, chain in zip(image.layers, image.chain_ids, strict=True):
            if not self._discard:
                self._blobs[layer.digest] = layer.size
            self._snapshots[chain] = layer.unpacked
        self._images[image.ref] = image
        self._sizes[image.ref] = image.size

    # -- the registry ----------------------------------------------------------------------

    def registry_changed(self) -> None:
        """The registry went down or came back, or its throttle changed."""
        reg = self._registry
        cap = reg.rate_cap if reg is not None else None
        rate = 0.0 if reg is not None and reg.down else min(self._network, cap or math.inf)
        if rate != self._net.rate:
            self._net.set_rate(rate)
            for job in self._jobs:
                self._watch(job)

    def resolve_error(self, ref: str) -> PullError:
        """Why a pull of an image the registry does not have fails: the registry is down
        (503), or it answers NotFound (``not_found_error``)."""
        if self._registry is not None and self._registry.down:
            return PullError("Unknown", self._unavailable(ref))
        message = not_found_error(ref, self._version, discard_unpacked_layers=self._discard)
        return PullError("NotFound", message)

    def _unavailable(self, ref: str) -> str:
        return unavailable_error(ref, self._version, discard_unpacked_layers=self._discard)

    # -- pulling ---------------------------------------------------------------------------

    def pull(self, image: Image) -> simpy.Process:
        """Pull ``image``. The process's value is a PullResult."""
        return Process(self._env, self._pull(image))

    def check(self, image: Image) -> PullError | None:
        """What fails a pull of ``image`` before any byte moves, if anything: the registry
        down (resolving comes first, even for an image the store holds), no manifest-list
        entry for this host, no room on the volume for what the pull would add."""
        ref = image.ref
        if self._registry is not None and self._registry.down:
            return PullError("Unknown", self._unavailable(ref))
        platform = self._platform
        if image.manifest_list and platform is not None and not platform(image.os_version):
            return PullError("NotFound", no_match_error(ref))
        # Checked up front: the first layer that does not fit fails the pull.
        room = self._room
        if ref not in self._images and room is not None and not room(self.missing_bytes(image)):
            return PullError(
                "Unknown",
                f'failed to pull and unpack image "{ref}": failed to extract layer: '
                "There is not enough space on the disk.",
            )
        return None

    def _pull(self, image: Image) -> Generator[simpy.Event, Any, PullResult]:
        started = self._env.now
        ref = image.ref
        error = self.check(image)
        if error is not None:
            return PullResult(ref, started, started, started, 0, 0, error=error)
        if ref in self._images:
            return PullResult(ref, started, started, started, 0, 0)
        job = _Job(image, started)
        if self._spread > 0:
            assert self._spread_rng is not None
            job.slowness = math.exp(self._spread * float(self._spread_rng.standard_normal()))
        job.process = self._env.active_process
        self._jobs.append(job)
        self._leases.append(image)
        chains = image.chain_ids
        first = next((i for i, c in enumerate(chains) if c not in self._snapshots), len(chains))
        todo = list(zip(image.layers[first:], chains[first:], strict=True))
        slots = simpy.Resource(self._env, capacity=self._max_downloads)
        fetched = [Event(self._env) for _ in todo]
        for (layer, _chain), done in zip(todo, fetched, strict=True):
            job.fetches.append(Process(self._env, self._fetch(job, layer, slots, done)))
        try:
            for (layer, chain), done in zip(todo, fetched, strict=True):
                yield done
                yield from self._apply(job, layer, chain)
        except Interrupt:
            self._abandon(job)
            return PullResult(
                ref=ref,
                started=started,
                downloaded=self._env.now,
                finished=self._env.now,
                bytes_downloaded=job.work.downloaded,
                bytes_unpacked=job.work.unpacked,
                unpack_s=job.work.unpack_s,
                error=PullError("Canceled", cancelled_error(ref)),
            )
        self._jobs.remove(job)
        self._leases.remove(image)
        self._images[ref] = image
        self._sizes[ref] = image.size
        if self._discard:
            self._discard_blobs(image)
        work = job.work
        result = PullResult(
            ref=ref,
            started=started,
            downloaded=max((cast(float, done.value) for done in fetched), default=started),
            finished=self._env.now,
            bytes_downloaded=work.downloaded,
            bytes_unpacked=work.unpacked,
            unpack_s=work.unpack_s,
        )
        self._fact(
            "image_pulled",
            {
                "ref": ref,
                "started": started,
                "bytes_downloaded": work.downloaded,
                "bytes_unpacked": work.unpacked,
            },
        )
        return result

    def _fetch(
        self, job: _Job, layer: Layer, slots: simpy.Resource, done: simpy.Event
    ) -> Generator[simpy.Event, Any, None]:
        digest = layer.digest
        mine: tuple[simpy.Event, simpy.Event] | None = None  # (transfer, lock) of its own fetch
        try:
            with slots.request() as slot:
                yield slot
                while digest not in self._blobs:
                    lock = self._fetching.get(digest)
                    if lock is not None:
                        yield lock  # False: that fetch was abandoned; look again
                        continue
                    self._fetching[digest] = lock = Event(self._env)
                    transfer = self._net.transfer(layer.size * job.slowness)
                    mine = (transfer, lock)
                    self._opened(job, 1)
                    yield transfer
                    mine = None
                    self._opened(job, -1)
                    del self._fetching[digest]
                    self._blobs[digest] = layer.size
                    job.work.downloaded += layer.size
                    self._fact(
                        "layer_downloaded",
                        {"ref": job.image.ref, "digest": digest, "bytes": layer.size},
                    )
                    lock.succeed(True)
            done.succeed(self._env.now)
        except Interrupt:
            if mine is not None:
                transfer, lock = mine
                self._net.cancel(transfer)
                del self._fetching[digest]
                self._opened(job, -1)
                lock.succeed(False)

    def _apply(self, job: _Job, layer: Layer, chain: str) -> Generator[simpy.Event, Any, None]:
        while chain not in self._snapshots:
            lock = self._applying.get(chain)
            if lock is not None:
                yield lock  # False: that apply was abandoned; look again
                continue
            self._applying[chain] = lock = Event(self._env)
            started = self._env.now
            transfer = self._extract.transfer(layer.size * job.slowness)
            job.applying = (chain, transfer, lock)
            yield transfer
            job.applying = None
            del self._applying[chain]
            self._snapshots[chain] = layer.unpacked
            job.work.unpacked += layer.unpacked
            job.work.unpack_s += self._env.now - started
            self._fact(
                "layer_unpacked",
                {
                    "ref": job.image.ref,
                    "digest": layer.digest,
                    "chain_id": chain,
                    "bytes": layer.unpacked,
                    "compressed_bytes": layer.size,
                },
            )
            lock.succeed(True)

    def _abandon(self, job: _Job) -> None:
        """The pull was cancelled: its downloads and its apply stop, its lease goes."""
        for proc in job.fetches:
            if proc.is_alive:
                proc.interrupt("cancelled")
        if job.applying is not None:
            chain, transfer, lock = job.applying
            job.applying = None
            self._extract.cancel(transfer)
            del self._applying[chain]
            lock.succeed(False)
        self._jobs.remove(job)
        self._leases.remove(job.image)
        self._fact("pull_cancelled", {"ref": job.image.ref})

    # -- the progress reporter -------------------------------------------------------------

    def _opened(self, job: _Job, change: int) -> None:
        job.active += change
        self._watch(job)

    def _watch(self, job: _Job) -> None:
        """Schedule (or drop) the cancel of a pull whose open downloads get no bytes."""
        stalled = job.active > 0 and self._net.rate <= 0
        if stalled == job.stalled:
            return
        job.stalled = stalled
        job.watch += 1
        if not stalled or self._timeout <= 0:
            return
        timeout = self._timeout
        interval = (
            PROGRESS_REPORT_INTERVAL_S if timeout >= PROGRESS_REPORT_INTERVAL_S else timeout / 2
        )
        now = self._env.now
        # The first tick at or after the stall saw the last bytes; cancel at the first tick
        # after it that is more than the timeout later.
        seen = job.started + math.ceil((now - job.started) / interval - _TICK_EPS) * interval
        ticks = math.floor(timeout / interval + _TICK_EPS) + 1
        generation = job.watch
        Timeout(self._env, seen + ticks * interval - now).callbacks.append(
            lambda _e: self._timed_out(job, generation)
        )

    def _timed_out(self, job: _Job, generation: int) -> None:
        if generation == job.watch and job in self._jobs and job.process is not None:
            job.process.interrupt("no progress")

    def _discard_blobs(self, image: Image) -> None:
        in_use = {layer.digest for img in self._leases for layer in img.layers}
        for layer in image.layers:
            if layer.digest not in in_use:
                self._blobs.pop(layer.digest, None)

    # -- removal ---------------------------------------------------------------------------

    def remove_image(self, ref: str) -> tuple[int, int]:
        """Delete an image. Returns (content_bytes_freed, snapshot_bytes_freed)."""
        image = self._images.pop(ref)
        del self._sizes[ref]
        holders = [*self._images.values(), *self._leases]
        kept_blobs = {layer.digest for img in holders for layer in img.layers}
        kept_chains = {chain for img in holders for chain in img.chain_ids}
        content = snapshots = 0
        for layer, chain in zip(image.layers, image.chain_ids, strict=True):
            if layer.digest not in kept_blobs:
                content += self._blobs.pop(layer.digest, 0)
            if chain not in kept_chains:
                snapshots += self._snapshots.pop(chain, 0)
        self._fact(
            "image_removed",
            {"ref": ref, "content_bytes_freed": content, "snapshot_bytes_freed": snapshots},
        )
        return content, snapshots
