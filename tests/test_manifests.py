"""hpsim.scenario.manifests: Kubernetes objects -> pod templates, with the API server's defaults.

Defaults are checked against k/k pkg/apis/core/v1/defaults.go (SetDefaults_Container,
SetDefaults_Pod, SetDefaults_PodSpec), pkg/apis/apps/v1/defaults.go (replicas 1),
pkg/apis/batch/v1/defaults.go (SetDefaults_Job) and pkg/util/parsers ParseImageName.
"""

from __future__ import annotations

import pytest

from hpsim.errors import HpsimError
from hpsim.scenario.manifests import Container, PodTemplate, image_tag, templates_from_source
from hpsim.scenario.yamlsrc import iter_documents


def templates(text: str) -> list[PodTemplate]:
    return [t for d in iter_documents(text, "m.yaml") for t in templates_from_source(d)]


def error(text: str) -> str:
    with pytest.raises(HpsimError) as err:
        templates(text)
    return str(err.value)


POD_SPEC = """\
    containers:
      - name: app
        image: contoso/app:1.0
"""


def controller(kind: str, api: str, extra: str = "") -> str:
    return (
        f"apiVersion: {api}\nkind: {kind}\nmetadata:\n  name: w\nspec:\n{extra}"
        "  template:\n    metadata:\n      labels: {app: w}\n    spec:\n"
        + POD_SPEC.replace("    ", "      ", 1).replace("\n    ", "\n      ")
    )


# -- kinds ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kind", "api"),
    [
        ("Deployment", "apps/v1"),
        ("ReplicaSet", "apps/v1"),
        ("StatefulSet", "apps/v1"),
        ("DaemonSet", "apps/v1"),
        ("Job", "batch/v1"),
    ],
)
def test_controllers_carry_a_pod_template(kind: str, api: str) -> None:
    (t,) = templates(controller(kind, api))
    assert (t.kind, t.name, t.namespace, t.spec_path) == (
        kind,
        "w",
        "default",
        "spec.template.spec",
    )
    assert t.labels == {"app": "w"}
    assert [c.name for c in t.spec.containers] == ["app"]
    assert (t.file, t.line) == ("m.yaml", 1)


def test_a_pod() -> None:
    (t,) = templates(
        "apiVersion: v1\nkind: Pod\nmetadata: {name: p, namespace: ops}\nspec:\n" + POD_SPEC
    )
    assert (t.kind, t.name, t.namespace, t.spec_path) == ("Pod", "p", "ops", "spec")
    assert t.raw_spec["containers"][0]["image"] == "contoso/app:1.0"


def test_generate_name_names_the_workload() -> None:
    (t,) = templates(
        "apiVersion: v1\nkind: Pod\nmetadata: {generateName: job-}\nspec:\n" + POD_SPEC
    )
    assert t.name == "job-"


MULTI = """\
apiVersion: v1
kind: ServiceAccount
metadata: {name: agent, namespace: kube-system}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata: {name: agent}
rules:
  - apiGroups: [""]
    resources: [nodes]
    verbs: [get, list]
---
apiVersion: v1
kind: ConfigMap
metadata: {name: agent-config, namespace: kube-system}
data:
  run.ps1: |
    Write-Host "hello"
---
# an empty document, then two workloads
---
apiVersion: apps/v1
kind: DaemonSet
metadata: {name: agent, namespace: kube-system}
spec:
  template:
    spec:
      containers: [{name: agent, image: contoso/agent:1}]
---
apiVersion: batch/v1
kind: Job
metadata: {name: setup, namespace: kube-system}
spec:
  template:
    spec:
      restartPolicy: Never
      containers: [{name: setup, image: contoso/setup:1}]
"""


def test_multi_document_file_skips_other_kinds() -> None:
    ts = templates(MULTI)
    assert [(t.kind, t.name, t.namespace, t.line) for t in ts] == [
        ("DaemonSet", "agent", "kube-system", 22),
        ("Job", "setup", "kube-system", 30),
    ]


LIST = """\
apiVersion: v1
kind: List
items:
  - apiVersion: v1
    kind: ConfigMap
    metadata: {name: c}
  - apiVersion: v1
    kind: Pod
    metadata: {name: a}
    spec:
      containers: [{name: c, image: x:1}]
  - apiVersion: apps/v1
    kind: Deployment
    metadata: {name: b}
    spec:
      replicas: 3
      template:
        spec:
          containers:
            - name: c
              image: x:1
              resources: {limits: {memory: {memory}}}
"""  # the memory limit is on line 22


def test_kind_list() -> None:
    ts = templates(LIST.replace("{memory}", "1Gi"))
    assert [(t.kind, t.name, t.replicas, t.line) for t in ts] == [
        ("Pod", "a", 1, 7),
        ("Deployment", "b", 3, 12),
    ]


def test_error_inside_a_list_names_the_item() -> None:
    assert error(LIST.replace("{memory}", "1G1")) == (
        "m.yaml:22: items[2].spec.template.spec.containers[0].resources.limits.memory: "
        'invalid quantity "1G1": expected a Kubernetes quantity such as 128974848, 129e6, 129M, '
        "123Mi or 1Gi"
    )


def test_an_empty_list_and_a_typed_list() -> None:
    assert templates("apiVersion: v1\nkind: List\nitems: []\n") == []
    assert templates("apiVersion: v1\nkind: PodList\nitems:\n") == []


# -- a manifest as `kubectl get -o yaml` prints it --------------------------------------------

REAL_DAEMONSET = r"""
apiVersion: apps/v1
kind: DaemonSet
metadata:
  annotations:
    deprecated.daemonset.template.generation: "3"
    kubectl.kubernetes.io/last-applied-configuration: |
      {"apiVersion":"apps/v1","kind":"DaemonSet","metadata":{"name":"csi-proxy"}}
  creationTimestamp: "2024-03-05T10:21:44Z"
  generation: 3
  labels:
    k8s-app: csi-proxy
  managedFields:
    - apiVersion: apps/v1
      fieldsType: FieldsV1
      fieldsV1:
        f:spec:
          f:template: {}
      manager: kubectl-client-side-apply
      operation: Update
      time: "2024-03-05T10:21:44Z"
  name: csi-proxy
  namespace: kube-system
  resourceVersion: "918273"
  uid: 6f1c2b9e-8d52-4d6e-9f0a-2b7c1e3d4a5f
spec:
  revisionHistoryLimit: 10
  selector:
    matchLabels:
      k8s-app: csi-proxy
  template:
    metadata:
      annotations:
        prometheus.io/scrape: "true"
      creationTimestamp: null
      labels:
        k8s-app: csi-proxy
    spec:
      affinity:
        nodeAffinity:
          requiredDuringSchedulingIgnoredDuringExecution:
            nodeSelectorTerms:
              - matchExpressions:
                  - key: kubernetes.io/os
                    operator: In
                    values: [windows]
                  - key: node.kubernetes.io/windows-build
                    operator: In
                    values: [10.0.20348]
          preferredDuringSchedulingIgnoredDuringExecution:
            - weight: 1
              preference:
                matchExpressions:
                  - {key: agentpool, operator: Exists}
      containers:
        - args:
            - -windows-service
            - -v=4
          command: [csi-proxy.exe]
          env:
            - name: NODE_NAME
              valueFrom:
                fieldRef:
                  apiVersion: v1
                  fieldPath: spec.nodeName
            - name: KUBE_NETWORK
              value: azure
          image: mcr.microsoft.com/oss/kubernetes-csi/csi-proxy:v1.1.3
          imagePullPolicy: IfNotPresent
          livenessProbe:
            exec:
              command: [powershell, -c, "Get-Process csi-proxy"]
            failureThreshold: 3
            initialDelaySeconds: 10
            periodSeconds: 20
            successThreshold: 1
            timeoutSeconds: 5
          readinessProbe:
            httpGet:
              path: /healthz
              port: 9808
              scheme: HTTP
          name: csi-proxy
          ports:
            - containerPort: 9808
              hostPort: 9808
              name: healthz
              protocol: TCP
          resources:
            limits:
              memory: 400Mi
            requests:
              cpu: 40m
              memory: 40Mi
          securityContext:
            windowsOptions:
              hostProcess: true
              runAsUserName: NT AUTHORITY\SYSTEM
          terminationMessagePath: /dev/termination-log
          terminationMessagePolicy: File
          volumeMounts:
            - mountPath: C:\var\lib\kubelet
              name: kubelet-dir
      dnsPolicy: ClusterFirst
      hostNetwork: true
      nodeSelector:
        kubernetes.io/os: windows
      priorityClassName: system-node-critical
      restartPolicy: Always
      schedulerName: default-scheduler
      securityContext:
        windowsOptions:
          hostProcess: true
          runAsUserName: NT AUTHORITY\SYSTEM
      serviceAccountName: csi-proxy
      terminationGracePeriodSeconds: 30
      tolerations:
        - operator: Exists
        - effect: NoExecute
          key: node.kubernetes.io/not-ready
          operator: Exists
          tolerationSeconds: 300
        - effect: NoSchedule
          key: node.kubernetes.io/os
          operator: Equal
          value: windows
      volumes:
        - hostPath:
            path: C:\var\lib\kubelet
            type: Directory
          name: kubelet-dir
  updateStrategy:
    rollingUpdate:
      maxSurge: 0
      maxUnavailable: 1
    type: RollingUpdate
status:
  currentNumberScheduled: 4
  desiredNumberScheduled: 4
  numberAvailable: 4
  numberMisscheduled: 0
  numberReady: 4
  observedGeneration: 3
  updatedNumberScheduled: 4
"""


def test_a_real_daemonset_loads_and_unmodelled_fields_are_ignored() -> None:
    (t,) = templates(REAL_DAEMONSET)
    assert (t.kind, t.name, t.namespace, t.line) == ("DaemonSet", "csi-proxy", "kube-system", 2)
    assert t.host_process
    assert t.labels == {"k8s-app": "csi-proxy"}
    spec = t.spec
    assert spec.host_network
    assert spec.node_selector == {"kubernetes.io/os": "windows"}
    assert [(x.key, x.operator, x.effect) for x in spec.tolerations] == [
        (None, "Exists", None),
        ("node.kubernetes.io/not-ready", "Exists", "NoExecute"),
        ("node.kubernetes.io/os", "Equal", "NoSchedule"),
    ]
    required = spec.affinity.node_affinity.required_during_scheduling_ignored_during_execution
    assert [(r.key, r.values) for r in required.node_selector_terms[0].match_expressions] == [
        ("kubernetes.io/os", ["windows"]),
        ("node.kubernetes.io/windows-build", ["10.0.20348"]),
    ]
    (c,) = spec.containers
    assert c.pull_policy == "IfNotPresent"
    assert c.resources.limits == {"memory": 400 * 2**20}
    assert c.resources.requests == {"cpu": 40, "memory": 40 * 2**20}
    assert c.security_context.windows_options.run_as_user_name == "NT AUTHORITY\\SYSTEM"
    assert [(m.name, m.mount_path) for m in c.volume_mounts] == [
        ("kubelet-dir", "C:\\var\\lib\\kubelet")
    ]
    assert [(p.container_port, p.host_port) for p in c.ports] == [(9808, 9808)]
    assert spec.volumes[0].host_path.path == "C:\\var\\lib\\kubelet"


HELM_NULLS = """\
apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
  labels:
  annotations:
spec:
  replicas:
  template:
    metadata:
      labels:
    spec:
      nodeSelector:
      tolerations:
      affinity:
      securityContext:
      containers:
        - name: web
          image: contoso/web:2
          resources:
          env:
          volumeMounts:
"""


def test_null_fields_are_unset() -> None:
    # Helm renders an empty value as `key:` (null); Go's JSON decoder leaves such a
    # field at its zero value, so the object is accepted with defaults.
    (t,) = templates(HELM_NULLS)
    assert t.replicas == 1
    assert t.spec.node_selector == {}
    assert t.spec.tolerations == []
    assert t.spec.containers[0].resources.limits == {}


# -- defaults ---------------------------------------------------------------------------------

DIGEST = "sha256:" + "a" * 64


@pytest.mark.parametrize(
    ("image", "tag", "policy"),
    [
        ("nginx", "latest", "Always"),  # untagged: ParseImageName supplies "latest"
        ("nginx:latest", "latest", "Always"),
        ("nginx:1.25", "1.25", "IfNotPresent"),
        ("mcr.microsoft.com/windows/servercore:ltsc2022", "ltsc2022", "IfNotPresent"),
        ("localhost:5000/team/app", "latest", "Always"),  # ":5000" is a port, not a tag
        ("localhost:5000/team/app:v2", "v2", "IfNotPresent"),
        (f"nginx@{DIGEST}", "", "IfNotPresent"),  # a digest and no tag: no tag at all
        (f"nginx:latest@{DIGEST}", "latest", "Always"),  # both: the tag counts
        (f"nginx:1.25@{DIGEST}", "1.25", "IfNotPresent"),
        # references ParseNormalizedNamed refuses: the error is ignored and the tag is ""
        ("nginx@sha256:abc", "", "IfNotPresent"),  # a digest must have 64 hex digits
        ("Nginx:latest", "", "IfNotPresent"),  # repository names are lowercase
        ("", "", "IfNotPresent"),
        ("a" * 64, "", "IfNotPresent"),  # looks like an image ID
    ],
)
def test_image_pull_policy_default(image: str, tag: str, policy: str) -> None:
    assert image_tag(image) == tag
    assert Container(name="c", image=image).pull_policy == policy


@pytest.mark.parametrize("policy", ["Always", "IfNotPresent", "Never"])
def test_explicit_pull_policy_is_kept(policy: str) -> None:
    assert Container(name="c", image="nginx", imagePullPolicy=policy).pull_policy == policy


def test_pod_defaults() -> None:
    (t,) = templates("apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec:\n" + POD_SPEC)
    assert t.spec.restart_policy == "Always"
    assert t.spec.termination_grace_period_seconds == 30
    assert t.namespace == "default"
    assert (t.replicas, t.completions, t.parallelism, t.backoff_limit) == (1, 1, 1, 6)
    assert not t.host_process


def test_replicas_default_and_explicit() -> None:
    assert templates(controller("Deployment", "apps/v1"))[0].replicas == 1
    assert templates(controller("Deployment", "apps/v1", "  replicas: 0\n"))[0].replicas == 0
    assert templates(controller("StatefulSet", "apps/v1", "  replicas: 5\n"))[0].replicas == 5


RESOURCES = """\
apiVersion: v1
kind: Pod
metadata: {name: p}
spec:
  initContainers:
    - name: init
      resources:
        limits: {cpu: "1", memory: 800m}
  containers:
    - name: app
      resources:
        limits: {cpu: 500m, memory: 1Gi, ephemeral-storage: 2Gi}
        requests: {cpu: .1}
"""


def test_requests_default_to_limits() -> None:
    (t,) = templates(RESOURCES)
    init, app = t.spec.init_containers[0].resources, t.spec.containers[0].resources
    # cpu in millicores (MilliValue), the rest in units (Value), both rounded up
    assert init.limits == {"cpu": 1000, "memory": 1}
    assert (init.request("cpu"), init.request("memory")) == (1000, 1)
    assert app.requests == {"cpu": 100}
    assert app.request("cpu") == 100  # an explicit request is kept
    assert app.request("memory") == 2**30  # a missing one is the limit
    assert app.request("ephemeral-storage") == 2 * 2**30
    assert app.request("nvidia.com/gpu") == 0


@pytest.mark.parametrize(
    ("fields", "completions", "parallelism", "backoff_limit"),
    [
        ("", 1, 1, 6),  # both unset: both 1
        ("  parallelism: 3\n", None, 3, 6),  # completions stays unset: a work queue
        ("  completions: 5\n", 5, 1, 6),  # parallelism alone defaults to 1
        ("  completions: 5\n  parallelism: 2\n", 5, 2, 6),
        ("  completions: 0\n", 0, 1, 6),
        ("  backoffLimit: 0\n", 1, 1, 0),
        # backoffLimit is MaxInt32 when backoffLimitPerIndex is set
        (
            "  completionMode: Indexed\n  completions: 4\n  backoffLimitPerIndex: 1\n",
            4,
            1,
            2**31 - 1,
        ),
    ],
)
def test_job_defaults(
    fields: str, completions: int | None, parallelism: int, backoff_limit: int
) -> None:
    (t,) = templates(controller("Job", "batch/v1", fields))
    assert (t.completions, t.parallelism, t.backoff_limit) == (
        completions,
        parallelism,
        backoff_limit,
    )


HOST_PROCESS = """\
apiVersion: v1
kind: Pod
metadata: {name: p}
spec:
  securityContext: {windowsOptions: {hostProcess: {pod}}}
  containers:
    - name: app
      securityContext: {windowsOptions: {hostProcess: {container}}}
"""


@pytest.mark.parametrize(
    ("pod", "container", "host_process"),
    [
        ("true", "null", True),  # the pod's value is the container's default
        ("false", "true", True),
        ("true", "false", False),
        ("null", "null", False),
    ],
)
def test_host_process(pod: str, container: str, host_process: bool) -> None:
    (t,) = templates(HOST_PROCESS.replace("{pod}", pod).replace("{container}", container))
    assert t.host_process is host_process


def test_empty_dir_size_limit() -> None:
    text = (
        "apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec:\n"
        "  volumes: [{name: scratch, emptyDir: {sizeLimit: 500Mi}}, {name: tmp, emptyDir: {}}]\n"
        + POD_SPEC.replace("    ", "  ", 1).replace("\n    ", "\n  ")
    )
    (t,) = templates(text)
    assert [v.empty_dir.size_limit for v in t.spec.volumes] == [500 * 2**20, None]


# -- errors -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec:\n  containers:\n"
            "    - name: a\n      resources: {limits: {memory: -1Mi}}\n",
            'm.yaml:7: spec.containers[0].resources.limits.memory: invalid quantity "-1Mi": '
            "must not be negative",
        ),
        (
            "apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec:\n  containers:\n"
            "    - name: a\n      resources:\n        requests:\n          cpu: 1K\n",
            'm.yaml:9: spec.containers[0].resources.requests.cpu: invalid quantity "1K": '
            "expected a Kubernetes quantity such as 128974848, 129e6, 129M, 123Mi or 1Gi",
        ),
        (
            "apiVersion: v1\nkind: Pod\nmetadata: {name: p}\n",
            'm.yaml:1: spec: required key "spec" is missing',
        ),
        (
            "apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec: {containers: []}\n",
            "m.yaml:4: spec.containers: List should have at least 1 item after validation, not 0",
        ),
        (
            "apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec:\n  nodeName: n\n",
            'm.yaml:4: spec.containers: required key "containers" is missing',
        ),
        (
            "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: d}\nspec:\n  replicas: 2\n",
            'm.yaml:4: spec.template: required key "template" is missing',
        ),
        (
            "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: d}\nspec:\n  replicas: three\n"
            "  template: {spec: {containers: [{name: a}]}}\n",
            "m.yaml:5: spec.replicas: Input should be a valid integer, unable to parse string as "
            'an integer (got "three")',
        ),
        (
            "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: d}\nspec:\n  replicas: -1\n"
            "  template: {spec: {containers: [{name: a}]}}\n",
            "m.yaml:5: spec.replicas: Invalid value: -1: must be greater than or equal to 0",
        ),
        (
            "apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec:\n  containers:\n"
            "    - name: a\n      imagePullPolicy: Sometimes\n",
            "m.yaml:7: spec.containers[0].imagePullPolicy: Input should be 'Always', "
            "'IfNotPresent' or 'Never' (got \"Sometimes\")",
        ),
        (
            "kind: Pod\nmetadata: {name: p}\n",
            'm.yaml:1: apiVersion: required key "apiVersion" is missing',
        ),
        (
            "apiVersion: v1\nkind: Pod\nspec: {containers: [{name: a}]}\n",
            "m.yaml:1: metadata: metadata.name or metadata.generateName is required",
        ),
        (
            "apiVersion: v1\nkind: List\nitems: {a: 1}\n",
            "m.yaml:3: items: items must be a list",
        ),
        (
            "- apiVersion: v1\n",
            "m.yaml:1: a Kubernetes manifest must be a mapping with apiVersion and kind",
        ),
        (
            "apiVersion: v1\nkind: Pod\nmetadata:\n  name: p\n  labels: {version: 1.0}\n",
            "m.yaml:5: metadata.labels.version: Input should be a valid string (got 1.0)",
        ),
    ],
)
def test_manifest_errors(text: str, expected: str) -> None:
    assert error(text) == expected


def test_yaml_is_loaded_safely() -> None:
    text = "apiVersion: v1\nkind: Pod\nmetadata: !!python/object:os.system\n  name: p\n"
    assert error(text) == (
        "m.yaml:3: metadata: YAML tag 'tag:yaml.org,2002:python/object:os.system' is not "
        "allowed (hpsim reads plain YAML only)"
    )
