"""The integer fields of workload objects, as kube-apiserver decodes and validates them.

Decoding. The API's counts are Go ``int32`` or ``int64`` (k/k staging/src/k8s.io/api
apps/v1/types.go ``DeploymentSpec.Replicas``, batch/v1/types.go ``JobSpec.Parallelism``,
``Completions``, ``BackoffLimit``, ``BackoffLimitPerIndex``, ``CronJobSpec``'s history
limits and ``StartingDeadlineSeconds``, core/v1/types.go ``PodSpec.Priority``,
``TerminationGracePeriodSeconds``). A number that does not fit, or is not whole, fails
JSON decoding with encoding/json's ``UnmarshalTypeError`` (``json: cannot unmarshal
number 1e+21 into Go struct field DeploymentSpec.spec.replicas of type int32``: the
struct holding the field, then the field's path from the object's root), which the
apiserver wraps (staging/src/k8s.io/apiserver/pkg/endpoints/handlers/rest.go
``transformDecodeError``: ``Deployment in version "v1" cannot be handled as a
Deployment: ...``). kubectl sends YAML as JSON (sigs.k8s.io/yaml): an integer beyond
uint64 is read as a float64 and written as Go writes floats (``1e+21``). Of several bad
numbers the decoder reports the first in the JSON, whose keys come sorted.

Validation. Once decoded, counts must not be negative: ``ValidateNonnegativeField``
(``must be greater than or equal to 0``, apimachinery pkg/api/validation) on
``spec.replicas`` (k/k pkg/apis/apps/validation ``ValidateDeploymentSpec``,
``ValidateReplicaSetSpec``, ``ValidateStatefulSetSpec``), ``parallelism``,
``completions``, ``backoffLimit`` and ``backoffLimitPerIndex`` (pkg/apis/batch/validation
``validateJobSpec``), ``startingDeadlineSeconds`` and the history limits
(``validateCronJobSpec``).
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from hpsim.scenario.fielderrors import FieldError

_RANGES = {"int32": (-(2**31), 2**31 - 1), "int64": (-(2**63), 2**63 - 1)}
NEGATIVE = "must be greater than or equal to 0"  # apimachinery IsNegativeErrorMsg


@dataclass(frozen=True)
class IntField:
    """One integer field: its path from the object's root, the Go struct that holds it,
    its Go type and whether validation wants it non-negative."""

    path: tuple[str, ...]
    struct: str
    go_type: str
    nonnegative: bool


_JOB_SPEC = (
    ("parallelism", "int32", True),
    ("completions", "int32", True),
    ("backoffLimit", "int32", True),
    ("backoffLimitPerIndex", "int32", True),
)
_POD_SPEC = (("priority", "int32", False), ("terminationGracePeriodSeconds", "int64", False))
_APPS = {"Deployment", "ReplicaSet", "StatefulSet"}


def int_fields(kind: str, pod_spec_path: tuple[str, ...]) -> list[IntField]:
    """The integer fields hpsim reads in an object of ``kind``, in validation's order."""
    out: list[IntField] = []
    if kind in _APPS:
        out.append(IntField(("spec", "replicas"), f"{kind}Spec", "int32", True))
    if kind == "CronJob":
        out.append(IntField(("spec", "startingDeadlineSeconds"), "CronJobSpec", "int64", True))
    if kind in ("Job", "CronJob"):
        job = ("spec",) if kind == "Job" else ("spec", "jobTemplate", "spec")
        out += [IntField((*job, name), "JobSpec", t, nn) for name, t, nn in _JOB_SPEC]
    if kind == "CronJob":
        for name in ("successfulJobsHistoryLimit", "failedJobsHistoryLimit"):
            out.append(IntField(("spec", name), "CronJobSpec", "int32", True))
    out += [IntField((*pod_spec_path, n), "PodSpec", t, nn) for n, t, nn in _POD_SPEC]
    return out


def _get(data: Any, path: tuple[str, ...]) -> Any:
    for key in path:
        if not isinstance(data, dict):
            return None
        data = data.get(key)
    return data


def go_json_number(value: int | float) -> str:
    """The JSON text kubectl sends for a YAML number (yaml.v2 via sigs.k8s.io/yaml, then
    encoding/json): integers within int64 or uint64 as they are, others as float64,
    written ``%f``-style below 1e21 and ``%e``-style from it (encoding/json floatEncoder)."""
    if isinstance(value, int) and -(2**63) <= value < 2**64:
        return str(value)
    f = float(value)
    if f == int(f) and abs(f) < 1e21:
        return format(Decimal(repr(f)), "f")  # the shortest digits, written positionally
    return repr(f)  # 1e+21, 2.5e+22: Go's shortest %e, as Python writes it


def decode_error(
    kind: str, api_version: str, data: Any, fields: list[IntField]
) -> tuple[tuple[str, ...], str] | None:
    """The first number that does not decode into its field: (its path, the apiserver's
    message), or None."""
    bad = []
    for f in fields:
        value = _get(data, f.path)
        if isinstance(value, bool) or not isinstance(value, int | float):
            continue  # not a number: the type checks say so
        low, high = _RANGES[f.go_type]
        if value != int(value) or not low <= value <= high:
            bad.append((f.path, f, value))
    if not bad:
        return None
    path, f, value = min(bad, key=lambda b: b[0])  # the JSON's keys come sorted
    version = api_version.rsplit("/", 1)[-1]
    return path, (
        f'{kind} in version "{version}" cannot be handled as a {kind}: json: cannot unmarshal '
        f"number {go_json_number(value)} into Go struct field "
        f"{f.struct}.{'.'.join(f.path)} of type {f.go_type}"
    )


def negative_errors(data: Any, fields: list[IntField]) -> list[FieldError]:
    """Counts validation wants non-negative and that are negative, in validation's order."""
    out = []
    for f in fields:
        value = _get(data, f.path)
        if f.nonnegative and isinstance(value, int) and not isinstance(value, bool) and value < 0:
            out.append(FieldError(".".join(f.path), "FieldValueInvalid", NEGATIVE, value))
    return out
