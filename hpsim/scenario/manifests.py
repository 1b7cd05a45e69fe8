"""Kubernetes manifests -> pod templates.

A manifest copied from a real cluster loads unchanged: the objects that carry
a pod template (Pod, Deployment, ReplicaSet, StatefulSet, DaemonSet, Job, CronJob) are
read, other kinds (ConfigMap, ServiceAccount, RBAC, ...) are skipped, and
fields hpsim does not model are ignored. The fields hpsim does read are typed
(pydantic, lenient about extras): a wrong type or an impossible quantity is an
error naming file, line and the manifest's own field path.

Defaults mirror the API server's defaulting (k/k pkg/apis/core/v1/defaults.go,
pkg/apis/apps/v1/defaults.go, pkg/apis/batch/v1/defaults.go): restartPolicy
Always, terminationGracePeriodSeconds 30, imagePullPolicy Always for ``:latest``
or untagged images else IfNotPresent, requests defaulted from limits, replicas
1, Job parallelism 1, completions 1 when parallelism is unset too (else left
unset), and backoffLimit 6; a CronJob's (hpsim.scenario.cronjobs) and its job
template's as a Job's. Integer fields too large for their Go type, and negative
counts, are refused in the API server's words (hpsim.scenario.apinumbers). As the
API server's JSON decoding does, a ``null`` field is read as not set.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from fractions import Fraction
from typing import Annotated, Any, Literal, cast

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)
from pydantic.alias_generators import to_camel

from hpsim import units
from hpsim.errors import HpsimError
from hpsim.scenario import apinumbers, apivalidation
from hpsim.scenario.cronjobs import (
    FAILED_JOBS_HISTORY_LIMIT,
    SUCCESSFUL_JOBS_HISTORY_LIMIT,
    CronSpec,
    history_limit_errors,
    validate_cronjob_spec,
)
from hpsim.scenario.fielderrors import FieldError
from hpsim.scenario.schemabase import pods_limit_problem
from hpsim.scenario.yamlsrc import Path_, Source

# Where the pod spec sits in each kind, for field paths in messages.
POD_SPEC_PATH: dict[str, tuple[str, ...]] = {
    "Pod": ("spec",),
    "Deployment": ("spec", "template", "spec"),
    "ReplicaSet": ("spec", "template", "spec"),
    "StatefulSet": ("spec", "template", "spec"),
    "DaemonSet": ("spec", "template", "spec"),
    "Job": ("spec", "template", "spec"),
    "CronJob": ("spec", "jobTemplate", "spec", "template", "spec"),
}
CONTROLLERS = {"Deployment", "ReplicaSet", "StatefulSet", "DaemonSet"}
# k/k pkg/apis/batch/validation ValidateCronJobCreate: a Job's name (a DNS-1035 label, 63)
# less the 11 characters of "-<minutes>" the controller appends.
CRONJOB_NAME_MAX = 63 - 11
INT32_MAX = 2**31 - 1  # Go's int32 and int64: the API's integer fields
INT64_MAX = 2**63 - 1


class K8sModel(BaseModel):
    """Lenient: Kubernetes fields hpsim does not model are ignored, not refused."""

    model_config = ConfigDict(
        extra="ignore", alias_generator=to_camel, populate_by_name=True, frozen=True
    )

    @model_validator(mode="before")
    @classmethod
    def _null_is_unset(cls, data: Any) -> Any:
        # `nodeSelector:` with nothing after it (common in Helm output) is null, and
        # Go's JSON decoder leaves a field it reads null at its zero value.
        if isinstance(data, dict):
            return {k: v for k, v in data.items() if v is not None}
        return data


def _nonnegative_quantity(value: Any) -> Fraction:
    q = units.parse_quantity(value)
    if q < 0:
        # ValidateNonnegativeQuantity (pkg/apis/core/validation): requests and limits.
        raise ValueError(f"invalid quantity {json.dumps(str(value))}: must not be negative")
    return q


def _ceil(q: Fraction) -> int:
    return -((-q.numerator) // q.denominator)


_Quantity = Annotated[Fraction, BeforeValidator(_nonnegative_quantity)]


class ResourceRequirements(K8sModel):
    """requests/limits, parsed as the API server parses quantities."""

    requests: dict[str, _Quantity] = {}
    limits: dict[str, _Quantity] = {}

    @field_validator("requests", "limits", mode="before")
    @classmethod
    def _none(cls, value: Any) -> Any:
        return {} if value is None else value

    @field_validator("requests", "limits", mode="after")
    @classmethod
    def _round(cls, value: dict[str, Fraction]) -> dict[str, int]:
        # MilliValue() for cpu, Value() for the rest: both round up (quantity.go).
        out = {name: _ceil(q * 1000) if name == "cpu" else _ceil(q) for name, q in value.items()}
        if out.get("cpu", 0) > INT64_MAX:
            # MilliValue() is an int64: a larger CPU quantity has no millicore value.
            raise ValueError("invalid CPU quantity: too large (more than 2^63-1 millicores)")
        return out

    def request(self, name: str) -> int:
        """Effective request: the API server defaults a missing request to the limit."""
        # The maps hold ints: _round replaced each parsed Fraction with its rounded value.
        return cast(int, self.requests.get(name, self.limits.get(name, 0)))


class WindowsOptions(K8sModel):
    host_process: bool | None = None
    run_as_user_name: str | None = None


class SecurityContext(K8sModel):
    windows_options: WindowsOptions | None = None
    run_as_non_root: bool | None = None


class VolumeMount(K8sModel):
    name: str
    mount_path: str
    read_only: bool = False


class ContainerPort(K8sModel):
    container_port: int
    host_port: int | None = None


class Container(K8sModel):
    name: str
    image: str | None = None
    image_pull_policy: Literal["Always", "IfNotPresent", "Never"] | None = None
    resources: ResourceRequirements = ResourceRequirements()
    security_context: SecurityContext | None = None
    volume_mounts: list[VolumeMount] = []
    ports: list[ContainerPort] = []

    @property
    def pull_policy(self) -> str:
        """imagePullPolicy as defaulted by SetDefaults_Container (core/v1 defaults.go).

        Always when the image's tag is ``latest``, else IfNotPresent. The tag comes
        from pkg/util/parsers ParseImageName: ``latest`` when the reference has
        neither tag nor digest, none when it has only a digest, and none when the
        reference does not parse (the error is ignored).
        """
        if self.image_pull_policy:
            return self.image_pull_policy
        return "Always" if image_tag(self.image or "") == "latest" else "IfNotPresent"


# github.com/distribution/reference regexp.go, as ParseNormalizedNamed applies it.
_PATH_COMPONENT = r"[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*"
_DOMAIN_COMPONENT = r"(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])"
_REFERENCE_RE = re.compile(
    rf"(?P<name>(?:(?:{_DOMAIN_COMPONENT}(?:\.{_DOMAIN_COMPONENT})*|\[[a-fA-F0-9:]+\])"
    rf"(?::[0-9]+)?/)?{_PATH_COMPONENT}(?:/{_PATH_COMPONENT})*)"
    r"(?::(?P<tag>[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}))?"
    r"(?:@(?P<algorithm>[A-Za-z][A-Za-z0-9]*(?:[-_+.][A-Za-z][A-Za-z0-9]*)*)"
    r":(?P<hex>[0-9a-fA-F]{32,}))?"
)
# go-digest: the algorithms it can verify, and the length of their lowercase hex.
_DIGEST_HEX = {"sha256": 64, "sha384": 96, "sha512": 128}


def image_tag(image: str) -> str:
    """The tag ParseImageName gives ``image``: ``latest`` if untagged, "" if it cannot."""
    match = _REFERENCE_RE.fullmatch(image)
    if (
        match is None
        or len(match["name"]) > 255
        or re.fullmatch(r"[a-f0-9]{64}", image)  # an image ID, refused as a name
    ):
        return ""
    if match["algorithm"] is not None:
        want = _DIGEST_HEX.get(match["algorithm"])
        if want is None or not re.fullmatch(rf"[a-f0-9]{{{want}}}", match["hex"]):
            return ""
    if match["tag"] is None and match["algorithm"] is None:
        return "latest"
    return match["tag"] or ""


class HostPathSource(K8sModel):
    path: str
    type: str | None = None


class EmptyDirSource(K8sModel):
    medium: str | None = None
    size_limit: int | None = None

    @field_validator("size_limit", mode="before")
    @classmethod
    def _size(cls, v: Any) -> Any:
        return None if v is None else units.parse_memory_bytes(v)


class Volume(K8sModel):
    name: str
    host_path: HostPathSource | None = None
    empty_dir: EmptyDirSource | None = None


class Toleration(K8sModel):
    key: str | None = None
    operator: Literal["Exists", "Equal"] = "Equal"
    value: str | None = None
    effect: Literal["NoSchedule", "PreferNoSchedule", "NoExecute"] | None = None


class NodeSelectorRequirement(K8sModel):
    key: str
    operator: Literal["In", "NotIn", "Exists", "DoesNotExist", "Gt", "Lt"]
    values: list[str] = []


class NodeSelectorTerm(K8sModel):
    match_expressions: list[NodeSelectorRequirement] = []


class NodeSelector(K8sModel):
    node_selector_terms: list[NodeSelectorTerm] = []


class PreferredSchedulingTerm(K8sModel):
    # k/k staging/src/k8s.io/api/core/v1/types.go PreferredSchedulingTerm: int32 weight
    # (1-100 by validation; a 0 weight is skipped by the scheduler, component-helpers
    # scheduling/corev1/nodeaffinity NewPreferredSchedulingTerms).
    weight: int
    preference: NodeSelectorTerm


class NodeAffinity(K8sModel):
    required_during_scheduling_ignored_during_execution: NodeSelector | None = None
    preferred_during_scheduling_ignored_during_execution: list[PreferredSchedulingTerm] = []


class Affinity(K8sModel):
    node_affinity: NodeAffinity | None = None


class PodOS(K8sModel):
    name: str


class PodSpec(K8sModel):
    containers: list[Container] = Field(min_length=1)
    init_containers: list[Container] = []
    ephemeral_containers: list[Container] = []
    host_network: bool = False
    host_pid: bool = Field(False, alias="hostPID")
    host_ipc: bool = Field(False, alias="hostIPC")
    security_context: SecurityContext | None = None
    volumes: list[Volume] = []
    node_selector: dict[str, str] = {}
    affinity: Affinity | None = None
    tolerations: list[Toleration] = []
    restart_policy: Literal["Always", "OnFailure", "Never"] = "Always"
    # *int64 and *int32 in k/k staging/src/k8s.io/api/core/v1/types.go PodSpec; a number
    # past them is refused before this (hpsim.scenario.apinumbers).
    termination_grace_period_seconds: int = Field(30, ge=0)
    os: PodOS | None = None
    priority: int | None = None
    priority_class_name: str | None = None
    # Unset: the PriorityClass's (the Priority admission plugin copies it), else
    # PreemptLowerPriority. "Never": the pod waits instead of preempting (k/k
    # pkg/scheduler/framework/plugins/defaultpreemption PodEligibleToPreemptOthers).
    preemption_policy: Literal["PreemptLowerPriority", "Never"] | None = None
    node_name: str | None = None  # set: the scheduler is skipped, kubelet admission decides


class ObjectMeta(K8sModel):
    name: str | None = None
    generate_name: str | None = None
    namespace: str = "default"
    labels: dict[str, str] = {}
    annotations: dict[str, str] = {}


class PodTemplateSpec(K8sModel):
    metadata: ObjectMeta = ObjectMeta()
    spec: PodSpec


class WorkloadSpec(K8sModel):
    """The controller fields of Deployment / ReplicaSet / StatefulSet / DaemonSet / Job.

    All int32 in the API; their range and sign are checked before this, in the API
    server's words (hpsim.scenario.apinumbers).
    """

    replicas: int | None = None
    completions: int | None = None
    parallelism: int | None = None
    backoff_limit: int | None = None
    backoff_limit_per_index: int | None = None
    template: PodTemplateSpec


class JobTemplateSpec(K8sModel):
    metadata: ObjectMeta = ObjectMeta()
    spec: WorkloadSpec


class CronJobSpec(K8sModel):
    """A CronJob's fields (k/k staging/src/k8s.io/api/batch/v1/types.go CronJobSpec);
    checked in the API server's words before this (hpsim.scenario.cronjobs)."""

    schedule: str = ""
    time_zone: str | None = None
    starting_deadline_seconds: int | None = None
    concurrency_policy: str = ""
    suspend: bool = False
    successful_jobs_history_limit: int | None = None
    failed_jobs_history_limit: int | None = None
    job_template: JobTemplateSpec


class Manifest(K8sModel):
    api_version: str
    kind: str
    metadata: ObjectMeta = ObjectMeta()


@dataclass(frozen=True)
class PodTemplate:
    """A pod template and the controller that stamps pods from it."""

    kind: str
    name: str
    namespace: str
    spec: PodSpec
    raw_spec: dict[str, Any]
    raw_metadata: dict[str, Any]
    spec_path: str
    file: str
    line: int
    labels: dict[str, str] = field(default_factory=dict)
    replicas: int = 1
    # None: unset, a work-queue Job (only parallelism given). The Job controller then
    # starts `parallelism` pods, starts no more once one has succeeded, and calls the
    # Job complete when one has succeeded and none is still active.
    completions: int | None = 1
    parallelism: int = 1
    backoff_limit: int = 6
    cron: CronSpec | None = None  # a CronJob's own settings

    @property
    def host_process(self) -> bool:
        """Whether any container is HostProcess (pod value as the default)."""
        pod = _hp(self.spec.security_context)
        return any(
            (_hp(c.security_context) if _hp(c.security_context) is not None else pod) is True
            for c in (*self.spec.init_containers, *self.spec.containers)
        )


def _hp(sc: SecurityContext | None) -> bool | None:
    return sc.windows_options.host_process if sc and sc.windows_options else None


def _pydantic_error(
    src: Source, exc: ValidationError, prefix: tuple[str | int, ...] = ()
) -> HpsimError:
    from hpsim.scenario.load import error_from_validation

    return error_from_validation(src, exc, prefix=prefix, model=None)


def _field_path(text: str) -> Path_:
    """``spec.containers[1].name`` -> ``("spec", "containers", 1, "name")``."""
    out: list[str | int] = []
    for part in text.split("."):
        key, *indexes = part.split("[")
        out.append(key)
        out.extend(int(i.rstrip("]")) for i in indexes)
    return tuple(out)


def templates_from_source(src: Source, *, simulated: bool = False) -> list[PodTemplate]:
    """Pod templates in one YAML document: one object, or a ``kind: List``. ``simulated``:
    the templates are to run, so a pod count past what hpsim simulates is an error (the
    API itself takes any int32)."""
    data = src.data
    if not isinstance(data, dict):
        raise src.error((), "a Kubernetes manifest must be a mapping with apiVersion and kind")
    if data.get("kind") == "List" or (
        isinstance(data.get("kind"), str) and data["kind"].endswith("List") and "items" in data
    ):
        items = data.get("items") or []
        if not isinstance(items, list):
            raise src.error(("items",), "items must be a list")
        out: list[PodTemplate] = []
        for i in range(len(items)):
            out.extend(templates_from_source(src.sub(("items", i)), simulated=simulated))
        return out
    try:
        head = Manifest.model_validate(data)
    except ValidationError as exc:
        raise _pydantic_error(src, exc) from None
    if head.kind not in POD_SPEC_PATH:
        return []
    path = POD_SPEC_PATH[head.kind]
    name = head.metadata.name or head.metadata.generate_name
    if not name:
        raise src.error(("metadata",), "metadata.name or metadata.generateName is required")
    if data.get("spec") is None:
        raise src.error(("spec",), 'required key "spec" is missing')
    # Decoding first: a number past its Go type fails the whole object.
    numbers = apinumbers.int_fields(head.kind, path)
    bad = apinumbers.decode_error(head.kind, head.api_version, data, numbers)
    if bad is not None:
        raise src.error(bad[0], bad[1])
    cron: CronJobSpec | None = None
    try:
        if head.kind == "Pod":
            spec = PodSpec.model_validate(data.get("spec"))
            tmpl_meta: dict[str, Any] = data.get("metadata") or {}
            wl = None
        elif head.kind == "CronJob":
            cron = CronJobSpec.model_validate(data.get("spec"))
            wl = cron.job_template.spec
            spec = wl.template.spec
            job_spec = (data["spec"].get("jobTemplate") or {}).get("spec") or {}
            tmpl_meta = (job_spec.get("template") or {}).get("metadata") or {}
        else:
            wl = WorkloadSpec.model_validate(data.get("spec"))
            spec = wl.template.spec
            tmpl_meta = (data["spec"].get("template") or {}).get("metadata") or {}
    except ValidationError as exc:
        raise _pydantic_error(src, exc, prefix=("spec",)) from None
    raw_spec: Any = data
    for part in path:
        raw_spec = raw_spec[part]
    # After decoding, as the API server validates: the object's names, its own fields (a
    # CronJob's, counts that must not be negative), then its pod's containers' (the first
    # error only: one message, one line).
    errors = apivalidation.validate_object_meta(head.kind, data.get("metadata") or {})
    if head.kind == "CronJob":
        errors += validate_cronjob_spec(data["spec"])
        errors += apinumbers.negative_errors(data, [f for f in numbers if f.struct == "JobSpec"])
        errors += history_limit_errors(data["spec"])
    else:
        errors += apinumbers.negative_errors(data, numbers)
    errors += apivalidation.validate_container_names(raw_spec, ".".join(path))
    if head.kind == "CronJob" and len(name) > CRONJOB_NAME_MAX:
        errors.append(
            FieldError(
                "metadata.name",
                "FieldValueInvalid",
                f"must be no more than {CRONJOB_NAME_MAX} characters",
                name,
            )
        )
    if errors:
        raise src.error(_field_path(errors[0].field), apivalidation.error_text(errors[0]))
    if simulated and wl is not None:
        job_path = tuple(path[:-2])  # the controller's spec: .../template/spec less two
        for key, count in (("replicas", wl.replicas), ("parallelism", wl.parallelism)):
            problem = None if count is None else pods_limit_problem(count, key)
            if problem is not None:
                raise src.error((*job_path, key), problem)
    job = head.kind in ("Job", "CronJob")
    completions: int | None = 1
    parallelism, backoff_limit = 1, 6
    if job and wl is not None:
        # batch/v1 defaults.go SetDefaults_Job: both unset -> 1 and 1; then an unset
        # parallelism is 1 and an unset completions stays unset; backoffLimit is 6,
        # or MaxInt32 when backoffLimitPerIndex is set.
        completions = 1 if wl.completions is None and wl.parallelism is None else wl.completions
        parallelism = wl.parallelism if wl.parallelism is not None else 1
        if wl.backoff_limit is not None:
            backoff_limit = wl.backoff_limit
        elif wl.backoff_limit_per_index is not None:
            backoff_limit = 2**31 - 1
    return [
        PodTemplate(
            kind=head.kind,
            name=name,
            namespace=head.metadata.namespace,
            spec=spec,
            raw_spec=raw_spec,
            raw_metadata=tmpl_meta,
            spec_path=".".join(path),
            file=src.file,
            line=src.line(()),
            labels=dict(ObjectMeta.model_validate(tmpl_meta).labels) if tmpl_meta else {},
            replicas=(wl.replicas if wl and wl.replicas is not None else 1),
            completions=completions,
            parallelism=parallelism,
            backoff_limit=backoff_limit,
            cron=_cron_settings(cron),
        )
    ]


def _cron_settings(cron: CronJobSpec | None) -> CronSpec | None:
    """A CronJob's settings with the API server's defaults (batch/v1 SetDefaults_CronJob)."""
    if cron is None:
        return None
    return CronSpec(
        schedule=cron.schedule,
        time_zone=cron.time_zone,
        starting_deadline_seconds=cron.starting_deadline_seconds,
        concurrency_policy=cron.concurrency_policy or "Allow",
        suspend=cron.suspend,
        successful_jobs_history_limit=(
            SUCCESSFUL_JOBS_HISTORY_LIMIT
            if cron.successful_jobs_history_limit is None
            else cron.successful_jobs_history_limit
        ),
        failed_jobs_history_limit=(
            FAILED_JOBS_HISTORY_LIMIT
            if cron.failed_jobs_history_limit is None
            else cron.failed_jobs_history_limit
        ),
    )
