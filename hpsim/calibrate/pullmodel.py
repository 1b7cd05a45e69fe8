"""A lone pull's duration in hpsim's containerd model, as a function of the two rates.

hpsim.node.containerd pulls an image thus (see that module for the sources):

- the layers from the first chain not yet a snapshot are pulled; a layer whose blob is
  in the content store is not downloaded again;
- at most ``max_concurrent_downloads`` layers download at once, slots taken in manifest
  order, and the downloads in flight share the link's ``network`` bytes/s equally;
- layer i is applied once it is downloaded and layer i-1 is applied, at the node's
  extraction rate (``unpackRate``, divided by ``antivirus.unpackSlowdown`` with real-time
  scanning: hpsim.scenario.derived.unpack_throughput), in *compressed* bytes per second.
  The unpacked size does not enter the time.

Alone on its node, the pull's downloads share the link only with each other, so layer j is
in the store at ``g_j / network`` where ``g_j`` depends on the layer sizes alone (processor
sharing among the downloads in flight). Applies follow ``a_j = max(a_{j-1}, f_j) + s_j/E``,
which unrolls to

    duration = max_j ( g_j / network + T_j / E ),   T_j = s_j + s_{j+1} + ... + s_last

a maximum of lines in (1/network, 1/E): :class:`PullShape` holds the (g_j, T_j).
tests/test_calibrate.py checks it against the simpy model.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from hpsim.node.containerd import Image

_EPS = 1e-9  # relative: a download with this share of its bytes left is done


@dataclass(frozen=True)
class PullShape:
    """``fetched[j]``: link bytes carried before layer j is in the store; ``applied[j]``:
    compressed bytes still to apply from layer j on. Empty: nothing to pull."""

    fetched: tuple[float, ...]
    applied: tuple[float, ...]

    def seconds(self, network_Bps: float, extract_Bps: float) -> float:
        """The pull's duration at these rates."""
        pairs = zip(self.fetched, self.applied, strict=True)
        return max((g / network_Bps + t / extract_Bps for g, t in pairs), default=0.0)

    @property
    def empty(self) -> bool:
        return not self.applied or self.applied[0] <= 0

    @property
    def download_bytes(self) -> float:
        return max(self.fetched, default=0.0)

    @property
    def apply_bytes(self) -> float:
        return self.applied[0] if self.applied else 0.0


def fetch_times(sizes: Sequence[float], slots: int) -> list[float]:
    """When each download ends on a link of 1 byte/s: ``slots`` at a time in order,
    sharing the link equally (a 0-byte download ends as it gets its slot)."""
    if slots < 1:
        raise ValueError("slots must be at least 1")
    done = [0.0] * len(sizes)
    waiting = list(range(len(sizes)))
    waiting.reverse()  # pop() takes the first
    active: dict[int, float] = {}
    now = 0.0

    def admit() -> None:
        while len(active) < slots and waiting:
            i = waiting.pop()
            if sizes[i] <= 0:
                done[i] = now
            else:
                active[i] = float(sizes[i])

    admit()
    while active:
        step = min(active.values())
        now += step * len(active)
        for i in list(active):
            active[i] -= step
            if active[i] <= _EPS * sizes[i]:
                del active[i]
                done[i] = now
        admit()
    return done


def pull_shape(
    image: Image,
    blobs: Iterable[str] = (),
    chains: Iterable[str] = (),
    *,
    max_concurrent_downloads: int = 3,
) -> PullShape:
    """The shape of a pull of ``image`` on a node whose store holds these blobs (layer
    digests) and snapshots (chain IDs), alone on the node."""
    held_chains = set(chains)
    held_blobs = set(blobs)
    ids = image.chain_ids
    first = next((i for i, c in enumerate(ids) if c not in held_chains), len(ids))
    todo = image.layers[first:]
    if not todo:
        return PullShape((), ())
    # A digest twice in one image: the second fetch waits for the first (containerd's
    # blob lock); counted as no bytes of its own, which is close for the rare case.
    seen: set[str] = set()
    sizes: list[float] = []
    for layer in todo:
        fresh = layer.digest not in held_blobs and layer.digest not in seen
        sizes.append(float(layer.size) if fresh else 0.0)
        seen.add(layer.digest)
    fetched = fetch_times(sizes, max_concurrent_downloads)
    applied: list[float] = []
    left = 0.0
    for layer in reversed(todo):
        left += layer.size
        applied.append(left)
    applied.reverse()
    return PullShape(tuple(fetched), tuple(applied))
