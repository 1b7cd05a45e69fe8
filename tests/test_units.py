"""hpsim.units: Kubernetes quantities, durations and rates.

Quantity cases come from k8s.io/apimachinery pkg/api/resource/quantity_test.go
(TestQuantityParse: the valid table and the ``invalid`` list) and from the
grammar in quantity.go's Quantity comment; expected values are those tables'
numbers written as exact fractions.
"""

from __future__ import annotations

import time
from fractions import Fraction as F

import pytest

from hpsim import units
from hpsim.units import QuantityError

Ki, Mi, Gi, Ti, Pi, Ei = (2**10, 2**20, 2**30, 2**40, 2**50, 2**60)
NANO = F(1, 10**9)
MAX_INT64 = 2**63 - 1

QUANTITY_FORMS = "a Kubernetes quantity such as 128974848, 129e6, 129M, 123Mi or 1Gi"
CPU_FORMS = "a Kubernetes CPU quantity such as 100m, 0.5, .1 or 2"
DURATION_FORMS = "a duration such as 90s, 15m, 2h, 7d or 1h30m (a bare number is seconds)"
DATA_RATE_FORMS = "a data rate such as 500Mbit/s, 60MiB/s or 20Mi/h"
EVENT_RATE_FORMS = "an event rate such as 3/h, 10/min or 0.5/s"


# -- quantities: the valid table ------------------------------------------------------------

VALID = [
    # quantity_test.go TestQuantityParse, in its order
    ("0", 0),
    ("0n", 0),
    ("0Ki", 0),
    ("0Ti", 0),
    ("1", 1),
    ("1Ki", Ki),
    ("8Ki", 8 * Ki),
    ("7Mi", 7 * Mi),
    ("6Gi", 6 * Gi),
    ("5Ti", 5 * Ti),
    ("4Pi", 4 * Pi),
    ("3Ei", 3 * Ei),
    ("5n", F(5, 10**9)),
    ("4u", F(4, 10**6)),
    ("3m", F(3, 1000)),
    ("8k", 8000),
    ("50k", 50000),
    ("7M", 7 * 10**6),
    ("6G", 6 * 10**9),
    ("5T", 5 * 10**12),
    ("2P", 2 * 10**15),
    ("1E", 10**18),  # E alone is exa, not an exponent
    ("1E-3", F(1, 1000)),
    ("1e3", 1000),
    ("1E6", 10**6),
    ("1E18", 10**18),
    ("100.035k", 100035),
    ("0.001", F(1, 1000)),
    ("0.0005k", F(1, 2)),
    ("0.5e-1", F(5, 100)),
    ("10.035M", 10035000),
    ("1.2e3", 1200),
    ("1.3E+6", 1300000),
    ("1.53E12", 1530000000000),
    ("9.01", F(901, 100)),
    ("7.123456M", 7123456),
    ("1.01E", 101 * 10**16),
    # "Things that saturate/round": kept to nano, rounded away from zero
    ("3.001n", 4 * NANO),
    ("1.1E-9", 2 * NANO),
    ("0.0000000001", NANO),
    ("0.5e-9", NANO),
    ("0.9n", NANO),
    ("0.00000012345", 124 * NANO),
    ("9Ei", MAX_INT64),  # BinarySI is capped at 2^63-1
    ("9223372036854775807Ki", MAX_INT64),
    # "We'll accept fractional binary stuff, too."
    ("100.035Ki", F(10243584, 100)),
    ("0.5Mi", 524288),
    ("0.05Gi", F(536870912, 10)),
    ("0.025Ti", F(274877906944, 10)),
    # "Things written by trolls"
    ("0.000000000001Ki", 2 * NANO),
    (".001", F(1, 1000)),
    (".0001k", F(1, 10)),
    ("1.", 1),
    ("1.G", 10**9),
    # the issue's forms and odd real-world spellings
    ("100m", F(1, 10)),
    ("0.5", F(1, 2)),
    (".1", F(1, 10)),
    ("2", 2),
    ("128974848", 128974848),
    ("129e6", 129000000),
    ("129M", 129000000),
    ("123Mi", 128974848),
    ("1Gi", Gi),
    (".5", F(1, 2)),
    ("+1", 1),
    ("1E3", 1000),  # "E3" is not a suffix, so it is an exponent
    ("1e+3", 1000),
    ("1e03", 1000),
    ("-1.025Ti", F(-1025 * Ti, 1000)),
]


@pytest.mark.parametrize(("text", "value"), VALID)
def test_quantity_parses_as_apimachinery(text: str, value: F) -> None:
    assert units.parse_quantity(text) == value


@pytest.mark.parametrize(("text", "value"), VALID[:40])
def test_quantity_with_explicit_sign(text: str, value: F) -> None:
    # quantity_test.go re-parses every valid case with a leading "-" and "+".
    assert units.parse_quantity("-" + text) == -value
    assert units.parse_quantity("+" + text) == value


def test_the_issues_memory_spellings_agree() -> None:
    # The Kubernetes docs' "roughly the same value" list, made exact.
    assert units.parse_memory_bytes("123Mi") == units.parse_memory_bytes("128974848")
    assert units.parse_memory_bytes("129e6") == units.parse_memory_bytes("129M") == 129 * 10**6


@pytest.mark.parametrize(
    ("value", "parsed"),
    [(512, 512), (0, 0), (0.5, F(1, 2)), (1e-05, F(1, 100000)), (1.5e3, 1500)],
)
def test_yaml_numbers_are_quantities(value: float, parsed: F) -> None:
    # Quantity.UnmarshalJSON parses a bare JSON number's text.
    assert units.parse_quantity(value) == parsed


# -- quantities: refused ------------------------------------------------------------------

INVALID = [
    # quantity_test.go's invalid list
    "1.1.M",
    "1+1.0M",
    "0.1mi",
    "0.1am",
    "aoeu",
    ".5i",
    "1i",
    "-3.01i",
    "-3.01e-",
    " 1",  # whitespace is forbidden on either side
    "1 ",
    "",  # "expected empty string to return error"
    # suffix.go knows Ki..Ei, n u m k M G T P E and e/E exponents; nothing else
    "1K",
    "1KiB",
    "1Gb",
    "1ki",
    "1e",
    "1E+",
    "1 Gi",
    "1.5.5",
    "1,5",
    "0x10",
    "1_000",
    "1e3.5",
    "1\n",
    # no digits: the grammar needs one; ParseQuantity reads these as 0 (apimachinery#165)
    "Mi",
    "e3",
    ".",
    "+",
    "-",
    "-.",
]


@pytest.mark.parametrize("text", INVALID)
def test_quantity_refused_with_value_and_forms(text: str) -> None:
    shown = text.replace("\n", "\\n")
    with pytest.raises(QuantityError) as err:
        units.parse_quantity(text)
    assert str(err.value) == f'invalid quantity "{shown}": expected {QUANTITY_FORMS}'


@pytest.mark.parametrize(
    ("value", "message"),
    [
        (True, f"invalid quantity: True is a boolean; expected {QUANTITY_FORMS}"),
        (None, f"invalid quantity: None is a NoneType; expected {QUANTITY_FORMS}"),
        ([1], f"invalid quantity: [1] is a list; expected {QUANTITY_FORMS}"),
        (float("inf"), f"invalid quantity: inf is not a finite number; expected {QUANTITY_FORMS}"),
    ],
)
def test_quantity_refuses_non_scalars(value: object, message: str) -> None:
    with pytest.raises(QuantityError) as err:
        units.parse_quantity(value)
    assert str(err.value) == message


def test_long_values_are_shortened_in_messages() -> None:
    with pytest.raises(QuantityError) as err:
        units.parse_quantity("x" * 100)
    assert str(err.value) == f'invalid quantity "{"x" * 57}...": expected {QUANTITY_FORMS}'


@pytest.mark.parametrize("text", ["12E", "1e19", "9223372036854775808", "1e999999999"])
def test_decimal_quantity_beyond_int64_is_refused(text: str) -> None:
    # Kubernetes keeps these, but Value() cannot return them; "1e999999999" must not
    # be computed (10**999999999 would take minutes).
    start = time.perf_counter()
    with pytest.raises(QuantityError) as err:
        units.parse_quantity(text)
    assert str(err.value) == f'invalid quantity "{text}": too large (more than 2^63-1)'
    assert time.perf_counter() - start < 1.0


def test_tiny_exponent_rounds_to_one_nano_without_computing() -> None:
    assert units.parse_quantity("1e-999999999") == NANO
    assert units.parse_quantity("-1e-999999999") == -NANO
    assert units.parse_quantity("0e999999999") == 0


# -- memory: Value() rounds up to a byte ----------------------------------------------------


@pytest.mark.parametrize(
    ("text", "nbytes"),
    [
        ("128974848", 128974848),
        ("129e6", 129000000),
        ("129M", 129000000),
        ("123Mi", 128974848),
        ("1Gi", 1073741824),
        ("800m", 1),  # 0.8 byte: legal, and Value() rounds it up to 1
        ("1500m", 2),
        ("0.5", 1),
        ("1n", 1),
        ("0", 0),
        ("8Ei", MAX_INT64),
        (0.5, 1),
    ],
)
def test_memory_bytes(text: object, nbytes: int) -> None:
    assert units.parse_memory_bytes(text) == nbytes


@pytest.mark.parametrize("text", ["-1", "-1Mi", "-800m"])
def test_negative_memory_is_refused(text: str) -> None:
    with pytest.raises(QuantityError) as err:
        units.parse_memory_bytes(text)
    assert str(err.value) == f'invalid quantity "{text}": must not be negative'


def test_zero_memory_can_be_refused() -> None:
    assert units.parse_memory_bytes("-0") == 0
    with pytest.raises(QuantityError) as err:
        units.parse_memory_bytes("0Mi", allow_zero=False)
    assert str(err.value) == 'invalid quantity "0Mi": must be greater than zero'


# -- cpu: MilliValue() rounds up to a millicore ---------------------------------------------


@pytest.mark.parametrize(
    ("text", "millis"),
    [
        ("100m", 100),
        ("0.5", 500),
        (".1", 100),
        ("2", 2000),
        (2, 2000),
        (0.25, 250),
        ("1m", 1),
        ("0.1m", 1),  # rounded up, never to zero
        ("1.0001", 1001),
        ("1500u", 2),
        ("1e-3", 1),
        ("1k", 1000000),
        ("0", 0),
    ],
)
def test_cpu_millicores(text: object, millis: int) -> None:
    assert units.parse_cpu_millicores(text) == millis


def test_cpu_errors_show_cpu_forms() -> None:
    with pytest.raises(QuantityError) as err:
        units.parse_cpu_millicores("100mc")
    assert str(err.value) == f'invalid quantity "100mc": expected {CPU_FORMS}'
    with pytest.raises(QuantityError) as err:
        units.parse_cpu_millicores("-100m")
    assert str(err.value) == 'invalid CPU quantity "-100m": must not be negative'
    with pytest.raises(QuantityError) as err:
        units.parse_cpu_millicores("9223372036854775807")
    assert str(err.value) == (
        'invalid CPU quantity "9223372036854775807": too large (more than 2^63-1 millicores)'
    )


# -- durations ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "seconds"),
    [
        ("90s", 90.0),
        ("15m", 900.0),
        ("2h", 7200.0),
        ("7d", 604800.0),
        ("1h30m", 5400.0),
        ("1.5h", 5400.0),
        ("500ms", 0.5),
        ("2m30s", 150.0),
        ("+10s", 10.0),
        ("-0s", 0.0),
        ("90", 90.0),
        ("2.5", 2.5),
        (" 90s ", 90.0),
        (90, 90.0),
        (1e-05, 1e-05),  # a YAML float written 1.0e-5
        (0, 0.0),
    ],
)
def test_duration_seconds(text: object, seconds: float) -> None:
    assert units.parse_duration(text) == seconds


@pytest.mark.parametrize("text", ["15 m", "1w", "h", "10sec", "1h30", "ms", "", "1e3s", "5 min"])
def test_duration_refused(text: str) -> None:
    with pytest.raises(QuantityError) as err:
        units.parse_duration(text)
    assert str(err.value) == f'invalid duration "{text.strip()}": expected {DURATION_FORMS}'


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("-5s", 'invalid duration "-5s": must not be negative'),
        ("-1", 'invalid duration "-1": must not be negative'),
        ("9" * 400, f'invalid duration "{"9" * 57}...": too large'),
        ("9" * 400 + "s", f'invalid duration "{"9" * 57}...": too large'),
        (10**400, f'invalid duration "{"1" + "0" * 56}...": too large'),
        (True, f"invalid duration: True is a boolean; expected {DURATION_FORMS}"),
        (float("nan"), f"invalid duration: nan is not a finite number; expected {DURATION_FORMS}"),
    ],
)
def test_duration_bounds(value: object, message: str) -> None:
    with pytest.raises(QuantityError) as err:
        units.parse_duration(value)
    assert str(err.value) == message


@pytest.mark.parametrize("text", ["9" * 5000 + "B", "1h" * 2000 + "x", "1." * 2000])
def test_long_bad_durations_fail_fast(text: str) -> None:
    # The part pattern once backtracked cubically: 1,000 digits took 7 s.
    start = time.perf_counter()
    with pytest.raises(QuantityError):
        units.parse_duration(text)
    assert time.perf_counter() - start < 0.5


# -- data rates and event rates ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "bytes_per_s"),
    [
        ("500Mbit/s", 62_500_000.0),  # 500e6 bits / 8
        ("60MiB/s", 62_914_560.0),  # 60 * 2^20
        ("14MB/s", 14_000_000.0),
        ("1Gbit/s", 125_000_000.0),
        ("8bit/s", 1.0),
        ("1Kbit/s", 125.0),  # K is accepted for kilo in a rate
        ("120MiB/min", 2 * 2**20),
        ("20Mi/h", 20 * 2**20 / 3600),
        ("1GB/d", 1e9 / 86400),
        ("500 Mbit/s", 62_500_000.0),
    ],
)
def test_data_rate(text: str, bytes_per_s: float) -> None:
    assert units.parse_data_rate(text) == pytest.approx(bytes_per_s, rel=1e-15)


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("500Mbps", f'invalid data rate "500Mbps": expected {DATA_RATE_FORMS}'),
        ("60MiB", f'invalid data rate "60MiB": expected {DATA_RATE_FORMS}'),
        ("1e6B/s", f'invalid data rate "1e6B/s": expected {DATA_RATE_FORMS}'),
        ("5", f'invalid data rate "5": expected {DATA_RATE_FORMS}'),
        ("-1MB/s", 'invalid data rate "-1MB/s": must not be negative'),
        ("9" * 400 + "B/s", f'invalid data rate "{"9" * 57}...": too large'),
    ],
)
def test_data_rate_refused(value: str, message: str) -> None:
    with pytest.raises(QuantityError) as err:
        units.parse_data_rate(value)
    assert str(err.value) == message


@pytest.mark.parametrize(
    ("text", "per_s"),
    [("3/h", 3 / 3600), ("10/min", 10 / 60), ("0.5/s", 0.5), ("1/d", 1 / 86400), ("2 / m", 2 / 60)],
)
def test_event_rate(text: str, per_s: float) -> None:
    assert units.parse_event_rate(text) == per_s


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("3/hour", f'invalid event rate "3/hour": expected {EVENT_RATE_FORMS}'),
        ("3", f'invalid event rate "3": expected {EVENT_RATE_FORMS}'),
        ("3h", f'invalid event rate "3h": expected {EVENT_RATE_FORMS}'),
        ("-1/s", 'invalid event rate "-1/s": must not be negative'),
        ("9" * 400 + "/s", f'invalid event rate "{"9" * 57}...": too large'),
    ],
)
def test_event_rate_refused(value: str, message: str) -> None:
    with pytest.raises(QuantityError) as err:
        units.parse_event_rate(value)
    assert str(err.value) == message


def test_quantity_error_is_a_value_error() -> None:
    # pydantic turns a ValueError raised in a validator into a field error.
    assert issubclass(QuantityError, ValueError)


# -- Go's duration text (numbers for people: tests/test_words.py) --------------------------


@pytest.mark.parametrize(
    ("seconds", "text"),
    [
        (0, "0s"),
        (0.0004, "0s"),
        (0.313, "313ms"),
        (1.594, "1.594s"),
        (3.0, "3s"),
        (59.9999, "59.999s"),  # truncated, as Truncate(time.Millisecond) does
        (60, "1m0s"),
        (207.215283, "3m27.215s"),
        (3602, "1h0m2s"),
    ],
)
def test_go_duration_prints_as_go_does(seconds, text):
    assert units.go_duration(seconds) == text
