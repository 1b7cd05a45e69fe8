"""The C: volume: bytes by owner, and the two views of them.

One ledger, two views (DESIGN.md):

- *actual*: what the volume holds. The OS install; containerd's content store
  (compressed blobs, kept after unpack, containerd internal/cri/config/config.go
  ``discard_unpacked_layers``) and unpacked snapshots; each container's scratch
  ``sandbox.vhdx`` (grows with writes inside the container's rootfs up to the
  scratch size, default 20 GB, hcsshim cmd/containerd-shim-runhcs-v1/options/runhcs.proto
  ``default_container_scratch_size_in_gb``);
  container logs (rotated at containerLogMaxSize x containerLogMaxFiles);
  emptyDir volumes; and writes to host paths (C:\\ProgramData, C:\\var\\log,
  hostPath volumes), which a HostProcess container makes straight to NTFS.
- *accounted*: what kubelet sees. imagefs ``usedBytes`` comes from
  containerd's ImageFsInfo, which sums snapshots and leaves the content store
  out (containerd internal/cri/server/images/imagefs_info.go "TODO: Handle
  storage consumed by content store"); a pod's ephemeral storage is its
  writable layer + logs + volumes (k/k pkg/kubelet/stats/helper.go). Host-path
  writes and the OS are in neither.

Writers grow linearly between changes; the ledger computes the next instant
a writer meets its cap or the volume fills, and waits for exactly that.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Hashable, Iterable
from dataclasses import dataclass
from typing import NamedTuple

import simpy
from simpy.events import Timeout

# The node's writer keys: (pod uid, container, owner, instance or None), see hpsim.node.kubelet.
WriterKey = tuple[int, str, str, int | None]

OWNERS = ("os", "content_store", "snapshots", "scratch", "logs", "empty_dir", "host_writes")
ACCOUNTED = ("snapshots", "scratch", "logs", "empty_dir")
WRITER_OWNERS = ("scratch", "logs", "empty_dir", "host_writes")


class Written(NamedTuple):
    """What one writer wrote: its key, owner, first write time and bytes."""

    key: Hashable
    owner: str
    first: float
    bytes: float


@dataclass(slots=True)
class _Writer:
    owner: str
    pod: int  # pod uid: whose ephemeral storage this is
    rate: float  # effective: 0 while the volume is full or the writer at its cap
    cap: float
    bytes: float
    since: float
    first: float  # when it started writing
    want: float = 0.0  # what the process writes when it can

    def value(self, now: float) -> float:
        return min(self.cap, self.bytes + self.rate * (now - self.since))

    def settle(self, now: float) -> None:
        self.bytes = self.value(now)
        self.since = now


class Volume:
    """The node's C: volume."""

    def __init__(
        self,
        env: simpy.Environment,
        capacity: float,
        os_bytes: float,
        images: Callable[[], tuple[float, float]],
        on_change: Callable[[Volume], None] | None = None,
        on_full: Callable[[], None] | None = None,
    ) -> None:
        self.env = env
        self.capacity = float(capacity)
        self.os_bytes = float(os_bytes)
        self._images = images  # () -> (content store bytes, snapshot bytes)
        # Read when containerd says they changed (images_changed), not on every query.
        self._image_bytes = tuple(float(b) for b in images())
        self._version = 0  # counts changes: keys the actual() cache
        # actual() as of a version, while no writer grows: (version, bytes)
        self._actual: tuple[int, float] = (-1, 0.0)
        self._slopes: tuple[int, bool, tuple[float, float]] = (-1, False, (0.0, 0.0))
        self._on_change = on_change
        self._on_full = on_full
        self._writers: dict[Hashable, _Writer] = {}
        # Bytes of writers that have finished for good but whose data stays (host paths).
        self._retired = dict.fromkeys(WRITER_OWNERS, 0.0)
        # Per owner, writers hold sum(bytes - rate * since) + sum(rate) * now between changes
        # (caps are met only at wake-ups): kept as sums, so reading the volume is O(owners).
        self._base = dict.fromkeys(WRITER_OWNERS, 0.0)
        self._rate = dict.fromkeys(WRITER_OWNERS, 0.0)
        self._active: dict[int, _Writer] = {}
        self._generation = 0
        self.full = False
        self.full_at: float | None = None

    # -- views ------------------------------------------------------------------------------------

    def by_owner(self) -> dict[str, float]:
        """Bytes held now, by owner; they add up to ``actual()``."""
        now = self.env.now
        content, snapshots = self._image_bytes
        retired, base, rate = self._retired, self._base, self._rate
        out = {"os": self.os_bytes, "content_store": content, "snapshots": snapshots}
        for owner in WRITER_OWNERS:
            out[owner] = max(0.0, retired[owner] + base[owner] + rate[owner] * now)
        return out

    def _enter(self, w: _Writer, sign: float) -> None:
        self._version += 1
        self._base[w.owner] += sign * (w.bytes - w.rate * w.since)
        self._rate[w.owner] += sign * w.rate
        if sign > 0 and w.rate > 0:
            self._active[id(w)] = w
        else:
            self._active.pop(id(w), None)

    def _writing(self) -> list[_Writer]:
        """Writers with a rate now (stopped ones are many and need no attention)."""
        return list(self._active.values())

    def _resum(self) -> None:
        """Rebuild the sums from the writers (after changing many at once)."""
        self._version += 1
        self._base = dict.fromkeys(WRITER_OWNERS, 0.0)
        self._rate = dict.fromkeys(WRITER_OWNERS, 0.0)
        self._active = {}
        for w in self._writers.values():
            self._enter(w, 1)

    def actual(self) -> float:
        """Bytes on the volume now: ``sum(by_owner().values())``, added in the same order."""
        version, total = self._actual
        if version == self._version:
            return total  # nothing changed and no writer is growing
        now = self.env.now
        content, snapshots = self._image_bytes
        retired, base, rate = self._retired, self._base, self._rate
        total = self.os_bytes + content + snapshots
        for owner in WRITER_OWNERS:
            total += max(0.0, retired[owner] + base[owner] + rate[owner] * now)
        if not self._active:
            self._actual = (self._version, total)
        return total

    def accounted(self) -> float:
        owners = self.by_owner()
        return sum(owners[o] for o in ACCOUNTED)

    def available(self) -> float:
        return max(0.0, self.capacity - self.actual())

    def value(self, key: Hashable) -> float:
        """Bytes one writer holds now (0 if it holds none)."""
        w = self._writers.get(key)
        return w.value(self.env.now) if w is not None else 0.0

    def rate(self, key: Hashable) -> float:
        """Bytes per second one writer adds now (0 when stopped, capped or the volume full)."""
        w = self._writers.get(key)
        return w.rate if w is not None and not self.full else 0.0

    def slopes(self) -> tuple[float, float]:
        """(actual, accounted) growth in bytes per second right now."""
        # The rates change only with the version: kept for it (the eviction manager asks
        # at every commit change, 90,000 times in a month of churn).
        version, full, slopes = self._slopes
        if version == self._version and full == self.full:
            return slopes
        if self.full:
            slopes = (0.0, 0.0)
        else:
            rate = self._rate
            slopes = (sum(rate.values()), sum(rate[o] for o in ACCOUNTED if o in rate))
        self._slopes = (self._version, self.full, slopes)
        return slopes

    def has_room(self, size: float) -> bool:
        return self.available() >= size

    # -- writers ------------------------------------------------------------------------------

    def write_many(self, writes: Iterable[tuple[Hashable, str, int, float, float]]) -> None:
        """Several writers start (or change) at once: ``(key, owner, pod, rate, cap)`` each.

        A new writer with no rate holds nothing and is not tracked.
        """
        now = self.env.now
        changed = False
        for key, owner, pod, rate, cap in writes:
            w = self._writers.get(key)
            if w is None:
                if rate <= 0:
                    continue
                w = _Writer(
                    owner=owner, pod=pod, rate=0.0, cap=cap, bytes=0.0, since=now, first=now
                )
                self._writers[key] = w
            else:
                self._enter(w, -1)
            w.settle(now)
            w.want = rate
            w.cap = cap
            w.rate = 0.0 if self.full or w.bytes >= cap else rate
            self._enter(w, 1)
            changed = True
        if changed:
            self._changed()

    def stop(self, key: Hashable) -> None:
        """The writer stops writing; its bytes stay."""
        self.stop_many((key,))

    def stop_many(self, keys: Iterable[Hashable]) -> None:
        """Several writers stop at once; their bytes stay."""
        now = self.env.now
        stopped = False
        for key in keys:
            w = self._writers.get(key)
            if w is not None:
                self._enter(w, -1)
                w.settle(now)
                w.rate = w.want = 0.0
                self._enter(w, 1)
                stopped = True
        if stopped:
            self._changed()

    def release(self, free: Iterable[Hashable], retire: Iterable[Hashable]) -> list[Written]:
        """Writers gone at once: the bytes of ``free`` are deleted, those of ``retire``
        stay on the volume (host-path writes). Returns what each of them wrote."""
        now = self.env.now
        out: list[Written] = []
        changed = False
        for key in free:
            w = self._writers.pop(key, None)
            if w is not None:
                self._enter(w, -1)
                out.append(Written(key, w.owner, w.first, w.value(now)))
                changed = True
        if changed:
            self._set_full(self.available() <= 1e-3)
        for key in retire:
            w = self._writers.pop(key, None)
            if w is not None:
                self._enter(w, -1)
                written = w.value(now)
                self._retired[w.owner] += written
                out.append(Written(key, w.owner, w.first, written))
                changed = True
        if changed:
            self._changed()
        return out

    def written(self) -> list[Written]:
        """What every writer still on the volume has written so far (the closing snapshot)."""
        now = self.env.now
        return [Written(k, w.owner, w.first, w.value(now)) for k, w in self._writers.items()]

    def images_changed(self) -> None:
        """containerd's bytes changed (a layer stored or unpacked, an image deleted)."""
        self._image_bytes = tuple(float(b) for b in self._images())
        self._version += 1
        self._set_full(self.available() <= 1e-3)
        self._changed()

    def _set_full(self, full: bool) -> None:
        if full == self.full:
            return
        now = self.env.now
        self.full = full
        for w in self._writers.values():
            w.settle(now)
            w.rate = 0.0 if full or w.bytes >= w.cap else w.want
        self._resum()
        if full:
            self.full_at = now if self.full_at is None else self.full_at
            if self._on_full:
                self._on_full()

    # -- the next event ------------------------------------------------------------------------

    def _changed(self) -> None:
        self._generation += 1
        if self._on_change:
            self._on_change(self)
        now = self.env.now
        rate = self.slopes()[0]
        if rate <= 0:
            return
        room = self.capacity - self.actual()
        dt = max(0.0, room / rate)
        for w in self._writing():
            if w.cap < math.inf:
                left = w.cap - w.value(now)
                if left > 0:
                    dt = min(dt, left / w.rate)
        if now + dt == now and dt > 0:
            # Too soon for the clock to tell (a writer a few bytes from its cap at 100 MiB/s
            # is 1e-14 s from it): the next instant the clock can hold, or this would wake
            # at the same instant forever.
            dt = math.nextafter(now, math.inf) - now
        gen = self._generation
        Timeout(self.env, dt).callbacks.append(lambda _e: self._wake(gen))

    def _wake(self, generation: int) -> None:
        if generation != self._generation:
            return
        now = self.env.now
        for w in self._writing():
            if w.value(now) >= w.cap - 1e-6:
                # Scratch full, or logs at their rotation size: this writer adds no more.
                self._enter(w, -1)
                w.settle(now)
                w.bytes, w.rate = w.cap, 0.0
                self._enter(w, 1)
        # Full: every write fails from now on ("There is not enough space on the disk.").
        self._set_full(self.capacity - self.actual() <= 1e-3)
        self._changed()
