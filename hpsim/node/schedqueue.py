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
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Callable
from heapq import heapify, heappop, heappush
from operator import itemgetter

from hpsim.node.pod import Pod
from hpsim.node.scheduler import Usage

Key = tuple[int, float, int]
LineKey = tuple[str, str | None, int]
# Dead entries (bound or deleted pods) a line keeps before it is compacted: our choice,
# so that compacting (linear in the line) is paid for by the removals.
_COMPACT_AFTER = 64


def line_key(pod: Pod) -> LineKey:
    """The line a pod waits in: its workload's for its node pin, or its own once it is
    nominated (uid 0: not nominated)."""
    return (pod.plan.name, pod.pin, pod.uid if pod.nominated is not None else 0)


def queue_key(pod: Pod) -> Key:
    """PrioritySort: higher priority first, then the earlier timestamp (creation), then uid."""
    return (-pod.priority, pod.created, pod.uid)


class _Line:
    """One workload's pending pods in queue order, with the messages last reported."""

    __slots__ = ("dead", "head", "pods", "runs")

    def __init__(self) -> None:
        self.pods: list[Pod] = []  # in queue order; pods that left stay until compacted
        self.head = 0  # every pod before it has left the queue
        self.dead = 0  # pods in ``pods`` that left the queue
        # (index of the run's first pod, the message its pods were last given), in order
        self.runs: list[tuple[int, str]] = []


class SchedulingQueue:
    """The pending pods, by workload, in PrioritySort order."""

    def __init__(self) -> None:
        self._lines: dict[LineKey, _Line] = {}
        self._queued: dict[int, LineKey] = {}  # the pods in the queue: their line, by uid
        self.fit_checks = 0  # filter runs so far: the work the passes did

    def __len__(self) -> int:
        return len(self._queued)

    def __contains__(self, pod: Pod) -> bool:
        return pod.uid in self._queued

    def add(self, pod: Pod) -> None:
        """A new pod joins the end of its workload's line (it is its newest)."""
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

    def moved(self, pod: Pod) -> None:
        """The pod's line changed (it was nominated, or its nomination ended): it leaves
        its old line for the new one."""
        if pod.uid in self._queued and self._queued[pod.uid] != line_key(pod):
            self.discard(pod)
            self.add(pod)

    def discard(self, pod: Pod) -> None:
        """The pod leaves the queue (deleted while pending)."""
        key = self._queued.pop(pod.uid, None)
        if key is not None:
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
        self, usage: Usage, why: Callable[[Pod, Usage], str | None]
    ) -> list[tuple[Pod, str | None]]:
        """One pass, as trying every queued pod in queue order would go.

        ``why(pod, usage)`` is the filters' verdict: None if the pod fits, else the
        failure message. Returns, in queue order, the pods that fit (with None; they
        leave the queue) and the pods whose message changes (with the new one): the
        caller binds the first and reports the others, in that order, and sets each
        reported pod's ``message``.
        """
        used = usage.copy()
        lines = self._lines
        heads: list[tuple[Key, LineKey]] = []
        for name, line in lines.items():
            i = self._first(line)
            if i is not None:
                heads.append((queue_key(line.pods[i]), name))
        heapify(heads)
        binds: list[tuple[Key, Pod, str | None]] = []
        after = [used.copy()]  # usage after k binds
        failed: list[tuple[_Line, int, str]] = []  # line, its first failing pod, message
        while heads:
            key, name = heappop(heads)
            line = lines[name]
            i = line.head
            pod = line.pods[i]
            self.fit_checks += 1
            message = why(pod, used)
            if message is not None:
                failed.append((line, i, message))
                continue
            binds.append((key, pod, None))
            used.add(pod)
            after.append(used.copy())
            del self._queued[pod.uid]
            line.dead += 1
            line.head = i + 1
            j = self._first(line)
            if j is not None:
                heappush(heads, (queue_key(line.pods[j]), name))
        bind_keys = [k for k, _, _ in binds]
        out: list[tuple[Key, Pod, str | None]] = list(binds)
        for line, f, message in failed:
            out.extend(self._messages(line, f, message, bind_keys, after, why))
        out.sort(key=itemgetter(0))
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
        after: list[Usage],
        why: Callable[[Pod, Usage], str | None],
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
        line.runs = spans
        return changed
