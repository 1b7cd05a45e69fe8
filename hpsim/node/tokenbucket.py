"""kubelet's limit on image pulls: a token bucket in front of the runtime's PullImage.

k/k pkg/kubelet/images/helpers.go ``throttleImagePulling`` wraps the image service in
``flowcontrol.NewTokenBucketRateLimiter(registryPullQPS, registryBurst)`` (client-go
util/flowcontrol/throttle.go: a golang.org/x/time/rate Limiter) and asks ``TryAccept``
for each pull; with no token the pull fails at once with "pull QPS exceeded". The
serial and parallel pullers call the wrapped service (image_manager.go
``NewImageManager``), so a token is taken when a pull leaves kubelet's queue, not when it
joins it. The bucket starts full (x/time/rate ``advance`` from the zero time), gains
``qps`` tokens a second and holds at most ``burst``; a refused pull takes nothing
(``reserveN`` updates the state only when it allows).
"""

from __future__ import annotations

PULL_QPS_EXCEEDED = "pull QPS exceeded"  # helpers.go throttledImageService.PullImage


class TokenBucket:
    """``TryAccept`` of client-go's token-bucket rate limiter, on simulated time."""

    def __init__(self, qps: float, burst: int, now: float = 0.0) -> None:
        self.qps = qps
        self.burst = burst
        self._tokens = float(burst)
        self._last = now

    def try_accept(self, now: float) -> bool:
        """Take a token if one is there at ``now``."""
        tokens = min(float(self.burst), self._tokens + (now - self._last) * self.qps)
        if tokens < 1.0:
            return False
        self._tokens = tokens - 1.0
        self._last = now
        return True
