"""CronJob: Jobs on a schedule (hpsim.node.controllers.CronJobController), and the API
server's checks of its fields (hpsim.scenario.cronjobs).

The scenario's clock starts on Monday 2026-01-05 00:00 UTC (``startTime``'s default),
1,767,571,200 s after the Unix epoch: minute 29,459,520. The controller syncs 100 ms
after each schedule time (nextScheduleDelta), so a Job due at T is created at T + 0.1 s;
its pod then takes 2 s of sandbox and 1 s of container creation (simhelp.node).
"""

from __future__ import annotations

import math
from datetime import datetime, timezone
from pathlib import Path

import pytest
import yaml
from simhelp import pod, run, scenario

from hpsim.cli import main
from hpsim.errors import HpsimError
from hpsim.scenario.cronjobs import CronSpec, Schedule, schedule_error
from hpsim.scenario.load import load_data

EMPTY = [{"name": "test/app:1", "layers": [{"size": 0}]}]
EPOCH_MINUTE = 1_767_571_200 // 60  # 2026-01-05 00:00 UTC


def cronjob(name: str, schedule: str, restart: str = "Never", **spec) -> dict:
    job = pod(name, restart=restart, kind="Job")
    return {
        "apiVersion": "batch/v1",
        "kind": "CronJob",
        "metadata": {"name": name},
        "spec": {"schedule": schedule, **spec, "jobTemplate": {"spec": job["spec"]}},
    }


def _events(res, reason: str) -> list[tuple[float, str]]:
    ev = res.events[(res.events["kind"] == "CronJob") & (res.events["reason"] == reason)]
    return list(zip(ev["time_s"], ev["message"], strict=True))


def test_a_job_every_five_minutes_and_three_successful_jobs_kept():
    """*/5: Jobs due at 300, 600, ... 2,100 s are created 0.1 s later, named by their
    minute (29,459,520 + 5, + 10, ...). Each pod runs 60 s and succeeds at T + 63.1 s.
    successfulJobsHistoryLimit 3: when the fourth Job completes (1,263.1 s) the first is
    deleted, with its pod; at the end (40 min) the last three are kept."""
    wl = {"manifest": cronjob("cj", "*/5 * * * *"), "profile": {"runFor": "60s"}}
    res = run(scenario([wl], EMPTY, duration="40m"))
    due = [300 * k for k in range(1, 8)]
    names = [f"cj-{EPOCH_MINUTE + 5 * k}" for k in range(1, 8)]
    assert _events(res, "SuccessfulCreate") == [
        (t + 0.1, f"Created job {n}") for t, n in zip(due, names, strict=True)
    ]
    assert _events(res, "SuccessfulDelete") == [
        (t + 63.1, f"Deleted job {n}") for t, n in zip(due[3:], names, strict=False)
    ]
    assert _events(res, "SawCompletedJob")[0] == (
        363.1,
        f"Saw completed job: {names[0]}, condition: Complete",
    )
    pods = res.pods
    assert pods["created_s"].tolist() == [t + 0.1 for t in due]
    assert pods["phase"].tolist() == ["Deleted"] * 4 + ["Succeeded"] * 3
    assert pods["deleted_s"].iloc[:4].tolist() == [t + 63.1 for t in due[3:]]


def test_forbid_skips_a_time_while_a_job_runs_and_starts_it_late():
    """Jobs of 400 s every 5 min, Forbid: the Job due at 300 s runs 300.1 + 3 to 703.1 s;
    at 600.1 s it is still active (JobAlreadyActive); when it completes at 703.1 s the
    controller syncs and starts the missed 600 s Job then, late. With
    startingDeadlineSeconds 60 it does not (600 s is more than 60 s before 703.1 s): the
    next Job is the one due at 900 s."""
    spec = {"concurrencyPolicy": "Forbid"}
    wl = {"manifest": cronjob("cj", "*/5 * * * *", **spec), "profile": {"runFor": "400s"}}
    res = run(scenario([wl], EMPTY, duration="20m"))
    assert [t for t, _m in _events(res, "JobAlreadyActive")] == [600.1, 900.1]
    assert _events(res, "SuccessfulCreate")[:2] == [
        (300.1, f"Created job cj-{EPOCH_MINUTE + 5}"),
        (703.1, f"Created job cj-{EPOCH_MINUTE + 10}"),
    ]
    spec["startingDeadlineSeconds"] = 60
    wl = {"manifest": cronjob("cj", "*/5 * * * *", **spec), "profile": {"runFor": "400s"}}
    res = run(scenario([wl], EMPTY, duration="20m"))
    assert [t for t, _m in _events(res, "SuccessfulCreate")] == [300.1, 900.1]


def test_replace_deletes_the_running_job_and_allow_runs_them_side_by_side():
    """Jobs of 400 s every 5 min. Replace: at 600.1 s the first Job is deleted (its pod
    terminates) and the next created. Allow: both run from 603.1 s to 703.1 s."""
    spec = {"concurrencyPolicy": "Replace"}
    wl = {"manifest": cronjob("cj", "*/5 * * * *", **spec), "profile": {"runFor": "400s"}}
    res = run(scenario([wl], EMPTY, duration="11m"))
    assert _events(res, "SuccessfulDelete") == [(600.1, f"Deleted job cj-{EPOCH_MINUTE + 5}")]
    first = res.pods.iloc[0]
    assert (first["phase"], first["reason"]) == ("Deleted", "JobDeleted")
    wl = {"manifest": cronjob("cj", "*/5 * * * *"), "profile": {"runFor": "400s"}}
    res = run(scenario([wl], EMPTY, duration="11m"))
    assert res.summary()["pods_per_node_max"] == 2


def test_a_suspended_cronjob_creates_nothing():
    wl = {"manifest": cronjob("cj", "* * * * *", suspend=True)}
    res = run(scenario([wl], EMPTY, duration="1h"))
    assert res.pods.empty
    assert _events(res, "SuccessfulCreate") == []


def test_failed_jobs_history_keeps_one_and_the_schedule_follows_its_time_zone():
    """Pods that exit 1 under backoffLimit 0 fail their Job at T + 0.1 + 3 s.
    failedJobsHistoryLimit 1: each new failure deletes the one before. "30 9 * * *" in
    Europe/Paris (UTC+1 in January): 08:30 UTC, 30,600 s after midnight, then a day later
    (117,000 s)."""
    m = cronjob("cj", "30 9 * * *", timeZone="Europe/Paris")
    m["spec"]["jobTemplate"]["spec"]["backoffLimit"] = 0
    wl = {"manifest": m, "profile": {"runFor": "10s", "exitCode": 1}}
    res = run(scenario([wl], EMPTY, duration="2d"))
    created = [t for t, _m in _events(res, "SuccessfulCreate")]
    assert created == [30_600.1, 117_000.1]
    assert _events(res, "SuccessfulDelete") == [(117_013.1, f"Deleted job cj-{EPOCH_MINUTE + 510}")]


def test_start_time_moves_the_schedule():
    """startTime 2026-01-05T00:59:00Z: the first "0 * * * *" time is 60 s in."""
    wl = {"manifest": cronjob("cj", "0 * * * *"), "profile": {"runFor": "1s"}}
    data = scenario([wl], EMPTY, duration="10m")
    data["startTime"] = "2026-01-05T00:59:00Z"
    res = run(data)
    assert [t for t, _m in _events(res, "SuccessfulCreate")] == [60.1]


@pytest.mark.parametrize(
    ("schedule", "why"),
    [
        ("*/5 * * *", "expected exactly 5 fields, found 4: [*/5 * * *]"),
        ("61 * * * *", "end of range (61) above maximum (59): 61"),
        ("* * * * 7", "end of range (7) above maximum (6): 7"),
        ("x * * * *", 'failed to parse int from x: strconv.Atoi: parsing "x": invalid syntax'),
        ("*/0 * * * *", "step of range should be a positive number: */0"),
        ("5-2 * * * *", "beginning of range (5) beyond end of range (2): 5-2"),
        ("0 0 0 * *", "beginning of range (0) below minimum (1): 0"),
        ("@fortnightly", "unrecognized descriptor: @fortnightly"),
        ("@hourly", None),
        ("0 9 * * mon-fri", None),
        ("@every 90m", None),
    ],
)
def test_schedules_are_parsed_as_robfig_cron_parse_standard(schedule, why):
    assert schedule_error(schedule) == why


def _load_error(tmp_path: Path, manifest: dict) -> str:
    with pytest.raises(HpsimError) as err:
        load_data(scenario([{"manifest": manifest}], EMPTY), base_dir=tmp_path)
    return str(err.value)


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        (
            {"schedule": "*/5 * * *"},
            'spec.schedule: Invalid value: "*/5 * * *": expected exactly 5 fields, '
            "found 4: [*/5 * * *]",
        ),
        (
            {"schedule": "CRON_TZ=UTC 0 * * * *"},
            'spec.schedule: Invalid value: "CRON_TZ=UTC 0 * * * *": cannot use TZ or CRON_TZ '
            "in schedule, use timeZone field instead",
        ),
        (
            {"concurrencyPolicy": "Sometimes"},
            'spec.concurrencyPolicy: Unsupported value: "Sometimes": supported values: '
            '"Allow", "Forbid", "Replace"',
        ),
        (
            {"timeZone": "Mars/Olympus"},
            'spec.timeZone: Invalid value: "Mars/Olympus": unknown time zone Mars/Olympus',
        ),
        (
            {"startingDeadlineSeconds": -5},
            "spec.startingDeadlineSeconds: Invalid value: -5: must be greater than or equal to 0",
        ),
        (
            {"failedJobsHistoryLimit": -1},
            "spec.failedJobsHistoryLimit: Invalid value: -1: must be greater than or equal to 0",
        ),
    ],
)
def test_cronjob_fields_are_refused_in_the_api_servers_words(tmp_path, spec, message):
    m = cronjob("cj", spec.pop("schedule", "0 * * * *"), **spec)
    assert _load_error(tmp_path, m).endswith(message)


def test_a_cronjob_name_longer_than_52_characters_is_refused(tmp_path):
    name = "c" * 53
    assert _load_error(tmp_path, cronjob(name, "0 * * * *")).endswith(
        f'metadata.name: Invalid value: "{name}": must be no more than 52 characters'
    )


def test_a_cronjob_takes_no_arrivals(tmp_path):
    data = scenario([{"manifest": cronjob("cj", "0 * * * *"), "arrivals": {"at": [0]}}], EMPTY)
    with pytest.raises(HpsimError, match="a CronJob creates its Jobs on its schedule"):
        load_data(data, base_dir=tmp_path)


def test_a_schedule_with_no_such_date_records_invalid_schedule_once_and_runs_nothing(
    tmp_path: Path,
):
    """April 31st parses (robfig and the API accept it) but never comes: Next gives Go's zero
    time, mostRecentScheduleTime errors and syncCronJob records InvalidSchedule, once, with
    no requeue. Before, the run failed with croniter's CroniterBadDateError."""
    wl = {"manifest": cronjob("never", "0 0 31 4 *")}
    res = run(scenario([wl], EMPTY, duration="2h"))
    assert _events(res, "InvalidSchedule") == [
        (
            0.0,
            "invalid schedule: 0 0 31 4 * : "
            "time difference between two schedules is less than 1 second",
        )
    ]
    assert res.pods.empty
    # validate says so before any run: its pods cannot run (exit 1).
    path = tmp_path / "s.yaml"
    path.write_text(yaml.safe_dump(scenario([wl], EMPTY, duration="2h")))
    assert main(["validate", str(path)]) == 1


def test_robfigs_search_gives_up_after_five_years():
    """robfig/cron SpecSchedule.Next looks five years past the year it starts from: from
    1 January 2097, February 29th is in 2104 (2100 is no leap year), seven years on, so it
    never fires; from 2026 it is in 2028."""
    leap = CronSpec(schedule="0 0 29 2 *")
    assert math.isinf(Schedule(leap, datetime(2097, 1, 1, tzinfo=timezone.utc)).next_after(0))
    start = datetime(2026, 1, 1, tzinfo=timezone.utc)
    in_2028 = datetime(2028, 2, 29, tzinfo=timezone.utc)
    assert Schedule(leap, start).next_after(0) == (in_2028 - start).total_seconds()
