"""Scenario YAML -> a checked, typed scenario with its manifests resolved.

Every error names ``file:line``, the field path and what was wrong, and
suggests the near spelling of a misspelt key. Nothing here raises anything
but :class:`hpsim.errors.HpsimError` for bad input.
"""

from __future__ import annotations

import csv
import difflib
import hashlib
import io
import json
import math
import types
import typing
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ValidationError

from hpsim.errors import EXCERPT_CHARS, HpsimError, excerpt
from hpsim.gcpause import paused_gc
from hpsim.scenario import catalog
from hpsim.scenario.manifests import CONTROLLERS, PodTemplate, templates_from_source
from hpsim.scenario.schema import Scenario, Workload
from hpsim.scenario.yamlsrc import Path_, Source, iter_documents, read_text

# A trace file larger than this is refused unread. Our choice: a row ("3704.5,4754.2") is
# about 15 bytes, so 64 MiB is over four million pod arrivals -- more than a simulated
# node starts in any scenario -- while holding them all stays under a gigabyte of memory.
MAX_TRACE_BYTES = 64 * 2**20

# What a message about a file outside the scenario's folder says to allow it.
ALLOW_OUTSIDE_HINT = (
    "hpsim reads only files in the scenario's folder and below it "
    "(to allow others: --allow-outside-files, or allow_outside=True in hpsim.load)"
)


@dataclass(frozen=True)
class TraceRow:
    create_s: float
    delete_s: float | None


@dataclass(frozen=True)
class WorkloadPlan:
    """One pod template with the scenario's settings for it."""

    name: str
    template: PodTemplate
    spec: Workload
    index: int  # position in the scenario's workloads list
    trace: tuple[TraceRow, ...] = ()


@dataclass(frozen=True)
class LoadedScenario:
    """A scenario file, checked, with every manifest read."""

    scenario: Scenario
    workloads: tuple[WorkloadPlan, ...]
    file: str
    base_dir: Path
    data: dict[str, Any]
    digest: str  # sha256 of the canonical scenario and manifests
    # Whether files outside base_dir were allowed: reloading a variant must pass it on.
    allow_outside: bool = False

    @property
    def name(self) -> str:
        return self.scenario.name

    def workload(self, name: str) -> WorkloadPlan:
        for w in self.workloads:
            if w.name == name:
                return w
        raise KeyError(name)


# -- pydantic errors -> one HpsimError ----------------------------------------------------------


def _unwrap(tp: Any) -> list[Any]:
    """The concrete types a field annotation may hold."""
    origin = typing.get_origin(tp)
    if origin is typing.Annotated:
        return _unwrap(typing.get_args(tp)[0])
    if origin in (typing.Union, types.UnionType):
        return [t for a in typing.get_args(tp) for t in _unwrap(a)]
    return [tp]


def _fields_at(model: type[BaseModel] | None, loc: tuple[Any, ...]) -> list[str]:
    """Keys allowed at ``loc`` inside ``model`` (for near-spelling suggestions)."""
    current: list[Any] = [model] if model else []
    for part in loc:
        nxt: list[Any] = []
        for tp in current:
            for t in _unwrap(tp):
                origin = typing.get_origin(t)
                if isinstance(t, type) and issubclass(t, BaseModel):
                    for name, f in t.model_fields.items():
                        if part in (name, f.alias):
                            nxt.append(f.annotation)
                elif origin in (list, tuple) and isinstance(part, int):
                    nxt.extend(typing.get_args(t)[:1])
                elif origin is dict:
                    nxt.extend(typing.get_args(t)[1:2])
        current = nxt
    keys: list[str] = []
    for tp in current:
        for t in _unwrap(tp):
            if isinstance(t, type) and issubclass(t, BaseModel):
                keys.extend(f.alias or n for n, f in t.model_fields.items())
    return keys


def _union_tag(t: Any) -> str | None:
    """The name pydantic gives a union member in an error's loc, when it is a model."""
    return t.__name__ if isinstance(t, type) and issubclass(t, BaseModel) else None


def _field_loc(model: type[BaseModel] | None, loc: tuple[Any, ...]) -> tuple[Any, ...]:
    """An error's loc as a field path: without the union-member tags pydantic adds.

    For ``poisson: Poisson | PerSecond`` pydantic reports ``("poisson", "Poisson",
    "rate")`` or ``("poisson", "function-before[...]")``; the user wrote
    ``poisson.rate`` and ``poisson``.
    """
    out: list[Any] = []
    current: list[Any] = [model] if model else []
    for part in loc:
        if isinstance(part, str) and part.startswith("function-"):
            continue
        members = [t for tp in current for t in _unwrap(tp) if t is not type(None)]
        if len(members) > 1:
            # A union: this part names the member that failed, not a key.
            named = [t for t in members if _union_tag(t) == part]
            current = named or [t for t in members if _union_tag(t) is None]
            continue
        nxt: list[Any] = []
        for t in members:
            origin = typing.get_origin(t)
            if isinstance(t, type) and issubclass(t, BaseModel):
                nxt.extend(f.annotation for n, f in t.model_fields.items() if part in (n, f.alias))
            elif origin in (list, tuple) and isinstance(part, int):
                nxt.extend(typing.get_args(t)[:1])
            elif origin is dict:
                nxt.extend(typing.get_args(t)[1:2])
        out.append(part)
        current = nxt
    return tuple(out)


def _show(value: Any) -> str:
    text = json.dumps(value, default=str)
    return text if len(text) <= 60 else text[:57] + "..."


def _cut_input(msg: str, value: Any) -> str:
    """``msg`` with a long ``value`` it quotes cut to one excerpt.

    Validators quote what they refuse (``invalid quantity "..."``); a value pasted from
    elsewhere may be a whole file's worth.
    """
    if not isinstance(value, str) or len(value) <= EXCERPT_CHARS:
        return msg
    for form in (json.dumps(value), repr(value), value):
        if form in msg:
            return msg.replace(form, excerpt(form))
    return msg


def error_from_validation(
    src: Source,
    exc: ValidationError,
    *,
    prefix: Path_ = (),
    model: type[BaseModel] | None = Scenario,
) -> HpsimError:
    """The first pydantic error as one HpsimError at its file:line and field."""
    errors = exc.errors(include_url=False)
    # A misspelt key also makes the right one "missing": report the misspelling.
    err = next((e for e in errors if e["type"] == "extra_forbidden"), errors[0])
    loc = _field_loc(model, tuple(err["loc"]))
    if err["type"].endswith("_type"):
        # A value that fails every member of a union fails the type check of all but
        # one: report that one ("poisson: 3/hour" is a bad rate, not a bad mapping).
        for other in errors:
            other_loc = _field_loc(model, tuple(other["loc"]))
            if not other["type"].endswith("_type") and other_loc[: len(loc)] == loc:
                err, loc = other, other_loc
                break
    path = (*prefix, *loc)
    kind = err["type"]
    if kind == "extra_forbidden":
        key = str(loc[-1])
        msg = f'unknown key "{excerpt(key)}"'
        near = difflib.get_close_matches(key, _fields_at(model, loc[:-1]), n=1, cutoff=0.6)
        if near:
            msg += f' (did you mean "{near[0]}"?)'
        return src.error(path, msg, key=True)
    if kind == "missing":
        # The line of the mapping's own key ("node:"), where the missing key belongs.
        return src.error(path, f'required key "{loc[-1]}" is missing', line_of=path[:-1], key=True)
    msg = err["msg"]
    for lead in ("Value error, ", "Assertion failed, "):
        if msg.startswith(lead):
            msg = msg[len(lead) :]
            break
    else:
        if "input" in err and not isinstance(err["input"], dict | list):
            msg += f" (got {_show(err['input'])})"
    msg = _cut_input(msg, err.get("input"))
    return src.error(path, msg)


# -- loading ------------------------------------------------------------------------------------


def _digest(data: Any, manifests: list[Any]) -> str:
    canon = json.dumps([data, manifests], sort_keys=True, default=str, separators=(",", ":"))
    return hashlib.sha256(canon.encode()).hexdigest()


def _one_document(text: str, file: str) -> Source:
    docs = list(iter_documents(text, file))
    if not docs:
        raise HpsimError("empty scenario file", file=file, line=1)
    if len(docs) > 1:
        raise HpsimError(
            "a scenario file holds one YAML document", file=file, line=docs[1].first_line
        )
    if not isinstance(docs[0].data, dict):
        raise HpsimError(
            "a scenario must be a mapping of keys (name, duration, node, ...)",
            file=file,
            line=docs[0].first_line,
        )
    return docs[0]


def load(path: str | Path, *, allow_outside: bool = False) -> LoadedScenario:
    """Read and check a scenario file and the manifests it names.

    Manifest and trace files must sit in the scenario file's folder or below it;
    ``allow_outside=True`` lifts that (the CLI's ``--allow-outside-files``).
    """
    path = Path(path)
    shown = str(path)
    src = _one_document(read_text(path, shown), shown)
    return load_source(src, base_dir=path.parent, allow_outside=allow_outside)


def load_text(
    text: str,
    *,
    file: str = "<scenario>",
    base_dir: str | Path = ".",
    allow_outside: bool = False,
) -> LoadedScenario:
    """A scenario from YAML text (manifest paths relative to ``base_dir``)."""
    return load_source(
        _one_document(text, file), base_dir=Path(base_dir), allow_outside=allow_outside
    )


def load_data(
    data: dict[str, Any],
    *,
    file: str = "<scenario>",
    base_dir: str | Path = ".",
    allow_outside: bool = False,
) -> LoadedScenario:
    """A scenario from an already-parsed mapping (no line numbers)."""
    return load_source(
        Source(data=data, file=file), base_dir=Path(base_dir), allow_outside=allow_outside
    )


def _named_file(
    wl_src: Source, key: Path_, what: str, rel: str, base_dir: Path, allow_outside: bool
) -> Path:
    """The file a scenario names at ``key``: inside ``base_dir`` unless ``allow_outside``.

    Inside means after symlinks and ``..`` are resolved: a link in the folder that
    points at /etc is outside. The folder is checked before existence, so that a
    scenario cannot ask whether a file exists elsewhere.
    """
    target = base_dir / rel  # an absolute ``rel`` replaces base_dir
    shown = f"{what} file '{excerpt(rel)}'"
    if not allow_outside:
        try:
            inside = target.resolve().is_relative_to(base_dir.resolve())
        except (OSError, RuntimeError, ValueError):  # a name too long, a symlink loop
            inside = True  # nothing to read there: "not found" below
        if not inside:
            raise wl_src.error(
                key, f"{shown} is outside the scenario's folder; {ALLOW_OUTSIDE_HINT}"
            )
    if not _is_file(target):
        # The folder as given, the name cut like anything else a file says.
        raise wl_src.error(key, f"{shown} not found (looked in {base_dir / excerpt(rel)})")
    return target


def _manifest_templates(
    wl_src: Source, spec: Workload, base_dir: Path, allow_outside: bool
) -> tuple[list[PodTemplate], Any]:
    if isinstance(spec.manifest, dict):
        docs = [wl_src.sub(("manifest",))]
        raw: Any = spec.manifest
    else:
        mpath = _named_file(
            wl_src, ("manifest",), "manifest", spec.manifest, base_dir, allow_outside
        )
        shown = str(mpath)
        docs = list(iter_documents(read_text(mpath, shown), shown))
        raw = [d.data for d in docs]
    templates = [t for d in docs for t in templates_from_source(d, simulated=True)]
    if not templates:
        raise wl_src.error(
            ("manifest",),
            "the manifest holds no Pod, Deployment, ReplicaSet, StatefulSet, DaemonSet, Job "
            "or CronJob",
        )
    return templates, raw


def _is_file(path: Path) -> bool:
    """``Path.is_file`` that answers False, not OSError, for an impossible name."""
    try:
        return path.is_file()
    except (OSError, ValueError):
        return False


def _read_trace(
    wl_src: Source, rel: str, base_dir: Path, allow_outside: bool
) -> tuple[TraceRow, ...]:
    tpath = _named_file(wl_src, ("arrivals", "trace"), "trace", rel, base_dir, allow_outside)
    shown = str(tpath)
    # A spreadsheet's CSV export often starts with a byte-order mark.
    text = read_text(tpath, shown, limit=MAX_TRACE_BYTES, kind="trace file").removeprefix("\ufeff")
    lines_read = 0  # csv's own line_num lags by one for some errors

    def lines() -> typing.Iterator[str]:
        nonlocal lines_read
        for line in io.StringIO(text):
            lines_read += 1
            yield line

    reader = csv.reader(lines())
    out = []
    try:
        # "create_s, delete_s" names delete_s, not " delete_s"
        fields = [f.strip() for f in next(reader, [])]
        header = ", ".join(fields)
        if "create_s" not in fields:
            raise HpsimError(
                f"trace needs a create_s column (found {excerpt(header) or 'none'})",
                file=shown,
                line=1,
            )
        columns: dict[str, int] = {
            col: fields.index(col) for col in ("create_s", "delete_s") if col in fields
        }
        for row in reader:
            if not row:
                continue  # a blank line, as csv.DictReader skips it
            line = reader.line_num
            if len(row) != len(fields):
                raise HpsimError(
                    f"this row has {len(row)} field{'s' if len(row) != 1 else ''} where the "
                    f"header has {len(fields)} ({excerpt(header)})",
                    file=shown,
                    line=line,
                )
            out.append(_trace_row(row, columns, shown, line))
    except csv.Error as exc:
        raise HpsimError(f"malformed CSV: {exc}", file=shown, line=lines_read) from None
    return tuple(sorted(out, key=lambda r: r.create_s))


def _trace_row(row: list[str], columns: dict[str, int], shown: str, line: int) -> TraceRow:
    values: dict[str, float | None] = {"create_s": None, "delete_s": None}
    for col, at in columns.items():
        cell = row[at].strip()
        if not cell:
            continue
        try:
            number = float(cell)
        except ValueError:
            raise HpsimError(
                f"{col}: not a number: '{excerpt(cell)}'", file=shown, line=line
            ) from None
        if not math.isfinite(number):
            raise HpsimError(
                f"{col}: not a finite number: '{excerpt(cell)}'", file=shown, line=line
            )
        values[col] = number
    create, delete = values["create_s"], values["delete_s"]
    if create is None or create < 0:
        raise HpsimError("create_s: a time in seconds >= 0 is required", file=shown, line=line)
    if delete is not None and delete < create:
        raise HpsimError("delete_s: must not be before create_s", file=shown, line=line)
    return TraceRow(create, delete)


# A cycle longer than this is shown by its ends ("a -> b -> ... -> y -> a").
_CYCLE_SHOWN = 6


def _check_base_cycles(src: Source, scenario: Scenario, index: dict[str, int]) -> None:
    """Refuse scenario images whose ``base`` chain comes back to itself.

    A base the catalogue knows ends a chain (hpsim.node.images takes the catalogue's image
    for it). Each image is walked once: linear in the number of images, however deep.
    """
    ends: set[str] = set()  # images whose chain is known to end
    for image in scenario.images:
        chain: list[str] = []
        on_chain: set[str] = set()
        name: str | None = image.name
        while name is not None and name not in ends:
            if name in on_chain:
                shown = [excerpt(c) for c in (*chain[chain.index(name) :], name)]
                if len(shown) > _CYCLE_SHOWN:
                    shown = [*shown[:3], "...", *shown[-2:]]
                raise src.error(
                    ("images", index[name], "base"),
                    f"base images form a cycle: {' -> '.join(shown)}",
                )
            chain.append(name)
            on_chain.add(name)
            base = scenario.images[index[name]].base
            name = None if base is None or catalog.lookup(base) is not None else base
        ends.update(chain)


def load_source(src: Source, *, base_dir: Path, allow_outside: bool = False) -> LoadedScenario:
    """Check a parsed scenario document and resolve its manifests."""
    # Everything built here stays alive: the collector's passes would only walk it,
    # more often the more workloads there are (hpsim.gcpause).
    with paused_gc():
        return _load_source(src, base_dir=base_dir, allow_outside=allow_outside)


def _load_source(src: Source, *, base_dir: Path, allow_outside: bool) -> LoadedScenario:
    try:
        scenario = Scenario.model_validate(src.data)
    except ValidationError as exc:
        raise error_from_validation(src, exc) from None

    plans: list[WorkloadPlan] = []
    raw_manifests: list[Any] = []
    seen: dict[str, int] = {}
    for i, spec in enumerate(scenario.workloads):
        wl_src = src.sub(("workloads", i))
        templates, raw = _manifest_templates(wl_src, spec, base_dir, allow_outside)
        raw_manifests.append(raw)
        trace: tuple[TraceRow, ...] = ()
        if spec.arrivals and spec.arrivals.trace:
            trace = _read_trace(wl_src, spec.arrivals.trace, base_dir, allow_outside)
        for t in templates:
            if t.name in seen:
                raise wl_src.error(
                    ("manifest",),
                    f'workload name "{excerpt(t.name)}" is used twice '
                    f"(also by workloads[{seen[t.name]}]); "
                    "each Kubernetes object needs its own metadata.name",
                )
            seen[t.name] = i
            if (spec.arrivals is not None) and t.kind in CONTROLLERS:
                raise wl_src.error(
                    ("arrivals",),
                    f"arrivals apply to Pods and Jobs; a {t.kind} keeps its own pods "
                    "(use its replicas, a lifetime, or a scale event)",
                )
            if (spec.arrivals is not None) and t.kind == "CronJob":
                raise wl_src.error(
                    ("arrivals",),
                    "arrivals apply to Pods and Jobs; a CronJob creates its Jobs on its "
                    "schedule (spec.schedule)",
                )
            names = {c.name for c in (*t.spec.init_containers, *t.spec.containers)}
            for cname in spec.containers:
                if cname not in names:
                    raise wl_src.error(
                        ("containers", cname),
                        f'no container "{excerpt(cname)}" in {t.kind} "{excerpt(t.name)}" '
                        f"(containers: {excerpt(', '.join(sorted(names)))})",
                        key=True,
                    )
            plans.append(WorkloadPlan(name=t.name, template=t, spec=spec, index=i, trace=trace))

    plans_by_name = {p.name: p for p in plans}
    image_names: dict[str, int] = {}
    for i, image in enumerate(scenario.images):
        if image.name in image_names:
            raise src.error(("images", i, "name"), f'image "{excerpt(image.name)}" is listed twice')
        image_names[image.name] = i
    for i, image in enumerate(scenario.images):
        if image.base is None or catalog.lookup(image.base) is not None:
            continue
        if image.base in image_names:
            continue
        known = [*catalog.IMAGES, *image_names]
        near = difflib.get_close_matches(image.base, known, n=1, cutoff=0.8)
        hint = (
            f' (did you mean "{excerpt(near[0])}"?)'
            if near
            else " (`hpsim catalog` lists the bases)"
        )
        raise src.error(("images", i, "base"), f'unknown base image "{excerpt(image.base)}"{hint}')
    _check_base_cycles(src, scenario, image_names)
    where: list[tuple[tuple[str | int, ...], list[str]]] = []
    if scenario.node is not None and scenario.node.pre_pulled_images is not None:
        where.append((("node",), scenario.node.pre_pulled_images))
    for p, pool in enumerate(scenario.node_pools):
        if pool.node.pre_pulled_images is not None:
            where.append((("nodePools", p, "node"), pool.node.pre_pulled_images))
    for at, refs in where:
        for i, ref in enumerate(refs):
            if ref in image_names or catalog.lookup(ref) is not None:
                continue
            known = [*catalog.IMAGES, *image_names]
            near = difflib.get_close_matches(ref, known, n=1, cutoff=0.8)
            hint = (
                f' (did you mean "{excerpt(near[0])}"?)'
                if near
                else " (list it under images:, or see `hpsim catalog`)"
            )
            raise src.error(
                (*at, "prePulledImages", i),
                f'unknown image "{excerpt(ref)}": a node image cannot hold an image '
                f"no one defines{hint}",
            )
    for p, pool in enumerate(scenario.node_pools):
        cni = pool.cni_daemon_set
        if cni is not None and (
            cni not in plans_by_name or plans_by_name[cni].template.kind != "DaemonSet"
        ):
            daemons = [n for n, w in plans_by_name.items() if w.template.kind == "DaemonSet"]
            near = difflib.get_close_matches(cni, daemons, n=1)
            hint = f' (did you mean "{excerpt(near[0])}"?)' if near else ""
            raise src.error(
                ("nodePools", p, "cniDaemonSet"), f'no DaemonSet named "{excerpt(cni)}"{hint}'
            )
    for i, event in enumerate(scenario.events):
        if event.at > scenario.duration:
            raise src.error(("events", i, "at"), "the event is after the end of the scenario")
        target = event.rollout or event.scale
        if target is None:
            continue
        key = "rollout" if event.rollout else "scale"
        if target.workload not in plans_by_name:
            near = difflib.get_close_matches(target.workload, list(plans_by_name), n=1)
            hint = f' (did you mean "{excerpt(near[0])}"?)' if near else ""
            raise src.error(
                ("events", i, key, "workload"),
                f'no workload named "{excerpt(target.workload)}"{hint}',
            )
        plan = plans_by_name[target.workload]
        if event.scale and plan.template.kind not in ("Deployment", "ReplicaSet", "StatefulSet"):
            raise src.error(
                ("events", i, "scale", "workload"), f"a {plan.template.kind} cannot be scaled"
            )
        if event.rollout and plan.template.kind == "Job":
            # A Job's pod template is immutable (k/k pkg/apis/batch/validation
            # ValidateJobSpecUpdate: "field is immutable").
            raise src.error(
                ("events", i, "rollout", "workload"),
                "a Job's pod template is immutable: spec.template: field is immutable",
            )
        if event.rollout and plan.template.kind == "Pod":
            raise src.error(
                ("events", i, "rollout", "workload"),
                "a bare Pod has no rollout (an in-place image update is not modelled): "
                "use a Deployment",
            )
        if event.rollout and event.rollout.container:
            cnames = [c.name for c in plan.template.spec.containers]
            if event.rollout.container not in cnames:
                raise src.error(
                    ("events", i, "rollout", "container"),
                    f'no container "{excerpt(event.rollout.container)}" in "{excerpt(plan.name)}"',
                )

    return LoadedScenario(
        scenario=scenario,
        workloads=tuple(plans),
        file=src.file,
        base_dir=base_dir,
        data=src.data,
        digest=_digest(src.data, raw_manifests),
        allow_outside=allow_outside,
    )
