"""Built-in Windows images a scenario can name as a ``base`` or pull directly.

Compressed layer sizes are the docker-library repo-info figures collected in
../shared/reference/windows-node-facts.md §6.1 (layer sizes of the golang
images' bases); the servercore two-layer structure (a base "Apply image"
layer refreshed every few months plus a cumulative monthly "Install update"
layer) is §6.2/6.2a. Layers are identified by the build that produced them,
so two images on the same base share it by digest.

No source gives unpacked (on-disk) sizes: they are the compressed size times
``UNPACKED_RATIO`` (ref §6.3 reports 2-3x observed; a guess, see the issue
notes).
"""

from __future__ import annotations

from dataclasses import dataclass

UNPACKED_RATIO = 2.5  # guess within the 2-3x of ref §6.3


@dataclass(frozen=True)
class CatalogLayer:
    digest: str
    size: int  # compressed bytes
    source: str

    @property
    def unpacked(self) -> int:
        return int(self.size * UNPACKED_RATIO)


@dataclass(frozen=True)
class CatalogImage:
    ref: str
    os_version: str | None
    layers: tuple[CatalogLayer, ...]


def _layer(build: str, kind: str, size: int, source: str) -> CatalogLayer:
    return CatalogLayer(digest=f"sha256:{kind}-{build}", size=size, source=source)


_NANO_1809 = _layer(
    "10.0.17763.3887", "nanoserver", 106_666_138, "repo-info golang 1-nanoserver-1809.md"
)
_NANO_2022 = _layer(
    "10.0.20348.5499", "nanoserver", 124_257_916, "repo-info golang 1-nanoserver-ltsc2022.md"
)
_NANO_2025 = _layer(
    "10.0.26100.33158", "nanoserver", 197_219_393, "repo-info golang 1-nanoserver-ltsc2025.md"
)
_CORE_1809 = _layer(
    "10.0.17763.3887",
    "servercore-apply",
    1_707_943_932,
    "repo-info golang 1-windowsservercore-1809.md",
)
_CORE_2022_BASE = _layer(
    "10.0.20348.4294",
    "servercore-apply",
    1_489_019_076,
    "repo-info golang 1-windowsservercore-ltsc2022.md",
)
_CORE_2022_UPD = _layer(
    "10.0.20348.5499",
    "servercore-update",
    694_978_322,
    "repo-info golang 1-windowsservercore-ltsc2022.md",
)
_CORE_2025_BASE = _layer(
    "10.0.26100.32230",
    "servercore-apply",
    1_523_059_351,
    "repo-info golang 1-windowsservercore-ltsc2025.md",
)
_CORE_2025_UPD = _layer(
    "10.0.26100.33296",
    "servercore-update",
    917_726_084,
    "repo-info golang 1-windowsservercore-ltsc2025.md",
)
_SERVER_2022 = _layer(
    "10.0.20348",
    "server",
    3_014_000_000,
    "[OBS] microsoft/Windows-Containers#607 (3.014GB extracting)",
)
# "a few KB" (microsoft/windows-host-process-containers-base-image README).
_HPC_BASE = _layer("v1.0.0", "hostprocess-base", 8_192, "base-image README: a few KB")
# The pause image's size is not in the reference: a nanoserver-sized guess.
_PAUSE = _layer("3.8", "pause-windows", 110_000_000, "guess: nanoserver-based")

_MCR = "mcr.microsoft.com/windows"
IMAGES: dict[str, CatalogImage] = {}


def _add(refs: list[str], os_version: str | None, *layers: CatalogLayer) -> None:
    for ref in refs:
        IMAGES[ref] = CatalogImage(ref=ref, os_version=os_version, layers=tuple(layers))


_add([f"{_MCR}/nanoserver:1809", f"{_MCR}/nanoserver:ltsc2019"], "10.0.17763.3887", _NANO_1809)
_add([f"{_MCR}/nanoserver:ltsc2022"], "10.0.20348.5499", _NANO_2022)
_add([f"{_MCR}/nanoserver:ltsc2025"], "10.0.26100.33158", _NANO_2025)
_add([f"{_MCR}/servercore:1809", f"{_MCR}/servercore:ltsc2019"], "10.0.17763.3887", _CORE_1809)
_add([f"{_MCR}/servercore:ltsc2022"], "10.0.20348.5499", _CORE_2022_BASE, _CORE_2022_UPD)
_add([f"{_MCR}/servercore:ltsc2025"], "10.0.26100.33296", _CORE_2025_BASE, _CORE_2025_UPD)
_add([f"{_MCR}/server:ltsc2022"], "10.0.20348", _SERVER_2022)
_add(
    ["mcr.microsoft.com/oss/kubernetes/windows-host-process-containers-base-image:v1.0.0"],
    None,
    _HPC_BASE,
)
for _pause in (
    "registry.k8s.io/pause:3.8",
    "registry.k8s.io/pause:3.9",
    "registry.k8s.io/pause:3.10",
    "mcr.microsoft.com/oss/kubernetes/pause:3.9",
):
    _add([_pause], None, _PAUSE)


def lookup(ref: str) -> CatalogImage | None:
    """A built-in image by reference (``docker.io/`` and ``:latest`` are not implied)."""
    return IMAGES.get(ref)
