"""SDMX time periods as instants: every observational period form, REST bounds, FREQ."""

from __future__ import annotations

from datetime import datetime, timezone

import pytest

from service.model.period import (parse_end_period, parse_start_period, period_bounds,
                                  period_matches_freq)


def utc(*parts: int) -> datetime:
    return datetime(*parts, tzinfo=timezone.utc)


@pytest.mark.parametrize("text, start, end", [
    ("2019", utc(2019, 1, 1), utc(2020, 1, 1)),
    ("2019-A1", utc(2019, 1, 1), utc(2020, 1, 1)),
    ("2019-03", utc(2019, 3, 1), utc(2019, 4, 1)),
    ("2019-12", utc(2019, 12, 1), utc(2020, 1, 1)),
    ("2019-M03", utc(2019, 3, 1), utc(2019, 4, 1)),
    ("2020-02-29", utc(2020, 2, 29), utc(2020, 3, 1)),
    ("2019-S1", utc(2019, 1, 1), utc(2019, 7, 1)),
    ("2019-S2", utc(2019, 7, 1), utc(2020, 1, 1)),
    ("2019-T2", utc(2019, 5, 1), utc(2019, 9, 1)),
    ("2019-Q1", utc(2019, 1, 1), utc(2019, 4, 1)),
    ("2019-Q4", utc(2019, 10, 1), utc(2020, 1, 1)),
    ("2019-W01", utc(2018, 12, 31), utc(2019, 1, 7)),  # ISO week 1 holds the first Thursday
    ("2020-W53", utc(2020, 12, 28), utc(2021, 1, 4)),
    ("2019-D001", utc(2019, 1, 1), utc(2019, 1, 2)),
    ("2020-D366", utc(2020, 12, 31), utc(2021, 1, 1)),
    ("2019-03-31T12:30:00", utc(2019, 3, 31, 12, 30), utc(2019, 3, 31, 12, 30, 1)),
    ("2019-03-31T12:30", utc(2019, 3, 31, 12, 30), utc(2019, 3, 31, 12, 31)),
    ("2019-03-31T12:30:00Z", utc(2019, 3, 31, 12, 30), utc(2019, 3, 31, 12, 30, 1)),
    ("2019-03-31T12:30:00+05:00", utc(2019, 3, 31, 7, 30), utc(2019, 3, 31, 7, 30, 1)),
    ("2019-Q1+06:00", utc(2018, 12, 31, 18), utc(2019, 3, 31, 18)),
    ("2019-01-01/P1Y", utc(2019, 1, 1), utc(2020, 1, 1)),
    ("2019-01-31/P1M", utc(2019, 1, 31), utc(2019, 2, 28)),
    ("2019-03-01T00:00:00/P1DT12H", utc(2019, 3, 1), utc(2019, 3, 2, 12)),
    ("2019-03-01/P2W", utc(2019, 3, 1), utc(2019, 3, 15)),
])
def test_period_bounds(text, start, end):
    assert period_bounds(text) == (start, end)


@pytest.mark.parametrize("text", [
    "", "x", "19", "2019-13", "2019-02-29", "2019-Q5", "2019-Q0", "2019-S3", "2019-T4",
    "2019-A2", "2019-M1", "2019-M13", "2019-W53", "2019-W00", "2019-D366", "2019-D1",
    "2019-03-31T25:00:00", "2019-01-01/P", "2019-01-01/1Y", "2019/P1Y", "2019-01-01/P0D",
])
def test_bad_periods_are_named_in_the_error(text):
    with pytest.raises(ValueError) as info:
        period_bounds(text)
    assert repr(text) in str(info.value)


def test_rest_start_and_end_periods():
    assert parse_start_period("2017") == utc(2017, 1, 1)
    assert parse_end_period("2017") == utc(2018, 1, 1)
    assert parse_start_period("2017-Q2") == utc(2017, 4, 1)
    assert parse_end_period("2017-Q2") == utc(2017, 7, 1)
    assert parse_end_period("2017-03-31") == utc(2017, 4, 1)
    assert parse_start_period("2017-W02") == utc(2017, 1, 9)
    with pytest.raises(ValueError, match="startPeriod '2017-Q9'"):
        parse_start_period("2017-Q9")
    with pytest.raises(ValueError, match="endPeriod 'soon'"):
        parse_end_period("soon")


@pytest.mark.parametrize("text, freq, matches", [
    ("2019", "A", True), ("2019-A1", "A", True), ("2019-01", "A", False),
    ("2019-S2", "S", True), ("2019-Q2", "S", False),
    ("2019-T3", "T", True),
    ("2019-Q4", "Q", True), ("2019-Q5", "Q", False), ("2019", "Q", False),
    ("2019-01", "M", True), ("2019-M12", "M", True), ("2019-M13", "M", False), ("2019-Q1", "M", False),
    ("2019-W01", "W", True), ("2020-W53", "W", True), ("2019-W53", "W", False), ("2019-W54", "W", False),
    ("2019-01-31", "D", True), ("2019-D001", "D", True), ("2020-D366", "D", True),
    ("2019-D366", "D", False), ("2019-02-30", "D", False), ("2019-01", "D", False),
    ("2019-01-31T10:00:00", "H", True), ("2019-01-31", "H", False),
    ("2019", "_Z", True), ("nonsense", "_Z", False),
])
def test_period_matches_freq(text, freq, matches):
    assert period_matches_freq(text, freq) is matches
