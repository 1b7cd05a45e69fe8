"""kube-scheduler's queue of pending pods on one node, and one scheduling pass over it.

kube-scheduler keeps the pods it has to place in a heap, activeQ, ordered by
the QueueSort plugin: PrioritySort puts the higher ``spec.priority`` first,
then the earlier queue timestamp (k/k
pkg/scheduler/framework/plugins/queuesort/priority_sort.go ``Less``; the queue
is ``PriorityQueue`` in pkg/scheduler/internal/queue/scheduling_queue.go). A
pod that failed waits in ``unschedulablePods`` and is tried again only after a
cluster event that the plugin that rejected it says may admit it
(QueueingHints: ``isPodWorthRequeuing`` in scheduling_queue.go): a pod short of
cpu, memory or pod slots cannot fit until a pod leaves.

The node's scheduler pass gives the outcome of trying every pending pod in
queue order -- which bind, and which get a new FailedScheduling message --
without trying every pod. What the filters look at (template, requests,
priority) is the same for every pod of one workload, so:

- within a workload the queue order is creation order (its pods share one
  priority), kept as a line that only grows at its end. A line holds the pods the
  filters see alike: one workload's pods for one node pin (a DaemonSet's pod is
  for its node alone), and a pod nominated by a preemption has a line of its own
  (the room held for it is its own, and other pods see it as taken);
- once one pod of a workload fails, every later one fails too in the same
  pass (usage only grows as pods bind): only the head of each workload's line
  is tried, and the pods that bind are a prefix of their line (the heads are
  merged in a heap, as activeQ is);
- a failing pod's message depends only on its workload and on the usage at
  its place in the pass, which changes only where a pod binds. The line keeps
  the messages it last reported as runs of consecutive pods, so a pass
  touches only the pods whose message changes.

A pass costs a few fit checks per workload, plus one per pod that binds or
whose message changes: a burst of n pending pods costs O(n) checks instead of
O(n^2).

When a pod is tried again is kube-scheduler 1.31's queue without queueing hints
(``SchedulerQueueingHints`` is off by default in 1.31, k/k pkg/features/
kube_features.go), kept per line:

- a pod that failed waits in ``unschedulablePods`` until a cluster event moves it
  (``MoveAllToActiveOrBackoffQueue``: a pod deleted or a node added or updated, the
  events NodeResourcesFit, TaintToleration and NodeAffinity register in
  ``EventsToRegister``; a new pod is not such an event). A moved pod whose back-off
  has run out goes to activeQ, the others to backoffQ, which ``flushBackoffQCompleted``
  empties into activeQ every second (``isPodBackingoff``: backoffTime.After(now)).
  The back-off is ``podInitialBackoffSeconds`` doubled per attempt up to
  ``podMaxBackoffSeconds``: 1, 2, 4, 8, 10 s (``calculateBackoffDuration``), counted
  from the last attempt (``QueuedPodInfo.Timestamp``);
- a pod left in unschedulablePods longer than 5 minutes is tried again by the
  leftover flush, which runs every 30 s (``flushUnschedulablePodsLeftover``,
  ``DefaultPodMaxInUnschedulablePodsDuration``). With nothing changed it fails as
  before, with the same message, so only its attempts and timestamp move; they are
  worked out when the next event comes, not polled;
- a new pod goes straight to activeQ and is tried at once, alone when its
  workload's line is waiting: if an event freed room while the line backs off, it
  binds ahead of the older pods, as it does in kube-scheduler.

The attempts and the timestamp are the line's, the head's: the line's pods are
tried together, so they share them, except a pod that joined the line with a
solo try. Such a pod is given the line's back-off from then on, where
kube-scheduler counts its own (fewer attempts, a later timestamp): it may be
retried up to the cap (10 s) earlier or later than kube-scheduler would.
"""

from __future__ import annotations

import math
from bisect import bisect_left, bisect_right
from collections.abc import Callable
from heapq import heapify, heappop, heappush
from operator import itemgetter
from typing import Protocol, TypeVar

from hpsim.node.pod import Pod

T = TypeVar("T", bound="Tally")


class Tally(Protocol):
    """What a pass counts its binds in: one node's requests (hpsim.node.scheduler.Usage)
    or every node's (hpsim.cluster.placement.Placement)."""

    def copy(self: T) -> T: ...

    def add(self, pod: Pod) -> None: ...


Key = tuple[int, float, int]
LineKey = tuple[str, str | None, int]
# Dead entries (bound or deleted pods) a line keeps before it is compacted: our choice,
# so that compacting (linear in the line) is paid for by the removals.
_COMPACT_AFTER = 64
# k/k pkg/scheduler/internal/queue/scheduling_queue.go: ``flushBackoffQCompleted`` runs
# every 1 s, ``flushUnschedulablePodsLeftover`` every 30 s (both in ``Run``), and
# DefaultPodMaxInUnschedulablePodsDuration is 5 minutes.
BACKOFF_FLUSH_S = 1.0
LEFTOVER_FLUSH_S = 30.0
MAX_IN_UNSCHEDULABLE_S = 300.0

# A line's place in the queue: tried in the next pass; in unschedulablePods; in backoffQ.
ACTIVE, WAITING, BACKING_OFF = 0, 1, 2


def backoff_s(attempts: int, initial: float = 1.0, cap: float = 10.0) -> float:
    """``calculateBackoffDuration``: ``initial`` doubled for every attempt after the
    first, at most ``cap`` (scheduling_queue.go; the defaults are 1 s and 10 s)."""
    duration = initial
    for _ in range(1, attempts):
        if duration > cap - duration:
            return cap
        duration += duration
    return duration


def line_key(pod: Pod) -> LineKey:
    """The line a pod waits in: its workload's for its node pin, or its own once it is
    nominated (uid 0: not nominated)."""
    return (pod.plan.name, pod.pin, pod.uid if pod.nominated is not None else 0)


def queue_key(pod: Pod) -> Key:
    """PrioritySort: higher priority first, then the earlier timestamp (creation), then uid."""
    return (-pod.priority, pod.created, pod.uid)


class _Line:
    """One workload's pending pods in queue order, with the messages last reported and
    where the line waits (ACTIVE, WAITING or BACKING_OFF) since its last try."""

    __slots__ = ("attempts", "dead", "due", "head", "pods", "runs", "stamp", "state")

    def __init__(self) -> None:
        self.pods: list[Pod] = []  # in queue order; pods that left stay until compacted
        self.head = 0  # every pod before it has left the queue
        self.dead = 0  # pods in ``pods`` that left the queue
        # (index of the run's first pod, the message its pods were last given), in order
        self.runs: list[tuple[int, str]] = []
        self.state = ACTIVE
        self.attempts = 0  # tries so far (QueuedPodInfo.Attempts)
        self.stamp = 0.0  # when it was last tried (QueuedPodInfo.Timestamp)
        self.due = 0.0  # BACKING_OFF: the backoffQ flush that moves it to activeQ


class SchedulingQueue:
    """The pending pods, by workload, in PrioritySort order."""

    def __init__(self, initial_backoff_s: float = 1.0, max_backoff_s: float = 10.0) -> None:
        self._lines: dict[LineKey, _Line] = {}
        self._queued: dict[int, LineKey] = {}  # the pods in the queue: their line, by uid
        self._solo: list[Pod] = []  # new pods of waiting lines, tried alone in the next pass
        self._backing_off: list[tuple[float, LineKey]] = []  # heap of (due, line)
        self.initial_backoff_s = initial_backoff_s
        self.max_backoff_s = max_backoff_s
        self.fit_checks = 0  # filter runs so far: the work the passes did

    def __len__(self) -> int:
        return len(self._queued)

    def __contains__(self, pod: Pod) -> bool:
        return pod.uid in self._queued

    def pods(self) -> list[Pod]:
        """The queued pods, by uid."""
        lines, queued = self._lines, self._queued
        out: dict[int, Pod] = {}
        for line in lines.values():
            for pod in line.pods[line.head :]:
                if pod.uid in queued:
                    out[pod.uid] = pod
        return [out[uid] for uid in sorted(out)]

    def add(self, pod: Pod) -> None:
        """A new pod joins the end of its workload's line (it is its newest) and is
        tried in the next pass: with its line, or alone if the line waits."""
        line = self._join(pod)
        if line.state != ACTIVE:
            self._solo.append(pod)

    def _join(self, pod: Pod) -> _Line:
        key = line_key(pod)
        line = self._lines.get(key)
        if line is None:
            line = self._lines[key] = _Line()
        if line.runs and line.runs[-1][0] >= len(line.pods):
            line.runs.pop()  # an empty run left by a pass
        if not line.runs or line.runs[-1][1] != pod.message:
            line.runs.append((len(line.pods), pod.message))
        line.pods.append(pod)
        self._queued[pod.uid] = key
        return line

    def moved(self, pod: Pod) -> None:
        """The pod's line changed (it was nominated, or its nomination ended): it leaves
        its old line for the new one, keeping its attempts and where it waits."""
        old = self._queued.get(pod.uid)
        if old is None or old == line_key(pod):
            return
        was = self._lines[old]
        self.discard(pod)
        line = self._join(pod)
        if len(line.pods) == 1:  # a line of its own: it waits as it did
            line.state, line.attempts, line.stamp, line.due = (
                was.state,
                was.attempts,
                was.stamp,
                was.due,
            )
            if line.state == BACKING_OFF:
                heappush(self._backing_off, (line.due, line_key(pod)))

    def move_all(self, now: float) -> float | None:
        """A cluster event that may make pods schedulable (``MoveAllToActiveOrBackoffQueue``):
        every waiting line goes to activeQ if its back-off ran out, else to backoffQ.
        Returns the earliest backoffQ flush that moves a line on, if any."""
        for key, line in self._lines.items():
            if line.state != WAITING:
                continue
            self._leftover(line, now)
            expires = line.stamp + backoff_s(
                line.attempts, self.initial_backoff_s, self.max_backoff_s
            )
            if expires <= now:
                line.state = ACTIVE
            else:
                line.state = BACKING_OFF
                # the first 1 s flush at or after the expiry (backoffTime.After(now) false)
                line.due = math.ceil(expires / BACKOFF_FLUSH_S) * BACKOFF_FLUSH_S
                heappush(self._backing_off, (line.due, key))
        return self.next_due()

    def _leftover(self, line: _Line, now: float) -> None:
        """The leftover flushes a waiting line met since its last try, counted: each is a
        try at a 30 s flush more than 5 minutes after the one before (the first flush
        tick t with t - stamp > 5 min), which fails as before."""
        first = (math.floor((line.stamp + MAX_IN_UNSCHEDULABLE_S) / LEFTOVER_FLUSH_S) + 1) * (
            LEFTOVER_FLUSH_S
        )
        if first > now:
            return
        step = MAX_IN_UNSCHEDULABLE_S + LEFTOVER_FLUSH_S  # from one flush tick, the next
        n = math.floor((now - first) / step) + 1
        line.attempts += n
        line.stamp = first + (n - 1) * step

    def next_due(self) -> float | None:
        """When the backoffQ flush next moves a line to activeQ."""
        heap, lines = self._backing_off, self._lines
        while heap:
            due, key = heap[0]
            line = lines.get(key)
            if line is not None and line.state == BACKING_OFF and line.due == due:
                return due
            heappop(heap)  # the line left, or was tried since
        return None

    def flush_backoff(self, now: float) -> bool:
        """``flushBackoffQCompleted`` at ``now``: the lines due by then go to activeQ.
        True if any did."""
        heap, lines = self._backing_off, self._lines
        moved = False
        while heap and heap[0][0] <= now:
            due, key = heappop(heap)
            line = lines.get(key)
            if line is not None and line.state == BACKING_OFF and line.due == due:
                line.state = ACTIVE
                moved = True
        return moved

    def discard(self, pod: Pod) -> None:
        """The pod leaves the queue (deleted while pending)."""
        key = self._queued.pop(pod.uid, None)
        if key is not None:
            if pod in self._solo:
                self._solo.remove(pod)
            line = self._lines[key]
            line.dead += 1
            if line.dead == len(line.pods):
                del self._lines[key]  # every pod left (a nominated pod's own line)
                return
            if line.dead > _COMPACT_AFTER and line.dead * 2 > len(line.pods):
                self._compact(line)

    def _first(self, line: _Line) -> int | None:
        """Index of the line's first pod still queued."""
        pods, queued, i = line.pods, self._queued, line.head
        while i < len(pods) and pods[i].uid not in queued:
            i += 1
        line.head = i
        return i if i < len(pods) else None

    def _compact(self, line: _Line) -> None:
        queued = self._queued
        pods: list[Pod] = []
        runs: list[tuple[int, str]] = []
        ends = [start for start, _ in line.runs[1:]] + [len(line.pods)]
        for (start, message), end in zip(line.runs, ends, strict=True):
            first = len(pods)
            pods.extend(p for p in line.pods[max(start, line.head) : end] if p.uid in queued)
            if len(pods) > first and (not runs or runs[-1][1] != message):
                runs.append((first, message))
        line.pods, line.runs, line.head, line.dead = pods, runs, 0, 0

    def cycle(
        self, usage: T, why: Callable[[Pod, T], str | None], now: float = 0.0
    ) -> list[tuple[Pod, str | None]]:
        """One pass at ``now``, as popping activeQ until it is empty would go.

        The lines in activeQ are tried from their first pod, a waiting line's new pods
        alone. ``why(pod, usage)`` is the filters' verdict: None if the pod fits, else
        the failure message. Returns, in queue order, the pods that fit (with None;
        they leave the queue) and the pods whose message changes (with the new one):
        the caller binds the first and reports the others, in that order, and sets
        each reported pod's ``message``.
        """
        used = usage.copy()
        lines = self._lines
        queued = self._queued
        heads: list[tuple[Key, LineKey, int]] = []
        tried: list[_Line] = []  # the lines that were in activeQ
        for name, line in lines.items():
            if line.state == ACTIVE:
                i = self._first(line)
                if i is not None:
                    heads.append((queue_key(line.pods[i]), name, i))
                    tried.append(line)
        starts: dict[LineKey, Key] = {}
        for pod in self._solo:  # each waiting line from its first new pod
            name = queued[pod.uid]
            k = queue_key(pod)
            if name not in starts or k < starts[name]:
                starts[name] = k
        self._solo = []
        for name, k in starts.items():
            line = lines[name]
            heads.append((k, name, bisect_right(line.pods, k, key=queue_key) - 1))
        heapify(heads)
        binds: list[tuple[Key, Pod, str | None]] = []
        after = [used.copy()]  # usage after k binds
        failed: list[tuple[_Line, int, str]] = []  # line, its first failing pod, message
        while heads:
            key, name, i = heappop(heads)
            line = lines[name]
            pod = line.pods[i]
            self.fit_checks += 1
            message = why(pod, used)
            if message is not None:
                failed.append((line, i, message))
                continue
            binds.append((key, pod, None))
            used.add(pod)
            after.append(used.copy())
            del queued[pod.uid]
            line.dead += 1
            pods = line.pods
            j = i + 1
            while j < len(pods) and pods[j].uid not in queued:
                j += 1
            if j < len(pods):
                heappush(heads, (queue_key(pods[j]), name, j))
        bind_keys = [k for k, _, _ in binds]
        out: list[tuple[Key, Pod, str | None]] = list(binds)
        for line, f, message in failed:
            out.extend(self._messages(line, f, message, bind_keys, after, why))
        out.sort(key=itemgetter(0))
        for line in tried:  # back to unschedulablePods, one attempt more
            line.state = WAITING
            line.attempts += 1
            line.stamp = now
        for name, line in list(lines.items()):
            if line.dead == len(line.pods):
                del lines[name]  # every pod left: the line goes (a pin's node may be gone)
            elif line.dead > _COMPACT_AFTER and line.dead * 2 > len(line.pods):
                self._compact(line)
        return [(pod, message) for _, pod, message in out]

    def _messages(
        self,
        line: _Line,
        f: int,
        message: str,
        bind_keys: list[Key],
        after: list[T],
        why: Callable[[Pod, T], str | None],
    ) -> list[tuple[Key, Pod, str | None]]:
        """The line's pods from ``f`` on all fail; each gets the message for the usage at
        its place in the pass. The ones whose message changes, and the new runs."""
        pods = line.pods
        rep = pods[f]
        k = bisect_right(bind_keys, queue_key(rep))  # binds before the first failing pod
        spans: list[tuple[int, str]] = [(f, message)]  # (first index, message) from f on
        for j in range(k, len(bind_keys)):
            start = bisect_right(pods, bind_keys[j], lo=spans[-1][0], key=queue_key)
            if start >= len(pods):
                break
            self.fit_checks += 1
            m = why(rep, after[j + 1])
            assert m is not None  # usage only grew since the pod failed
            if m != spans[-1][1]:
                if start == spans[-1][0]:
                    spans[-1] = (start, m)
                else:
                    spans.append((start, m))
        changed: list[tuple[Key, Pod, str | None]] = []
        queued = self._queued
        runs = line.runs
        ends = [s for s, _ in spans[1:]] + [len(pods)]
        r = max(0, bisect_right(runs, f, key=itemgetter(0)) - 1)
        for (lo, m), hi in zip(spans, ends, strict=True):
            while r < len(runs) and lo < hi:
                run_end = runs[r + 1][0] if r + 1 < len(runs) else len(pods)
                if run_end <= lo:
                    r += 1
                    continue
                stop = min(hi, run_end)
                if runs[r][1] != m:
                    changed.extend((queue_key(p), p, m) for p in pods[lo:stop] if p.uid in queued)
                lo = stop
        # the runs before ``f`` stay: a waiting line's older pods were not tried
        line.runs = runs[: bisect_left(runs, f, key=itemgetter(0))] + spans
        return changed
