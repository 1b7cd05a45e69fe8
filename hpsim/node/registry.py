"""The image registry as a node sees it: up or down, throttled or not, and containerd's words.

Scenario events open and close the windows (``events: - {at: 2h, registry: {outage:
30m}}``, ``{registry: {throttle: {rate: 5MB/s, for: 1h}}}``); windows may overlap: the
registry is down while any outage is open and serves at the lowest rate of the throttles
open. No source says what an outage looks like on the wire; hpsim's model of one:

- every pull that starts resolves its reference first (a HEAD of the manifest), and
  the registry answers ``503 Service Unavailable``. containerd does not retry a 503 in
  1.x (remotes/docker/resolver.go ``retryRequest``: "TODO: Handle 50x errors") and
  retries it once in 2.x (core/remotes/docker/resolver.go, "Do not retry if the same
  error was seen in the last request"): the pull fails at once, before any byte moves,
  with ``unexpected status from HEAD request to <url>: 503 Service Unavailable``
  (remotes/errors/errors.go ``ErrUnexpectedStatus``), a gRPC Unknown for kubelet;
- downloads already under way get no more bytes until the outage ends: the connections
  stay open and idle. containerd's progress reporter cancels a pull that reads nothing
  for ``image_pull_progress_timeout`` (hpsim.node.containerd).

A throttle caps the rate the registry serves the node at; the downloads in flight
share the lower of it and the node's own link.
"""

from __future__ import annotations

from collections.abc import Callable

from hpsim.scenario.schema import version_tuple

# containerd 2.1 moved the CRI's pulls to the transfer service unless an option it does not
# support is set, discard_unpacked_layers among them (internal/cri/server/images/
# image_pull.go ``PullImage``; internal/cri/config/config.go ``CheckLocalImagePullConfigs``).
TRANSFER_SERVICE_FROM = (2, 1, 0)
# From containerd 2.3 RunPodSandbox returns the sandbox image's pull error itself
# (internal/cri/server/sandbox_run.go ``ensurePauseImageExists``, commit 842528d86); before,
# the pod sandbox controller wrapped it in "failed to get sandbox image"
# (pkg/cri/server/sandbox_run.go, 2.x internal/cri/server/podsandbox/sandbox_run.go).
SANDBOX_PULL_IN_CRI_FROM = (2, 3, 0)


class Registry:
    """The registry's state over time; ``on_change`` hears every change."""

    def __init__(self, on_change: Callable[[], None] | None = None) -> None:
        self._outages = 0
        self._throttles: list[float] = []
        self._on_change = on_change or (lambda: None)

    @property
    def down(self) -> bool:
        return self._outages > 0

    @property
    def rate_cap(self) -> float | None:
        """The rate the registry serves at (bytes/s), None when it is not throttled."""
        return min(self._throttles) if self._throttles else None

    def outage(self, begins: bool) -> None:
        self._outages += 1 if begins else -1
        self._on_change()

    def throttle(self, rate: float, begins: bool) -> None:
        if begins:
            self._throttles.append(rate)
        else:
            self._throttles.remove(rate)
        self._on_change()


def manifest_url(ref: str) -> str:
    """The URL containerd's resolver sends its HEAD to for ``ref``.

    The registry host is the reference's first component when that holds a "." or ":" or
    is "localhost", else docker.io, whose API host is registry-1.docker.io (distribution
    reference ``splitDockerDomain``; containerd remotes/docker/config/hosts.go); a
    docker.io name of one component is under "library/". A tag (default "latest") or a
    digest names the manifest (remotes/docker/resolver.go ``Resolve``: /v2/<name>/manifests/).
    """
    name, _, digest = ref.partition("@")
    tag = ""
    slash = name.rfind("/")
    colon = name.rfind(":")
    if colon > slash:
        name, tag = name[:colon], name[colon + 1 :]
    first, _, rest = name.partition("/")
    if rest and ("." in first or ":" in first or first == "localhost"):
        host, path = first, rest
    else:
        host, path = "registry-1.docker.io", name if rest else f"library/{name}"
    return f"https://{host}/v2/{path}/manifests/{digest or tag or 'latest'}"


def unavailable_error(ref: str, containerd: str, *, discard_unpacked_layers: bool) -> str:
    """containerd's words for a pull whose resolve the registry answers with 503.

    1.x and 2.0 pull through the client (client/pull.go ``fetch``: "failed to resolve
    reference"); from 2.1 through the transfer service (core/transfer/local/pull.go:
    "failed to resolve image"). The CRI wraps both in "failed to pull and unpack image".
    """
    status = f"unexpected status from HEAD request to {manifest_url(ref)}: 503 Service Unavailable"
    resolve = (
        "failed to resolve image"
        if _transfer_service(containerd, discard_unpacked_layers)
        else f'failed to resolve reference "{ref}"'
    )
    return f'failed to pull and unpack image "{ref}": {resolve}: {status}'


def _transfer_service(containerd: str, discard_unpacked_layers: bool) -> bool:
    return version_tuple(containerd) >= TRANSFER_SERVICE_FROM and not discard_unpacked_layers


def not_found_error(ref: str, containerd: str, *, discard_unpacked_layers: bool) -> str:
    """containerd's words for an image the registry does not have (a 404 on the manifest:
    the resolver's ``"%s: %w", ref, errdefs.ErrNotFound``), a gRPC NotFound for kubelet."""
    resolve = (
        "failed to resolve image"
        if _transfer_service(containerd, discard_unpacked_layers)
        else f'failed to resolve reference "{ref}"'
    )
    return f'failed to pull and unpack image "{ref}": {resolve}: {ref}: not found'


def cancelled_error(ref: str) -> str:
    """A pull containerd's progress reporter cancelled: its context is cancelled, the CRI
    wraps the error, a gRPC Canceled (kubernetes/kubernetes#131521, containerd 1.7:
    "rpc error: code = Canceled desc = failed to pull and unpack image ...: context
    canceled"; the same CRI wrapping in 2.x, internal/cri/server/images/image_pull.go)."""
    return f'failed to pull and unpack image "{ref}": context canceled'


def sandbox_error(ref: str, containerd: str, pull_error: str) -> str:
    """RunPodSandbox's error when the sandbox image's pull failed (before the gRPC wrapping)."""
    pulled = f'failed to pull image "{ref}": {pull_error}'
    if version_tuple(containerd) >= SANDBOX_PULL_IN_CRI_FROM:
        return pulled
    return f'failed to get sandbox image "{ref}": {pulled}'
