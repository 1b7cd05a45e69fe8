"""CronJob: its settings as the API server defaults and validates them, and its schedule.

- Defaults (k/k pkg/apis/batch/v1/defaults.go ``SetDefaults_CronJob``):
  concurrencyPolicy Allow, suspend false, successfulJobsHistoryLimit 3,
  failedJobsHistoryLimit 1; startingDeadlineSeconds and timeZone unset.
- Validation (pkg/apis/batch/validation/validation.go ``validateCronJobSpec``, in its
  order): the schedule must parse as robfig/cron v3 ``ParseStandard`` parses it (five
  fields or a descriptor; its error words), hold no ``TZ``/``CRON_TZ``
  (``validateScheduleFormat``); startingDeadlineSeconds not negative; timeZone
  (``validateTimeZone``: non-empty, not ``Local``, a zone Go can load); concurrencyPolicy
  one of Allow, Forbid, Replace; then the job template; then the history limits.
- The schedule's times: croniter (standard cron semantics as robfig's: day-of-month
  and day-of-week ORed when both are restricted), in the CronJob's timeZone, else in
  kube-controller-manager's local zone, taken as UTC.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from hpsim.scenario.apinumbers import IntField, negative_errors
from hpsim.scenario.fielderrors import FieldError

POLICIES = ("Allow", "Forbid", "Replace")
SUCCESSFUL_JOBS_HISTORY_LIMIT = 3  # SetDefaults_CronJob
FAILED_JOBS_HISTORY_LIMIT = 1  # SetDefaults_CronJob

# robfig/cron v3 parser.go: the bounds of the five standard fields, and the names of
# months and weekdays (lower case; parsing is case-insensitive).
_BOUNDS = ((0, 59), (0, 23), (1, 31), (1, 12), (0, 6))
_MONTHS = ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec")
_NAMES: tuple[dict[str, int], ...] = (
    {},
    {},
    {},
    {
        m: i + 1
        for i, m in enumerate(
            ["jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"]
        )
    },
    {d: i for i, d in enumerate(["sun", "mon", "tue", "wed", "thu", "fri", "sat"])},
)
_DESCRIPTORS = {
    "@yearly": "0 0 1 1 *",
    "@annually": "0 0 1 1 *",
    "@monthly": "0 0 1 * *",
    "@weekly": "0 0 * * 0",
    "@daily": "0 0 * * *",
    "@midnight": "0 0 * * *",
    "@hourly": "0 * * * *",
}
_GO_DURATION = re.compile(r"(?:[0-9]*\.?[0-9]+(?:ns|us|µs|ms|s|m|h))+")
_GO_UNITS = {"ns": 1e-9, "us": 1e-6, "µs": 1e-6, "ms": 1e-3, "s": 1.0, "m": 60.0, "h": 3600.0}


def _go_fields(fields: list[str]) -> str:
    """A Go []string as %s prints it: ``[a b c]``."""
    return "[" + " ".join(fields) + "]"


def _atoi(text: str) -> int:
    """strconv.Atoi, with its error text."""
    if not re.fullmatch(r"[+-]?[0-9]+", text):
        raise ValueError(f'strconv.Atoi: parsing "{text}": invalid syntax')
    return int(text)


def _must_parse_int(text: str) -> int:
    """robfig mustParseInt."""
    try:
        n = _atoi(text)
    except ValueError as exc:
        raise ValueError(f"failed to parse int from {text}: {exc}") from None
    if n < 0:
        raise ValueError(f"negative number ({n}) not allowed: {text}")
    return n


def _parse_int_or_name(text: str, names: dict[str, int]) -> int:
    """robfig parseIntOrName."""
    if names and text.lower() in names:
        return names[text.lower()]
    return _must_parse_int(text)


def _check_range(expr: str, low: int, high: int, names: dict[str, int]) -> None:
    """robfig getRange: one comma-separated part of a field; ValueError with its words."""
    range_and_step = expr.split("/")
    low_and_high = range_and_step[0].split("-")
    single = len(low_and_high) == 1
    if low_and_high[0] in ("*", "?"):
        start, end = low, high
    else:
        start = _parse_int_or_name(low_and_high[0], names)
        if len(low_and_high) == 1:
            end = start
        elif len(low_and_high) == 2:
            end = _parse_int_or_name(low_and_high[1], names)
        else:
            raise ValueError(f"too many hyphens: {expr}")
    step = 1
    if len(range_and_step) == 2:
        step = _must_parse_int(range_and_step[1])
        if single:
            end = high  # "N/step" is "N-max/step"
    elif len(range_and_step) > 2:
        raise ValueError(f"too many slashes: {expr}")
    if start < low:
        raise ValueError(f"beginning of range ({start}) below minimum ({low}): {expr}")
    if end > high:
        raise ValueError(f"end of range ({end}) above maximum ({high}): {expr}")
    if start > end:
        raise ValueError(f"beginning of range ({start}) beyond end of range ({end}): {expr}")
    if step == 0:
        raise ValueError(f"step of range should be a positive number: {expr}")


def _every_seconds(text: str) -> float:
    """time.ParseDuration for ``@every``'s argument (its common forms)."""
    if not _GO_DURATION.fullmatch(text):
        raise ValueError(f'time: invalid duration "{text}"')
    return sum(
        float(n) * _GO_UNITS[u]
        for n, u in re.findall(r"([0-9]*\.?[0-9]+)(ns|us|µs|ms|s|m|h)", text)
    )


def schedule_error(schedule: str) -> str | None:
    """Why robfig/cron v3 ``ParseStandard`` refuses ``schedule`` (its words), or None."""
    text = schedule.strip()
    if text.startswith(("TZ=", "CRON_TZ=")):
        # robfig reads a leading zone itself (validation then refuses it, "use timeZone").
        space = text.find(" ")
        zone = text[text.index("=") + 1 : space if space >= 0 else len(text)]
        why = time_zone_error(zone) if zone else None  # LoadLocation(""): UTC
        if why is not None and why.startswith("unknown time zone"):
            return f"provided bad location {zone}: {why}"
        text = text[space:].strip() if space >= 0 else ""
    if text.startswith("@"):
        if text.startswith("@every "):
            try:
                _every_seconds(text[len("@every ") :])
            except ValueError as exc:
                return f"failed to parse duration {text}: {exc}"
            return None
        if text not in _DESCRIPTORS:
            return f"unrecognized descriptor: {text}"
        return None
    fields = text.split()
    if len(fields) != 5:
        return f"expected exactly 5 fields, found {len(fields)}: {_go_fields(fields)}"
    for field, (low, high), names in zip(fields, _BOUNDS, _NAMES, strict=True):
        for expr in field.split(","):
            try:
                _check_range(expr, low, high, names)
            except ValueError as exc:
                return str(exc)
    return None


def time_zone_error(zone: str) -> str | None:
    """``validateTimeZone``'s words for a timeZone it refuses, or None."""
    if zone == "":
        return "timeZone must be nil or non-empty string"
    if zone.lower() == "local":
        return (
            "timeZone must be an explicit time zone as defined in https://www.iana.org/time-zones"
        )
    try:
        ZoneInfo(zone)
    except (ZoneInfoNotFoundError, ValueError):
        return f"unknown time zone {zone}"  # Go time.LoadLocation
    return None


@dataclass(frozen=True)
class CronSpec:
    """A CronJob's own settings, defaulted."""

    schedule: str
    time_zone: str | None = None
    starting_deadline_seconds: int | None = None
    concurrency_policy: str = "Allow"
    suspend: bool = False
    successful_jobs_history_limit: int = SUCCESSFUL_JOBS_HISTORY_LIMIT
    failed_jobs_history_limit: int = FAILED_JOBS_HISTORY_LIMIT


def validate_cronjob_spec(spec: Any) -> list[FieldError]:
    """``validateCronJobSpec``'s errors for the CronJob's own fields, in its order, each
    with its path from the object's root; the job template's are checked as a Job's."""
    spec = spec if isinstance(spec, dict) else {}
    errs: list[FieldError] = []
    schedule = spec.get("schedule")
    if not schedule:
        errs.append(FieldError("spec.schedule", "FieldValueRequired", ""))
    elif isinstance(schedule, str):
        why = schedule_error(schedule)
        if why is not None:
            errs.append(FieldError("spec.schedule", "FieldValueInvalid", why, schedule))
        if "TZ" in schedule:
            errs.append(
                FieldError(
                    "spec.schedule",
                    "FieldValueInvalid",
                    "cannot use TZ or CRON_TZ in schedule, use timeZone field instead",
                    schedule,
                )
            )
    data = {"spec": spec}
    errs += negative_errors(
        data, [IntField(("spec", "startingDeadlineSeconds"), "CronJobSpec", "int64", True)]
    )
    zone = spec.get("timeZone")
    if isinstance(zone, str):
        why = time_zone_error(zone)
        if why is not None:
            errs.append(FieldError("spec.timeZone", "FieldValueInvalid", why, zone))
    policy = spec.get("concurrencyPolicy")
    if isinstance(policy, str) and policy not in ("", *POLICIES):
        errs.append(
            FieldError(
                "spec.concurrencyPolicy",
                "FieldValueNotSupported",
                "supported values: " + ", ".join(f'"{p}"' for p in POLICIES),
                policy,
            )
        )
    return errs


def history_limit_errors(spec: Any) -> list[FieldError]:
    """The history limits' errors, which ``validateCronJobSpec`` checks last."""
    names = ("successfulJobsHistoryLimit", "failedJobsHistoryLimit")
    return negative_errors(
        {"spec": spec}, [IntField(("spec", n), "CronJobSpec", "int32", True) for n in names]
    )


# robfig/cron looks this many years past the year it starts from, then gives up and returns
# Go's zero time (robfig/cron v3 spec.go SpecSchedule.Next: yearLimit := t.Year() + 5):
# next_after then says math.inf, "never".
SEARCH_YEARS = 5
# What the CronJob controller then records, once, and it does not requeue the CronJob
# (k/k pkg/controller/cronjob/utils.go mostRecentScheduleTime; cronjob_controllerv2.go
# syncCronJob: Eventf(Warning, "InvalidSchedule", "invalid schedule: %s : %s")).
NEVER_FIRES = "time difference between two schedules is less than 1 second"


class Schedule:
    """A CronJob's schedule: the times it fires, on the scenario's clock (seconds from t = 0,
    which is ``start`` on the wall clock)."""

    def __init__(self, spec: CronSpec, start: datetime) -> None:
        self.start = start
        zone = ZoneInfo(spec.time_zone) if spec.time_zone else timezone.utc
        text = spec.schedule.strip()
        self._every: float | None = None
        if text.startswith("@every "):
            # robfig ConstantDelaySchedule: every d (at least 1 s), whole seconds.
            self._every = max(1.0, float(int(_every_seconds(text[len("@every ") :]))))
            text = ""
        self._expr = _DESCRIPTORS.get(text, text)
        self._zone = zone

    def next_after(self, t: float) -> float:
        """The first time it fires strictly after scenario time ``t`` (robfig
        ``Schedule.Next``: whole seconds, strictly later); ``math.inf`` when it finds none
        within SEARCH_YEARS (an impossible date such as February 30)."""
        if self._every is not None:
            return float(int(t)) + self._every
        wall = (self.start + timedelta(seconds=t)).astimezone(self._zone)
        from croniter import CroniterBadDateError, croniter  # here: 11 ms a run without a
        # CronJob never needs

        try:
            nxt = croniter(self._expr, wall).get_next(datetime)
        except CroniterBadDateError:  # no such date at all (0 0 30 2 *)
            return math.inf
        if nxt.year > wall.year + SEARCH_YEARS:
            return math.inf
        return (nxt.astimezone(timezone.utc) - self.start.astimezone(timezone.utc)).total_seconds()

    def rfc1123z(self, t: float) -> str:
        """Scenario time ``t`` in UTC as Go's time.RFC1123Z writes it."""
        wall = (self.start + timedelta(seconds=t)).astimezone(timezone.utc)
        return wall.strftime("%a, %d %b %Y %H:%M:%S +0000")

    def minutes(self, t: float) -> int:
        """The scheduled time in minutes since the Unix epoch (``getTimeHashInMinutes``):
        the suffix of the Job's name."""
        wall = self.start + timedelta(seconds=t)
        return int(wall.timestamp()) // 60
