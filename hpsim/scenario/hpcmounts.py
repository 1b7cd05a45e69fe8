"""Where a HostProcess container's volume mounts land on the host, by containerd version.

- kubelet hands containerd each volumeMount as (host path, container path): the container
  path is ``MakeAbsolutePath`` of mountPath (``c:`` before a rooted path, ``c:\\`` before a
  relative one; k/k pkg/kubelet/kubelet_pods.go ``makeMounts``, pkg/volume/util/util.go
  ``MakeAbsolutePath``); the host path is the hostPath as written, or the volume's directory
  ``<root-dir>\\pods\\<pod-uid>\\volumes\\<plugin, / as ~>\\<volume>`` (pkg/kubelet/
  kubelet_getters.go ``getPodVolumeDir``; root-dir defaults to /var/lib/kubelet, cmd/kubelet/
  app/options/options.go, C:\\var\\lib\\kubelet on Windows), with subPath joined below it.
- The ServiceAccount admission plugin adds the projected token volume ``kube-api-access-*`` at
  /var/run/secrets/kubernetes.io/serviceaccount to every container unless
  automountServiceAccountToken is false (k/k plugin/pkg/admission/serviceaccount/admission.go
  ``DefaultAPITokenMountPath``).
- containerd before 1.7 vendors hcsshim 0.9: the container's volume is mounted at
  ``C:\\C\\<container-id>\\`` (internal/jobcontainers/storage.go ``sandboxMountFormat``, tag
  v0.9.2) and each mount is a symlink at that root joined with the container path without its
  drive letter (mounts.go ``fallbackMountSetup``, ``stripDriveLetter``); the container path
  itself is not mounted on the host.
- From containerd 1.7 (hcsshim 0.10, PR microsoft/hcsshim#1344), with the bind filter
  (bindfltapi.dll, the node's ``fileBinding``): the volume is bound at ``C:\\hpc\\`` inside
  the container's silo (jobcontainer.go ``defaultSiloRootfsLocation``), each mount is bound at
  its container path and, for compatibility, also symlinked under ``C:\\hpc\\`` (mounts.go
  ``setupMounts``). Without the bind filter: ``C:\\hpc\\<container-id>\\``
  (``fallbackRootfsFormat``) and symlinks as before 1.7. KEP-1981 (kubernetes/enhancements
  keps/sig-windows/1981-windows-privileged-container-support) "Compatibility" says the same.
- ``CONTAINER_SANDBOX_MOUNT_POINT`` is that root (jobcontainer.go ``CreateProcess``,
  ``sandboxMountPointEnvVar``; Kubernetes docs create-hostprocess-pod.md "Volume mounts").
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from hpsim.scenario.podspec import (
    as_list,
    as_map,
    container_name,
    effective_host_process,
    pod_host_process,
    visit_containers,
)

__all__ = ["ContainerMounts", "MountPlace", "host_process_mounts"]

KUBELET_ROOT = "C:\\var\\lib\\kubelet"
TOKEN_PATH = "/var/run/secrets/kubernetes.io/serviceaccount"
# Volume plugins' names as kubelet escapes them in directory names (EscapeQualifiedName).
_PLUGINS = {
    "emptyDir": "kubernetes.io~empty-dir",
    "configMap": "kubernetes.io~configmap",
    "secret": "kubernetes.io~secret",
    "projected": "kubernetes.io~projected",
    "downwardAPI": "kubernetes.io~downward-api",
    "csi": "kubernetes.io~csi",
}


@dataclass(frozen=True)
class MountPlace:
    """One volumeMount of a HostProcess container: what it is and where it shows."""

    volume: str
    container_path: str  # kubelet's MakeAbsolutePath(mountPath)
    host_path: str  # the source on the host
    how: str  # "bind" (bind filter) or "symlink"
    visible_at: tuple[str, ...]  # the paths that lead to the source

    def to_json(self) -> dict[str, Any]:
        return {
            "volume": self.volume,
            "containerPath": self.container_path,
            "hostPath": self.host_path,
            "how": self.how,
            "visibleAt": list(self.visible_at),
        }

    def human(self) -> str:
        where = " and ".join(self.visible_at)
        return (
            f"volume {self.volume} ({self.container_path}): {self.how} at {where} "
            f"-> {self.host_path}"
        )


@dataclass(frozen=True)
class ContainerMounts:
    """A HostProcess container's sandbox mount point and its volume mounts."""

    container: str
    sandbox_mount_point: str
    mounts: tuple[MountPlace, ...]

    def to_json(self) -> dict[str, Any]:
        return {
            "container": self.container,
            "sandboxMountPoint": self.sandbox_mount_point,
            "mounts": [m.to_json() for m in self.mounts],
        }


def make_absolute_path(path: str) -> str:
    """k/k MakeAbsolutePath for GOOS windows."""
    if ":" in path:
        return path
    if path.startswith(("/", "\\")):
        return "c:" + path
    return "c:\\" + path


def _win(path: str) -> str:
    return path.replace("/", "\\")


def _join(root: str, container_path: str) -> str:
    """filepath.Join(root, stripDriveLetter(container_path)) on Windows."""
    p = container_path
    if len(p) == 2 and p[1] == ":":
        p = "."
    elif len(p) > 2 and p[1] == ":":
        p = p[2:]
    rest = _win(p).strip("\\")
    return root.rstrip("\\") + ("\\" + rest if rest and rest != "." else "")


def _source(volume: Mapping[str, Any] | None, name: str) -> str:
    if volume is not None:
        host = as_map(volume.get("hostPath")).get("path")
        if isinstance(host, str):
            return host
        for key, plugin in _PLUGINS.items():
            if key in volume:
                return f"{KUBELET_ROOT}\\pods\\<pod-uid>\\volumes\\{plugin}\\{name}"
    return f"{KUBELET_ROOT}\\pods\\<pod-uid>\\volumes\\<plugin>\\{name}"


def sandbox_mount_point(containerd: tuple[int, int, int], file_binding: bool) -> str:
    if containerd < (1, 7, 0):
        return "C:\\C\\<container-id>\\"
    return "C:\\hpc\\" if file_binding else "C:\\hpc\\<container-id>\\"


def host_process_mounts(
    spec: Mapping[str, Any], containerd: tuple[int, int, int], file_binding: bool
) -> tuple[ContainerMounts, ...]:
    """Per HostProcess container: CONTAINER_SANDBOX_MOUNT_POINT and each mount's places."""
    volumes = {as_map(v).get("name"): as_map(v) for v in as_list(spec.get("volumes"))}
    pod_hp = pod_host_process(spec)
    token = spec.get("automountServiceAccountToken") is not False
    root = sandbox_mount_point(containerd, file_binding)
    bind = containerd >= (1, 7, 0) and file_binding
    out = []
    for _kind, c, _path in visit_containers(spec, "spec"):
        if not effective_host_process(c, pod_hp):
            continue
        wanted = [
            (str(m.get("name")), str(m.get("mountPath", "")), m.get("subPath"))
            for m in map(as_map, as_list(c.get("volumeMounts")))
        ]
        if token and not any(
            make_absolute_path(p) == make_absolute_path(TOKEN_PATH) for _n, p, _s in wanted
        ):
            wanted.append(("kube-api-access-<suffix>", TOKEN_PATH, None))
        places = []
        for name, mount_path, sub in wanted:
            source = _source(volumes.get(name), name)
            if isinstance(sub, str) and sub:
                source = source.rstrip("\\") + "\\" + _win(sub)
            if name.startswith("kube-api-access-") and name not in volumes:
                source = (
                    f"{KUBELET_ROOT}\\pods\\<pod-uid>\\volumes\\kubernetes.io~projected\\{name}"
                )
            cpath = make_absolute_path(mount_path)
            linked = _join(root, cpath)
            visible = (_win(cpath), linked) if bind else (linked,)
            places.append(MountPlace(name, cpath, source, "bind" if bind else "symlink", visible))
        out.append(ContainerMounts(container_name(c), root, tuple(places)))
    return tuple(out)
