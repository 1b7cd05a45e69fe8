"""``hpsim calibrate``: a node pool's pull rates fitted to the pulls its kubelets reported.

- :mod:`hpsim.calibrate.kubelet` reads kubelet's "Successfully pulled image" events
  (every wording kubelet has used), ``kubectl get events -o json`` and the
  ``observed/pulls.csv`` table;
- :mod:`hpsim.calibrate.pullmodel` gives a lone pull's duration as hpsim's containerd
  model computes it, as a function of the two rates;
- :mod:`hpsim.calibrate.fit` fits ``network`` and the extraction rate to observed pulls
  (least absolute deviations on log durations, a seeded bootstrap for the 95% interval);
- :mod:`hpsim.calibrate.write` writes the fit into a scenario file;
- :mod:`hpsim.calibrate.command` is the command line.

This package sits above the model (it reads scenario images and replays containerd's
layer sharing); nothing in the model imports it. Importing this package imports none of
them: the names below load on first use, so ``hpsim --help`` stays light.
"""

from __future__ import annotations

import importlib
from typing import Any

__all__ = ["Calibration", "Pulled", "calibrate", "parse_go_duration", "parse_pulled", "write_into"]

_HOME = {
    "Calibration": "hpsim.calibrate.fit",
    "calibrate": "hpsim.calibrate.fit",
    "Pulled": "hpsim.calibrate.kubelet",
    "parse_go_duration": "hpsim.calibrate.kubelet",
    "parse_pulled": "hpsim.calibrate.kubelet",
    "write_into": "hpsim.calibrate.write",
}


def __getattr__(name: str) -> Any:
    home = _HOME.get(name)
    if home is None:
        raise AttributeError(f"module 'hpsim.calibrate' has no attribute {name!r}")
    return getattr(importlib.import_module(home), name)
