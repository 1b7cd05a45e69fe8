"""Run a scenario: one or more replications, each on its own random streams.

Replication i of seed S draws from ``SeedSequence(S).spawn(N)[i]`` (one
stream per purpose below that), so a run is bit-for-bit repeatable and two
scenarios run with the same seed share their random numbers.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from hpsim.experiment.align import align_bases
from hpsim.node.node import WindowsNode
from hpsim.observe.results import Results, summarize, tables_from_node
from hpsim.scenario.load import LoadedScenario, load


def image_bytes_peak(series: pd.DataFrame) -> float:
    """Peak bytes of images on disk: content store + snapshots."""
    if series.empty:
        return 0.0
    return float((series["disk_content_store_bytes"] + series["disk_snapshots_bytes"]).max())


def replication_seeds(seed: int, replications: int) -> list[np.random.SeedSequence]:
    """The root SeedSequence of each replication (one replication: the seed itself)."""
    root = np.random.SeedSequence(seed)
    return [root] if replications == 1 else root.spawn(replications)


def run(
    scenario: LoadedScenario | str | Path,
    *,
    seed: int | None = None,
    replications: int | None = None,
    align: bool = True,
) -> Results:
    """Replay a scenario; returns its tables and summary.

    With ``align`` (the default) a scenario whose images sit on Windows bases
    other than the host's LTSC also runs its aligned twin, to report what
    aligning the bases would save.
    """
    loaded = scenario if isinstance(scenario, LoadedScenario) else load(scenario)
    sc = loaded.scenario
    seed = sc.seed if seed is None else seed
    n = sc.replications if replications is None else replications
    per_run: list[dict[str, pd.DataFrame]] = []
    summaries = []
    twin = align_bases(loaded) if align else None
    for i, ss in enumerate(replication_seeds(seed, n)):
        node = WindowsNode(loaded, ss)
        node.run()
        tables = tables_from_node(node)
        summary = summarize(tables, sc.duration)
        summary["image_bytes_peak"] = image_bytes_peak(tables["series"])
        summary["aligned_bases_saving_bytes"] = 0.0
        if twin is not None:
            # Same seed, same streams: the difference is the base mix, not the dice.
            other = WindowsNode(twin, ss)
            other.run()
            aligned = image_bytes_peak(tables_from_node(other)["series"])
            summary["aligned_bases_saving_bytes"] = summary["image_bytes_peak"] - aligned
        summaries.append(summary)
        if n > 1:
            for df in tables.values():
                df.insert(0, "replication", i)
        per_run.append(tables)
    tables = {
        k: pd.concat([t[k] for t in per_run], ignore_index=True) if n > 1 else per_run[0][k]
        for k in per_run[0]
    }
    return Results(
        scenario=sc.name,
        seed=seed,
        duration=sc.duration,
        tables=tables,
        summaries=summaries,
        meta={"replications": n, "digest": loaded.digest},
    )
