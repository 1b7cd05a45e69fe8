"""Fit a pool's ``network`` and extraction rate to the pulls its kubelets reported.

The model inverted is hpsim's own (:mod:`hpsim.calibrate.pullmodel`): a lone pull takes
``max_j(g_j/network + T_j/E)`` where ``E`` is the extraction rate the layer applies get,
``unpackRate / unpackSlowdown`` with antivirus real-time scanning on. Each pull's shape
comes from the scenario's image (its layers: the scenario's ``images:`` on the built-in
catalogue) and from what its node already held: the pool's ``prePulledImages`` and the
images the node pulled before, replayed in time order (layers shared by digest, chains by
chain ID, as containerd shares them). No image GC is replayed.

What the pulls can tell apart. A pull downloads and extracts its compressed bytes; the
unpacked size does not enter its time in the model. So a one-layer image takes
``size x (1/network + 1/E)`` and pulls of such images, whatever their sizes, fix only that
sum. The two rates separate only where downloads and applies overlap differently: images
of several layers of similar size (later layers download while the first extracts), or a
small first layer. The fit says so when the pulls cannot separate them (and then a rate
can be fixed: ``fix_network`` / ``fix_extraction``).

Method. Least absolute deviations on log durations (the median's robustness: a pull 10x
slower than the rest moves it little): with both rates free, the ratio ``r = ln(E^-1 /
network^-1)`` is searched on a grid over 1e-4..1e4 then refined by golden section, the
scale being the median of the log residuals at each r. The 95% interval is a seeded
nonparametric bootstrap (pulls resampled with replacement; percentile interval); a bound
the resamples push to the grid's edge is reported open (None). The spread is the robust
lognormal sigma of the per-pull duration multipliers (1.4826 x their log MAD): the
node's ``pullSpread``, each pull's lognormal factor on its work.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from hpsim.calibrate.kubelet import ObservedPull
from hpsim.calibrate.pullmodel import PullShape, pull_shape
from hpsim.errors import HpsimError, excerpt
from hpsim.node.containerd import Image, Layer
from hpsim.node.images import resolve_images
from hpsim.scenario.derived import unpack_throughput
from hpsim.scenario.schema import NodePool, Scenario
from hpsim.words import bytes_words, duration_words

LEVEL = 0.95
BOOTSTRAP = 400
# Grid of ln(extraction seconds per byte / download seconds per byte): 1e-4..1e4.
_RATIO_SPAN = math.log(1e4)
_STEP = 0.05
_GOLDEN = (math.sqrt(5) - 1) / 2
_IDENTIFIED = 1e-6  # below this the pulls' residuals move together: one combination only
MAD_SIGMA = 1.4826  # MAD -> sigma for a normal distribution
# Pulls closer than this are taken as one after another, not overlapping: event times have
# one-second resolution (lastTimestamp), kubelet truncates durations to milliseconds.
OVERLAP_SLACK_S = 1.0
SIZE_MISMATCH = 0.02  # kubelet's image size this far from the scenario's: say so


class NotIdentified(HpsimError):
    """The pulls fix fewer rates than the fit asks for."""


@dataclass(frozen=True)
class RateFit:
    """A fitted rate (bytes/s) with its 95% interval; None: not bounded by the pulls."""

    value: float | None
    low: float | None
    high: float | None
    fixed: bool = False

    def scaled(self, k: float) -> RateFit:
        def mul(v: float | None) -> float | None:
            return None if v is None else v * k

        return RateFit(mul(self.value), mul(self.low), mul(self.high), self.fixed)

    def to_json(self) -> dict[str, Any]:
        return {"Bps": self.value, "low_Bps": self.low, "high_Bps": self.high, "fixed": self.fixed}

    def words(self) -> str:
        if self.fixed:
            return f"{rate_words(self.value)} (fixed)"
        if self.value is None:
            return "not determined by these pulls"
        low = rate_words(self.low) if self.low is not None else "0"
        high = rate_words(self.high) if self.high is not None else "unbounded"
        return f"{rate_words(self.value)}  (95% interval {low} to {high})"


@dataclass(frozen=True)
class Excluded:
    label: str
    where: str
    reason: str


@dataclass(frozen=True)
class Outlier:
    label: str
    observed_s: float
    model_s: float


@dataclass(frozen=True)
class PullCase:
    """A pull the fit uses: what was observed and the shape the model gives it."""

    pull: ObservedPull
    shape: PullShape


@dataclass(frozen=True)
class Calibration:
    """The fit: rates with intervals, what was used and left out, the residuals."""

    pool: str
    network: RateFit
    extraction: RateFit  # what layer applies get (unpackRate / unpackSlowdown)
    unpack_rate: RateFit  # the scenario's unpackRate: extraction x unpack_slowdown
    unpack_slowdown: float  # 1 without antivirus real-time scanning
    pulls_used: int
    excluded: tuple[Excluded, ...]
    sigma: float  # lognormal sigma of per-pull duration multipliers
    median_abs_log_error: float
    outliers: tuple[Outlier, ...]
    bootstrap: int
    seed: int
    images: int  # distinct images among the pulls used
    notes: tuple[str, ...] = ()
    figures: dict[str, int] | None = None  # event counts by reason, when read from events
    level: float = LEVEL

    def to_json(self) -> dict[str, Any]:
        return {
            "pool": self.pool,
            "network": self.network.to_json(),
            "extraction": self.extraction.to_json(),
            "unpackRate": self.unpack_rate.to_json(),
            "unpack_slowdown": self.unpack_slowdown,
            "level": self.level,
            "pulls_used": self.pulls_used,
            "images": self.images,
            "excluded": [
                {"pull": e.label, "where": e.where, "reason": e.reason} for e in self.excluded
            ],
            "spread": {
                "sigma": self.sigma,
                "median_abs_log_error": self.median_abs_log_error,
                "written": False,
            },
            "outliers": [
                {"pull": o.label, "observed_s": o.observed_s, "model_s": o.model_s}
                for o in self.outliers
            ],
            "bootstrap": {"replicates": self.bootstrap, "seed": self.seed},
            "notes": list(self.notes),
            "event_figures": self.figures,
        }

    def text(self) -> str:
        lines = [
            f"pool {self.pool}: {self.pulls_used} pulls of {self.images} images used, "
            f"{len(self.excluded)} left out",
            f"  network      {self.network.words()}",
            f"  extraction   {self.extraction.words()}",
        ]
        if self.unpack_slowdown != 1:
            lines.append(
                f"  unpackRate   {self.unpack_rate.words()}\n"
                f"               (extraction x {self.unpack_slowdown:g}: the node's antivirus "
                "real-time scanning slows extraction that much)"
            )
        else:
            lines.append(f"  unpackRate   {self.unpack_rate.words()}")
        lines.append(
            f"  spread       sigma {self.sigma:.2f} (lognormal, per-pull duration multiplier; "
            f"median error {100 * (math.exp(self.median_abs_log_error) - 1):.0f}%): "
            "the node's pullSpread"
        )
        lines.append(
            f"  interval     {self.level:.0%}, bootstrap of {self.bootstrap} resamples "
            f"(seed {self.seed})"
        )
        for o in self.outliers:
            lines.append(
                f"  outlier      {o.label}: {duration_words(o.observed_s)} observed, "
                f"{duration_words(o.model_s)} in the model "
                f"({o.observed_s / o.model_s:.1f}x)"
            )
        for e in self.excluded:
            lines.append(f"  left out     {e.label} ({e.where}): {e.reason}")
        for note in self.notes:
            lines.append(f"  note         {note}")
        if self.figures is not None:
            counts = ", ".join(f"{k} {v}" for k, v in self.figures.items())
            lines.append(f"  events       {counts} (to compare with a run's figures)")
        return "\n".join(lines)


# -- from observed pulls to pull shapes ------------------------------------------------------


def pick_pool(scenario: Scenario, name: str | None) -> NodePool:
    pools = scenario.pools
    if name is None:
        if len(pools) == 1:
            return pools[0]
        names = ", ".join(p.name for p in pools)
        raise HpsimError(f"the scenario has several pools ({names}): give --pool NAME")
    for pool in pools:
        if pool.name == name or (scenario.node is not None and name == pool.node.name):
            return pool
    names = ", ".join(p.name for p in pools)
    raise HpsimError(f"no pool '{excerpt(name)}' in the scenario (pools: {names})", field="--pool")


def _overlaps(pulls: Sequence[ObservedPull], serialized: bool) -> dict[int, str]:
    """Pulls (by index) that were not alone on their node, with why."""
    out: dict[int, str] = {}
    spans = sorted(
        (p.time_s - p.pull_s, p.time_s, i) for i, p in enumerate(pulls) if p.time_s is not None
    )
    for k, (start, end, i) in enumerate(spans):
        for start2, end2, j in spans[k + 1 :]:
            if start2 >= end - OVERLAP_SLACK_S:
                break
            slack = OVERLAP_SLACK_S + 0.02 * min(end - start, end2 - start2)
            if min(end, end2) - start2 <= slack:
                continue
            later = j if end2 >= end else i
            if serialized and pulls[later].includes_waiting:
                out.setdefault(
                    later,
                    "its time includes a wait in kubelet's queue (kubelet before 1.26 gives "
                    "one duration) behind a pull that overlaps it",
                )
            else:
                why = "in flight with another pull on its node (they shared link and extraction)"
                out.setdefault(i, why)
                out.setdefault(j, why)
    return out


def _observed_image(pull: ObservedPull) -> Image | None:
    if not pull.bytes:
        return None
    return Image(ref=pull.image, layers=(Layer(f"sha256:observed:{pull.image}", pull.bytes, 0),))


def prepare(
    pulls: Sequence[ObservedPull], scenario: Scenario, pool: NodePool
) -> tuple[list[PullCase], list[Excluded], list[str]]:
    """Each pull's shape on its node, replaying what its node held; the pulls left out
    with why; notes (sizes that disagree with the scenario's, images read as one layer)."""
    node = pool.node
    images = resolve_images(scenario, node)
    slots = node.containerd.max_concurrent_downloads
    discard = node.containerd.discard_unpacked_layers
    serialized = node.kubelet.pulls_serialized
    excluded: list[Excluded] = []
    notes: list[str] = []
    cases: list[PullCase] = []
    by_node: dict[str, list[ObservedPull]] = defaultdict(list)
    for p in pulls:
        by_node[p.node].append(p)
    one_layer: set[str] = set()
    mismatched: set[str] = set()
    for name, group in by_node.items():
        timed = all(p.time_s is not None for p in group)
        order = sorted(group, key=lambda p: (p.time_s or 0.0) - p.pull_s) if timed else list(group)
        overlap = _overlaps(order, serialized) if name else {}
        blobs: set[str] = set()
        chains: set[str] = set()
        for ref in node.pre_pulled:
            pre = images.get(ref)
            if pre is not None:
                if not discard:
                    blobs.update(lay.digest for lay in pre.layers)
                chains.update(pre.chain_ids)
        for i, p in enumerate(order):
            image = images.get(p.image)
            if image is None:
                image = _observed_image(p)
                if image is not None:
                    one_layer.add(p.image)
            elif p.bytes and abs(p.bytes - image.size) > SIZE_MISMATCH * image.size:
                mismatched.add(
                    f"{p.image}: kubelet reports {bytes_words(p.bytes)}, the scenario "
                    f"{bytes_words(image.size)} (the scenario's layers are used)"
                )
            if image is None:
                excluded.append(
                    Excluded(
                        p.label,
                        p.where,
                        "image neither in the scenario nor in the catalogue, and no size given",
                    )
                )
                continue
            shape = pull_shape(image, blobs, chains, max_concurrent_downloads=slots)
            if not discard:
                blobs.update(lay.digest for lay in image.layers)
            chains.update(image.chain_ids)
            reason = overlap.get(i)
            if shape.empty:
                reason = "its node already held every layer (nothing for the model to pull)"
            elif p.pull_s <= 0:
                reason = "a duration of 0"
            if reason is not None:
                excluded.append(Excluded(p.label, p.where, reason))
                continue
            cases.append(PullCase(p, shape))
        if not timed and len(group) > 1 and name:
            notes.append(
                f"node {name}: pulls without times, taken in file order for what the node held"
            )
    if any(not p.node for p in pulls):
        notes.append("pulls without a node: each replayed on the node pulls before it listed")
    if one_layer:
        notes.append(
            f"{len(one_layer)} image(s) unknown to the scenario read as one layer of "
            "kubelet's reported size: " + ", ".join(sorted(one_layer)[:5])
        )
    notes.extend(sorted(mismatched))
    waited = sum(
        1
        for c in cases
        if c.pull.including_waiting_s is not None
        and c.pull.including_waiting_s > 1.1 * c.pull.pull_s + 5
    )
    if waited:
        notes.append(
            f"{waited} pulls waited in kubelet's queue: their pull time without the wait is used"
        )
    return cases, excluded, notes


# -- the fit ------------------------------------------------------------------------------


@dataclass
class _Problem:
    """Log model durations over a 1-D parameter; ``profile``: a free log-scale offset."""

    grid: np.ndarray
    log_model: Callable[[float, np.ndarray], np.ndarray]  # (theta, rows) -> log durations
    profile: bool
    on_grid: np.ndarray = field(init=False)  # (grid, pulls)

    def __post_init__(self) -> None:
        self.on_grid = np.empty((0, 0))


def _loss(res: np.ndarray, profile: bool) -> tuple[float, float]:
    offset = float(np.median(res)) if profile else 0.0
    return float(np.abs(res - offset).sum()), offset


def _solve(problem: _Problem, log_d: np.ndarray, rows: np.ndarray) -> tuple[float, float, int]:
    """(theta, offset, edge): the LAD fit on these rows; edge -1/+1 at the grid's ends."""
    res = log_d[rows][None, :] - problem.on_grid[:, rows]
    if problem.profile:
        res = res - np.median(res, axis=1, keepdims=True)
    losses = np.abs(res).sum(axis=1)
    best = int(np.argmin(losses))
    grid = problem.grid
    last = len(grid) - 1
    lo, hi = grid[max(best - 1, 0)], grid[min(best + 1, last)]

    def f(theta: float) -> float:
        return _loss(log_d[rows] - problem.log_model(theta, rows), problem.profile)[0]

    a, b = float(lo), float(hi)
    c, d = b - _GOLDEN * (b - a), a + _GOLDEN * (b - a)
    fc, fd = f(c), f(d)
    for _ in range(48):
        if fc <= fd:
            b, d, fd = d, c, fc
            c = b - _GOLDEN * (b - a)
            fc = f(c)
        else:
            a, c, fc = c, d, fd
            d = a + _GOLDEN * (b - a)
            fd = f(d)
    theta = (a + b) / 2
    if f(theta) > losses[best]:
        theta = float(grid[best])
    _, offset = _loss(log_d[rows] - problem.log_model(theta, rows), problem.profile)
    edge = -1 if best == 0 else (1 if best == last else 0)
    return theta, offset, edge


def _quantiles(values: np.ndarray) -> tuple[float, float]:
    lo, hi = np.quantile(values, [(1 - LEVEL) / 2, (1 + LEVEL) / 2], method="inverted_cdf")
    return float(lo), float(hi)


def rate_words(bps: float | None) -> str:
    """Bytes/s in MiB/s to three figures (a fit's digits, not rate_words' whole units)."""
    if bps is None:
        return "-"
    return f"{bps / 2**20:.3g} MiB/s"


def _bound(v: float) -> float | None:
    return v if math.isfinite(v) and v > 0 else None


def fit(
    cases: Sequence[PullCase],
    *,
    pool: str = "",
    unpack_slowdown: float = 1.0,
    fix_network: float | None = None,
    fix_extraction: float | None = None,
    seed: int = 0,
    bootstrap: int = BOOTSTRAP,
    excluded: Sequence[Excluded] = (),
    notes: Sequence[str] = (),
) -> Calibration:
    """Fit the rates to these pulls (see the module docstring)."""
    if fix_network is not None and fix_extraction is not None:
        raise HpsimError("fix one rate at most: with both fixed there is nothing to fit")
    n = len(cases)
    images = len({c.pull.image for c in cases})
    if n < 2:
        raise NotIdentified(
            f"{n} usable pull(s): a fit needs at least 2 (3 or more of images with different "
            "layer structures to fit both rates)"
        )
    width = max(len(c.shape.applied) for c in cases)
    g = np.zeros((n, width))
    t = np.zeros((n, width))
    for k, c in enumerate(cases):
        g[k, : len(c.shape.fetched)] = c.shape.fetched
        t[k, : len(c.shape.applied)] = c.shape.applied
    log_d = np.log(np.array([c.pull.pull_s for c in cases]))
    rows_all = np.arange(n)
    notes = list(notes)

    if fix_network is None and fix_extraction is None:
        grid = np.arange(-_RATIO_SPAN, _RATIO_SPAN + _STEP / 2, _STEP)

        def both(theta: float, rows: np.ndarray) -> np.ndarray:
            return np.log(np.max(g[rows] + t[rows] * math.exp(theta), axis=1))

        problem = _Problem(grid, both, profile=True)
    elif fix_network is not None:
        x0 = 1.0 / fix_network
        center = float(np.median(log_d - np.log(t[:, 0])))
        grid = np.arange(center - 12, center + 1 + _STEP / 2, _STEP)

        def ext(theta: float, rows: np.ndarray) -> np.ndarray:
            return np.log(np.max(g[rows] * x0 + t[rows] * math.exp(theta), axis=1))

        problem = _Problem(grid, ext, profile=False)
    else:
        assert fix_extraction is not None
        y0 = 1.0 / fix_extraction
        center = float(np.median(log_d - np.log(np.max(g, axis=1))))
        grid = np.arange(center - 12, center + 1 + _STEP / 2, _STEP)

        def net(theta: float, rows: np.ndarray) -> np.ndarray:
            return np.log(np.max(g[rows] * math.exp(theta) + t[rows] * y0, axis=1))

        problem = _Problem(grid, net, profile=False)
    problem.on_grid = np.stack([problem.log_model(float(th), rows_all) for th in grid])

    if problem.profile:
        moved = problem.on_grid - problem.on_grid[len(grid) // 2]
        spread = float(np.max(moved.max(axis=1) - moved.min(axis=1)))
        if spread < _IDENTIFIED:
            per_byte = float(np.exp(np.median(log_d - np.log(t[:, 0]))))
            raise NotIdentified(
                f"network and unpackRate cannot be told apart from these {n} pulls of {images} "
                "image(s): each downloads and then extracts its bytes in the same proportion "
                "(one layer, or layers the model fetches before the first extracts), so they "
                "fix only 1/network + 1/extraction, here "
                f"{per_byte * 1e9:.3g} s per GB (as one rate, {rate_words(1 / per_byte)}). "
                "Add pulls of images whose layers download while others extract (several "
                "layers of similar size), or fix one rate: --fix network=23MB/s"
            )

    def rates(theta: float, offset: float) -> tuple[float, float]:
        """(x, y): seconds per byte of download and of extraction."""
        if fix_network is not None:
            return 1.0 / fix_network, math.exp(theta)
        if fix_extraction is not None:
            return math.exp(theta), 1.0 / fix_extraction
        return math.exp(offset), math.exp(offset + theta)

    def net_free(e: int) -> bool:
        """At this grid edge, downloads never limit: network is not bounded above."""
        if fix_network is not None:
            return False
        return e == (-1 if fix_extraction is not None else 1)

    def ext_free(e: int) -> bool:
        return fix_extraction is None and e == -1

    theta, offset, edge = _solve(problem, log_d, rows_all)
    x, y = rates(theta, offset)

    rng = np.random.default_rng(seed)
    nets = np.empty(bootstrap)
    exts = np.empty(bootstrap)
    for b in range(bootstrap):
        rows = rng.integers(0, n, n)
        th, off, e = _solve(problem, log_d, rows)
        bx, by = rates(th, off)
        nets[b], exts[b] = 1.0 / bx, 1.0 / by
        # At the grid's edge the pulls do not bound the rate the edge frees.
        if net_free(e):
            nets[b] = math.inf
        if ext_free(e):
            exts[b] = math.inf

    def fitted(value: float, samples: np.ndarray, point_edge: bool) -> RateFit:
        lo, hi = _quantiles(samples)
        if point_edge:
            return RateFit(None, _bound(lo), None)
        return RateFit(value, _bound(min(lo, value)), _bound(max(hi, value)))

    if fix_network is not None:
        network = RateFit(fix_network, fix_network, fix_network, fixed=True)
    else:
        network = fitted(1.0 / x, nets, net_free(edge))
    if fix_extraction is not None:
        extraction = RateFit(fix_extraction, fix_extraction, fix_extraction, fixed=True)
    else:
        extraction = fitted(1.0 / y, exts, ext_free(edge))
    if network.value is None:
        notes.append("downloads never limit these pulls: they do not bound network from above")
    elif network.high is None and not network.fixed:
        notes.append("the pulls do not bound network from above (95% interval open)")
    if extraction.value is None:
        notes.append("extraction never limits these pulls: they do not bound it from above")
    elif extraction.high is None and not extraction.fixed:
        notes.append("the pulls do not bound the extraction rate from above (95% interval open)")

    model = np.array([c.shape.seconds(1.0 / x, 1.0 / y) for c in cases])
    res = log_d - np.log(model)
    center_res = float(np.median(res))
    mad = float(np.median(np.abs(res - center_res)))
    sigma = MAD_SIGMA * mad
    cut = max(3 * sigma, math.log(1.5))
    outliers = tuple(
        Outlier(c.pull.label, c.pull.pull_s, float(m))
        for c, m, r in zip(cases, model, res, strict=True)
        if abs(r - center_res) > cut
    )
    return Calibration(
        pool=pool,
        network=network,
        extraction=extraction,
        unpack_rate=extraction.scaled(unpack_slowdown),
        unpack_slowdown=unpack_slowdown,
        pulls_used=n,
        excluded=tuple(excluded),
        sigma=sigma,
        median_abs_log_error=float(np.median(np.abs(res))),
        outliers=outliers,
        bootstrap=bootstrap,
        seed=seed,
        images=images,
        notes=tuple(notes),
    )


def of_pool(pulls: Sequence[ObservedPull], pool: str) -> tuple[list[ObservedPull], int]:
    """The pulls of this pool, and how many others, when the pulls say their pool (hpsim
    import's pulls.csv has a pool column); all of them otherwise."""
    if not any(p.pool for p in pulls):
        return list(pulls), 0
    mine = [p for p in pulls if p.pool == pool]
    return mine, len(pulls) - len(mine)


def calibrate(
    pulls: Sequence[ObservedPull],
    scenario: Scenario,
    pool: str | None = None,
    *,
    fix_network: float | None = None,
    fix_unpack_rate: float | None = None,
    seed: int = 0,
    bootstrap: int = BOOTSTRAP,
) -> Calibration:
    """The scenario pool's rates fitted to these pulls (``fix_unpack_rate``: the scenario's
    ``unpackRate``, before the antivirus slowdown)."""
    target = pick_pool(scenario, pool)
    node = target.node
    slowdown = node.unpack_rate / unpack_throughput(node)
    pulls, others = of_pool(pulls, target.name)
    cases, excluded, notes = prepare(pulls, scenario, target)
    if others:
        notes = [f"{others} pulls of other pools (or of nodes in none) left out", *notes]
    return fit(
        cases,
        pool=target.name,
        unpack_slowdown=slowdown,
        fix_network=fix_network,
        fix_extraction=None if fix_unpack_rate is None else fix_unpack_rate / slowdown,
        seed=seed,
        bootstrap=bootstrap,
        excluded=excluded,
        notes=notes,
    )
