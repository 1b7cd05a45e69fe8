"""What every scenario model shares: the base model, the unit-typed fields, versions, and how a
check reports its failure.

The models themselves are in :mod:`hpsim.scenario.nodespec` (a node's settings) and
:mod:`hpsim.scenario.schema` (the rest of a scenario file).
"""

from __future__ import annotations

import re
from typing import Annotated, Any, TypeAlias

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    ValidationError,
    WithJsonSchema,
)
from pydantic.alias_generators import to_camel
from pydantic_core import InitErrorDetails

from hpsim import units

# -- unit-typed fields -------------------------------------------------------------------------


def _shown_as(forms: str, example: str) -> WithJsonSchema:
    """How a unit-typed field appears in the JSON Schema: text or number."""
    return WithJsonSchema(
        {"type": ["string", "number"], "description": forms, "examples": [example]}
    )


# Each is the base type, parsed by its units.parse_* function before pydantic checks it.
Bytes: TypeAlias = Annotated[
    int, BeforeValidator(units.parse_memory_bytes), _shown_as(units.QUANTITY_FORMS, "1Gi")
]
Millicores: TypeAlias = Annotated[
    int, BeforeValidator(units.parse_cpu_millicores), _shown_as(units.CPU_FORMS, "500m")
]
Seconds: TypeAlias = Annotated[
    float, BeforeValidator(units.parse_duration), _shown_as(units.DURATION_FORMS, "15m")
]
BytesPerSecond: TypeAlias = Annotated[
    float,
    BeforeValidator(units.parse_data_rate),
    _shown_as(units.DATA_RATE_FORMS, "500Mbit/s"),
]
PerSecond: TypeAlias = Annotated[
    float, BeforeValidator(units.parse_event_rate), _shown_as(units.EVENT_RATE_FORMS, "3/h")
]


# The range of Kubernetes' int32 fields: exit codes (k/k staging/src/k8s.io/api/core/v1/types.go
# ContainerStateTerminated.ExitCode), replicas, KubeletConfiguration's registryPullQPS.
INT32_MIN, INT32_MAX = -(2**31), 2**31 - 1

_VERSION_RE = re.compile(r"^v?(\d+)\.(\d+)(?:\.(\d+))?(?:[-+].*)?$")


def version_tuple(text: str) -> tuple[int, int, int]:
    """``"v1.29.3"`` -> ``(1, 29, 3)``; ``"1.7.13+azure"`` -> ``(1, 7, 13)``."""
    match = _VERSION_RE.match(text.strip())
    if not match:
        raise ValueError(f"invalid version {text!r}: expected MAJOR.MINOR[.PATCH] such as 1.29")
    return int(match.group(1)), int(match.group(2)), int(match.group(3) or 0)


class Model(BaseModel):
    """Base of every scenario model: camelCase keys, unknown keys refused, immutable."""

    model_config = ConfigDict(
        extra="forbid",
        alias_generator=to_camel,
        populate_by_name=True,
        frozen=True,
        validate_default=False,
    )


def exactly_one(model: BaseModel, names: tuple[str, ...], what: str) -> None:
    given = [n for n in names if getattr(model, n) is not None]
    if len(given) != 1:
        keys = ", ".join(to_camel(n) for n in names)
        found = ", ".join(to_camel(n) for n in given) or "none"
        raise ValueError(f"{what} takes exactly one of {keys} (found {found})")


def error_at(loc: tuple[str | int, ...], message: str, value: Any) -> ValidationError:
    """A check's failure at ``loc`` (camelCase keys) below the model that checks it.

    A rule that needs two fields (or the scenario's duration) runs in the model that holds
    them; raised from its validator this keeps the field path of the value at fault, so
    the message names that value's line, not the model's.
    """
    detail = InitErrorDetails(
        type="value_error", loc=loc, input=value, ctx={"error": ValueError(message)}
    )
    return ValidationError.from_exception_data("Scenario", [detail])


def not_modelled(key: str, why: str) -> ValueError:
    """A setting the schema knows but the simulator does not use yet: refused when set.

    Such a field keeps its default and is left out of the JSON Schema (``SkipJsonSchema``)
    and of the defaults shown there (``exclude``); its validator runs only when a scenario
    sets the key (``validate_default=False``).
    """
    return ValueError(
        f"{key} is not modelled yet: {why}, so it could not change a result; remove it"
    )


# Nodes one pool may hold at once. Our bound, no upstream one: every node is a whole
# simulated machine (kubelet, containerd, volume, GC, eviction), about 100 KiB and a few
# processes; 1,000 is ten times the node count below which kube-scheduler scores every
# node (pkg/scheduler/schedule_one.go minFeasibleNodesToFind = 100).
POOL_NODES_LIMIT = 1_000
# Pods one workload may ask for at once (replicas, a Job's parallelism, a scale event). Our
# bound, no upstream one (the API takes any int32): every pod is an object of the model, and
# a typo of a few zeros would otherwise run out of memory with nothing said. It is
# POOL_NODES_LIMIT nodes of kubelet's default maxPods, 110 (k/k
# pkg/kubelet/apis/config/v1beta1/defaults.go SetDefaults_KubeletConfiguration).
WORKLOAD_PODS_LIMIT = POOL_NODES_LIMIT * 110


def pods_limit_problem(count: int, field: str) -> str | None:
    """Why ``count`` pods at once (the value of ``field``) is more than hpsim simulates."""
    if count <= WORKLOAD_PODS_LIMIT:
        return None
    return (
        f"{count:,} pods at once is more than hpsim simulates for one workload "
        f"({WORKLOAD_PODS_LIMIT:,}: {POOL_NODES_LIMIT:,} nodes of 110 pods; each pod is an "
        f"object of the model). Lower {field}, or simulate a slice of the fleet"
    )
