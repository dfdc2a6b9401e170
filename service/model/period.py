"""SDMX time periods as instants: what period a TIME_PERIOD value covers.

Every form of SDMX-ML 2.1 ``ObservationalTimePeriodType`` is understood:
gregorian years, months and days (``2019``, ``2019-03``, ``2019-03-31``),
the reporting periods (``2019-A1``, ``2019-S2``, ``2019-T3``, ``2019-Q4``,
``2019-M07``, ``2019-W27`` as ISO weeks, ``2019-D183``), date-times
(``2019-03-31T12:00:00``) and ISO 8601 time ranges (``2019-03-01/P3M``).
A timezone suffix (``Z``, ``+05:00``) may follow any of them; without one
a period is taken as UTC. Reporting years start on 1 January.

Bounds are timezone-aware UTC datetimes, the end exclusive: ``2019`` covers
[2019-01-01, 2020-01-01). No I/O here.
"""

from __future__ import annotations

import re
from datetime import date, datetime, timedelta, timezone

UTC = timezone.utc

_TZ = r"(?P<tz>Z|[+-]\d{2}:\d{2})?"
_YEAR = re.compile(r"(?P<y>\d{4})" + _TZ + r"$")
_MONTH = re.compile(r"(?P<y>\d{4})-(?P<m>\d{2})" + _TZ + r"$")
_DAY = re.compile(r"(?P<y>\d{4})-(?P<m>\d{2})-(?P<d>\d{2})" + _TZ + r"$")
_REPORTING = re.compile(r"(?P<y>\d{4})-(?P<kind>[ASTQMWD])(?P<n>\d{1,3})" + _TZ + r"$")
_DATETIME = re.compile(
    r"(?P<y>\d{4})-(?P<m>\d{2})-(?P<d>\d{2})T(?P<H>\d{2}):(?P<M>\d{2})"
    r"(?::(?P<S>\d{2})(?:\.(?P<f>\d{1,9}))?)?" + _TZ + r"$")
_DURATION = re.compile(
    r"P(?:(?P<Y>\d+)Y)?(?:(?P<Mo>\d+)M)?(?:(?P<W>\d+)W)?(?:(?P<D>\d+)D)?"
    r"(?:T(?:(?P<H>\d+)H)?(?:(?P<Mi>\d+)M)?(?:(?P<S>\d+(?:\.\d+)?)S)?)?$")

# Reporting period letter -> (digits the standard writes, periods per year).
_REPORTING_KINDS = {"A": (1, 1), "S": (1, 2), "T": (1, 3), "Q": (1, 4), "M": (2, 12),
                    "W": (2, 53), "D": (3, 366)}

# FREQ code -> patterns of the periods a series of that frequency may hold.
_FREQ_PATTERNS = {
    "A": (r"\d{4}", r"\d{4}-A1"),
    "S": (r"\d{4}-S[12]",),
    "T": (r"\d{4}-T[123]",),
    "Q": (r"\d{4}-Q[1-4]",),
    "M": (r"\d{4}-(0[1-9]|1[0-2])", r"\d{4}-M(0[1-9]|1[0-2])"),
    "W": (r"\d{4}-W(0[1-9]|[1-4]\d|5[0-3])",),
    "D": (r"\d{4}-\d{2}-\d{2}", r"\d{4}-D(00[1-9]|0[1-9]\d|[12]\d\d|3[0-5]\d|36[0-6])"),
    "B": (r"\d{4}-\d{2}-\d{2}", r"\d{4}-D(00[1-9]|0[1-9]\d|[12]\d\d|3[0-5]\d|36[0-6])"),
    "H": (r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?",),
    "N": (r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?",),
    "I": (r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?",),
}
_FREQ_RES = {freq: re.compile("(" + "|".join(pats) + r")(Z|[+-]\d{2}:\d{2})?$")
             for freq, pats in _FREQ_PATTERNS.items()}


def period_bounds(text: str) -> tuple[datetime, datetime]:
    """The instants [start, end) a time period covers, as UTC datetimes."""
    if not isinstance(text, str) or not text.strip():
        raise ValueError(f"empty time period {text!r}")
    value = text.strip()
    if "/" in value:
        return _range_bounds(value, text)
    for pattern, bounds in ((_YEAR, _year), (_MONTH, _month), (_DAY, _day),
                            (_REPORTING, _reporting), (_DATETIME, _datetime)):
        match = pattern.match(value)
        if match:
            start, end = bounds(match, text)
            return _shift(start, match["tz"]), _shift(end, match["tz"])
    raise ValueError(f"{text!r} is not an SDMX time period "
                     "(expected e.g. 2019, 2019-03, 2019-03-31, 2019-Q1, 2019-W05, 2019-D032)")


def parse_start_period(text: str) -> datetime:
    """A REST ``startPeriod``: the start of the period it names."""
    try:
        return period_bounds(text)[0]
    except ValueError as exc:
        raise ValueError(f"startPeriod {text!r}: {exc}") from None


def parse_end_period(text: str) -> datetime:
    """A REST ``endPeriod``: the (exclusive) end of the period it names."""
    try:
        return period_bounds(text)[1]
    except ValueError as exc:
        raise ValueError(f"endPeriod {text!r}: {exc}") from None


def period_matches_freq(text: str, freq: str) -> bool:
    """Whether a TIME_PERIOD value is written as a period of the FREQ code.

    A: ``2019`` or ``2019-A1``; S: ``2019-S1``; T: ``2019-T1``; Q: ``2019-Q1``;
    M: ``2019-01`` or ``2019-M01``; W: ``2019-W01``..``W53``; D and B:
    ``2019-01-31`` or ``2019-D001``..``D366``; H, N, I: date-times. Other codes
    (``_O``, ``_U``, ``_Z``...) say nothing about the period and match anything
    that is a period at all. The period must also exist (no 2019-W53, no 2019-02-30).
    """
    pattern = _FREQ_RES.get(freq)
    if pattern is not None and not pattern.match(text):
        return False
    try:
        period_bounds(text)
    except ValueError:
        return False
    return True


def _shift(moment: datetime, tz: str | None) -> datetime:
    """A naive local instant with an optional ``Z``/``+hh:mm`` suffix, as UTC."""
    if not tz or tz == "Z":
        return moment.replace(tzinfo=UTC)
    sign = 1 if tz[0] == "+" else -1
    offset = timedelta(hours=int(tz[1:3]), minutes=int(tz[4:6]))
    return (moment - sign * offset).replace(tzinfo=UTC)


def _date(year: int, month: int, day: int, text: str) -> datetime:
    try:
        return datetime(year, month, day)
    except ValueError:
        raise ValueError(f"{text!r} names a date that does not exist") from None


def _add_months(moment: datetime, months: int) -> datetime:
    """``moment`` moved by whole months, the day clamped to the month's length."""
    index = moment.year * 12 + moment.month - 1 + months
    year, month = index // 12, index % 12 + 1
    following = date(year + month // 12, month % 12 + 1, 1)
    last_day = (following - timedelta(days=1)).day
    return moment.replace(year=year, month=month, day=min(moment.day, last_day))


def _year(match: re.Match, text: str) -> tuple[datetime, datetime]:
    start = _date(int(match["y"]), 1, 1, text)
    return start, _add_months(start, 12)


def _month(match: re.Match, text: str) -> tuple[datetime, datetime]:
    start = _date(int(match["y"]), int(match["m"]), 1, text)
    return start, _add_months(start, 1)


def _day(match: re.Match, text: str) -> tuple[datetime, datetime]:
    start = _date(int(match["y"]), int(match["m"]), int(match["d"]), text)
    return start, start + timedelta(days=1)


def _reporting(match: re.Match, text: str) -> tuple[datetime, datetime]:
    year, kind, digits = int(match["y"]), match["kind"], match["n"]
    width, count = _REPORTING_KINDS[kind]
    number = int(digits)
    if len(digits) != width:
        raise ValueError(f"{text!r}: a {kind} reporting period has {width} digit(s) "
                         f"after '{kind}', e.g. {year}-{kind}{1:0{width}d}")
    if not 1 <= number <= count:
        raise ValueError(f"{text!r}: {kind} reporting periods run from 1 to {count}")
    if kind == "W":
        # ISO 8601 weeks: week 1 holds the year's first Thursday.
        try:
            start = datetime.combine(date.fromisocalendar(year, number, 1), datetime.min.time())
        except ValueError:
            raise ValueError(f"{text!r}: {year} has no ISO week {number}") from None
        return start, start + timedelta(weeks=1)
    if kind == "D":
        start = datetime(year, 1, 1) + timedelta(days=number - 1)
        if start.year != year:
            raise ValueError(f"{text!r}: {year} has no day {number}")
        return start, start + timedelta(days=1)
    months = 12 // count
    start = _add_months(datetime(year, 1, 1), months * (number - 1))
    return start, _add_months(start, months)


def _datetime(match: re.Match, text: str) -> tuple[datetime, datetime]:
    day = _date(int(match["y"]), int(match["m"]), int(match["d"]), text)
    hour, minute = int(match["H"]), int(match["M"])
    second = int(match["S"]) if match["S"] is not None else 0
    if hour > 23 or minute > 59 or second > 59:
        raise ValueError(f"{text!r} names a time that does not exist")
    fraction = match["f"]
    micros = int((fraction + "000000")[:6]) if fraction else 0
    start = day.replace(hour=hour, minute=minute, second=second, microsecond=micros)
    if fraction:
        step = timedelta(microseconds=1)
    elif match["S"] is not None:
        step = timedelta(seconds=1)
    else:
        step = timedelta(minutes=1)
    return start, start + step


def _range_bounds(value: str, text: str) -> tuple[datetime, datetime]:
    """An ISO 8601 time range ``start/duration`` (SDMX ``TimeRangeType``)."""
    first, _, duration = value.partition("/")
    for pattern, bounds in ((_DATETIME, _datetime), (_DAY, _day)):
        match = pattern.match(first)
        if match:
            start = bounds(match, text)[0]
            tz = match["tz"]
            break
    else:
        raise ValueError(f"{text!r}: a time range starts with a date or date-time")
    if tz is None and duration[-6:-5] in ("+", "-") and duration[-3:-2] == ":":
        duration, tz = duration[:-6], duration[-6:]
    elif tz is None and duration.endswith("Z"):
        duration, tz = duration[:-1], "Z"
    end = _add_duration(start, duration, text)
    if end <= start:
        raise ValueError(f"{text!r}: a time range needs a positive duration")
    return _shift(start, tz), _shift(end, tz)


def _add_duration(start: datetime, duration: str, text: str) -> datetime:
    match = _DURATION.match(duration)
    if not match or duration in ("P", "PT") or duration.endswith("T"):
        raise ValueError(f"{text!r}: {duration!r} is not an ISO 8601 duration (e.g. P1Y, P3M, P7D)")
    part = {k: v for k, v in match.groupdict().items() if v is not None}
    end = _add_months(start, 12 * int(part.get("Y", 0)) + int(part.get("Mo", 0)))
    return end + timedelta(weeks=int(part.get("W", 0)), days=int(part.get("D", 0)),
                           hours=int(part.get("H", 0)), minutes=int(part.get("Mi", 0)),
                           seconds=float(part.get("S", 0)))
