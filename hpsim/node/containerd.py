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
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Generator
from dataclasses import dataclass
from functools import cached_property
from typing import Any, cast

import simpy
from simpy.events import Event, Process, Timeout

DONE_EPS = 1e-6  # bytes: a download with no more than this left has finished

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
class PullResult:
    ref: str
    started: float
    downloaded: float  # when the last of its layers was in the content store
    finished: float
    bytes_downloaded: int  # compressed bytes this pull fetched itself
    bytes_unpacked: int  # snapshot bytes this pull applied itself
    unpack_s: float = 0.0  # seconds this pull spent applying layers itself


@dataclass
class _Work:
    """What one pull did itself, as opposed to what it found or waited for."""

    downloaded: int = 0
    unpacked: int = 0
    unpack_s: float = 0.0


class _Shared:
    """A rate shared equally by the jobs in flight (processor sharing).

    The node's link is one, shared by the downloads in flight; the node's layer
    extraction is another, shared by the layer applies in flight.
    """

    def __init__(self, env: simpy.Environment, rate: float) -> None:
        self._env = env
        self._rate = rate
        self._left: dict[int, float] = {}  # job -> bytes still to go
        self._done: dict[int, simpy.Event] = {}
        self._next_key = 0
        self._since = env.now
        self._generation = 0

    def transfer(self, size: int) -> simpy.Event:
        """An event that succeeds once ``size`` bytes have gone through."""
        self._settle()
        key = self._next_key
        self._next_key += 1
        self._left[key] = float(size)
        self._done[key] = done = Event(self._env)
        self._reschedule()
        return done

    def _settle(self) -> None:
        # Every job has had the same share since the set of jobs last changed.
        if self._left:
            progress = (self._env.now - self._since) * self._rate / len(self._left)
            for key in self._left:
                self._left[key] -= progress
        self._since = self._env.now

    def _reschedule(self) -> None:
        if self._left:
            share = self._rate / len(self._left)
            now = self._env.now
            # A remainder too small to move the float clock counts as done; if it did not,
            # it would schedule zero-length timeouts forever.
            finished = [k for k, b in self._left.items() if b <= DONE_EPS or now + b / share <= now]
            for key in finished:
                del self._left[key]
                self._done.pop(key).succeed(now)
        # A new generation makes the timeout scheduled before it stale.
        self._generation += 1
        if self._left:
            share = self._rate / len(self._left)
            generation = self._generation
            wake = Timeout(self._env, min(self._left.values()) / share)
            wake.callbacks.append(lambda _event: self._wake(generation))

    def _wake(self, generation: int) -> None:
        if generation == self._generation:
            self._settle()
            self._reschedule()


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
    ) -> None:
        if network_Bps <= 0 or unpack_Bps <= 0:
            raise ValueError("network_Bps and unpack_Bps must be positive")
        if max_concurrent_downloads < 1:
            raise ValueError("max_concurrent_downloads must be at least 1")
        self._env = env
        self._net = _Shared(env, network_Bps)
        self._extract = _Shared(env, unpack_Bps)
        self._max_downloads = max_concurrent_downloads
        self._discard = discard_unpacked_layers
        self._fact: Fact = on_fact or (lambda kind, fields: None)
        self._images: dict[str, Image] = {}
        self._blobs: dict[str, int] = {}  # digest -> compressed bytes
        self._snapshots: dict[str, int] = {}  # chain ID -> unpacked bytes
        self._fetching: dict[str, simpy.Event] = {}  # digest -> its download in flight
        self._applying: dict[str, simpy.Event] = {}  # chain ID -> its unpack in flight
        self._leases: list[Image] = []  # images being pulled: their content is in use

    # -- queries ---------------------------------------------------------------------------

    def has_image(self, ref: str) -> bool:
        return ref in self._images

    def images(self) -> list[str]:
        return list(self._images)

    def image_size(self, ref: str) -> int:
        """Compressed size, as the CRI reports it (not the disk the image takes)."""
        return self._images[ref].size

    def missing_bytes(self, image: Image) -> int:
        """Bytes a pull of ``image`` would add: blobs not in the store + snapshots not applied."""
        blobs = sum(lay.size for lay in image.layers if lay.digest not in self._blobs)
        snaps = sum(
            lay.unpacked
            for lay, chain in zip(image.layers, image.chain_ids, strict=True)
            if chain not in self._snapshots
        )
        return (0 if self._discard else blobs) + snaps

    @property
    def content_bytes(self) -> int:
        return sum(self._blobs.values())

    @property
    def snapshot_bytes(self) -> int:
        return sum(self._snapshots.values())

    # -- pulling ---------------------------------------------------------------------------

    def pull(self, image: Image) -> simpy.Process:
        """Pull ``image``. The process's value is a PullResult."""
        return Process(self._env, self._pull(image))

    def _pull(self, image: Image) -> Generator[simpy.Event, Any, PullResult]:
        started = self._env.now
        if image.ref in self._images:
            return PullResult(image.ref, started, started, started, 0, 0)
        self._leases.append(image)
        chains = image.chain_ids
        first = next((i for i, c in enumerate(chains) if c not in self._snapshots), len(chains))
        todo = list(zip(image.layers[first:], chains[first:], strict=True))
        work = _Work()
        slots = simpy.Resource(self._env, capacity=self._max_downloads)
        fetched = [Event(self._env) for _ in todo]
        for (layer, _chain), done in zip(todo, fetched, strict=True):
            Process(self._env, self._fetch(image.ref, layer, slots, done, work))
        for (layer, chain), done in zip(todo, fetched, strict=True):
            yield done
            yield from self._apply(image.ref, layer, chain, work)
        self._leases.remove(image)
        self._images[image.ref] = image
        if self._discard:
            self._discard_blobs(image)
        result = PullResult(
            ref=image.ref,
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
                "ref": image.ref,
                "started": started,
                "bytes_downloaded": work.downloaded,
                "bytes_unpacked": work.unpacked,
            },
        )
        return result

    def _fetch(
        self, ref: str, layer: Layer, slots: simpy.Resource, done: simpy.Event, work: _Work
    ) -> Generator[simpy.Event, Any, None]:
        with slots.request() as slot:
            yield slot
            if layer.digest not in self._blobs:
                inflight = self._fetching.get(layer.digest)
                if inflight is not None:
                    yield inflight
                else:
                    inflight = self._net.transfer(layer.size)
                    self._fetching[layer.digest] = inflight
                    yield inflight
                    # This process waited first, so the blob is stored before any waiter resumes.
                    del self._fetching[layer.digest]
                    self._blobs[layer.digest] = layer.size
                    work.downloaded += layer.size
                    self._fact(
                        "layer_downloaded",
                        {"ref": ref, "digest": layer.digest, "bytes": layer.size},
                    )
        done.succeed(self._env.now)

    def _apply(
        self, ref: str, layer: Layer, chain: str, work: _Work
    ) -> Generator[simpy.Event, Any, None]:
        if chain in self._snapshots:
            return
        inflight = self._applying.get(chain)
        if inflight is not None:
            yield inflight
            return
        self._applying[chain] = mine = Event(self._env)
        started = self._env.now
        yield self._extract.transfer(layer.size)
        del self._applying[chain]
        self._snapshots[chain] = layer.unpacked
        work.unpacked += layer.unpacked
        work.unpack_s += self._env.now - started
        self._fact(
            "layer_unpacked",
            {
                "ref": ref,
                "digest": layer.digest,
                "chain_id": chain,
                "bytes": layer.unpacked,
                "compressed_bytes": layer.size,
            },
        )
        mine.succeed()

    def _discard_blobs(self, image: Image) -> None:
        in_use = {layer.digest for img in self._leases for layer in img.layers}
        for layer in image.layers:
            if layer.digest not in in_use:
                self._blobs.pop(layer.digest, None)

    # -- removal ---------------------------------------------------------------------------

    def remove_image(self, ref: str) -> tuple[int, int]:
        """Delete an image. Returns (content_bytes_freed, snapshot_bytes_freed)."""
        image = self._images.pop(ref)
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
