"""``hpsim size``: the smallest node count (or pool max) that meets an objective.

``size(sc, ["pending_s_p95<=300"])`` searches one node pool's size: a fixed pool's
``count``, or an autoscaled pool's ``max`` (the most nodes the Cluster Autoscaler may
run). The objective is assumed monotone in that number: more nodes never make it
worse.

**Common random numbers.** Replication i of every candidate runs on the streams of
``SeedSequence(seed, spawn_key=(i,))``, as replication i of ``hpsim run -r N`` and of
``hpsim sweep -r N`` (N > 1) does: two candidates differ by their node count, not by
their dice (the same arrivals, lifetimes and demands), so the difference between
neighbours is measured pairwise, far more sharply than two independent samples allow.

**At each candidate** replications run in order until the Student-t confidence
interval of each objective metric's mean lies wholly on one side of its bound: inside
it, the candidate *meets* the objective; outside, it *fails* (one objective failing
fails the candidate). The rule is checked after each replication in order, so the
verdict is the one a sequential run would reach, whichever executor ran how many
ahead (Law, *Simulation Modeling and Analysis*, 5th ed., §9.4.1, the sequential
procedure; here stopped on which side of a bound the interval lies). Past
``max_replications`` without that, the candidate is *undecided*. A metric no
replication gave a value has *no value* there (pending time where no pod was bound).

**The search.** From the scenario's own value, galloping (1, 2, 4, ... nodes away)
towards the side that changes the verdict, then bisecting: the answer is the smallest
n judged to meet the objective whose neighbour n - 1 was judged not to (it failed, or
stayed undecided, or had no value), or the low end of the range. An undecided
candidate counts as not meeting: the answer is what is shown to meet it at the
confidence asked.

With an output folder every run's ``summary.json`` is kept, written atomically, and
the same search again (or another objective on the same scenario, pool and seed)
reuses them::

    DIR/size.json                       scenario hash, pool, what is searched, seed
    DIR/candidates/n0006/rep-0.json     one run's summary (count 6, replication 0)
    DIR/answer.json                     the last search: candidates, verdicts, answer
    DIR/report.html, report.md, figures/  its report (hpsim report DIR writes it again)
"""

from __future__ import annotations

import copy
import hashlib
import json
import math
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from hpsim import atomic
from hpsim.errors import HpsimError, excerpt
from hpsim.experiment.executors import (
    Executor,
    InProcess,
    RunOutcome,
    RunSpec,
    execute,
    make_executor,
    remember,
)
from hpsim.experiment.options import check_whole
from hpsim.experiment.progress import Progress, wanted
from hpsim.experiment.run import RunFailed, check_seed
from hpsim.experiment.stopping import MAX_REPLICATIONS, MIN_REPLICATIONS, metric_key
from hpsim.experiment.sweep import claim_folder
from hpsim.observe.output import os_reason, shown_path, summary_json
from hpsim.observe.stats import interval
from hpsim.observe.sweepreport import OPS, split_objective
from hpsim.scenario.load import LoadedScenario, load, load_data
from hpsim.scenario.schema import POOL_NODES_LIMIT, REPLICATIONS_LIMIT

SIZE_FILE = "size.json"
ANSWER_FILE = "answer.json"
_IDENTITY = ("scenario_sha256", "pool", "knob", "seed", "align")

# The default range searched: from the pool's least sensible value up to this many times
# the scenario's own value, and at least DEFAULT_HIGH_MIN. Our choice: a pool sized a
# quarter of what it needs is rare, and bisection makes a wide range cheap.
DEFAULT_HIGH_FACTOR = 4
DEFAULT_HIGH_MIN = 8

# What every run keeps beside the objectives' metrics, for the notes: pods the pending
# metrics leave out (still pending, never bound) and the nodes an autoscaled pool ran.
CONTEXT = ("pods_pending_at_end", "pods_never_bound", "nodes_mean", "nodes_max")

MEETS, FAILS, UNDECIDED, NO_VALUE = "meets", "fails", "undecided", "no value"


# -- objectives ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Goal:
    """``metric op value``: ``pending_s_p95 <= 300``, the bound in the metric's own unit."""

    metric: str
    op: str
    value: float

    @property
    def text(self) -> str:
        """As the user could write it, the bound whole in the metric's unit (never 1e+11)."""
        v = self.value
        return f"{self.metric}{self.op}{int(v) if v.is_integer() else v!r}"

    def verdict(self, low: float, high: float) -> str:
        """Where the interval [low, high] lies: wholly meeting the bound, wholly not, or
        across it."""
        test = OPS[self.op]
        if test(low, self.value) and test(high, self.value):
            return MEETS
        if not test(low, self.value) and not test(high, self.value):
            return FAILS
        return UNDECIDED

    def to_json(self) -> dict[str, Any]:
        return {"text": self.text, "metric": self.metric, "op": self.op, "value": self.value}


def parse_goal(text: str) -> Goal:
    """``"pending_s_p95<=300"``; the metric as ``--until`` takes it (``p95_pending``), one
    of ``<=``, ``<``, ``>=``, ``>``, and a number in the metric's unit."""
    name, op, number = split_objective(text)
    metric = metric_key(name, field="--objective")
    return Goal(metric, op, _bound(metric, name, op, number))


def _bound(metric: str, name: str, op: str, number: str) -> float:
    """The bound in the metric's unit: a number, or for a duration or a size what a scenario
    takes (``5m``, ``2Gi``)."""
    from hpsim.units import parse_duration, parse_quantity
    from hpsim.words import bytes_words, duration_words, unit_words

    try:
        value = float(number)
    except ValueError:
        value = math.nan
        words = unit_words(metric)
        try:
            if words is duration_words:
                value = parse_duration(number)
            elif words is bytes_words:
                value = float(parse_quantity(number))
        except (ValueError, HpsimError):
            pass
    if not math.isfinite(value):
        raise HpsimError(
            f'"{excerpt(number)}" is not a number (the bound of {excerpt(name)} {op} ...)',
            field="--objective",
        )
    return value


def parse_nodes(text: str) -> tuple[int, int]:
    """``"2..12"``: the range of node counts searched, both ends included."""
    m = re.fullmatch(r"\s*(\d+)\s*\.\.\s*(\d+)\s*", text)
    if m is None:
        raise HpsimError(f'expected LO..HI, e.g. "1..12"; got "{excerpt(text)}"', field="--nodes")
    lo, hi = int(m.group(1)), int(m.group(2))
    if lo < 1:
        raise HpsimError(f"the range starts at 1 node or more (got {lo})", field="--nodes")
    if lo > hi:
        raise HpsimError(f"{lo}..{hi}: the low end is above the high end", field="--nodes")
    if hi > POOL_NODES_LIMIT:
        raise HpsimError(
            f"{hi} nodes is more than a pool may hold ({POOL_NODES_LIMIT:,})", field="--nodes"
        )
    return lo, hi


def check_confidence(confidence: float) -> None:
    if (
        isinstance(confidence, bool)
        or not isinstance(confidence, int | float)
        or not 0.5 <= confidence < 1
    ):
        raise HpsimError(
            f"a confidence level from 0.5 up to (not including) 1, e.g. 0.95 (got {confidence!r})",
            field="--confidence",
        )


# -- the plan -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class SizePlan:
    """A checked search: the scenario, the pool and its knob, the range, the objectives."""

    loaded: LoadedScenario
    pool: str
    pool_index: int
    knob: str  # "count" (a fixed pool) or "max" (an autoscaled one)
    scenario_value: int
    low: int
    high: int
    range_given: bool
    goals: tuple[Goal, ...]
    confidence: float
    minimum: int
    maximum: int
    seed: int
    align: bool

    @property
    def start(self) -> int:
        return min(self.high, max(self.low, self.scenario_value))

    def identity(self) -> dict[str, Any]:
        """What makes two searches' runs the same runs."""
        return {
            "scenario_sha256": self.loaded.digest,
            "pool": self.pool,
            "knob": self.knob,
            "seed": self.seed,
            "align": self.align,
        }

    def data(self, nodes: int) -> dict[str, Any]:
        """The scenario's data with the pool's knob set to ``nodes``."""
        data = copy.deepcopy(self.loaded.data)
        data["nodePools"][self.pool_index][self.knob] = nodes
        return data

    def range_words(self) -> str:
        if self.range_given:
            return f"{self.low}..{self.high}"
        return (
            f"{self.low}..{self.high} (the default: up to {DEFAULT_HIGH_FACTOR} x the "
            f"scenario's {self.scenario_value}, at least {DEFAULT_HIGH_MIN})"
        )


def _pool(loaded: LoadedScenario, name: str | None) -> tuple[int, Any]:
    pools = loaded.scenario.node_pools
    if not pools:
        raise HpsimError(
            "hpsim size searches a node pool's size, and this scenario has one node (node:); "
            "write it as nodePools: [{name: win, count: 1, node: {...}}]",
            file=loaded.file,
            field="node",
        )
    names = [p.name for p in pools]
    if name is None:
        if len(pools) > 1:
            raise HpsimError(
                f"the scenario has {len(pools)} node pools ({', '.join(names)}): "
                "say which to size with --pool",
                file=loaded.file,
                field="--pool",
            )
        return 0, pools[0]
    if name not in names:
        import difflib

        near = difflib.get_close_matches(name, names, 1, 0.6)
        hint = f' (did you mean "{near[0]}"?)' if near else ""
        raise HpsimError(
            f'no node pool named "{excerpt(name)}"{hint}; pools: {", ".join(names)}',
            file=loaded.file,
            field="--pool",
        )
    return names.index(name), pools[names.index(name)]


def plan(
    scenario: LoadedScenario | str | Path,
    objectives: Sequence[str | Goal],
    *,
    pool: str | None = None,
    nodes: str | tuple[int, int] | None = None,
    confidence: float = 0.95,
    replications: int | None = None,
    max_replications: int = MAX_REPLICATIONS,
    seed: int | None = None,
) -> SizePlan:
    """Check a search without running it: every input error is raised here, before any
    folder is made or run started."""
    if not objectives:
        raise HpsimError(
            'give at least one objective, e.g. --objective "pending_s_p95<=300"',
            field="--objective",
        )
    goals = tuple(g if isinstance(g, Goal) else parse_goal(g) for g in objectives)
    check_confidence(confidence)
    minimum = MIN_REPLICATIONS if replications is None else replications
    # Two replications at least: one gives no interval.
    check_whole(minimum, "--replications", 2, REPLICATIONS_LIMIT)
    check_whole(max_replications, "--max-replications", 2, REPLICATIONS_LIMIT)
    if max_replications < minimum:
        raise HpsimError(
            f"{max_replications} is below the minimum of {minimum} (-r)",
            field="--max-replications",
        )
    check_seed(seed, "--seed")
    loaded = scenario if isinstance(scenario, LoadedScenario) else load(scenario)
    index, spec = _pool(loaded, pool)
    knob = "max" if spec.autoscaled else "count"
    value = int(spec.max if spec.autoscaled else spec.initial)
    # An autoscaled pool's max is at least its min and its starting count.
    floor = max(1, spec.min or 0, spec.count or 0) if spec.autoscaled else 1
    if nodes is None:
        lo, hi = floor, min(POOL_NODES_LIMIT, max(DEFAULT_HIGH_MIN, DEFAULT_HIGH_FACTOR * value))
        given = False
    else:
        lo, hi = parse_nodes(nodes) if isinstance(nodes, str) else nodes
        given = True
        if lo < floor:
            raise HpsimError(
                f"pool {spec.name} autoscales from min {spec.min}"
                + (f" (count {spec.count} at the start)" if spec.count is not None else "")
                + f": its max is searched from {floor} up (got {lo}..{hi})",
                file=loaded.file,
                field="--nodes",
            )
    p = SizePlan(
        loaded=loaded,
        pool=spec.name,
        pool_index=index,
        knob=knob,
        scenario_value=value,
        low=lo,
        high=hi,
        range_given=given,
        goals=goals,
        confidence=float(confidence),
        minimum=minimum,
        maximum=max_replications,
        seed=loaded.scenario.seed if seed is None else seed,
        align=any(g.metric == "aligned_bases_saving_bytes" for g in goals),
    )
    # Both ends go through the loader: a count it refuses is refused now.
    for n in sorted({lo, hi}):
        candidate(p, n)
    return p


def candidate(p: SizePlan, nodes: int) -> LoadedScenario:
    """The scenario with ``nodes`` as the pool's knob, loaded and checked."""
    loaded = p.loaded
    try:
        return load_data(
            p.data(nodes),
            file=loaded.file,
            base_dir=loaded.base_dir,
            allow_outside=loaded.allow_outside,
        )
    except HpsimError as exc:
        raise HpsimError(
            f"{exc.detail} (with pool {p.pool}'s {p.knob} {nodes})",
            file=loaded.file,
            field=exc.field,
        ) from None


def default_output(p: SizePlan) -> Path:
    """``results/<scenario>/size-<hash>``: one folder per scenario, pool and seed, so that
    another objective on them reuses the runs."""
    text = json.dumps(p.identity(), sort_keys=True)
    return (
        Path("results") / p.loaded.name / f"size-{hashlib.sha256(text.encode()).hexdigest()[:10]}"
    )


# -- the folder ---------------------------------------------------------------------------------


def _claim(out: Path, p: SizePlan) -> None:
    """Start or resume the runs in ``out``; refuse a folder that holds something else."""
    manifest = {
        "hpsim_size": 1,
        "scenario": p.loaded.name,
        "scenario_file": p.loaded.file,
        **p.identity(),
    }
    claim_folder(
        out,
        SIZE_FILE,
        manifest,
        _IDENTITY,
        record="size record",
        other="the runs of another search",
        shown=shown_path(out),
    )


def _run_file(out: Path, nodes: int, rep: int) -> Path:
    return out / "candidates" / f"n{nodes:04d}" / f"rep-{rep}.json"


def _read_run(out: Path | None, nodes: int, rep: int) -> dict[str, Any] | None:
    if out is None:
        return None
    path = _run_file(out, nodes, rep)
    try:
        return dict(json.loads(path.read_text()))
    except (OSError, ValueError):
        return None  # missing, or unreadable: run it again


# -- the search ---------------------------------------------------------------------------------


def _number(value: Any) -> float | None:
    if value is None or isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return None if math.isnan(value) else float(value)


@dataclass
class Judgement:
    """One candidate, judged on its first ``replications`` runs."""

    nodes: int
    replications: int
    verdict: str
    goals: list[dict[str, Any]]
    context: dict[str, float | None]
    order: int = 0  # the order the search evaluated it in


def judge(
    goals: Sequence[Goal], summaries: Sequence[dict[str, Any]], confidence: float, final: bool
) -> tuple[str, list[dict[str, Any]]] | None:
    """The candidate's verdict on these runs, or None while more runs could decide it.

    ``final``: no more runs will come (the maximum is reached), so an interval still
    across a bound is UNDECIDED.
    """
    rows = []
    for g in goals:
        values = [_number(s.get(g.metric)) for s in summaries]
        iv = interval(values, confidence)
        mean, half, n = iv["mean"], iv["half_width"], int(iv["n"] or 0)
        row: dict[str, Any] = {
            "metric": g.metric,
            "objective": g.text,
            "values": values,
            "n": n,
            "mean": mean,
            "half_width": half,
            "low": None,
            "high": None,
        }
        if n == 0:
            row["verdict"] = NO_VALUE
        elif half is None:
            row["verdict"] = UNDECIDED
        else:
            assert mean is not None
            row["low"], row["high"] = mean - half, mean + half
            row["verdict"] = g.verdict(mean - half, mean + half)
        rows.append(row)
    verdicts = {r["verdict"] for r in rows}
    if FAILS in verdicts:
        return FAILS, rows
    if NO_VALUE in verdicts:
        return NO_VALUE, rows
    if UNDECIDED in verdicts:
        return (UNDECIDED, rows) if final else None
    return MEETS, rows


def _context(summaries: Sequence[dict[str, Any]]) -> dict[str, float | None]:
    out: dict[str, float | None] = {}
    for key in CONTEXT:
        values = [v for s in summaries if (v := _number(s.get(key))) is not None]
        out[key] = sum(values) / len(values) if values else None
    return out


def _summary_only(spec: RunSpec) -> RunOutcome:
    """A run's outcome without its tables: the search reads only the summary."""
    outcome = execute(spec)
    outcome.tables = None
    return outcome


@dataclass
class _Search:
    plan: SizePlan
    ex: Executor
    out: Path | None
    bar: Progress
    runs: dict[int, list[dict[str, Any]]] = field(default_factory=dict)
    judged: dict[int, Judgement] = field(default_factory=dict)
    scenarios: dict[int, LoadedScenario] = field(default_factory=dict)
    resumed: int = 0
    ran: int = 0
    planned: int = 0  # the progress bar's total so far

    def _spec(self, data: dict[str, Any], nodes: int, rep: int) -> RunSpec:
        loaded = self.plan.loaded
        return RunSpec(
            key=(f"n{nodes}", rep),
            data=data,
            file=loaded.file,
            base_dir=str(loaded.base_dir),
            entropy=self.plan.seed,
            # (i,) whatever the number of replications: common random numbers.
            spawn_key=(rep,),
            align=self.plan.align,
            allow_outside=loaded.allow_outside,
        )

    def _more(self, nodes: int, have: list[dict[str, Any]], end: int) -> None:
        """Replications len(have) .. end-1 of ``nodes``: from the folder, or run."""
        if nodes not in self.scenarios:
            self.scenarios[nodes] = candidate(self.plan, nodes)
            if isinstance(self.ex, InProcess):
                remember(self.scenarios[nodes])
        scenario = self.scenarios[nodes]
        todo = []
        found: dict[int, dict[str, Any]] = {}
        for i in range(len(have), end):
            old = _read_run(self.out, nodes, i)
            if old is not None:
                found[i] = old
                self.resumed += 1
            else:
                todo.append(self._spec(scenario.data, nodes, i))
        need = self.bar.done + len(todo)
        if need > self.planned:
            self.bar.grow(need - self.planned)
            self.planned = need
        for outcome in self.ex.map(_summary_only, todo):
            self.bar.update(outcome.ok)
            if not outcome.ok:
                assert outcome.error is not None
                if outcome.error.get("input_error"):
                    raise HpsimError(outcome.error["message"], file=self.plan.loaded.file)
                raise RunFailed(outcome.error)
            assert outcome.summary is not None
            rep = outcome.key[1]
            found[rep] = outcome.summary
            self.ran += 1
            if self.out is not None:
                try:
                    atomic.write_text(
                        _run_file(self.out, nodes, rep), summary_json(outcome.summary)
                    )
                except OSError as exc:
                    raise HpsimError(
                        f"could not write results to {shown_path(self.out)}: {os_reason(exc)}"
                    ) from None
        for i in range(len(have), end):
            have.append(found[i])

    def evaluate(self, nodes: int) -> str:
        """The candidate's verdict, replicating until it is decided or the maximum."""
        if nodes in self.judged:
            return self.judged[nodes].verdict
        p = self.plan
        have = self.runs.setdefault(nodes, [])
        if self.out is not None:
            folder = self.out / "candidates" / f"n{nodes:04d}"
            try:
                folder.mkdir(parents=True, exist_ok=True)
                atomic.clean_leftovers(folder)  # what a killed write left
            except OSError as exc:
                raise HpsimError(
                    f"could not write results to {shown_path(self.out)}: {os_reason(exc)}"
                ) from None
        checked = 1  # the first prefix not yet judged is have[:checked + 1]
        while True:
            decided = None
            for m in range(max(p.minimum, checked + 1), len(have) + 1):
                got = judge(p.goals, have[:m], p.confidence, final=m >= p.maximum)
                checked = m
                if got is not None:
                    decided = (m, got)
                    break
            if decided is not None:
                m, (verdict, rows) = decided
                self.judged[nodes] = Judgement(
                    nodes, m, verdict, rows, _context(have[:m]), order=len(self.judged)
                )
                return verdict
            start = len(have)
            # Up to the minimum at once, then a batch per worker (the verdict is the
            # sequential one: a batch's surplus runs are kept, not counted).
            end = min(p.maximum, max(p.minimum, start + max(1, self.ex.jobs)))
            self._more(nodes, have, end)


def pair_up(s: _Search, answer: int | None) -> list[dict[str, Any]]:
    """The paired difference between the answer and one node fewer, over as many
    replications as the better-replicated of the two had (the other is topped up: a
    paired interval is sharper than either verdict needed)."""
    p = s.plan
    if answer is None or answer - 1 not in s.judged:
        return []
    k = max(s.judged[answer].replications, s.judged[answer - 1].replications)
    for n in (answer, answer - 1):
        if len(s.runs[n]) < k:
            s._more(n, s.runs[n], k)
    return paired(p.goals, s.runs[answer][:k], s.runs[answer - 1][:k], p.confidence)


def search(s: _Search) -> int | None:
    """The smallest count in the plan's range that meets every objective, or None."""
    p = s.plan

    def meets(n: int) -> bool:
        return s.evaluate(n) == MEETS

    lo, hi = p.low, p.high
    start = p.start
    bad = lo - 1  # the largest count known not to meet it (lo - 1: none tried below lo)
    good: int | None = None
    step = 1
    if meets(start):
        good = start
        while good > lo:
            c = max(lo, good - step)
            if meets(c):
                good, step = c, step * 2
            else:
                bad = c
                break
    else:
        bad = start
        while bad < hi:
            c = min(hi, bad + step)
            if meets(c):
                good = c
                break
            bad, step = c, step * 2
        if good is None:
            return None
    while good - bad > 1:
        mid = (good + bad) // 2
        if meets(mid):
            good = mid
        else:
            bad = mid
    return good


# -- results ------------------------------------------------------------------------------------


def paired(
    goals: Sequence[Goal],
    upper: Sequence[dict[str, Any]],
    lower: Sequence[dict[str, Any]],
    confidence: float,
) -> list[dict[str, Any]]:
    """Per objective metric: replication i at n minus replication i at n - 1 (same random
    numbers), over the replications both have a value for; mean and t-interval."""
    out = []
    for g in dict.fromkeys(goals):
        diffs = []
        for a, b in zip(upper, lower, strict=False):
            va, vb = _number(a.get(g.metric)), _number(b.get(g.metric))
            if va is not None and vb is not None:
                diffs.append(va - vb)
        iv = interval(diffs, confidence)
        mean, half = iv["mean"], iv["half_width"]
        out.append(
            {
                "metric": g.metric,
                "n": int(iv["n"] or 0),
                "mean": mean,
                "half_width": half,
                "low": None if mean is None or half is None else mean - half,
                "high": None if mean is None or half is None else mean + half,
                "differences": diffs,
            }
        )
    return out


@dataclass
class SizeResults:
    """What ``hpsim.size`` returns: the record ``answer.json`` holds (``record``), the
    answer (``nodes``: None when no count in the range meets the objectives) and each
    candidate as a row (``candidates()``)."""

    record: dict[str, Any]
    output: Path | None = None

    @property
    def nodes(self) -> int | None:
        n = self.record["answer"]["nodes"]
        return None if n is None else int(n)

    def candidates(self) -> Any:
        """One row per candidate evaluated: nodes, verdict, replications, and per objective
        metric its mean, low and high (the t-interval) and verdict."""
        import pandas as pd

        rows = []
        for c in self.record["candidates"]:
            row: dict[str, Any] = {
                "nodes": c["nodes"],
                "verdict": c["verdict"],
                "replications": c["replications"],
            }
            for g in c["objectives"]:
                for k in ("mean", "low", "high", "verdict"):
                    row[f"{g['metric']}_{k}"] = g[k]
            rows.append(row)
        return pd.DataFrame(rows)

    def lines(self) -> list[str]:
        from hpsim.observe.sizereport import answer_lines

        return answer_lines(self.record)


def _record(
    p: SizePlan, s: _Search, answer: int | None, pairs: list[dict[str, Any]], out: Path | None
) -> dict[str, Any]:
    cands = []
    for n in sorted(s.judged):
        j = s.judged[n]
        cands.append(
            {
                "nodes": n,
                "order": j.order,
                "verdict": j.verdict,
                "replications": j.replications,
                "objectives": j.goals,
                "context": j.context,
            }
        )
    neighbour = None
    status = "none"
    if answer is not None:
        status = "low end" if answer == p.low else "found"
        if answer - 1 in s.judged:
            neighbour = answer - 1
    notes = []
    # More nodes never hurt, by assumption: say where the verdicts say otherwise.
    meeting = [n for n in sorted(s.judged) if s.judged[n].verdict == MEETS]
    failing = [n for n in sorted(s.judged) if s.judged[n].verdict == FAILS]
    if meeting and failing and min(meeting) < max(failing):
        notes.append(
            f"not monotone: {min(meeting)} meets the objective, {max(failing)} fails it; "
            "the search assumes more nodes never make it worse"
        )
    from hpsim import __version__

    return {
        "hpsim_size": 1,
        "hpsim": __version__,
        "scenario": p.loaded.name,
        "scenario_file": p.loaded.file,
        "scenario_sha256": p.loaded.digest,
        "seed": p.seed,
        "pool": p.pool,
        "knob": p.knob,
        "scenario_value": p.scenario_value,
        "range": [p.low, p.high],
        "range_given": p.range_given,
        "objectives": [g.to_json() for g in p.goals],
        "confidence": p.confidence,
        "min_replications": p.minimum,
        "max_replications": p.maximum,
        "common_random_numbers": (
            f"replication i of every candidate runs on SeedSequence({p.seed}, spawn_key=(i,))"
        ),
        "candidates": cands,
        "answer": {"nodes": answer, "status": status, "neighbour": neighbour, "paired": pairs},
        "notes": notes,
        "runs": {"ran": s.ran, "reused": s.resumed},
        "results": str(out) if out is not None else None,
    }


def size(
    scenario: LoadedScenario | str | Path | SizePlan,
    objectives: Sequence[str | Goal] = (),
    *,
    pool: str | None = None,
    nodes: str | tuple[int, int] | None = None,
    confidence: float = 0.95,
    replications: int | None = None,
    max_replications: int = MAX_REPLICATIONS,
    seed: int | None = None,
    executor: str | Executor | None = None,
    jobs: int | None = None,
    scheduler: str | None = None,
    output: str | Path | None = None,
    report: bool = True,
    progress: bool | None = False,
) -> SizeResults:
    """The smallest node count of a pool (a fixed pool's ``count``, an autoscaled one's
    ``max``) in ``nodes`` (``"LO..HI"``) that meets every objective (``"pending_s_p95<=300"``)
    at ``confidence``; see the module's docstring for how. ``replications`` is the least
    number of runs per candidate (default 3), ``max_replications`` the most. With
    ``output`` each run's summary is kept there (the same search again reuses them),
    with ``answer.json`` and, with ``report``, report.html and report.md.
    """
    p = (
        scenario
        if isinstance(scenario, SizePlan)
        else plan(
            scenario,
            objectives,
            pool=pool,
            nodes=nodes,
            confidence=confidence,
            replications=replications,
            max_replications=max_replications,
            seed=seed,
        )
    )
    out = Path(output) if output is not None else None
    ex = make_executor(executor, jobs=jobs, scheduler=scheduler)
    try:
        ex.start()
        if out is not None:
            try:
                _claim(out, p)
                atomic.clean_leftovers(out)
            except OSError as exc:
                raise HpsimError(
                    f"cannot write results to {shown_path(out)}: {os_reason(exc)}"
                ) from None
    except BaseException:
        ex.close()
        raise
    with ex, Progress(p.minimum, show=wanted(progress), desc=p.loaded.name) as bar:
        s = _Search(p, ex, out, bar, planned=p.minimum)
        answer = search(s)
        pairs = pair_up(s, answer)
    record = _record(p, s, answer, pairs, out)
    if out is not None:
        try:
            text = json.dumps(record, indent=2, sort_keys=True, default=_json_default) + "\n"
            atomic.write_text(out / ANSWER_FILE, text)
            if report:
                from hpsim.observe.sizereport import write_size_report

                write_size_report(out)
        except OSError as exc:
            raise HpsimError(
                f"could not write results to {shown_path(out)}: {os_reason(exc)}"
            ) from None
    return SizeResults(record, out)


def _json_default(value: Any) -> Any:
    if hasattr(value, "item"):
        return value.item()
    return str(value)


def size_json(res: SizeResults) -> str:
    """``hpsim size -o json``: the record answer.json holds."""
    return json.dumps(res.record, indent=2, sort_keys=True, default=_json_default)


def size_command(args: Any) -> int:
    """``hpsim size``: check everything, search, print the answer.

    Exit status: 0 a count in the range meets every objective; 1 none does (the
    answer says so), or a run failed; 2 bad input.
    """
    import sys

    from hpsim.experiment.commands import check_jobs, executor_choice, load_scenario
    from hpsim.observe.output import check_output

    check_jobs(args.jobs)
    p = plan(
        load_scenario(args.scenario, args.allow_outside_files),
        args.objectives,
        pool=args.pool,
        nodes=args.nodes,
        confidence=args.confidence,
        replications=args.replications,
        max_replications=args.max_replications,
        seed=args.seed,
    )
    out = Path(args.results) if args.results is not None else default_output(p)
    if not (out / SIZE_FILE).is_file():
        check_output(out)  # a new folder: it must be writable (else _claim words it)
    if not args.quiet:
        print(
            f"{p.loaded.name}: pool {p.pool}'s {p.knob} over {p.range_words()}, "
            f"{', '.join(g.text for g in p.goals)} at {p.confidence:g} confidence, "
            f"{p.minimum} to {p.maximum} replications a candidate, seed {p.seed} -> {out}",
            file=sys.stderr,
        )
    try:
        res = size(
            p,
            executor=executor_choice(args),
            jobs=args.jobs,
            scheduler=args.scheduler,
            output=out,
            progress=None if not args.quiet else False,
        )
    except RunFailed as exc:
        r = exc.record
        print(
            f"hpsim: run {r['point']} rep-{r['replication']} failed: {r['type']}: "
            f"{excerpt(r['message'], 300)} (the runs finished are kept in {shown_path(out)}: "
            "the same command resumes)",
            file=sys.stderr,
        )
        return 1
    if args.output == "json":
        print(size_json(res))
    elif not args.quiet:
        print("\n".join(res.lines()))
    return 0 if res.nodes is not None else 1
