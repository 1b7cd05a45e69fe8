"""Integer fields past their Go type or below zero, refused as kube-apiserver refuses them
(hpsim.scenario.apinumbers): the JSON decoder's words for a number that does not fit,
the validation's for a negative count."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from hpsim.errors import HpsimError
from hpsim.scenario.apinumbers import go_json_number
from hpsim.scenario.manifests import templates_from_source
from hpsim.scenario.yamlsrc import iter_documents

ROOT = Path(__file__).resolve().parent.parent
CONTAINERS = "  template: {spec: {containers: [{name: a, image: i}]}}\n"
JOB_TEMPLATE = "  template: {spec: {restartPolicy: Never, containers: [{name: a, image: i}]}}\n"


def _error(text: str) -> str:
    (src,) = iter_documents(text, "m.yaml")
    with pytest.raises(HpsimError) as err:
        templates_from_source(src)
    return str(err.value)


def _head(kind: str, api: str) -> str:
    return f"apiVersion: {api}\nkind: {kind}\nmetadata: {{name: w}}\nspec:\n"


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (2**31, "2147483648"),
        (2**63, "9223372036854775808"),  # within uint64: yaml.v2 keeps it an integer
        # A float64 from 2^64: its shortest digits, written out below 1e21 (Go's
        # strconv.FormatFloat(f, 'f', -1, 64) pads them with zeros).
        (2**64, "18446744073709552000"),
        (10**20, "100000000000000000000"),
        (10**21, "1e+21"),  # from 1e21 encoding/json writes %e
        (25 * 10**21, "2.5e+22"),
        (-(2**63) - 1, "-9223372036854776000"),
        (1.5, "1.5"),
    ],
)
def test_numbers_are_written_as_kubectl_sends_them(value, text):
    assert go_json_number(value) == text


@pytest.mark.parametrize(
    ("manifest", "message"),
    [
        (
            _head("Deployment", "apps/v1") + "  replicas: 1000000000000000000000\n" + CONTAINERS,
            'm.yaml:5: spec.replicas: Deployment in version "v1" cannot be handled as a '
            "Deployment: json: cannot unmarshal number 1e+21 into Go struct field "
            "DeploymentSpec.spec.replicas of type int32",
        ),
        (
            _head("StatefulSet", "apps/v1") + "  replicas: 2147483648\n" + CONTAINERS,
            'm.yaml:5: spec.replicas: StatefulSet in version "v1" cannot be handled as a '
            "StatefulSet: json: cannot unmarshal number 2147483648 into Go struct field "
            "StatefulSetSpec.spec.replicas of type int32",
        ),
        (
            _head("Deployment", "apps/v1") + "  replicas: 2.5\n" + CONTAINERS,
            'm.yaml:5: spec.replicas: Deployment in version "v1" cannot be handled as a '
            "Deployment: json: cannot unmarshal number 2.5 into Go struct field "
            "DeploymentSpec.spec.replicas of type int32",
        ),
        # Two bad numbers: the decoder stops at the first in the JSON, whose keys are
        # sorted: completions before parallelism, whatever the YAML's order.
        (
            _head("Job", "batch/v1")
            + "  parallelism: 3000000000\n  completions: 4000000000\n"
            + JOB_TEMPLATE,
            'm.yaml:6: spec.completions: Job in version "v1" cannot be handled as a Job: json: '
            "cannot unmarshal number 4000000000 into Go struct field JobSpec.spec.completions "
            "of type int32",
        ),
        (
            _head("CronJob", "batch/v1")
            + "  schedule: '@hourly'\n  jobTemplate:\n    spec:\n      parallelism: 2147483648\n"
            + "      template: {spec: {restartPolicy: Never, containers: [{name: a, image: i}]}}\n",
            'm.yaml:8: spec.jobTemplate.spec.parallelism: CronJob in version "v1" cannot be '
            "handled as a CronJob: json: cannot unmarshal number 2147483648 into Go struct "
            "field JobSpec.spec.jobTemplate.spec.parallelism of type int32",
        ),
        (
            _head("Pod", "v1") + "  priority: -2147483649\n  containers: [{name: a, image: i}]\n",
            'm.yaml:5: spec.priority: Pod in version "v1" cannot be handled as a Pod: json: '
            "cannot unmarshal number -2147483649 into Go struct field PodSpec.spec.priority "
            "of type int32",
        ),
        # Decoded, then validated: a negative count (ValidateNonnegativeField).
        (
            _head("ReplicaSet", "apps/v1") + "  replicas: -3\n" + CONTAINERS,
            "m.yaml:5: spec.replicas: Invalid value: -3: must be greater than or equal to 0",
        ),
        (
            _head("Job", "batch/v1") + "  completions: -1\n  parallelism: -2\n" + JOB_TEMPLATE,
            # validateJobSpec checks parallelism before completions
            "m.yaml:6: spec.parallelism: Invalid value: -2: must be greater than or equal to 0",
        ),
        (
            _head("Job", "batch/v1") + "  backoffLimit: -1\n" + JOB_TEMPLATE,
            "m.yaml:5: spec.backoffLimit: Invalid value: -1: must be greater than or equal to 0",
        ),
    ],
)
def test_numbers_the_api_server_refuses(manifest, message):
    assert _error(manifest) == message


def test_int32_max_is_accepted():
    (src,) = iter_documents(
        _head("Job", "batch/v1") + "  backoffLimit: 2147483647\n" + JOB_TEMPLATE, "m.yaml"
    )
    (t,) = templates_from_source(src)
    assert t.backoff_limit == 2**31 - 1


def test_validate_and_run_refuse_a_deployment_of_1e21_replicas_at_once(tmp_path):
    """The issue's case: hpsim validate called it valid and hpsim run never ended. Both now
    stop with the API server's message and exit status 2."""
    (tmp_path / "big.yaml").write_text(
        _head("Deployment", "apps/v1") + "  replicas: 1000000000000000000000\n" + CONTAINERS
    )
    (tmp_path / "s.yaml").write_text(
        "name: s\nduration: 1h\nnode: {cpu: 4, memory: 16Gi}\nworkloads:\n  - manifest: big.yaml\n"
    )
    for command in (["validate", "big.yaml"], ["validate", "s.yaml"], ["run", "s.yaml"]):
        proc = subprocess.run(
            [sys.executable, "-m", "hpsim", *command],
            cwd=tmp_path,
            capture_output=True,
            text=True,
            timeout=60,
            env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin"},
        )
        assert proc.returncode == 2, proc.stderr
        assert "cannot unmarshal number 1e+21 into Go struct field DeploymentSpec" in proc.stderr
