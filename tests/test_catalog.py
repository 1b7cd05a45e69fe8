"""The image catalogue against its sources (docker-library/repo-info) and its data file."""

from __future__ import annotations

import itertools
import json
from dataclasses import replace
from importlib import resources

import pytest
import yaml

from hpsim.cli import main
from hpsim.errors import HpsimError
from hpsim.scenario import catalog
from hpsim.scenario.catalog import IMAGES, UNPACKED_RATIO, CatalogImage, CatalogLayer, lookup

CORE = "mcr.microsoft.com/windows/servercore"
NANO = "mcr.microsoft.com/windows/nanoserver"
HPC_BASE = "mcr.microsoft.com/oss/kubernetes/windows-host-process-containers-base-image:v1.0.0"
PAUSES = (
    "registry.k8s.io/pause:3.8",
    "registry.k8s.io/pause:3.9",
    "registry.k8s.io/pause:3.10",
    "mcr.microsoft.com/oss/kubernetes/pause:3.9",
)

# repo-info image histories: each "Apply image" base and the monthly builds seen on top of it.
TIMELINE = {
    "10.0.20348.643": ["10.0.20348.887"],
    "10.0.20348.1487": ["10.0.20348.1547"],
    "10.0.20348.1787": ["10.0.20348.2227", "10.0.20348.2582"],
    "10.0.20348.2700": ["10.0.20348.3692"],
    "10.0.20348.4294": [f"10.0.20348.{r}" for r in (4773, 4893, 5139, 5256, 5499, 5622)],
}


def _image(ref: str) -> CatalogImage:
    image = lookup(ref)
    assert image is not None, ref
    return image


def _digests(ref: str) -> set[str]:
    return {lay.digest for lay in _image(ref).layers}


def _raw() -> dict:
    text = (resources.files("hpsim") / "data" / catalog.DATA_FILE).read_text(encoding="utf-8")
    return yaml.safe_load(text)


# -- sizes: repo-info exactly ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("ref", "sizes"),
    [
        (f"{CORE}:10.0.20348.5499", (1_489_019_076, 694_978_322)),
        (f"{CORE}:10.0.26100.33296", (1_523_059_351, 917_726_084)),
        (f"{CORE}:10.0.17763.3887", (1_707_943_932,)),
        (f"{CORE}:ltsc2019", (1_707_943_932,)),
        (f"{CORE}:1809", (1_707_943_932,)),
        (f"{NANO}:10.0.17763.3887", (106_666_138,)),
        (f"{NANO}:10.0.20348.5499", (124_257_916,)),
        (f"{NANO}:10.0.26100.33158", (197_219_393,)),
        ("mcr.microsoft.com/windows/server:ltsc2022", (3_014_000_000,)),
        ("mcr.microsoft.com/windows:ltsc2019", (3_400_000_000,)),
    ],
)
def test_sourced_sizes_match_the_reference(ref, sizes):
    image = _image(ref)
    assert tuple(lay.size for lay in image.layers) == sizes
    assert not image.estimate
    assert image.size == sum(sizes)


def test_servercore_5499_is_the_4294_base_plus_its_update():
    image = _image(f"{CORE}:10.0.20348.5499")
    assert image.os_version == "10.0.20348.5499"
    assert image.base_build == "10.0.20348.4294"
    assert [lay.kind for lay in image.layers] == ["servercore-apply", "servercore-update"]
    assert [lay.build for lay in image.layers] == ["10.0.20348.4294", "10.0.20348.5499"]
    assert "repos/golang/" in image.layers[0].source and "repo-info" in image.layers[0].source


# -- layer sharing: repo-info image histories -----------------------------------------------------


def test_jan_and_jul_2024_share_the_1787_base_and_differ_only_in_the_update():
    jan, jul = _image(f"{CORE}:10.0.20348.2227"), _image(f"{CORE}:10.0.20348.2582")
    refresh = _image(f"{CORE}:10.0.20348.1787")
    assert jan.layers[0] == jul.layers[0] == refresh.layers[0]
    assert jan.layers[0].build == "10.0.20348.1787"
    assert jan.layers[1].digest != jul.layers[1].digest
    assert _digests(jan.ref) ^ _digests(jul.ref) == {jan.layers[1].digest, jul.layers[1].digest}


def test_jul_and_sep_2024_share_nothing():
    assert not _digests(f"{CORE}:10.0.20348.2582") & _digests(f"{CORE}:10.0.20348.2700")


@pytest.mark.parametrize("base", TIMELINE)
def test_every_month_shares_its_base_layer_exactly(base):
    refresh = _image(f"{CORE}:{base}")
    assert len(refresh.layers) == 1  # the refresh build is the base alone
    base_digest = refresh.layers[0].digest
    for build in TIMELINE[base]:
        image = _image(f"{CORE}:{build}")
        assert [lay.build for lay in image.layers] == [base, build]
        assert image.layers[0].digest == base_digest
    other_bases = {_image(f"{CORE}:{b}").layers[0].digest for b in TIMELINE if b != base}
    assert base_digest not in other_bases


def test_each_update_layer_is_its_own_blob():
    by_build: dict[str, set[str]] = {}
    for image in catalog.entries():
        for lay in image.layers:
            if lay.kind == "servercore-update":
                by_build.setdefault(lay.build, set()).add(lay.digest)
    assert len(by_build) == sum(len(builds) for builds in TIMELINE.values()) + 1  # + ltsc2025
    assert all(len(d) == 1 for d in by_build.values())
    assert len({d for ds in by_build.values() for d in ds}) == len(by_build)


def test_ltsc2025_servercore_shares_the_32230_base():
    refresh, aug = _image(f"{CORE}:10.0.26100.32230"), _image(f"{CORE}:10.0.26100.33296")
    assert refresh.layers == aug.layers[:1]
    assert aug.base_build == "10.0.26100.32230"


def test_nanoserver_months_share_nothing():
    nanos = {img.os_version: img for img in catalog.entries() if img.ref.startswith(f"{NANO}:")}
    assert len(nanos) >= 10
    for a, b in itertools.combinations(nanos.values(), 2):
        assert len(a.layers) == len(b.layers) == 1
        assert not {lay.digest for lay in a.layers} & {lay.digest for lay in b.layers}, (a, b)


def test_servercore_and_nanoserver_share_nothing():
    core = {lay.digest for i in catalog.entries() if i.ref.startswith(CORE) for lay in i.layers}
    nano = {lay.digest for i in catalog.entries() if i.ref.startswith(NANO) for lay in i.layers}
    assert not core & nano


# -- tags ------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("ref", "newest"),
    [
        (f"{CORE}:ltsc2022", "10.0.20348.5622"),
        (f"{CORE}:ltsc2019", "10.0.17763.3887"),
        (f"{CORE}:1809", "10.0.17763.3887"),
        (f"{CORE}:ltsc2025", "10.0.26100.33296"),
        (f"{NANO}:ltsc2022", "10.0.20348.5622"),
        (f"{NANO}:ltsc2019", "10.0.17763.3887"),
        (f"{NANO}:1809", "10.0.17763.3887"),
        (f"{NANO}:ltsc2025", "10.0.26100.33296"),
    ],
)
def test_floating_tags_resolve_to_the_newest_build(ref, newest):
    image = _image(ref)
    assert image.os_version == newest
    assert image.layers == _image(f"{ref.rpartition(':')[0]}:{newest}").layers


def test_floating_tags_are_the_newest_of_their_build_in_the_catalogue():
    builds = {"1809": 17763, "ltsc2019": 17763, "ltsc2022": 20348, "ltsc2025": 26100}
    for repo in (CORE, NANO):
        patch_builds = [
            i.os_version for i in catalog.entries() if i.ref == f"{repo}:{i.os_version}"
        ]
        for tag, build in builds.items():
            same = [v for v in patch_builds if v.split(".")[2] == str(build)]
            newest = max(same, key=lambda v: tuple(map(int, v.split("."))))
            assert _image(f"{repo}:{tag}").os_version == newest


def test_every_6_2a_build_is_addressable_by_tag():
    for base, builds in TIMELINE.items():
        for build in [base, *builds]:
            assert _image(f"{CORE}:{build}").os_version == build
            assert _image(f"{NANO}:{build}").os_version == build


def test_unknown_refs_are_not_implied():
    assert lookup("mcr.microsoft.com/windows/servercore") is None
    assert lookup("windows/servercore:ltsc2022") is None
    assert lookup(f"{CORE}:10.0.20348.9999") is None


# -- HostProcess base, pause, server/windows ------------------------------------------------------


def test_hostprocess_base_is_a_few_kb_with_no_os_version():
    image = _image(HPC_BASE)
    assert image.os_version is None
    assert image.base_build is None
    assert [lay.size for lay in image.layers] == [8192]
    assert image.estimate and image.layers[0].rule


@pytest.mark.parametrize("ref", PAUSES)
def test_pause_images_are_one_estimated_layer_each(ref):
    image = _image(ref)
    assert image.os_version is None
    assert len(image.layers) == 1 and image.layers[0].estimate
    others = [p for p in PAUSES if p != ref]
    assert not any(_digests(ref) & _digests(p) for p in others)


def test_server_and_windows_images():
    assert _image("mcr.microsoft.com/windows/server:ltsc2022").os_version == "10.0.20348"
    ltsc2025 = _image("mcr.microsoft.com/windows/server:ltsc2025")
    assert ltsc2025.estimate and ltsc2025.os_version == "10.0.26100"
    ltsc2019 = _image("mcr.microsoft.com/windows:ltsc2019")
    assert _image("mcr.microsoft.com/windows:1809") == replace(
        ltsc2019, ref="mcr.microsoft.com/windows:1809"
    )


def test_the_estimates_are_exactly_these():
    """Every size no source gives; adding one must be deliberate (and marked with its rule)."""
    estimated = {lay.id for image in catalog.entries() for lay in image.layers if lay.estimate}
    assert estimated == {
        "nanoserver-10.0.20348.643",
        "nanoserver-10.0.20348.1487",
        "nanoserver-10.0.20348.1787",
        "nanoserver-10.0.20348.2700",
        "nanoserver-10.0.20348.4294",
        "server-ltsc2025",
        "hostprocess-base-v1.0.0",
        "pause-registry.k8s.io-3.8",
        "pause-registry.k8s.io-3.9",
        "pause-registry.k8s.io-3.10",
        "pause-mcr-3.9",
    }


def test_estimated_nanoserver_months_take_the_nearest_sourced_month():
    sourced = {
        int(i.os_version.split(".")[3]): i.size
        for i in catalog.entries()
        if i.ref.startswith(f"{NANO}:10.0.20348.") and not i.estimate
    }
    for image in catalog.entries():
        if image.ref.startswith(f"{NANO}:10.0.20348.") and image.estimate:
            rev = int(image.os_version.split(".")[3])
            nearest = min(sourced, key=lambda r: abs(r - rev))
            assert image.size == sourced[nearest]


# -- unpacked ratio --------------------------------------------------------------------------------


def test_unpacked_is_compressed_times_the_default_ratio():
    assert UNPACKED_RATIO == 2.5
    for image in IMAGES.values():
        for lay in image.layers:
            assert lay.unpacked == int(lay.size * 2.5)


def test_a_scenario_can_override_the_ratio():
    ref = f"{CORE}:10.0.20348.5499"
    two = lookup(ref, unpacked_ratio=2.0)
    assert [lay.unpacked for lay in two.layers] == [2_978_038_152, 1_389_956_644]
    assert _image(ref).with_ratio(3).unpacked == 3 * 2_183_997_398
    assert [lay.digest for lay in two.layers] == [lay.digest for lay in _image(ref).layers]
    assert _image(ref).layers[0].unpacked == int(1_489_019_076 * 2.5)  # the catalogue is unchanged
    with pytest.raises(HpsimError, match="above 0"):
        lookup(ref, unpacked_ratio=0)


def test_the_first_versions_constructors_still_work():
    lay = CatalogLayer("sha256:x", 100, "somewhere")
    assert (lay.unpacked, lay.estimate) == (250, False)
    image = CatalogImage("a:1", None, (lay,))
    assert image.size == 100 and image.unpacked == 250


# -- the data file ---------------------------------------------------------------------------------


def test_the_data_file_is_consistent():
    data = _raw()
    ids = [lay["id"] for lay in data["layers"]]
    assert len(ids) == len(set(ids))
    for lay in data["layers"]:
        assert isinstance(lay["size"], int) and lay["size"] > 0, lay["id"]
        assert lay["source"].strip(), lay["id"]
        if lay.get("estimate"):
            assert lay.get("rule"), lay["id"]
        if "digest" in lay:
            assert len(lay["digest"]) == len("sha256:") + 64, lay["id"]
    referenced = {lid for image in data["images"] for lid in image["layers"]}
    assert referenced == set(ids)  # every referenced layer exists, every layer is used


def test_every_ref_of_the_data_file_is_catalogued():
    data = _raw()
    listed = {f"{i['repo']}:{t}" for i in data["images"] for t in i["tags"]}
    assert listed <= set(IMAGES)
    floating = {ref for ref in IMAGES if ref not in listed}
    assert {ref.rpartition(":")[2] for ref in floating} <= set(data["floating"])


def test_the_packaged_file_is_read_once():
    assert catalog.load() is catalog.load() is IMAGES


@pytest.mark.parametrize(
    ("mutate", "message"),
    [
        (lambda d: d["images"][0]["layers"].append("no-such-layer"), "no layer with id"),
        (lambda d: d["layers"][0].update(size=0), "positive number of bytes"),
        (lambda d: d["layers"][0].update(estimate=True), "must state the rule"),
        (lambda d: d["layers"][1].update(digest=d["layers"][0]["digest"]), "digest also used"),
        (lambda d: d["images"].append(dict(d["images"][0])), "listed twice"),
        (lambda d: d["layers"].append({**d["layers"][0], "id": "x", "digest": None}), "no image"),
        (lambda d: d["layers"][0].update(sizes=1), "unknown key"),
    ],
)
def test_a_broken_data_file_is_refused_with_its_field(tmp_path, mutate, message):
    data = _raw()
    mutate(data)
    path = tmp_path / "images.yaml"
    path.write_text(yaml.safe_dump(data), encoding="utf-8")
    with pytest.raises(HpsimError, match=message) as err:
        catalog.load(path)
    assert err.value.file == str(path) and err.value.field


# -- hpsim catalog ---------------------------------------------------------------------------------


def test_cli_catalog_json_lists_every_ref(capsys):
    assert main(["catalog", "-o", "json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert sorted(r["ref"] for r in rows) == sorted(IMAGES)
    row = next(r for r in rows if r["ref"] == f"{CORE}:10.0.20348.5499")
    assert row["compressedBytes"] == 1_489_019_076 + 694_978_322
    assert row["unpackedBytes"] == int(1_489_019_076 * 2.5) + int(694_978_322 * 2.5)
    assert row["baseBuild"] == "10.0.20348.4294" and row["estimate"] is False
    assert [lay["compressedBytes"] for lay in row["layers"]] == [1_489_019_076, 694_978_322]
    assert all(row["sources"] for row in rows)
    hpc = next(r for r in rows if r["ref"] == HPC_BASE)
    assert hpc["osVersion"] is None and hpc["estimate"] is True


def test_cli_catalog_text_is_an_aligned_table(capsys):
    assert main(["catalog", "--unpacked-ratio", "2"]) == 0
    out = capsys.readouterr().out
    lines = out.splitlines()
    header = lines[0]
    rows = [line for line in lines[1 : len(IMAGES) + 1]]
    assert len(rows) == len(IMAGES)
    assert {r.split()[0] for r in rows} == set(IMAGES)
    os_col = header.index("OS VERSION")
    assert all(r[os_col - 2 : os_col] == "  " for r in rows)  # the second column lines up
    row = next(r for r in rows if r.startswith(f"{CORE}:10.0.20348.5499 "))
    assert "2,183,997,398" in row
    assert "compressed x 2 " in out
    assert "[1] " in out and "repo-info" in out
