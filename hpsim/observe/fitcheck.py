"""Does the model fit the cluster? A run of an imported scenario held against what the
cluster did (``hpsim fit-check``).

Two inputs, and nothing else: the tables ``hpsim run`` wrote (pods, pulls, images) and
the ``observed/`` tables ``hpsim import`` wrote beside the scenario (pods.csv,
pulls.csv). The model is never asked: every number here is read from those files.

What is compared, each overall, per workload and per node (pulls also per image):

- ``pull_s``: a successful pull's own time. Observed: kubelet's first duration in its
  Pulled event (the CRI PullImage call, without the wait in kubelet's queue: k/k
  pkg/kubelet/images/image_manager.go, ``observed/pulls.csv`` ``pull_s``). Simulated:
  the pulls table's ``finished_s - started_s`` (containerd's pull, its queue left out
  the same way). Only images pulled on both sides are compared; the others are named.
- ``start_latency_s``: created to first container started (``started_s - created_s``).
- ``pending_s``: created to bound (``scheduled_s - created_s``); pods never bound are
  counted, not compared.
- ``restarts``: container restarts per pod; ``evictions``: pods evicted, per pod.
- ``image_bytes``: per node, the compressed bytes of the distinct images pulled in the
  window (kubelet's "Image size", v1.30 on; the images table's ``size_bytes``).

For each: how many values each side has, their median and 90th percentile, the relative
error of the centre (the median; the mean for the per-pod counts, mostly zeros) and the
two-sample Kolmogorov-Smirnov statistic D (the largest gap between the two empirical
distribution functions) with its asymptotic p-value. The verdict rests on the centre's
error alone, against thresholds that are hpsim's choice (:data:`FITS`, :data:`ROUGH`);
with few pulls a KS p-value says little, so it is shown, not judged on.

Several replications of the run pool their values: the simulated side is the model's
distribution, not one draw of it.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from hpsim.errors import HpsimError, excerpt
from hpsim.observe.output import check_finished, read_results
from hpsim.observe.results import Results
from hpsim.scenario.catalog import normal_image
from hpsim.scenario.csvtable import read_table

# hpsim's choice, not a standard: a centre within 20% of the cluster's fits, within 50%
# roughly fits, further does not.
FITS = 0.20
ROUGH = 0.50
# Differences below these count as none, whatever the ratio: the cluster's timestamps
# have one-second resolution (metav1.Time), kubelet's durations milliseconds; a count per
# pod within 0.1 of the cluster's is one restart in ten pods.
SLACK = {
    "pull_s": 1.0,
    "start_latency_s": 2.0,
    "pending_s": 2.0,
    "restarts": 0.1,
    "evictions": 0.1,
    "image_bytes": 0.0,
}
METRICS = ("pull_s", "start_latency_s", "pending_s", "restarts", "evictions", "image_bytes")
TITLES = {
    "pull_s": "pull durations",
    "start_latency_s": "start latency (created to started)",
    "pending_s": "pending (created to bound)",
    "restarts": "restarts per pod",
    "evictions": "evictions per pod",
    "image_bytes": "image bytes pulled per node",
}
# Counts per pod are mostly zeros: their centre is the mean.
MEAN_CENTRED = ("restarts", "evictions")
# hpsim's choice: restarts or evictions fewer than this on both sides tell nothing about
# their rate (1 against 0 in 15 pods is no evidence either way): "cannot tell".
MIN_EVENTS = 5
SCOPES = {
    "pull_s": ("all", "workload", "node", "image"),
    "start_latency_s": ("all", "workload", "node"),
    "pending_s": ("all", "workload", "node"),
    "restarts": ("all", "workload", "node"),
    "evictions": ("all", "workload", "node"),
    "image_bytes": ("all", "node"),
}
QQ_METRICS = ("pull_s", "start_latency_s", "pending_s")
VERDICTS = ("fits", "roughly fits", "does not fit", "cannot tell")

OBSERVED = Path("observed")
OBSERVED_PODS = ("pod", "workload", "node", "created_s", "scheduled_s", "started_s", "restarts")
OBSERVED_PULLS = ("node", "pod", "image", "pull_s")
RESULT_COLUMNS = {
    "pods": ("pod", "workload", "node", "created_s", "scheduled_s", "started_s", "restarts"),
    "pulls": ("pod", "image", "node", "started_s", "finished_s"),
    "images": ("image", "node", "size_bytes", "pulled_s"),
}
UNKNOWN_WORKLOAD = "(pod not in observed/pods.csv)"
CSV_LIMIT = 256 * 2**20  # our bound on one observed table


# -- reading ---------------------------------------------------------------------------------


def _read_csv(path: Path, required: tuple[str, ...], numbers: tuple[str, ...]) -> pd.DataFrame:
    """An observed table: the columns it must have, numbers checked cell by cell (file,
    line and column named)."""
    table = read_table(
        path,
        required=required,
        expected=required,
        hint="is this hpsim import's observed table?",
        limit=CSV_LIMIT,
        kind="observed table",
    )
    shown, col, header = table.shown, table.col, table.names
    data: dict[str, list[Any]] = {name: [] for name in header}
    for line, row in table.rows():
        for name, i in col.items():
            cell = row[i].strip() if i < len(row) else ""
            if name in numbers:
                data[name].append(_number(cell, shown, line, name))
            else:
                data[name].append(cell)
    return pd.DataFrame(data, columns=header)


def _number(cell: str, file: str, line: int, column: str) -> float:
    if not cell:
        return math.nan
    try:
        value = float(cell)
    except ValueError:
        raise HpsimError(
            f"not a number: '{excerpt(cell)}'", file=file, line=line, field=column
        ) from None
    if not math.isfinite(value):
        raise HpsimError(
            f"must be a finite number (found '{excerpt(cell)}')", file=file, line=line, field=column
        )
    return value


@dataclass
class Observed:
    """``observed/pods.csv`` and ``observed/pulls.csv`` of an import folder."""

    folder: Path
    pods: pd.DataFrame
    pulls: pd.DataFrame


def read_observed(folder: str | Path) -> Observed:
    """The observed tables ``hpsim import`` wrote into ``folder``."""
    folder = Path(folder)
    if not folder.is_dir():
        raise HpsimError(
            "not an import folder: give the folder hpsim import wrote (it holds observed/)",
            file=str(folder),
        )
    pods_file, pulls_file = folder / OBSERVED / "pods.csv", folder / OBSERVED / "pulls.csv"
    for f in (pods_file, pulls_file):
        if not f.is_file():
            raise HpsimError(
                f"not an import folder (no {OBSERVED / f.name}): give the folder hpsim "
                "import wrote",
                file=str(folder),
            )
    pods = _read_csv(
        pods_file,
        OBSERVED_PODS,
        ("created_s", "scheduled_s", "started_s", "finished_s", "deleted_s", "restarts"),
    )
    pulls = _read_csv(pulls_file, OBSERVED_PULLS, ("bytes", "pull_s", "including_waiting_s"))
    if "evicted" not in pods.columns:
        pods["evicted"] = ""
    pods["evicted"] = pods["evicted"].astype(str).str.lower().isin(("true", "1", "yes"))
    if "bytes" not in pulls.columns:
        pulls["bytes"] = math.nan
    return Observed(folder, pods, pulls)


def read_run(folder: str | Path) -> Results:
    """A finished results folder of ``hpsim run``, with the tables fit-check reads."""
    folder = Path(folder)
    if folder.is_dir() and (folder / OBSERVED / "pods.csv").is_file():
        raise HpsimError(
            "is an import folder, not a results folder: run it first "
            "(hpsim run FOLDER/scenario.yaml -d RESULTS) and give RESULTS, then --observed FOLDER",
            file=str(folder),
        )
    check_finished(folder)
    res = read_results(folder)
    for table, columns in RESULT_COLUMNS.items():
        have = res.tables.get(table, pd.DataFrame())
        missing = [c for c in columns if c not in have.columns]
        if missing and not (table != "pods" and have.empty):
            raise HpsimError(
                f"the results table {table} has no column {', '.join(missing)} "
                "(written by an older hpsim? run the scenario again)",
                file=str(folder),
                field=table,
            )
    return res


# -- the samples -----------------------------------------------------------------------------


@dataclass
class Samples:
    """Per metric, one frame per side: ``value`` and the keys it is grouped by."""

    observed: dict[str, pd.DataFrame] = field(default_factory=dict)
    simulated: dict[str, pd.DataFrame] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    images_only_observed: dict[str, int] = field(default_factory=dict)
    images_only_simulated: dict[str, int] = field(default_factory=dict)


def _empty(*columns: str) -> pd.DataFrame:
    return pd.DataFrame({c: pd.Series(dtype="float64" if c == "value" else "str") for c in columns})


def _pod_samples(pods: pd.DataFrame, evicted: pd.Series) -> dict[str, pd.DataFrame]:
    keys = pods[["workload", "node"]].astype(str).reset_index(drop=True)
    values = {
        "start_latency_s": (pods["started_s"] - pods["created_s"]).to_numpy(float),
        "pending_s": (pods["scheduled_s"] - pods["created_s"]).to_numpy(float),
        "restarts": pods["restarts"].fillna(0).to_numpy(float),
        "evictions": evicted.to_numpy(float),
    }
    out = {}
    for metric, v in values.items():
        frame = keys.assign(value=v)
        out[metric] = frame[np.isfinite(frame["value"])].reset_index(drop=True)
    return out


def _bytes_per_node(rows: pd.DataFrame, by: list[str]) -> tuple[pd.DataFrame, list[str]]:
    """Per node (and replication), the bytes of the distinct images pulled; the nodes
    where some image's size is unknown are left out and named."""
    if rows.empty:
        return _empty("node", "value"), []
    per_image = rows.groupby([*by, "image"], sort=True)["bytes"].max(min_count=1).reset_index()
    unknown = sorted(set(per_image.loc[per_image["bytes"].isna(), "node"]))
    known = per_image[~per_image["node"].isin(unknown)]
    sums = known.groupby(by, sort=True)["bytes"].sum().reset_index()
    sums = sums.rename(columns={"bytes": "value"})
    sums["value"] = sums["value"].astype(float)
    return sums[["node", "value"]].reset_index(drop=True), unknown


def samples(observed: Observed, run: Results) -> Samples:
    """Every metric's values on both sides, keyed by workload, node and (pulls) image."""
    out = Samples()
    # Pods.
    opods = observed.pods
    out.observed.update(_pod_samples(opods, opods["evicted"]))
    spods = run.pods
    sim_evicted = (
        spods["reason"].astype(str).eq("Evicted")
        if "reason" in spods.columns
        else pd.Series(False, index=spods.index)
    )
    out.simulated.update(_pod_samples(spods, sim_evicted))
    reps = max(1, int(run.meta.get("replications") or 1))
    never_obs = int(opods["scheduled_s"].isna().sum())
    never_sim = float(spods["scheduled_s"].isna().sum()) / reps
    if never_obs or never_sim:
        out.notes.append(
            f"pods never bound (left out of pending): {never_obs} observed, "
            f"{never_sim:g} simulated (per replication)"
        )
    # Pulls: workload by pod, images normalised; only images pulled on both sides.
    workload_of = dict(zip(opods["pod"], opods["workload"], strict=True))
    opulls = observed.pulls.copy()
    opulls["workload"] = [workload_of.get(p, UNKNOWN_WORKLOAD) for p in opulls["pod"]]
    opulls["image"] = [normal_image(i) for i in opulls["image"]]
    opulls = opulls[np.isfinite(opulls["pull_s"].to_numpy(float))]
    spulls = run.pulls
    if not spulls.empty:
        if "error" in spulls.columns:
            spulls = spulls[spulls["error"].fillna("").astype(str) == ""]
        spulls = spulls[spulls["finished_s"].notna()].copy()
        rep_key = ["replication"] if "replication" in spods.columns else []
        names = spods[[*rep_key, "pod", "workload"]].drop_duplicates([*rep_key, "pod"])
        spulls = spulls.merge(names, on=[*rep_key, "pod"], how="left")
        spulls["workload"] = spulls["workload"].fillna("").astype(str)
        spulls["image"] = [normal_image(i) for i in spulls["image"]]
        spulls["pull_s"] = spulls["finished_s"] - spulls["started_s"]
    else:
        spulls = _empty("workload", "node", "image", "pull_s")
    both = set(opulls["image"]) & set(spulls["image"])
    out.images_only_observed = (
        opulls.loc[~opulls["image"].isin(both), "image"].value_counts().to_dict()
    )
    out.images_only_simulated = (
        spulls.loc[~spulls["image"].isin(both), "image"].value_counts() / reps
    ).to_dict()
    cols = ["workload", "node", "image"]
    out.observed["pull_s"] = (
        opulls.loc[opulls["image"].isin(both), cols]
        .astype(str)
        .assign(value=opulls.loc[opulls["image"].isin(both), "pull_s"].to_numpy(float))
        .reset_index(drop=True)
    )
    out.simulated["pull_s"] = (
        spulls.loc[spulls["image"].isin(both), cols]
        .astype(str)
        .assign(value=spulls.loc[spulls["image"].isin(both), "pull_s"].to_numpy(float))
        .reset_index(drop=True)
    )
    # Image bytes per node.
    ob, unknown = _bytes_per_node(opulls[["node", "image", "bytes"]], ["node"])
    out.observed["image_bytes"] = ob
    if unknown:
        out.notes.append(
            "image bytes: kubelet gave no image size (before v1.30) for a pull on "
            + ", ".join(unknown)
            + ": those nodes are not compared"
        )
    images = run.images
    if not images.empty:
        pulled = images[images["pulled_s"].notna()].copy()
        pulled["image"] = [normal_image(i) for i in pulled["image"]]
        pulled = pulled.rename(columns={"size_bytes": "bytes"})
        rep_key = ["replication"] if "replication" in pulled.columns else []
        sb, _ = _bytes_per_node(pulled[[*rep_key, "node", "image", "bytes"]], [*rep_key, "node"])
        sb = sb[~sb["node"].isin(unknown)]
    else:
        sb = _empty("node", "value")
    out.simulated["image_bytes"] = sb.reset_index(drop=True)
    return out


# -- statistics ------------------------------------------------------------------------------


def ks_statistic(a: np.ndarray, b: np.ndarray) -> tuple[float, float]:
    """The two-sample Kolmogorov-Smirnov statistic D and its asymptotic p-value
    (Numerical Recipes' ``kstwo``/``probks``: lambda = (sqrt(Ne) + 0.12 + 0.11/sqrt(Ne)) D,
    Ne = nm/(n+m); Q(lambda) = 2 sum (-1)^(k-1) exp(-2 k^2 lambda^2)). Rough for a handful
    of values."""
    a, b = np.sort(np.asarray(a, float)), np.sort(np.asarray(b, float))
    both = np.concatenate([a, b])
    fa = np.searchsorted(a, both, side="right") / len(a)
    fb = np.searchsorted(b, both, side="right") / len(b)
    d = float(np.max(np.abs(fa - fb)))
    ne = math.sqrt(len(a) * len(b) / (len(a) + len(b)))
    lam = (ne + 0.12 + 0.11 / ne) * d
    if lam < 0.2:
        return d, 1.0
    k = np.arange(1, 101)
    q = 2 * float(np.sum((-1.0) ** (k - 1) * np.exp(-2 * k**2 * lam**2)))
    return d, min(1.0, max(0.0, q))


def _too_few(observed: np.ndarray, simulated: np.ndarray) -> bool:
    """Counts that differ, each side below MIN_EVENTS in all."""
    o, s = float(observed.sum()), float(simulated.sum())
    return o != s and max(o, s) < MIN_EVENTS


def _stats(v: np.ndarray) -> dict[str, float | None]:
    if not len(v):
        return {"median": None, "p90": None, "mean": None}
    return {
        "median": float(np.median(v)),
        "p90": float(np.quantile(v, 0.9)),
        "mean": float(np.mean(v)),
    }


def verdict(metric: str, obs: float | None, sim: float | None) -> tuple[str, float | None]:
    """(verdict, relative error of the simulated centre against the observed one)."""
    if obs is None or sim is None:
        return "cannot tell", None
    error = (sim - obs) / obs if obs != 0 else (0.0 if sim == 0 else None)
    if abs(sim - obs) <= SLACK[metric]:
        return "fits", error
    if error is None:
        return "does not fit", None
    if abs(error) <= FITS:
        return "fits", error
    if abs(error) <= ROUGH:
        return "roughly fits", error
    return "does not fit", error


@dataclass(frozen=True)
class Row:
    """One comparison: a metric over one scope (all, a workload, a node, an image)."""

    metric: str
    scope: str
    key: str
    observed: np.ndarray
    simulated: np.ndarray

    def to_json(self) -> dict[str, Any]:
        o, s = _stats(self.observed), _stats(self.simulated)
        centre = "mean" if self.metric in MEAN_CENTRED else "median"
        word, error = verdict(self.metric, o[centre], s[centre])
        d, p = (
            ks_statistic(self.observed, self.simulated)
            if len(self.observed) and len(self.simulated)
            else (None, None)
        )
        why = ""
        if not len(self.observed):
            why = "no observed value"
        elif not len(self.simulated):
            why = "not in the run"
        elif self.metric in MEAN_CENTRED and _too_few(self.observed, self.simulated):
            word = "cannot tell"
            why = (
                f"{self.observed.sum():g} observed, {self.simulated.sum():g} in the run: "
                f"fewer than {MIN_EVENTS} on each side tell nothing about the rate"
            )
        elif word == "fits" and (error is None or abs(error) > FITS):
            why = "the difference is within the data's resolution"
        return {
            "metric": self.metric,
            "scope": self.scope,
            "key": self.key,
            "n_observed": len(self.observed),
            "n_simulated": len(self.simulated),
            "observed": o,
            "simulated": s,
            "centre": centre,
            "error": error,
            "ks_d": d,
            "ks_p": p,
            "verdict": word,
            "why": why,
        }


def _rows(metric: str, obs: pd.DataFrame, sim: pd.DataFrame) -> Iterable[Row]:
    def values(frame: pd.DataFrame, mask: Any = None) -> np.ndarray:
        v = frame["value"] if mask is None else frame.loc[mask, "value"]
        return np.asarray(v, float)

    for scope in SCOPES[metric]:
        if scope == "all":
            yield Row(metric, "all", "", values(obs), values(sim))
            continue
        keys = sorted(set(obs[scope]) | set(sim[scope]), key=lambda k: (k == "", k))
        for key in keys:
            yield Row(
                metric, scope, key, values(obs, obs[scope] == key), values(sim, sim[scope] == key)
            )


def compare(observed: Observed, run: Results) -> dict[str, Any]:
    """The fit check's record: every row, the notes, the thresholds (raw units)."""
    s = samples(observed, run)
    rows = [
        row.to_json()
        for metric in METRICS
        for row in _rows(metric, s.observed[metric], s.simulated[metric])
    ]
    return {
        "scenario": run.scenario,
        "seed": run.seed,
        "replications": int(run.meta.get("replications") or 1),
        "thresholds": {"fits": FITS, "roughly_fits": ROUGH, "slack": dict(SLACK)},
        "rows": rows,
        "images_only_observed": s.images_only_observed,
        "images_only_simulated": s.images_only_simulated,
        "notes": s.notes,
        "qq": {
            m: {
                "observed": s.observed[m][["workload", "value"]].to_dict("list"),
                "simulated": s.simulated[m][["workload", "value"]].to_dict("list"),
            }
            for m in QQ_METRICS
        },
    }


def headline(record: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Each metric's overall row."""
    return {r["metric"]: r for r in record["rows"] if r["scope"] == "all"}


__all__ = [
    "FITS",
    "METRICS",
    "ROUGH",
    "SLACK",
    "Observed",
    "compare",
    "headline",
    "ks_statistic",
    "read_observed",
    "read_run",
    "samples",
    "verdict",
]
