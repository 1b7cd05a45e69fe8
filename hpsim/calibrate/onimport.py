"""``hpsim import --calibrate``: each imported pool's pull rates fitted to its own pulls.

After :mod:`hpsim.importer.write` has written the folder, every pool is calibrated on the
rows of ``observed/pulls.csv`` whose ``pool`` is its name (:func:`hpsim.calibrate.fit.
of_pool`). The rates a pool's pulls identify are written into ``scenario.yaml`` with the
calibration comment (:func:`hpsim.calibrate.write.write_into`); a pool whose pulls cannot
tell its rates apart, or are too few, keeps hpsim's defaults, and ``import-summary.md``
says which and why. This sits in the calibrate package: the importer is below it and
does not know calibration.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from hpsim import atomic
from hpsim.calibrate.fit import BOOTSTRAP, calibrate
from hpsim.calibrate.kubelet import read_pulls_csv
from hpsim.calibrate.write import write_into
from hpsim.errors import HpsimError
from hpsim.scenario.load import load


@dataclass(frozen=True)
class PoolCalibration:
    pool: str
    written: str | None  # the comment line written into scenario.yaml
    why_not: str | None  # why nothing was written


def calibrate_import(
    folder: str | Path, *, seed: int = 0, bootstrap: int = BOOTSTRAP
) -> list[PoolCalibration]:
    """Calibrate every pool of an imported folder; write what is identified; add a section
    to ``import-summary.md``."""
    folder = Path(folder)
    scenario_file = folder / "scenario.yaml"
    pulls = read_pulls_csv(folder / "observed" / "pulls.csv")
    out: list[PoolCalibration] = []
    for pool in load(scenario_file).scenario.pools:
        try:
            cal = calibrate(
                pulls, load(scenario_file).scenario, pool.name, seed=seed, bootstrap=bootstrap
            )
            comment = write_into(scenario_file, pool.name, cal)
        except HpsimError as exc:
            out.append(PoolCalibration(pool.name, None, str(exc)))
            continue
        out.append(PoolCalibration(pool.name, comment, None))
    summary = folder / "import-summary.md"
    text = summary.read_text(encoding="utf-8") if summary.is_file() else ""
    atomic.write_text(summary, text.rstrip("\n") + "\n\n" + summary_section(out), encoding="utf-8")
    return out


def summary_section(results: list[PoolCalibration]) -> str:
    lines = [
        "## Pull rates calibrated (hpsim import --calibrate)",
        "",
        "Each pool's network and unpackRate fitted to its own pulls in observed/pulls.csv "
        "(hpsim calibrate --pool NAME); written into scenario.yaml where the pulls identify "
        "them, hpsim's defaults kept where they do not.",
        "",
    ]
    for r in results:
        if r.written is not None:
            lines.append(f"- pool {r.pool}: written: {r.written.removeprefix('# ')}")
        else:
            lines.append(f"- pool {r.pool}: not written (hpsim's defaults kept): {r.why_not}")
    lines += [
        "",
        "To fit one rate with the other held: hpsim calibrate FOLDER --pool NAME "
        "--fix network=23MB/s --write.",
        "",
    ]
    return "\n".join(lines)
