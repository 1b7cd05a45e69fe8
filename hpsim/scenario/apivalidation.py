"""kube-apiserver's API validation of Windows and HostProcess pods, rule for rule.

Mirrors kubernetes/kubernetes pkg/apis/core/validation/validation.go, read at commit 000f2605:
``validateWindowsSecurityContextOptions`` (runAsUserName), ``validateWindowsHostProcessPod``
(its four rules, in order) and ``validateWindows`` (fields that "cannot be set for a windows
pod"), called in ``ValidatePodSpec``'s order. Errors are ``FieldError`` (fielderrors.py), as
``field.Error`` renders them.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from hpsim.scenario.fielderrors import FieldError, render_value
from hpsim.scenario.podspec import (
    as_list,
    as_map,
    container_host_process,
    effective_host_process,
    get_in,
    is_set,
    pod_host_process,
    truthy,
    visit_containers,
)

__all__ = [
    "MAX_RUN_AS_USER_NAME_DOMAIN_LENGTH",
    "MAX_RUN_AS_USER_NAME_USER_LENGTH",
    "validate_pod_spec",
]


def _words(text: str) -> tuple[str, ...]:
    """A constant list written as words, as the Go sources list them."""
    return tuple(text.split())


# validation.go: maxRunAsUserNameDomainLength, maxRunAsUserNameUserLength
MAX_RUN_AS_USER_NAME_DOMAIN_LENGTH = 256
MAX_RUN_AS_USER_NAME_USER_LENGTH = 104
# validation.go ctrlRegex `[[:cntrl:]]+`: RE2's [:cntrl:] is ASCII [\x00-\x1f\x7f].
_CTRL = re.compile(r"[\x00-\x1f\x7f]")
# validation.go validNetBiosRegex: no leading dot, 1-15 characters, none of \ / : * ? " < > |
_NETBIOS = re.compile(r'[^\\/:*?"<>|.][^\\/:*?"<>|]{0,14}')
# validation.go dnsLabelFormat / dnsSubdomainFormat
_DNS_LABEL = r"[a-zA-Z0-9](?:[a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?"
_DNS = re.compile(rf"{_DNS_LABEL}(?:\.{_DNS_LABEL})*")
# validation.go invalidUserNameCharsRegex and invalidUserNameDotsSpacesRegex
_USER_BAD_CHARS = re.compile(r'["/\\:;|=,+*?<>@\[\]]')
_USER_DOTS_SPACES = re.compile(r"[. ]+")


def _go_len(text: str) -> int:
    """Go's ``len(string)``: UTF-8 bytes, not characters."""
    return len(text.encode("utf-8", "surrogatepass"))


def _run_as_user_name_errors(name: str, fp: str) -> list[FieldError]:
    """validateWindowsSecurityContextOptions, the RunAsUserName part, rule for rule."""

    def invalid(msg: str) -> FieldError:
        return FieldError(fp, "FieldValueInvalid", msg, name)

    if _go_len(name) == 0:
        return [invalid("runAsUserName cannot be an empty string")]
    if _CTRL.search(name):
        return [invalid("runAsUserName cannot contain control characters")]
    parts = name.split("\\")
    if len(parts) > 2:
        return [invalid("runAsUserName cannot contain more than one backslash")]
    has_domain = len(parts) == 2
    domain, user = (parts[0], parts[1]) if has_domain else ("", parts[0])
    errs = []
    if _go_len(domain) >= MAX_RUN_AS_USER_NAME_DOMAIN_LENGTH:
        errs.append(
            invalid(
                "runAsUserName's Domain length must be under "
                f"{MAX_RUN_AS_USER_NAME_DOMAIN_LENGTH} characters"
            )
        )
    if has_domain and not (_NETBIOS.fullmatch(domain) or _DNS.fullmatch(domain)):
        errs.append(invalid("runAsUserName's Domain doesn't match the NetBios nor the DNS format"))
    if _go_len(user) == 0:
        errs.append(invalid("runAsUserName's User cannot be empty"))
    elif _go_len(user) > MAX_RUN_AS_USER_NAME_USER_LENGTH:
        errs.append(
            invalid(
                "runAsUserName's User length must not be longer than "
                f"{MAX_RUN_AS_USER_NAME_USER_LENGTH} characters"
            )
        )
    if _USER_DOTS_SPACES.fullmatch(user):
        errs.append(invalid("runAsUserName's User cannot contain only periods or spaces"))
    if _USER_BAD_CHARS.search(user):
        errs.append(
            invalid(
                "runAsUserName's User cannot contain the following characters: \"/\\:;|=,+*?<>@[]"
            )
        )
    return errs


def _windows_options_errors(windows_options: object, path: str) -> list[FieldError]:
    name = get_in(windows_options, "runAsUserName")
    if name is None:
        return []
    return _run_as_user_name_errors(str(name), f"{path}.runAsUserName")


def _validate_windows_host_process_pod(
    spec: Mapping[str, Any], path: str, allow_privileged: bool
) -> list[FieldError]:
    """validateWindowsHostProcessPod: the four rules in the real order (validation.go)."""
    errs: list[FieldError] = []
    pod_hp = pod_host_process(spec)
    # The internal PodSecurityContext carries v1 spec.hostNetwork.
    host_network = truthy(spec.get("hostNetwork"))
    count = hp_count = 0
    for _kind, c, cpath in visit_containers(spec, path):
        count += 1
        ctr_hp = container_host_process(c)
        if pod_hp is not None and ctr_hp is not None and pod_hp != ctr_hp:
            errs.append(
                FieldError(
                    f"{cpath}.securityContext.windowsOptions.hostProcess",
                    "FieldValueInvalid",
                    "pod hostProcess value must be identical if both are specified, "
                    f"was {render_value(pod_hp)}",
                    ctr_hp,
                )
            )
        if effective_host_process(c, pod_hp):
            hp_count += 1
    if hp_count > 0:
        if hp_count != count:
            errs.append(
                FieldError(
                    path,
                    "FieldValueInvalid",
                    "If pod contains any hostProcess containers then all containers must be "
                    "HostProcess containers",
                    "",
                )
            )
        if not host_network:
            errs.append(
                FieldError(
                    f"{path}.hostNetwork",
                    "FieldValueInvalid",
                    "hostNetwork must be true if pod contains any hostProcess containers",
                    False,
                )
            )
        if not allow_privileged:  # capabilities.Get().AllowPrivileged (--allow-privileged)
            errs.append(
                FieldError(
                    path,
                    "FieldValueForbidden",
                    "hostProcess containers are disallowed by cluster policy",
                )
            )
    return errs


_WINDOWS_FORBIDDEN = "cannot be set for a windows pod"
# validateWindows, pod level, in its order: (v1 location, error path relative to the spec).
# v1 puts hostUsers/hostPID/hostIPC/shareProcessNamespace on the spec; the internal type on
# the pod securityContext, which conversion always allocates. *bool/pointer fields are
# "set" when present; hostPID/hostIPC are plain bools, set when true.
_POD_FORBIDDEN = (
    ("securityContext", "appArmorProfile"),
    ("securityContext", "seLinuxOptions"),
    ("spec", "hostUsers"),
    ("spec", "hostPID"),
    ("spec", "hostIPC"),
    ("securityContext", "seccompProfile"),
    ("securityContext", "fsGroup"),
    ("securityContext", "fsGroupChangePolicy"),
    ("securityContext", "sysctls"),
    ("spec", "shareProcessNamespace"),
    ("securityContext", "runAsUser"),
    ("securityContext", "runAsGroup"),
    ("securityContext", "supplementalGroups"),
    ("securityContext", "supplementalGroupsPolicy"),
    ("securityContext", "seLinuxChangePolicy"),
)
_CONTAINER_FORBIDDEN = _words(
    "appArmorProfile seLinuxOptions seccompProfile capabilities readOnlyRootFilesystem "
    "privileged allowPrivilegeEscalation procMount runAsUser runAsGroup"
)


def _validate_windows(spec: Mapping[str, Any], path: str) -> list[FieldError]:
    """validateWindows: fields that "cannot be set for a windows pod"."""
    errs = []
    psc = as_map(spec.get("securityContext"))
    for where, key in _POD_FORBIDDEN:
        if where == "spec":
            set_ = truthy(spec.get(key)) if key in ("hostPID", "hostIPC") else is_set(spec, key)
            fp = f"{path}.{key}"
        elif key == "sysctls":
            set_ = len(as_list(psc.get(key))) > 0
            fp = f"{path}.securityContext.{key}"
        else:
            set_ = is_set(psc, key)
            fp = f"{path}.securityContext.{key}"
        if set_:
            errs.append(FieldError(fp, "FieldValueForbidden", _WINDOWS_FORBIDDEN))
    for _kind, c, cpath in visit_containers(spec, path):
        sc = c.get("securityContext")
        if not isinstance(sc, Mapping):
            continue
        for key in _CONTAINER_FORBIDDEN:
            if is_set(sc, key):
                errs.append(
                    FieldError(
                        f"{cpath}.securityContext.{key}", "FieldValueForbidden", _WINDOWS_FORBIDDEN
                    )
                )
    return errs


def validate_pod_spec(
    spec: Mapping[str, Any], spec_path: str = "spec", *, allow_privileged: bool = True
) -> list[FieldError]:
    """The Windows and HostProcess part of kube-apiserver's ``ValidatePodSpec``.

    In ``ValidatePodSpec``'s order: each container's ``windowsOptions.runAsUserName``
    (containers, then init, then ephemeral: validateContainers, validateInitContainers,
    validateEphemeralContainers), the pod's (validatePodSpecSecurityContext),
    ``validateWindowsHostProcessPod``, then ``validateWindows`` when ``os.name`` is
    ``windows``. ``spec_path`` prefixes every field path: ``spec`` for a Pod,
    ``spec.template.spec`` for a controller's template. ``allow_privileged`` is the
    apiserver's ``--allow-privileged``.
    """
    errs: list[FieldError] = []
    for key in ("containers", "initContainers", "ephemeralContainers"):
        for i, c in enumerate(as_list(spec.get(key))):
            wo = get_in(c, "securityContext", "windowsOptions")
            errs += _windows_options_errors(
                wo, f"{spec_path}.{key}[{i}].securityContext.windowsOptions"
            )
    errs += _windows_options_errors(
        get_in(spec, "securityContext", "windowsOptions"),
        f"{spec_path}.securityContext.windowsOptions",
    )
    errs += _validate_windows_host_process_pod(spec, spec_path, allow_privileged)
    if get_in(spec, "os", "name") == "windows":
        errs += _validate_windows(spec, spec_path)
    return errs
