"""Admission verdicts per pod template: what `hpsim validate` reports and the model obeys.

A pod template passes three gates, reported apart:

1. API validity (kube-apiserver): ``validateWindowsHostProcessPod``, Windows
   security-context rules, and the controller's restartPolicy rule.
2. Pod Security Admission at the namespace's enforce level.
3. Node rules: the WindowsHostProcessContainers gate, containerd's version,
   named pipe mounts.

A template is *admitted* when all three pass; the simulation records refused
templates with the reason and never runs their pods.

What `hpsim validate` prints as text (:meth:`TemplateVerdict.human`) passes every string the
user wrote, and every message quoting one, through :func:`hpsim.errors.excerpt`: a terminal
escape sequence in a name or a user is shown escaped, never sent to the terminal. The JSON
output (``to_json``) is escaped by ``json.dumps``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pydantic import ValidationError

from hpsim.errors import HpsimError, excerpt
from hpsim.scenario import admission
from hpsim.scenario.admission import (
    ContainerSettings,
    FieldError,
    NodeFacts,
    NodeVerdict,
    PodSecurityResult,
)
from hpsim.scenario.hpcmounts import ContainerMounts, host_process_mounts
from hpsim.scenario.manifests import PodTemplate, templates_from_source
from hpsim.scenario.nodespec import NodeSpec
from hpsim.scenario.schemabase import version_tuple
from hpsim.scenario.yamlsrc import iter_documents, read_text

if TYPE_CHECKING:
    from hpsim.scenario.load import LoadedScenario

LEVELS = ("privileged", "baseline", "restricted")
# The longest Kubernetes object name (a DNS-1123 subdomain: kubernetes/kubernetes
# staging/src/k8s.io/apimachinery/pkg/util/validation/validation.go DNS1123SubdomainMaxLength):
# validate shows a name, namespace or container name whole up to this, cut beyond.
NAME_CHARS = 253
# The longest valid runAsUserName, DOMAIN\USER: a domain under 256 characters and a user of at
# most 104 (kubernetes/kubernetes pkg/apis/core/validation/validation.go
# maxRunAsUserNameDomainLength, maxRunAsUserNameUserLength, validateWindowsSecurityContextOptions).
USER_CHARS = 255 + 1 + 104
# A file path is shown as HpsimError shows one (hpsim/errors.py HpsimError._render).
PATH_CHARS = 200
# Controllers accept only these restartPolicy values (k/k pkg/apis/apps/validation
# ValidatePodTemplateSpecForReplicaSet etc., pkg/apis/batch/validation validateJobSpec).
_RESTART_POLICIES = {
    "Deployment": ("Always",),
    "ReplicaSet": ("Always",),
    "StatefulSet": ("Always",),
    "DaemonSet": ("Always",),
    "Job": ("OnFailure", "Never"),
    "CronJob": ("OnFailure", "Never"),
}


@dataclass(frozen=True)
class TemplateVerdict:
    """Everything the gates say about one pod template."""

    template: PodTemplate
    errors: tuple[FieldError, ...]
    pod_security: dict[str, PodSecurityResult]
    namespace_level: str
    node: tuple[NodeVerdict, ...]
    containers: tuple[ContainerSettings, ...]
    # Per HostProcess container: its sandbox mount point and where its mounts land.
    mounts: tuple[ContainerMounts, ...] = ()
    # With node pools whose nodes judge the pod differently (a containerd or Kubernetes
    # version, a feature gate, a RuntimeClass): each pool's name and node verdicts, in the
    # scenario's order. ``node`` is the first pool's, which the simulation obeys.
    node_by_pool: tuple[tuple[str, tuple[NodeVerdict, ...]], ...] = ()

    @property
    def valid(self) -> bool:
        return not self.errors

    @property
    def admitted(self) -> bool:
        return self.valid and self.pod_security[self.namespace_level].allowed and not self.node

    @property
    def host_process(self) -> bool:
        return admission.is_host_process_pod(self.template.raw_spec)

    def refusal(self) -> tuple[str, str] | None:
        """(reason, message) for a refused template, in the real components' words."""
        t = self.template
        if self.errors:
            return "FailedCreate", admission.kubectl_invalid_message(
                t.kind, t.name, list(self.errors)
            )
        psa = self.pod_security[self.namespace_level]
        if not psa.allowed:
            return "FailedCreate", f'pods "{t.name}" is forbidden: {psa.message()}'
        if self.node:
            return self.node[0].rule, "; ".join(v.message for v in self.node)
        return None

    def to_json(
        self, file: str, obstacles: Sequence[tuple[str, str]] | None = None
    ) -> dict[str, Any]:
        """The verdict as JSON; ``obstacles`` are (kind, message) of what would keep an
        admitted workload's pods from ever running (hpsim.node.preflight), known for a
        scenario only (None: a bare manifest, whose images and node are not known)."""
        t = self.template
        out = {
            "file": file,
            "kind": t.kind,
            "name": t.name,
            "namespace": t.namespace,
            "valid": self.valid,
            "admitted": self.admitted,
            "errors": [e.to_json() for e in self.errors],
            "hostProcess": self.host_process,
            "podSecurity": {
                lvl: ("allowed" if r.allowed else "forbidden")
                for lvl, r in self.pod_security.items()
            },
            "podSecurityReasons": {lvl: list(r.reasons) for lvl, r in self.pod_security.items()},
            "namespaceLevel": self.namespace_level,
            "node": [v.to_json() for v in self.node],
            **(
                {"nodeByPool": {p: [v.to_json() for v in vs] for p, vs in self.node_by_pool}}
                if self.node_by_pool
                else {}
            ),
            "containers": [c.to_json() for c in self.containers],
            "hostProcessMounts": [m.to_json() for m in self.mounts],
        }
        if obstacles is not None:
            out["canRun"] = self.admitted and not obstacles
            out["obstacles"] = [{"kind": k, "message": m} for k, m in obstacles]
        return out

    def human(self, file: str, obstacles: Sequence[tuple[str, str]] | None = None) -> list[str]:
        """kubectl-like lines; what the user wrote shown through ``excerpt`` (see above);
        ``obstacles`` as in :meth:`to_json`."""
        t = self.template
        name, namespace = _name(t.name), _name(t.namespace)
        head = f"{excerpt(file, PATH_CHARS)}: {_name(t.kind)} {namespace}/{name}"
        lines: list[str] = []
        if self.errors:
            lines.append(f"{head}: invalid")
            lines.append(
                "  " + _text(admission.kubectl_invalid_message(t.kind, t.name, list(self.errors)))
            )
        else:
            kind = "HostProcess" if self.host_process else "Windows Server containers"
            verdict = "admitted" if self.admitted else "refused"
            if self.admitted and obstacles:
                verdict += ", but its pods cannot run"
            lines.append(f"{head}: valid ({kind}), {verdict}")
        for _kind, message in obstacles or ():
            lines.append(f"  cannot run: {_text(message)}")
        psa = self.pod_security[self.namespace_level]
        lines.append(
            f'  namespace "{namespace}" enforces Pod Security "{self.namespace_level}": '
            + ("allowed" if psa.allowed else f'pods "{name}" is forbidden: {_text(psa.message())}')
        )
        for lvl in LEVELS:
            r = self.pod_security[lvl]
            detail = "" if r.allowed else ": " + _text(", ".join(r.reasons))
            lines.append(f"  Pod Security {lvl}: {'allowed' if r.allowed else 'forbidden'}{detail}")
        for v in self.node:
            lines.append(f"  node ({_text(v.rule)}): {_text(v.message)}")
        if self.node_by_pool:
            lines.append(
                "  the node pools judge it differently (hpsim runs its pods as the first "
                "pool's nodes do):"
            )
            for pool, verdicts in self.node_by_pool:
                if not verdicts:
                    lines.append(f"    pool {_name(pool)}: its nodes run it")
                for v in verdicts:
                    lines.append(f"    pool {_name(pool)} ({_text(v.rule)}): {_text(v.message)}")
        for c in self.containers:
            kind = "HostProcess" if c.host_process else "isolated"
            parts = [f"  container {_name(c.name)}:", kind]
            if c.user:
                parts.append(f"as {excerpt(c.user, USER_CHARS)}")
            if c.job_memory_limit_bytes is not None:
                parts.append(f"job memory limit {c.job_memory_limit_bytes} bytes")
            if c.job_cpu_rate is not None:
                parts.append(f"job CPU rate {c.job_cpu_rate}")
            lines.append(" ".join(parts))
        for cm in self.mounts:
            lines.append(
                f"  container {_name(cm.container)}: "
                f"CONTAINER_SANDBOX_MOUNT_POINT={_text(cm.sandbox_mount_point)}"
            )
            for m in cm.mounts:
                lines.append(f"    {_text(m.human())}")
        return lines


def _name(text: object) -> str:
    """A name the user wrote, fit to print: escaped, cut past ``NAME_CHARS``."""
    return excerpt(text, NAME_CHARS)


def _text(text: str) -> str:
    """A message of hpsim's or Kubernetes' quoting what the user wrote: escaped, never cut
    (the quoted values are Kubernetes fields, which the message shows whole, as kubectl does)."""
    return excerpt(text, len(text))


def _controller_errors(t: PodTemplate) -> list[FieldError]:
    allowed = _RESTART_POLICIES.get(t.kind)
    policy = t.raw_spec.get("restartPolicy")
    if allowed is None:
        return []
    if policy is None and t.kind in ("Job", "CronJob"):
        return [
            FieldError(
                f"{t.spec_path}.restartPolicy",
                "FieldValueRequired",
                'valid values: "OnFailure", "Never"',
            )
        ]
    if policy is not None and policy not in allowed:
        values = ", ".join(f'"{a}"' for a in allowed)
        return [
            FieldError(
                f"{t.spec_path}.restartPolicy",
                "FieldValueNotSupported",
                f"supported values: {values}",
                policy,
            )
        ]
    return []


def node_facts(node: NodeSpec) -> NodeFacts:
    return NodeFacts(
        kubernetes_version=node.kubernetes,
        containerd_version=node.containerd.version,
        feature_gates=dict(node.feature_gates),
        hypervisor_classes={
            name: rc.handler for name, rc in node.runtime_classes.items() if rc.hypervisor
        },
    )


def check_template(
    t: PodTemplate, *, node: NodeSpec, level: str, pools: Sequence[tuple[str, NodeSpec]] = ()
) -> TemplateVerdict:
    """Run every gate on one template for a node and a namespace level. ``pools``: every
    node pool's (name, node), ``node`` the first's; their node verdicts are kept apart
    (:attr:`TemplateVerdict.node_by_pool`) when they differ from one pool to another."""
    facts = node_facts(node)
    field_allowed = admission.host_process_field_allowed(facts)
    errors = admission.validate_pod_spec(
        t.raw_spec,
        t.spec_path,
        allow_privileged=node.kubelet.allow_privileged,
        allow_host_process_field=field_allowed,
    )
    errors = [*errors, *_controller_errors(t)]
    node_verdicts = _node_verdicts(t, facts, field_allowed)
    by_pool = tuple(
        (name, _node_verdicts(t, node_facts(spec), field_allowed)) for name, spec in pools
    )
    if len({verdicts for _, verdicts in by_pool}) < 2:
        by_pool = ()
    return TemplateVerdict(
        template=t,
        errors=tuple(errors),
        pod_security={
            lvl: admission.pod_security(t.raw_metadata, t.raw_spec, lvl) for lvl in LEVELS
        },
        namespace_level=level,
        node=node_verdicts,
        containers=tuple(admission.effective_containers(t.raw_spec, node.cpu)),
        # Only a pod the API server admits reaches the node and mounts anything.
        mounts=host_process_mounts(
            t.raw_spec, version_tuple(node.containerd.version), node.file_binding
        )
        if not errors
        else (),
        node_by_pool=by_pool if not errors else (),
    )


def _node_verdicts(
    t: PodTemplate, facts: NodeFacts, field_allowed: bool
) -> tuple[NodeVerdict, ...]:
    """What a node with ``facts`` refuses of the template's pods; ``field_allowed``: whether
    the API server (the first pool's version) accepts the hostProcess field."""
    verdicts = admission.node_rules(t.raw_spec, facts)
    if not field_allowed:
        # The API server refused the gated field (one gate for the API server and the
        # kubelet): no pod reaches a kubelet to be refused for the same gate.
        verdicts = [v for v in verdicts if v.message != admission.GATE_OFF_MESSAGE]
    return tuple(verdicts)


def scenario_verdicts(sc: LoadedScenario) -> list[TemplateVerdict]:
    """Verdicts for every workload of a loaded scenario."""
    # The API server's admission reads the version of the first pool's nodes.
    node = sc.scenario.first_node
    pools = [(p.name, p.node) for p in sc.scenario.pools]
    return [
        check_template(
            w.template,
            node=node,
            level=sc.scenario.namespace_level(w.template.namespace),
            pools=pools,
        )
        for w in sc.workloads
    ]


def bare_manifest_node(
    cpu: int = 4, kubernetes: str | None = None, containerd: str | None = None
) -> NodeSpec:
    """The node a bare manifest is checked against: the scenario defaults, overridable."""
    data: dict[str, Any] = {"cpu": cpu, "memory": 16 * 2**30}
    if kubernetes:
        data["kubernetes"] = kubernetes
    if containerd:
        data["containerd"] = containerd
    try:
        return NodeSpec.model_validate(data)
    except ValidationError as exc:
        err = exc.errors(include_url=False)[0]
        option = "--" + str(err["loc"][0]) if err["loc"] else "a node option"
        msg = err["msg"].removeprefix("Value error, ")
        raise HpsimError(f"{option}: {msg}") from None


def _is_scenario(data: Any) -> bool:
    # A scenario has node: or nodePools:; a manifest has apiVersion.
    return (
        isinstance(data, dict)
        and ("node" in data or "nodePools" in data)
        and "apiVersion" not in data
    )


def validate_file(
    path: str, node: NodeSpec | None = None, *, allow_outside: bool = False
) -> list[TemplateVerdict]:
    """Verdicts for a scenario file or a bare manifest file (any number of documents).

    A scenario brings its own node and namespaces; a bare manifest is checked on
    ``node`` (default: ``bare_manifest_node()``) in a privileged namespace.
    """
    return validate_path(path, node, allow_outside=allow_outside)[0]


def validate_path(
    path: str, node: NodeSpec | None = None, *, allow_outside: bool = False
) -> tuple[list[TemplateVerdict], LoadedScenario | None]:
    """:func:`validate_file`, and the loaded scenario when the file is one (else None)."""
    p = Path(path)
    docs = list(iter_documents(read_text(p, path), path))
    if len(docs) == 1 and _is_scenario(docs[0].data):
        # Imported here: checking a bare manifest needs neither the scenario's loader nor
        # the image catalogue (tests/test_startup.py).
        from hpsim.scenario.load import load_source

        loaded = load_source(docs[0], base_dir=p.parent, allow_outside=allow_outside)
        return scenario_verdicts(loaded), loaded
    templates = [t for d in docs for t in templates_from_source(d)]
    if not templates:
        raise HpsimError(
            "no Pod, Deployment, ReplicaSet, StatefulSet, DaemonSet, Job or CronJob found",
            file=path,
        )
    node = node or bare_manifest_node()
    return [check_template(t, node=node, level="privileged") for t in templates], None
