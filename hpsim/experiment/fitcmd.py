"""``hpsim fit``: how many more replicas of a pod fit on a scenario's pool, and what stops
the next one (the question kubernetes-sigs/cluster-capacity answers; the computation is
:mod:`hpsim.cluster.fit`).

Where it is asked:

- ``--at TIME``: on the cluster as the scenario's run has it at that simulated time
  (every event at that instant done), on the streams of its first replication
  (``hpsim run``'s replication 0 with the same seed);
- ``--fresh POOL``: on one new node of the pool, its DaemonSet pods running;
- neither: at the end of the run (the scenario's ``duration``).

The pod manifest is read as a scenario's manifests are (a Pod, or a workload whose pod
template is used), checked by the API server's rules and admission as the scenario's
namespace levels say, its images in the scenario's ``images:`` or the catalogue. Exit
status: 0, or 2 for bad input. Nothing is written.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

import numpy as np

from hpsim.cluster.fit import (
    HPSIM,
    FitNode,
    FitResult,
    NodeFit,
    ask_of,
    cluster_at,
    fit,
    fresh_node,
    live_nodes,
)
from hpsim.errors import HpsimError, excerpt
from hpsim.experiment.commands import load_scenario
from hpsim.experiment.run import check_seed, spawn_key
from hpsim.node.draws import Streams
from hpsim.node.images import resolve_images
from hpsim.scenario.load import LoadedScenario
from hpsim.scenario.manifests import PodTemplate, templates_from_source
from hpsim.scenario.verdicts import check_template
from hpsim.scenario.yamlsrc import Source, iter_documents, read_text
from hpsim.units import QuantityError, parse_duration
from hpsim.words import bytes_words, cores_words, duration_words


def _field_path(dotted: str) -> tuple[str | int, ...]:
    """``spec.containers[1].image`` -> ``("spec", "containers", 1, "image")``."""
    out: list[str | int] = []
    for part in dotted.split("."):
        key, *indexes = part.split("[")
        out.append(key)
        out.extend(int(i.rstrip("]")) for i in indexes)
    return tuple(out)


def load_pod(path: str, loaded: LoadedScenario) -> tuple[PodTemplate, list[str]]:
    """The one pod template of the manifest at ``path`` and its containers' images, checked
    as the scenario would check it (file:line: field errors)."""
    docs: list[Source] = list(iter_documents(read_text(Path(path), path), path))
    found = [(d, t) for d in docs for t in templates_from_source(d)]
    if not found:
        raise HpsimError(
            "no Pod, Deployment, ReplicaSet, StatefulSet, DaemonSet, Job or CronJob found",
            file=path,
        )
    if len(found) > 1:
        extra = found[1][1]
        raise HpsimError(
            f"holds {len(found)} pod templates; hpsim fit asks about one "
            f'({extra.kind} "{excerpt(extra.name)}" is the second)',
            file=path,
            line=extra.line,
        )
    src, t = found[0]
    if t.kind == "DaemonSet":
        raise src.error(
            ("kind",),
            "a DaemonSet runs one pod on each node it selects: hpsim fit counts replicas "
            "of a Pod, Deployment, ReplicaSet, StatefulSet, Job or CronJob",
        )
    sc = loaded.scenario
    verdict = check_template(t, node=sc.first_node, level=sc.namespace_level(t.namespace))
    refusal = verdict.refusal()
    if refusal is not None:
        error = verdict.errors[0] if verdict.errors else None
        where = _field_path(error.field) if error is not None else _field_path(t.spec_path)
        raise src.error(where, f"{refusal[0]}: {refusal[1]}")
    known = resolve_images(sc)
    refs: list[str] = []
    spec = t.spec
    for group, containers in (
        ("initContainers", spec.init_containers),
        ("containers", spec.containers),
    ):
        for i, c in enumerate(containers):
            if c.image is None:
                continue
            if c.image not in known:
                raise src.error(
                    (*_field_path(t.spec_path), group, i, "image"),
                    f'image "{excerpt(c.image)}" is neither in the scenario\'s images nor in '
                    "the catalogue (`hpsim catalog`): no node could pull it",
                )
            refs.append(c.image)
    return t, refs


def _at(text: str | None, loaded: LoadedScenario) -> float:
    duration = float(loaded.scenario.duration)
    if text is None:
        return duration
    try:
        at = parse_duration(text)
    except (QuantityError, ValueError) as exc:
        raise HpsimError(str(exc), field="--at") from None
    if at > duration:
        raise HpsimError(
            f"{duration_words(at)} is after the end of the scenario ({duration_words(duration)})",
            field="--at",
        )
    return at


def fit_command(args: argparse.Namespace) -> int:
    """``hpsim fit SCENARIO --pod MANIFEST [--at TIME | --fresh POOL] [--seed N] [-o ...]``."""
    check_seed(args.seed, "--seed")
    loaded = load_scenario(args.scenario, args.allow_outside_files)
    sc = loaded.scenario
    template, refs = load_pod(args.pod, loaded)
    ask = ask_of(template)
    seed = sc.seed if args.seed is None else args.seed
    ss = np.random.SeedSequence(seed, spawn_key=spawn_key(0, sc.replications))
    settings = sc.cluster.scheduler
    nodes: list[FitNode]
    at: float | None = None
    pending = 0
    if args.fresh is not None:
        pools = {p.name: p for p in sc.pools}
        if args.fresh not in pools:
            raise HpsimError(
                f'no pool named "{excerpt(args.fresh)}" (pools: {", ".join(pools)})',
                field="--fresh",
            )
        nodes = [fresh_node(loaded, pools[args.fresh], refs)]
        rng = Streams(ss).rng("fit")
    else:
        at = _at(args.at, loaded)
        cluster = cluster_at(loaded, ss, at)
        nodes = live_nodes(cluster, ask, refs)
        rng = cluster.streams.rng("fit")
        pending = len(cluster.pending)
    result = fit(ask, nodes, rng, settings.plugin_weights, settings.scoring_strategy)
    where = {"scenario": sc.name, "seed": seed, "at_s": at, "fresh": args.fresh}
    if args.output == "json":
        print(json.dumps(fit_json(result, template, ask_requests(ask), where, pending), indent=2))
    else:
        print("\n".join(fit_lines(result, template, where, pending, args.at is None)))
    return 0


def ask_requests(ask: Any) -> dict[str, int]:
    return {
        "cpu_millicores": ask.cpu_m,
        "memory_bytes": ask.memory,
        "ephemeral_storage_bytes": ask.ephemeral,
    }


def _free(n: NodeFit) -> dict[str, float]:
    a, u = n.alloc, n.usage
    return {
        "cpu_millicores": a.cpu_m - u.cpu_m,
        "memory_bytes": a.memory - u.memory,
        "pods": a.pods - u.pods,
        "ephemeral_storage_bytes": a.ephemeral_storage - u.ephemeral,
        "disk_bytes": n.disk_free_after,
    }


def fit_json(
    result: FitResult,
    t: PodTemplate,
    requests: dict[str, int],
    where: dict[str, Any],
    pending: int,
) -> dict[str, Any]:
    """The answer in raw units (bytes, millicores)."""
    nodes = []
    for n in result.nodes:
        stop: dict[str, Any] | None = None
        if n.stop is not None:
            stop = {
                "source": n.stop.source,
                "plugin": n.stop.plugin,
                "reasons": list(n.stop.reasons),
            }
            if n.stop.source == HPSIM:
                stop |= {
                    "detail": n.stop.detail,
                    "needed_bytes": n.stop.needed_bytes,
                    "left_bytes": n.stop.left_bytes,
                    "threshold": f"nodefs.available<{n.disk.threshold}"
                    if n.disk.threshold
                    else None,
                    "threshold_bytes": n.disk.floor,
                }
        nodes.append(
            {
                "node": n.node,
                "pool": n.pool,
                "replicas": n.replicas,
                "stop": stop,
                "allocatable": {
                    "cpu_millicores": n.alloc.cpu_m,
                    "memory_bytes": n.alloc.memory,
                    "pods": n.alloc.pods,
                    "ephemeral_storage_bytes": n.alloc.ephemeral_storage,
                },
                "free_after": _free(n),
                "disk": {
                    "capacity_bytes": n.disk.capacity,
                    "free_bytes": n.disk.free,
                    "threshold_bytes": n.disk.floor,
                },
                "image_pull": {
                    "images": list(n.pull.refs),
                    "compressed_bytes": n.pull.compressed,
                    "unpacked_bytes": n.pull.unpacked,
                },
            }
        )
    return {
        **where,
        "pod": {"kind": t.kind, "name": t.name, "namespace": t.namespace, "requests": requests},
        "replicas": result.total,
        "message": result.message,
        "pending_pods": pending,
        "nodes": nodes,
    }


def _stop_words(n: NodeFit) -> str:
    if n.stop is None:
        return "not evaluated (the pod is for another node)"
    if n.stop.source == HPSIM:
        return n.stop.detail
    return ", ".join(n.stop.reasons)


def fit_lines(
    result: FitResult, t: PodTemplate, where: dict[str, Any], pending: int, at_end: bool
) -> list[str]:
    """The answer as people read it: per node the replicas, what is left and what stops
    the next; the total; the histogram of the stops."""
    if where["fresh"] is not None:
        place = f"one fresh node of pool {where['fresh']} (its DaemonSet pods running)"
    else:
        place = f"the cluster at {duration_words(where['at_s'])}"
        place += " (the end of the run)" if at_end else ""
    lines = [f'{t.kind} "{t.name}": {where["scenario"]}, seed {where["seed"]}, {place}']
    header = ("NODE", "POOL", "FIT", "CPU FREE", "MEMORY FREE", "PODS FREE", "DISK FREE")
    rows = [header]
    for n in result.nodes:
        free = _free(n)
        rows.append(
            (
                n.node,
                n.pool,
                str(n.replicas),
                cores_words(free["cpu_millicores"]),
                bytes_words(free["memory_bytes"]),
                str(int(free["pods"])),
                bytes_words(free["disk_bytes"]),
            )
        )
    widths = [max(len(r[i]) for r in rows) for i in range(len(header))]
    for r in rows:
        cells = [
            c.ljust(w) if i < 2 else c.rjust(w)
            for i, (c, w) in enumerate(zip(r, widths, strict=True))
        ]
        lines.append("  ".join(cells).rstrip())
    lines.append(f"total: {result.total} more replica{'s' if result.total != 1 else ''} fit")
    lines.append("what stops the next one:")
    for n in result.nodes:
        lines.append(f"  {n.node}: {_stop_words(n)}")
    lines.append(f"  {result.message}")
    if pending:
        lines.append(
            f"({pending} pod{'s' if pending != 1 else ''} pending in the scheduler's queue "
            "hold no room and are not counted: they would compete for it)"
        )
    return lines
