"""Run a scenario: one or more replications, each on its own random streams.

Replication i of seed S draws from ``SeedSequence(S).spawn(N)[i]`` (one
stream per purpose below that), so a run is bit-for-bit repeatable and two
scenarios run with the same seed share their random numbers.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from hpsim.node.node import WindowsNode
from hpsim.observe.results import Results, summarize, tables_from_node
from hpsim.scenario.load import LoadedScenario, load


def replication_seeds(seed: int, replications: int) -> list[np.random.SeedSequence]:
    """The root SeedSequence of each replication (one replication: the seed itself)."""
    root = np.random.SeedSequence(seed)
    return [root] if replications == 1 else root.spawn(replications)


def run(
    scenario: LoadedScenario | str | Path,
    *,
    seed: int | None = None,
    replications: int | None = None,
) -> Results:
    """Replay a scenario; returns its tables and summary."""
    loaded = scenario if isinstance(scenario, LoadedScenario) else load(scenario)
    sc = loaded.scenario
    seed = sc.seed if seed is None else seed
    n = sc.replications if replications is None else replications
    per_run: list[dict[str, pd.DataFrame]] = []
    summaries = []
    for i, ss in enumerate(replication_seeds(seed, n)):
        node = WindowsNode(loaded, ss)
        node.run()
        tables = tables_from_node(node)
        summaries.append(summarize(tables, sc.duration))
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
