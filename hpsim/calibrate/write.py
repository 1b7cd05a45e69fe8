"""Write a calibration into a scenario file: its node's ``network``, ``unpackRate`` and
``pullSpread``.

A targeted text edit, so that the file's comments, order and layout stay: PyYAML's node
tree gives where the node's mapping and its values are, the two values are replaced (or
added beside the mapping's first key), and a comment line above says where they came
from. A comment of an earlier calibration there is replaced. The edited text is loaded
and checked before the file is replaced (atomically).
"""

from __future__ import annotations

import math
from pathlib import Path

import yaml

from hpsim.atomic import write_text
from hpsim.calibrate.fit import Calibration, RateFit, pick_pool
from hpsim.errors import HpsimError, excerpt
from hpsim.scenario.load import load_text

COMMENT = "# calibrated by hpsim calibrate"


def rate_text(bps: float) -> str:
    """A rate as a scenario writes it, to four figures: ``20MB/s``, ``11.44MB/s``."""
    mb = float(f"{bps / 1e6:.4g}")
    text = f"{mb:f}".rstrip("0").rstrip(".")
    return f"{text}MB/s"


def spread_text(sigma: float) -> str:
    """A pull spread as written: the sigma to 3 decimals, within the schema's 0..2."""
    return f"{min(max(sigma, 0.0), 2.0):.3f}"


def _interval(fit: RateFit) -> str:
    low = rate_text(fit.low) if fit.low is not None else "0"
    high = rate_text(fit.high) if fit.high is not None else "unbounded"
    return f"95% CI {low}..{high}"


def _key_value(mapping: yaml.MappingNode, key: str) -> tuple[yaml.Node, yaml.Node] | None:
    for k, v in mapping.value:
        if isinstance(k, yaml.ScalarNode) and k.value == key:
            return k, v
    return None


def _target(root: yaml.Node, pool: str | None, file: str) -> yaml.MappingNode:
    if not isinstance(root, yaml.MappingNode):
        raise HpsimError("not a scenario: expected a mapping", file=file)
    single = _key_value(root, "node")
    if single is not None:
        node = single[1]
    else:
        pools = _key_value(root, "nodePools")
        if pools is None or not isinstance(pools[1], yaml.SequenceNode):
            raise HpsimError("no node: or nodePools: to write into", file=file)
        found = None
        for item in pools[1].value:
            if not isinstance(item, yaml.MappingNode):
                continue
            name = _key_value(item, "name")
            if pool is None or (name is not None and getattr(name[1], "value", None) == pool):
                found = _key_value(item, "node")
                break
        if found is None:
            raise HpsimError(f"no pool '{excerpt(pool)}' to write into", file=file)
        node = found[1]
    if not isinstance(node, yaml.MappingNode):
        raise HpsimError("the node is not a mapping", file=file)
    return node


def _line_start(text: str, index: int) -> int:
    return text.rfind("\n", 0, index) + 1


def edit(text: str, pool: str | None, calibration: Calibration, file: str = "<scenario>") -> str:
    """``text`` with the calibrated rates written into ``pool``'s node (the file's only
    node or pool when None). Fixed or undetermined rates are left as they are."""
    return edit_with_comment(text, pool, calibration, file)[0]


def edit_with_comment(
    text: str, pool: str | None, calibration: Calibration, file: str = "<scenario>"
) -> tuple[str, str]:
    """:func:`edit`, and the comment line it wrote above the node's keys."""
    try:
        root = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.YAMLError as exc:
        raise HpsimError(f"not YAML: {exc}", file=file) from None
    if root is None:
        raise HpsimError("empty", file=file)
    mapping = _target(root, pool, file)
    values: dict[str, str] = {}
    parts: list[str] = []
    for key, fit in (("network", calibration.network), ("unpackRate", calibration.unpack_rate)):
        if fit.fixed or fit.value is None or not math.isfinite(fit.value):
            continue
        values[key] = rate_text(fit.value)
        parts.append(f"{key} {rate_text(fit.value)} ({_interval(fit)})")
    if not values:
        raise HpsimError("nothing to write: no rate was fitted (fixed or undetermined)")
    if math.isfinite(calibration.sigma):
        # NodeSpec.pull_spread: each pull's lognormal factor on its work
        values["pullSpread"] = spread_text(calibration.sigma)
        parts.append(f"pullSpread {spread_text(calibration.sigma)}")
    comment = f"{COMMENT} from {calibration.pulls_used} pulls: {', '.join(parts)}"
    edits: list[tuple[int, int, str]] = []
    missing: list[str] = []
    for key, text_value in values.items():
        found = _key_value(mapping, key)
        if found is None:
            missing.append(f"{key}: {text_value}")
        else:
            v = found[1]
            edits.append((v.start_mark.index, v.end_mark.index, text_value))
    if mapping.flow_style or not mapping.value:
        # {cpu: 4, ...}: new keys after the brace, the comment above the line it opens on.
        brace = mapping.start_mark.index
        if missing:
            edits.append((brace + 1, brace + 1, "".join(f"{m}, " for m in missing)))
        anchor = _line_start(text, brace)
    else:
        first_key = mapping.value[0][0]
        anchor = _line_start(text, first_key.start_mark.index)
        indent = " " * first_key.start_mark.column
        if missing:
            edits.append((anchor, anchor, "".join(f"{indent}{m}\n" for m in missing)))
    indent = ""
    line_end = text.find("\n", anchor)
    line = text[anchor : line_end if line_end >= 0 else len(text)]
    indent = line[: len(line) - len(line.lstrip(" "))]
    above = _line_start(text, anchor - 1) if anchor > 0 else 0
    if anchor > 0 and text[above:anchor].strip().startswith(COMMENT):
        edits.append((above, anchor, f"{indent}{comment}\n"))
    else:
        edits.append((anchor, anchor, f"{indent}{comment}\n"))
    out = text
    for start, end, new in sorted(edits, key=lambda e: (e[0], e[1]), reverse=True):
        out = out[:start] + new + out[end:]
    return out, comment


def write_into(scenario_yaml_path: str | Path, pool: str | None, calibration: Calibration) -> str:
    """Write the calibrated ``network``, ``unpackRate`` and ``pullSpread`` into the scenario
    file's node
    (of ``pool``); returns the comment line written. The edited file must load, and
    carry the rates written, before it replaces the old one."""
    path = Path(scenario_yaml_path)
    shown = str(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise HpsimError(f"cannot read: {exc.strerror or exc}", file=shown) from None
    new, comment = edit_with_comment(text, pool, calibration, shown)
    loaded = load_text(new, file=shown, base_dir=path.parent)
    node = pick_pool(loaded.scenario, pool).node
    read_back = ((calibration.network, node.network), (calibration.unpack_rate, node.unpack_rate))
    for fit, got in read_back:
        if not fit.fixed and fit.value is not None and abs(got - fit.value) > 1e-3 * fit.value:
            raise HpsimError(
                "the edited file does not carry the calibrated rates (nothing written): "
                f"{rate_text(got)} read back for {rate_text(fit.value)}",
                file=shown,
            )
    write_text(path, new, encoding="utf-8")
    # The pool's own comment (a file of several pools holds one for each).
    return comment
