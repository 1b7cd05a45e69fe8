"""What pods, pending pods and capped containers were doing over time, from the records alone.

The figures draw these; the tables hold them only as facts (a pod's phase changes,
kubelet's and the scheduler's events, container instances, the node's memory), so
this module puts them back together:

- :func:`pod_states`: each pod's life cut into the states ``kubectl get pods`` would
  show: pending, creating, pulling, running, back-off (CrashLoopBackOff,
  ImagePullBackOff, ErrImageNeverPull), terminating, failed (evicted or errored, not
  yet deleted). Phases come from ``transitions``; running from the app containers'
  instances (``containers``); pulls and back-off from kubelet's events (``Pulling``
  to ``Pulled``; ``BackOff`` to the next ``Pulling`` or the container's next
  ``Started``). Where two overlap the later in :data:`PRIORITY` wins.
- :func:`pending_reasons`: each pending pod's wait cut by the scheduler's latest
  ``FailedScheduling`` event for it (its ``causes``: the filters' reasons).
- :func:`container_memory`: each capped container instance's committed memory.
  The records hold no per-container memory over time: what is here is derived from
  the node's memory series (a container's start shows there as a jump of its
  commit and a change of the node's slope by its growth) where the instance started
  at an instant no other container started or ended, and from kubelet's ``Failed``
  events, which state the commit at every refusal. Memory spikes are in neither.

Each function reads one replication (the first unless asked).
"""

from __future__ import annotations

import math
import re
from collections import defaultdict
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

if TYPE_CHECKING:
    from hpsim.observe.results import Results, TableViews

# The states of the pod timeline, in the order they are stacked.
STATES = ("pending", "creating", "pulling", "running", "back-off", "terminating", "failed")
# Where two overlap, the later one here is what the pod shows (a crash-looping container
# makes a running pod "back-off"; a pod being deleted is "terminating" whatever it did).
PRIORITY = ("pending", "creating", "running", "pulling", "back-off", "terminating", "failed")
_RANK = {s: k for k, s in enumerate(PRIORITY)}
# The pod phase each transition enters, as a timeline state (None: not drawn).
_PHASE_STATE: dict[str, str | None] = {
    "Pending": "pending",
    "Scheduled": "creating",
    "ContainerCreating": "creating",
    # A running pod's containers may be restarting: it is "running" while an app container
    # runs (the containers table), and shows "creating" between instances otherwise.
    "Running": "creating",
    "Terminating": "terminating",
    "Failed": "failed",
    "Succeeded": None,
    "Deleted": None,
}
SEGMENT_COLUMNS = ["pod", "workload", "state", "start_s", "end_s"]

# kubelet's event messages this module reads (hpsim/node/kubelet.py, as kubelet words them).
_CRASH_BACKOFF = re.compile(r"Back-off restarting failed container (\S+) in pod ")
_STARTED = re.compile(r"Started container (\S+)$")
_REFUSED = re.compile(
    r"container (?P<container>\S+): memory allocation refused by the (?P<by>job|node) "
    r"commit limit at (?P<bytes>[0-9.]+) bytes"
)
# The scheduler's words before its reasons: "0/1 nodes are available: 1 Insufficient cpu."
_NODES_AVAILABLE = re.compile(r"^\d+/\d+ nodes are available: ")
_ONE_NODE = re.compile(r"(^|, )1 (node\(s\) )?")
NOT_TRIED = "not yet tried by the scheduler"


def one_replication(res: TableViews, name: str, replication: int = 0) -> pd.DataFrame:
    """A table's rows of one replication (all of it for a single run; empty if absent)."""
    table = res.tables.get(name)
    if table is None or table.empty:
        return pd.DataFrame()
    if "replication" in table.columns:
        return table[table["replication"] == replication]
    return table


def workload_of(res: Results, replication: int) -> dict[str, str]:
    pods = one_replication(res, "pods", replication)
    if pods.empty:
        return {}
    return dict(zip(pods["pod"].astype(str), pods["workload"].astype(str), strict=True))


# -- pod states ---------------------------------------------------------------------------------


def _phase_windows(transitions: pd.DataFrame, end: float) -> dict[str, list[tuple[Any, ...]]]:
    """Per pod: (start, end, state) of each phase, from its transitions in order."""
    out: dict[str, list[tuple[Any, ...]]] = defaultdict(list)
    open_: dict[str, tuple[float, str | None]] = {}
    for t, pod, new in zip(
        transitions["time_s"].to_numpy(float),
        transitions["pod"].astype(str),
        transitions["to"].astype(str),
        strict=True,
    ):
        if pod in open_:
            since, state = open_[pod]
            if state is not None and t > since:
                out[pod].append((since, t, state))
        open_[pod] = (t, _PHASE_STATE.get(new))
    for pod, (since, state) in open_.items():
        if state is not None and end > since:
            out[pod].append((since, end, state))
    return out


def _event_windows(events: pd.DataFrame, end: float) -> dict[str, list[tuple[Any, ...]]]:
    """Per pod: (start, end, state) of its pulls and back-offs, from kubelet's events."""
    out: dict[str, list[tuple[Any, ...]]] = defaultdict(list)
    if events.empty:
        return out
    reasons = ("Pulling", "Pulled", "Failed", "BackOff", "ErrImageNeverPull", "Started")
    ev = events[(events["kind"] == "Pod") & events["reason"].isin(reasons)]
    ev = ev.sort_values("time_s", kind="stable")
    # Open windows per pod: a pull, an image back-off, a crash back-off per container.
    pulling: dict[str, float] = {}
    image_backoff: dict[str, float] = {}
    crash_backoff: dict[tuple[str, str], float] = {}
    rows = zip(ev["time_s"].to_numpy(float), ev["object"], ev["reason"], ev["message"], strict=True)
    for t, pod, reason, message in rows:
        message = str(message)
        if reason == "Pulling":
            if pod in image_backoff:
                out[pod].append((image_backoff.pop(pod), t, "back-off"))
            pulling.setdefault(pod, t)
        elif (reason == "Pulled" and message.startswith("Successfully pulled")) or (
            reason == "Failed" and message.startswith("Failed to pull image")
        ):
            if pod in pulling:
                out[pod].append((pulling.pop(pod), t, "pulling"))
        elif reason == "BackOff" and message.startswith("Back-off pulling image"):
            image_backoff.setdefault(pod, t)
        elif reason == "ErrImageNeverPull":
            image_backoff.setdefault(pod, t)  # stuck until the pod goes
        elif reason == "BackOff":
            m = _CRASH_BACKOFF.match(message)
            if m:
                crash_backoff.setdefault((pod, m.group(1)), t)
        elif reason == "Started":
            m = _STARTED.match(message)
            if m and (pod, m.group(1)) in crash_backoff:
                out[pod].append((crash_backoff.pop((pod, m.group(1))), t, "back-off"))
    # Windows still open run until the pod's phases end them (they are cut to its life).
    for pod, t in pulling.items():
        out[pod].append((t, end, "pulling"))
    for pod, t in image_backoff.items():
        out[pod].append((t, end, "back-off"))
    for (pod, _c), t in crash_backoff.items():
        out[pod].append((t, end, "back-off"))
    return out


def _resolve(phases: list[tuple[Any, ...]], overlays: list[tuple[Any, ...]]) -> list[tuple]:
    """One pod's (start, end, state) without overlaps: the highest state in PRIORITY wins,
    and only while a phase is open (an overlay never outlives the pod)."""
    marks: list[tuple[float, int, int, bool]] = []
    for start, stop, state in phases:
        marks += [(start, 1, _RANK[state], True), (stop, -1, _RANK[state], True)]
    for start, stop, state in overlays:
        if stop > start:
            marks += [(start, 1, _RANK[state], False), (stop, -1, _RANK[state], False)]
    marks.sort(key=lambda m: m[0])
    active = [0] * len(PRIORITY)
    base = 0
    out: list[tuple[Any, ...]] = []
    k = 0
    prev: float | None = None
    while k < len(marks):
        t = marks[k][0]
        if prev is not None and t > prev and base > 0:
            top = max(i for i, n in enumerate(active) if n > 0)
            state = PRIORITY[top]
            if out and out[-1][1] == prev and out[-1][2] == state:
                out[-1] = (out[-1][0], t, state)
            else:
                out.append((prev, t, state))
        while k < len(marks) and marks[k][0] == t:
            _, sign, rank, is_base = marks[k]
            active[rank] += sign
            base += sign if is_base else 0
            k += 1
        prev = t
    return out


def pod_states(res: Results, replication: int = 0) -> pd.DataFrame:
    """Every pod's life as (pod, workload, state, start_s, end_s) rows, one state at a time.

    States are :data:`STATES`; a pod's rows never overlap, and a pod whose phase is
    Succeeded or Deleted has none (it holds nothing and shows nothing).
    """
    end = float(res.duration)
    transitions = one_replication(res, "transitions", replication)
    if transitions.empty:
        return pd.DataFrame(columns=SEGMENT_COLUMNS)
    phases = _phase_windows(transitions, end)
    overlays = _event_windows(one_replication(res, "events", replication), end)
    containers = one_replication(res, "containers", replication)
    if not containers.empty:
        app = containers[~containers["init"].astype(bool)]
        stops = app["ended_s"].fillna(end).to_numpy(float)
        for pod, a, b in zip(
            app["pod"].astype(str), app["started_s"].to_numpy(float), stops, strict=True
        ):
            overlays[pod].append((a, b, "running"))
    # A window left open when its pod was deleted ends there (a StatefulSet's next pod
    # of the same name starts afresh).
    deleted = transitions[transitions["to"] == "Deleted"]
    gone: dict[str, list[float]] = defaultdict(list)
    for pod, t in zip(deleted["pod"].astype(str), deleted["time_s"].to_numpy(float), strict=True):
        gone[pod].append(t)
    for pod, windows in overlays.items():
        if pod in gone:
            overlays[pod] = [
                (a, min([b, *(d for d in gone[pod] if d >= a)]), s) for a, b, s in windows
            ]
    workload = workload_of(res, replication)
    rows = [
        (pod, workload.get(pod, pod), state, a, b)
        for pod in phases
        for a, b, state in _resolve(phases[pod], overlays.get(pod, []))
    ]
    df = pd.DataFrame(rows, columns=SEGMENT_COLUMNS)
    return df.sort_values(["start_s", "pod"], kind="stable", ignore_index=True)


def counts_over_time(
    segments: pd.DataFrame, column: str, order: tuple[str, ...] | list[str]
) -> pd.DataFrame:
    """How many segments of each ``column`` value are open from each instant to the next.

    Indexed by the instants at which a count changes (a step function, held until
    the next index); one column per value of ``order``.
    """
    if segments.empty:
        return pd.DataFrame(columns=list(order), index=pd.Index([], name="time_s"), dtype=int)
    deltas = pd.concat(
        [
            pd.DataFrame({"time_s": segments["start_s"], "key": segments[column], "d": 1}),
            pd.DataFrame({"time_s": segments["end_s"], "key": segments[column], "d": -1}),
        ]
    )
    table = deltas.pivot_table(index="time_s", columns="key", values="d", aggfunc="sum")
    table = table.reindex(columns=list(order)).fillna(0).sort_index().cumsum()
    return table.round().astype(int)


def counts_at(segments: pd.DataFrame, column: str, time: float) -> dict[str, int]:
    """How many segments of each ``column`` value are open at ``time`` (start <= t < end)."""
    open_ = segments[(segments["start_s"] <= time) & (segments["end_s"] > time)]
    return {str(k): int(v) for k, v in open_[column].value_counts().sort_index().items()}


# -- pending pods by the scheduler's reason -----------------------------------------------------


def scheduler_reason(message: str) -> str:
    """The scheduler's reason in short: '0/1 nodes are available: 1 Insufficient cpu.' ->
    'Insufficient cpu'; '... 1 node(s) had untolerated taint {...}.' -> 'had untolerated
    taint {...}'. A message of another shape is kept whole."""
    text = str(message).strip()
    if not _NODES_AVAILABLE.match(text):
        return text
    # Preemption's part (". preemption: ...") says why evicting would not help: left out.
    text = _NODES_AVAILABLE.sub("", text).split(". preemption: ")[0].rstrip(".")
    return _ONE_NODE.sub(lambda m: m.group(1), text)


def cause_words(causes: Any) -> str:
    """An event's ``causes`` as a figure's label: "Insufficient cpu; node(s) had
    untolerated taint {...}" -> "Insufficient cpu, had untolerated taint {...}", as the
    message of one node reads
    ("" when it has none: results written before causes were recorded)."""
    if not isinstance(causes, str) or not causes:
        return ""
    return ", ".join(c.removeprefix("node(s) ") for c in causes.split("; "))


def pending_reasons(res: Results, replication: int = 0) -> pd.DataFrame:
    """Every pod's time Pending as (pod, workload, reason, start_s, end_s) rows.

    The reason at an instant is that of the scheduler's latest ``FailedScheduling``
    event for the pod: its ``causes``, each filter reason once whatever the number of
    nodes that gave it (:func:`cause_words`; results written before causes were
    recorded: the message, :func:`scheduler_reason`); before the first, :data:`NOT_TRIED`.
    """
    end = float(res.duration)
    columns = ["pod", "workload", "reason", "start_s", "end_s"]
    transitions = one_replication(res, "transitions", replication)
    if transitions.empty:
        return pd.DataFrame(columns=columns)
    windows = {
        pod: [(a, b) for a, b, s in rows if s == "pending"]
        for pod, rows in _phase_windows(transitions, end).items()
    }
    events = one_replication(res, "events", replication)
    refusals: dict[str, list[tuple[float, str]]] = defaultdict(list)
    if not events.empty:
        fs = events[events["reason"] == "FailedScheduling"].sort_values("time_s", kind="stable")
        causes = fs["causes"] if "causes" in fs.columns else pd.Series("", index=fs.index)
        for t, pod, msg, why in zip(
            fs["time_s"].to_numpy(float), fs["object"], fs["message"], causes, strict=True
        ):
            refusals[str(pod)].append((t, cause_words(why) or scheduler_reason(msg)))
    workload = workload_of(res, replication)
    rows = []
    for pod, spans in windows.items():
        said = refusals.get(pod, [])
        for a, b in spans:
            # The reason in force at a: the latest message at or before it.
            before = [r for t, r in said if t <= a]
            reason = before[-1] if before else NOT_TRIED
            t0 = a
            for t, r in said:
                if a < t < b and r != reason:
                    rows.append((pod, workload.get(pod, pod), reason, t0, t))
                    t0, reason = t, r
            rows.append((pod, workload.get(pod, pod), reason, t0, b))
    df = pd.DataFrame(rows, columns=columns)
    return df.sort_values(["start_s", "pod"], kind="stable", ignore_index=True)


# -- committed memory of capped containers -------------------------------------------------------


def refusals(res: Results, replication: int = 0) -> pd.DataFrame:
    """Every allocation a job object or the node refused: time_s, pod, container, by, bytes
    (the container's commit when it was refused), from kubelet's ``Failed`` events."""
    columns = ["time_s", "pod", "container", "by", "bytes"]
    events = one_replication(res, "events", replication)
    if events.empty:
        return pd.DataFrame(columns=columns)
    failed = events[(events["reason"] == "Failed") & (events["kind"] == "Pod")]
    rows = []
    for t, pod, msg in zip(failed["time_s"], failed["object"], failed["message"], strict=True):
        m = _REFUSED.match(str(msg))
        if m:
            rows.append((float(t), str(pod), m["container"], m["by"], float(m["bytes"])))
    return pd.DataFrame(rows, columns=columns)


def memory_limits(res: Results) -> dict[tuple[str, str], float]:
    """(workload, container) -> its job memory limit in bytes, from the scenario's settings
    (run.json's workloads, ``memory_limits_bytes``; results written before they were kept
    have none)."""
    out: dict[tuple[str, str], float] = {}
    for w in res.meta.get("workloads", []):
        for container, limit in (w.get("memory_limits_bytes") or {}).items():
            if limit:
                out[(str(w["name"]), str(container))] = float(limit)
    return out


INSTANCE_COLUMNS = [
    "pod",
    "workload",
    "container",
    "instance",
    "started_s",
    "ended_s",
    "start_bytes",
    "growth_bytes_per_s",
    "memory_cap",
    "refused_at_start",
]


def container_memory(res: Results, replication: int = 0) -> pd.DataFrame:
    """Each instance of a capped container with its commit at start and its growth.

    Capped: the container has a job memory limit (:func:`memory_limits`) or a job object
    refused it an allocation. The records hold no per-container memory over time, so
    ``start_bytes`` and ``growth_bytes_per_s`` are read off the node's memory series:

    - an instance that started at an instant no other container started or ended:
      the jump of the node's commit then is its start commit, the change of the node's
      slope its growth;
    - a container's growth is one rate for all its instances (the scenario's
      ``memoryGrowth`` is a rate, not a draw): at an instant where only k instances of
      it start, the slope changes by k times that rate;
    - an instance that ended alone at its instant gave back its commit then (the drop
      of the node's commit): with the container's growth, that gives its start commit,
      unless it was held at its cap (a degrading container at its limit).

    An instance none of these reach has NaN there (not attributable). An instance's
    commit is ``start_bytes + growth * (t - started_s)`` up to its limit (spikes are in
    no record). ``refused_at_start``: it started past its cap and went at once.
    """
    containers = one_replication(res, "containers", replication)
    limits = memory_limits(res)
    refused = refusals(res, replication)
    if containers.empty:
        return pd.DataFrame(columns=INSTANCE_COLUMNS)
    workload = workload_of(res, replication)
    capped = set(limits)
    for pod, c in zip(refused["pod"], refused["container"], strict=True):
        capped.add((workload.get(pod, pod), c))
    keys = list(
        zip(containers["workload"].astype(str), containers["container"].astype(str), strict=True)
    )
    mine = containers[[k in capped for k in keys]]
    if mine.empty:
        return pd.DataFrame(columns=INSTANCE_COLUMNS)
    degrade = {
        w["name"] for w in res.meta.get("workloads", []) if w.get("on_memory_cap") == "degrade"
    }
    series = one_replication(res, "series", replication)
    if "node" not in containers:  # results written before tables had a node column
        containers, mine, series = (t.assign(node="n") for t in (containers, mine, series))
    rows: list[tuple[Any, ...]] = []
    # Each node's commit is its own: its containers are read against its series.
    for node, on_node in containers.groupby("node", sort=False):
        picked = mine[mine["node"] == node]
        if not picked.empty:
            rows += _attributed(on_node, picked, series[series["node"] == node], limits, degrade)
    return pd.DataFrame(rows, columns=INSTANCE_COLUMNS)


def _attributed(
    containers: pd.DataFrame,
    mine: pd.DataFrame,
    series: pd.DataFrame,
    limits: dict[tuple[str, str], float],
    degrade: set[str],
) -> list[tuple[Any, ...]]:
    """:func:`container_memory`'s rows for the instances ``mine`` of one node, from its
    ``containers`` and its ``series``."""
    jump, dslope = _commit_steps(series)
    keys = list(
        zip(containers["workload"].astype(str), containers["container"].astype(str), strict=True)
    )
    # Every container's starts and ends, with whose they are.
    ended = containers["ended_s"].notna()
    stamps = pd.DataFrame(
        {
            "time_s": np.r_[
                containers["started_s"].to_numpy(float),
                containers.loc[ended, "ended_s"].to_numpy(float),
            ],
            "key": [*keys, *(k for k, e in zip(keys, ended, strict=True) if e)],
            "start": np.r_[np.ones(len(containers), bool), np.zeros(int(ended.sum()), bool)],
        }
    )
    at = stamps.groupby("time_s")
    alone = at.size().eq(1)
    # Instants where only starts of one container happen: its growth, k times over.
    pure = at.agg(n=("start", "size"), starts=("start", "sum"), keys=("key", "nunique"))
    pure = pure[(pure["n"] == pure["starts"]) & (pure["keys"] == 1)]
    first_key = at["key"].first()
    growth_of: dict[Any, float] = {}
    for t, row in pure.iterrows():
        if t in dslope.index:
            growth_of.setdefault(first_key[t], float(dslope[t]) / int(row["n"]))
        else:
            growth_of.setdefault(first_key[t], 0.0)
    rows: list[tuple[Any, ...]] = []
    for r in mine.itertuples(index=False):
        key = (str(r.workload), str(r.container))
        start, end = float(r.started_s), r.ended_s
        at_start = start == end
        base = growth = np.nan
        if not at_start and alone.get(start, False):
            base = float(jump.get(start, 0.0))
            growth = float(dslope.get(start, 0.0))
        elif not at_start and key in growth_of and finite(end) and alone.get(end, False):
            growth = growth_of[key]
            given_back = -float(jump.get(end, 0.0))
            limit = limits.get(key)
            held = key[0] in degrade and limit is not None and given_back >= limit - 1.0
            if not held:
                base = given_back - growth * (float(end) - start)
            else:
                growth = np.nan
        rows.append(
            (
                r.pod,
                r.workload,
                r.container,
                r.instance,
                start,
                end,
                base,
                growth,
                bool(r.memory_cap),
                at_start,
            )
        )
    return rows


def _commit_steps(series: pd.DataFrame) -> tuple[pd.Series, pd.Series]:
    """Per series instant: the jump of the node's commit and the change of its slope."""
    if series.empty:
        return pd.Series(dtype=float), pd.Series(dtype=float)
    t = series["time_s"].to_numpy(float)
    value = series["memory_committed_bytes"].to_numpy(float)
    slope = series["memory_commit_slope_bytes_per_s"].to_numpy(float)
    before = np.r_[0.0, value[:-1] + slope[:-1] * np.diff(t)]
    slope_before = np.r_[0.0, slope[:-1]]
    # Rounding of the node's running sums leaves a few bytes where nothing moved.
    jump = np.where(np.abs(value - before) < 1.0, 0.0, value - before)
    return pd.Series(jump, index=t), pd.Series(slope - slope_before, index=t)


def instance_path(
    start: float, base: float, growth: float, stop: float, limit: float | None
) -> list[tuple[float, float]]:
    """An instance's commit from ``start`` to ``stop``: a line at ``growth`` from ``base``,
    held at ``limit`` once it gets there (a degrading container carries on at its cap)."""
    if limit is None or growth <= 0 or base + growth * (stop - start) <= limit:
        return [(start, base), (stop, base + growth * max(stop - start, 0.0))]
    reach = start + max(limit - base, 0.0) / growth
    return [(start, min(base, limit)), (reach, limit), (stop, limit)]


def finite(value: Any) -> bool:
    return value is not None and not (isinstance(value, float) and math.isnan(value))
