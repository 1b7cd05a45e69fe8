"""Block draws give exactly the numbers numpy's scalar calls give, in the same order."""

from __future__ import annotations

import numpy as np
import pytest

from hpsim.node.draws import Draws


def _pair(seed: int = 11) -> tuple[np.random.Generator, Draws]:
    # A block of 7 crosses block boundaries many times in 50 draws.
    return np.random.default_rng(seed), Draws(np.random.default_rng(seed), block=7)


def test_exponential_matches_scalar_calls() -> None:
    rng, draws = _pair()
    for scale in [0.5, 3.0, 1 / 7.2] * 17:
        assert draws.exponential(scale) == float(rng.exponential(scale))


def test_normal_and_standard_normal_share_one_stream() -> None:
    # The demand stream serves normal and lognormal memory profiles: both standard normals.
    rng, draws = _pair()
    for i in range(50):
        if i % 3:
            assert draws.normal(400e6, 30e6) == float(rng.normal(400e6, 30e6))
        else:
            assert draws.standard_normal() == float(rng.standard_normal())


def test_uniform_matches_scalar_calls() -> None:
    rng, draws = _pair()
    for _ in range(50):
        assert draws.uniform(60.0, 600.0) == float(rng.uniform(60.0, 600.0))


def test_a_stream_refuses_a_second_kind_of_draw() -> None:
    _, draws = _pair()
    draws.exponential(1.0)
    with pytest.raises(RuntimeError, match="asked for exponential and uniform draws"):
        draws.uniform(0.0, 1.0)
