"""HostProcess volume mounts by containerd version and fileBinding; socket and Hyper-V refusals."""

from __future__ import annotations

import pytest
import simhelp as h
import yaml

from hpsim.scenario.manifests import templates_from_source
from hpsim.scenario.schema import NodeSpec
from hpsim.scenario.verdicts import check_template
from hpsim.scenario.yamlsrc import iter_documents

KUBELET_PODS = "C:\\var\\lib\\kubelet\\pods\\<pod-uid>\\volumes"


def _template(**spec):
    manifest = h.pod("agent", host_process=True)
    c = manifest["spec"]["containers"][0]
    c["volumeMounts"] = spec.pop("mounts")
    manifest["spec"].update(spec)
    doc = next(iter(iter_documents(yaml.safe_dump(manifest), "agent.yaml")))
    return templates_from_source(doc)[0]


def _node(**over):
    return NodeSpec.model_validate({"cpu": 4, "memory": "16Gi", **over})


MOUNTS = [
    {"name": "logs", "mountPath": "/var/log/agent"},
    {"name": "cfg", "mountPath": "C:\\etc\\agent", "subPath": "conf"},
]
VOLUMES = [
    {"name": "logs", "hostPath": {"path": "C:\\var\\log"}},
    {"name": "cfg", "configMap": {"name": "agent-cfg"}},
]


@pytest.mark.parametrize(
    ("containerd", "binding", "root", "how", "logs_at"),
    [
        # containerd 1.6 (hcsshim 0.9): C:\C\<id>\, symlinks, whatever bindflt can do.
        ("1.6.20", True, "C:\\C\\<container-id>\\", "symlink",
         ["C:\\C\\<container-id>\\var\\log\\agent"]),
        # 1.7 with the bind filter: C:\hpc\, bound at the path and linked under C:\hpc.
        ("1.7.22", True, "C:\\hpc\\", "bind", ["c:\\var\\log\\agent", "C:\\hpc\\var\\log\\agent"]),
        # 1.7 without it: C:\hpc\<id>\, symlinks.
        ("1.7.22", False, "C:\\hpc\\<container-id>\\", "symlink",
         ["C:\\hpc\\<container-id>\\var\\log\\agent"]),
    ],
)  # fmt: skip
def test_mounts_land_where_hcsshim_puts_them(containerd, binding, root, how, logs_at):
    """mountPath /var/log/agent is c:/var/log/agent to kubelet (MakeAbsolutePath); hcsshim
    strips the drive and joins the rest under the sandbox root. The configMap with subPath
    conf is kubelet's volume dir + \\conf; the token volume is added at
    /var/run/secrets/kubernetes.io/serviceaccount."""
    t = _template(mounts=MOUNTS, volumes=VOLUMES)
    v = check_template(
        t, node=_node(containerd=containerd, fileBinding=binding), level="privileged"
    )
    (cm,) = v.mounts
    assert cm.container == "c"
    assert cm.sandbox_mount_point == root
    logs, cfg, token = cm.mounts
    assert (logs.container_path, logs.host_path, logs.how) == (
        "c:/var/log/agent",
        "C:\\var\\log",
        how,
    )
    assert list(logs.visible_at) == logs_at
    assert cfg.host_path == KUBELET_PODS + "\\kubernetes.io~configmap\\cfg\\conf"
    assert token.container_path == "c:/var/run/secrets/kubernetes.io/serviceaccount"
    assert token.host_path == KUBELET_PODS + "\\kubernetes.io~projected\\kube-api-access-<suffix>"
    lines = v.human("agent.yaml")
    assert f"  container c: CONTAINER_SANDBOX_MOUNT_POINT={root}" in lines
    assert v.to_json("agent.yaml")["hostProcessMounts"][0]["sandboxMountPoint"] == root


def test_no_token_mount_without_automount_and_none_for_isolated_pods():
    t = _template(mounts=[], volumes=[], automountServiceAccountToken=False)
    (cm,) = check_template(t, node=_node(), level="privileged").mounts
    assert cm.mounts == ()
    doc = next(
        iter(
            iter_documents(
                "{apiVersion: v1, kind: Pod, metadata: {name: p}, "
                "spec: {containers: [{name: c, image: i}]}}",
                "p.yaml",
            )
        )
    )
    plain = check_template(templates_from_source(doc)[0], node=_node(), level="privileged")
    assert plain.mounts == ()


def test_unix_socket_mounts_are_refused_for_hostprocess():
    t = _template(
        mounts=[{"name": "sock", "mountPath": "/run/agent.sock"}],
        volumes=[{"name": "sock", "hostPath": {"path": "C:\\run\\agent", "type": "Socket"}}],
    )
    v = check_template(t, node=_node(), level="privileged")
    assert not v.admitted
    assert [(n.rule, n.message) for n in v.node] == [
        (
            "socket",
            'container "c" mounts volume "sock" (C:\\run\\agent): Unix domain socket mounts '
            "are not supported for HostProcess containers - access the socket by its path on "
            "the host",
        )
    ]


def test_hyperv_runtime_class_is_refused_for_hostprocess():
    node = _node(
        runtimeClasses={
            "hyperv": {"handler": "runhcs-wcow-hypervisor", "hypervisor": True},
            "process": {"handler": "runhcs-wcow-process"},
        }
    )
    refused = check_template(_template(mounts=[], volumes=[], runtimeClassName="hyperv"),
                             node=node, level="privileged")  # fmt: skip
    assert [(n.rule, n.message) for n in refused.node] == [
        (
            "hyperV",
            'runtimeClassName "hyperv" (handler "runhcs-wcow-hypervisor") runs '
            "hypervisor-isolated pods: Hyper-V isolation is not supported for HostProcess "
            "containers",
        )
    ]
    ok = check_template(_template(mounts=[], volumes=[], runtimeClassName="process"),
                        node=node, level="privileged")  # fmt: skip
    assert ok.node == ()
