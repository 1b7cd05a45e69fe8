"""Admission of (HostProcess) Windows pods: the three gates and what an admitted pod runs with.

Pure functions over a pod spec given as plain dicts and lists, exactly as in YAML (camelCase
keys), in the real components' rules and words. Each gate lives in its own module, which names
the real code it mirrors; this module gathers their public names.

1. API validation (kube-apiserver ``ValidatePodSpec``, Windows and HostProcess rules):
   ``validate_pod_spec`` in apivalidation.py, its errors ``FieldError`` in fielderrors.py.
2. Pod Security Admission at a level, policy version v1.35: ``pod_security`` in
   podsecurity.py.
   With the WindowsHostProcessContainers gate off on a 1.22-1.25 API server, the hostProcess
   field is refused here (``host_process_field_allowed``), never dropped.
3. Node rules (the WindowsHostProcessContainers gate, containerd's version, named pipe
   mounts): ``node_rules`` in noderules.py.

An admitted pod's containers run with ``effective_containers`` (jobsettings.py): HostProcess or
not, the user, and the job object's CPU rate and memory limit. podspec.py reads the spec for
all of them.
"""

from __future__ import annotations

from hpsim.scenario.apivalidation import (
    MAX_RUN_AS_USER_NAME_DOMAIN_LENGTH,
    MAX_RUN_AS_USER_NAME_USER_LENGTH,
    validate_pod_spec,
)
from hpsim.scenario.fielderrors import FieldError, go_quote, kubectl_invalid_message
from hpsim.scenario.jobsettings import (
    MIB,
    ContainerSettings,
    effective_containers,
    job_cpu_rate,
    job_memory_limit,
)
from hpsim.scenario.noderules import (
    GATE,
    GATE_OFF_MESSAGE,
    LOCAL_USER_MESSAGE,
    NAMED_PIPE_MESSAGE,
    NodeFacts,
    NodeVerdict,
    host_process_field_allowed,
    is_service_account,
    node_rules,
)
from hpsim.scenario.podsecurity import LEVELS, PodSecurityResult, pod_security
from hpsim.scenario.podspec import is_host_process_pod

__all__ = [
    "GATE",
    "GATE_OFF_MESSAGE",
    "LEVELS",
    "LOCAL_USER_MESSAGE",
    "MAX_RUN_AS_USER_NAME_DOMAIN_LENGTH",
    "MAX_RUN_AS_USER_NAME_USER_LENGTH",
    "MIB",
    "NAMED_PIPE_MESSAGE",
    "ContainerSettings",
    "FieldError",
    "NodeFacts",
    "NodeVerdict",
    "PodSecurityResult",
    "effective_containers",
    "go_quote",
    "host_process_field_allowed",
    "is_host_process_pod",
    "is_service_account",
    "job_cpu_rate",
    "job_memory_limit",
    "kubectl_invalid_message",
    "node_rules",
    "pod_security",
    "validate_pod_spec",
]
