"""Normalising VSee's quirky values."""

from collections.abc import Callable
from datetime import UTC, date, datetime

import pytest

from gateway.schema import conversion_observers
from gateway.schema._convert import (
    as_bool,
    as_date,
    as_datetime,
    as_decimal_str,
    as_float,
    as_id,
    as_int,
    as_ref_id,
    as_text,
)


@pytest.mark.parametrize(("raw", "expected"), [("1525", "1525"), (1525, "1525"), (14.0, "14")])
def test_ids_from_strings_or_numbers(raw: object, expected: str) -> None:
    assert as_id(raw) == expected


@pytest.mark.parametrize("raw", [None, "", True, "  "])
def test_no_id(raw: object) -> None:
    assert as_id(raw) is None


@pytest.mark.parametrize("raw", [0, "0", None, "--"])
def test_zero_reference_means_none(raw: object) -> None:
    assert as_ref_id(raw) is None


EXPECTED = datetime(2016, 8, 8, 15, 15, tzinfo=UTC)


@pytest.mark.parametrize(
    "raw",
    [
        1470669300,
        "1470669300",
        1470669300.0,
        1470669300000,
        {"sec": 1470669300, "usec": 0},
        "2016-08-08T15:15:00",
    ],
)
def test_timestamps_in_every_shape(raw: object) -> None:
    assert as_datetime(raw) == EXPECTED


def test_timestamp_microseconds_and_nulls() -> None:
    value = as_datetime({"sec": 1471465053, "usec": 966000})
    assert value is not None
    assert value.microsecond == 966000
    for raw in (None, 0, "", "0001-01-01T00:00:00", "soon", {"usec": 3}):
        assert as_datetime(raw) is None


@pytest.mark.parametrize(
    ("raw", "expected"), [("00.00", "0.00"), ("25.00", "25.00"), (25, "25.00"), (0, "0.00")]
)
def test_money(raw: object, expected: str) -> None:
    assert as_decimal_str(raw) == expected


def test_bad_money_and_placeholders() -> None:
    assert as_decimal_str("free") is None
    assert as_decimal_str("NaN") is None
    assert as_text("--") is None
    assert as_text("") is None
    assert as_bool("true") is True
    assert as_bool(0) is False
    assert as_date("2014-09-10") == date(2014, 9, 10)
    assert as_date("not a date") is None


@pytest.mark.parametrize(
    ("convert", "raw"),
    [
        (as_int, "inf"),
        (as_int, "1e400"),
        (as_int, "-inf"),
        (as_int, "nonsense"),
        (as_float, "nan"),
        (as_float, "inf"),
        (as_decimal_str, "1e30"),
        (as_decimal_str, "9" * 40),
    ],
)
def test_unconvertible_values_are_null_counted_and_never_raise(
    convert: Callable[[object], object], raw: str
) -> None:
    seen: list[str] = []
    conversion_observers.append(seen.append)
    try:
        assert convert(raw) is None
    finally:
        conversion_observers.remove(seen.append)
    assert len(seen) == 1


def test_empty_values_are_null_without_being_counted() -> None:
    seen: list[str] = []
    conversion_observers.append(seen.append)
    try:
        assert as_int("") is None
        assert as_float(" ") is None
        assert as_datetime("2024-05-01T10:00:00") is not None
    finally:
        conversion_observers.remove(seen.append)
    assert seen == []
