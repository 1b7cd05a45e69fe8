"""Admission of (HostProcess) Windows pods, mirroring the real components' rules and words.

Pure functions over a pod spec given as plain dicts and lists, exactly as in YAML
(camelCase keys). Each rule names the real code it mirrors:

- kube-apiserver API validation (kubernetes/kubernetes pkg/apis/core/validation/validation.go,
  read at commit 000f2605): ``validateWindowsSecurityContextOptions`` (runAsUserName),
  ``validateWindowsHostProcessPod`` (its four rules, in order) and ``validateWindows``
  (fields that "cannot be set for a windows pod"), called in ``ValidatePodSpec``'s order.
  Errors render as ``field.Error`` does
  (staging/src/k8s.io/apimachinery/pkg/util/validation/field/errors.go).
- Pod Security Admission (staging/src/k8s.io/pod-security-admission/policy/check_*.go and
  registry.go): the Baseline and Restricted checks of policy version v1.35, which is what
  ``latest`` resolves to on a 1.35/1.36 API server, with their ForbiddenReason and
  ForbiddenDetail strings, in the registry's order (baseline check IDs sorted, then restricted
  IDs sorted; restricted drops the baseline checks it overrides).
- Node rules: the WindowsHostProcessContainers feature gate by Kubernetes version (KEP-1981
  kep.yaml, k/k PR #117570; kubelet pkg/kubelet/kuberuntime/kuberuntime_container_windows.go;
  component-base featuregate), containerd >= 1.6 for HostProcess and >= 1.7 for local-group
  users (hcsshim internal/jobcontainers/logon.go; k8s docs create-hostprocess-pod.md), and
  hcsshim's refusal of named pipe mounts (internal/jobcontainers/mounts.go).
- Effective job-object settings: the user (container runAsUserName over the pod's), the CPU
  rate kubelet computes (``10000 * MilliValue / numCPU / 1000`` clamped to [1, 10000]) and the
  memory limit hcsshim applies (``Limit / 1024 / 1024`` MiB, internal/oci/uvm.go
  ``ParseAnnotationsMemory``, times ``memory.MiB`` in internal/jobcontainers/oci.go
  ``specToLimits``; a 0 MiB result sets no limit, internal/jobobject/limits.go).

Section numbers (ref §x) point to /work/shared/reference/windows-node-facts.md.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

from hpsim.units import parse_cpu_millicores, parse_memory_bytes

__all__ = [
    "GATE",
    "MIB",
    "ContainerSettings",
    "FieldError",
    "NodeFacts",
    "NodeVerdict",
    "PodSecurityResult",
    "effective_containers",
    "go_quote",
    "is_host_process_pod",
    "is_service_account",
    "job_cpu_rate",
    "job_memory_limit",
    "kubectl_invalid_message",
    "node_rules",
    "pod_security",
    "validate_pod_spec",
]

MIB = 2**20
GATE = "WindowsHostProcessContainers"
LEVELS = ("privileged", "baseline", "restricted")


def _words(text: str) -> tuple[str, ...]:
    """A constant list written as words, as the Go sources list them."""
    return tuple(text.split())


# ---------------------------------------------------------------------------------------------
# field.Error (apimachinery pkg/util/validation/field/errors.go)
# ---------------------------------------------------------------------------------------------

# ErrorType.String()
_ERROR_WORDS = {
    "FieldValueNotFound": "Not found",
    "FieldValueRequired": "Required value",
    "FieldValueDuplicate": "Duplicate value",
    "FieldValueInvalid": "Invalid value",
    "FieldValueNotSupported": "Unsupported value",
    "FieldValueForbidden": "Forbidden",
    "FieldValueTooLong": "Too long",
    "FieldValueTooMany": "Too many",
    "InternalError": "Internal error",
    "FieldValueTypeInvalid": "Invalid value",
}
# ErrorBody() prints no bad value for these types.
_VALUELESS = {"FieldValueRequired", "FieldValueForbidden", "FieldValueTooLong", "InternalError"}
# strconv.appendEscapedRune's named escapes
_GO_ESCAPES = {"\a": "a", "\b": "b", "\f": "f", "\n": "n", "\r": "r", "\t": "t", "\v": "v"}


def go_quote(text: str) -> str:
    """Go's ``strconv.Quote`` (``%q``): printable runes kept, the rest escaped.

    Python's ``str.isprintable`` and Go's ``unicode.IsPrint`` draw the same line: letters,
    marks, numbers, punctuation, symbols and the ASCII space.
    """
    out = ['"']
    for ch in text:
        cp = ord(ch)
        if ch in '"\\':
            out.append("\\" + ch)
        elif ch.isprintable():
            out.append(ch)
        elif ch in _GO_ESCAPES:
            out.append("\\" + _GO_ESCAPES[ch])
        elif cp < 0x20 or cp == 0x7F:
            out.append(f"\\x{cp:02x}")
        elif cp < 0x10000:
            out.append(f"\\u{cp:04x}")
        else:
            out.append(f"\\U{cp:08x}")
    out.append('"')
    return "".join(out)


def _render_value(value: object) -> str:
    """A bad value as ErrorBody prints it: bools and numbers bare (%v), strings %q."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return go_quote(value)
    return str(value)


@dataclass(frozen=True)
class FieldError:
    """One API validation error, as k8s.io/apimachinery ``field.Error``.

    ``type`` is the ErrorType string (``FieldValueInvalid``, ``FieldValueForbidden``,
    ``FieldValueRequired``, ``FieldValueNotSupported``, ...); ``message`` is the Detail;
    ``value`` the BadValue, printed only for the types that print one.
    """

    field: str
    type: str
    message: str
    value: object = None

    def __post_init__(self) -> None:
        if self.type not in _ERROR_WORDS:  # ErrorType.String() panics on these
            raise ValueError(f"unknown field error type {self.type!r}")

    def body(self) -> str:
        """``ErrorBody()``: the error without its field path."""
        words = _ERROR_WORDS[self.type]
        text = words if self.type in _VALUELESS else f"{words}: {_render_value(self.value)}"
        return f"{text}: {self.message}" if self.message else text

    def __str__(self) -> str:
        """``Error()``: ``spec.hostNetwork: Invalid value: false: hostNetwork must be ...``."""
        return f"{self.field}: {self.body()}"

    def to_json(self) -> dict[str, str]:
        return {"field": self.field, "type": self.type, "message": self.message}


def kubectl_invalid_message(kind: str, name: str, errors: list[FieldError]) -> str:
    """``The Pod "x" is invalid: <err>``, or ``...: [<err1>, <err2>]`` for several.

    The prefix is kubectl's (k8s.io/kubectl/pkg/cmd/util/helpers.go ``checkErr``:
    ``The %s %q is invalid``); the body is the apimachinery aggregate that
    ``apierrors.NewInvalid`` puts in the Status message: identical messages dropped
    (``ErrorList.ToAggregate``), one error bare, several in ``[a, b]``. Real kubectl prints
    several causes as ``* `` lines instead; the one-line form is what events and logs show.
    """
    if not errors:
        raise ValueError("kubectl_invalid_message needs at least one error")
    unique = list(dict.fromkeys(str(e) for e in errors))
    body = unique[0] if len(unique) == 1 else "[" + ", ".join(unique) + "]"
    return f"The {kind} {go_quote(name)} is invalid: {body}"


# ---------------------------------------------------------------------------------------------
# spec helpers
# ---------------------------------------------------------------------------------------------


def _map(value: object) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}


def _list(value: object) -> list[Any]:
    return value if isinstance(value, list) else []


def _get(obj: object, *keys: str) -> Any:
    """Nested ``.get`` that treats anything that is not a mapping as missing."""
    for key in keys:
        if not isinstance(obj, Mapping):
            return None
        obj = obj.get(key)
    return obj


def _set(mapping: Mapping[str, Any], key: str) -> bool:
    """A pointer field is non-nil: the key is present with a non-null value."""
    return mapping.get(key) is not None


def _truthy(value: object) -> bool:
    return value is True or (isinstance(value, str) and value.lower() == "true")


def _tristate(value: object) -> bool | None:
    """A ``*bool``: None stays nil, anything else becomes a bool."""
    return None if value is None else _truthy(value)


_CONTAINER_LISTS = (
    ("initContainers", "initContainer"),
    ("containers", "container"),
    ("ephemeralContainers", "ephemeralContainer"),
)


def _visit(spec: Mapping[str, Any], path: str) -> Iterator[tuple[str, Mapping[str, Any], str]]:
    """(kind, container, field path) for init, regular then ephemeral containers.

    The order of podshelper.VisitContainersWithPath (k/k pkg/apis/core/pods/helpers.go) and of
    PSA's visitContainers (pod-security-admission policy/visitor.go).
    """
    for key, kind in _CONTAINER_LISTS:
        for i, c in enumerate(_list(spec.get(key))):
            yield kind, _map(c), f"{path}.{key}[{i}]"


def _name(c: Mapping[str, Any]) -> str:
    name = c.get("name")
    return "" if name is None else str(name)


def _pod_hp(spec: Mapping[str, Any]) -> bool | None:
    return _tristate(_get(spec, "securityContext", "windowsOptions", "hostProcess"))


def _ctr_hp(c: Mapping[str, Any]) -> bool | None:
    return _tristate(_get(c, "securityContext", "windowsOptions", "hostProcess"))


def _effective_hp(c: Mapping[str, Any], pod_hp: bool | None) -> bool:
    ctr = _ctr_hp(c)
    return (ctr if ctr is not None else pod_hp) is True


def is_host_process_pod(spec: Mapping[str, Any]) -> bool:
    """Whether any container (init, regular or ephemeral) is effectively HostProcess."""
    pod_hp = _pod_hp(spec)
    return any(_effective_hp(c, pod_hp) for _k, c, _p in _visit(spec, "spec"))


# ---------------------------------------------------------------------------------------------
# API validation (k/k pkg/apis/core/validation/validation.go)
# ---------------------------------------------------------------------------------------------

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
    name = _get(windows_options, "runAsUserName")
    if name is None:
        return []
    return _run_as_user_name_errors(str(name), f"{path}.runAsUserName")


def _validate_windows_host_process_pod(
    spec: Mapping[str, Any], path: str, allow_privileged: bool
) -> list[FieldError]:
    """validateWindowsHostProcessPod: the four rules in the real order (ref §2.1)."""
    errs: list[FieldError] = []
    pod_hp = _pod_hp(spec)
    # The internal PodSecurityContext carries v1 spec.hostNetwork.
    host_network = _truthy(spec.get("hostNetwork"))
    count = hp_count = 0
    for _kind, c, cpath in _visit(spec, path):
        count += 1
        ctr_hp = _ctr_hp(c)
        if pod_hp is not None and ctr_hp is not None and pod_hp != ctr_hp:
            errs.append(
                FieldError(
                    f"{cpath}.securityContext.windowsOptions.hostProcess",
                    "FieldValueInvalid",
                    "pod hostProcess value must be identical if both are specified, "
                    f"was {_render_value(pod_hp)}",
                    ctr_hp,
                )
            )
        if _effective_hp(c, pod_hp):
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
    psc = _map(spec.get("securityContext"))
    for where, key in _POD_FORBIDDEN:
        if where == "spec":
            set_ = _truthy(spec.get(key)) if key in ("hostPID", "hostIPC") else _set(spec, key)
            fp = f"{path}.{key}"
        elif key == "sysctls":
            set_ = len(_list(psc.get(key))) > 0
            fp = f"{path}.securityContext.{key}"
        else:
            set_ = _set(psc, key)
            fp = f"{path}.securityContext.{key}"
        if set_:
            errs.append(FieldError(fp, "FieldValueForbidden", _WINDOWS_FORBIDDEN))
    for _kind, c, cpath in _visit(spec, path):
        sc = c.get("securityContext")
        if not isinstance(sc, Mapping):
            continue
        for key in _CONTAINER_FORBIDDEN:
            if _set(sc, key):
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
        for i, c in enumerate(_list(spec.get(key))):
            wo = _get(c, "securityContext", "windowsOptions")
            errs += _windows_options_errors(
                wo, f"{spec_path}.{key}[{i}].securityContext.windowsOptions"
            )
    errs += _windows_options_errors(
        _get(spec, "securityContext", "windowsOptions"),
        f"{spec_path}.securityContext.windowsOptions",
    )
    errs += _validate_windows_host_process_pod(spec, spec_path, allow_privileged)
    if _get(spec, "os", "name") == "windows":
        errs += _validate_windows(spec, spec_path)
    return errs


# ---------------------------------------------------------------------------------------------
# Pod Security Admission (pod-security-admission policy/, policy version v1.35)
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class PodSecurityResult:
    """One level's verdict; ``reasons`` are ``reason (detail)`` strings in PSA's order."""

    level: str
    allowed: bool
    reasons: list[str] = field(default_factory=list)

    def message(self, version: str = "latest") -> str:
        """``violates PodSecurity "baseline:latest": <reasons>`` (empty when allowed).

        policy/checks.go ``AggregateCheckResult.ForbiddenDetail`` joined by the enforce
        message of PSA admission/admission.go.
        """
        if self.allowed:
            return ""
        return f'violates PodSecurity "{self.level}:{version}": ' + ", ".join(self.reasons)


def _join_quote(items: list[str]) -> str:
    """policy/helpers.go joinQuote."""
    return '"' + '", "'.join(items) + '"' if items else ""


def _pluralize(singular: str, plural: str, count: int) -> str:
    return singular if count == 1 else plural


def _containers_phrase(names: list[str]) -> str:
    return f"{_pluralize('container', 'containers', len(names))} {_join_quote(names)}"


def _is_windows(spec: Mapping[str, Any]) -> bool:
    return _get(spec, "os", "name") == "windows"


def _user_namespace(spec: Mapping[str, Any]) -> bool:
    """policy/helpers.go relaxPolicyForUserNamespacePod at v1.35: hostUsers set to false."""
    host_users = spec.get("hostUsers")
    return host_users is not None and not _truthy(host_users)


def _csc(c: Mapping[str, Any]) -> Mapping[str, Any]:
    return _map(c.get("securityContext"))


_Check = Callable[[Mapping[str, Any], Mapping[str, Any]], "tuple[str, str] | None"]

# --- baseline ---------------------------------------------------------------------------------

_APPARMOR_ANNOTATION_PREFIX = "container.apparmor.security.beta.kubernetes.io/"


def _check_app_armor_profile(meta: Mapping[str, Any], spec: Mapping[str, Any]):
    """check_appArmorProfile.go appArmorProfile_1_0 (fields and the deprecated annotations)."""
    setters: list[str] = []
    bad_values: set[str] = set()
    ok = ("RuntimeDefault", "Localhost")
    pod_profile = _get(spec, "securityContext", "appArmorProfile")
    if pod_profile is not None and _get(pod_profile, "type") not in ok:
        setters.append("pod")
        bad_values.add(str(_get(pod_profile, "type") or ""))
    bad_containers = []
    for _k, c, _p in _visit(spec, "spec"):
        profile = _csc(c).get("appArmorProfile")
        if profile is not None and _get(profile, "type") not in ok:
            bad_containers.append(_name(c))
            bad_values.add(str(_get(profile, "type") or ""))
    if bad_containers:
        setters.append(_containers_phrase(bad_containers))
    annotations = sorted(
        f"{k}={go_quote(str(v))}"
        for k, v in _map(meta.get("annotations")).items()
        if str(k).startswith(_APPARMOR_ANNOTATION_PREFIX)
        and not (v in ("", None) or v == "runtime/default" or str(v).startswith("localhost/"))
    )
    values = sorted(bad_values) + annotations
    if annotations:
        setters.append(_pluralize("annotation", "annotations", len(annotations)))
    if not setters:
        return None
    return (
        _pluralize("forbidden AppArmor profile", "forbidden AppArmor profiles", len(values)),
        f"{' and '.join(setters)} must not set AppArmor profile type to {_join_quote(values)}",
    )


_CAPABILITIES_ALLOWED_1_0 = frozenset(
    _words(
        "AUDIT_WRITE CHOWN DAC_OVERRIDE FOWNER FSETID KILL MKNOD NET_BIND_SERVICE SETFCAP "
        "SETGID SETPCAP SETUID SYS_CHROOT"
    )
)


def _check_capabilities_baseline(meta: Mapping[str, Any], spec: Mapping[str, Any]):
    """check_capabilities_baseline.go capabilitiesBaseline_1_0."""
    bad_containers: list[str] = []
    caps: set[str] = set()
    for _k, c, _p in _visit(spec, "spec"):
        extra = [
            str(a)
            for a in _list(_get(c, "securityContext", "capabilities", "add"))
            if a not in _CAPABILITIES_ALLOWED_1_0
        ]
        if extra:
            bad_containers.append(_name(c))
            caps.update(extra)
    if not bad_containers:
        return None
    return (
        "non-default capabilities",
        f"{_containers_phrase(bad_containers)} must not include {_join_quote(sorted(caps))} "
        "in securityContext.capabilities.add",
    )


def _check_host_namespaces(meta: Mapping[str, Any], spec: Mapping[str, Any]):
    """check_hostNamespaces.go hostNamespaces_1_0 (detail order network, PID, IPC)."""
    on = [f"{k}=true" for k in ("hostNetwork", "hostPID", "hostIPC") if _truthy(spec.get(k))]
    return ("host namespaces", ", ".join(on)) if on else None


def _check_host_path_volumes(meta: Mapping[str, Any], spec: Mapping[str, Any]):
    """check_hostPathVolumes.go hostPathVolumes_1_0."""
    names = [str(_map(v).get("name", "")) for v in _list(spec.get("volumes")) if _host_path(v)]
    if not names:
        return None
    return "hostPath volumes", f"{_pluralize('volume', 'volumes', len(names))} {_join_quote(names)}"


def _check_host_ports(meta: Mapping[str, Any], spec: Mapping[str, Any]):
    """check_hostPorts.go hostPorts_1_0 (ports are a sorted set of strings)."""
    bad_containers: list[str] = []
    ports: set[str] = set()
    for _k, c, _p in _visit(spec, "spec"):
        found = [
            str(p["hostPort"])
            for p in map(_map, _list(c.get("ports")))
            if p.get("hostPort") not in (None, 0, False)
        ]
        if found:
            bad_containers.append(_name(c))
            ports.update(found)
    if not bad_containers:
        return None
    return (
        "hostPort",
        f"{_containers_phrase(bad_containers)} "
        f"{_pluralize('uses', 'use', len(bad_containers))} "
        f"{_pluralize('hostPort', 'hostPorts', len(ports))} {', '.join(sorted(ports))}",
    )


def _check_host_probes_and_lifecycle(meta: Mapping[str, Any], spec: Mapping[str, Any]):
    """check_hostProbesAndhostLifecycle.go hostProbesAndHostLifecycleV1Dot34."""
    bad_containers: set[str] = set()
    hosts: set[str] = set()
    for _k, c, _p in _visit(spec, "spec"):
        handlers = [c.get(p) for p in ("livenessProbe", "readinessProbe", "startupProbe")]
        handlers += [_get(c, "lifecycle", h) for h in ("postStart", "preStop")]
        for h in handlers:
            for action in ("httpGet", "tcpSocket"):
                host = _get(h, action, "host")
                if host:
                    bad_containers.add(_name(c))
                    hosts.add(str(host))
    if not bad_containers:
        return None
    return (
        "probe or lifecycle host",
        f"{_containers_phrase(sorted(bad_containers))} "
        f"{_pluralize('uses', 'use', len(bad_containers))} "
        f"{_pluralize('probe or lifecycle host', 'probe or lifecycle hosts', len(hosts))} "
        f"{_join_quote(sorted(hosts))}",
    )


def _check_privileged(meta: Mapping[str, Any], spec: Mapping[str, Any]):
    """check_privileged.go privileged_1_0."""
    bad = [_name(c) for _k, c, _p in _visit(spec, "spec") if _truthy(_csc(c).get("privileged"))]
    if not bad:
        return None
    return "privileged", f"{_containers_phrase(bad)} must not set securityContext.privileged=true"


def _proc_mount_violations(spec: Mapping[str, Any]):
    """procMount_1_0: any procMount other than Default."""
    bad_containers: list[str] = []
    types: set[str] = set()
    for _k, c, _p in _visit(spec, "spec"):
        pm = _csc(c).get("procMount")
        if pm is not None and pm != "Default":
            bad_containers.append(_name(c))
            types.add(str(pm))
    if not bad_containers:
        return None
    return (
        "procMount",
        f"{_containers_phrase(bad_containers)} must not set securityContext.procMount to "
        f"{_join_quote(sorted(types))}",
    )


def _check_proc_mount_baseline(meta: Mapping[str, Any], spec: Mapping[str, Any]):
    """check_procMount_baseline.go at v1.35: relaxed for user-namespace pods."""
    return None if _user_namespace(spec) else _proc_mount_violations(spec)


def _check_proc_mount_restricted(meta: Mapping[str, Any], spec: Mapping[str, Any]):
    """check_procMount_restricted.go (v1.35): procMount_1_0 with no relaxation."""
    return _proc_mount_violations(spec)


_SELINUX_ALLOWED_TYPES_1_31 = frozenset(
    {"", "container_t", "container_init_t", "container_kvm_t", "container_engine_t"}
)


def _check_se_linux_options(meta: Mapping[str, Any], spec: Mapping[str, Any]):
    """check_seLinuxOptions.go seLinuxOptions1_31."""
    setters: list[str] = []
    bad_types: set[str] = set()
    flags = {"user": False, "role": False}

    def valid(opts: Mapping[str, Any]) -> bool:
        ok = True
        t = str(opts.get("type") or "")
        if t not in _SELINUX_ALLOWED_TYPES_1_31:
            ok = False
            bad_types.add(t)
        for key in flags:
            if opts.get(key):
                ok = False
                flags[key] = True
        return ok

    pod_opts = _get(spec, "securityContext", "seLinuxOptions")
    if pod_opts is not None and not valid(_map(pod_opts)):
        setters.append("pod")
    bad_containers = [
        _name(c)
        for _k, c, _p in _visit(spec, "spec")
        if _csc(c).get("seLinuxOptions") is not None
        and not valid(_map(_csc(c).get("seLinuxOptions")))
    ]
    if bad_containers:
        setters.append(_containers_phrase(bad_containers))
    if not setters:
        return None
    data = []
    if bad_types:
        data.append(
            f"{_pluralize('type', 'types', len(bad_types))} {_join_quote(sorted(bad_types))}"
        )
    data += [f"{key} may not be set" for key, was_set in flags.items() if was_set]
    return (
        "seLinuxOptions",
        f"{' and '.join(setters)} set forbidden securityContext.seLinuxOptions: " + "; ".join(data),
    )


_SECCOMP_OK = ("RuntimeDefault", "Localhost")


def _check_seccomp_profile_baseline(meta: Mapping[str, Any], spec: Mapping[str, Any]):
    """check_seccompProfile_baseline.go seccompProfileBaseline_1_19."""
    setters: list[str] = []
    bad_values: set[str] = set()
    pod_profile = _get(spec, "securityContext", "seccompProfile")
    if pod_profile is not None and _get(pod_profile, "type") not in _SECCOMP_OK:
        setters.append("pod")
        bad_values.add(str(_get(pod_profile, "type") or ""))
    bad_containers = []
    for _k, c, _p in _visit(spec, "spec"):
        profile = _csc(c).get("seccompProfile")
        if profile is not None and _get(profile, "type") not in _SECCOMP_OK:
            bad_containers.append(_name(c))
            bad_values.add(str(_get(profile, "type") or ""))
    if bad_containers:
        setters.append(_containers_phrase(bad_containers))
    if not setters:
        return None
    return (
        "seccompProfile",
        f"{' and '.join(setters)} must not set securityContext.seccompProfile.type to "
        f"{_join_quote(sorted(bad_values))}",
    )


# check_sysctls.go, the v1.32 set (1.0 set + 1.27 + 1.29 + 1.32 additions).
_SYSCTLS_ALLOWED_1_32 = frozenset(
    _words(
        "kernel.shm_rmid_forced net.ipv4.ip_local_port_range net.ipv4.tcp_syncookies "
        "net.ipv4.ping_group_range net.ipv4.ip_unprivileged_port_start "
        "net.ipv4.ip_local_reserved_ports net.ipv4.tcp_keepalive_time "
        "net.ipv4.tcp_fin_timeout net.ipv4.tcp_keepalive_intvl net.ipv4.tcp_keepalive_probes "
        "net.ipv4.tcp_rmem net.ipv4.tcp_wmem"
    )
)


def _check_sysctls(meta: Mapping[str, Any], spec: Mapping[str, Any]):
    """check_sysctls.go sysctls (spec order, not deduplicated)."""
    bad = [
        str(_map(s).get("name"))
        for s in _list(_get(spec, "securityContext", "sysctls"))
        if _map(s).get("name") not in _SYSCTLS_ALLOWED_1_32
    ]
    return ("forbidden sysctls", ", ".join(bad)) if bad else None


def _check_windows_host_process(meta: Mapping[str, Any], spec: Mapping[str, Any]):
    """check_windowsHostProcess.go windowsHostProcess_1_0 (explicit true only)."""
    setters = ["pod"] if _pod_hp(spec) is True else []
    bad = [_name(c) for _k, c, _p in _visit(spec, "spec") if _ctr_hp(c) is True]
    if bad:
        setters.append(_containers_phrase(bad))
    if not setters:
        return None
    return (
        "hostProcess",
        f"{' and '.join(setters)} must not set securityContext.windowsOptions.hostProcess=true",
    )


# --- restricted -------------------------------------------------------------------------------


def _check_allow_privilege_escalation(meta: Mapping[str, Any], spec: Mapping[str, Any]):
    """check_allowPrivilegeEscalation.go allowPrivilegeEscalation_1_25 (Windows exempt)."""
    if _is_windows(spec):
        return None
    bad = [
        _name(c)
        for _k, c, _p in _visit(spec, "spec")
        if _csc(c).get("allowPrivilegeEscalation") is None
        or _truthy(_csc(c).get("allowPrivilegeEscalation"))
    ]
    if not bad:
        return None
    return (
        "allowPrivilegeEscalation != false",
        f"{_containers_phrase(bad)} must set securityContext.allowPrivilegeEscalation=false",
    )


def _check_capabilities_restricted(meta: Mapping[str, Any], spec: Mapping[str, Any]):
    """check_capabilities_restricted.go capabilitiesRestricted_1_25 (Windows exempt)."""
    if _is_windows(spec):
        return None
    missing_drop_all: list[str] = []
    adding: list[str] = []
    caps: set[str] = set()
    for _k, c, _p in _visit(spec, "spec"):
        capabilities = _csc(c).get("capabilities")
        if capabilities is None:
            missing_drop_all.append(_name(c))
            continue
        if "ALL" not in _list(_get(capabilities, "drop")):
            missing_drop_all.append(_name(c))
        forbidden = [str(a) for a in _list(_get(capabilities, "add")) if a != "NET_BIND_SERVICE"]
        if forbidden:
            adding.append(_name(c))
            caps.update(forbidden)
    details = []
    if missing_drop_all:
        details.append(
            f"{_containers_phrase(missing_drop_all)} "
            'must set securityContext.capabilities.drop=["ALL"]'
        )
    if adding:
        details.append(
            f"{_containers_phrase(adding)} must not include {_join_quote(sorted(caps))} "
            "in securityContext.capabilities.add"
        )
    return ("unrestricted capabilities", "; ".join(details)) if details else None


# check_restrictedVolumes.go: allowed sources (image since PR #130394, v1.33), then the
# restricted ones in the switch's order; anything else is "unknown".
_ALLOWED_VOLUMES = _words(
    "configMap csi downwardAPI emptyDir ephemeral image persistentVolumeClaim projected secret"
)
_RESTRICTED_VOLUMES = _words(
    "hostPath gcePersistentDisk awsElasticBlockStore gitRepo nfs iscsi glusterfs rbd "
    "flexVolume cinder cephfs flocker fc azureFile vsphereVolume quobyte azureDisk "
    "photonPersistentDisk portworxVolume scaleIO storageos"
)


def _host_path(volume: object) -> bool:
    return _get(volume, "hostPath") is not None


def _check_restricted_volumes(meta: Mapping[str, Any], spec: Mapping[str, Any]):
    """check_restrictedVolumes.go restrictedVolumes_1_0."""
    bad_names: list[str] = []
    bad_types: set[str] = set()
    for v in map(_map, _list(spec.get("volumes"))):
        sources = [k for k in v if k != "name" and v[k] is not None]
        # SetDefaults_Volume: a volume with no source becomes an emptyDir.
        if not sources or any(k in _ALLOWED_VOLUMES for k in sources):
            continue
        bad_names.append(str(v.get("name", "")))
        bad_types.add(next((t for t in _RESTRICTED_VOLUMES if t in sources), "unknown"))
    if not bad_names:
        return None
    return (
        "restricted volume types",
        f"{_pluralize('volume', 'volumes', len(bad_names))} {_join_quote(bad_names)} "
        f"{_pluralize('uses', 'use', len(bad_names))} "
        f"{_pluralize('restricted volume type', 'restricted volume types', len(bad_types))} "
        f"{_join_quote(sorted(bad_types))}",
    )


def _check_run_as_non_root(meta: Mapping[str, Any], spec: Mapping[str, Any]):
    """check_runAsNonRoot.go at v1.35 (skipped for user-namespace pods)."""
    if _user_namespace(spec):
        return None
    setters: list[str] = []
    pod_value = _tristate(_get(spec, "securityContext", "runAsNonRoot"))
    if pod_value is False:
        setters.append("pod")
    explicit: list[str] = []
    implicit: list[str] = []
    for _k, c, _p in _visit(spec, "spec"):
        value = _tristate(_csc(c).get("runAsNonRoot"))
        if value is False:
            explicit.append(_name(c))
        elif value is None and pod_value is not True:
            implicit.append(_name(c))
    if explicit:
        setters.append(_containers_phrase(explicit))
    if setters:
        return (
            "runAsNonRoot != true",
            f"{' and '.join(setters)} must not set securityContext.runAsNonRoot=false",
        )
    if implicit:
        return (
            "runAsNonRoot != true",
            f"pod or {_containers_phrase(implicit)} must set securityContext.runAsNonRoot=true",
        )
    return None


def _is_zero(value: object) -> bool:
    return value == 0 and not isinstance(value, bool)


def _check_run_as_user(meta: Mapping[str, Any], spec: Mapping[str, Any]):
    """check_runAsUser.go at v1.35 (skipped for user-namespace pods)."""
    if _user_namespace(spec):
        return None
    setters = ["pod"] if _is_zero(_get(spec, "securityContext", "runAsUser")) else []
    bad = [_name(c) for _k, c, _p in _visit(spec, "spec") if _is_zero(_csc(c).get("runAsUser"))]
    if bad:
        setters.append(_containers_phrase(bad))
    if not setters:
        return None
    return "runAsUser=0", f"{' and '.join(setters)} must not set runAsUser=0"


def _check_seccomp_profile_restricted(meta: Mapping[str, Any], spec: Mapping[str, Any]):
    """check_seccompProfile_restricted.go seccompProfileRestricted_1_25 (Windows exempt)."""
    if _is_windows(spec):
        return None
    setters: list[str] = []
    bad_values: set[str] = set()
    pod_set = False
    pod_profile = _get(spec, "securityContext", "seccompProfile")
    if pod_profile is not None:
        if _get(pod_profile, "type") not in _SECCOMP_OK:
            setters.append("pod")
            bad_values.add(str(_get(pod_profile, "type") or ""))
        else:
            pod_set = True
    explicit: list[str] = []
    implicit: list[str] = []
    for _k, c, _p in _visit(spec, "spec"):
        profile = _csc(c).get("seccompProfile")
        if profile is not None:
            if _get(profile, "type") not in _SECCOMP_OK:
                explicit.append(_name(c))
                bad_values.add(str(_get(profile, "type") or ""))
        elif not pod_set:
            implicit.append(_name(c))
    if explicit:
        setters.append(_containers_phrase(explicit))
    if setters:
        return (
            "seccompProfile",
            f"{' and '.join(setters)} must not set securityContext.seccompProfile.type to "
            f"{_join_quote(sorted(bad_values))}",
        )
    if implicit:
        return (
            "seccompProfile",
            f"pod or {_containers_phrase(implicit)} must set securityContext.seccompProfile.type "
            'to "RuntimeDefault" or "Localhost"',
        )
    return None


# (check ID, function) per level; restricted checks name the baseline IDs they override.
# The v1.35 inventory (hostProbesAndHostLifecycle at 1.34; procMount_restricted overriding
# procMount and the hostUsers=false relaxations at 1.35; image volumes allowed since 1.33) was
# read from the check files where the index had them and otherwise from a dated third-party
# snapshot of release-1.36 [UNCONFIRMED against upstream master]. None of it changes the
# verdict of a Windows pod, whose API validation forbids procMount and hostUsers anyway.
_BASELINE: dict[str, _Check] = {
    "appArmorProfile": _check_app_armor_profile,
    "capabilities_baseline": _check_capabilities_baseline,
    "hostNamespaces": _check_host_namespaces,
    "hostPathVolumes": _check_host_path_volumes,
    "hostPorts": _check_host_ports,
    "hostProbesAndHostLifecycle": _check_host_probes_and_lifecycle,
    "privileged": _check_privileged,
    "procMount": _check_proc_mount_baseline,
    "seLinuxOptions": _check_se_linux_options,
    "seccompProfile_baseline": _check_seccomp_profile_baseline,
    "sysctls": _check_sysctls,
    "windowsHostProcess": _check_windows_host_process,
}
_RESTRICTED: dict[str, tuple[_Check, tuple[str, ...]]] = {
    "allowPrivilegeEscalation": (_check_allow_privilege_escalation, ()),
    "capabilities_restricted": (_check_capabilities_restricted, ("capabilities_baseline",)),
    "procMount_restricted": (_check_proc_mount_restricted, ("procMount",)),
    "restrictedVolumes": (_check_restricted_volumes, ("hostPathVolumes",)),
    "runAsNonRoot": (_check_run_as_non_root, ()),
    "runAsUser": (_check_run_as_user, ()),
    "seccompProfile_restricted": (_check_seccomp_profile_restricted, ("seccompProfile_baseline",)),
}


def _ordered_checks(level: str) -> list[tuple[str, _Check]]:
    """policy/registry.go populate(): baseline IDs sorted, then restricted IDs sorted (Go
    compares bytes, as Python compares these ASCII IDs); restricted drops the baseline
    checks named in its checks' OverrideCheckIDs."""
    baseline = [(cid, _BASELINE[cid]) for cid in sorted(_BASELINE)]
    if level == "baseline":
        return baseline
    overridden = {o for _fn, overrides in _RESTRICTED.values() for o in overrides}
    return [(cid, fn) for cid, fn in baseline if cid not in overridden] + [
        (cid, _RESTRICTED[cid][0]) for cid in sorted(_RESTRICTED)
    ]


def pod_security(
    metadata: Mapping[str, Any], spec: Mapping[str, Any], level: str
) -> PodSecurityResult:
    """Evaluate the Pod Security Standards at ``level`` for policy version ``latest``.

    ``privileged`` allows everything (registry.go EvaluatePod returns no results).
    ``metadata`` supplies the annotations the AppArmor check reads.
    """
    if level not in LEVELS:
        raise ValueError(f"unknown Pod Security level {level!r}: expected one of {LEVELS}")
    if level == "privileged":
        return PodSecurityResult(level, True, [])
    meta, pod = _map(metadata), _map(spec)
    reasons = []
    for _cid, check in _ordered_checks(level):
        result = check(meta, pod)
        if result is not None:
            reason, detail = result
            reasons.append(f"{reason} ({detail})" if detail else reason)
    return PodSecurityResult(level, not reasons, reasons)


# ---------------------------------------------------------------------------------------------
# Node rules (ref §2.2, §5.3, §1.2, §1.6)
# ---------------------------------------------------------------------------------------------

_VERSION = re.compile(r"v?(\d+)\.(\d+)(?:\.(\d+))?")


def _version(text: str) -> tuple[int, int, int]:
    """``v1.29``, ``1.29``, ``1.29.3``, ``1.7.13+azure`` -> numeric (major, minor, patch).

    A pre-release or build suffix is ignored: ``1.7.0-rc.1`` counts as 1.7.0.
    """
    m = _VERSION.match(str(text).strip())
    if not m:
        raise ValueError(f"invalid version {text!r}: expected MAJOR.MINOR[.PATCH] such as 1.29")
    return int(m.group(1)), int(m.group(2)), int(m.group(3) or 0)


@dataclass(frozen=True)
class NodeFacts:
    """What the node rules need: versions and kubelet feature-gate overrides."""

    kubernetes_version: str
    containerd_version: str
    feature_gates: Mapping[str, bool] = field(default_factory=dict)

    def __post_init__(self) -> None:
        object.__setattr__(self, "feature_gates", MappingProxyType(dict(self.feature_gates)))


@dataclass(frozen=True)
class NodeVerdict:
    """One node-level refusal: the rule's name and the message the node would give."""

    rule: str
    message: str

    def to_json(self) -> dict[str, str]:
        return {"rule": self.rule, "message": self.message}


# kuberuntime_container_windows.go generateWindowsContainerConfig, before the gate's removal.
GATE_OFF_MESSAGE = f"pod contains HostProcess containers but feature '{GATE}' is not enabled"
# k8s docs create-hostprocess-pod.md
LOCAL_USER_MESSAGE = (
    "Running HostProcess containers as local user accounts requires containerd v1.7+"
)
# hcsshim internal/jobcontainers/mounts.go setupMounts / fallbackMountSetup
NAMED_PIPE_MESSAGE = (
    "named pipe mounts not supported for job containers - interact with the pipe directly"
)
# The three service accounts hcsshim logs on with LOGON32_LOGON_SERVICE; Windows accepts
# these names with or without the space, in any case.
_SERVICE_ACCOUNTS = frozenset({"system", "localservice", "networkservice"})


def is_service_account(user: str) -> bool:
    """``NT AUTHORITY\\SYSTEM``, ``...\\LOCAL SERVICE``, ``...\\NETWORK SERVICE``, any spelling.

    hcsshim itself compares the domain case-sensitively (``domain == "NT AUTHORITY"``,
    logon.go); a lower-case domain would fall through to an interactive logon that fails.
    That failure is not modelled: any case counts here.
    """
    domain, sep, name = user.partition("\\")
    if not sep or domain.strip().upper() != "NT AUTHORITY":
        return False
    return name.replace(" ", "").lower() in _SERVICE_ACCOUNTS


def _gate_verdicts(node: NodeFacts) -> list[NodeVerdict]:
    """WindowsHostProcessContainers: alpha 1.22 (off), beta 1.23 (on), GA 1.26 (locked on),
    removed 1.28 (KEP-1981 kep.yaml; k/k PR #117570)."""
    minor = _version(node.kubernetes_version)[:2]
    override = node.feature_gates.get(GATE)
    out = []
    if override is not None and (minor < (1, 22) or minor >= (1, 28)):
        # component-base featuregate Set(): the kubelet refuses its configuration.
        out.append(NodeVerdict("featureGate", f"unrecognized feature gate: {GATE}"))
    if minor < (1, 22):
        # hpsim's words: before 1.22 the API has no hostProcess field at all.
        out.append(
            NodeVerdict(
                "featureGate",
                f"Kubernetes v{minor[0]}.{minor[1]} has no HostProcess containers: "
                f"securityContext.windowsOptions.hostProcess and the {GATE} feature gate "
                "arrived as alpha in v1.22",
            )
        )
        return out
    if (1, 26) <= minor < (1, 28) and override is False:
        out.append(
            NodeVerdict(
                "featureGate",
                f"cannot set feature gate {GATE} to false, feature is locked to true",
            )
        )
    elif minor < (1, 26):
        enabled = override if override is not None else minor >= (1, 23)
        if not enabled:
            out.append(NodeVerdict("featureGate", GATE_OFF_MESSAGE))
    return out


def _effective_user(c: Mapping[str, Any], pod_user: object) -> str | None:
    """securitycontext.DetermineEffectiveSecurityContext: container runAsUserName wins."""
    user = _get(c, "securityContext", "windowsOptions", "runAsUserName")
    if user is None:
        user = pod_user
    return None if user is None else str(user)


def _named_pipe(path: object) -> bool:
    # hcsshim isnamedPipePath: strings.HasPrefix(p, `\\.\pipe\`). kubelet hands the hostPath
    # through as written; //./pipe/ is the forward-slash spelling of the same path.
    return isinstance(path, str) and path.startswith(("\\\\.\\pipe\\", "//./pipe/"))


def node_rules(spec: Mapping[str, Any], node: NodeFacts) -> list[NodeVerdict]:
    """Node-level refusals of a HostProcess pod; empty when the node can run it.

    Rules, in order: ``featureGate``, ``containerd`` (< 1.6 has no HostProcess),
    ``localUser`` (a user other than the three NT AUTHORITY service accounts is a local group
    to hcsshim, which needs containerd 1.7+), ``namedPipe`` (hcsshim refuses a mount whose
    source is a named pipe). Pods without HostProcess containers get no verdicts.
    """
    if not is_host_process_pod(spec):
        return []
    out = _gate_verdicts(node)
    containerd = _version(node.containerd_version)
    if containerd < (1, 6, 0):
        # hpsim's words: containerd 1.6.0 (2022-02-15) was the first with HostProcess (ref §5.3).
        out.append(
            NodeVerdict(
                "containerd",
                f"containerd {node.containerd_version} cannot run HostProcess containers: "
                "support arrived in containerd 1.6.0",
            )
        )
    pod_hp = _pod_hp(spec)
    hp_containers = [c for _k, c, _p in _visit(spec, "spec") if _effective_hp(c, pod_hp)]
    if (1, 6, 0) <= containerd < (1, 7, 0):
        pod_user = _get(spec, "securityContext", "windowsOptions", "runAsUserName")
        for c in hp_containers:
            user = _effective_user(c, pod_user)
            if user is not None and not is_service_account(user):
                out.append(
                    NodeVerdict(
                        "localUser",
                        f"container {go_quote(_name(c))} runs as {go_quote(user)}, which is "
                        f"not an NT AUTHORITY service account: {LOCAL_USER_MESSAGE}",
                    )
                )
    pipes = {
        _map(v).get("name"): _get(v, "hostPath", "path")
        for v in _list(spec.get("volumes"))
        if _named_pipe(_get(v, "hostPath", "path"))
    }
    for c in hp_containers:
        for m in map(_map, _list(c.get("volumeMounts"))):
            if m.get("name") in pipes:
                out.append(
                    NodeVerdict(
                        "namedPipe",
                        f"container {go_quote(_name(c))} mounts volume "
                        f"{go_quote(str(m.get('name')))} ({pipes[m.get('name')]}): "
                        f"{NAMED_PIPE_MESSAGE}",
                    )
                )
    return out


# ---------------------------------------------------------------------------------------------
# Effective job-object settings (ref §1.4, §1.6)
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ContainerSettings:
    """What one container runs with: HostProcess or not, user, job-object limits."""

    name: str
    kind: str  # "container" | "initContainer" | "ephemeralContainer"
    host_process: bool
    user: str | None  # container runAsUserName over the pod's, spelling kept
    job_memory_limit_bytes: int | None  # None: no job memory limit
    job_cpu_rate: int | None  # 1/100 % of the whole host; None: no CPU cap

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "hostProcess": self.host_process,
            "user": self.user,
            "jobMemoryLimitBytes": self.job_memory_limit_bytes,
            "jobCpuRate": self.job_cpu_rate,
        }


def job_cpu_rate(limit_millicores: int, node_cpus: int) -> int:
    """kubelet's CpuMaximum: ``10000 * milli / numCPU / 1000`` (integer), clamped to [1, 10000].

    k/k pkg/kubelet/kuberuntime/kuberuntime_container_windows.go; hcsshim applies it as the
    job's hard-cap CPU rate.
    """
    if node_cpus < 1:
        raise ValueError(f"node_cpus must be at least 1, got {node_cpus}")
    rate = 10000 * limit_millicores // node_cpus // 1000
    return max(1, min(10000, rate))


def job_memory_limit(limit_bytes: int) -> int | None:
    """The job memory limit hcsshim sets for a ``limits.memory`` of ``limit_bytes``.

    ParseAnnotationsMemory floors to whole MiB (``Limit/1024/1024``), specToLimits multiplies
    by ``memory.MiB``, and SetResourceLimits skips a 0 limit: under 1 MiB means no limit.
    """
    mib = limit_bytes // MIB
    return mib * MIB if mib > 0 else None


def effective_containers(spec: Mapping[str, Any], node_cpus: int) -> list[ContainerSettings]:
    """Settings of init then regular containers; ephemeral containers have no resources.

    Limits are parsed with hpsim.units (``QuantityError`` on a bad quantity). A limit of
    zero sets nothing: kubelet skips a zero CPU limit (``IsZero``) and a zero memory limit.
    """
    pod_hp = _pod_hp(spec)
    pod_user = _get(spec, "securityContext", "windowsOptions", "runAsUserName")
    out = []
    for key, kind in _CONTAINER_LISTS[:2]:
        for c in map(_map, _list(spec.get(key))):
            limits = _map(_get(c, "resources", "limits"))
            memory = cpu = None
            if limits.get("memory") is not None:
                limit_bytes = parse_memory_bytes(limits["memory"])
                memory = job_memory_limit(limit_bytes) if limit_bytes else None
            if limits.get("cpu") is not None:
                millicores = parse_cpu_millicores(limits["cpu"])
                cpu = job_cpu_rate(millicores, node_cpus) if millicores else None
            out.append(
                ContainerSettings(
                    name=_name(c),
                    kind=kind,
                    host_process=_effective_hp(c, pod_hp),
                    user=_effective_user(c, pod_user),
                    job_memory_limit_bytes=memory,
                    job_cpu_rate=cpu,
                )
            )
    return out
