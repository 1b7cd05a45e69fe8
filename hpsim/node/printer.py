"""The STATUS column of ``kubectl get pods``, from a pod's phase and its containers' states.

kubectl's pod printer, rule for rule (k/k pkg/printers/internalversion/printers.go
``printPod``): the phase, or the pod's status reason (``Evicted``, ``OutOfcpu``);
then the init containers in order -- one that exited 0 is passed, one that failed
shows ``Init:<reason>``, one waiting with a reason other than PodInitializing
``Init:<reason>``, any other ``Init:<i>/<n>`` -- and once initialised the app
containers from last to first, each waiting reason (``ContainerCreating``,
``CrashLoopBackOff``, ``ImagePullBackOff``, ...) or terminated reason
(``Completed``, ``Error``, ``StartError``) overriding what came before, so the
first container's wins; ``Completed`` with a container still running reads
``Running`` (``NotReady`` when the pod is not Ready); a pod being deleted and not
terminal reads ``Terminating``.

Restartable init containers (sidecars) and scheduling gates are not modelled.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

# Container states as the kubelet reports them (v1.ContainerState): one of these kinds.
WAITING, RUNNING, TERMINATED = "waiting", "running", "terminated"


@dataclass(frozen=True, slots=True)
class Shown:
    """One container's state in the pod's status: its kind, its reason and exit code."""

    kind: str  # WAITING, RUNNING or TERMINATED; "" before kubelet reports any
    reason: str = ""
    exit_code: int = 0


NOT_REPORTED = Shown("")  # kubelet has not reported the container yet


def pod_status(
    phase: str,
    reason: str,
    deleting: bool,
    ready: bool,
    init: Sequence[Shown],
    app: Sequence[Shown],
) -> str:
    """What ``kubectl get pods`` prints as STATUS (``printPod``).

    ``phase`` is the API phase (Pending, Running, Succeeded, Failed), ``reason`` the
    pod's ``status.reason``, ``deleting`` whether it has a deletionTimestamp,
    ``ready`` its Ready condition; ``init`` and ``app`` the containers' states in
    spec order (an empty kind: no status reported for that container yet).
    """
    shown = reason or phase
    initializing = False
    for i, c in enumerate(init):
        if c.kind == "":
            break  # no statuses reported yet: printPod's loop has nothing to read
        if c.kind == TERMINATED and c.exit_code == 0:
            continue
        if c.kind == TERMINATED:
            shown = f"Init:{c.reason}" if c.reason else f"Init:ExitCode:{c.exit_code}"
        elif c.kind == WAITING and c.reason and c.reason != "PodInitializing":
            shown = f"Init:{c.reason}"
        else:
            shown = f"Init:{i}/{len(init)}"
        initializing = True
        break
    if not initializing:
        has_running = False
        for c in reversed(app):
            if c.kind == WAITING and c.reason:
                shown = c.reason
            elif c.kind == TERMINATED:
                shown = c.reason or f"ExitCode:{c.exit_code}"
            elif c.kind == RUNNING:
                # Without readiness probes a running container is ready (k/k
                # pkg/kubelet/prober/prober_manager.go UpdatePodStatus).
                has_running = True
        if shown == "Completed" and has_running:
            shown = "Running" if ready else "NotReady"
    if deleting and phase not in ("Succeeded", "Failed"):
        shown = "Terminating"
    return shown
