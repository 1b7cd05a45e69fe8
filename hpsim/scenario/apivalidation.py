"""kube-apiserver's API validation of Windows and HostProcess pods, rule for rule.

Mirrors kubernetes/kubernetes pkg/apis/core/validation/validation.go, read at commit 000f2605:
``validateWindowsSecurityContextOptions`` (runAsUserName), ``validateWindowsHostProcessPod``
(its four rules, in order) and ``validateWindows`` (fields that "cannot be set for a windows
pod"), called in ``ValidatePodSpec``'s order. With the ``WindowsHostProcessContainers`` feature
gate off on the API server (Kubernetes 1.22-1.25), ``validateWindowsHostProcessPod`` refuses the
``hostProcess`` field as v1.22.0-v1.25.0 did (``PodValidationOptions.AllowWindowsHostProcessField``;
read in ceph/ceph-csi vendor/k8s.io/kubernetes/pkg/apis/core/validation/validation.go at its
k8s v1.22.0 vendoring, commit aa698bc3e): the API server refuses such a pod and does not drop the
field. That code says so: "Fail Pod validation if feature is not enabled (...) instead of dropping
fields based on PRR review". Errors are ``FieldError`` (fielderrors.py), as
``field.Error`` renders them.

Also the names every object must have before anything else is checked: ``metadata.name``,
``metadata.generateName`` and ``metadata.namespace`` (``validate_object_meta``), and the
names of a pod's containers (``validate_container_names``). A manifest that fails these is
refused when the scenario loads, as ``kubectl apply`` is refused.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from hpsim.errors import excerpt
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
    "DNS1123_LABEL_MAX_LENGTH",
    "DNS1123_SUBDOMAIN_MAX_LENGTH",
    "HOST_PROCESS_FIELD_GATED",
    "HOST_PROCESS_POD_GATED",
    "MAX_RUN_AS_USER_NAME_DOMAIN_LENGTH",
    "MAX_RUN_AS_USER_NAME_USER_LENGTH",
    "NAME_RULES",
    "error_text",
    "is_dns1123_label",
    "is_dns1123_subdomain",
    "validate_container_names",
    "validate_object_meta",
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
    spec: Mapping[str, Any], path: str, allow_privileged: bool, allow_field: bool = True
) -> list[FieldError]:
    """validateWindowsHostProcessPod: the four rules in the real order (validation.go).

    ``allow_field`` false is an API server of 1.22-1.25 whose WindowsHostProcessContainers gate
    is off (pkg/api/pod/util.go GetValidationOptionsFromPodSpecAndMeta:
    ``AllowWindowsHostProcessField: utilfeature.DefaultFeatureGate.Enabled(...)``): a pod-level
    ``hostProcess`` (true or false) is forbidden and nothing else is checked; a container-level
    one is forbidden per container, and a pod with any HostProcess container is forbidden as a
    whole before the hostNetwork and --allow-privileged rules (v1.22.0 validation.go).
    """
    errs: list[FieldError] = []
    pod_hp = pod_host_process(spec)
    if not allow_field and pod_hp is not None:
        return [
            FieldError(
                f"{path}.securityContext.windowsOptions.hostProcess",
                "FieldValueForbidden",
                HOST_PROCESS_FIELD_GATED,
            )
        ]
    # The internal PodSecurityContext carries v1 spec.hostNetwork.
    host_network = truthy(spec.get("hostNetwork"))
    count = hp_count = 0
    for _kind, c, cpath in visit_containers(spec, path):
        count += 1
        ctr_hp = container_host_process(c)
        if not allow_field and ctr_hp is not None:
            errs.append(
                FieldError(
                    f"{cpath}.securityContext.windowsOptions.hostProcess",
                    "FieldValueForbidden",
                    HOST_PROCESS_FIELD_GATED,
                )
            )
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
        if not allow_field:
            errs.append(FieldError(path, "FieldValueForbidden", HOST_PROCESS_POD_GATED))
            return errs
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


# validation.go v1.22.0-v1.25.0 validateWindowsHostProcessPod, with
# !opts.AllowWindowsHostProcessField: the field itself, then the pod as a whole.
HOST_PROCESS_FIELD_GATED = (
    "not allowed when feature gate 'WindowsHostProcessContainers' is not enabled"
)
HOST_PROCESS_POD_GATED = (
    "pod must not contain Windows hostProcess containers when feature gate "
    "'WindowsHostProcessContainers' is not enabled"
)

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
    spec: Mapping[str, Any],
    spec_path: str = "spec",
    *,
    allow_privileged: bool = True,
    allow_host_process_field: bool = True,
) -> list[FieldError]:
    """The Windows and HostProcess part of kube-apiserver's ``ValidatePodSpec``.

    In ``ValidatePodSpec``'s order: each container's ``windowsOptions.runAsUserName``
    (containers, then init, then ephemeral: validateContainers, validateInitContainers,
    validateEphemeralContainers), the pod's (validatePodSpecSecurityContext),
    ``validateWindowsHostProcessPod``, then ``validateWindows`` when ``os.name`` is
    ``windows``. ``spec_path`` prefixes every field path: ``spec`` for a Pod,
    ``spec.template.spec`` for a controller's template. ``allow_privileged`` is the
    apiserver's ``--allow-privileged``; ``allow_host_process_field`` false is a 1.22-1.25 API
    server with the WindowsHostProcessContainers gate off (see
    ``host_process_field_allowed`` in noderules.py).
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
    errs += _validate_windows_host_process_pod(
        spec, spec_path, allow_privileged, allow_host_process_field
    )
    if get_in(spec, "os", "name") == "windows":
        errs += _validate_windows(spec, spec_path)
    return errs


# -- names ----------------------------------------------------------------------------------
# k8s.io/apimachinery pkg/util/validation/validation.go (staging/src/k8s.io/apimachinery in
# kubernetes/kubernetes): IsDNS1123Label, IsDNS1123Subdomain, MaxLenError, RegexError.

DNS1123_LABEL_MAX_LENGTH = 63  # DNS1123LabelMaxLength
DNS1123_SUBDOMAIN_MAX_LENGTH = 253  # DNS1123SubdomainMaxLength
_DNS1123_LABEL_FMT = "[a-z0-9]([-a-z0-9]*[a-z0-9])?"  # dns1123LabelFmt
_DNS1123_SUBDOMAIN_FMT = _DNS1123_LABEL_FMT + "(\\." + _DNS1123_LABEL_FMT + ")*"
_DNS1123_LABEL_ERR = (  # dns1123LabelErrMsg
    "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', "
    "and must start and end with an alphanumeric character"
)
_DNS1123_SUBDOMAIN_ERR = (  # dns1123SubdomainErrorMsg
    "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, "
    "'-' or '.', and must start and end with an alphanumeric character"
)
# Go's "^...$" without (?m) is Python's fullmatch: a trailing newline does not match.
_DNS1123_LABEL_RE = re.compile(_DNS1123_LABEL_FMT)
_DNS1123_SUBDOMAIN_RE = re.compile(_DNS1123_SUBDOMAIN_FMT)


def _max_len_error(length: int) -> str:
    """MaxLenError."""
    return f"must be no more than {length} characters"


def _regex_error(msg: str, fmt: str, *examples: str) -> str:
    """RegexError."""
    if not examples:
        return f"{msg} (regex used for validation is '{fmt}')"
    shown = " or ".join(f"'{e}'" for e in examples)
    return f"{msg} (e.g. {shown}, regex used for validation is '{fmt}')"


def is_dns1123_label(value: str) -> list[str]:
    """IsDNS1123Label: what is wrong with ``value`` as a DNS-1123 label (empty: nothing)."""
    errs = []
    if _go_len(value) > DNS1123_LABEL_MAX_LENGTH:
        errs.append(_max_len_error(DNS1123_LABEL_MAX_LENGTH))
    if not _DNS1123_LABEL_RE.fullmatch(value):
        if _DNS1123_SUBDOMAIN_RE.fullmatch(value):
            # A valid subdomain and not a valid label: with the length checked, the dots.
            errs.append("must not contain dots")
        else:
            errs.append(_regex_error(_DNS1123_LABEL_ERR, _DNS1123_LABEL_FMT, "my-name", "123-abc"))
    return errs


def is_dns1123_subdomain(value: str) -> list[str]:
    """IsDNS1123Subdomain: what is wrong with ``value`` as a DNS-1123 subdomain."""
    errs = []
    if _go_len(value) > DNS1123_SUBDOMAIN_MAX_LENGTH:
        errs.append(_max_len_error(DNS1123_SUBDOMAIN_MAX_LENGTH))
    if not _DNS1123_SUBDOMAIN_RE.fullmatch(value):
        errs.append(_regex_error(_DNS1123_SUBDOMAIN_ERR, _DNS1123_SUBDOMAIN_FMT, "example.com"))
    return errs


def _mask_trailing_dash(name: str) -> str:
    """apimachinery pkg/api/validation/generic.go maskTrailingDash: a generateName may end
    in '-' (the random suffix follows it)."""
    return name[:-1] + "a" if len(name) > 1 and name.endswith("-") else name


def _name_is_dns_subdomain(name: str, prefix: bool) -> list[str]:
    """generic.go NameIsDNSSubdomain."""
    return is_dns1123_subdomain(_mask_trailing_dash(name) if prefix else name)


def _name_is_dns_label(name: str, prefix: bool) -> list[str]:
    """generic.go NameIsDNSLabel, which ValidateNamespaceName is."""
    return is_dns1123_label(_mask_trailing_dash(name) if prefix else name)


# The name rule each kind's Validate<Kind> passes to ValidateObjectMeta: all subdomains.
# pkg/apis/core/validation ValidatePodName; pkg/apis/apps/validation ValidateDeploymentName,
# ValidateReplicaSetName, ValidateStatefulSetName, ValidateDaemonSetName; pkg/apis/batch/
# validation ValidateJob ("Jobs and rcs have the same name validation":
# ValidateReplicationControllerName) and ValidateCronJobCreate (the same). Each is
# apimachinery NameIsDNSSubdomain.
NAME_RULES = {
    kind: _name_is_dns_subdomain
    for kind in ("Pod", "Deployment", "ReplicaSet", "StatefulSet", "DaemonSet", "Job", "CronJob")
}


def validate_object_meta(kind: str, meta: Mapping[str, Any]) -> list[FieldError]:
    """ValidateObjectMetaAccessor's name checks (apimachinery pkg/api/validation/objectmeta.go),
    in its order: generateName, name, namespace. ``meta`` is the manifest's ``metadata``;
    every kind hpsim reads is namespaced. Values that are not strings are left to the type
    checks; an empty name with a generateName is the one the API server makes from it.
    """
    name_fn = NAME_RULES.get(kind, _name_is_dns_subdomain)
    errs = []
    generate_name = meta.get("generateName")
    if isinstance(generate_name, str) and generate_name:
        errs += [
            FieldError("metadata.generateName", "FieldValueInvalid", msg, generate_name)
            for msg in name_fn(generate_name, True)
        ]
    name = meta.get("name")
    if isinstance(name, str) and name:
        errs += [
            FieldError("metadata.name", "FieldValueInvalid", msg, name)
            for msg in name_fn(name, False)
        ]
    namespace = meta.get("namespace")
    if isinstance(namespace, str) and namespace:
        errs += [
            FieldError("metadata.namespace", "FieldValueInvalid", msg, namespace)
            for msg in _name_is_dns_label(namespace, False)
        ]
    return errs


def validate_container_names(spec: Mapping[str, Any], spec_path: str = "spec") -> list[FieldError]:
    """Container names as ``ValidatePodSpec`` checks them (pkg/apis/core/validation/
    validation.go), in its order: each regular container's name is a DNS-1123 label
    (validateContainerCommon) unique among the regular ones (validateContainers); then each
    init container's, unique among regular and init ones (validateInitContainers). Field
    paths start at ``spec_path``. Ephemeral containers are left out: the API server refuses
    them on create and in templates.
    """
    errs: list[FieldError] = []
    names: set[str] = set()  # validateInitContainers starts from the regular names
    for key in ("containers", "initContainers"):
        for i, c in enumerate(as_list(spec.get(key))):
            name = get_in(c, "name")
            if not isinstance(name, str):
                continue  # missing or not a string: the type checks say so
            fp = f"{spec_path}.{key}[{i}].name"
            if not name:
                errs.append(FieldError(fp, "FieldValueRequired", ""))
            else:
                errs += [
                    FieldError(fp, "FieldValueInvalid", msg, name) for msg in is_dns1123_label(name)
                ]
            if name in names:
                errs.append(FieldError(fp, "FieldValueDuplicate", "", name))
            elif name or key == "containers":  # an empty init container name is not kept
                names.add(name)
    return errs


def error_text(err: FieldError) -> str:
    """``err.body()`` with the bad value cut to one excerpt (hpsim.errors.excerpt).

    The value is what a manifest says: a 10,000-character name is not repeated whole,
    and ``go_quote`` has already escaped any control character in it.
    """
    body = err.body()
    if err.value is None or not isinstance(err.value, str):
        return body
    rendered = render_value(err.value)
    return body.replace(rendered, excerpt(rendered), 1)
