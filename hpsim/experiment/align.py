"""The same scenario with every image's Windows base aligned on the host's LTSC.

The Kubernetes docs recommend HostProcess images "use the same base image
version as your Windows Server container workloads to ensure you do not have
any unused images taking up space on the node" (create-hostprocess-pod.md).
Running a scenario and its aligned twin with the same seed shows what the mix
costs.
"""

from __future__ import annotations

import copy

from hpsim.scenario import catalog
from hpsim.scenario.load import LoadedScenario, load_data


def aligned_base(base: str, host_build: int) -> str:
    """``servercore:ltsc2019`` on a 20348 host -> ``servercore:ltsc2022`` (if catalogued)."""
    tag = catalog.LTSC_TAG.get(host_build)
    repo = base.rsplit(":", 1)[0]
    if tag is None or catalog.lookup(f"{repo}:{tag}") is None:
        return base
    entry = catalog.lookup(base)
    if entry is None or entry.os_version is None:
        return base  # not a Windows base (HostProcess base image, pause): nothing to align
    return f"{repo}:{tag}"


def align_bases(loaded: LoadedScenario) -> LoadedScenario | None:
    """The aligned twin, or None when every image is already on the host's LTSC base."""
    host = loaded.scenario.first_node.build
    data = copy.deepcopy(loaded.data)
    changed = False
    for image in data.get("images") or []:
        base = image.get("base")
        if isinstance(base, str):
            new = aligned_base(base, host)
            if new != base:
                image["base"] = new
                changed = True
    if not changed:
        return None
    return load_data(
        data, file=loaded.file, base_dir=loaded.base_dir, allow_outside=loaded.allow_outside
    )
