"""Warnings from outcomes: what went wrong in a run, in plain words, from its records alone.

A run can finish, exit 0 and still answer "this does not work": a workload
whose pods never become Ready (an OS build mismatch, an image nobody defined, a
request no node fits), a crash loop, pods left waiting for the scheduler, an
eviction storm, a full disk, a GC that cannot free enough. Each such outcome is
a :class:`Finding`: its kind, the workload it concerns (if one), and a sentence
that says what happened and why, quoting kubelet's or the scheduler's own words.

Findings are built from the tables, the headline numbers and the scenario's
workload list (``Results.meta``) -- never from the model. ``hpsim run`` prints
them after the headline numbers (``--fail-on-warning`` exits 1 when there is
one), the report puts them first, and ``summary.json`` holds them under
``warnings``.

Thresholds that are ours, not Kubernetes', are named below.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
import pandas as pd

from hpsim.words import (
    DAY,
    Quote,
    bytes_words,
    duration_words,
    mean_count_words,
    mean_of,
    with_interval,
)
from hpsim.words import noun_words as count_words

# Ours: a pod that waited longer than this for the scheduler is worth a warning. Windows pods
# already spend minutes pulling; five more minutes pending is a node that is too small.
PENDING_WARN_S = 300.0
# Ours: pods created this close to the end are too young to be judged "never Ready" (a
# servercore pull alone takes 10-15 min at node bootstrap).
TOO_YOUNG_S = 1800.0
# Ours: at least this share of a workload's pods (judged, see TOO_YOUNG_S) never Ready.
NOT_READY_SHARE = 0.10
# Ours: this many evictions within EVICTION_STORM_WINDOW_S is a storm, not an eviction.
EVICTION_STORM_COUNT = 10
EVICTION_STORM_WINDOW_S = 3600.0

# Why pods never became Ready, recognised in kubelet's and containerd's messages.
OS_MISMATCH = "does not match the host operating system"
NO_PLATFORM_MATCH = "no match for platform in manifest"  # containerd's platform matcher
NOT_FOUND = ": not found"
CRASH_LOOP = "Back-off restarting failed container"
GENERIC_ERROR = r"Error: \w+"  # kubelet's "Error: ErrImagePull" after the real message


@dataclass(frozen=True)
class Finding:
    """One warning: ``kind`` (a stable identifier), the workload it concerns, the sentence."""

    kind: str
    workload: str | None
    text: str

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def findings(
    tables: dict[str, pd.DataFrame],
    summary: dict[str, Any],
    meta: dict[str, Any],
    duration: float,
    quote: Quote = str,
) -> list[Finding]:
    """Every warning a reader must not miss, most serious first (names through ``quote``).

    ``summary`` is the headline numbers (means over replications), ``meta`` the scenario's
    facts (its workloads, the number of replications), ``duration`` the simulated seconds.
    """
    f = _Facts(tables, summary, meta, duration, quote)
    out: list[Finding] = []
    out += f.refused()
    out += f.not_ready()
    out += f.crash_loops()
    out += f.memory_caps()
    out += f.pending()
    out += f.evictions()
    out += f.disk()
    out += f.images()
    return out


class _Facts:
    """The tables, numbers and scenario facts the warnings are read from."""

    def __init__(
        self,
        tables: dict[str, pd.DataFrame],
        summary: dict[str, Any],
        meta: dict[str, Any],
        duration: float,
        quote: Quote,
    ) -> None:
        self.s = summary
        self.meta = meta
        self.q = quote
        empty = pd.DataFrame()
        self.pods = tables.get("pods", empty)
        self.events = tables.get("events", empty)
        self.containers = tables.get("containers", empty)
        self.reps = max(1, int(meta.get("replications", 1) or 1))
        self.duration = duration
        self.workloads = [w["name"] for w in meta.get("workloads", [])]
        self.host_process = {w["name"] for w in meta.get("workloads", []) if w.get("host_process")}
        self.on_cap = {w["name"]: w.get("on_memory_cap") for w in meta.get("workloads", [])}
        self._refused: set[str] = set()
        self._reported: set[str] = set()  # workloads whose trouble a finding already told
        self._disk_full_told = False  # a host-writes finding said when the disk filled

    # -- helpers ---------------------------------------------------------------------------------

    def _per_run(self, n: float) -> str:
        """A count over every replication, as a count per run."""
        return mean_count_words(n / self.reps)

    def _pod_events(self, pods: pd.DataFrame) -> pd.DataFrame:
        ev = self.events
        if ev.empty or pods.empty:
            return ev.iloc[0:0] if not ev.empty else ev
        both = "replication" in ev and "replication" in pods
        keys = ["object", "replication"] if both else ["object"]
        names = pods[["pod", *keys[1:]]].rename(columns={"pod": "object"}).drop_duplicates()
        return ev[ev["kind"] == "Pod"].merge(names, on=keys, how="inner")

    def _cause(self, pods: pd.DataFrame) -> str:
        """Why these pods did not become Ready, in the words of the component that said so."""
        q = self.q
        unscheduled = pods[pods["scheduled_s"].isna()]
        if len(unscheduled) * 2 > len(pods):
            msg = _most_common(self._scheduler_messages(unscheduled))
            return "the scheduler never placed them" + (f': "{q(msg)}"' if msg else "")
        warn = self._pod_events(pods)
        if not warn.empty:
            warn = warn[(warn["type"] == "Warning") & (warn["reason"] != "BackOff")]
            # kubelet follows each failure with a bare "Error: ErrImagePull" (or the like):
            # the message before it says what failed.
            told = warn[~warn["message"].str.fullmatch(GENERIC_ERROR)]
            warn = told if not told.empty else warn
        msg = _most_common(warn["message"]) if not warn.empty else None
        if msg is None:
            starting = pods[pods["started_s"].isna() & pods["scheduled_s"].notna()]
            if len(starting):
                return "they were still pulling images or starting (no error)"
            return "their containers started but never all ran at once"
        reason = _most_common(warn.loc[warn["message"] == msg, "reason"]) or ""
        if OS_MISMATCH in msg:
            return (
                "their image's Windows build cannot run on this host (process isolation needs "
                f'the host\'s build): {q(reason)}: "{q(msg)}"'
            )
        if NO_PLATFORM_MATCH in msg:
            return (
                "their image is a manifest list with no entry containerd matches to this "
                f'host\'s Windows build, so the pull fails: "{q(msg)}"'
            )
        if NOT_FOUND in msg:
            return (
                "their image cannot be pulled: the scenario's images: section and hpsim's "
                f'catalogue do not define it, so the registry answers not found: "{q(msg)}"'
            )
        return f'{q(reason)}: "{q(msg)}"'

    # -- the warnings ------------------------------------------------------------------------------

    def refused(self) -> list[Finding]:
        pods = self.pods
        if pods.empty or "phase" not in pods:
            return []
        out = []
        for r in pods[pods["phase"] == "Refused"].drop_duplicates("workload").itertuples():
            wl = str(r.workload)
            self._refused.add(wl)
            self._reported.add(wl)
            out.append(
                Finding(
                    "refused",
                    wl,
                    f"Workload {self.q(wl)} never runs: {self.q(r.reason)}: {self.q(r.message)}",
                )
            )
        return out

    def not_ready(self) -> list[Finding]:
        """Workloads whose pods (old enough to judge) never became Ready."""
        pods = self.pods
        if pods.empty or "ready_s" not in pods:
            return []
        out = []
        judged = pods[
            (pods["phase"] != "Refused")
            & ((pods["created_s"] <= self.duration - TOO_YOUNG_S) | pods["finished_s"].notna())
        ]
        for wl, group in judged.groupby("workload", sort=False):
            wl = str(wl)
            if wl in self._refused:
                continue
            never = group[group["ready_s"].isna()]
            if never.empty:
                continue
            share = len(never) / len(group)
            cause = self._cause(never)
            restarts = int(never["restarts"].sum())
            loop = (
                f"; its containers restarted {count_words(restarts / self.reps, 'time')} "
                "per run in CrashLoopBackOff"
                if restarts / self.reps >= 1
                else ""
            )
            if len(never) == len(group):
                self._reported.add(wl)
                pods = count_words(len(group) / self.reps, "pod")
                text = (
                    f"Workload {self.q(wl)} never became Ready (none of {pods} per run): "
                    f"{cause}{loop}."
                )
                out.append(Finding("never-ready", wl, text))
            elif share >= NOT_READY_SHARE and len(never) / self.reps >= 2:
                self._reported.add(wl)
                text = (
                    f"Workload {self.q(wl)}: {self._per_run(len(never))} of its "
                    f"{self._per_run(len(group))} pods per run never became Ready: {cause}{loop}."
                )
                out.append(Finding("not-ready", wl, text))
        return out

    def crash_loops(self) -> list[Finding]:
        """Containers that kept failing (CrashLoopBackOff), beyond what other findings told."""
        ev = self.events
        if ev.empty or self.pods.empty:
            return []
        loops = ev[(ev["reason"] == "BackOff") & ev["message"].str.startswith(CRASH_LOOP)]
        if loops.empty:
            return []
        owner = self.pods[["pod", "workload"]].drop_duplicates("pod")
        loops = loops.merge(owner, left_on="object", right_on="pod", how="inner")
        out = []
        alloc = self.s.get("alloc_failures_by_workload") or {}
        for wl in sorted(set(loops["workload"].astype(str))):
            if wl in self._reported or (mean_of(alloc.get(wl)) or 0.0) > 0:
                continue  # told already (never Ready, or memory caps below)
            pods = self.pods[self.pods["workload"] == wl]
            restarts = float(pods["restarts"].sum()) / self.reps
            looping = loops.loc[loops["workload"] == wl, "object"].nunique()
            out.append(
                Finding(
                    "crash-loop",
                    wl,
                    f"Workload {self.q(wl)} crash-loops: {count_words(restarts, 'restart')} per "
                    f"run in {self._per_run(looping)} of its pods (CrashLoopBackOff)"
                    f"{self._exits(wl)}.",
                )
            )
        return out

    def _exits(self, wl: str) -> str:
        """'; its containers exit with code 1 (Error)': the most common failed exit."""
        c = self.containers
        if c.empty or "exit_code" not in c:
            return ""
        failed = c[(c["workload"] == wl) & (c["reason"] == "Error")]
        code = _most_common(failed["exit_code"].dropna().astype(int).astype(str))
        return f"; its containers exit with code {code} (Error)" if code is not None else ""

    def memory_caps(self) -> list[Finding]:
        s, q = self.s, self.q
        out = []
        for wl, v in sorted((s.get("alloc_failures_by_workload") or {}).items()):
            failures = mean_of(v) or 0.0
            if failures <= 0:
                continue
            restarts = mean_of((s.get("restarts_by_workload") or {}).get(wl)) or 0.0
            running = mean_of((s.get("running_fraction_by_workload") or {}).get(wl))
            text = (
                f"Workload {q(wl)}: its job object refused "
                f"{count_words(failures, 'allocation')} per run (Windows has no OOM killer) and "
            )
            if restarts >= 0.5:
                text += f"it restarted {count_words(restarts, 'time')}"
            elif self.on_cap.get(wl) == "degrade":
                text += "it carried on degraded (its allocations failing, no restart)"
            else:
                text += "it did not restart"
            if running is not None and running < 0.995:
                text += f"; it ran {100 * running:.1f}% of the time"
            out.append(Finding("memory-cap", wl, text + "."))
        return out

    def pending(self) -> list[Finding]:
        """Pods that waited for the scheduler longer than PENDING_WARN_S, and those left."""
        pods, q = self.pods, self.q
        out: list[Finding] = []
        if pods.empty or "pending_s" not in pods:
            return out
        waited = pods["pending_s"].fillna(self.duration - pods["created_s"])
        slow = pods[(waited > PENDING_WARN_S) & (pods["phase"] != "Refused")]
        for wl, group in slow.groupby("workload", sort=False):
            wl = str(wl)
            if wl in self._reported:
                continue
            total = len(pods[pods["workload"] == wl])
            longest = float(waited[group.index].max())
            msg = _most_common(self._scheduler_messages(group))
            text = (
                f"Workload {q(wl)}: {self._per_run(len(group))} of "
                f"{count_words(total / self.reps, 'pod')} per run waited more than "
                f"{duration_words(PENDING_WARN_S)} for the "
                f"scheduler (the longest {duration_words(longest)})"
            )
            out.append(Finding("pending", wl, text + (f': "{q(msg)}".' if msg else ".")))
        # Pods left Pending whose workload no finding has told of yet.
        still = pods[(pods["phase"] == "Pending") & ~pods["workload"].isin(self._reported)]
        left = len(still) / self.reps
        if left >= 0.5:
            msg = _most_common(self._scheduler_messages(still))
            why = f' ("{q(msg)}")' if msg else ""
            text = f"{count_words(left, 'pod')} still Pending at the end{why}."
            out.append(Finding("pending-at-end", None, text))
        return out

    def _scheduler_messages(self, pods: pd.DataFrame) -> pd.Series:
        ev = self._pod_events(pods)
        if ev.empty:
            return pods["message"].dropna()
        return ev.loc[ev["reason"] == "FailedScheduling", "message"]

    def evictions(self) -> list[Finding]:
        s = self.s
        out: list[Finding] = []
        first = mean_of(s.get("first_eviction_s"))
        writers = self._host_writers()
        out += [w for _, w in writers]
        if first is None:
            return out
        names = [n for n, _ in writers]
        out.append(Finding("eviction", None, self._eviction_words(first, names)))
        storm = self._storm()
        if storm is not None:
            out.append(storm)
        return out

    def _host_writers(self) -> list[tuple[str, Finding]]:
        s, q = self.s, self.q
        first = mean_of(s.get("first_eviction_s"))
        full_after_end = mean_of(s.get("disk_full_in_s_after_end"))
        rates = s.get("host_writes_bytes_per_s_by_workload") or {}
        out = []
        for name in sorted(rates):
            rate = mean_of(rates[name]) or 0.0
            if name not in self.host_process or rate <= 0 or name in self._refused:
                continue
            text = (
                f"HostProcess workload {q(name)} writes {bytes_words(rate * DAY)}/day to host "
                "paths that kubelet does not count"
            )
            full = mean_of(s.get("disk_full_s"))
            if first is not None:
                text += f": the node reaches eviction after {duration_words(first)}"
            elif full is not None:
                text += f": the disk is full after {duration_words(full)}"
                self._disk_full_told = True
            elif full_after_end is not None:
                text += (
                    ": at the end's rate of growth the disk is full "
                    f"{duration_words(full_after_end)} after the run"
                )
            out.append((name, Finding("host-writes", name, text + ".")))
        return out

    def _eviction_words(self, first: float, writers: list[str]) -> str:
        """When kubelet first evicted, which workloads it evicted, whether the writers went on."""
        pods, q = self.pods, self.q
        evicted: list[str] = []
        if not pods.empty and "reason" in pods:
            evicted = sorted(set(pods.loc[pods["reason"] == "Evicted", "workload"].astype(str)))
        text = (
            f"kubelet first evicts pods after {duration_words(first)} "
            f"({with_interval(self.s.get('evictions'))} evictions in the run"
            + (f": {', '.join(map(q, evicted))}" if evicted else "")
            + ")"
        )
        spared = [w for w in writers if w not in evicted]
        hit = [w for w in writers if w in evicted]
        if spared:
            text += (
                f"; it does not evict {', '.join(map(q, spared))}, whose host-path writes it "
                "cannot see: they go on filling the disk"
            )
        if hit:
            text += (
                f"; evicting {', '.join(map(q, hit))} frees none of the host-path writes, "
                "which stay on the volume"
            )
        return text + "."

    def _storm(self) -> Finding | None:
        """The most evictions within EVICTION_STORM_WINDOW_S, if a storm (in any replication)."""
        ev = self.events
        if ev.empty:
            return None
        evicted = ev[ev["reason"] == "Evicted"]
        best: tuple[int, float, str] | None = None
        groups = evicted.groupby("replication") if "replication" in evicted else [(0, evicted)]
        for _, group in groups:
            times = np.sort(group["time_s"].to_numpy(dtype=float))
            if len(times) < EVICTION_STORM_COUNT:
                continue
            ends = np.searchsorted(times, times + EVICTION_STORM_WINDOW_S, side="left")
            counts = ends - np.arange(len(times))
            i = int(np.argmax(counts))
            if best is None or counts[i] > best[0]:
                end = times[i] + EVICTION_STORM_WINDOW_S
                window = group[(group["time_s"] >= times[i]) & (group["time_s"] < end)]
                best = (int(counts[i]), float(times[i]), _resource(window["message"]))
        if best is None or best[0] < EVICTION_STORM_COUNT:
            return None
        n, start, resource = best
        return Finding(
            "eviction-storm",
            None,
            f"Eviction storm: kubelet evicted {n} pods within an hour from "
            f"{duration_words(start)} on{resource}.",
        )

    def disk(self) -> list[Finding]:
        s = self.s
        out = []
        full = mean_of(s.get("disk_full_s"))
        if full is not None and not self._disk_full_told:
            out.append(
                Finding(
                    "disk-full",
                    None,
                    f"The C: volume is full after {duration_words(full)}: every write on the "
                    'node fails from then on ("There is not enough space on the disk.").',
                )
            )
        gc_failures = mean_of(s.get("image_gc_failures")) or 0.0
        if gc_failures > 0:
            out.append(
                Finding(
                    "gc-failed",
                    None,
                    "kubelet's image GC could not free enough space "
                    f"{count_words(gc_failures, 'time')} (FreeDiskSpaceFailed).",
                )
            )
        believed = mean_of(s.get("image_gc_believed_freed_bytes")) or 0.0
        really = mean_of(s.get("image_gc_actual_freed_bytes")) or 0.0
        if believed > 1.5 * really:
            out.append(
                Finding(
                    "gc-miscounts",
                    None,
                    f"kubelet's image GC believed it freed {bytes_words(believed)}, but the volume "
                    f"got back {bytes_words(really)}: kubelet counts each image's compressed "
                    "size, while deleting an image frees only the layers no other image shares.",
                )
            )
        return out

    def images(self) -> list[Finding]:
        s = self.s
        saving = mean_of(s.get("aligned_bases_saving_bytes")) or 0.0
        versions = [v for v in (s.get("image_bytes_by_os_version") or {}) if v != "none"]
        if saving <= 0:
            return []
        return [
            Finding(
                "mixed-bases",
                None,
                f"Images sit on {len(versions)} Windows base versions; aligned on the host's "
                f"LTSC base they would take {bytes_words(saving)} less disk.",
            )
        ]


def _most_common(values: pd.Series) -> str | None:
    """The most frequent non-empty string (ties: the first seen), or None."""
    values = values.dropna().astype(str)
    values = values[values != ""]
    if values.empty:
        return None
    counts = values.value_counts(sort=False)
    return str(counts.index[int(np.argmax(counts.to_numpy()))])


def _resource(messages: pd.Series) -> str:
    """' (ephemeral-storage)' from kubelet's "The node was low on resource: X." messages."""
    found = messages.str.extract(r"low on resource: ([\w.-]+)\.", expand=False).dropna()
    return f" ({', '.join(sorted(set(found)))})" if not found.empty else ""
