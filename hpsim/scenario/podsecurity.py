"""Pod Security Admission: the Baseline and Restricted checks, in PSA's words and order.

Mirrors staging/src/k8s.io/pod-security-admission policy/check_*.go and registry.go: the
checks of policy version v1.35, which is what ``latest`` resolves to on a 1.35/1.36 API
server, with their ForbiddenReason and ForbiddenDetail strings, in the registry's order
(baseline check IDs sorted, then restricted IDs sorted; restricted drops the baseline checks
it overrides).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from hpsim.scenario.fielderrors import go_quote
from hpsim.scenario.podspec import (
    as_list,
    as_map,
    container_host_process,
    container_name,
    get_in,
    pod_host_process,
    tristate,
    truthy,
    visit_containers,
)

__all__ = ["LEVELS", "PodSecurityResult", "pod_security"]

LEVELS = ("privileged", "baseline", "restricted")


def _words(text: str) -> tuple[str, ...]:
    """A constant list written as words, as the Go sources list them."""
    return tuple(text.split())


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
    return get_in(spec, "os", "name") == "windows"


def _user_namespace(spec: Mapping[str, Any]) -> bool:
    """policy/helpers.go relaxPolicyForUserNamespacePod at v1.35: hostUsers set to false."""
    host_users = spec.get("hostUsers")
    return host_users is not None and not truthy(host_users)


def _csc(c: Mapping[str, Any]) -> Mapping[str, Any]:
    return as_map(c.get("securityContext"))


# A check's finding: (the check's name, what is wrong), or None when the pod passes.
_Verdict = tuple[str, str] | None
_Check = Callable[[Mapping[str, Any], Mapping[str, Any]], _Verdict]

# --- baseline ---------------------------------------------------------------------------------

_APPARMOR_ANNOTATION_PREFIX = "container.apparmor.security.beta.kubernetes.io/"


def _check_app_armor_profile(meta: Mapping[str, Any], spec: Mapping[str, Any]) -> _Verdict:
    """check_appArmorProfile.go appArmorProfile_1_0 (fields and the deprecated annotations)."""
    setters: list[str] = []
    bad_values: set[str] = set()
    ok = ("RuntimeDefault", "Localhost")
    pod_profile = get_in(spec, "securityContext", "appArmorProfile")
    if pod_profile is not None and get_in(pod_profile, "type") not in ok:
        setters.append("pod")
        bad_values.add(str(get_in(pod_profile, "type") or ""))
    bad_containers = []
    for _k, c, _p in visit_containers(spec, "spec"):
        profile = _csc(c).get("appArmorProfile")
        if profile is not None and get_in(profile, "type") not in ok:
            bad_containers.append(container_name(c))
            bad_values.add(str(get_in(profile, "type") or ""))
    if bad_containers:
        setters.append(_containers_phrase(bad_containers))
    annotations = sorted(
        f"{k}={go_quote(str(v))}"
        for k, v in as_map(meta.get("annotations")).items()
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


def _check_capabilities_baseline(meta: Mapping[str, Any], spec: Mapping[str, Any]) -> _Verdict:
    """check_capabilities_baseline.go capabilitiesBaseline_1_0."""
    bad_containers: list[str] = []
    caps: set[str] = set()
    for _k, c, _p in visit_containers(spec, "spec"):
        extra = [
            str(a)
            for a in as_list(get_in(c, "securityContext", "capabilities", "add"))
            if a not in _CAPABILITIES_ALLOWED_1_0
        ]
        if extra:
            bad_containers.append(container_name(c))
            caps.update(extra)
    if not bad_containers:
        return None
    return (
        "non-default capabilities",
        f"{_containers_phrase(bad_containers)} must not include {_join_quote(sorted(caps))} "
        "in securityContext.capabilities.add",
    )


def _check_host_namespaces(meta: Mapping[str, Any], spec: Mapping[str, Any]) -> _Verdict:
    """check_hostNamespaces.go hostNamespaces_1_0 (detail order network, PID, IPC)."""
    on = [f"{k}=true" for k in ("hostNetwork", "hostPID", "hostIPC") if truthy(spec.get(k))]
    return ("host namespaces", ", ".join(on)) if on else None


def _check_host_path_volumes(meta: Mapping[str, Any], spec: Mapping[str, Any]) -> _Verdict:
    """check_hostPathVolumes.go hostPathVolumes_1_0."""
    names = [str(as_map(v).get("name", "")) for v in as_list(spec.get("volumes")) if _host_path(v)]
    if not names:
        return None
    return "hostPath volumes", f"{_pluralize('volume', 'volumes', len(names))} {_join_quote(names)}"


def _check_host_ports(meta: Mapping[str, Any], spec: Mapping[str, Any]) -> _Verdict:
    """check_hostPorts.go hostPorts_1_0 (ports are a sorted set of strings)."""
    bad_containers: list[str] = []
    ports: set[str] = set()
    for _k, c, _p in visit_containers(spec, "spec"):
        found = [
            str(p["hostPort"])
            for p in map(as_map, as_list(c.get("ports")))
            if p.get("hostPort") not in (None, 0, False)
        ]
        if found:
            bad_containers.append(container_name(c))
            ports.update(found)
    if not bad_containers:
        return None
    return (
        "hostPort",
        f"{_containers_phrase(bad_containers)} "
        f"{_pluralize('uses', 'use', len(bad_containers))} "
        f"{_pluralize('hostPort', 'hostPorts', len(ports))} {', '.join(sorted(ports))}",
    )


def _check_host_probes_and_lifecycle(meta: Mapping[str, Any], spec: Mapping[str, Any]) -> _Verdict:
    """check_hostProbesAndhostLifecycle.go hostProbesAndHostLifecycleV1Dot34."""
    bad_containers: set[str] = set()
    hosts: set[str] = set()
    for _k, c, _p in visit_containers(spec, "spec"):
        handlers = [c.get(p) for p in ("livenessProbe", "readinessProbe", "startupProbe")]
        handlers += [get_in(c, "lifecycle", h) for h in ("postStart", "preStop")]
        for h in handlers:
            for action in ("httpGet", "tcpSocket"):
                host = get_in(h, action, "host")
                if host:
                    bad_containers.add(container_name(c))
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


def _check_privileged(meta: Mapping[str, Any], spec: Mapping[str, Any]) -> _Verdict:
    """check_privileged.go privileged_1_0."""
    bad = [
        container_name(c)
        for _k, c, _p in visit_containers(spec, "spec")
        if truthy(_csc(c).get("privileged"))
    ]
    if not bad:
        return None
    return "privileged", f"{_containers_phrase(bad)} must not set securityContext.privileged=true"


def _proc_mount_violations(spec: Mapping[str, Any]) -> _Verdict:
    """procMount_1_0: any procMount other than Default."""
    bad_containers: list[str] = []
    types: set[str] = set()
    for _k, c, _p in visit_containers(spec, "spec"):
        pm = _csc(c).get("procMount")
        if pm is not None and pm != "Default":
            bad_containers.append(container_name(c))
            types.add(str(pm))
    if not bad_containers:
        return None
    return (
        "procMount",
        f"{_containers_phrase(bad_containers)} must not set securityContext.procMount to "
        f"{_join_quote(sorted(types))}",
    )


def _check_proc_mount_baseline(meta: Mapping[str, Any], spec: Mapping[str, Any]) -> _Verdict:
    """check_procMount_baseline.go at v1.35: relaxed for user-namespace pods."""
    return None if _user_namespace(spec) else _proc_mount_violations(spec)


def _check_proc_mount_restricted(meta: Mapping[str, Any], spec: Mapping[str, Any]) -> _Verdict:
    """check_procMount_restricted.go (v1.35): procMount_1_0 with no relaxation."""
    return _proc_mount_violations(spec)


_SELINUX_ALLOWED_TYPES_1_31 = frozenset(
    {"", "container_t", "container_init_t", "container_kvm_t", "container_engine_t"}
)


def _check_se_linux_options(meta: Mapping[str, Any], spec: Mapping[str, Any]) -> _Verdict:
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

    pod_opts = get_in(spec, "securityContext", "seLinuxOptions")
    if pod_opts is not None and not valid(as_map(pod_opts)):
        setters.append("pod")
    bad_containers = [
        container_name(c)
        for _k, c, _p in visit_containers(spec, "spec")
        if _csc(c).get("seLinuxOptions") is not None
        and not valid(as_map(_csc(c).get("seLinuxOptions")))
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


def _check_seccomp_profile_baseline(meta: Mapping[str, Any], spec: Mapping[str, Any]) -> _Verdict:
    """check_seccompProfile_baseline.go seccompProfileBaseline_1_19."""
    setters: list[str] = []
    bad_values: set[str] = set()
    pod_profile = get_in(spec, "securityContext", "seccompProfile")
    if pod_profile is not None and get_in(pod_profile, "type") not in _SECCOMP_OK:
        setters.append("pod")
        bad_values.add(str(get_in(pod_profile, "type") or ""))
    bad_containers = []
    for _k, c, _p in visit_containers(spec, "spec"):
        profile = _csc(c).get("seccompProfile")
        if profile is not None and get_in(profile, "type") not in _SECCOMP_OK:
            bad_containers.append(container_name(c))
            bad_values.add(str(get_in(profile, "type") or ""))
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


def _check_sysctls(meta: Mapping[str, Any], spec: Mapping[str, Any]) -> _Verdict:
    """check_sysctls.go sysctls (spec order, not deduplicated)."""
    bad = [
        str(as_map(s).get("name"))
        for s in as_list(get_in(spec, "securityContext", "sysctls"))
        if as_map(s).get("name") not in _SYSCTLS_ALLOWED_1_32
    ]
    return ("forbidden sysctls", ", ".join(bad)) if bad else None


def _check_windows_host_process(meta: Mapping[str, Any], spec: Mapping[str, Any]) -> _Verdict:
    """check_windowsHostProcess.go windowsHostProcess_1_0 (explicit true only)."""
    setters = ["pod"] if pod_host_process(spec) is True else []
    bad = [
        container_name(c)
        for _k, c, _p in visit_containers(spec, "spec")
        if container_host_process(c) is True
    ]
    if bad:
        setters.append(_containers_phrase(bad))
    if not setters:
        return None
    return (
        "hostProcess",
        f"{' and '.join(setters)} must not set securityContext.windowsOptions.hostProcess=true",
    )


# --- restricted -------------------------------------------------------------------------------


def _check_allow_privilege_escalation(meta: Mapping[str, Any], spec: Mapping[str, Any]) -> _Verdict:
    """check_allowPrivilegeEscalation.go allowPrivilegeEscalation_1_25 (Windows exempt)."""
    if _is_windows(spec):
        return None
    bad = [
        container_name(c)
        for _k, c, _p in visit_containers(spec, "spec")
        if _csc(c).get("allowPrivilegeEscalation") is None
        or truthy(_csc(c).get("allowPrivilegeEscalation"))
    ]
    if not bad:
        return None
    return (
        "allowPrivilegeEscalation != false",
        f"{_containers_phrase(bad)} must set securityContext.allowPrivilegeEscalation=false",
    )


def _check_capabilities_restricted(meta: Mapping[str, Any], spec: Mapping[str, Any]) -> _Verdict:
    """check_capabilities_restricted.go capabilitiesRestricted_1_25 (Windows exempt)."""
    if _is_windows(spec):
        return None
    missing_drop_all: list[str] = []
    adding: list[str] = []
    caps: set[str] = set()
    for _k, c, _p in visit_containers(spec, "spec"):
        capabilities = _csc(c).get("capabilities")
        if capabilities is None:
            missing_drop_all.append(container_name(c))
            continue
        if "ALL" not in as_list(get_in(capabilities, "drop")):
            missing_drop_all.append(container_name(c))
        forbidden = [
            str(a) for a in as_list(get_in(capabilities, "add")) if a != "NET_BIND_SERVICE"
        ]
        if forbidden:
            adding.append(container_name(c))
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
    return get_in(volume, "hostPath") is not None


def _check_restricted_volumes(meta: Mapping[str, Any], spec: Mapping[str, Any]) -> _Verdict:
    """check_restrictedVolumes.go restrictedVolumes_1_0."""
    bad_names: list[str] = []
    bad_types: set[str] = set()
    for v in map(as_map, as_list(spec.get("volumes"))):
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


def _check_run_as_non_root(meta: Mapping[str, Any], spec: Mapping[str, Any]) -> _Verdict:
    """check_runAsNonRoot.go at v1.35 (skipped for user-namespace pods)."""
    if _user_namespace(spec):
        return None
    setters: list[str] = []
    pod_value = tristate(get_in(spec, "securityContext", "runAsNonRoot"))
    if pod_value is False:
        setters.append("pod")
    explicit: list[str] = []
    implicit: list[str] = []
    for _k, c, _p in visit_containers(spec, "spec"):
        value = tristate(_csc(c).get("runAsNonRoot"))
        if value is False:
            explicit.append(container_name(c))
        elif value is None and pod_value is not True:
            implicit.append(container_name(c))
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


def _check_run_as_user(meta: Mapping[str, Any], spec: Mapping[str, Any]) -> _Verdict:
    """check_runAsUser.go at v1.35 (skipped for user-namespace pods)."""
    if _user_namespace(spec):
        return None
    setters = ["pod"] if _is_zero(get_in(spec, "securityContext", "runAsUser")) else []
    bad = [
        container_name(c)
        for _k, c, _p in visit_containers(spec, "spec")
        if _is_zero(_csc(c).get("runAsUser"))
    ]
    if bad:
        setters.append(_containers_phrase(bad))
    if not setters:
        return None
    return "runAsUser=0", f"{' and '.join(setters)} must not set runAsUser=0"


def _check_seccomp_profile_restricted(meta: Mapping[str, Any], spec: Mapping[str, Any]) -> _Verdict:
    """check_seccompProfile_restricted.go seccompProfileRestricted_1_25 (Windows exempt)."""
    if _is_windows(spec):
        return None
    setters: list[str] = []
    bad_values: set[str] = set()
    pod_set = False
    pod_profile = get_in(spec, "securityContext", "seccompProfile")
    if pod_profile is not None:
        if get_in(pod_profile, "type") not in _SECCOMP_OK:
            setters.append("pod")
            bad_values.add(str(get_in(pod_profile, "type") or ""))
        else:
            pod_set = True
    explicit: list[str] = []
    implicit: list[str] = []
    for _k, c, _p in visit_containers(spec, "spec"):
        profile = _csc(c).get("seccompProfile")
        if profile is not None:
            if get_in(profile, "type") not in _SECCOMP_OK:
                explicit.append(container_name(c))
                bad_values.add(str(get_in(profile, "type") or ""))
        elif not pod_set:
            implicit.append(container_name(c))
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
    meta, pod = as_map(metadata), as_map(spec)
    reasons = []
    for _cid, check in _ordered_checks(level):
        result = check(meta, pod)
        if result is not None:
            reason, detail = result
            reasons.append(f"{reason} ({detail})" if detail else reason)
    return PodSecurityResult(level, not reasons, reasons)
