"""Intervals over replications (observe/stats.py): the bootstrap interval people read, the t
half-width that --until and compare use, and a record's n."""

from __future__ import annotations

import math

import numpy as np
import pytest

from hpsim.observe.stats import (
    _CACHED_CELLS,
    BOOTSTRAP_RESAMPLES,
    bounds,
    combine,
    expanded_tail,
    interval,
    record,
    t975,
)


def test_zero_restarts_in_two_runs_of_three_give_an_interval_from_0_to_32():
    # The t-interval: mean 32/3, sd 18.475, se 10.667, t(2) = 4.303: 10.67 ± 45.90, that is
    # -35.2 to 56.6, restarts below zero.
    t = interval([0, 0, 32])
    assert t["mean"] == pytest.approx(32 / 3)
    assert t["half_width"] == pytest.approx(4.303 * 32 / 3)
    # The bootstrap: the 27 resamples have a mean of 0 (8 of them), 32/3 (12), 64/3 (6) or 32
    # (1). n = 3 cuts 6.8e-8 off each end (tail below), so the interval is the smallest and
    # the largest mean: 0 to 32, never below 0.
    assert bounds([0, 0, 32]) == (0.0, 32.0)
    assert record([0, 0, 32]) == {
        "mean": pytest.approx(32 / 3),
        "half_width": pytest.approx(4.303 * 32 / 3),
        "n": 3,
        "low": 0.0,
        "high": 32.0,
    }


def test_one_slow_start_in_five_runs():
    # [3, 3, 3, 3, 860] s: the 3,125 resamples hold k copies of 860 with k ~ Binomial(5, 1/5).
    # The tail for n = 5 is 0.000956: P(k = 0) = 0.328 reaches it, so the low end is 3;
    # P(k = 5) = 1/3125 = 0.00032 does not and P(k >= 4) = 21/3125 = 0.0067 does, so the
    # high end is the mean with four 860s: (4 * 860 + 3) / 5 = 688.6.
    assert bounds([3, 3, 3, 3, 860]) == (3.0, pytest.approx(688.6))
    # The t-interval reads 174.4 ± 475.9: down to -301 s.
    assert interval([3, 3, 3, 3, 860])["half_width"] == pytest.approx(475.9, abs=0.1)


def test_the_expanded_tail_by_hand():
    # Phi(-sqrt(n/(n-1)) t_{0.975,n-1}): n = 3: sqrt(1.5) * 4.303 = 5.270, Phi(-5.270) = 6.8e-8;
    # n = 5: sqrt(1.25) * 2.776 = 3.104, Phi = 0.000956; n = 30: 1.01709 * 2.045 = 2.080,
    # Phi = 0.01876. It tends to 2.5%.
    assert expanded_tail(3) == pytest.approx(6.8e-8, rel=0.01)
    assert expanded_tail(5) == pytest.approx(0.000956, rel=0.01)
    assert expanded_tail(30) == pytest.approx(0.01876, rel=0.01)
    assert 0.0247 < expanded_tail(10_000) < 0.025
    assert t975(2) == 4.303


def test_no_interval_below_one_value_and_none_for_equal_values():
    assert bounds([]) == (None, None)
    assert bounds([5.0]) == (None, None)
    assert bounds([None, 5.0, float("nan")]) == (None, None)
    assert bounds([21.8, 21.8, 21.8]) == (21.8, 21.8)
    assert record([None, None]) == {
        "mean": None,
        "half_width": None,
        "n": 0,
        "low": None,
        "high": None,
    }


def test_the_interval_stays_within_the_values_and_covers_the_mean():
    rng = np.random.default_rng(7)
    for n in (2, 3, 4, 6, 12, 30):
        for _ in range(5):
            # Skewed, mostly zero: restarts, evictions, pending time.
            xs = (rng.random(n) < 0.3) * rng.exponential(100.0, n)
            low, high = bounds(list(xs))
            if low is None:
                continue
            assert min(xs) <= low <= np.mean(xs) <= high <= max(xs)


def test_the_same_values_give_the_same_interval_in_any_order():
    xs = list(np.random.default_rng(3).exponential(10.0, 30))
    assert bounds(xs) == bounds(xs) == bounds(list(reversed(xs)))


def test_many_replications_resample_in_blocks_and_agree_with_t():
    # Past _CACHED_CELLS the resamples are drawn a block at a time; for a symmetric sample
    # the interval is close to the t-interval.
    n = _CACHED_CELLS // BOOTSTRAP_RESAMPLES + 100
    xs = list(np.random.default_rng(11).normal(50.0, 5.0, n))
    low, high = bounds(xs)
    t = interval(xs)
    assert low == pytest.approx(t["mean"] - t["half_width"], abs=0.15 * t["half_width"])
    assert high == pytest.approx(t["mean"] + t["half_width"], abs=0.15 * t["half_width"])


def test_combine_counts_n_per_metric_and_keeps_maps():
    runs = [
        {"fresh_node_all_running_s": 220.0, "restarts_by_workload": {"app": 0}},
        {"fresh_node_all_running_s": None, "restarts_by_workload": {"app": 0}},
        {"fresh_node_all_running_s": 230.0, "restarts_by_workload": {"app": 32}},
    ]
    out = combine(runs)
    assert out["fresh_node_all_running_s"] == {
        "mean": 225.0,
        "half_width": pytest.approx(12.706 * 5.0),
        "n": 2,
        "low": 220.0,
        "high": 230.0,
    }
    assert out["restarts_by_workload"]["app"]["low"] == 0.0
    assert out["restarts_by_workload"]["app"]["n"] == 3
    assert not math.isnan(out["restarts_by_workload"]["app"]["high"])


def test_t_quantile_inverts_the_t_distribution():
    """Against the tables (NIST/SEMATECH e-Handbook 1.3.6.7.2): t_{0.995,10} = 3.169,
    t_{0.95,5} = 2.015, t_{0.90,1} = 3.078, t_{0.9995,3} = 12.924; at 0.95 it is t975."""
    from hpsim.observe.stats import t975, t_cdf, t_quantile

    assert t_quantile(0.99, 10) == pytest.approx(3.169, abs=5e-4)
    assert t_quantile(0.90, 5) == pytest.approx(2.015, abs=5e-4)
    assert t_quantile(0.80, 1) == pytest.approx(3.078, abs=5e-4)
    assert t_quantile(0.999, 3) == pytest.approx(12.924, abs=5e-4)
    for df in range(1, 31):
        assert t_quantile(0.95, df) == t975(df)
        assert t_quantile(0.9500001, df) == pytest.approx(t975(df), abs=2e-3)
        assert t_cdf(t975(df), df) == pytest.approx(0.975, abs=1e-4)
