"""hpsim: a discrete-event simulator of a Windows Kubernetes node running HostProcess containers.

Notebook use::

    import hpsim
    sc = hpsim.load("scenarios/node-bootstrap.yaml")
    res = hpsim.run(sc, seed=1)
    res.pods, res.events, res.series, res.images, res.summary()
"""

from hpsim.errors import HpsimError
from hpsim.experiment.run import run
from hpsim.experiment.sweep import sweep
from hpsim.scenario.load import LoadedScenario, load

__version__ = "0.1.0"
__all__ = ["HpsimError", "LoadedScenario", "__version__", "load", "run", "sweep"]
