"""Tests for hpsim.scenario.admission: API validation, Pod Security, node rules, settings.

Expected strings are the real components' words, written out by hand from the sources named
in the module (validation.go, field/errors.go, pod-security-admission policy/check_*.go,
kubelet, hcsshim), not computed with the code under test.
"""

from __future__ import annotations

import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from hpsim.scenario.admission import (
    GATE,
    MIB,
    ContainerSettings,
    FieldError,
    NodeFacts,
    NodeVerdict,
    effective_containers,
    go_quote,
    host_process_field_allowed,
    is_host_process_pod,
    is_service_account,
    job_cpu_rate,
    job_memory_limit,
    kubectl_invalid_message,
    node_rules,
    pod_security,
    validate_pod_spec,
)

# --- helpers ---------------------------------------------------------------------------------


def hp(value: bool) -> dict:
    """A securityContext setting windowsOptions.hostProcess."""
    return {"windowsOptions": {"hostProcess": value}}


def ctr(name: str | None = "container", host_process: bool | None = None, **extra) -> dict:
    c = {} if name is None else {"name": name}
    if host_process is not None:
        c["securityContext"] = hp(host_process)
    return {**c, **extra}


def pod(
    *,
    host_process: bool | None = None,
    host_network: bool = False,
    containers=(),
    init=(),
    ephemeral=(),
    **extra,
) -> dict:
    spec: dict = {"containers": list(containers)}
    if init:
        spec["initContainers"] = list(init)
    if ephemeral:
        spec["ephemeralContainers"] = list(ephemeral)
    if host_network:
        spec["hostNetwork"] = True
    if host_process is not None:
        spec["securityContext"] = hp(host_process)
    return {**spec, **extra}


def rendered(spec: dict, **kwargs) -> list[str]:
    return [str(e) for e in validate_pod_spec(spec, **kwargs)]


def hpc_pod(user: str = "NT AUTHORITY\\SYSTEM", **extra) -> dict:
    """A valid HostProcess pod as the k8s docs write one."""
    return {
        "os": {"name": "windows"},
        "hostNetwork": True,
        "securityContext": {"windowsOptions": {"hostProcess": True, "runAsUserName": user}},
        "containers": [{"name": "hpc", "image": "mcr.microsoft.com/oss/kubernetes/pause:3.9"}],
        **extra,
    }


HOST_NETWORK = (
    "spec.hostNetwork: Invalid value: false: "
    "hostNetwork must be true if pod contains any hostProcess containers"
)
ALL_HPC = (
    'spec: Invalid value: "": '
    "If pod contains any hostProcess containers then all containers must be HostProcess containers"
)


def mismatch(path: str, value: str, pod_value: str) -> str:
    return (
        f"{path}.securityContext.windowsOptions.hostProcess: Invalid value: {value}: "
        f"pod hostProcess value must be identical if both are specified, was {pod_value}"
    )


# --- validateWindowsHostProcessPod: k/k TestValidateWindowsHostProcessPod ---------------------

# The 16 cases of pkg/apis/core/validation/validation_test.go, names verbatim (typos
# included), each with the errors the real function returns, rendered by field.Error.
WINDOWS_HOST_PROCESS_CASES = [
    (
        "Spec with feature enabled, pod-wide HostProcess=true, and HostNetwork unset should not "
        "validate",
        True,
        pod(host_process=True, containers=[ctr()]),
        [HOST_NETWORK],
    ),
    (
        "Spec with feature enabled, pod-wide HostProcess=ture, and HostNetwork set should validate",
        True,
        pod(host_process=True, host_network=True, containers=[ctr()]),
        [],
    ),
    (
        "Spec with feature enabled, pod-wide HostProcess=ture, HostNetwork set, and containers "
        "setting HostProcess=true should validate",
        True,
        pod(
            host_process=True,
            host_network=True,
            containers=[ctr(host_process=True)],
            init=[ctr(host_process=True)],
        ),
        [],
    ),
    (
        "Spec with feature enabled, pod-wide HostProcess=nil, HostNetwork set, and all containers "
        "setting HostProcess=true should validate",
        True,
        pod(host_network=True, containers=[ctr(host_process=True)], init=[ctr(host_process=True)]),
        [],
    ),
    (
        "Pods with feature enabled, some containers setting HostProcess=true, and others setting "
        "HostProcess=false should not validate",
        True,
        pod(host_network=True, containers=[ctr(host_process=True)], init=[ctr(host_process=False)]),
        [ALL_HPC],
    ),
    (
        "Spec with feature enabled, some containers setting HostProcess=true, and other leaving "
        "HostProcess unset should not validate",
        True,
        pod(host_network=True, containers=[ctr(host_process=True)], init=[ctr()]),
        [ALL_HPC],
    ),
    (
        "Spec with feature enabled, pod-wide HostProcess=true, some containers setting "
        "HostProcess=true, and init containers setting HostProcess=false should not validate",
        True,
        pod(
            host_process=True,
            host_network=True,
            containers=[ctr(host_process=True)],
            init=[ctr(host_process=False)],
        ),
        [mismatch("spec.initContainers[0]", "false", "true"), ALL_HPC],
    ),
    (
        "Spec with feature enabled, pod-wide HostProcess=true, some containers setting "
        "HostProcess=true, and others setting HostProcess=false should not validate",
        True,
        pod(
            host_process=True,
            host_network=True,
            containers=[ctr(host_process=True), ctr(host_process=False)],
        ),
        [mismatch("spec.containers[1]", "false", "true"), ALL_HPC],
    ),
    (
        "Spec with feature enabled, pod-wide HostProcess=true, some containers setting "
        "HostProcess=true, and others leaving HostProcess=nil should validate",
        True,
        pod(
            host_process=True, host_network=True, containers=[ctr(host_process=True)], init=[ctr()]
        ),
        [],
    ),
    (
        "Spec with feature enabled, pod-wide HostProcess=false, some contaienrs setting "
        "HostProccess=true should not validate",
        True,
        pod(
            host_process=False, host_network=True, containers=[ctr(host_process=True)], init=[ctr()]
        ),
        [mismatch("spec.containers[0]", "true", "false"), ALL_HPC],
    ),
    (
        "Pod's HostProcess set to true but all containers override to false should not validate",
        True,
        pod(host_process=True, host_network=True, containers=[ctr(host_process=False)]),
        [mismatch("spec.containers[0]", "false", "true")],
    ),
    (
        "Valid HostProcess pod should spec should not validate if allowPrivileged is not set",
        False,
        pod(host_network=True, containers=[ctr(host_process=True)]),
        ["spec: Forbidden: hostProcess containers are disallowed by cluster policy"],
    ),
    (
        "Non-HostProcess ephemeral container in HostProcess pod should not validate",
        True,
        pod(
            host_process=True,
            host_network=True,
            containers=[ctr()],
            ephemeral=[ctr(None, host_process=False)],
        ),
        [mismatch("spec.ephemeralContainers[0]", "false", "true"), ALL_HPC],
    ),
    (
        "HostProcess ephemeral container in HostProcess pod should validate",
        True,
        pod(host_process=True, host_network=True, containers=[ctr()], ephemeral=[{}]),
        [],
    ),
    (
        "Non-HostProcess ephemeral container in Non-HostProcess pod should validate",
        True,
        pod(containers=[ctr()], ephemeral=[ctr(None, host_process=False)]),
        [],
    ),
    (
        "HostProcess ephemeral container in Non-HostProcess pod should not validate",
        True,
        pod(containers=[ctr()], ephemeral=[ctr(None, host_process=True)]),
        [ALL_HPC, HOST_NETWORK],
    ),
]


@pytest.mark.parametrize(
    ("allow_privileged", "spec", "expected"),
    [case[1:] for case in WINDOWS_HOST_PROCESS_CASES],
    ids=[case[0] for case in WINDOWS_HOST_PROCESS_CASES],
)
def test_validate_windows_host_process_pod(allow_privileged, spec, expected):
    assert rendered(spec, allow_privileged=allow_privileged) == expected


def test_the_table_has_the_sixteen_real_cases():
    assert len(WINDOWS_HOST_PROCESS_CASES) == 16
    assert sum(1 for c in WINDOWS_HOST_PROCESS_CASES if c[3]) == 10  # expectError: true


def test_field_error_types_and_json():
    err = validate_pod_spec(pod(host_process=True, containers=[ctr()]))[0]
    assert err == FieldError(
        "spec.hostNetwork",
        "FieldValueInvalid",
        "hostNetwork must be true if pod contains any hostProcess containers",
        False,
    )
    assert err.to_json() == {
        "field": "spec.hostNetwork",
        "type": "FieldValueInvalid",
        "message": "hostNetwork must be true if pod contains any hostProcess containers",
    }
    required = FieldError("spec.restartPolicy", "FieldValueRequired", 'valid values: "Never"')
    assert str(required) == 'spec.restartPolicy: Required value: valid values: "Never"'
    unsupported = FieldError(
        "spec.restartPolicy", "FieldValueNotSupported", 'supported values: "Always"', "Never"
    )
    assert str(unsupported) == (
        'spec.restartPolicy: Unsupported value: "Never": supported values: "Always"'
    )
    assert str(FieldError("spec.x", "FieldValueInvalid", "", 3)) == "spec.x: Invalid value: 3"
    with pytest.raises(ValueError, match="unknown field error type"):
        FieldError("spec", "Invalid", "x")


# --- kubectl messages --------------------------------------------------------------------------


def test_kubectl_message_for_one_error():
    errors = validate_pod_spec(pod(host_process=True, containers=[ctr()]))
    assert kubectl_invalid_message("Pod", "hpc", errors) == (
        'The Pod "hpc" is invalid: spec.hostNetwork: Invalid value: false: '
        "hostNetwork must be true if pod contains any hostProcess containers"
    )


def test_kubectl_message_for_several_errors():
    spec = pod(containers=[ctr()], ephemeral=[ctr(None, host_process=True)])
    assert kubectl_invalid_message("Pod", "debug", validate_pod_spec(spec)) == (
        'The Pod "debug" is invalid: [spec: Invalid value: "": If pod contains any hostProcess '
        "containers then all containers must be HostProcess containers, spec.hostNetwork: "
        "Invalid value: false: hostNetwork must be true if pod contains any hostProcess "
        "containers]"
    )


def test_kubectl_message_drops_duplicate_errors_like_to_aggregate():
    err = FieldError("spec", "FieldValueForbidden", "x")
    assert (
        kubectl_invalid_message("Pod", "p", [err, err])
        == 'The Pod "p" is invalid: spec: Forbidden: x'
    )
    with pytest.raises(ValueError):
        kubectl_invalid_message("Pod", "p", [])


def test_deployment_template_paths():
    template = pod(host_process=True, containers=[ctr("a", host_process=False), ctr("b")])
    errors = validate_pod_spec(template, "spec.template.spec", allow_privileged=False)
    assert kubectl_invalid_message("Deployment", "agent", errors) == (
        'The Deployment "agent" is invalid: ['
        "spec.template.spec.containers[0].securityContext.windowsOptions.hostProcess: "
        "Invalid value: false: pod hostProcess value must be identical if both are specified, "
        'was true, spec.template.spec: Invalid value: "": If pod contains any hostProcess '
        "containers then all containers must be HostProcess containers, "
        "spec.template.spec.hostNetwork: Invalid value: false: hostNetwork must be true if pod "
        "contains any hostProcess containers, spec.template.spec: Forbidden: hostProcess "
        "containers are disallowed by cluster policy]"
    )


# --- validateWindowsSecurityContextOptions: runAsUserName --------------------------------------

POD_USER = "spec.securityContext.windowsOptions.runAsUserName"
DNS_255 = ".".join(["a" * 63] * 4)  # 255 characters, four maximal DNS labels
DNS_256 = ".".join(["a" * 63] * 3 + ["a" * 62, "a"])  # 256 characters, still a DNS name


def user_pod(name: str) -> dict:
    return {"containers": [ctr()], "securityContext": {"windowsOptions": {"runAsUserName": name}}}


@pytest.mark.parametrize(
    "name",
    [
        "NT AUTHORITY\\SYSTEM",
        "NT AUTHORITY\\Local service",
        "NT AUTHORITY\\NetworkService",
        "ContainerUser",
        "DOMAIN\\user",
        "contoso.example.com\\svc-agent",
        "ABCDEFGHIJKLMNO\\u",  # 15-character NetBIOS domain
        "-odd-netbios\\user",  # NetBIOS allows a leading dash, DNS would not
        DNS_255 + "\\user",
        "u" * 104,
        "Users",
    ],
)
def test_valid_run_as_user_names(name):
    assert validate_pod_spec(user_pod(name)) == []


@pytest.mark.parametrize(
    ("name", "messages"),
    [
        ("", ["runAsUserName cannot be an empty string"]),
        ("bad\tname", ["runAsUserName cannot contain control characters"]),
        ("bad\x7fname", ["runAsUserName cannot contain control characters"]),
        ("a\\b\\c", ["runAsUserName cannot contain more than one backslash"]),
        (DNS_256 + "\\user", ["runAsUserName's Domain length must be under 256 characters"]),
        (".domain\\user", ["runAsUserName's Domain doesn't match the NetBios nor the DNS format"]),
        (
            "averyveryverylong_domain\\user",
            ["runAsUserName's Domain doesn't match the NetBios nor the DNS format"],
        ),
        ("DOMAIN\\", ["runAsUserName's User cannot be empty"]),
        ("u" * 105, ["runAsUserName's User length must not be longer than 104 characters"]),
        # Go's len() counts UTF-8 bytes: 53 two-byte characters are 106 bytes.
        ("é" * 53, ["runAsUserName's User length must not be longer than 104 characters"]),
        ("...", ["runAsUserName's User cannot contain only periods or spaces"]),
        ("DOMAIN\\ . ", ["runAsUserName's User cannot contain only periods or spaces"]),
        (
            "user@contoso",
            ["runAsUserName's User cannot contain the following characters: \"/\\:;|=,+*?<>@[]"],
        ),
        (
            ".\\",
            [
                "runAsUserName's Domain doesn't match the NetBios nor the DNS format",
                "runAsUserName's User cannot be empty",
            ],
        ),
    ],
)
def test_invalid_run_as_user_names(name, messages):
    errors = validate_pod_spec(user_pod(name))
    assert [(e.field, e.type, e.value) for e in errors] == [
        (POD_USER, "FieldValueInvalid", name)
    ] * len(messages)
    assert [e.message for e in errors] == messages


def test_run_as_user_name_renders_go_quoted():
    assert rendered(user_pod("a\\b\\c")) == [
        f'{POD_USER}: Invalid value: "a\\\\b\\\\c": '
        "runAsUserName cannot contain more than one backslash"
    ]
    assert rendered(user_pod("bad\tname")) == [
        f'{POD_USER}: Invalid value: "bad\\tname": runAsUserName cannot contain control characters'
    ]


def test_run_as_user_name_errors_follow_validate_pod_spec_order():
    bad = {"windowsOptions": {"runAsUserName": ""}}
    spec = {
        "securityContext": bad,
        "initContainers": [{"name": "i", "securityContext": bad}],
        "containers": [{"name": "c", "securityContext": bad}],
        "ephemeralContainers": [{"name": "e", "securityContext": bad}],
    }
    assert [e.field for e in validate_pod_spec(spec)] == [
        "spec.containers[0].securityContext.windowsOptions.runAsUserName",
        "spec.initContainers[0].securityContext.windowsOptions.runAsUserName",
        "spec.ephemeralContainers[0].securityContext.windowsOptions.runAsUserName",
        "spec.securityContext.windowsOptions.runAsUserName",
    ]


@given(
    st.text(
        alphabet="abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789",
        min_size=1,
        max_size=104,
    )
)
def test_alphanumeric_user_names_are_valid(name):
    assert validate_pod_spec(user_pod(name)) == []


@given(st.text(max_size=20), st.sampled_from([chr(i) for i in range(32)] + ["\x7f"]))
def test_a_control_character_gives_exactly_one_error(text, control):
    errors = validate_pod_spec(user_pod(text + control))
    assert [e.message for e in errors] == ["runAsUserName cannot contain control characters"]


# --- validateWindows ---------------------------------------------------------------------------

FORBIDDEN = "Forbidden: cannot be set for a windows pod"


def test_windows_pods_forbid_linux_fields_in_validation_order():
    spec = {
        "os": {"name": "windows"},
        "hostPID": True,
        "hostIPC": False,
        "hostUsers": False,
        "securityContext": {"runAsUser": 1000, "supplementalGroups": []},
        "containers": [
            {"name": "c", "securityContext": {"privileged": False, "capabilities": {}}},
        ],
    }
    assert rendered(spec) == [
        f"spec.hostUsers: {FORBIDDEN}",
        f"spec.hostPID: {FORBIDDEN}",
        f"spec.securityContext.runAsUser: {FORBIDDEN}",
        f"spec.securityContext.supplementalGroups: {FORBIDDEN}",
        f"spec.containers[0].securityContext.capabilities: {FORBIDDEN}",
        f"spec.containers[0].securityContext.privileged: {FORBIDDEN}",
    ]
    del spec["os"]
    assert rendered(spec) == []


def test_a_host_process_pod_may_use_host_network_but_not_host_pid():
    assert validate_pod_spec(hpc_pod()) == []
    assert rendered(hpc_pod(hostPID=True), spec_path="spec.template.spec") == [
        f"spec.template.spec.hostPID: {FORBIDDEN}"
    ]


# --- Pod Security Admission --------------------------------------------------------------------

HPC_BASELINE = [
    "host namespaces (hostNetwork=true)",
    "hostProcess (pod must not set securityContext.windowsOptions.hostProcess=true)",
]


def test_host_process_pod_fails_baseline_twice():
    result = pod_security({"name": "hpc"}, hpc_pod(), "baseline")
    assert not result.allowed
    assert result.reasons == HPC_BASELINE
    assert result.message() == (
        'violates PodSecurity "baseline:latest": host namespaces (hostNetwork=true), '
        "hostProcess (pod must not set securityContext.windowsOptions.hostProcess=true)"
    )
    assert result.message("v1.31").startswith('violates PodSecurity "baseline:v1.31": ')


def test_host_process_pod_at_restricted_and_privileged():
    result = pod_security({}, hpc_pod(), "restricted")
    assert result.reasons == [
        *HPC_BASELINE,
        'runAsNonRoot != true (pod or container "hpc" must set securityContext.runAsNonRoot=true)',
    ]
    privileged = pod_security({}, hpc_pod(), "privileged")
    assert privileged.allowed and privileged.reasons == [] and privileged.message() == ""


def test_container_level_host_process_names_the_containers():
    spec = pod(
        host_network=True, containers=[ctr("a", True), ctr("b", True)], init=[ctr("init", True)]
    )
    assert pod_security({}, spec, "baseline").reasons == [
        "host namespaces (hostNetwork=true)",
        'hostProcess (containers "init", "a", "b" must not set '
        "securityContext.windowsOptions.hostProcess=true)",
    ]
    spec["securityContext"] = hp(True)
    spec["containers"] = [ctr("a", True)]
    spec["initContainers"] = []
    assert pod_security({}, spec, "baseline").reasons[1] == (
        'hostProcess (pod and container "a" must not set '
        "securityContext.windowsOptions.hostProcess=true)"
    )


def test_host_path_volume_at_baseline_and_restricted():
    spec = {
        "os": {"name": "windows"},
        "securityContext": {"runAsNonRoot": True},
        "containers": [{"name": "c"}],
        "volumes": [{"name": "host", "hostPath": {"path": "C:\\var\\log"}}],
    }
    assert pod_security({}, spec, "baseline").reasons == ['hostPath volumes (volume "host")']
    assert pod_security({}, spec, "restricted").reasons == [
        'restricted volume types (volume "host" uses restricted volume type "hostPath")'
    ]


def test_restricted_volume_types_plural_and_defaulted_empty_dir():
    spec = {
        "os": {"name": "windows"},
        "securityContext": {"runAsNonRoot": True},
        "containers": [{"name": "c"}],
        "volumes": [
            {"name": "a", "hostPath": {"path": "C:\\"}},
            {"name": "b", "nfs": {"server": "nfs", "path": "/"}},
            {"name": "c", "emptyDir": {}},
            {"name": "d"},  # SetDefaults_Volume makes it an emptyDir
            {"name": "e", "image": {"reference": "registry/x:1"}},
        ],
    }
    assert pod_security({}, spec, "restricted").reasons == [
        'restricted volume types (volumes "a", "b" use restricted volume types "hostPath", "nfs")'
    ]


def test_host_ports():
    ports = [{"containerPort": 80, "hostPort": 80}, {"containerPort": 9000, "hostPort": 10000}]
    one = {"containers": [{"name": "web", "ports": ports}]}
    assert pod_security({}, one, "baseline").reasons == [
        'hostPort (container "web" uses hostPorts 10000, 80)'
    ]
    two = {
        "containers": [
            {"name": "a", "ports": [{"containerPort": 80, "hostPort": 80}]},
            {"name": "b", "ports": [{"containerPort": 80, "hostPort": 80}]},
            {"name": "c", "ports": [{"containerPort": 81}]},
        ]
    }
    assert pod_security({}, two, "baseline").reasons == [
        'hostPort (containers "a", "b" use hostPort 80)'
    ]


def test_plain_windows_pod_at_restricted_needs_only_run_as_non_root():
    spec = {"os": {"name": "windows"}, "containers": [{"name": "app"}]}
    assert pod_security({}, spec, "baseline").allowed
    assert pod_security({}, spec, "restricted").reasons == [
        'runAsNonRoot != true (pod or container "app" must set securityContext.runAsNonRoot=true)'
    ]
    spec["securityContext"] = {"runAsNonRoot": True}
    assert pod_security({}, spec, "restricted").allowed


LINUX_RESTRICTED = [
    'allowPrivilegeEscalation != false (container "app" must set '
    "securityContext.allowPrivilegeEscalation=false)",
    'unrestricted capabilities (container "app" must set '
    'securityContext.capabilities.drop=["ALL"])',
    'runAsNonRoot != true (pod or container "app" must set securityContext.runAsNonRoot=true)',
    'seccompProfile (pod or container "app" must set securityContext.seccompProfile.type to '
    '"RuntimeDefault" or "Localhost")',
]


@pytest.mark.parametrize("os_field", [None, {"name": "linux"}])
def test_windows_exemptions_apply_only_to_windows_pods(os_field):
    spec = {"containers": [{"name": "app"}]}
    if os_field:
        spec["os"] = os_field
    assert pod_security({}, spec, "restricted").reasons == LINUX_RESTRICTED


def test_restricted_order_matches_a_real_openshift_warning():
    # The warning quoted in IBM Cloud's OpenShift docs (pod security admission page).
    spec = {
        "hostNetwork": True,
        "hostPID": True,
        "containers": [
            {"name": "container-00", "securityContext": {"privileged": True, "runAsUser": 0}}
        ],
        "volumes": [{"name": "host", "hostPath": {"path": "/"}}],
    }
    assert pod_security({}, spec, "restricted").message() == (
        'violates PodSecurity "restricted:latest": host namespaces (hostNetwork=true, '
        'hostPID=true), privileged (container "container-00" must not set '
        "securityContext.privileged=true), allowPrivilegeEscalation != false (container "
        '"container-00" must set securityContext.allowPrivilegeEscalation=false), unrestricted '
        'capabilities (container "container-00" must set securityContext.capabilities.drop=['
        '"ALL"]), restricted volume types (volume "host" uses restricted volume type "hostPath"), '
        'runAsNonRoot != true (pod or container "container-00" must set '
        'securityContext.runAsNonRoot=true), runAsUser=0 (container "container-00" must not set '
        'runAsUser=0), seccompProfile (pod or container "container-00" must set '
        'securityContext.seccompProfile.type to "RuntimeDefault" or "Localhost")'
    )


def test_selinux_and_sysctls_match_a_real_kubectl_error():
    spec = {
        "securityContext": {
            "seLinuxOptions": {"user": "system_u", "role": "object_r"},
            "sysctls": [
                {"name": "net.core.somaxconn", "value": "1024"},
                {"name": "kernel.msgmax", "value": "65536"},
                {"name": "net.ipv4.tcp_rmem", "value": "4096 87380 6291456"},
            ],
        },
        "containers": [{"name": "my-pod"}],
    }
    assert pod_security({}, spec, "restricted").reasons[:2] == [
        "seLinuxOptions (pod set forbidden securityContext.seLinuxOptions: user may not be set; "
        "role may not be set)",
        "forbidden sysctls (net.core.somaxconn, kernel.msgmax)",
    ]


def test_capabilities_baseline_and_restricted():
    spec = {
        "containers": [
            {"name": "a", "securityContext": {"capabilities": {"add": ["FOO", "BAR"]}}},
            {"name": "b", "securityContext": {"capabilities": {"add": ["BAR", "BAZ"]}}},
            {
                "name": "c",
                "securityContext": {
                    "capabilities": {"add": ["NET_BIND_SERVICE", "CHOWN"], "drop": ["ALL", "FOO"]}
                },
            },
        ]
    }
    assert pod_security({}, spec, "baseline").reasons == [
        'non-default capabilities (containers "a", "b" must not include "BAR", "BAZ", "FOO" in '
        "securityContext.capabilities.add)"
    ]
    restricted = pod_security({}, spec, "restricted").reasons
    assert not any(r.startswith("non-default capabilities") for r in restricted)
    assert (
        'unrestricted capabilities (containers "a", "b" must set securityContext.capabilities.'
        'drop=["ALL"]; containers "a", "b", "c" must not include "BAR", "BAZ", "CHOWN", "FOO" in '
        "securityContext.capabilities.add)"
    ) in restricted


def test_app_armor_fields_and_annotations():
    spec = {"securityContext": {"appArmorProfile": {"type": "Unconfined"}}, "containers": []}
    assert pod_security({}, spec, "baseline").reasons == [
        'forbidden AppArmor profile (pod must not set AppArmor profile type to "Unconfined")'
    ]
    prefix = "container.apparmor.security.beta.kubernetes.io/"
    meta = {
        "annotations": {
            prefix: "bogus",
            prefix + "a": "",
            prefix + "b": "runtime/default",
            prefix + "c": "localhost/",
            prefix + "d": "localhost/foo",
            prefix + "e": "unconfined",
            prefix + "f": "unknown",
        }
    }
    assert pod_security(meta, {"containers": []}, "baseline").reasons == [
        "forbidden AppArmor profiles (annotations must not set AppArmor profile type to "
        f'"{prefix}="bogus"", "{prefix}e="unconfined"", "{prefix}f="unknown"")'
    ]


def test_run_as_non_root_false_and_run_as_user_zero():
    spec = {
        "os": {"name": "windows"},
        "securityContext": {"runAsNonRoot": False},
        "containers": [
            {"name": "a", "securityContext": {"runAsNonRoot": False, "runAsUser": 0}},
            {"name": "b"},
        ],
    }
    assert pod_security({}, spec, "restricted").reasons == [
        'runAsNonRoot != true (pod and container "a" must not set '
        "securityContext.runAsNonRoot=false)",
        'runAsUser=0 (container "a" must not set runAsUser=0)',
    ]


def test_host_namespaces_detail_order_and_probe_hosts():
    spec = {
        "hostIPC": True,
        "hostPID": True,
        "hostNetwork": True,
        "containers": [
            {"name": "b", "livenessProbe": {"httpGet": {"host": "10.0.0.1", "port": 80}}},
            {"name": "a", "lifecycle": {"preStop": {"tcpSocket": {"host": "1.1.1.1", "port": 1}}}},
        ],
    }
    assert pod_security({}, spec, "baseline").reasons == [
        "host namespaces (hostNetwork=true, hostPID=true, hostIPC=true)",
        'probe or lifecycle host (containers "a", "b" use probe or lifecycle hosts "1.1.1.1", '
        '"10.0.0.1")',
    ]


def test_proc_mount_is_reported_once_at_restricted():
    spec = {
        "os": {"name": "windows"},
        "securityContext": {"runAsNonRoot": True},
        "containers": [{"name": "a", "securityContext": {"procMount": "Unmasked"}}],
    }
    detail = 'procMount (container "a" must not set securityContext.procMount to "Unmasked")'
    assert pod_security({}, spec, "baseline").reasons == [detail]
    assert pod_security({}, spec, "restricted").reasons == [detail]
    spec["hostUsers"] = False  # v1.35: baseline relaxes procMount for user-namespace pods
    assert pod_security({}, spec, "baseline").allowed
    assert pod_security({}, spec, "restricted").reasons == [detail]


def test_unknown_pod_security_level():
    with pytest.raises(ValueError, match="unknown Pod Security level"):
        pod_security({}, {}, "strict")


# --- node rules --------------------------------------------------------------------------------

GATE_OFF = (
    "pod contains HostProcess containers but feature 'WindowsHostProcessContainers' is not enabled"
)


def verdicts(spec: dict, k8s: str, containerd: str = "1.7.13", **gates: bool) -> list[tuple]:
    return [(v.rule, v.message) for v in node_rules(spec, NodeFacts(k8s, containerd, gates))]


def no_support(minor: str) -> list[tuple[str, str]]:
    return [
        (
            "featureGate",
            f"Kubernetes v{minor} has no HostProcess containers: "
            "securityContext.windowsOptions.hostProcess and the WindowsHostProcessContainers "
            "feature gate arrived as alpha in v1.22",
        )
    ]


OFF = [("featureGate", GATE_OFF)]
LOCKED = [
    (
        "featureGate",
        "cannot set feature gate WindowsHostProcessContainers to false, feature is locked to true",
    )
]
UNRECOGNIZED = [("featureGate", "unrecognized feature gate: WindowsHostProcessContainers")]


@pytest.mark.parametrize(
    ("k8s", "gates", "expected"),
    [
        ("1.21", {}, no_support("1.21")),
        ("1.9.11", {}, no_support("1.9")),  # numeric: 1.9 < 1.22
        ("1.21", {GATE: True}, UNRECOGNIZED + no_support("1.21")),
        ("1.22", {}, OFF),  # alpha, off by default
        ("v1.22.4", {GATE: True}, []),
        ("1.23", {}, []),  # beta, on by default
        ("1.23", {GATE: False}, OFF),
        ("1.25.16", {GATE: False}, OFF),
        ("1.26", {}, []),  # GA, locked on
        ("1.26", {GATE: True}, []),
        ("1.27.3", {GATE: False}, LOCKED),
        ("1.28", {}, []),  # gate removed, always on
        ("1.29.3", {GATE: True}, UNRECOGNIZED),
        ("v1.31", {"SomeOtherGate": False}, []),
    ],
)
def test_feature_gate_by_kubernetes_version(k8s, gates, expected):
    assert verdicts(hpc_pod(), k8s, **gates) == expected


def test_node_rules_ignore_pods_without_host_process_containers():
    plain = {"os": {"name": "windows"}, "containers": [{"name": "app"}]}
    assert node_rules(plain, NodeFacts("1.21", "1.5.9", {GATE: True})) == []
    assert is_host_process_pod(pod(containers=[ctr()], ephemeral=[ctr(None, True)]))
    assert not is_host_process_pod(pod(host_process=False, containers=[ctr()]))


CONTAINERD_OLD = (
    "containerd 1.5.9 cannot run HostProcess containers: support arrived in containerd 1.6.0"
)
LOCAL_USER = (
    'container "hpc" runs as "Users", which is not an NT AUTHORITY service account: '
    "Running HostProcess containers as local user accounts requires containerd v1.7+"
)


@pytest.mark.parametrize(
    ("containerd", "user", "expected"),
    [
        ("1.5.9", "NT AUTHORITY\\SYSTEM", [("containerd", CONTAINERD_OLD)]),
        ("1.6.0", "NT AUTHORITY\\SYSTEM", []),
        ("1.6.0", "nt authority\\local service", []),
        ("1.6.28", "NT AUTHORITY\\NetworkService", []),
        ("1.6.0", "Users", [("localUser", LOCAL_USER)]),
        ("1.7.0", "Users", []),
        ("1.7.13+azure", "Users", []),
        ("v2.0.0", "Users", []),
    ],
)
def test_containerd_versions_and_local_group_users(containerd, user, expected):
    assert verdicts(hpc_pod(user), "1.29", containerd) == expected


def test_container_user_overrides_pod_user_for_the_local_user_rule():
    spec = hpc_pod("Users")
    spec["containers"][0]["securityContext"] = {
        "windowsOptions": {"runAsUserName": "NT AUTHORITY\\SYSTEM"}
    }
    assert verdicts(spec, "1.29", "1.6.0") == []


def test_service_account_spellings():
    accounts = ("SYSTEM", "Local service", "LocalService", "NETWORK SERVICE", "NetworkService")
    for name in ["NT AUTHORITY\\" + a for a in accounts] + ["nt authority\\network service"]:
        assert is_service_account(name), name
    for name in ("SYSTEM", "Users", "CONTOSO\\SYSTEM", "NT AUTHORITY\\Administrator"):
        assert not is_service_account(name), name


@pytest.mark.parametrize(
    "path", ["\\\\.\\pipe\\docker_engine", "//./pipe/docker_engine"], ids=["backslash", "slash"]
)
def test_named_pipe_mount_is_refused(path):
    spec = hpc_pod(
        volumes=[
            {"name": "docker", "hostPath": {"path": path}},
            {"name": "logs", "hostPath": {"path": "C:\\var\\log", "type": "DirectoryOrCreate"}},
            {"name": "unused-pipe", "hostPath": {"path": path}},
        ]
    )
    spec["containers"][0]["volumeMounts"] = [
        {"name": "docker", "mountPath": "\\\\.\\pipe\\docker_engine"},
        {"name": "logs", "mountPath": "C:\\var\\log"},
    ]
    assert verdicts(spec, "1.29") == [
        (
            "namedPipe",
            f'container "hpc" mounts volume "docker" ({path}): named pipe mounts not supported '
            "for job containers - interact with the pipe directly",
        )
    ]


def test_node_verdict_json_and_bad_versions():
    assert NodeVerdict("containerd", "x").to_json() == {"rule": "containerd", "message": "x"}
    with pytest.raises(ValueError, match="invalid version"):
        node_rules(hpc_pod(), NodeFacts("latest", "1.7.0"))
    facts = NodeFacts("1.29", "1.7.0", {GATE: True})
    with pytest.raises(TypeError):
        facts.feature_gates[GATE] = False  # read-only view


# --- effective container settings --------------------------------------------------------------


def limited(cpu: str | None = None, memory: str | None = None, name: str = "c") -> dict:
    limits = {k: v for k, v in (("cpu", cpu), ("memory", memory)) if v is not None}
    return {"name": name, "resources": {"limits": limits}}


@pytest.mark.parametrize(
    ("cpu", "node_cpus", "rate"),
    [
        ("500m", 4, 1250),  # 12.5 % of the machine (k/k kuberuntime_container_windows.go)
        ("2", 8, 2500),
        ("1m", 64, 1),  # 10000 * 1 / 64 / 1000 = 0, clamped up
        ("200", 8, 10000),  # 250000, clamped down
        ("1500m", 3, 5000),
        ("0", 4, None),  # kubelet skips a zero limit (IsZero)
    ],
)
def test_job_cpu_rate(cpu, node_cpus, rate):
    [settings] = effective_containers({"containers": [limited(cpu=cpu)]}, node_cpus)
    assert settings.job_cpu_rate == rate


@pytest.mark.parametrize(
    ("memory", "limit"),
    [
        ("123Mi", 123 * MIB),
        (str(123 * MIB + 1), 123 * MIB),  # floored to whole MiB
        ("129e6", 123 * MIB),  # 129000000 bytes = 123.02 MiB
        ("1Gi", 1024 * MIB),
        # 0.8 byte: Value() rounds up to 1 byte, kubelet passes 1, hcsshim's 1/1024/1024 = 0 MiB
        # and SetResourceLimits sets no memory limit at all.
        ("800m", None),
        (str(MIB - 1), None),
        ("0", None),  # kubelet passes no limit
    ],
)
def test_job_memory_limit(memory, limit):
    [settings] = effective_containers({"containers": [limited(memory=memory)]}, 4)
    assert settings.job_memory_limit_bytes == limit


def test_settings_order_kinds_users_and_json():
    spec = {
        "securityContext": {
            "windowsOptions": {"hostProcess": True, "runAsUserName": "NT AUTHORITY\\Local service"}
        },
        "hostNetwork": True,
        "initContainers": [{"name": "setup"}],
        "containers": [
            {
                "name": "agent",
                "securityContext": {"windowsOptions": {"runAsUserName": "nt authority\\SYSTEM"}},
                "resources": {"limits": {"cpu": "500m", "memory": "123Mi"}},
            }
        ],
        "ephemeralContainers": [{"name": "debug"}],
    }
    settings = effective_containers(spec, 4)
    assert settings == [
        ContainerSettings(
            "setup", "initContainer", True, "NT AUTHORITY\\Local service", None, None
        ),
        ContainerSettings("agent", "container", True, "nt authority\\SYSTEM", 123 * MIB, 1250),
    ]
    assert settings[1].to_json() == {
        "name": "agent",
        "hostProcess": True,
        "user": "nt authority\\SYSTEM",
        "jobMemoryLimitBytes": 123 * MIB,
        "jobCpuRate": 1250,
    }
    assert effective_containers({"containers": [{"name": "x"}]}, 4) == [
        ContainerSettings("x", "container", False, None, None, None)
    ]


@given(st.integers(min_value=0, max_value=10**7), st.integers(min_value=1, max_value=512))
def test_job_cpu_rate_is_clamped_and_monotone(millicores, cpus):
    rate = job_cpu_rate(millicores, cpus)
    assert 1 <= rate <= 10000
    assert job_cpu_rate(millicores + 1, cpus) >= rate
    if 1 <= 10000 * millicores // cpus // 1000 <= 10000:
        assert rate == 10 * millicores // cpus  # the kuberuntime test's 10 * limit / cpus


@given(st.integers(min_value=1, max_value=2**63 - 1))
def test_job_memory_limit_floors_to_whole_mib(limit_bytes):
    limit = job_memory_limit(limit_bytes)
    if limit_bytes < MIB:
        assert limit is None
    else:
        assert limit is not None and limit % MIB == 0 and limit_bytes - MIB < limit <= limit_bytes


def test_job_cpu_rate_needs_a_cpu():
    with pytest.raises(ValueError):
        job_cpu_rate(500, 0)


# --- Go quoting --------------------------------------------------------------------------------


def test_go_quote_escapes_like_strconv_quote():
    assert go_quote('a\\b"c') == '"a\\\\b\\"c"'
    assert go_quote("\t\n\x00\x1b\x7f") == '"\\t\\n\\x00\\x1b\\x7f"'
    assert go_quote("é\u200b\U0001f600\U000e0001") == '"é\\u200b\U0001f600\\U000e0001"'


@given(st.text(alphabet=st.characters(min_codepoint=0x20, max_codepoint=0x7E)))
def test_go_quote_matches_json_on_printable_ascii(text):
    assert go_quote(text) == json.dumps(text)


# --- the WindowsHostProcessContainers gate at the API server (1.22-1.25) ------------------------
# k/k pkg/apis/core/validation/validation.go v1.22.0 validateWindowsHostProcessPod with
# !opts.AllowWindowsHostProcessField: the API server refuses the field, it does not drop it.

FIELD_GATED = "not allowed when feature gate 'WindowsHostProcessContainers' is not enabled"


def test_gate_off_forbids_a_pod_level_host_process_and_checks_nothing_else():
    # The pod-level check returns at once: no hostNetwork error although hostNetwork is false.
    for value in (True, False):
        spec = hpc_pod(hostNetwork=False)
        spec["securityContext"]["windowsOptions"]["hostProcess"] = value
        assert rendered(spec, allow_host_process_field=False) == [
            f"spec.securityContext.windowsOptions.hostProcess: Forbidden: {FIELD_GATED}"
        ]


def test_gate_off_forbids_each_container_level_field_then_the_pod():
    spec = {
        "hostNetwork": False,
        "initContainers": [{"name": "i"}],
        "containers": [
            {"name": "a", "securityContext": hp(True)},
            {"name": "b", "securityContext": hp(False)},
        ],
    }
    assert rendered(spec, allow_host_process_field=False) == [
        f"spec.containers[0].securityContext.windowsOptions.hostProcess: Forbidden: {FIELD_GATED}",
        f"spec.containers[1].securityContext.windowsOptions.hostProcess: Forbidden: {FIELD_GATED}",
        "spec: Forbidden: pod must not contain Windows hostProcess containers when feature gate "
        "'WindowsHostProcessContainers' is not enabled",
    ]
    # With the gate on, the same pod gets the usual rules instead.
    assert rendered(spec) == [ALL_HPC, HOST_NETWORK]


def test_gate_off_leaves_pods_without_the_field_alone():
    plain = {"os": {"name": "windows"}, "containers": [{"name": "app"}]}
    assert rendered(plain, allow_host_process_field=False) == []


@pytest.mark.parametrize(
    ("k8s", "gates", "allowed"),
    [
        ("1.21", {}, True),  # no field, no gate: the node rule refuses the pod
        ("1.22", {}, False),  # alpha, default off (kube_features.go v1.22.0)
        ("1.22.17", {GATE: True}, True),
        ("1.23", {}, True),  # beta, default on (v1.23.0)
        ("1.25.0", {GATE: False}, False),
        ("1.26", {GATE: False}, True),  # GA, locked on: the node rule says so
        ("1.28", {}, True),
    ],
)
def test_host_process_field_allowed_by_version(k8s, gates, allowed):
    assert host_process_field_allowed(NodeFacts(k8s, "1.7.13", gates)) is allowed
