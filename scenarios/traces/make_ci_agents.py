"""Regenerate ci-agents.csv: two working days of Windows CI build-agent pods.

The trace stands in for an export of a real cluster's pod create/delete times
(for example from the audit log or kube-state-metrics): ephemeral build agents
created by an autoscaling runner controller, 8 an hour in working hours
(08:00-18:00) and 1 an hour at night, each deleted when its build ends
(lognormal, median 25 minutes, sigma 0.6). Run from this folder:
``python make_ci_agents.py``.
"""

from __future__ import annotations

import csv

import numpy as np

HOUR = 3600.0


def rate_per_s(t: float) -> float:
    hour_of_day = (t / HOUR) % 24
    return (8.0 if 8 <= hour_of_day < 18 else 1.0) / HOUR


def main() -> None:
    rng = np.random.default_rng(20261128)
    peak = 8.0 / HOUR
    t, rows = 0.0, []
    while True:
        # Thinning (Lewis and Shedler): a Poisson process at the peak rate, each
        # arrival kept with probability rate(t) / peak.
        t += rng.exponential(1.0 / peak)
        if t >= 2 * 24 * HOUR:
            break
        if rng.random() < rate_per_s(t) / peak:
            build_s = float(rng.lognormal(np.log(25 * 60), 0.6))
            rows.append((round(t, 1), round(t + build_s, 1)))
    with open("ci-agents.csv", "w", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(["create_s", "delete_s"])
        writer.writerows(rows)


if __name__ == "__main__":
    main()
