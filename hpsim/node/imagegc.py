"""kubelet's image garbage collection (k/k pkg/kubelet/images/image_gc_manager.go).

Every ``ImageGCPeriod`` (5 min) the kubelet detects images (first-detected
time for new ones, last-used = now for those any pod uses), then:

1. ``freeOldImages`` if imageMaximumGCAge > 0: unused images idle longer than it go.
2. usage% = 100 - available * 100 / capacity (integer math). At or above
   imageGCHighThresholdPercent it must free ``capacity * (100 - low) / 100 -
   available`` bytes: it walks unused, unpinned images least recently used
   first (first-detected breaks ties), skips those used at this detection and
   those younger than imageMinimumGCAge, and deletes until enough is freed.
3. Not enough: a FreeDiskSpaceFailed warning with the real message.

kubelet counts what it frees by the image's CRI size, which containerd reports
as the *compressed* size (internal/cri/store/image/image.go). Deleting really
frees the blobs and snapshots no other image shares. Both are kept: what
kubelet believed it freed, and what the volume got back.
"""

from __future__ import annotations

from collections.abc import Callable, Generator, Iterable
from dataclasses import dataclass

import simpy
from simpy.events import Process, Timeout

from hpsim.facts import Emitter, GCRecord
from hpsim.node.containerd import Containerd
from hpsim.node.storage import Volume
from hpsim.scenario.schema import KubeletConfig

IMAGE_GC_PERIOD_S = 300.0  # k/k pkg/kubelet/kubelet.go ImageGCPeriod


@dataclass
class ImageRecord:
    first_detected: float
    last_used: float


class ImageGC:
    """The image manager's view of images and its garbage collection."""

    def __init__(
        self,
        env: simpy.Environment,
        emit: Emitter,
        node_name: str,
        settings: KubeletConfig,
        *,
        containerd: Containerd,
        volume: Volume,
        in_use: Callable[[], Iterable[frozenset[str]]],
        pinned: set[str],
    ) -> None:
        """``in_use`` gives the image sets of the pods that still exist."""
        self.env = env
        self.emit = emit
        self.node_name = node_name
        self.containerd = containerd
        self.volume = volume
        self._pods_images = in_use
        self.pinned = pinned
        self.high = settings.image_gc_high_threshold_percent
        self.low = settings.image_gc_low_threshold_percent
        self.min_age = settings.image_minimum_gc_age
        self.max_age = settings.image_maximum_gc_age
        self.images: dict[str, ImageRecord] = {}

    def start(self) -> None:
        Process(self.env, self._loop())

    def _loop(self) -> Generator[simpy.Event, None, None]:
        while True:
            yield Timeout(self.env, IMAGE_GC_PERIOD_S)
            self.garbage_collect()

    def _in_use(self) -> set[str]:
        """Images referenced by the containers of pods that still exist."""
        used: set[str] = set()
        for images in self._pods_images():
            used.update(images)
        used.update(self.pinned)
        return used

    def detect(self, now: float) -> set[str]:
        in_use = self._in_use()
        present = self.containerd.images()
        images = self.images
        for ref in present:
            rec = images.get(ref)
            if rec is None:
                rec = images[ref] = ImageRecord(first_detected=now, last_used=0.0)
            if ref in in_use:
                rec.last_used = now
        if len(images) != len(present):
            for ref in set(images).difference(present):
                del images[ref]
        return in_use

    def _candidates(self, now: float, in_use: set[str]) -> list[str]:
        refs = [r for r in self.images if r not in in_use and r not in self.pinned]
        return sorted(
            refs, key=lambda r: (self.images[r].last_used, self.images[r].first_detected, r)
        )

    def _delete(self, ref: str, reason: str) -> int:
        now = self.env.now
        believed = self.containerd.image_size(ref)
        # containerd tells the volume what it freed (the node wires its facts there).
        content, snapshots = self.containerd.remove_image(ref)
        self.images.pop(ref, None)
        self.emit.gc(GCRecord(now, ref, reason, believed, content, snapshots))
        self.emit.image_removed(now, ref)
        self.emit.event(now, "Node", self.node_name, "ImageGCDeleted", f"deleted {ref}")
        return believed

    def free_space(self, amount: float, now: float, in_use: set[str]) -> int:
        """``freeSpace``: delete LRU images until kubelet believes ``amount`` is freed."""
        freed = 0
        for ref in self._candidates(now, in_use):
            if freed >= amount:
                break
            rec = self.images[ref]
            if rec.last_used >= now or now - rec.first_detected < self.min_age:
                continue
            freed += self._delete(ref, "space")
        return freed

    def garbage_collect(self) -> None:
        """One periodic pass (``GarbageCollect``)."""
        now = self.env.now
        self.emit.gc_run(now)
        in_use = self.detect(now)
        if self.max_age > 0:
            for ref in self._candidates(now, in_use):
                if now - self.images[ref].last_used > self.max_age:
                    self._delete(ref, "age")
        vol = self.volume
        capacity = int(vol.capacity)
        available = int(vol.available())
        usage = 100 - available * 100 // capacity
        if usage < self.high:
            return
        amount = capacity * (100 - self.low) // 100 - available
        freed = self.free_space(amount, now, in_use)
        if freed < amount:
            self.emit.event(
                now,
                "Node",
                self.node_name,
                "FreeDiskSpaceFailed",
                "Failed to garbage collect required amount of images. Attempted to free "
                f"{amount} bytes, but only found {freed} bytes eligible to free.",
                "Warning",
            )

    def delete_unused(self) -> int:
        """``DeleteUnusedImages`` (eviction's node-level reclaim): every eligible image."""
        now = self.env.now
        in_use = self.detect(now)
        return self.free_space(float("inf"), now, in_use)
