"""containerd's Windows platform matcher: which manifest-list entry a Windows node pulls.

A pull resolves the reference; when it names a manifest list (an OCI index) containerd
keeps the entries whose platform matches the host's and fails with "no match for
platform in manifest: not found" when none does (containerd images/handlers.go
``LimitManifests``, 2.x core/images/handlers.go), before any layer is fetched. A
single-image manifest carries no platform in its descriptor: ``FilterPlatforms`` and
``LimitManifests`` let it through and the CRI pulls and unpacks it whatever its config's
OS version (the local unpacker matches ``platforms.All``, client/pull.go), so such an
image of another build fails only when HCS starts a process-isolated container of it.

The host's platform is ``windows/amd64`` with OSVersion ``major.minor.build`` from
``RtlGetNtVersionNumbers`` (platforms defaults_windows.go ``DefaultSpec``). How an entry's
OSVersion is compared has changed three times:

- containerd 1.6.0-1.6.17 (and before 1.6): the entry matches when its OSVersion starts
  with the host's ``major.minor.build`` (``strings.HasPrefix``, tag v1.6.0
  platforms/defaults_windows.go ``matchComparer.Match``); an entry with no OSVersion never
  matches. That is containerd/containerd#7431: a HostProcess image in a manifest list,
  whose entry has no OSVersion, could not be pulled (the HostProcess base image's README
  says to publish such images as single manifests without platform information).
- 1.6.18 and 1.7.0: an entry with no OSVersion matches too (containerd commit 844252164,
  "Add fallback for windows platforms without osversion", 2023-02; containerd/platforms
  a51ed70). The build must still match exactly.
- 1.6.23 and 1.7.6 (hcsshim osversion ``CheckHostAndContainerCompat``, containerd/platforms
  79d55ed "Invoke Stable ABI compatibility function", 2023-07) and every 2.x: a host older
  than Windows Server 2022 (build 20348) needs the exact build; a newer host runs entries
  from the previous LTSC up to its own build (containerd/platforms
  platform_windows_compat.go ``checkWindowsHostAndContainerCompat``, ``compatLTSCReleases``):
  a WS2022 host takes 20348 only, a WS2025 host (26100) takes 20348-26100. From
  containerd 2.2 (containerd/platforms v1.0.0-rc.2, "Add WS2025 to Windows matcher") a host
  past 26100 takes 26100 up to its own build, no longer 20348; containerd/platforms
  v1.0.0-rc.5 restores 20348 there ("Fix WS2022 compat on hosts past the latest LTSC",
  vendored by containerd/containerd#14001, on main only when this was written).
"""

from __future__ import annotations

from hpsim.scenario.schema import version_tuple

WS2022 = 20348  # the first stable-ABI LTSC (containerd/platforms ltsc2022)
WS2025 = 26100  # containerd/platforms ltsc2025

_FALLBACK_FROM = (1, 6, 18)  # an entry with no OSVersion matches
_COMPAT_16 = ((1, 6, 23), (1, 7, 0))  # 1.6.23 up to (not including) 1.7.0
_COMPAT_FROM = (1, 7, 6)
_LTSC2025_FLOOR_FROM = (2, 2, 0)  # platforms v1.0.0-rc.2 to rc.4


def _parts(os_version: str) -> tuple[int, int, int] | None:
    """``10.0.20348.2227`` -> (10, 0, 20348); None when not three numbers (Go's zero value)."""
    bits = os_version.split(".")
    if len(bits) < 3 or not all(b.isdigit() for b in bits[:3]):
        return None
    return int(bits[0]), int(bits[1]), int(bits[2])


def entry_matches(host_os_build: str, containerd: str, entry_os_version: str | None) -> bool:
    """Whether containerd ``containerd`` on a host of ``host_os_build`` takes a Windows
    manifest-list entry whose platform OSVersion is ``entry_os_version`` (None: none set)."""
    version = version_tuple(containerd)
    host = _parts(host_os_build)
    if host is None:
        return False
    if not entry_os_version:
        return version >= _FALLBACK_FROM
    compat = version >= _COMPAT_FROM or _COMPAT_16[0] <= version < _COMPAT_16[1]
    if not compat:
        return entry_os_version.startswith(".".join(str(p) for p in host))
    entry = _parts(entry_os_version)
    if entry is None or entry[:2] != host[:2]:
        return False
    build, image = host[2], entry[2]
    if build < WS2022:
        return image == build
    floor = WS2025 if version >= _LTSC2025_FLOOR_FROM and build > WS2025 else WS2022
    return floor <= image <= build


def no_match_error(ref: str) -> str:
    """containerd's words when no entry matches (``LimitManifests``, wrapped by the CRI's
    "failed to pull and unpack image"); the CRI returns it as gRPC NotFound."""
    return f'failed to pull and unpack image "{ref}": no match for platform in manifest: not found'
