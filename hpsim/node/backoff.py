"""Per-key exponential back-off, as client-go's ``flowcontrol.Backoff`` keeps it.

kubelet uses one Backoff for container restarts (CrashLoopBackOff: initial
10 s, doubling, capped at ``MaxContainerBackOff`` 300 s) and one for image
pulls (ImagePullBackOff: 10 s doubling to ``MaxImageBackOff`` 300 s); both in
k/k pkg/kubelet/kubelet.go. An entry not updated for more than
twice the maximum (600 s) is expired and starts again from the initial delay
(client-go util/flowcontrol/backoff.go ``hasExpired``). Jitter is 0 in
kubelet's back-offs.
"""

from __future__ import annotations

from collections.abc import Hashable
from dataclasses import dataclass


@dataclass
class _Entry:
    backoff: float
    last_update: float


class Backoff:
    """``Next``, ``IsInBackOffSince`` and ``IsInBackOffSinceUpdate`` of client-go."""

    def __init__(self, initial: float = 10.0, maximum: float = 300.0) -> None:
        self.initial = initial
        self.maximum = maximum
        self._entries: dict[Hashable, _Entry] = {}

    def _expired(self, event_time: float, entry: _Entry) -> bool:
        return event_time - entry.last_update > 2 * self.maximum

    def next(self, key: Hashable, event_time: float, now: float) -> None:
        """Move ``key`` to its next delay (or back to the initial one if expired)."""
        entry = self._entries.get(key)
        if entry is None or self._expired(event_time, entry):
            self._entries[key] = _Entry(self.initial, now)
        else:
            entry.backoff = min(entry.backoff * 2, self.maximum)
            entry.last_update = now

    def get(self, key: Hashable) -> float:
        entry = self._entries.get(key)
        return entry.backoff if entry else 0.0

    def in_backoff_since(self, key: Hashable, event_time: float, now: float) -> float:
        """Seconds left in back-off counted from ``event_time`` (0: not in back-off)."""
        entry = self._entries.get(key)
        if entry is None or self._expired(event_time, entry):
            return 0.0
        return max(0.0, entry.backoff - (now - event_time))

    def in_backoff_since_update(self, key: Hashable, now: float) -> float:
        """Seconds left in back-off counted from the last update (0: not in back-off)."""
        entry = self._entries.get(key)
        if entry is None or self._expired(now, entry):
            return 0.0
        return max(0.0, entry.backoff - (now - entry.last_update))
