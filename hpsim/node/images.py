"""The images a node can pull: the scenario's own, on top of catalogue bases.

An image the scenario neither lists nor the catalogue knows cannot be pulled:
the registry answers NotFound, as it does for a placeholder tag such as the
``VERSION`` left in sig-windows-tools' kube-proxy manifest.

A scenario image is a single manifest unless it says ``manifestList: true`` (images
pushed by ``docker build``/``docker push`` are; multi-platform ones built with buildx or
manifest-tool are lists): containerd pulls a single manifest whatever its OS version, and
only matches a manifest list's entry against the host (hpsim.node.platforms).
"""

from __future__ import annotations

from dataclasses import replace

from hpsim.errors import HpsimError, excerpt
from hpsim.node.containerd import Image, Layer
from hpsim.scenario import catalog
from hpsim.scenario.schema import ImageSpec, NodeSpec, Scenario


def _from_catalog(ref: str, ratio: float = catalog.UNPACKED_RATIO) -> Image | None:
    entry = catalog.lookup(ref, unpacked_ratio=ratio)
    if entry is None:
        return None
    layers = tuple(
        Layer(digest=lay.digest, size=lay.size, unpacked=lay.unpacked) for lay in entry.layers
    )
    return Image(
        ref=ref, layers=layers, os_version=entry.os_version, manifest_list=entry.manifest_list
    )


def _resolve(name: str, known: dict[str, ImageSpec], ratio: float, done: dict[str, Image]) -> Image:
    """Scenario image ``name`` on top of its bases, each resolved once into ``done``.

    Iterative: a chain of bases thousands deep needs no recursion. The scenario loader
    has refused cycles and unknown bases; they raise HpsimError here too.
    """
    chain: list[ImageSpec] = []  # name, its base, its base's base, ...
    seen: set[str] = set()
    below: Image | None = None  # the image under the deepest one in ``chain``
    ref: str | None = name
    while ref is not None:
        if ref in done:
            below = done[ref]
            break
        spec = known[ref]
        if spec.name in seen:
            raise HpsimError(f'image "{excerpt(name)}": its bases form a cycle')
        seen.add(spec.name)
        chain.append(spec)
        if not spec.base:
            break
        below = _from_catalog(spec.base, ratio)
        if below is not None:
            break
        if spec.base not in known:
            raise HpsimError(
                f'image "{excerpt(spec.name)}": unknown base "{excerpt(spec.base)}" '
                "(see `hpsim catalog` for the built-in bases)"
            )
        ref = spec.base
    for spec in reversed(chain):
        below = done[spec.name] = _stack(spec, below if spec.base else None, ratio)
    assert below is not None  # chain is not empty unless name was already done
    return below


def _stack(spec: ImageSpec, base: Image | None, ratio: float) -> Image:
    """``spec``'s own layers on top of ``base``'s."""
    own = tuple(
        Layer(
            digest=lay.digest or f"sha256:{spec.name}#{i}",
            size=lay.size,
            unpacked=lay.unpacked if lay.unpacked is not None else int(lay.size * ratio),
        )
        for i, lay in enumerate(spec.layers)
    )
    if base is None:
        return Image(
            ref=spec.name, layers=own, os_version=spec.os_version, manifest_list=spec.manifest_list
        )
    # A manifest list or not is how the image itself is published, not its base.
    return Image(
        ref=spec.name,
        layers=base.layers + own,
        os_version=spec.os_version or base.os_version,
        manifest_list=spec.manifest_list,
    )


def resolve_images(scenario: Scenario, node: NodeSpec | None = None) -> dict[str, Image]:
    """Every pullable image: the scenario's (which win) and the catalogue's.

    The pause images are manifest lists with an entry per Windows build, each built FROM
    that build's nanoserver (kubernetes/kubernetes build/pause/Dockerfile_windows): the node
    pulls the entry of its own build, so the pause image counts on the nanoserver of the
    host's LTSC release (its own blob: built at another time, it shares no layer).
    """
    node = node or scenario.first_node
    known = {s.name: s for s in scenario.images}
    ratio = node.unpacked_ratio
    out = {ref: img for ref in catalog.IMAGES if (img := _from_catalog(ref, ratio)) is not None}
    base = _host_nanoserver(node.os_build)
    for ref in catalog.IMAGES:
        entry = catalog.lookup(ref)
        if base is not None and entry is not None and entry.layers[0].kind == "pause":
            out[ref] = replace(out[ref], os_version=base)
    done: dict[str, Image] = {}
    for spec in scenario.images:
        out[spec.name] = _resolve(spec.name, known, ratio, done)
    return out


def _host_nanoserver(os_build: str) -> str | None:
    """The OS version of the catalogue's nanoserver for the host's LTSC release, if any."""
    tag = catalog.LTSC_TAG.get(build_of(os_build) or 0)
    entry = catalog.lookup(f"mcr.microsoft.com/windows/nanoserver:{tag}") if tag else None
    return entry.os_version if entry is not None else None


def build_of(os_version: str | None) -> int | None:
    """``10.0.20348.5499`` -> 20348."""
    if not os_version:
        return None
    parts = os_version.split(".")
    return int(parts[2]) if len(parts) >= 3 and parts[2].isdigit() else None


def process_isolation_compatible(host_build: int, image_os_version: str | None) -> bool:
    """Whether a process-isolated container of this image runs on this host.

    ltsc2019 and older hosts need the exact build; WS2022+ hosts run images
    from 20348 up to their own build (containerd/platforms
    platform_windows_compat.go ``compatLTSCReleases``).
    """
    image_build = build_of(image_os_version)
    if image_build is None:
        return True
    if host_build < 20348:
        return image_build == host_build
    return 20348 <= image_build <= host_build
