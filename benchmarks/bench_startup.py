"""Benchmark: how long `hpsim --help` and `hpsim validate` on one manifest take to start.

Run: ``python benchmarks/bench_startup.py [--repeat 5]``. Each command runs in a fresh
interpreter (``python -m hpsim ...``), best of ``--repeat``, beside the yardstick
``python -c "import yaml"`` timed the same way in the same process. The target
(issue 18, item 4) is each under 3 times the yardstick.

Prints one line per command and, last, one JSON object: the seconds of each and the
ratios ``help_ratio`` and ``validate_ratio``.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
MANIFEST = ROOT / "scenarios" / "manifests" / "iis-app.yaml"

COMMANDS = {
    "import_yaml": ["-c", "import yaml"],
    "help": ["-m", "hpsim", "--help"],
    "validate": ["-m", "hpsim", "validate", str(MANIFEST)],
}


def best_s(args: list[str], repeat: int) -> float:
    best = float("inf")
    for _ in range(repeat):
        start = time.perf_counter()
        subprocess.run([sys.executable, *args], stdout=subprocess.DEVNULL, check=False)
        best = min(best, time.perf_counter() - start)
    return best


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeat", type=int, default=5, help="runs per command (best kept)")
    args = ap.parse_args(argv)
    out: dict[str, float] = {}
    # The commands take turns, round by round: a busy spell slows them alike.
    best = dict.fromkeys(COMMANDS, float("inf"))
    for _ in range(args.repeat):
        for name, cmd in COMMANDS.items():
            best[name] = min(best[name], best_s(cmd, 1))
    for name, seconds in best.items():
        out[f"{name}_s"] = round(seconds, 4)
        print(f"{name:>12}: {seconds:.3f} s")
    for name in ("help", "validate"):
        out[f"{name}_ratio"] = round(best[name] / best["import_yaml"], 2)
        print(f"{name} / import yaml: {out[f'{name}_ratio']}")
    print(json.dumps(out))
    return 0


if __name__ == "__main__":
    sys.exit(main())
