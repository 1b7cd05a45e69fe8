"""hpsim: a discrete-event simulator of a Windows Kubernetes node running HostProcess containers.

Notebook use::

    import hpsim
    sc = hpsim.load("scenarios/node-bootstrap.yaml")
    res = hpsim.run(sc, seed=1)
    res.pods, res.events, res.series, res.images, res.summary()

``load``, ``run``, ``sweep`` and ``size`` are imported on first use (PEP 562), so
importing a part of the package (say :mod:`hpsim.observe.report`, to read a
results folder) does not load the simulation model or simpy.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from hpsim import native as _native
from hpsim.errors import HpsimError

if TYPE_CHECKING:
    from hpsim.experiment.run import run
    from hpsim.experiment.size import size
    from hpsim.experiment.sweep import sweep
    from hpsim.scenario.load import LoadedScenario, load

# The compiled simulation, if one was built and matches this source (hpsim/native.py).
_native.install()

__version__ = "0.1.0"
__all__ = ["HpsimError", "LoadedScenario", "__version__", "load", "run", "size", "sweep"]

_LAZY = {
    "run": "hpsim.experiment.run",
    "sweep": "hpsim.experiment.sweep",
    "size": "hpsim.experiment.size",
    "load": "hpsim.scenario.load",
    "LoadedScenario": "hpsim.scenario.load",
}


def __getattr__(name: str) -> Any:
    if name not in _LAZY:
        raise AttributeError(f"module 'hpsim' has no attribute {name!r}")
    import importlib

    value = getattr(importlib.import_module(_LAZY[name]), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(__all__)
