"""Write an import's scenario folder, atomically, and check that it loads.

The folder (``scenario.yaml``, ``manifests/``, ``traces/``, ``observed/``,
``import-summary.md``) is written to a temporary sibling, loaded with
:func:`hpsim.scenario.load.load` there, and renamed into place: a failed import leaves
nothing half-written (:mod:`hpsim.atomic`).
"""

from __future__ import annotations

import argparse
import csv
import io
import re
from pathlib import Path
from typing import Any

import yaml

from hpsim import atomic
from hpsim.errors import HpsimError, excerpt
from hpsim.importer.build import ImportPlan, Inputs, WorkloadPlan, plan_import
from hpsim.importer.kubectl import read_objects
from hpsim.words import bytes_words, duration_words

# The conventional names in a folder given as FOLDER.
FOLDER_FILES = {
    "nodes": "nodes.json",
    "pods": "pods.json",
    "events": "events.json",
    "workloads": "workloads.json",
}
# What the Kubernetes API cannot tell, left at hpsim's defaults: named in every scenario an
# import writes and in its summary.
UNKNOWN = (
    "memory committed at start: the container's memory request (or limit), else 0 — the API "
    "shows requests, not use",
    "CPU demand: the container's CPU request (or limit), else 0",
    "memoryGrowth, spikes, hostWrites, rootfsWrites, logRate, emptyDirWrites: 0 (unknown)",
    "lifetimes of Deployment, StatefulSet and DaemonSet pods: none (they live to the end); "
    "the pods' observed times are in observed/pods.csv",
    "node network and unpack rates, antivirus slowdown, pagefile, systemCommit, osDiskUsage: "
    "hpsim's defaults (fit them to observed/pulls.csv)",
    "pools are fixed at their observed node count (an autoscaler's min/max are not in the API)",
)


#: observed/pods.csv's columns (what hpsim fit-check reads).
PODS_COLUMNS = (
    "pod",
    "workload",
    "node",
    "cluster_node",
    "created_s",
    "scheduled_s",
    "started_s",
    "finished_s",
    "deleted_s",
    "restarts",
    "evicted",
    "phase",
)
#: observed/events.csv's columns.
EVENTS_COLUMNS = ("time_s", "kind", "object", "type", "reason", "message", "count", "node")
#: observed/pulls.csv's columns (what hpsim calibrate and hpsim fit-check read).
PULLS_COLUMNS = (
    "node",
    "pod",
    "image",
    "bytes",
    "pull_s",
    "including_waiting_s",
    "time_s",
    "pool",
)


def _yaml(data: Any) -> str:
    return yaml.safe_dump(
        data, sort_keys=False, default_flow_style=False, allow_unicode=True, width=100
    )


def _comment(lines: list[str], indent: str = "") -> str:
    return "".join(f"{indent}# {line}\n" for line in lines)


def _indent(text: str, n: int) -> str:
    pad = " " * n
    return "".join(pad + line if line.strip() else line for line in text.splitlines(keepends=True))


def scenario_yaml(plan: ImportPlan, sources: list[str]) -> str:
    out = io.StringIO()
    out.write(
        _comment(
            [
                f"Imported by `hpsim import` from {', '.join(sources)}.",
                f"Time zero is {plan.t0.isoformat().replace('+00:00', 'Z')}, the earliest pod "
                "creation or event in the input; import-summary.md says what was skipped and why.",
                "Not known from the Kubernetes API, left at stated defaults:",
                *(f"  - {u}" for u in UNKNOWN),
            ]
        )
    )
    out.write(_yaml({"name": plan.name}))
    desc = (
        f"Imported from a cluster: {sum(len(p.nodes) for p in plan.pools)} Windows nodes in "
        f"{len(plan.pools)} pools, {len(plan.workloads)} workloads, "
        f"{duration_words(plan.duration_s)} from {plan.t0.isoformat().replace('+00:00', 'Z')}."
    )
    out.write(_yaml({"description": desc}))
    out.write(_comment(["From time zero to the last time observed, rounded up to 10 minutes."]))
    out.write(_yaml({"duration": f"{int(plan.duration_s)}s", "seed": 1}))
    out.write(_yaml({"startTime": plan.t0.isoformat().replace("+00:00", "Z")}))
    out.write("nodePools:\n")
    for pool in plan.pools:
        out.write(
            _comment(
                [
                    f"{len(pool.nodes)} node(s): "
                    + ", ".join(f"{real} -> {pool.sim_name(real)}" for real in pool.nodes),
                    *pool.comments,
                ],
                "  ",
            )
        )
        body = _yaml([{"name": pool.name, "count": len(pool.nodes), "node": pool.node}])
        out.write(_indent(body, 2))
    if plan.namespaces:
        out.write(
            _comment(
                [
                    "Pod Security enforce levels are not in the pods' API objects: privileged "
                    "(the admission plugin's default); set yours."
                ]
            )
        )
        out.write(_yaml({"namespaces": plan.namespaces}))
    if plan.images:
        out.write("images:\n")
        for img in plan.images:
            out.write(_comment([plan.image_comments.get(img["name"], "")], "  "))
            out.write(_indent(_yaml([img]), 2))
    out.write("workloads:\n")
    for w in plan.workloads:
        out.write(
            _comment(
                [
                    f"{w.kind} {w.namespace}/{w.name}: {len(w.pods)} pod(s) observed",
                    *w.comments,
                    "profile: memory and cpu from the requests (guesses, see the top)",
                ],
                "  ",
            )
        )
        entry: dict[str, Any] = {"manifest": w.file}
        if w.trace is not None:
            entry["arrivals"] = {"trace": w.trace_file}
        elif w.start_s > 0:
            entry["start"] = f"{w.start_s:g}s"
        if w.profile:
            entry["profile"] = w.profile
        if w.containers:
            entry["containers"] = w.containers
        out.write(_indent(_yaml([entry]), 2))
    return out.getvalue()


def _csv(rows: list[dict[str, Any]], columns: list[str]) -> str:
    buf = io.StringIO()
    w = csv.DictWriter(buf, fieldnames=columns, lineterminator="\n", extrasaction="ignore")
    w.writeheader()
    for r in rows:
        w.writerow({k: ("" if r.get(k) is None else r.get(k)) for k in columns})
    return buf.getvalue()


def _trace_csv(w: WorkloadPlan) -> str:
    lines = ["create_s,delete_s"]
    for c, d in w.trace or []:
        lines.append(f"{c:g}," + ("" if d is None else f"{d:g}"))
    return "\n".join(lines) + "\n"


def summary_md(plan: ImportPlan, sources: list[str], outdir: str) -> str:
    t0 = plan.t0.isoformat().replace("+00:00", "Z")
    lines = [
        f"# Import summary: {plan.name}",
        "",
        f"From {', '.join(f'`{s}`' for s in sources)}: {plan.counts['nodes']} nodes, "
        f"{plan.counts['pods']} pods ({plan.counts['pods_imported']} imported), "
        f"{plan.counts['events']} events, {plan.counts['workload_objects']} workload objects.",
        f"Time zero {t0}; the scenario lasts {duration_words(plan.duration_s)}.",
        "",
        "## Node pools",
        "",
        "| pool | nodes | osBuild | cpu | memory | kubernetes | containerd | pre-pulled images |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for p in plan.pools:
        n = p.node
        runtime = n.get("containerd", "default")
        if isinstance(runtime, dict):  # a version and the sandbox image
            runtime = f"{runtime['version']} (sandbox {runtime['sandboxImage']})"
        lines.append(
            f"| {p.name} | {len(p.nodes)} ({', '.join(p.nodes)}) | {n['osBuild']} | {n['cpu']} | "
            f"{n['memory']} | {n.get('kubernetes', '')} | {runtime} | "
            f"{len(n['prePulledImages'])} |"
        )
    lines += [
        "",
        "## Workloads",
        "",
        "| kind | namespace | name | pods | arrivals |",
        "|---|---|---|---|---|",
    ]
    for w in plan.workloads:
        how = (
            f"trace ({len(w.trace or [])} rows)" if w.trace is not None else f"from {w.start_s:g} s"
        )
        if w.kind == "CronJob":
            how = "its schedule"
        lines.append(f"| {w.kind} | {w.namespace} | {w.name} | {len(w.pods)} | {how} |")
    lines += ["", "## Skipped, and why", ""]
    lines += [f"- {s}" for s in plan.skipped] or ["- nothing"]
    lines += ["", "## Bad or partial input", ""]
    lines += [f"- {s}" for s in plan.problems] or ["- none"]
    lines += ["", "## Guessed or unknown (left at stated defaults)", ""]
    lines += [f"- {u}" for u in UNKNOWN]
    lines += [f"- {n}" for n in plan.notes]
    pulls = [r for r in plan.pulls_rows if r["pull_s"] is not None]
    lines += [
        "",
        "## Observed (for comparing a run against the cluster)",
        "",
        f"- `observed/pods.csv`: {len(plan.pods_rows)} pods (created_s, scheduled_s, "
        "started_s, finished_s, deleted_s, restarts, evicted)",
        f"- `observed/events.csv`: {len(plan.events_rows)} events",
        f"- `observed/pulls.csv`: {len(pulls)} successful pulls from kubelet's Pulled events"
        + (
            f" (longest {duration_words(max(r['pull_s'] for r in pulls))}"
            + (
                f", {bytes_words(max(r['bytes'] for r in pulls if r['bytes']))} the largest"
                if any(r["bytes"] for r in pulls)
                else ""
            )
            + ")"
            if pulls
            else ""
        ),
        "",
        f"Next: `hpsim run {outdir}/scenario.yaml --report`.",
        "",
    ]
    return "\n".join(lines)


def write_folder(plan: ImportPlan, target: Path, sources: list[str], *, force: bool) -> None:
    from hpsim.scenario.load import load

    if target.is_symlink() or (target.exists() and not target.is_dir()):
        raise HpsimError("exists and is not a folder: give a new folder", file=str(target))
    if target.is_dir() and any(target.iterdir()) and not force:
        raise HpsimError(
            "the folder exists and is not empty: give a new folder, or --force to replace it",
            file=str(target),
        )
    try:
        with atomic.replacing_dir(target) as tmp:
            (tmp / "manifests").mkdir()
            (tmp / "traces").mkdir()
            (tmp / "observed").mkdir()
            (tmp / "scenario.yaml").write_text(scenario_yaml(plan, sources))
            for w in plan.workloads:
                head = _comment(
                    [
                        f"{w.kind} {w.namespace}/{w.name}, imported by hpsim import: {c}"
                        for c in w.comments[:1]
                    ]
                )
                (tmp / w.file).write_text(head + _yaml(w.manifest))
                if w.trace is not None:
                    (tmp / w.trace_file).write_text(_trace_csv(w))
            if not any((tmp / "traces").iterdir()):
                (tmp / "traces").rmdir()
            (tmp / "observed" / "pods.csv").write_text(_csv(plan.pods_rows, list(PODS_COLUMNS)))
            (tmp / "observed" / "events.csv").write_text(
                _csv(plan.events_rows, list(EVENTS_COLUMNS))
            )
            (tmp / "observed" / "pulls.csv").write_text(_csv(plan.pulls_rows, list(PULLS_COLUMNS)))
            (tmp / "import-summary.md").write_text(summary_md(plan, sources, str(target)))
            try:
                load(tmp / "scenario.yaml")
            except HpsimError as exc:
                raise HpsimError(
                    f"the imported scenario does not load (an hpsim import bug, please report "
                    f"it with the input): {exc}"
                ) from None
    except OSError as exc:
        raise HpsimError(
            f"cannot write the folder: {exc.strerror or exc}", file=str(target)
        ) from None


_NAME_OK = re.compile(r"[^A-Za-z0-9._-]+")


def import_command(args: argparse.Namespace) -> int:
    """``hpsim import``: see the README's "From a real cluster: hpsim import"."""
    paths: dict[str, list[str]] = {"nodes": [], "pods": [], "events": [], "workloads": []}
    if args.folder is not None:
        folder = Path(args.folder)
        if not folder.is_dir():
            raise HpsimError(
                "not a folder (give the folder holding nodes.json, pods.json, ...)",
                file=args.folder,
            )
        for what, fname in FOLDER_FILES.items():
            if (folder / fname).is_file():
                paths[what].append(str(folder / fname))
    for what in paths:
        given = getattr(args, what)
        if given:
            paths[what] = list(given) if isinstance(given, list) else [given]
    for what in ("nodes", "pods"):
        if not paths[what]:
            raise HpsimError(
                f"no {what} file: give --{what} FILE "
                f"(kubectl get {what} {'-A ' if what == 'pods' else ''}-o json > FILE)"
                + (f", or put {FOLDER_FILES[what]} in the folder" if args.folder else ""),
                field=f"--{what}",
            )
    if len(paths["nodes"]) > 1 or len(paths["events"]) > 1 or len(paths["workloads"]) > 1:
        raise HpsimError("give one nodes, events and workloads file (pods may be several)")
    inputs = Inputs(
        nodes=read_objects(paths["nodes"][0], "nodes"),
        pods=[read_objects(p, "pods") for p in paths["pods"]],
        events=read_objects(paths["events"][0], "events") if paths["events"] else None,
        workloads=read_objects(paths["workloads"][0], "workloads") if paths["workloads"] else None,
    )
    target = Path(args.results)
    name = args.name or _NAME_OK.sub("-", target.resolve().name).strip("-.") or "imported"
    plan = plan_import(inputs, name[:100])
    sources = [p for ps in paths.values() for p in ps]
    write_folder(plan, target, [Path(s).name for s in sources], force=args.force)
    if not args.quiet:
        nodes = sum(len(p.nodes) for p in plan.pools)
        print(
            f"imported {nodes} Windows nodes in {len(plan.pools)} pools, {len(plan.workloads)} "
            f"workloads, {len(plan.pulls_rows)} pulls -> {target}/"
        )
        for p in plan.pools:
            print(
                f"  pool {p.name}: {len(p.nodes)} x {p.node['cpu']} CPU, "
                f"{p.node['memory']} memory, {p.node['osBuild']}"
            )
        for w in plan.workloads:
            how = (
                f"trace of {len(w.trace)}"
                if w.trace is not None
                else f"{len(w.pods)} pods observed"
            )
            print(f"  {w.kind.lower()} {w.namespace}/{w.name} ({how})")
        for s in plan.skipped:
            print(f"  skipped {excerpt(s, 200)}")
        for s in plan.problems:
            print(f"  input: {excerpt(s, 300)}")
        print(f"see {target}/import-summary.md; next: hpsim run {target}/scenario.yaml --report")
    return 0
