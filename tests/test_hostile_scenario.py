"""Scenario settings refused at load (issue 14, part A1): one line, exit 2, nothing written.

Each case was a traceback, a hang or a silent acceptance before; each message names the
file, line and field, and says why.
"""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest
import yaml

from hpsim.cli import main
from hpsim.errors import HpsimError
from hpsim.scenario.derived import allocatable, eviction_thresholds
from hpsim.scenario.load import load_text

BASE: dict[str, Any] = yaml.safe_load(
    """
name: probe
duration: 2h
node:
  cpu: 8
  memory: 32Gi
  disk: 128Gi
  network: 500Mbit/s
  kubernetes: "1.31"
workloads:
  - manifest:
      apiVersion: apps/v1
      kind: Deployment
      metadata: {name: web}
      spec:
        replicas: 2
        selector: {matchLabels: {app: web}}
        template:
          metadata: {labels: {app: web}}
          spec:
            containers:
              - name: app
                image: mcr.microsoft.com/windows/nanoserver:ltsc2022
    profile: {memory: 500Mi, cpu: 100m}
"""
)
POD = {
    "apiVersion": "v1",
    "kind": "Pod",
    "metadata": {"name": "p"},
    "spec": {
        "containers": [{"name": "c", "image": "mcr.microsoft.com/windows/nanoserver:ltsc2022"}]
    },
}
ZERO = (
    "a lifetime must be greater than zero: a controller would replace the pod "
    "at the same instant, forever"
)


def scenario(**change: Any) -> dict[str, Any]:
    """BASE with dotted keys set: ``scenario(**{"node.disk": 0})``."""
    sc = copy.deepcopy(BASE)
    for dotted, value in change.items():
        cur: Any = sc
        *parents, last = dotted.split(".")
        for key in parents:
            cur = cur[int(key)] if key.isdigit() else cur.setdefault(key, {})
        cur[last] = value
    return sc


def error(sc: dict[str, Any]) -> str:
    with pytest.raises(HpsimError) as info:
        load_text(yaml.safe_dump(sc, sort_keys=False), file="s.yaml")
    return str(info.value)


def with_pod(arrivals: dict[str, Any]) -> dict[str, Any]:
    sc = scenario()
    sc["workloads"].append({"manifest": POD, "arrivals": arrivals})
    return sc


# -- through the CLI: one line on stderr, exit 2, no results folder ---------------------------


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        (
            {"node.network": 0},
            "s.yaml:7: node.network: must be greater than zero: at zero no image would ever "
            "be pulled",
        ),
        (
            {"node.kubelet": {"evictionHard": {"memory.available": "garbage"}}},
            "s.yaml:11: node.kubelet.evictionHard.memory.available: invalid quantity "
            '"garbage": expected a Kubernetes quantity such as 128974848, 129e6, 129M, 123Mi '
            "or 1Gi",
        ),
        ({"workloads.0.lifetime": {"fixed": 0}}, f"s.yaml:32: workloads[0].lifetime.fixed: {ZERO}"),
        (
            {"workloads.0.lifetime": {"lognormal": {"median": "1h", "sigma": 1000000}}},
            "s.yaml:34: workloads[0].lifetime.lognormal.sigma: Input should be less than or "
            "equal to 10 (got 1000000)",
        ),
    ],
)
def test_cli_refuses_with_one_line_and_writes_nothing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], change: dict[str, Any], expected: str
) -> None:
    path = tmp_path / "s.yaml"
    path.write_text(yaml.safe_dump(scenario(**change), sort_keys=False))
    out = tmp_path / "out"
    assert main(["run", str(path), "-d", str(out)]) == 2
    err = capsys.readouterr().err
    assert err == f"hpsim: error: {tmp_path}/{expected}\n"
    assert not out.exists()


# -- 1, 2: sizes and rates ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        (
            {"node.unpackRate": 0},
            "s.yaml:9: node.unpackRate: must be greater than zero: at zero no image would ever "
            "be pulled",
        ),
        ({"node.disk": 0}, "s.yaml:6: node.disk: must be greater than zero"),
        ({"node.memory": 0}, "s.yaml:5: node.memory: must be greater than zero"),
        (
            {"node.memory": "1e400"},
            's.yaml:5: node.memory: invalid quantity "1e400": too large (more than 2^63-1)',
        ),
        (
            {"node.disk": "10Gi"},
            "s.yaml:6: node.disk: must be larger than osDiskUsage (10Gi is not larger than "
            "20Gi): Windows itself would fill the volume",
        ),
        (
            {"node.disk": "30Gi", "node.osDiskUsage": "30Gi"},
            "s.yaml:6: node.disk: must be larger than osDiskUsage (30Gi is not larger than "
            "30Gi): Windows itself would fill the volume",
        ),
    ],
)
def test_node_sizes_and_rates(change: dict[str, Any], expected: str) -> None:
    assert error(scenario(**change)) == expected


# -- 3: reservations over capacity -------------------------------------------------------------

NOT_ON_WINDOWS = " (a Windows kubelet would start with allocatable 0; hpsim refuses the node)"


@pytest.mark.parametrize(
    ("kubelet", "expected"),
    [
        (
            {"systemReserved": {"cpu": "16", "memory": "64Gi"}},
            'invalid Node Allocatable configuration. Resource "cpu" has a reservation of 16 but '
            "capacity of 8. Expected capacity >= reservation. "
            'Resource "memory" has a reservation of 66036Mi but capacity of 32Gi. '
            "Expected capacity >= reservation.",
        ),
        (
            # systemReserved + kubeReserved + memory.available, as kubelet adds them
            {
                "systemReserved": {"memory": "20Gi"},
                "kubeReserved": {"memory": "11Gi", "cpu": "8500m"},
                "evictionHard": {"memory.available": "2Gi"},
            },
            'invalid Node Allocatable configuration. Resource "cpu" has a reservation of 8500m '
            "but capacity of 8. Expected capacity >= reservation. "
            'Resource "memory" has a reservation of 33Gi but capacity of 32Gi. '
            "Expected capacity >= reservation.",
        ),
        (
            # nodefs.available's share of the disk counts against ephemeral-storage
            {"systemReserved": {"ephemeral-storage": "120Gi"}},
            'invalid Node Allocatable configuration. Resource "ephemeral-storage" has a '
            "reservation of 142592914227 but capacity of 128Gi. Expected capacity >= reservation.",
        ),
    ],
)
def test_reservations_larger_than_capacity(kubelet: dict[str, Any], expected: str) -> None:
    assert error(scenario(**{"node.kubelet": kubelet})) == (
        f"s.yaml:10: node.kubelet: {expected}{NOT_ON_WINDOWS}"
    )


def test_reservations_that_fit_exactly_are_fine() -> None:
    sc = scenario(**{"node.kubelet": {"systemReserved": {"cpu": "8", "memory": "32268Mi"}}})
    node = load_text(yaml.safe_dump(sc)).scenario.node
    assert allocatable(node).cpu_m == 0
    assert allocatable(node).memory == 0


# -- 4: evictionHard by kubelet's rules --------------------------------------------------------


@pytest.mark.parametrize(
    ("signal", "value", "expected"),
    [
        (
            "memory.available",
            "150%",
            "eviction percentage threshold memory.available must be <= 100%: 150%",
        ),
        (
            "nodefs.available",
            "-5%",
            "eviction percentage threshold nodefs.available must be >= 0%: -5%",
        ),
        ("nodefs.available", "ten%", 'strconv.ParseFloat: parsing "ten": invalid syntax'),
        ("memory.available", "0", "eviction threshold memory.available must be positive: 0"),
        ("memory.available", "-1Gi", "eviction threshold memory.available must be positive: -1Gi"),
        ("bogus.signal", "10%", "unsupported eviction signal bogus.signal"),
        ("memory.free\x1b[31m", "1Gi", "unsupported eviction signal memory.free\\x1b[31m"),
    ],
)
def test_eviction_hard_refused_as_kubelet_refuses(signal: str, value: str, expected: str) -> None:
    sc = scenario(**{"node.kubelet": {"evictionHard": {signal: value}}})
    assert (
        error(sc)
        == f"s.yaml:11: node.kubelet.evictionHard.{signal.split(chr(27))[0]}"
        + ("\\x1b[31m" if "\x1b" in signal else "")
        + f": {expected}"
    )


def test_eviction_hard_0_and_100_percent_are_ignored_as_kubelet_ignores_them() -> None:
    sc = scenario(
        **{"node.kubelet": {"evictionHard": {"memory.available": "100%", "nodefs.available": "0%"}}}
    )
    node = load_text(yaml.safe_dump(sc)).scenario.node
    assert eviction_thresholds(node).memory_available is None
    assert eviction_thresholds(node).nodefs_available is None
    assert allocatable(node).memory == 32 * 2**30


def test_signals_kubelet_accepts_are_accepted() -> None:
    sc = scenario(**{"node.kubelet": {"evictionHard": {"pid.available": "10%"}}})
    assert load_text(yaml.safe_dump(sc)).scenario.node.kubelet.eviction_hard == {
        "pid.available": "10%"
    }


# -- 5, 6: uniform and zero lifetimes ----------------------------------------------------------


@pytest.mark.parametrize(
    ("lifetime", "expected"),
    [
        (
            {"uniform": {"min": "2h", "max": "1h"}},
            "s.yaml:33: workloads[0].lifetime.uniform.min: min must not be greater than max "
            "(2.0 h > 60.0 min)",
        ),
        (
            {"uniform": {"min": 0, "max": 0}},
            f"s.yaml:34: workloads[0].lifetime.uniform.max: {ZERO}",
        ),
        (
            {"exponential": {"mean": 0}},
            f"s.yaml:33: workloads[0].lifetime.exponential.mean: {ZERO}",
        ),
        (
            {"lognormal": {"median": 0, "sigma": 0.5}},
            f"s.yaml:33: workloads[0].lifetime.lognormal.median: {ZERO}",
        ),
        ({"fixed": "0s"}, f"s.yaml:32: workloads[0].lifetime.fixed: {ZERO}"),
    ],
)
def test_lifetimes(lifetime: dict[str, Any], expected: str) -> None:
    assert error(scenario(**{"workloads.0.lifetime": lifetime})) == expected


def test_uniform_from_zero_is_a_positive_lifetime() -> None:
    sc = scenario(**{"workloads.0.lifetime": {"uniform": {"min": 0, "max": "1h"}}})
    assert load_text(yaml.safe_dump(sc)).scenario.workloads[0].lifetime is not None


# -- 7: numbers that overflowed at run time ----------------------------------------------------


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        (
            {"workloads.0.profile": {"memory": {"lognormal": {"median": "1Gi", "sigma": 1e6}}}},
            "s.yaml:32: workloads[0].profile.memory.lognormal.sigma: Input should be less than "
            "or equal to 10 (got 1000000.0)",
        ),
        (
            {"node.unpackedRatio": 1e308},
            "s.yaml:9: node.unpackedRatio: Input should be less than or equal to 100 (got 1e+308)",
        ),
        (
            {"workloads.0.profile": {"exitCode": 10**23}},
            "s.yaml:29: workloads[0].profile.exitCode: Input should be less than or equal to "
            "2147483647 (got 100000000000000000000000)",
        ),
        (
            {"workloads.0.profile": {"exitCode": -(2**31) - 1}},
            "s.yaml:29: workloads[0].profile.exitCode: Input should be greater than or equal to "
            "-2147483648 (got -2147483649)",
        ),
        (
            {"node.cpu": 10**30},
            "s.yaml:4: node.cpu: Input should be less than or equal to 4096 "
            "(got 1000000000000000000000000000000)",
        ),
        (
            {"events": [{"at": "1h", "scale": {"workload": "web", "replicas": 2**31}}]},
            "s.yaml:35: events[0].scale.replicas: Input should be less than or equal to "
            "2147483647 (got 2147483648)",
        ),
    ],
)
def test_bounds(change: dict[str, Any], expected: str) -> None:
    assert error(scenario(**change)) == expected


# -- 8: the name of the results folder ---------------------------------------------------------


def test_name_with_a_trailing_newline() -> None:
    assert error(scenario(name="probe\n")) == (
        "s.yaml:1: name: invalid name 'probe\\n': use letters, digits, '.', '_' and '-' "
        "(it names the results folder)"
    )


def test_name_length() -> None:
    assert error(scenario(name="n" * 101)) == (
        "s.yaml:1: name: a name has at most 100 characters (found 101): it names the results folder"
    )
    assert load_text(yaml.safe_dump(scenario(name="n" * 100))).name == "n" * 100


# -- 9: starts at or after the end -------------------------------------------------------------


def test_workload_starting_at_the_end() -> None:
    assert error(scenario(**{"workloads.0.start": "2h"})) == (
        "s.yaml:31: workloads[0].start: the workload starts at or after the end of the scenario"
    )


def test_poisson_window() -> None:
    assert error(with_pod({"poisson": {"rate": "3/h", "start": "1h", "stop": "30m"}})) == (
        "s.yaml:44: workloads[1].arrivals.poisson.stop: stop must be after start "
        "(30.0 min is not after 60.0 min)"
    )
    assert error(with_pod({"poisson": {"rate": "3/h", "start": "2h"}})) == (
        "s.yaml:43: workloads[1].arrivals.poisson.start: the arrivals start at or after the "
        "end of the scenario"
    )
    sc = with_pod({"poisson": {"rate": "3/h", "start": "1h"}})
    sc["workloads"][1]["start"] = "1h"
    assert error(sc) == (
        "s.yaml:43: workloads[1].arrivals.poisson.start: the arrivals start at or after the "
        "end of the scenario"
    )


# -- 10: replications --------------------------------------------------------------------------


def test_replications_bound_reads_well() -> None:
    assert error(scenario(replications=10_000_000)) == (
        "s.yaml:31: replications: Input should be less than or equal to 10000 (got 10000000)"
    )
