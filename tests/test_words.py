"""Numbers as people read them (hpsim/words.py), and the summary ``hpsim run`` prints."""

from __future__ import annotations

import io

import pytest

from hpsim.observe.output import print_summary
from hpsim.observe.stats import combine
from hpsim.words import (
    bytes_words,
    cores_words,
    count_words,
    duration_words,
    interval_words,
    metric_words,
    percent_words,
    rate_words,
    unit_words,
    with_interval,
)

Ki, Mi, Gi, Ti = 2**10, 2**20, 2**30, 2**40


@pytest.mark.parametrize(
    ("n", "text"),
    [
        (0, "0 B"),
        (999, "999 B"),
        (8192, "8.0 KiB"),
        (5 * Mi, "5 MiB"),
        (574 * Mi, "574 MiB"),
        (999 * Mi, "999 MiB"),
        (1000 * Mi, "1.0 GiB"),  # never "1,000 MiB"
        (1536 * Mi, "1.5 GiB"),
        (123_916_063_217.6, "115.4 GiB"),  # the disk_actual_bytes_peak
        (4_656_382_991.7, "4.3 GiB"),  # and memory_committed_bytes_peak
        (30_204_792_437, "28.1 GiB"),  # and notebook 01's 3.020479e+10
        (3 * Ti, "3.0 TiB"),
        (-2 * Gi, "-2.0 GiB"),
        (None, "-"),
    ],
)
def test_bytes(n, text):
    assert bytes_words(n) == text


@pytest.mark.parametrize(
    ("seconds", "text"),
    [
        (0, "0.0 s"),
        (21.8, "21.8 s"),
        (119.9, "119.9 s"),
        (120, "2.0 min"),
        (219.8, "3.7 min"),
        (3600, "60.0 min"),
        (7200, "2.0 h"),
        (2_249_870, "26.0 days"),
        (-7200, "-2.0 h"),
    ],
)
def test_durations(seconds, text):
    assert duration_words(seconds) == text


def test_cores_percent_counts_and_rates():
    assert [cores_words(m) for m in (250, 1000, 1348.4, 8000)] == [
        "0.25 cores",
        "1 core",
        "1.35 cores",
        "8 cores",
    ]
    assert [percent_words(f) for f in (0.96, 0.9996, 1.0)] == ["96.0%", "100.0%", "100.0%"]
    assert [count_words(x) for x in (5, 1347, 10.666, 71.0)] == ["5", "1,347", "10.7", "71"]
    assert rate_words(60 * Mi) == "60 MiB/s"
    assert rate_words(Gi / 3600) == "1.0 GiB/h"
    assert rate_words(3 * Gi / 86400) == "3.0 GiB/day"
    assert rate_words(20 * Mi / 3600) == "480 MiB/day"


@pytest.mark.parametrize(
    ("metric", "value", "text"),
    [
        ("disk_actual_bytes_peak", 2 * Gi, "2.0 GiB"),
        ("disk_gap_by_owner_bytes_end.content_store", 2 * Gi, "2.0 GiB"),
        ("host_writes_bytes_per_s_by_workload.agent", Gi / 3600, "1.0 GiB/h"),
        ("cpu_allocated_millicores_mean", 1500, "1.5 cores"),
        ("running_fraction_by_workload.app", 0.5, "50.0%"),
        ("pending_s_p95", 4833.6, "80.6 min"),
        ("disk_full_in_s_after_end", 3 * 86400, "3.0 days"),
        ("duration_s", 7200, "2.0 h"),
        ("pods_per_node_max", 5, "5"),
        ("pods_started", 66, "66"),  # not seconds: "_started" is no "_s"
        ("image_bytes_by_os_version.10.0.20348.5622", 726 * Mi, "726 MiB"),
    ],
)
def test_the_unit_follows_from_the_metrics_name(metric, value, text):
    assert unit_words(metric)(value) == text


def test_a_record_reads_as_mean_interval_n_and_why_values_are_missing():
    restarts = {"mean": 32 / 3, "half_width": 45.9, "n": 3, "low": 0.0, "high": 32.0}
    assert interval_words("restarts_total", restarts) == "10.7 (95% interval 0 to 32, n=3)"
    p50 = {"mean": 174.3, "half_width": 314.8, "n": 5, "low": 3.0, "high": 516.6}
    assert interval_words("start_latency_s_p50", p50) == (
        "2.9 min (95% interval 3.0 s to 8.6 min, n=5)"
    )
    fresh = combine([{"fresh_node_all_running_s": v} for v in [227.3] * 29 + [None]])
    assert interval_words("fresh_node_all_running_s", fresh["fresh_node_all_running_s"]) == (
        "3.8 min (all 29 the same)"
    )
    assert interval_words(
        "fresh_node_all_running_s", fresh["fresh_node_all_running_s"], replications=30
    ) == (
        "3.8 min (all 29 the same; 1 of 30 replications had no fresh-node start: "
        "a pod there at t = 0 never became ready, or none was there)"
    )
    never = {"mean": None, "half_width": None, "n": 0, "low": None, "high": None}
    assert interval_words("disk_full_s", never, 5) == "- (each of 5 replications had no full disk)"
    assert metric_words("first_eviction_s", None) == "- (the run had no eviction)"
    # Bounds that round to the same text: the range says so rather than '28.8 to 28.8 GiB'.
    close = {"mean": 28.8 * Gi, "half_width": 1.0, "n": 3, "low": 28.8 * Gi - 1, "high": 28.8 * Gi}
    assert interval_words("disk_gap_bytes_end", close) == (
        "28.8 GiB (95% interval rounds to 28.8 GiB, n=3)"
    )
    # A summary.json written before the bootstrap intervals: its t half-width.
    old = {"mean": 4_656_382_991.7, "half_width": 108_503_398.9, "n": 5}
    assert interval_words("memory_committed_bytes_peak", old) == "4.3 GiB (± 103 MiB, n=5)"


def test_with_interval_is_the_compact_form_of_the_report_and_compare():
    assert with_interval(219.8, duration_words) == "3.7 min"
    rec = {"mean": 7.1 * Gi, "half_width": 1, "n": 3, "low": 6.8 * Gi, "high": 7.6 * Gi}
    assert with_interval(rec, bytes_words) == "7.1 GiB (6.8 to 7.6 GiB)"
    same = {"mean": 21.8, "half_width": 0.0, "n": 5, "low": 21.8, "high": 21.8}
    assert with_interval(same, duration_words) == "21.8 s"
    assert with_interval({"mean": 8.2, "half_width": 0.6, "n": 5}) == "8.2 ± 0.6"
    assert with_interval(None) == "-"


def test_the_summary_print_of_one_run():
    out = io.StringIO()
    print_summary(
        {
            "duration_s": 7200.0,
            "pods_created": 5,
            "fresh_node_all_running_s": 219.8,
            "disk_actual_bytes_peak": 30_204_792_437.0,
            "cpu_allocated_millicores_mean": 1210.0,
            "first_eviction_s": None,
            "restarts_by_workload": {"app": 0},
        },
        file=out,
    )
    assert out.getvalue() == (
        "duration_s                     2.0 h\n"
        "pods_created                   5\n"
        "fresh_node_all_running_s       3.7 min\n"
        "disk_actual_bytes_peak         28.1 GiB\n"
        "cpu_allocated_millicores_mean  1.21 cores\n"
        "first_eviction_s               - (the run had no eviction)\n"
    )


def test_the_summary_print_over_replications_says_how_and_why_n_differs():
    runs = [
        {"restarts_total": r, "fresh_node_all_running_s": f, "disk_full_s": None}
        for r, f in [(0, 227.3), (0, None), (32, 227.3)]
    ]
    out = io.StringIO()
    print_summary(combine(runs), file=out)
    assert out.getvalue() == (
        "mean of 3 replications; 95% interval: bootstrap percentile interval of the mean, "
        "expanded for small samples, within the values the replications gave\n"
        "restarts_total            10.7 (95% interval 0 to 32, n=3)\n"
        "fresh_node_all_running_s  3.8 min (all 2 the same; 1 of 3 replications had no "
        "fresh-node start: a pod there at t = 0 never became ready, or none was there)\n"
        "disk_full_s               - (each of 3 replications had no full disk)\n"
    )
