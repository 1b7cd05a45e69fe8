"""Reading a pod spec as written in YAML: plain dicts and lists with camelCase keys.

Shared by API validation, Pod Security and the node rules. Anything that is not a mapping or a
list where one belongs reads as missing. Containers are visited init, regular, then ephemeral:
the order of podshelper.VisitContainersWithPath (kubernetes/kubernetes
pkg/apis/core/pods/helpers.go) and of PSA's visitContainers (pod-security-admission
policy/visitor.go). A container's ``windowsOptions`` (hostProcess, runAsUserName) overrides
the pod's, as securitycontext.DetermineEffectiveSecurityContext does.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

__all__ = [
    "CONTAINER_LISTS",
    "as_list",
    "as_map",
    "container_host_process",
    "container_name",
    "effective_host_process",
    "effective_user",
    "get_in",
    "is_host_process_pod",
    "is_set",
    "pod_host_process",
    "tristate",
    "truthy",
    "visit_containers",
]


def as_map(value: object) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}


def as_list(value: object) -> list[Any]:
    return value if isinstance(value, list) else []


def get_in(obj: object, *keys: str) -> Any:
    """Nested ``.get`` that treats anything that is not a mapping as missing."""
    for key in keys:
        if not isinstance(obj, Mapping):
            return None
        obj = obj.get(key)
    return obj


def is_set(mapping: Mapping[str, Any], key: str) -> bool:
    """A pointer field is non-nil: the key is present with a non-null value."""
    return mapping.get(key) is not None


def truthy(value: object) -> bool:
    return value is True or (isinstance(value, str) and value.lower() == "true")


def tristate(value: object) -> bool | None:
    """A ``*bool``: None stays nil, anything else becomes a bool."""
    return None if value is None else truthy(value)


CONTAINER_LISTS = (
    ("initContainers", "initContainer"),
    ("containers", "container"),
    ("ephemeralContainers", "ephemeralContainer"),
)


def visit_containers(
    spec: Mapping[str, Any], path: str
) -> Iterator[tuple[str, Mapping[str, Any], str]]:
    """(kind, container, field path) for init, regular then ephemeral containers.

    The order of podshelper.VisitContainersWithPath (k/k pkg/apis/core/pods/helpers.go) and of
    PSA's visitContainers (pod-security-admission policy/visitor.go).
    """
    for key, kind in CONTAINER_LISTS:
        for i, c in enumerate(as_list(spec.get(key))):
            yield kind, as_map(c), f"{path}.{key}[{i}]"


def container_name(c: Mapping[str, Any]) -> str:
    name = c.get("name")
    return "" if name is None else str(name)


def pod_host_process(spec: Mapping[str, Any]) -> bool | None:
    return tristate(get_in(spec, "securityContext", "windowsOptions", "hostProcess"))


def container_host_process(c: Mapping[str, Any]) -> bool | None:
    return tristate(get_in(c, "securityContext", "windowsOptions", "hostProcess"))


def effective_host_process(c: Mapping[str, Any], pod_hp: bool | None) -> bool:
    ctr = container_host_process(c)
    return (ctr if ctr is not None else pod_hp) is True


def is_host_process_pod(spec: Mapping[str, Any]) -> bool:
    """Whether any container (init, regular or ephemeral) is effectively HostProcess."""
    pod_hp = pod_host_process(spec)
    return any(effective_host_process(c, pod_hp) for _k, c, _p in visit_containers(spec, "spec"))


def effective_user(c: Mapping[str, Any], pod_user: object) -> str | None:
    """securitycontext.DetermineEffectiveSecurityContext: container runAsUserName wins."""
    user = get_in(c, "securityContext", "windowsOptions", "runAsUserName")
    if user is None:
        user = pod_user
    return None if user is None else str(user)
