"""Memory spikes: short bursts of extra commit at Poisson instants (the scenario's ``spikes``).

A container's profile may add ``size`` bytes of commit for ``duration`` seconds,
at exponential gaps of mean ``1 / rate``. Each spike is an allocation the job
object (or the node's commit limit) may refuse; the ledger counts refusals.
The profile is the scenario's to state (its numbers are illustrative choices,
not sourced facts).
"""

from __future__ import annotations

from typing import Any

import simpy
from simpy.events import Timeout

from hpsim.node.draws import Draws
from hpsim.node.jobobject import CommitLedger


class SpikeTrain:
    """Poisson spikes of extra commit on one container instance, as chained timers.

    Gaps are exponential at ``rate``; a spike the job object (or the node) refuses
    is counted by the ledger and the train goes on. ``stop`` ends it when the
    instance ends; a timer already set then finds it stopped and does nothing.
    """

    def __init__(
        self,
        env: simpy.Environment,
        ledger: CommitLedger,
        key: Any,
        rate: float,
        size: float,
        duration: float,
        rng: Draws,
    ) -> None:
        self.env, self.ledger, self.key = env, ledger, key
        self.scale, self.size, self.duration, self.rng = 1.0 / rate, size, duration, rng
        self.live = True
        self._next()

    def stop(self) -> None:
        self.live = False

    def _next(self) -> None:
        gap = self.rng.exponential(self.scale)
        Timeout(self.env, gap).callbacks.append(self._spike)

    def _spike(self, _timer: simpy.Event) -> None:
        if not self.live or self.key not in self.ledger:
            self.live = False
            return
        if self.ledger.spike(self.key, self.size):
            Timeout(self.env, self.duration).callbacks.append(self._unspike)
        else:
            self._next()

    def _unspike(self, _timer: simpy.Event) -> None:
        if self.live:
            self.ledger.unspike(self.key, self.size)
            self._next()
