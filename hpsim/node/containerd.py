"""containerd on Windows: image pulls (download + unpack), content store and snapshots.

- Layers are blobs shared by digest: a blob already in the content store is
  not downloaded again, and a blob another pull is downloading is waited for.
- At most ``max_concurrent_downloads`` (3) layers of one image download at
  once (internal/cri/config/config_windows.go DefaultImageConfig, ref §5.2);
  every download in flight on the node shares the network rate equally.
- Layers are unpacked in order by the windows snapshotter, into a snapshot per
  *chain* (the layer and all below it, containerd's chain ID), so images on the
  same base share its unpacked snapshots. Unpack of layer i starts once layer i
  is downloaded and layer i-1 unpacked, at ``unpack_Bps`` of compressed input
  per image; on Windows it dominates pull time (ref §8.3).
- Compressed blobs stay after unpack unless discard_unpacked_layers (ref §5.1).

The network recomputes its shares only when the set of downloads changes.
"""

from __future__ import annotations

from collections.abc import Callable, Generator
from dataclasses import dataclass
from typing import Any

import simpy

DONE_EPS = 1e-6  # bytes


@dataclass(frozen=True)
class Layer:
    digest: str
    size: int  # compressed bytes
    unpacked: int  # bytes on disk once applied


@dataclass(frozen=True)
class Image:
    ref: str
    layers: tuple[Layer, ...]
    os_version: str | None = None

    @property
    def size(self) -> int:
        """Compressed size: what containerd's CRI reports as the image size."""
        return sum(layer.size for layer in self.layers)

    def chains(self) -> list[tuple[str, ...]]:
        """Chain identity of each layer: its digest and every digest below it."""
        digests = [layer.digest for layer in self.layers]
        return [tuple(digests[: i + 1]) for i in range(len(digests))]


@dataclass(frozen=True)
class PullResult:
    ref: str
    started: float
    downloaded: float
    finished: float
    bytes_downloaded: int
    bytes_unpacked: int


class _Network:
    """Equal shares of the node's bandwidth among downloads in flight."""

    def __init__(self, env: simpy.Environment, rate: float) -> None:
        self.env = env
        self.rate = rate
        self._left: dict[str, float] = {}
        self._done: dict[str, simpy.Event] = {}
        self._since = env.now
        self._generation = 0

    def download(self, digest: str, size: int) -> simpy.Event:
        self._advance()
        ev = self.env.event()
        self._left[digest] = float(size)
        self._done[digest] = ev
        self._reschedule()
        return ev

    def _advance(self) -> None:
        dt = self.env.now - self._since
        if dt > 0 and self._left:
            share = self.rate / len(self._left)
            for d in self._left:
                self._left[d] -= share * dt
        self._since = self.env.now

    def _reschedule(self) -> None:
        for d in [d for d, left in self._left.items() if left <= DONE_EPS]:
            del self._left[d]
            self._done.pop(d).succeed(self.env.now)
        self._generation += 1
        if not self._left:
            return
        share = self.rate / len(self._left)
        first = min(self._left.values())
        # The downloads due first finish when the timeout fires, whatever float
        # rounding left over: a residue would otherwise schedule a timeout that
        # no longer moves the clock.
        due = [d for d, left in self._left.items() if left == first]
        gen = self._generation
        self.env.timeout(first / share).callbacks.append(lambda _e: self._tick(gen, due))

    def _tick(self, generation: int, due: list[str]) -> None:
        if generation == self._generation:
            self._advance()
            for d in due:
                self._left[d] = 0.0
            self._reschedule()


class Containerd:
    """Pulls, the content store and the snapshot store of one node."""

    def __init__(
        self,
        env: simpy.Environment,
        *,
        network_Bps: float,
        unpack_Bps: float,
        max_concurrent_downloads: int = 3,
        discard_unpacked_layers: bool = False,
        on_fact: Callable[[str, dict[str, Any]], None] | None = None,
    ) -> None:
        self.env = env
        self.unpack_Bps = unpack_Bps
        self.max_concurrent_downloads = max_concurrent_downloads
        self.discard_unpacked_layers = discard_unpacked_layers
        self._on_fact = on_fact or (lambda kind, fields: None)
        self._net = _Network(env, network_Bps)
        self._blobs: dict[str, int] = {}  # digest -> bytes in the content store
        self._snapshots: dict[tuple[str, ...], int] = {}  # chain -> unpacked bytes
        self._downloading: dict[str, simpy.Event] = {}
        self._unpacking: dict[tuple[str, ...], simpy.Event] = {}
        self._images: dict[str, Image] = {}

    # -- queries ---------------------------------------------------------------------------------

    def has_image(self, ref: str) -> bool:
        return ref in self._images

    def images(self) -> list[str]:
        return list(self._images)

    def image_size(self, ref: str) -> int:
        return self._images[ref].size

    @property
    def content_bytes(self) -> int:
        return sum(self._blobs.values())

    @property
    def snapshot_bytes(self) -> int:
        return sum(self._snapshots.values())

    # -- pulling ---------------------------------------------------------------------------------

    def pull(self, image: Image) -> simpy.Process:
        """Pull ``image``; the process's value is a PullResult."""
        return self.env.process(self._pull(image))

    def _fetch(self, layer: Layer, counter: list[int]) -> Generator[simpy.Event, Any, None]:
        if layer.digest in self._blobs and layer.digest not in self._downloading:
            return
        ev = self._downloading.get(layer.digest)
        if ev is None:
            ev = self._net.download(layer.digest, layer.size)
            self._downloading[layer.digest] = ev
            counter[0] += layer.size
            yield ev
            del self._downloading[layer.digest]
            self._blobs[layer.digest] = layer.size
            self._on_fact("layer_downloaded", {"digest": layer.digest, "bytes": layer.size})
        else:
            yield ev

    def _downloads(
        self, image: Image, done: list[simpy.Event], counter: list[int]
    ) -> Generator[simpy.Event, Any, None]:
        """Fetch the image's layers in order, at most max_concurrent_downloads at once."""
        slots = simpy.Resource(self.env, capacity=self.max_concurrent_downloads)

        def one(layer: Layer, ev: simpy.Event) -> Generator[simpy.Event, Any, None]:
            with slots.request() as req:
                yield req
                yield from self._fetch(layer, counter)
            ev.succeed(self.env.now)

        for layer, ev in zip(image.layers, done, strict=True):
            self.env.process(one(layer, ev))
        yield self.env.all_of(done)

    def _pull(self, image: Image) -> Generator[simpy.Event, Any, PullResult]:
        started = self.env.now
        if image.ref in self._images:
            return PullResult(image.ref, started, started, started, 0, 0)
        downloaded_bytes = [0]
        unpacked_bytes = 0
        done = [self.env.event() for _ in image.layers]
        all_downloaded = self.env.process(self._downloads(image, done, downloaded_bytes))
        for layer, chain, ev in zip(image.layers, image.chains(), done, strict=True):
            yield ev
            if chain in self._snapshots:
                continue
            other = self._unpacking.get(chain)
            if other is not None:
                yield other
                continue
            mine = self.env.event()
            self._unpacking[chain] = mine
            yield self.env.timeout(layer.size / self.unpack_Bps)
            self._snapshots[chain] = layer.unpacked
            unpacked_bytes += layer.unpacked
            del self._unpacking[chain]
            mine.succeed()
            self._on_fact("layer_unpacked", {"chain": chain[-1], "bytes": layer.unpacked})
        yield all_downloaded
        downloaded_at = max((ev.value for ev in done), default=started)
        if self.discard_unpacked_layers:
            for layer in image.layers:
                if not any(layer in img.layers for img in self._images.values()):
                    self._blobs.pop(layer.digest, None)
        self._images[image.ref] = image
        self._on_fact("image_pulled", {"ref": image.ref})
        return PullResult(
            image.ref, started, downloaded_at, self.env.now, downloaded_bytes[0], unpacked_bytes
        )

    # -- removal -------------------------------------------------------------------------------

    def remove_image(self, ref: str) -> tuple[int, int]:
        """Delete an image; blobs and snapshots no other image uses are freed."""
        image = self._images.pop(ref)
        kept_digests = {lay.digest for img in self._images.values() for lay in img.layers}
        kept_chains = {c for img in self._images.values() for c in img.chains()}
        content = snap = 0
        for layer, chain in zip(image.layers, image.chains(), strict=True):
            if layer.digest not in kept_digests and layer.digest in self._blobs:
                content += self._blobs.pop(layer.digest)
            if chain not in kept_chains and chain in self._snapshots:
                snap += self._snapshots.pop(chain)
        self._on_fact("image_removed", {"ref": ref, "content": content, "snapshots": snap})
        return content, snap
