"""What can be known about a scenario before running it: pods that cannot run at all.

``hpsim validate`` on a scenario reports, per admitted workload, what would keep
its pods from ever running, in the words the run itself would use (the same
functions make both): an image neither the scenario nor the catalogue defines
(containerd's "not found"), a manifest list whose Windows entry containerd's
platform matcher refuses on this host ("no match for platform in manifest"), a
process-isolated container whose image's Windows build the host cannot run
(hcsshim's "does not match the host operating system"), and a pod the node can
never hold (the scheduler's FailedScheduling message against an empty node:
requests above allocatable, a nodeSelector or affinity the node's labels do not
meet, a taint the pod does not tolerate).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from hpsim.node.containerd import PullError
from hpsim.node.images import build_of, process_isolation_compatible, resolve_images
from hpsim.node.kubelet import OS_MISMATCH
from hpsim.node.platforms import entry_matches, no_match_error
from hpsim.node.registry import not_found_error
from hpsim.node.scheduler import (
    Usage,
    insufficient_for,
    insufficient_words,
    placement_failure,
    pod_request,
    unavailable,
)
from hpsim.scenario.cronjobs import NEVER_FIRES, Schedule
from hpsim.scenario.derived import allocatable
from hpsim.scenario.load import LoadedScenario, WorkloadPlan
from hpsim.scenario.schema import NodePool, NodeSpec
from hpsim.scenario.verdicts import scenario_verdicts


@dataclass(frozen=True)
class Obstacle:
    """Why a workload's pods would never run: ``kind`` and the run's own words."""

    workload: str
    kind: str  # "image-not-found", "platform-mismatch", "os-mismatch", "never-fits"
    message: str

    def to_json(self) -> dict[str, str]:
        return {"kind": self.kind, "message": self.message}


def obstacles(loaded: LoadedScenario) -> dict[str, list[Obstacle]]:
    """Per workload (admitted ones only: a refused one never gets so far), what stops it.

    With several pools a workload's pods run wherever one pool's nodes take them: it
    is stopped only if every pool it may go to stops it (a pod whose ``nodeName``
    names a pool's node, ``<pool>-<n>``, may go to that pool alone), and each pool's
    reason is given, named."""
    sc = loaded.scenario
    pools = sc.pools
    out: dict[str, list[Obstacle]] = {}
    for plan, verdict in zip(loaded.workloads, scenario_verdicts(loaded), strict=True):
        if not verdict.admitted:
            continue
        cron = plan.template.cron
        if cron is not None and math.isinf(Schedule(cron, sc.start_time).next_after(0.0)):
            out[plan.name] = [
                Obstacle(
                    plan.name,
                    "schedule",
                    f"invalid schedule: {cron.schedule} : {NEVER_FIRES} "
                    "(no such time within five years: the CronJob never creates a Job)",
                )
            ]
            continue
        pin = plan.template.spec.node_name
        where = [p for p in pools if pin is None or sc.node is not None or _holds(p, pin)]
        per_pool = [(p, _stops(loaded, plan, verdict.host_process, p.node)) for p in where]
        if not per_pool or any(not found for _, found in per_pool):
            continue
        if len(pools) == 1:
            out[plan.name] = per_pool[0][1]
        else:
            out[plan.name] = [
                Obstacle(o.workload, o.kind, f"pool {p.name}: {o.message}")
                for p, found in per_pool
                for o in found
            ]
    return out


def _holds(pool: NodePool, name: str) -> bool:
    """Whether a node of ``pool`` is named ``name`` (hpsim.cluster.Cluster.node_name)."""
    prefix = f"{pool.name}-"
    rest = name[len(prefix) :]
    return name.startswith(prefix) and rest.isdigit()


def _stops(
    loaded: LoadedScenario,
    plan: WorkloadPlan,
    host_process: bool,
    node: NodeSpec,
) -> list[Obstacle]:
    """What stops the workload's pods on a node like ``node``."""
    sc = loaded.scenario
    images = resolve_images(sc, node)
    host_build = build_of(node.os_build)
    containerd = node.containerd.version
    alloc = allocatable(node)
    taints = [(t.key, t.value, t.effect) for t in node.taints]
    found: list[Obstacle] = []
    spec = plan.template.spec
    why = placement_failure(spec, node.all_labels, taints)
    if why is None:
        short = insufficient_for(
            pod_request(spec, "cpu"),
            pod_request(spec, "memory"),
            Usage(),
            alloc,
            pod_request(spec, "ephemeral-storage"),
        )
        why = insufficient_words(short) if short else None
    if why is not None:
        found.append(Obstacle(plan.name, "never-fits", unavailable(why)))
    # Each container's image, and each image a rollout gives one (its first app
    # container when the event names none, as the controllers do).
    uses: list[tuple[str, str, str]] = [
        (c.name, c.image, "") for c in [*spec.init_containers, *spec.containers] if c.image
    ]
    for ev in sc.events:
        r = ev.rollout
        if r is not None and r.workload == plan.name:
            target = r.container or spec.containers[0].name
            uses.append((target, r.image, f"after the rollout at {ev.at:g} s: "))
    for name, ref, when in uses:
        image = images.get(ref)
        if image is None:
            message = not_found_error(
                ref, containerd, discard_unpacked_layers=node.containerd.discard_unpacked_layers
            )
            error = f'{when}Failed to pull image "{ref}": {PullError("NotFound", message).rpc()}'
            found.append(Obstacle(plan.name, "image-not-found", error))
        elif (
            image.manifest_list
            and ref not in node.pre_pulled
            and not entry_matches(node.os_build, containerd, image.os_version)
        ):
            entry = f"Windows {image.os_version}" if image.os_version else "no OS version"
            refused = PullError("NotFound", no_match_error(ref)).rpc()
            found.append(
                Obstacle(
                    plan.name,
                    "platform-mismatch",
                    f'{when}container "{name}": image "{ref}" is a manifest list whose '
                    f"Windows entry has {entry}, which containerd {containerd} does not "
                    f'match on {node.os_build}: Failed to pull image "{ref}": {refused}',
                )
            )
        elif (
            not host_process
            and host_build is not None
            and not process_isolation_compatible(host_build, image.os_version)
        ):
            message = OS_MISMATCH.format(id=f"<pod>-{name}")
            found.append(
                Obstacle(
                    plan.name,
                    "os-mismatch",
                    f'{when}container "{name}": image "{ref}" is Windows '
                    f"{image.os_version}, the node {node.os_build}: {message}",
                )
            )
    return found
