"""Hostile files a scenario names: bad names, duplicate containers, base-image cycles,
malformed traces, oversized files, files outside the scenario's folder, and content that
must not be echoed (issue 14).

Each test asserts the whole one-line message; the CLI ones also the exit status and that
no results folder is left.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from hpsim.cli import main
from hpsim.errors import HpsimError
from hpsim.node.images import resolve_images
from hpsim.scenario.load import MAX_TRACE_BYTES, load, load_data, load_text
from hpsim.scenario.yamlsrc import MAX_YAML_BYTES, iter_documents, read_text

HEAD = """\
name: t
duration: 1h
node:
  cpu: 4
  memory: 8Gi
"""  # lines 1-5

SUBDOMAIN = (
    "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or "
    "'.', and must start and end with an alphanumeric character (e.g. 'example.com', regex "
    r"used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')"
)
LABEL = (
    "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and "
    "must start and end with an alphanumeric character (e.g. 'my-name' or '123-abc', regex "
    "used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?')"
)
ALLOW = (
    "is outside the scenario's folder; hpsim reads only files in the scenario's folder and "
    "below it (to allow others: --allow-outside-files, or allow_outside=True in hpsim.load)"
)


def deployment(name: str = "web", namespace: str = "apps", containers: str = "[iis]") -> str:
    """A Deployment file: metadata.name on line 4, namespace on 5, containers from line 10."""
    ctrs = "".join(
        f"        - name: {c}\n          image: contoso/iis:ltsc2022\n"
        for c in containers.strip("[]").split(",")
    )
    return (
        "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n"
        f"  name: {name}\n  namespace: {namespace}\n"
        "spec:\n  template:\n    spec:\n      containers:\n" + ctrs
    )


def load_error(path: str | Path, **kwargs: Any) -> str:
    with pytest.raises(HpsimError) as err:
        load(path, **kwargs)
    return str(err.value)


@pytest.fixture
def in_tmp(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    return tmp_path


def with_manifest(folder: Path, manifest: str) -> None:
    (folder / "s.yaml").write_text(HEAD + "workloads:\n  - manifest: dep.yaml\n")
    (folder / "dep.yaml").write_text(manifest)


# -- 1. names ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("manifest", "expected"),
    [
        (
            deployment(name="Web_App"),
            f'dep.yaml:4: metadata.name: Invalid value: "Web_App": {SUBDOMAIN}',
        ),
        (
            # A terminal escape in a name is shown escaped, never sent to the terminal.
            deployment(name='"web\\e[31mred"'),
            f'dep.yaml:4: metadata.name: Invalid value: "web\\x1b[31mred": {SUBDOMAIN}',
        ),
        (
            # Too long: the first error, and the value cut to one excerpt.
            deployment(name="a" * 254),
            'dep.yaml:4: metadata.name: Invalid value: "' + "a" * 59 + "...: must be no more "
            "than 253 characters",
        ),
        (
            deployment(namespace="Apps"),
            f'dep.yaml:5: metadata.namespace: Invalid value: "Apps": {LABEL}',
        ),
        (
            deployment(namespace="a.b"),
            'dep.yaml:5: metadata.namespace: Invalid value: "a.b": must not contain dots',
        ),
        (
            deployment(namespace="n" * 64),
            'dep.yaml:5: metadata.namespace: Invalid value: "' + "n" * 59 + "...: must be no "
            "more than 63 characters",
        ),
        (
            deployment(containers="[IIS]"),
            'dep.yaml:10: spec.template.spec.containers[0].name: Invalid value: "IIS": ' + LABEL,
        ),
        (
            deployment().replace("  name: web\n", "  generateName: Web-\n"),
            f'dep.yaml:4: metadata.generateName: Invalid value: "Web-": {SUBDOMAIN}',
        ),
    ],
)
def test_a_name_the_api_server_refuses_is_refused(
    in_tmp: Path, manifest: str, expected: str
) -> None:
    with_manifest(in_tmp, manifest)
    assert load_error("s.yaml") == expected


def test_good_names_load(in_tmp: Path) -> None:
    # Dots in an object name, a generateName ending in '-' (maskTrailingDash), 253 characters.
    for manifest in (
        deployment(name="web.v2"),
        deployment().replace("  name: web\n", "  generateName: web-\n"),
        deployment(name="a" * 253, namespace="n" * 63),
    ):
        with_manifest(in_tmp, manifest)
        assert len(load("s.yaml").workloads) == 1


def test_a_bad_name_exits_2_with_no_results(
    in_tmp: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with_manifest(in_tmp, deployment(name="Web_App"))
    assert main(["run", "s.yaml"]) == 2
    assert capsys.readouterr().err == (
        f'hpsim: error: dep.yaml:4: metadata.name: Invalid value: "Web_App": {SUBDOMAIN}\n'
    )
    assert not (in_tmp / "results").exists()


# -- 2. duplicate container names -------------------------------------------------------------


def test_two_containers_of_one_name_are_refused(in_tmp: Path) -> None:
    with_manifest(in_tmp, deployment(containers="[iis,iis]"))
    assert load_error("s.yaml") == (
        'dep.yaml:12: spec.template.spec.containers[1].name: Duplicate value: "iis"'
    )


def test_init_and_regular_containers_share_their_names() -> None:
    pod = (
        HEAD + "workloads:\n  - manifest:\n      apiVersion: v1\n      kind: Pod\n"
        "      metadata: {name: p}\n      spec:\n"
        "        containers: [{name: app, image: a:1}]\n"  # line 12
        "        initContainers: [{name: setup, image: a:1}, {name: app, image: a:1}]\n"
    )
    with pytest.raises(HpsimError) as err:
        load_text(pod, file="s.yaml")
    assert str(err.value) == (
        's.yaml:13: workloads[0].manifest.spec.initContainers[1].name: Duplicate value: "app"'
    )


def test_a_duplicate_container_exits_2_not_a_traceback(
    in_tmp: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with_manifest(in_tmp, deployment(containers="[iis,iis]"))
    assert main(["run", "s.yaml"]) == 2
    err = capsys.readouterr().err
    assert err == (
        'hpsim: error: dep.yaml:12: spec.template.spec.containers[1].name: Duplicate value: "iis"\n'
    )
    assert not (in_tmp / "results").exists()


# -- 3. image bases -----------------------------------------------------------------------------


def images_scenario(images: list[dict[str, Any]], image: str) -> dict[str, Any]:
    return {
        "name": "t",
        "duration": "1h",
        "node": {"cpu": 4, "memory": "8Gi"},
        "images": images,
        "workloads": [
            {
                "manifest": {
                    "apiVersion": "v1",
                    "kind": "Pod",
                    "metadata": {"name": "p"},
                    "spec": {"containers": [{"name": "c", "image": image}]},
                }
            }
        ],
    }


@pytest.mark.parametrize(
    ("bases", "expected"),
    [
        (
            {"a:1": "b:1", "b:1": "a:1"},
            "images[0].base: base images form a cycle: a:1 -> b:1 -> a:1",
        ),
        ({"a:1": "a:1"}, "images[0].base: base images form a cycle: a:1 -> a:1"),
        (
            {f"i{n}:1": f"i{(n + 1) % 9}:1" for n in range(9)},
            "images[0].base: base images form a cycle: i0:1 -> i1:1 -> i2:1 -> ... -> i8:1 -> i0:1",
        ),
    ],
)
def test_a_cycle_of_bases_is_refused_at_load(bases: dict[str, str], expected: str) -> None:
    images = [{"name": n, "base": b, "layers": [{"size": "1Mi"}]} for n, b in bases.items()]
    with pytest.raises(HpsimError) as err:
        load_data(images_scenario(images, "a:1"))
    assert str(err.value) == f"<scenario>:1: {expected}"


def test_a_chain_of_3000_bases_loads_and_resolves_without_recursion() -> None:
    core = "mcr.microsoft.com/windows/servercore:ltsc2022"
    images = [{"name": "i0:1", "base": core, "layers": [{"size": "1Mi"}]}]
    images += [
        {"name": f"i{n}:1", "base": f"i{n - 1}:1", "layers": [{"size": "1Mi"}]}
        for n in range(1, 3000)
    ]
    loaded = load_data(images_scenario(images, "i2999:1"))
    resolved = resolve_images(loaded.scenario)
    deepest, core_image = resolved["i2999:1"], resolved[core]
    assert len(deepest.layers) == len(core_image.layers) + 3000
    assert deepest.layers[: len(core_image.layers)] == core_image.layers
    assert deepest.os_version == core_image.os_version


# -- 4. trace rows ------------------------------------------------------------------------------


def trace_scenario(folder: Path, csv_text: str) -> None:
    (folder / "s.yaml").write_text(
        HEAD + "workloads:\n  - manifest:\n      apiVersion: v1\n      kind: Pod\n"
        "      metadata: {name: p}\n      spec: {containers: [{name: c, image: a:1}]}\n"
        "    arrivals: {trace: t.csv}\n"
    )
    (folder / "t.csv").write_text(csv_text)


@pytest.mark.parametrize(
    ("csv_text", "expected"),
    [
        (
            "create_s,delete_s\n1,2,3\n",
            "t.csv:2: this row has 3 fields where the header has 2 (create_s, delete_s)",
        ),
        (
            "create_s,delete_s\n0,1\n4\n",
            "t.csv:3: this row has 1 field where the header has 2 (create_s, delete_s)",
        ),
        ("create_s\n1\n2,\n", "t.csv:3: this row has 2 fields where the header has 1 (create_s)"),
    ],
)
def test_a_row_with_the_wrong_number_of_fields_is_refused(
    in_tmp: Path, csv_text: str, expected: str
) -> None:
    trace_scenario(in_tmp, csv_text)
    assert load_error("s.yaml") == expected


def test_blank_lines_and_empty_cells_still_load(in_tmp: Path) -> None:
    trace_scenario(in_tmp, "create_s,delete_s\n\n5,\n1,2\n\n")
    (plan,) = load("s.yaml").workloads
    assert [(r.create_s, r.delete_s) for r in plan.trace] == [(1.0, 2.0), (5.0, None)]


def test_a_100000_row_trace_loads_in_seconds(in_tmp: Path) -> None:
    trace_scenario(
        in_tmp, "create_s,delete_s\n" + "".join(f"{i},{i + 60}\n" for i in range(100_000))
    )
    start = time.perf_counter()
    (plan,) = load("s.yaml").workloads
    assert len(plan.trace) == 100_000
    assert time.perf_counter() - start < 5


# -- 5. size limits -----------------------------------------------------------------------------


def sparse(path: Path, size: int) -> None:
    """A file of ``size`` bytes that takes no disk: refused before a byte is read."""
    with open(path, "wb") as f:
        f.truncate(size)


def test_an_oversized_manifest_is_refused_unread(in_tmp: Path) -> None:
    with_manifest(in_tmp, "")
    sparse(in_tmp / "dep.yaml", MAX_YAML_BYTES + 1)
    assert load_error("s.yaml") == (
        "dep.yaml: too large: a scenario or manifest file may hold at most 4 MiB "
        "(this one holds 4,194,305 bytes)"
    )
    sparse(in_tmp / "dep.yaml", MAX_YAML_BYTES)  # at the limit: read, and found to be NULs
    assert load_error("s.yaml") == (
        "dep.yaml:1: malformed YAML: character #x0000 is not allowed (YAML text must be printable)"
    )


def test_an_oversized_trace_is_refused_unread(in_tmp: Path) -> None:
    trace_scenario(in_tmp, "")
    sparse(in_tmp / "t.csv", 2 * MAX_TRACE_BYTES)
    start = time.perf_counter()
    assert load_error("s.yaml") == (
        "t.csv: too large: a trace file may hold at most 64 MiB (this one holds 134,217,728 bytes)"
    )
    assert time.perf_counter() - start < 1


def test_an_oversized_scenario_is_refused_unread(
    in_tmp: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    sparse(in_tmp / "s.yaml", 5 * MAX_YAML_BYTES)
    assert main(["run", "s.yaml"]) == 2
    assert capsys.readouterr().err == (
        "hpsim: error: s.yaml: too large: a scenario or manifest file may hold at most 4 MiB "
        "(this one holds 20,971,520 bytes)\n"
    )
    assert not (in_tmp / "results").exists()


def test_a_file_that_reports_no_size_is_read_only_up_to_the_limit(tmp_path: Path) -> None:
    # /proc files say size 0: reading stops one byte past the limit.
    environ = Path("/proc/self/environ")
    if not environ.exists() or len(environ.read_bytes()) <= 10:
        pytest.skip("no /proc/self/environ to read")
    with pytest.raises(HpsimError) as err:
        read_text(environ, limit=10, kind="trace file")
    assert str(err.value) == "/proc/self/environ: too large: a trace file may hold at most 10 bytes"


def test_a_fifo_is_not_opened(tmp_path: Path) -> None:
    # Opening a FIFO would wait for a writer forever.
    fifo = tmp_path / "fifo.yaml"
    os.mkfifo(fifo)
    assert load_error(fifo) == f"{fifo}: not a regular file (a device, pipe or socket)"


# -- 6. files outside the scenario's folder -----------------------------------------------------


@pytest.mark.parametrize(
    ("key", "value", "what"),
    [
        ("manifest", "/etc/passwd", "manifest"),
        ("manifest", "../../etc/passwd", "manifest"),
        ("manifest", "../outside.yaml", "manifest"),
        ("trace", "/proc/self/environ", "trace"),
        ("trace", "../outside.csv", "trace"),
    ],
)
def test_a_file_outside_the_folder_is_refused(
    tmp_path: Path, key: str, value: str, what: str
) -> None:
    folder = tmp_path / "sc"
    folder.mkdir()
    (tmp_path / "outside.yaml").write_text(deployment())
    (tmp_path / "outside.csv").write_text("create_s\n1\n")
    if key == "manifest":
        text = HEAD + f"workloads:\n  - manifest: {value}\n"
        line, field = 7, "workloads[0].manifest"
    else:
        text = (
            HEAD + "workloads:\n  - manifest:\n      apiVersion: v1\n      kind: Pod\n"
            "      metadata: {name: p}\n      spec: {containers: [{name: c, image: a:1}]}\n"
            f"    arrivals: {{trace: {value}}}\n"
        )
        line, field = 12, "workloads[0].arrivals.trace"
    (folder / "s.yaml").write_text(text)
    assert load_error(folder / "s.yaml") == (
        f"{folder / 's.yaml'}:{line}: {field}: {what} file '{value}' {ALLOW}"
    )


def test_a_symlink_out_of_the_folder_is_refused_and_allow_outside_reads_it(tmp_path: Path) -> None:
    folder = tmp_path / "sc"
    folder.mkdir()
    (tmp_path / "real.yaml").write_text(deployment())
    (folder / "link.yaml").symlink_to(tmp_path / "real.yaml")
    (folder / "s.yaml").write_text(HEAD + "workloads:\n  - manifest: link.yaml\n")
    assert load_error(folder / "s.yaml") == (
        f"{folder / 's.yaml'}:7: workloads[0].manifest: manifest file 'link.yaml' {ALLOW}"
    )
    loaded = load(folder / "s.yaml", allow_outside=True)
    assert [w.name for w in loaded.workloads] == ["web"]
    assert loaded.allow_outside is True
    (folder / "s.yaml").write_text(HEAD + "workloads:\n  - manifest: ../real.yaml\n")
    assert [w.name for w in load(folder / "s.yaml", allow_outside=True).workloads] == ["web"]


def test_files_below_the_folder_load(tmp_path: Path) -> None:
    (tmp_path / "m").mkdir()
    (tmp_path / "m" / "dep.yaml").write_text(deployment())
    (tmp_path / "dep.yaml").write_text(deployment())
    (tmp_path / "s.yaml").write_text(HEAD + "workloads:\n  - manifest: m/../m/dep.yaml\n")
    assert [w.name for w in load(tmp_path / "s.yaml").workloads] == ["web"]
    # load_text and load_data check against their base_dir the same way.
    text = HEAD + "workloads:\n  - manifest: ../dep.yaml\n"
    with pytest.raises(HpsimError, match="is outside the scenario's folder"):
        load_text(text, base_dir=tmp_path / "m")
    assert load_text(text, base_dir=tmp_path / "m", allow_outside=True).workloads


# -- 7. no echo of a file's content ------------------------------------------------------------

SECRET = "SECRET_TOKEN=hunter2hunter2"
LONG = "x" * 80 + SECRET  # the secret lies past the one excerpt a message may show


@pytest.mark.parametrize("allow_outside", [False, True])
@pytest.mark.parametrize(
    ("key", "content"),
    [
        ("trace", LONG + "\n"),  # one long line: the header
        ("trace", f"start_s,{LONG}\n1,2\n"),  # a header with a long column name
        ("trace", f"create_s\n{LONG}\n"),  # a cell
        ("trace", "create_s\n1," + LONG + "\n"),  # too many fields
        ("trace", "\0".join(["PATH=/bin", LONG, "HOME=/root"])),  # like /proc/self/environ
        ("manifest", LONG + "\n"),
        ("manifest", f"apiVersion: v1\nkind: Pod\nmetadata: {{name: {LONG}}}\n"),
        ("manifest", f"apiVersion: v1\nkind: Pod\nmetadata: {{name: p, namespace: {LONG}}}\n"),
        (
            "manifest",
            "apiVersion: v1\nkind: Pod\nmetadata: {name: p}\n"
            f"spec: {{containers: [{{name: {LONG}}}]}}\n",
        ),
        (
            "manifest",
            f"apiVersion: v1\nkind: Pod\nmetadata: {{name: p}}\nspec: {{{LONG}: 1, {LONG}: 2}}\n",
        ),
        ("manifest", f"apiVersion: v1\nkind: Pod\nmetadata: *{LONG}\n"),
        ("manifest", f"apiVersion: v1\nkind: Pod\nmetadata: !{LONG} {{name: p}}\n"),
        (
            "manifest",
            "apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec:\n  containers:\n"
            f"    - {{name: a, resources: {{limits: {{memory: {LONG}}}}}}}\n",
        ),
    ],
)
def test_no_message_repeats_a_file_beyond_one_excerpt(
    tmp_path: Path, key: str, content: str, allow_outside: bool
) -> None:
    folder = tmp_path / "sc"
    folder.mkdir()
    where = tmp_path if allow_outside else folder
    name = "f.csv" if key == "trace" else "f.yaml"
    (where / name).write_text(content)
    ref = f"../{name}" if allow_outside else name
    if key == "manifest":
        text = HEAD + f"workloads:\n  - manifest: {ref}\n"
    else:
        text = (
            HEAD + "workloads:\n  - manifest:\n      apiVersion: v1\n      kind: Pod\n"
            "      metadata: {name: p}\n      spec: {containers: [{name: c, image: a:1}]}\n"
            f"    arrivals: {{trace: {ref}}}\n"
        )
    (folder / "s.yaml").write_text(text)
    message = load_error(folder / "s.yaml", allow_outside=allow_outside)
    assert "hunter2" not in message
    assert "\n" not in message


def test_no_message_repeats_the_scenario_beyond_one_excerpt() -> None:
    for text in (
        HEAD + f"{LONG}: 1\n",
        HEAD + f"workloads:\n  - manifest: {LONG}\n",
        HEAD + f"images:\n  - {{name: a:1, base: {LONG}, layers: [{{size: 1Mi}}]}}\n",
        HEAD + f"node2: *{LONG}\n",
        HEAD.replace("8Gi", LONG),
    ):
        with pytest.raises(HpsimError) as err:
            load_text(text, file="s.yaml")
        assert "hunter2" not in str(err.value), str(err.value)


# -- 8. hostile YAML ----------------------------------------------------------------------------


def test_billion_laughs_in_a_manifest_is_refused_quickly(in_tmp: Path) -> None:
    lol = "a: &a [lol, lol, lol, lol, lol, lol, lol, lol, lol]\n"
    for prev, n in zip("abcdefgh", "bcdefghi", strict=True):
        lol += f"{n}: &{n} [" + ", ".join([f"*{prev}"] * 9) + "]\n"
    with_manifest(in_tmp, "apiVersion: v1\nkind: Pod\n" + lol)
    start = time.perf_counter()
    assert load_error("s.yaml") == (
        "dep.yaml:3: document too large (more than 200000 values after alias expansion)"
    )
    assert time.perf_counter() - start < 5


def test_the_parts_of_a_long_list_share_its_line_maps() -> None:
    # Source.sub used to copy the maps: a 50,000-item List took quadratic time.
    text = "apiVersion: v1\nkind: List\nitems:\n" + "- {kind: ConfigMap}\n" * 3
    (src,) = iter_documents(text, "m.yaml")
    item = src.sub(("items", 2))
    assert item.value_lines is src.value_lines
    assert item.line(("kind",)) == 6
    assert item.error(("kind",), "x").field == "items[2].kind"


def test_a_hostile_manifest_through_the_cli_is_one_line(tmp_path: Path) -> None:
    # The real entry point, once: exit 2, one line, no traceback, nothing written.
    (tmp_path / "dep.yaml").write_text(deployment(containers="[iis,iis]"))
    (tmp_path / "s.yaml").write_text(HEAD + "workloads:\n  - manifest: dep.yaml\n")
    proc = subprocess.run(
        [sys.executable, "-m", "hpsim", "run", "s.yaml"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parent.parent)},
    )
    assert proc.returncode == 2
    assert proc.stderr == (
        'hpsim: error: dep.yaml:12: spec.template.spec.containers[1].name: Duplicate value: "iis"\n'
    )
    assert not (tmp_path / "results").exists()


# -- numbers the API would not decode --------------------------------------------------------


@pytest.mark.parametrize(
    ("spec_line", "field", "message"),
    [
        (
            "  replicas: 1000000000000000000000000000000\n",
            "spec.replicas",
            'Deployment in version "v1" cannot be handled as a Deployment: json: cannot '
            "unmarshal number 1e+30 into Go struct field DeploymentSpec.spec.replicas of "
            "type int32",
        ),
        (
            "  template:\n    spec:\n      terminationGracePeriodSeconds: 100000000000000000000\n",
            "spec.template.spec.terminationGracePeriodSeconds",
            'Deployment in version "v1" cannot be handled as a Deployment: json: cannot '
            "unmarshal number 100000000000000000000 into Go struct field "
            "PodSpec.spec.template.spec.terminationGracePeriodSeconds of type int64",
        ),
    ],
)
def test_integers_past_int32_or_int64_are_refused(
    tmp_path: Path, spec_line: str, field: str, message: str
) -> None:
    manifest = deployment().replace("spec:\n  template:\n    spec:\n", "spec:\n" + spec_line, 1)
    if "template" not in spec_line:
        manifest = manifest.replace(
            "spec:\n" + spec_line, "spec:\n" + spec_line + "  template:\n    spec:\n"
        )
    with_manifest(tmp_path, manifest)
    err = load_error(tmp_path / "s.yaml")
    assert err.endswith(f": {field}: {message}"), err


def test_a_cpu_limit_past_int64_millicores_is_refused_at_load(tmp_path: Path) -> None:
    manifest = deployment() + "          resources: {limits: {cpu: 1Ei}}\n"
    with_manifest(tmp_path, manifest)
    assert load_error(tmp_path / "s.yaml") == (
        f"{tmp_path / 'dep.yaml'}:12: spec.template.spec.containers[0].resources.limits: "
        "invalid CPU quantity: too large (more than 2^63-1 millicores)"
    )
