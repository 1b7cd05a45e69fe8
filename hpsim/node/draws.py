"""Random draws for the model, taken from a numpy Generator in blocks.

A scalar call into numpy (``rng.exponential(scale)``) costs about a
microsecond of call overhead; the month benchmark makes about 100,000 of them.
Drawing a block at a time and handing the numbers out one by one gives exactly
the numbers the scalar calls would give, in the same order: numpy fills an
array by calling the same per-number routine, and its scaled forms are plain
arithmetic on the standard ones (numpy/random/src/distributions/distributions.c:
``random_exponential = scale * random_standard_exponential``, ``random_normal =
loc + scale * random_standard_normal``, ``random_uniform = off + range *
next_double``); ``tests/test_draws.py`` checks it.

That holds only while a stream serves one kind of standard draw: drawing a
block of exponentials ahead, then asking for a uniform, would give another
number than the scalar calls. Each model stream is keyed by purpose and
workload and serves one kind, and asking one stream for two kinds is refused.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

BLOCK = 256


class Draws:
    """One random stream: the numbers ``rng``'s scalar calls would give, drawn in blocks."""

    def __init__(self, rng: np.random.Generator, block: int = BLOCK) -> None:
        self.rng = rng
        self.block = block
        self._kind = ""
        self._buffer: list[float] = []
        self._next = 0

    def _take(self, kind: str, fill: Callable[[int], np.ndarray]) -> float:
        if kind != self._kind:
            if self._kind:
                raise RuntimeError(
                    f"one random stream asked for {self._kind} and {kind} draws: "
                    "block draws would change its numbers"
                )
            self._kind = kind
        if self._next == len(self._buffer):
            self._buffer = fill(self.block).tolist()
            self._next = 0
        value = self._buffer[self._next]
        self._next += 1
        return value

    def exponential(self, scale: float) -> float:
        """``rng.exponential(scale)``."""
        return scale * self._take("exponential", self.rng.standard_exponential)

    def standard_normal(self) -> float:
        return self._take("normal", self.rng.standard_normal)

    def normal(self, loc: float, scale: float) -> float:
        """``rng.normal(loc, scale)``."""
        return loc + scale * self._take("normal", self.rng.standard_normal)

    def uniform(self, low: float, high: float) -> float:
        """``rng.uniform(low, high)``."""
        return low + (high - low) * self._take("uniform", self.rng.random)


# One random stream per purpose (common random numbers: compared scenarios share them).
STREAMS = ("arrivals", "lifetimes", "demand", "spikes")
# Streams of the cluster's own choices (not keyed by workload): kube-scheduler's tie-breaks,
# the autoscaler's expander, node provisioning times (keyed by pool), and the tie-breaks of
# ``hpsim fit``'s what-if placements (a stream of its own: asking never moves the run's).
CLUSTER_STREAMS = ("scheduler", "autoscaler", "provisioning", "fit", "pulls")


class Streams:
    """Random streams keyed by (purpose, workload index), below one SeedSequence.

    Keying by workload index (not creation order) keeps a workload's numbers
    the same when another workload is added: common random numbers.
    """

    def __init__(self, root: np.random.SeedSequence) -> None:
        self.root = root
        self._cache: dict[tuple[str, int], Draws] = {}

    def get(self, purpose: str, index: int) -> Draws:
        key = (purpose, index)
        draws = self._cache.get(key)
        if draws is None:
            ss = np.random.SeedSequence(
                self.root.entropy,
                spawn_key=(*self.root.spawn_key, STREAMS.index(purpose), index),
            )
            draws = self._cache[key] = Draws(np.random.default_rng(ss))
        return draws

    def rng(self, purpose: str, index: int = 0) -> np.random.Generator:
        """A Generator of the cluster's own (``CLUSTER_STREAMS``), for draws of any kind
        (integers for tie-breaks): spawned below the workloads' streams, so adding a
        pool or a node changes no workload's numbers."""
        ss = np.random.SeedSequence(
            self.root.entropy,
            spawn_key=(*self.root.spawn_key, len(STREAMS) + CLUSTER_STREAMS.index(purpose), index),
        )
        return np.random.default_rng(ss)
