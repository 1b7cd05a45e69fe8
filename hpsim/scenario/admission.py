"""Admission of HostProcess pods, mirroring the real components.

- kube-apiserver ``validateWindowsHostProcessPod`` (k/k
  pkg/apis/core/validation/validation.go, ref §2.1): its four rules, in order,
  with the real field paths and messages, over init, regular and ephemeral
  containers; ``validateWindowsSecurityContextOptions`` for runAsUserName.
- Pod Security Admission (kubernetes/pod-security-admission policy/check_*.go,
  ref §3): the checks of baseline and restricted with their ForbiddenReason and
  ForbiddenDetail strings, reasons in check-ID order, and the Windows
  exemptions of restricted (allowPrivilegeEscalation, capabilities,
  seccompProfile skip pods with ``spec.os.name: windows``).
- Node rules (ref §2.2, §5.3, §1.2, §1.6): the WindowsHostProcessContainers
  gate by version, containerd >= 1.6, local-group users need containerd 1.7+,
  named pipe mounts refused by hcsshim.
- Effective job-object settings: the user (container over pod), the memory
  commit limit floored to whole MiB (hcsshim ``Limit/1024/1024``) and the CPU
  rate ``10000 * milli / numCPU / 1000`` clamped to [1, 10000] (ref §1.4).

Input is a pod spec as plain dicts, exactly as in YAML.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from hpsim import units

MIB = 2**20
_ERROR_WORDS = {
    "FieldValueInvalid": "Invalid value",
    "FieldValueForbidden": "Forbidden",
    "FieldValueRequired": "Required value",
    "FieldValueNotSupported": "Unsupported value",
    "FieldValueTooLong": "Too long",
}


def _render(value: Any) -> str:
    """Values as field.Error prints them: strings quoted (%q), the rest bare."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'
    return str(value)


@dataclass(frozen=True)
class FieldError:
    """One API validation error, as k8s.io/apimachinery field.Error."""

    field: str
    type: str
    message: str
    value: Any = None

    def __str__(self) -> str:
        words = _ERROR_WORDS.get(self.type, self.type)
        if self.type in ("FieldValueInvalid", "FieldValueNotSupported"):
            return f"{self.field}: {words}: {_render(self.value)}: {self.message}"
        return f"{self.field}: {words}: {self.message}"

    def to_json(self) -> dict[str, str]:
        return {"field": self.field, "type": self.type, "message": self.message}


def kubectl_invalid_message(kind: str, name: str, errors: list[FieldError]) -> str:
    """``The Pod "x" is invalid: ...`` as apierrors.NewInvalid words it."""
    body = str(errors[0]) if len(errors) == 1 else "[" + ", ".join(map(str, errors)) + "]"
    return f'The {kind} "{name}" is invalid: {body}'


def _containers(spec: Mapping[str, Any]) -> list[tuple[str, int, Mapping[str, Any]]]:
    """(list name, index, container) for init, regular and ephemeral containers, in that order.

    The order of podshelper.VisitContainersWithPath.
    """
    out = []
    for key in ("initContainers", "containers", "ephemeralContainers"):
        for i, c in enumerate(spec.get(key) or []):
            out.append((key, i, c or {}))
    return out


def _win(ctx: Mapping[str, Any] | None) -> Mapping[str, Any]:
    return ((ctx or {}).get("windowsOptions") or {}) if isinstance(ctx, Mapping) else {}


def _hp(ctx: Mapping[str, Any] | None) -> bool | None:
    return _win(ctx).get("hostProcess")


def is_host_process_pod(spec: Mapping[str, Any]) -> bool:
    """Whether any container is HostProcess (the pod value applies where a container is unset)."""
    pod = _hp(spec.get("securityContext"))
    for _k, _i, c in _containers(spec):
        v = _hp(c.get("securityContext"))
        if (v if v is not None else pod) is True:
            return True
    return False


def validate_pod_spec(
    spec: Mapping[str, Any], spec_path: str = "spec", *, allow_privileged: bool = True
) -> list[FieldError]:
    """API validity of a pod spec's Windows and HostProcess fields."""
    errs = _validate_host_process(spec, spec_path, allow_privileged)
    errs += _validate_user_names(spec, spec_path)
    os_name = (spec.get("os") or {}).get("name")
    if os_name == "windows":
        errs += _validate_windows_forbidden(spec, spec_path)
    return errs


def _validate_host_process(
    spec: Mapping[str, Any], path: str, allow_privileged: bool
) -> list[FieldError]:
    errs: list[FieldError] = []
    pod_hp = _hp(spec.get("securityContext"))
    count = hp_count = 0
    for key, i, c in _containers(spec):
        count += 1
        ctr_hp = _hp(c.get("securityContext"))
        if pod_hp is not None and ctr_hp is not None and pod_hp != ctr_hp:
            errs.append(
                FieldError(
                    f"{path}.{key}[{i}].securityContext.windowsOptions.hostProcess",
                    "FieldValueInvalid",
                    "pod hostProcess value must be identical if both are specified, "
                    f"was {_render(pod_hp)}",
                    ctr_hp,
                )
            )
        if (ctr_hp if ctr_hp is not None else pod_hp) is True:
            hp_count += 1
    if hp_count > 0 and hp_count != count:
        errs.append(
            FieldError(
                path,
                "FieldValueInvalid",
                "If pod contains any hostProcess containers then all containers "
                "must be HostProcess containers",
                "",
            )
        )
    if hp_count > 0 and not spec.get("hostNetwork", False):
        errs.append(
            FieldError(
                f"{path}.hostNetwork",
                "FieldValueInvalid",
                "hostNetwork must be true if pod contains any hostProcess containers",
                False,
            )
        )
    if hp_count > 0 and not allow_privileged:
        errs.append(
            FieldError(
                path,
                "FieldValueForbidden",
                "hostProcess containers are disallowed by cluster policy",
            )
        )
    return errs


# validateWindowsSecurityContextOptions (validation.go): limits from the same file.
_MAX_USER_LEN = 256  # maxRunAsUserNameUserLength
_MAX_DOMAIN_LEN = 256  # maxRunAsUserNameDomainLength
_USER_INVALID = '"/\\:;|=,+*?<>@[]'
_CTRL = re.compile(r"[\x00-\x1f\x7f]")
_NETBIOS = re.compile(r"^[^\\/:*?\"<>|]{1,15}$")
_DNS = re.compile(
    r"^(?:[a-zA-Z0-9](?:[-a-zA-Z0-9]{0,61}[a-zA-Z0-9])?\.)+"
    r"[a-zA-Z0-9](?:[-a-zA-Z0-9]{0,61}[a-zA-Z0-9])?$"
)


def _user_name_errors(name: str, fp: str) -> list[FieldError]:
    if name == "":
        return [
            FieldError(fp, "FieldValueInvalid", "runAsUserName cannot be an empty string", name)
        ]
    if _CTRL.search(name):
        return [
            FieldError(
                fp, "FieldValueInvalid", "runAsUserName cannot contain control characters", name
            )
        ]
    parts = name.split("\\")
    if len(parts) > 2:
        return [
            FieldError(
                fp,
                "FieldValueInvalid",
                "runAsUserName cannot contain more than one backslash",
                name,
            )
        ]
    errs = []
    domain, user = (parts[0], parts[1]) if len(parts) == 2 else ("", parts[0])
    if len(domain) >= _MAX_DOMAIN_LEN:
        errs.append(
            FieldError(
                fp,
                "FieldValueInvalid",
                f"runAsUserName's Domain length must be under {_MAX_DOMAIN_LEN} characters",
                name,
            )
        )
    if domain and not (_NETBIOS.match(domain) or _DNS.match(domain)):
        errs.append(
            FieldError(
                fp,
                "FieldValueInvalid",
                "runAsUserName's Domain doesn't match the NetBios nor the DNS format",
                name,
            )
        )
    if not user:
        errs.append(
            FieldError(fp, "FieldValueInvalid", "runAsUserName's User cannot be empty", name)
        )
    elif len(user) > _MAX_USER_LEN:
        errs.append(
            FieldError(
                fp,
                "FieldValueInvalid",
                f"runAsUserName's User length must not be longer than {_MAX_USER_LEN} characters",
                name,
            )
        )
    if user and set(user) <= {".", " "}:
        errs.append(
            FieldError(
                fp,
                "FieldValueInvalid",
                "runAsUserName's User cannot contain only periods or spaces",
                name,
            )
        )
    if any(ch in _USER_INVALID for ch in user):
        errs.append(
            FieldError(
                fp,
                "FieldValueInvalid",
                f"runAsUserName's User cannot contain the following characters: {_USER_INVALID!s}",
                name,
            )
        )
    return errs


def _validate_user_names(spec: Mapping[str, Any], path: str) -> list[FieldError]:
    errs = []
    pod_user = _win(spec.get("securityContext")).get("runAsUserName")
    if pod_user is not None:
        errs += _user_name_errors(pod_user, f"{path}.securityContext.windowsOptions.runAsUserName")
    for key, i, c in _containers(spec):
        user = _win(c.get("securityContext")).get("runAsUserName")
        if user is not None:
            errs += _user_name_errors(
                user, f"{path}.{key}[{i}].securityContext.windowsOptions.runAsUserName"
            )
    return errs


_POD_FORBIDDEN_ON_WINDOWS = ("hostPID", "hostIPC", "hostUsers", "shareProcessNamespace")
_POD_SC_FORBIDDEN = (
    "seLinuxOptions",
    "seccompProfile",
    "appArmorProfile",
    "fsGroup",
    "fsGroupChangePolicy",
    "sysctls",
    "runAsUser",
    "runAsGroup",
    "supplementalGroups",
    "supplementalGroupsPolicy",
    "seLinuxChangePolicy",
)
_CTR_SC_FORBIDDEN = (
    "seLinuxOptions",
    "seccompProfile",
    "appArmorProfile",
    "capabilities",
    "readOnlyRootFilesystem",
    "privileged",
    "allowPrivilegeEscalation",
    "procMount",
    "runAsUser",
    "runAsGroup",
)


def _validate_windows_forbidden(spec: Mapping[str, Any], path: str) -> list[FieldError]:
    """validateWindows: fields that "cannot be set for a windows pod"."""
    errs = []
    msg = "cannot be set for a windows pod"
    for f in _POD_FORBIDDEN_ON_WINDOWS:
        if spec.get(f) not in (None, False) if f != "hostUsers" else f in spec:
            errs.append(FieldError(f"{path}.{f}", "FieldValueForbidden", msg))
    sc = spec.get("securityContext") or {}
    for f in _POD_SC_FORBIDDEN:
        if sc.get(f) not in (None, [], {}):
            errs.append(FieldError(f"{path}.securityContext.{f}", "FieldValueForbidden", msg))
    for key, i, c in _containers(spec):
        csc = c.get("securityContext") or {}
        for f in _CTR_SC_FORBIDDEN:
            if csc.get(f) is not None:
                errs.append(
                    FieldError(f"{path}.{key}[{i}].securityContext.{f}", "FieldValueForbidden", msg)
                )
    return errs


# -- Pod Security Admission ------------------------------------------------------------------------


@dataclass(frozen=True)
class PodSecurityResult:
    level: str
    allowed: bool
    reasons: tuple[str, ...] = ()

    def message(self, version: str = "latest") -> str:
        """The enforce message: ``violates PodSecurity "baseline:latest": ...``."""
        return f'violates PodSecurity "{self.level}:{version}": ' + ", ".join(self.reasons)


def _quoted(names: list[str]) -> str:
    return ", ".join(f'"{n}"' for n in names)


def _setters(pod: bool, names: list[str], what: str) -> str:
    """``pod and containers "a", "b" must not set ...`` (PSA's ForbiddenDetail phrasing)."""
    parts = []
    if pod:
        parts.append("pod")
    if names:
        parts.append(("container " if len(names) == 1 else "containers ") + _quoted(names))
    return " and ".join(parts) + f" {what}"


def _plural(names: list[str], one: str, many: str) -> str:
    return (one if len(names) == 1 else many) + " " + _quoted(names)


def _check_host_namespaces(meta, spec, windows):
    on = [f"{k}=true" for k in ("hostNetwork", "hostPID", "hostIPC") if spec.get(k)]
    return ("host namespaces", ", ".join(on)) if on else None


def _check_privileged(meta, spec, windows):
    bad = [
        c.get("name", "")
        for _k, _i, c in _containers(spec)
        if (c.get("securityContext") or {}).get("privileged") is True
    ]
    if bad:
        return "privileged", _setters(False, bad, "must not set securityContext.privileged=true")
    return None


_BASELINE_CAPS = {
    "AUDIT_WRITE",
    "CHOWN",
    "DAC_OVERRIDE",
    "FOWNER",
    "FSETID",
    "KILL",
    "MKNOD",
    "NET_BIND_SERVICE",
    "SETFCAP",
    "SETGID",
    "SETPCAP",
    "SETUID",
    "SYS_CHROOT",
}


def _check_capabilities_baseline(meta, spec, windows):
    bad, caps = [], []
    for _k, _i, c in _containers(spec):
        add = ((c.get("securityContext") or {}).get("capabilities") or {}).get("add") or []
        extra = [a for a in add if a not in _BASELINE_CAPS]
        if extra:
            bad.append(c.get("name", ""))
            caps.extend(x for x in extra if x not in caps)
    if bad:
        return "non-default capabilities", _setters(
            False, bad, f"must not include {_quoted(caps)} in securityContext.capabilities.add"
        )
    return None


def _check_host_path(meta, spec, windows):
    bad = [v.get("name", "") for v in spec.get("volumes") or [] if v.get("hostPath") is not None]
    return ("hostPath volumes", _plural(bad, "volume", "volumes")) if bad else None


def _check_host_ports(meta, spec, windows):
    names, ports = [], []
    for _k, _i, c in _containers(spec):
        found = [p.get("hostPort") for p in c.get("ports") or [] if p.get("hostPort")]
        if found:
            names.append(c.get("name", ""))
            ports.extend(str(p) for p in found)
    if not names:
        return None
    verb = (
        "uses hostPort"
        if len(names) == 1 and len(ports) == 1
        else ("uses hostPorts" if len(names) == 1 else "use hostPorts")
    )
    return "hostPort", f"{_plural(names, 'container', 'containers')} {verb} {', '.join(ports)}"


def _check_windows_host_process(meta, spec, windows):
    pod = _hp(spec.get("securityContext")) is True
    bad = [
        c.get("name", "")
        for _k, _i, c in _containers(spec)
        if _hp(c.get("securityContext")) is True
    ]
    if pod or bad:
        return "hostProcess", _setters(
            pod, bad, "must not set securityContext.windowsOptions.hostProcess=true"
        )
    return None


def _check_restricted_volumes(meta, spec, windows):
    allowed = {
        "configMap",
        "csi",
        "downwardAPI",
        "emptyDir",
        "ephemeral",
        "persistentVolumeClaim",
        "projected",
        "secret",
        "image",
    }
    names, types = [], []
    for v in spec.get("volumes") or []:
        kinds = [k for k in v if k != "name" and k not in allowed]
        if kinds:
            names.append(v.get("name", ""))
            types.extend(k for k in kinds if k not in types)
    if not names:
        return None
    kind = "type" if len(types) == 1 else "types"
    verb = "uses" if len(names) == 1 else "use"
    return "restricted volume types", (
        f"{_plural(names, 'volume', 'volumes')} {verb} restricted volume {kind} {_quoted(types)}"
    )


def _check_run_as_non_root(meta, spec, windows):
    pod = (spec.get("securityContext") or {}).get("runAsNonRoot")
    explicit_false, unset = [], []
    for _k, _i, c in _containers(spec):
        v = (c.get("securityContext") or {}).get("runAsNonRoot")
        if v is False:
            explicit_false.append(c.get("name", ""))
        elif v is None and pod is not True:
            unset.append(c.get("name", ""))
    parts = []
    if pod is False:
        parts.append("pod must not set securityContext.runAsNonRoot=false")
    if explicit_false:
        parts.append(
            _setters(False, explicit_false, "must not set securityContext.runAsNonRoot=false")
        )
    if unset and pod is None:
        parts.append(
            "pod or "
            + _plural(unset, "container", "containers")
            + " must set securityContext.runAsNonRoot=true"
        )
    elif unset:
        parts.append(
            _plural(unset, "container", "containers")
            + " must set securityContext.runAsNonRoot=true"
        )
    return ("runAsNonRoot != true", "; ".join(parts)) if parts else None


def _check_allow_privilege_escalation(meta, spec, windows):
    if windows:
        return None
    bad = [
        c.get("name", "")
        for k, _i, c in _containers(spec)
        if (c.get("securityContext") or {}).get("allowPrivilegeEscalation") is not False
    ]
    if bad:
        return "allowPrivilegeEscalation != false", _plural(bad, "container", "containers") + (
            " must set securityContext.allowPrivilegeEscalation=false"
        )
    return None


def _check_capabilities_restricted(meta, spec, windows):
    if windows:
        return None
    bad = []
    for _k, _i, c in _containers(spec):
        drop = ((c.get("securityContext") or {}).get("capabilities") or {}).get("drop") or []
        if "ALL" not in drop:
            bad.append(c.get("name", ""))
    if bad:
        return "unrestricted capabilities", _plural(bad, "container", "containers") + (
            ' must set securityContext.capabilities.drop=["ALL"]'
        )
    return None


def _check_seccomp_restricted(meta, spec, windows):
    if windows:
        return None
    ok = {"RuntimeDefault", "Localhost"}
    pod = ((spec.get("securityContext") or {}).get("seccompProfile") or {}).get("type")
    bad = []
    for _k, _i, c in _containers(spec):
        t = ((c.get("securityContext") or {}).get("seccompProfile") or {}).get("type")
        if (t or pod) not in ok:
            bad.append(c.get("name", ""))
    if bad:
        who = (
            "pod or " + _plural(bad, "container", "containers")
            if pod is None
            else _plural(bad, "container", "containers")
        )
        return "seccompProfile", (
            f'{who} must set securityContext.seccompProfile.type to "RuntimeDefault" or "Localhost"'
        )
    return None


# (check ID, level, function, IDs it overrides). Reasons are reported in check-ID
# order, as the PSA registry sorts its checks [UNCONFIRMED exact order, ref §3].
_CHECKS = (
    ("allowPrivilegeEscalation", "restricted", _check_allow_privilege_escalation, ()),
    ("capabilities_baseline", "baseline", _check_capabilities_baseline, ()),
    (
        "capabilities_restricted",
        "restricted",
        _check_capabilities_restricted,
        ("capabilities_baseline",),
    ),
    ("hostNamespaces", "baseline", _check_host_namespaces, ()),
    ("hostPathVolumes", "baseline", _check_host_path, ()),
    ("hostPorts", "baseline", _check_host_ports, ()),
    ("privileged", "baseline", _check_privileged, ()),
    ("restrictedVolumes", "restricted", _check_restricted_volumes, ("hostPathVolumes",)),
    ("runAsNonRoot", "restricted", _check_run_as_non_root, ()),
    ("seccompProfile_restricted", "restricted", _check_seccomp_restricted, ()),
    ("windowsHostProcess", "baseline", _check_windows_host_process, ()),
)


def pod_security(
    metadata: Mapping[str, Any], spec: Mapping[str, Any], level: str
) -> PodSecurityResult:
    """Evaluate the Pod Security Standards at ``level`` (privileged, baseline, restricted)."""
    if level == "privileged":
        return PodSecurityResult(level, True)
    windows = (spec.get("os") or {}).get("name") == "windows"
    active = [c for c in _CHECKS if c[1] == "baseline" or level == "restricted"]
    overridden = {o for c in active for o in c[3]}
    reasons = []
    for cid, _lvl, fn, _ov in active:
        if cid in overridden:
            continue
        res = fn(metadata, spec, windows)
        if res:
            reasons.append(f"{res[0]} ({res[1]})" if res[1] else res[0])
    return PodSecurityResult(level, not reasons, tuple(reasons))


# -- node rules ------------------------------------------------------------------------------------


def _version(text: str) -> tuple[int, int, int]:
    m = re.match(r"^v?(\d+)\.(\d+)(?:\.(\d+))?", text.strip())
    if not m:
        raise ValueError(f"invalid version {text!r}")
    return int(m.group(1)), int(m.group(2)), int(m.group(3) or 0)


@dataclass(frozen=True)
class NodeFacts:
    kubernetes_version: str
    containerd_version: str
    feature_gates: Mapping[str, bool] = field(default_factory=dict)


@dataclass(frozen=True)
class NodeVerdict:
    rule: str
    message: str

    def to_json(self) -> dict[str, str]:
        return {"rule": self.rule, "message": self.message}


GATE = "WindowsHostProcessContainers"
SERVICE_ACCOUNTS = {
    "nt authority\\system",
    "nt authority\\local service",
    "nt authority\\localservice",
    "nt authority\\network service",
    "nt authority\\networkservice",
}
_PIPE = re.compile(r"^(\\\\\.\\pipe\\|//\./pipe/)", re.IGNORECASE)


def _gate_verdicts(node: NodeFacts) -> list[NodeVerdict]:
    k8s = _version(node.kubernetes_version)[:2]
    override = node.feature_gates.get(GATE)
    if k8s < (1, 22):
        return [
            NodeVerdict(
                "featureGate",
                f"Kubernetes {node.kubernetes_version} has no "
                f"HostProcess support (feature gate {GATE} arrived as alpha in 1.22)",
            )
        ]
    if k8s >= (1, 28):
        if override is not None:
            return [
                NodeVerdict(
                    "featureGate",
                    f"unrecognized feature gate: {GATE} "
                    "(removed in v1.28, k/k PR #117570; HostProcess is always on)",
                )
            ]
        return []
    if k8s >= (1, 26):
        if override is False:
            return [
                NodeVerdict(
                    "featureGate",
                    f"cannot set feature gate {GATE} to false, feature is locked to true",
                )
            ]
        return []
    enabled = override if override is not None else k8s >= (1, 23)
    if not enabled:
        return [
            NodeVerdict(
                "featureGate",
                f"pod contains HostProcess containers but feature '{GATE}' is not enabled",
            )
        ]
    return []


def node_rules(spec: Mapping[str, Any], node: NodeFacts) -> list[NodeVerdict]:
    """Node-level refusals for a HostProcess pod (empty when it can run)."""
    if not is_host_process_pod(spec):
        return []
    out = _gate_verdicts(node)
    ctrd = _version(node.containerd_version)
    if ctrd < (1, 6, 0):
        out.append(
            NodeVerdict(
                "containerd",
                f"containerd {node.containerd_version} cannot run "
                "HostProcess containers (containerd 1.6+ is required)",
            )
        )
    pod_user = _win(spec.get("securityContext")).get("runAsUserName")
    if ctrd < (1, 7, 0):
        for _k, _i, c in _containers(spec):
            user = _win(c.get("securityContext")).get("runAsUserName") or pod_user
            if user and user.strip().lower() not in SERVICE_ACCOUNTS:
                out.append(
                    NodeVerdict(
                        "localUser",
                        f'container "{c.get("name", "")}" runs as "{user}": Running '
                        "HostProcess containers as local user accounts requires containerd v1.7+",
                    )
                )
    pipes = {
        v.get("name"): v["hostPath"].get("path", "")
        for v in spec.get("volumes") or []
        if isinstance(v.get("hostPath"), Mapping)
    }
    for _k, _i, c in _containers(spec):
        for m in c.get("volumeMounts") or []:
            if _PIPE.match(pipes.get(m.get("name"), "") or "") or _PIPE.match(
                m.get("mountPath", "") or ""
            ):
                out.append(
                    NodeVerdict(
                        "namedPipe",
                        f'container "{c.get("name", "")}" mounts '
                        f'"{m.get("mountPath", "")}": named pipe mounts not supported for job '
                        "containers - interact with the pipe directly",
                    )
                )
    return out


# -- effective settings ---------------------------------------------------------------------------


@dataclass(frozen=True)
class ContainerSettings:
    name: str
    kind: str
    host_process: bool
    user: str | None
    job_memory_limit_bytes: int | None
    job_cpu_rate: int | None

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "hostProcess": self.host_process,
            "user": self.user,
            "jobMemoryLimitBytes": self.job_memory_limit_bytes,
            "jobCpuRate": self.job_cpu_rate,
        }


def job_cpu_rate(limit_millicores: int, node_cpus: int) -> int:
    """kubelet's cpuMaximum: 10000 * milli / numCPU / 1000, clamped to [1, 10000]."""
    rate = 10000 * limit_millicores // node_cpus // 1000
    return max(1, min(10000, rate))


def job_memory_limit(limit_bytes: int) -> int | None:
    """hcsshim: MiB by integer division, times MiB; 0 MiB sets no limit."""
    mib = limit_bytes // MIB
    return mib * MIB if mib > 0 else None


def effective_containers(spec: Mapping[str, Any], node_cpus: int) -> list[ContainerSettings]:
    """Job-object settings of init and app containers (ephemeral ones have no resources)."""
    pod_sc = spec.get("securityContext")
    pod_hp = _hp(pod_sc)
    pod_user = _win(pod_sc).get("runAsUserName")
    out = []
    for key, kind in (("initContainers", "initContainer"), ("containers", "container")):
        for c in spec.get(key) or []:
            sc = c.get("securityContext")
            hp = _hp(sc)
            limits = (c.get("resources") or {}).get("limits") or {}
            mem = units.parse_memory_bytes(limits["memory"]) if "memory" in limits else None
            cpu = units.parse_cpu_millicores(limits["cpu"]) if "cpu" in limits else None
            out.append(
                ContainerSettings(
                    name=c.get("name", ""),
                    kind=kind,
                    host_process=(hp if hp is not None else pod_hp) is True,
                    user=_win(sc).get("runAsUserName") or pod_user,
                    job_memory_limit_bytes=job_memory_limit(mem) if mem is not None else None,
                    job_cpu_rate=job_cpu_rate(cpu, node_cpus) if cpu else None,
                )
            )
    return out
