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

import math
from collections.abc import Callable, Iterable
from dataclasses import dataclass

import simpy

from hpsim.facts import Emitter, GCRecord
from hpsim.node.clock import GC_TICK_PRIORITY, SLACK_BYTES, Grid, Tick
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
        self._grid: Grid | None = None  # the passes' instants, once started
        self._taken = 0  # passes 1.._taken have run (or been caught up)
        self._generation = 0  # a scheduled pass of an older generation does nothing
        self._asleep = False  # passes after _taken are skipped until something changes
        self._used: set[str] = set()  # the images in use at the last pass taken

    # -- when to run ------------------------------------------------------------------------------
    #
    # A pass changes nothing but last-used times while no image comes or goes, no pod that
    # uses one comes or goes, usage stays under the high threshold and no unused image can
    # pass imageMaximumGCAge. Then the passes are skipped (hpsim.node.clock) and, when one
    # of those changes or at the end, caught up: counted, and the images the pods used at
    # the last pass taken get the last skipped pass's time as their last use -- what
    # each skipped pass would have set.

    def start(self) -> None:
        self._grid = Grid(self.env.now, IMAGE_GC_PERIOD_S)
        self._arm(1)

    def changed(self) -> None:
        """An image, a pod using one or the volume changed: skipped passes are caught up
        and the next one is taken."""
        if self._asleep and self._grid is not None:
            self._wake()

    def close(self) -> None:
        """The run ends now: the passes skipped before it are caught up."""
        if self._asleep and self._grid is not None:
            self._catch_up(self._grid.last_before(self.env.now))

    def retire(self) -> None:
        """The node is deleted: the passes skipped so far are caught up, and no pass
        comes after."""
        self.close()
        self._generation += 1
        self._grid = None
        self._asleep = False

    def _wake(self) -> None:
        grid = self._grid
        assert grid is not None
        # Passes at this instant came before whatever changed (they fire first).
        self._catch_up(grid.after(self.env.now) - 1)
        self._asleep = False
        self._arm(self._taken + 1)

    def _arm(self, k: int | None) -> None:
        self._generation += 1
        if k is None:
            return
        grid = self._grid
        assert grid is not None
        gen = self._generation
        Tick(self.env, grid.at(k), GC_TICK_PRIORITY).callbacks.append(lambda _e: self._tick(gen, k))

    def _tick(self, generation: int, k: int) -> None:
        if generation != self._generation:
            return
        self._catch_up(k - 1)
        self._asleep = False
        quiet = self.garbage_collect()
        self._taken = k
        nxt = self._next_pass(k) if quiet else k + 1
        self._asleep = nxt != k + 1
        self._arm(nxt)

    def _catch_up(self, k: int) -> None:
        """Passes ``_taken + 1 .. k`` were skipped: as if each had run."""
        n = k - self._taken
        if n <= 0:
            return
        grid = self._grid
        assert grid is not None
        at = grid.at(k)
        self.emit.gc_run(at, n)
        images = self.images
        for ref in self._used:
            rec = images.get(ref)
            if rec is not None:
                rec.last_used = at
        self._taken = k

    def _next_pass(self, k: int) -> int | None:
        """After a quiet pass ``k``: the first pass that can act (None: none until something
        changes)."""
        grid = self._grid
        assert grid is not None
        now = self.env.now
        nxt: float = math.inf  # a tick number, or never
        vol = self.volume
        rate = vol.slopes()[0]
        if rate > 0:
            # Usage reaches the high threshold once available < capacity * (101 - high) / 100
            # (the integer usage formula of garbage_collect), SLACK_BYTES early.
            room = vol.available() - vol.capacity * (101 - self.high) / 100 - SLACK_BYTES
            if room <= 0:
                return k + 1
            nxt = float(grid.from_(now + room / rate))
        if self.max_age > 0:
            unused = [
                rec.last_used
                for r, rec in self.images.items()
                if r not in self._used and r not in self.pinned
            ]
            if unused:
                # An image goes once idle *longer* than imageMaximumGCAge.
                # (one pass early against rounding: taking a pass early is exact).
                nxt = min(nxt, float(grid.after(min(unused) + self.max_age) - 1))
        return None if nxt == math.inf else max(k + 1, int(nxt))

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

    def garbage_collect(self) -> bool:
        """One periodic pass (``GarbageCollect``); True when it had nothing to free."""
        now = self.env.now
        self.emit.gc_run(now, 1)
        in_use = self._used = self.detect(now)
        if self.max_age > 0:
            for ref in self._candidates(now, in_use):
                if now - self.images[ref].last_used > self.max_age:
                    self._delete(ref, "age")
        vol = self.volume
        capacity = int(vol.capacity)
        available = int(vol.available())
        usage = 100 - available * 100 // capacity
        if usage < self.high:
            return True
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
        return False

    def delete_unused(self) -> int:
        """``DeleteUnusedImages`` (eviction's node-level reclaim): every eligible image."""
        if self._asleep:
            self._wake()
        now = self.env.now
        in_use = self.detect(now)
        return self.free_space(float("inf"), now, in_use)
