"""hpsim.scenario.load: bad input is one HpsimError naming file:line and the field path.

Each test writes a small scenario (line numbers are counted from the text as
written) and asserts the whole message.
"""

from __future__ import annotations

import contextlib
import json
from pathlib import Path

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from hpsim.cli import main
from hpsim.errors import HpsimError
from hpsim.scenario.load import load, load_text
from hpsim.scenario.schema import Scenario, pull_progress_timeout

HEAD = """\
name: t
duration: 1h
node:
  cpu: 4
  memory: 8Gi
"""  # lines 1-5

POD = """\
      apiVersion: v1
      kind: Pod
      metadata: {name: p}
      spec:
        containers:
          - name: app
            image: contoso/app:1.0
"""  # 7 lines, indented to sit under "  - manifest:"

DEPLOYMENT = """\
apiVersion: v1
kind: ConfigMap
metadata:
  name: cfg
---
apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
spec:
  replicas: 2
  template:
    spec:
      containers:
        - name: app
          image: contoso/iis:ltsc2022
          resources:
            limits:
              memory: {memory}
"""  # the memory limit is on line 19


def message(text: str, file: str = "s.yaml") -> str:
    with pytest.raises(HpsimError) as err:
        load_text(text, file=file)
    return str(err.value)


@pytest.fixture
def in_tmp(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Work in tmp_path, so that messages name files as "s.yaml", not by full path."""
    monkeypatch.chdir(tmp_path)
    return tmp_path


def load_error(path: str) -> str:
    with pytest.raises(HpsimError) as err:
        load(path)
    return str(err.value)


# -- the scenario file itself ---------------------------------------------------------------


def test_a_good_scenario_loads() -> None:
    sc = load_text(HEAD + "workloads:\n  - manifest:\n" + POD)
    assert sc.name == "t"
    assert sc.scenario.duration == 3600.0
    assert sc.scenario.node.memory == 8 * 2**30
    assert [w.name for w in sc.workloads] == ["p"]


def test_the_shipped_scenario_loads() -> None:
    sc = load(Path(__file__).parent.parent / "scenarios" / "node-bootstrap.yaml")
    assert [(w.name, w.template.kind, w.template.replicas) for w in sc.workloads] == [
        ("kube-flannel-ds-windows-amd64", "DaemonSet", 1),
        ("iis-app", "Deployment", 4),
    ]
    assert sc.scenario.node.memory == 32 * 2**30
    # The scenario sets no pull rates: hpsim's defaults (hpsim.scenario.nodespec NETWORK_RATE).
    assert (sc.scenario.node.network, sc.scenario.node.unpack_rate) == (23e6, 14e6)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            HEAD.replace("  memory: 8Gi", "  memroy: 8Gi"),
            's.yaml:5: node.memroy: unknown key "memroy" (did you mean "memory"?)',
        ),
        (
            HEAD + "replicatons: 3\n",
            's.yaml:6: replicatons: unknown key "replicatons" (did you mean "replications"?)',
        ),
        (
            HEAD + "colour: red\n",
            's.yaml:6: colour: unknown key "colour" (did you mean "cluster"?)',
        ),
        (
            HEAD.replace("cpu: 4", "cpu: four"),
            "s.yaml:4: node.cpu: Input should be a valid integer, unable to parse string as an "
            'integer (got "four")',
        ),
        (
            HEAD.replace("8Gi", "8GB"),
            's.yaml:5: node.memory: invalid quantity "8GB": expected a Kubernetes quantity such as '
            "128974848, 129e6, 129M, 123Mi or 1Gi",
        ),
        (
            HEAD.replace("8Gi", "-1"),
            's.yaml:5: node.memory: invalid quantity "-1": must not be negative',
        ),
        (
            HEAD.replace("duration: 1h", "duration: 1 hour"),
            's.yaml:2: duration: invalid duration "1 hour": expected a duration such as 90s, 15m, '
            "2h, 7d or 1h30m (a bare number is seconds)",
        ),
        (
            HEAD.replace("  memory: 8Gi\n", ""),
            's.yaml:3: node.memory: required key "memory" is missing',  # the line of "node:"
        ),
        (
            HEAD + "  cpu: 8\n",
            's.yaml:6: node.cpu: duplicate key "cpu"',
        ),
        (
            "name: t\nduration: [1h\n",
            "s.yaml:3: malformed YAML: expected ',' or ']', but got '<stream end>' "
            "(while parsing a flow sequence that starts on line 2)",
        ),
        (
            "name: t\n  duration: 1h\n",
            "s.yaml:2: malformed YAML: mapping values are not allowed here",
        ),
        (
            "name: t\nduration: 1h\x07\n",
            "s.yaml:2: malformed YAML: character #x0007 is not allowed "
            "(YAML text must be printable)",
        ),
        (
            "name: !!python/object/apply:os.system [echo hi]\n",
            "s.yaml:1: name: YAML tag 'tag:yaml.org,2002:python/object/apply:os.system' is not "
            "allowed (hpsim reads plain YAML only)",
        ),
        (
            "name: !!python/object:hpsim.Scenario\n  duration: 1h\n",
            "s.yaml:1: name: YAML tag 'tag:yaml.org,2002:python/object:hpsim.Scenario' is not "
            "allowed (hpsim reads plain YAML only)",
        ),
        ("", "s.yaml:1: empty scenario file"),
        ("# only a comment\n", "s.yaml:1: empty scenario file"),
        (HEAD + "---\n" + HEAD, "s.yaml:7: a scenario file holds one YAML document"),
        (
            "- name: t\n",
            "s.yaml:1: a scenario must be a mapping of keys (name, duration, node, ...)",
        ),
        (
            HEAD.replace("name: t", "name: my scenario"),
            "s.yaml:1: name: invalid name 'my scenario': use letters, digits, '.', '_' and '-' "
            "(it names the results folder)",
        ),
    ],
)
def test_scenario_errors(text: str, expected: str) -> None:
    assert message(text) == expected


def test_union_errors_name_the_field_not_the_member() -> None:
    # arrivals.poisson is `Poisson | rate`: pydantic's loc names the member; hpsim drops it.
    base = HEAD + "workloads:\n  - manifest:\n" + POD  # workloads[0] ends on line 14
    assert message(base + "    arrivals: {poisson: {rat: 3/h}}\n") == (
        's.yaml:15: workloads[0].arrivals.poisson.rat: unknown key "rat" (did you mean "rate"?)'
    )
    assert message(base + "    arrivals: {poisson: 3/hour}\n") == (
        's.yaml:15: workloads[0].arrivals.poisson: invalid event rate "3/hour": expected an '
        "event rate such as 3/h, 10/min or 0.5/s"
    )
    assert message(base + "    arrivals: {poisson: {rate: 3/hour}}\n") == (
        's.yaml:15: workloads[0].arrivals.poisson.rate: invalid event rate "3/hour": expected '
        "an event rate such as 3/h, 10/min or 0.5/s"
    )
    assert message(HEAD + "workloads:\n  - manifest: 5\n") == (
        "s.yaml:7: workloads[0].manifest: Input should be a valid string (got 5)"
    )


# -- image pulls: registry trouble, pull limits, the node image -------------------------------

PULL_SETTINGS = [
    (
        HEAD + "  kubelet: {registryPullQPS: -1}\n",
        "s.yaml:6: node.kubelet.registryPullQPS: registryPullQPS (--registry-qps) -1 must "
        "not be a negative number",
    ),
    (
        HEAD + "  kubelet:\n    registryBurst: -2\n",
        "s.yaml:7: node.kubelet.registryBurst: registryBurst (--registry-burst) -2 must not be "
        "a negative number",
    ),
    (
        HEAD + "  kubelet: {registryPullQps: 3}\n",
        's.yaml:6: node.kubelet.registryPullQps: unknown key "registryPullQps" (did you mean '
        '"registryPullQPS"?)',
    ),
    (
        HEAD + "  containerd: {version: 1.6.20, imagePullProgressTimeout: 10m}\n",
        "s.yaml:6: node.containerd.imagePullProgressTimeout: containerd 1.6.20 has no "
        "image_pull_progress_timeout (it came with 1.7.0)",
    ),
    (
        HEAD + "  prePulledImages: [mcr.microsoft.com/windows/servercore:ltsc2023]\n",
        's.yaml:6: node.prePulledImages[0]: unknown image "mcr.microsoft.com/windows/'
        'servercore:ltsc2023": a node image cannot hold an image no one defines (did you '
        'mean "mcr.microsoft.com/windows/servercore:ltsc2025"?)',
    ),
    (
        HEAD.replace("1h", "3h") + "events:\n  - at: 1h\n    registry: {outage: 0s}\n",
        "s.yaml:8: events[0].registry.outage: must be greater than zero",
    ),
    (
        HEAD.replace("1h", "3h") + "events:\n  - at: 1h\n    registry: {}\n",
        "s.yaml:8: events[0].registry: registry takes exactly one of outage, throttle (found none)",
    ),
    (
        HEAD.replace("1h", "3h")
        + "events:\n  - at: 1h\n    registry:\n      throttle: {rate: 5MB/s}\n",
        's.yaml:9: events[0].registry.throttle.for: required key "for" is missing',
    ),
    (
        HEAD.replace("1h", "3h")
        + "events:\n  - at: 1h\n    registry:\n      throttle: {rate: 0, for: 1h}\n",
        "s.yaml:9: events[0].registry.throttle.rate: must be greater than zero",
    ),
    (
        HEAD.replace("1h", "3h") + "events:\n  - at: 1h\n    registry: {outgae: 30m}\n",
        's.yaml:8: events[0].registry.outgae: unknown key "outgae" (did you mean "outage"?)',
    ),
]


@pytest.mark.parametrize(("text", "expected"), PULL_SETTINGS)
def test_pull_settings_are_checked_with_file_line_and_field(text: str, expected: str) -> None:
    assert message(text) == expected


def test_pull_settings_load_and_are_in_the_json_schema() -> None:
    text = (
        HEAD.replace("1h", "3h")
        + "  containerd: {version: 1.7.9}\n"
        + "  kubelet: {registryPullQPS: 0, registryBurst: 3}\n"
        + "  prePulledImages: [mcr.microsoft.com/windows/nanoserver:ltsc2022]\n"
        + "images:\n  - {name: a/b:1, manifestList: true}\n"
        + "events:\n"
        + "  - {at: 2h, registry: {outage: 30m}}\n"
        + "  - {at: 1h, registry: {throttle: {rate: 5MB/s, for: 1h}}}\n"
    )
    sc = load_text(text, file="s.yaml").scenario
    assert (sc.node.kubelet.registry_pull_qps, sc.node.kubelet.registry_burst) == (0, 3)
    # containerd 1.7.0-1.7.9 cancel after 1 min on Windows, 1.7.10 on after 5 min.
    assert pull_progress_timeout(sc.node.containerd) == 60.0
    assert sc.node.pre_pulled == ["mcr.microsoft.com/windows/nanoserver:ltsc2022"]
    assert sc.images[0].manifest_list is True
    assert sc.events[0].registry is not None and sc.events[0].registry.outage == 1800.0
    throttle = sc.events[1].registry.throttle if sc.events[1].registry else None
    assert throttle is not None and (throttle.rate, throttle.for_) == (5e6, 3600.0)
    schema = json.dumps(Scenario.model_json_schema(by_alias=True))
    for key in (
        "registryPullQPS",
        "registryBurst",
        "imagePullProgressTimeout",
        "prePulledImages",
        "manifestList",
        "outage",
        "throttle",
    ):
        assert f'"{key}"' in schema


# -- settings hpsim does not model yet -------------------------------------------------------

NOT_MODELLED = [
    (
        HEAD + "  kubelet:\n    systemReserved:\n      cpu: 500m\n      pid: 1000\n",
        "s.yaml:9: node.kubelet.systemReserved.pid: pid is not modelled yet: hpsim counts no "
        "process IDs, so it could not change a result; remove it",
    ),
]


@pytest.mark.parametrize(("text", "expected"), NOT_MODELLED)
def test_a_setting_not_modelled_yet_is_refused(text: str, expected: str) -> None:
    assert message(text) == expected


def test_a_setting_not_modelled_yet_is_refused_whatever_its_value() -> None:
    # In kubeReserved as in systemReserved.
    assert message(HEAD + "  kubelet:\n    kubeReserved: {pid: 100}\n") == (
        "s.yaml:7: node.kubelet.kubeReserved.pid: pid is not modelled yet: hpsim counts no "
        "process IDs, so it could not change a result; remove it"
    )


def test_a_setting_not_modelled_yet_is_not_in_the_json_schema() -> None:
    text = json.dumps(Scenario.model_json_schema(by_alias=True))
    assert '"fileBinding"' in text  # modelled: where HostProcess volume mounts land
    assert '"pid"' not in text
    assert '"ephemeral-storage"' in text  # the rest of systemReserved is still there


@pytest.mark.parametrize("command", ["validate", "run"])
@pytest.mark.parametrize(("text", "expected"), NOT_MODELLED)
def test_a_setting_not_modelled_yet_exits_2(
    in_tmp: Path, capsys: pytest.CaptureFixture[str], command: str, text: str, expected: str
) -> None:
    (in_tmp / "s.yaml").write_text(text)
    assert main([command, "s.yaml"]) == 2
    assert capsys.readouterr().err == f"hpsim: error: {expected}\n"
    assert not (in_tmp / "results").exists()


# -- manifests --------------------------------------------------------------------------------


def test_missing_manifest_file(in_tmp: Path) -> None:
    (in_tmp / "s.yaml").write_text(HEAD + "workloads:\n  - manifest: nope.yaml\n")
    assert load_error("s.yaml") == (
        "s.yaml:7: workloads[0].manifest: manifest file 'nope.yaml' not found (looked in nope.yaml)"
    )


def test_impossible_manifest_path_is_not_found(in_tmp: Path) -> None:
    # A name longer than the file system allows: Path.is_file raises OSError.
    (in_tmp / "s.yaml").write_text(HEAD + f"workloads:\n  - manifest: {'a' * 5000}\n")
    assert load_error("s.yaml").startswith("s.yaml:7: workloads[0].manifest: manifest file 'aaaa")


def test_bad_quantity_in_a_manifest_file(in_tmp: Path) -> None:
    (in_tmp / "s.yaml").write_text(HEAD + "workloads:\n  - manifest: dep.yaml\n")
    (in_tmp / "dep.yaml").write_text(DEPLOYMENT.format(memory="1.5.5Gi"))
    assert load_error("s.yaml") == (
        "dep.yaml:19: spec.template.spec.containers[0].resources.limits.memory: "
        'invalid quantity "1.5.5Gi": expected a Kubernetes quantity such as 128974848, 129e6, '
        "129M, 123Mi or 1Gi"
    )


def test_manifest_file_loads(in_tmp: Path) -> None:
    (in_tmp / "s.yaml").write_text(HEAD + "workloads:\n  - manifest: dep.yaml\n")
    (in_tmp / "dep.yaml").write_text(DEPLOYMENT.format(memory="800m"))
    (plan,) = load("s.yaml").workloads
    assert (plan.name, plan.template.kind, plan.template.replicas) == ("web", "Deployment", 2)
    assert plan.template.file == "dep.yaml"
    assert plan.template.line == 6  # the Deployment's document starts on line 6
    assert plan.template.spec.containers[0].resources.limits == {"memory": 1}


def test_bad_quantity_in_an_inline_manifest() -> None:
    # Inline, the manifest's own path follows the scenario's path to it.
    text = (
        HEAD
        + "workloads:\n  - manifest:\n"
        + POD
        + "            resources: {requests: {cpu: 1K}}\n"
    )
    assert message(text) == (
        "s.yaml:15: workloads[0].manifest.spec.containers[0].resources.requests.cpu: "
        'invalid quantity "1K": expected a Kubernetes quantity such as 128974848, 129e6, 129M, '
        "123Mi or 1Gi"
    )


def test_manifest_with_a_python_tag(in_tmp: Path) -> None:
    (in_tmp / "s.yaml").write_text(HEAD + "workloads:\n  - manifest: evil.yaml\n")
    (in_tmp / "evil.yaml").write_text(
        "apiVersion: v1\nkind: Pod\nmetadata: !!python/object/new:os.system [echo hi]\n"
    )
    assert load_error("s.yaml") == (
        "evil.yaml:3: metadata: YAML tag 'tag:yaml.org,2002:python/object/new:os.system' is not "
        "allowed (hpsim reads plain YAML only)"
    )


def test_manifest_without_pods(in_tmp: Path) -> None:
    (in_tmp / "s.yaml").write_text(HEAD + "workloads:\n  - manifest: cm.yaml\n")
    (in_tmp / "cm.yaml").write_text("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c}\n")
    assert load_error("s.yaml") == (
        "s.yaml:7: workloads[0].manifest: the manifest holds no Pod, Deployment, ReplicaSet, "
        "StatefulSet, DaemonSet, Job or CronJob"
    )


# -- checks across the scenario ----------------------------------------------------------------

DEPLOY_INLINE = """\
      apiVersion: apps/v1
      kind: Deployment
      metadata: {name: web}
      spec:
        template:
          spec:
            containers: [{name: app, image: contoso/iis:ltsc2022}]
"""  # 7 lines


def test_event_naming_a_missing_workload() -> None:
    text = (
        HEAD
        + "workloads:\n  - manifest:\n"
        + DEPLOY_INLINE
        + "events:\n  - at: 10m\n    scale: {workload: wbe, replicas: 3}\n"
    )
    assert message(text) == (
        's.yaml:17: events[0].scale.workload: no workload named "wbe" (did you mean "web"?)'
    )
    text = text.replace("scale: {workload: wbe, replicas: 3}", "rollout: {workload: db, image: x}")
    assert message(text) == 's.yaml:17: events[0].rollout.workload: no workload named "db"'


def test_event_after_the_end() -> None:
    text = (
        HEAD
        + "workloads:\n  - manifest:\n"
        + DEPLOY_INLINE
        + "events:\n  - at: 2h\n    cordon: true\n"
    )
    assert message(text) == "s.yaml:16: events[0].at: the event is after the end of the scenario"


def test_scaling_a_pod_is_refused() -> None:
    text = (
        HEAD
        + "workloads:\n  - manifest:\n"
        + POD
        + "events:\n  - {at: 1m, scale: {workload: p, replicas: 2}}\n"
    )
    assert message(text) == "s.yaml:16: events[0].scale.workload: a Pod cannot be scaled"


def test_a_rollout_of_a_bare_pod_is_refused_not_a_crash() -> None:
    text = (
        HEAD
        + "workloads:\n  - manifest:\n"
        + POD
        + "events:\n  - {at: 1m, rollout: {workload: p, image: x:2}}\n"
    )
    assert message(text) == (
        "s.yaml:16: events[0].rollout.workload: a bare Pod has no rollout (an in-place image "
        "update is not modelled): use a Deployment"
    )


def test_arrivals_on_a_deployment() -> None:
    text = HEAD + "workloads:\n  - manifest:\n" + DEPLOY_INLINE + "    arrivals: {at: [1m, 2m]}\n"
    assert message(text) == (
        "s.yaml:15: workloads[0].arrivals: arrivals apply to Pods and Jobs; a Deployment keeps "
        "its own pods (use its replicas, a lifetime, or a scale event)"
    )


def test_duplicate_workload_name() -> None:
    text = HEAD + "workloads:\n  - manifest:\n" + POD + "  - manifest:\n" + POD
    assert message(text) == (
        's.yaml:16: workloads[1].manifest: workload name "p" is used twice (also by '
        "workloads[0]); each Kubernetes object needs its own metadata.name"
    )


def test_profile_for_an_unknown_container() -> None:
    text = HEAD + "workloads:\n  - manifest:\n" + POD + "    containers:\n      ap: {cpu: 1}\n"
    assert message(text) == (
        's.yaml:16: workloads[0].containers.ap: no container "ap" in Pod "p" (containers: app)'
    )


# -- trace files ------------------------------------------------------------------------------


def trace_scenario(in_tmp: Path, csv_text: str) -> None:
    (in_tmp / "s.yaml").write_text(
        HEAD + "workloads:\n  - manifest:\n" + POD + "    arrivals: {trace: t.csv}\n"
    )
    (in_tmp / "t.csv").write_text(csv_text, encoding="utf-8")


def test_trace_loads_sorted(in_tmp: Path) -> None:
    # A spreadsheet export: byte-order mark, a space after the comma, an empty delete_s.
    trace_scenario(in_tmp, "\ufeffcreate_s, delete_s\n60, 120\n0,\n")
    (plan,) = load("s.yaml").workloads
    assert [(r.create_s, r.delete_s) for r in plan.trace] == [(0.0, None), (60.0, 120.0)]


@pytest.mark.parametrize(
    ("csv_text", "expected"),
    [
        ("create_s,delete_s\n0,10\n5,abc\n", "t.csv:3: delete_s: not a number: 'abc'"),
        ("create_s\n1\n2\nsoon\n", "t.csv:4: create_s: not a number: 'soon'"),
        ("create_s\nnan\n", "t.csv:2: create_s: not a finite number: 'nan'"),
        ("create_s\n-1\n", "t.csv:2: create_s: a time in seconds >= 0 is required"),
        ("create_s,delete_s\n10,5\n", "t.csv:2: delete_s: must not be before create_s"),
        ("start,stop\n1,2\n", "t.csv:1: trace needs a create_s column (found start, stop)"),
        ("", "t.csv:1: trace needs a create_s column (found none)"),
        (
            "create_s\n" + "9" * 200000 + "\n",
            "t.csv:2: malformed CSV: field larger than field limit (131072)",
        ),
    ],
)
def test_trace_errors(in_tmp: Path, csv_text: str, expected: str) -> None:
    trace_scenario(in_tmp, csv_text)
    assert load_error("s.yaml") == expected


def test_missing_trace_file(in_tmp: Path) -> None:
    (in_tmp / "s.yaml").write_text(
        HEAD + "workloads:\n  - manifest:\n" + POD + "    arrivals: {trace: none.csv}\n"
    )
    assert load_error("s.yaml") == (
        "s.yaml:15: workloads[0].arrivals.trace: trace file 'none.csv' not found (looked in "
        "none.csv)"
    )


# -- nothing but HpsimError -------------------------------------------------------------------

KEYS = [
    "name", "duration", "node", "cpu", "memory", "workloads", "manifest", "events", "at",
    "scale", "rollout", "workload", "replicas", "images", "layers", "size", "kind",
    "apiVersion", "metadata", "spec", "template", "containers", "image", "resources",
    "limits", "requests", "arrivals", "poisson", "rate", "trace", "lifetime", "fixed",
    "profile", "kubelet", "namespaces", "items", "completions", "parallelism",
]  # fmt: skip
SCALARS = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.floats(),
    st.text(max_size=10),
    st.sampled_from(
        ["1Gi", "100m", "-1", "Mi", "1e999999999", "9" * 400, "15m", "3/h", "500Mbit/s",
         "Pod", "Job", "Deployment", "List", "v1", "apps/v1", "a" * 5000, "x\x00y"]
    ),
)  # fmt: skip
TREES = st.recursive(
    SCALARS,
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.sampled_from(KEYS), inner, max_size=4)
    ),
    max_leaves=20,
)


def _scenario_like(extra: dict) -> dict:
    return {"name": "t", "duration": "1h", "node": {"cpu": 2, "memory": "4Gi"}, **extra}


def _only_hpsim_errors(text: str) -> None:
    # Loading may succeed or refuse; any exception but HpsimError fails the test.
    with contextlib.suppress(HpsimError):
        load_text(text, file="s.yaml")


@settings(max_examples=300, deadline=None)
@given(st.text())
def test_any_text_gives_only_hpsim_errors(text: str) -> None:
    _only_hpsim_errors(text)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.one_of(TREES, st.dictionaries(st.sampled_from(KEYS), TREES, max_size=5).map(_scenario_like))
)
def test_any_yaml_structure_gives_only_hpsim_errors(data: object) -> None:
    _only_hpsim_errors(yaml.safe_dump(data))


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(manifest=TREES, profile=TREES, arrivals=TREES)
def test_any_workload_gives_only_hpsim_errors(
    manifest: object, profile: object, arrivals: object
) -> None:
    # Reach the manifest and workload checks: keep the scenario around them valid.
    pod = {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": "p"},
        "spec": {"containers": [{"name": "a", "image": "x:1", "resources": profile}]},
    }
    data = _scenario_like(
        {"workloads": [{"manifest": manifest}, {"manifest": pod, "arrivals": arrivals}]}
    )
    _only_hpsim_errors(yaml.safe_dump(data))
