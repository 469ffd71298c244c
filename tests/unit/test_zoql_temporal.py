"""temporal.py: date, datetime and relative literals, zones, and day ranges (reference §8.2)."""

from __future__ import annotations

import datetime as dt
import zoneinfo

import pytest

from aquarium.zoql import temporal

LA = zoneinfo.ZoneInfo("America/Los_Angeles")
NEW_YORK = zoneinfo.ZoneInfo("America/New_York")
NOW = dt.datetime(2024, 3, 31, 12, 0, tzinfo=dt.UTC)  # 05:00 PDT on 2024-03-31
HOUR = dt.timedelta(hours=1)


def _utc(value: dt.datetime) -> dt.datetime:
    return value.astimezone(dt.UTC)


def _at(text: str, now: dt.datetime = NOW, zone: dt.tzinfo = LA) -> dt.date | dt.datetime:
    value = temporal.parse_relative(text, now, zone)
    assert value is not None, text
    return value


# -- parse_date -------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2024-02-29", dt.date(2024, 2, 29)),
        ("2011-02-01", dt.date(2011, 2, 1)),
        ("0001-01-01", dt.date(1, 1, 1)),
        ("9999-12-31", dt.date(9999, 12, 31)),
    ],
)
def test_parse_date(text: str, expected: dt.date) -> None:
    assert temporal.parse_date(text) == expected


@pytest.mark.parametrize(
    "text",
    ["", "2024-1-5", "20240105", "2024/01/05", "2024-01-05T00:00:00", " 2024-01-05", "today"],
)
def test_parse_date_other_shapes_are_none(text: str) -> None:
    assert temporal.parse_date(text) is None


@pytest.mark.parametrize(
    "text", ["2021-02-30", "2023-02-29", "2024-13-01", "2024-00-10", "0000-01-01"]
)
def test_parse_date_impossible_dates_raise(text: str) -> None:
    with pytest.raises(temporal.TemporalError, match="is not a valid date"):
        temporal.parse_date(text)


# -- parse_datetime ---------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("text", "expected_utc"),
    [
        ("2024-01-01T00:00:00Z", dt.datetime(2024, 1, 1, 0, 0, tzinfo=dt.UTC)),
        ("2024-01-01T10:00:00+05:30", dt.datetime(2024, 1, 1, 4, 30, tzinfo=dt.UTC)),
        ("2024-01-01T00:00:00-08:00", dt.datetime(2024, 1, 1, 8, 0, tzinfo=dt.UTC)),
        ("2024-01-01T00:00:00-0800", dt.datetime(2024, 1, 1, 8, 0, tzinfo=dt.UTC)),
        ("2024-01-01T00:00:00(+00:00)", dt.datetime(2024, 1, 1, 0, 0, tzinfo=dt.UTC)),
        ("2024-01-01T00:00:00 (-03:00)", dt.datetime(2024, 1, 1, 3, 0, tzinfo=dt.UTC)),
        ("2024-01-01T00:00:00(America/New_York)", dt.datetime(2024, 1, 1, 5, 0, tzinfo=dt.UTC)),
        ("2024-07-01T00:00:00(America/New_York)", dt.datetime(2024, 7, 1, 4, 0, tzinfo=dt.UTC)),
        ("2024-01-01T00:00:00 (Los Angeles)", dt.datetime(2024, 1, 1, 8, 0, tzinfo=dt.UTC)),
        ("2024-01-01T00:00:00(UTC)", dt.datetime(2024, 1, 1, 0, 0, tzinfo=dt.UTC)),
        # no zone: the tenant's zone (PST in winter, PDT in summer)
        ("2024-01-01T00:00:00", dt.datetime(2024, 1, 1, 8, 0, tzinfo=dt.UTC)),
        ("2024-06-01T09:30:00", dt.datetime(2024, 6, 1, 16, 30, tzinfo=dt.UTC)),
        ("2024-01-01T00:00:00.250000Z", dt.datetime(2024, 1, 1, 0, 0, 0, 250000, tzinfo=dt.UTC)),
    ],
)
def test_parse_datetime(text: str, expected_utc: dt.datetime) -> None:
    value = temporal.parse_datetime(text, LA)
    assert value is not None
    assert value.tzinfo is not None
    assert _utc(value) == expected_utc


def test_parse_datetime_without_zone_uses_the_default_zone() -> None:
    value = temporal.parse_datetime("2024-01-01T00:00:00", NEW_YORK)
    assert value == dt.datetime(2024, 1, 1, tzinfo=NEW_YORK)


@pytest.mark.parametrize(
    "text",
    ["2024-01-01", "2024-01-01T10:00", "2024-01-01T10:00:00.1234567Z", "today", "", "2024-01-01Z"],
)
def test_parse_datetime_other_shapes_are_none(text: str) -> None:
    assert temporal.parse_datetime(text, LA) is None


@pytest.mark.parametrize(
    "text", ["2026-08-01 00:00:00", "2026-08-01 00:00", "2026-08-01 00:00:00Z"]
)
def test_parse_datetime_with_a_space_is_refused_with_a_hint(text: str) -> None:
    """Zuora silently drops such a filter (reference §8.2); refusing it loses no data."""
    with pytest.raises(temporal.TemporalError, match="write a 'T' between date and time"):
        temporal.parse_datetime(text, LA)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("2024-02-30T10:00:00", "day is out of range"),
        ("2024-01-01T25:00:00", "hour must be in 0..23"),
        ("2024-01-01T10:60:00", "minute must be in 0..59"),
        ("2024-01-01T10:00:00Z(UTC)", "gives two time zones"),
        ("2024-01-01T10:00:00+15:00", "not a valid UTC offset"),
        ("2024-01-01T10:00:00(Atlantis)", "unknown time zone 'Atlantis'"),
    ],
)
def test_parse_datetime_errors(text: str, message: str) -> None:
    with pytest.raises(temporal.TemporalError, match=message):
        temporal.parse_datetime(text, LA)


# -- zone -------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("text", "offset"),
    [
        ("+00:00", dt.timedelta(0)),
        ("-08:00", dt.timedelta(hours=-8)),
        ("+05:30", dt.timedelta(hours=5, minutes=30)),
        ("-0330", dt.timedelta(hours=-3, minutes=-30)),
        ("+14:00", dt.timedelta(hours=14)),
        (" +01:00 ", dt.timedelta(hours=1)),
        ("Z", dt.timedelta(0)),
        ("utc", dt.timedelta(0)),
        ("GMT", dt.timedelta(0)),
    ],
)
def test_zone_fixed_offsets(text: str, offset: dt.timedelta) -> None:
    assert temporal.zone(text).utcoffset(None) == offset


@pytest.mark.parametrize(
    ("text", "key"),
    [
        ("America/Los_Angeles", "America/Los_Angeles"),
        ("America/New_York", "America/New_York"),
        ("Los Angeles", "America/Los_Angeles"),
        ("los angeles", "America/Los_Angeles"),
        ("New York", "America/New_York"),
        ("Tokyo", "Asia/Tokyo"),
        ("Paris", "Europe/Paris"),
    ],
)
def test_zone_names_and_cities(text: str, key: str) -> None:
    assert temporal.zone(text) == zoneinfo.ZoneInfo(key)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("+15:00", "not a valid UTC offset"),
        ("+05:60", "not a valid UTC offset"),
        ("Atlantis", "unknown time zone"),
        ("Mars/Olympus", "unknown time zone"),
        ("../etc/passwd", "unknown time zone"),
        ("", "unknown time zone"),
    ],
)
def test_zone_errors(text: str, message: str) -> None:
    with pytest.raises(temporal.TemporalError, match=message):
        temporal.zone(text)


# -- parse_relative ---------------------------------------------------------------------------
def test_today_is_a_date_in_the_given_zone() -> None:
    assert _at("today") == dt.date(2024, 3, 31)
    # 12:00Z is already 2024-04-01 on Kiritimati (UTC+14) and still 2024-03-31 in Honolulu.
    assert _at("today", zone=temporal.zone("Pacific/Kiritimati")) == dt.date(2024, 4, 1)
    assert _at("today (Pacific/Kiritimati)") == dt.date(2024, 4, 1)
    assert _at("today", now=dt.datetime(2024, 4, 1, 3, 0, tzinfo=dt.UTC)) == dt.date(2024, 3, 31)


def test_now_is_the_given_instant_in_the_zone() -> None:
    value = _at("now")
    assert isinstance(value, dt.datetime)
    assert value == NOW
    assert value.utcoffset() == dt.timedelta(hours=-7)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("today - 30 days", dt.date(2024, 3, 1)),
        ("today - 1 day", dt.date(2024, 3, 30)),
        ("today + 1 day", dt.date(2024, 4, 1)),
        ("today - 1 week", dt.date(2024, 3, 24)),
        ("today - 3 weeks", dt.date(2024, 3, 10)),
        ("today - 2 years", dt.date(2022, 3, 31)),
        ("today + 0 days", dt.date(2024, 3, 31)),
        ("TODAY - 7 DAYS", dt.date(2024, 3, 24)),
        ("today-1day", dt.date(2024, 3, 30)),
        ("  today  -  1  days  ", dt.date(2024, 3, 30)),
        ("today - 1 month (America/New_York)", dt.date(2024, 2, 29)),
    ],
)
def test_today_arithmetic(text: str, expected: dt.date) -> None:
    assert _at(text) == expected


@pytest.mark.parametrize(
    ("today", "text", "expected"),
    [
        # month ends clamp to the last day of the target month
        (dt.date(2024, 3, 31), "today - 1 month", dt.date(2024, 2, 29)),
        (dt.date(2023, 3, 31), "today - 1 month", dt.date(2023, 2, 28)),
        (dt.date(2024, 5, 31), "today - 1 month", dt.date(2024, 4, 30)),
        (dt.date(2024, 1, 31), "today + 1 month", dt.date(2024, 2, 29)),
        (dt.date(2024, 8, 31), "today + 1 month", dt.date(2024, 9, 30)),
        (dt.date(2024, 2, 29), "today + 1 year", dt.date(2025, 2, 28)),
        (dt.date(2024, 2, 29), "today - 4 years", dt.date(2020, 2, 29)),
        (dt.date(2024, 3, 31), "today - 13 months", dt.date(2023, 2, 28)),
        (dt.date(2024, 1, 15), "today - 1 month", dt.date(2023, 12, 15)),
        (dt.date(2024, 12, 15), "today + 1 month", dt.date(2025, 1, 15)),
        (dt.date(2024, 3, 15), "today - 24 months", dt.date(2022, 3, 15)),
    ],
)
def test_month_and_year_arithmetic_clamps_to_month_end(
    today: dt.date, text: str, expected: dt.date
) -> None:
    noon_in_la = dt.datetime.combine(today, dt.time(12), tzinfo=LA)
    assert _at(text, now=noon_in_la) == expected


@pytest.mark.parametrize(
    ("text", "expected_utc"),
    [
        ("now - 2 hours", dt.datetime(2024, 3, 31, 10, 0, tzinfo=dt.UTC)),
        ("now + 2 hours", dt.datetime(2024, 3, 31, 14, 0, tzinfo=dt.UTC)),
        ("now - 90 minutes", dt.datetime(2024, 3, 31, 10, 30, tzinfo=dt.UTC)),
        ("now - 3600 seconds", dt.datetime(2024, 3, 31, 11, 0, tzinfo=dt.UTC)),
        ("now - 1 second", dt.datetime(2024, 3, 31, 11, 59, 59, tzinfo=dt.UTC)),
        ("now - 1 month", dt.datetime(2024, 2, 29, 13, 0, tzinfo=dt.UTC)),  # 05:00 PST
        # wall clock: 05:00 PDT three weeks back is 05:00 PDT on 2024-03-10 (DST began at 02:00)
        ("now - 3 weeks (Los Angeles)", dt.datetime(2024, 3, 10, 12, 0, tzinfo=dt.UTC)),
        ("now - 3 weeks (-08:00)", dt.datetime(2024, 3, 10, 12, 0, tzinfo=dt.UTC)),
        ("now - 1 day (Tokyo)", dt.datetime(2024, 3, 30, 12, 0, tzinfo=dt.UTC)),
        ("Now-2hours", dt.datetime(2024, 3, 31, 10, 0, tzinfo=dt.UTC)),
    ],
)
def test_now_arithmetic(text: str, expected_utc: dt.datetime) -> None:
    value = _at(text)
    assert isinstance(value, dt.datetime)
    assert _utc(value) == expected_utc


def test_now_minus_days_keeps_the_local_clock_across_dst() -> None:
    """Days move the calendar: noon PDT minus one day is noon PST, 23 real hours earlier."""
    noon_pdt = dt.datetime(2024, 3, 10, 19, 0, tzinfo=dt.UTC)
    value = _at("now - 1 day", now=noon_pdt)
    assert isinstance(value, dt.datetime)
    assert _utc(value) == dt.datetime(2024, 3, 9, 20, 0, tzinfo=dt.UTC)
    assert noon_pdt - _utc(value) == 23 * HOUR


def test_now_minus_hours_is_elapsed_time_across_spring_forward() -> None:
    now = dt.datetime(2024, 3, 10, 10, 30, tzinfo=dt.UTC)  # 03:30 PDT
    value = _at("now - 2 hours", now=now)
    assert isinstance(value, dt.datetime)
    assert now - _utc(value) == 2 * HOUR


def test_now_minus_hours_is_elapsed_time_across_fall_back() -> None:
    now = dt.datetime(2024, 11, 3, 9, 30, tzinfo=dt.UTC)  # the second 01:30, PST
    value = _at("now - 1 hour", now=now)
    assert isinstance(value, dt.datetime)
    assert now - _utc(value) == HOUR


@pytest.mark.parametrize(
    "text",
    [
        "",
        "tomorrow",
        "yesterday",
        "2024-01-01",
        "today -",
        "today - day",
        "today - 1.5 days",
        "today - -1 days",
        "today - 2 fortnights",
        "now - 1 day ()",
        "nowish",
        "today today",
    ],
)
def test_not_relative_is_none(text: str) -> None:
    assert temporal.parse_relative(text, NOW, LA) is None


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("today - 2 hours", "'today' moves by days, weeks, months or years, not by hours"),
        ("today + 5 minutes", "not by minutes"),
        ("today - 1 second", "not by seconds"),
        ("today - 1 day (Nowhere)", "unknown time zone 'Nowhere'"),
        ("now - 1 day (+25:00)", "not a valid UTC offset"),
        ("today - 999999 years", "outside years 1-9999"),
        ("today + 999999 months", "outside years 1-9999"),
        ("now - 999999 weeks", "outside years 1-9999"),
    ],
)
def test_relative_errors(text: str, message: str) -> None:
    with pytest.raises(temporal.TemporalError, match=message):
        temporal.parse_relative(text, NOW, LA)


# -- day_range --------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("day", "zone", "hours", "start_utc"),
    [
        (dt.date(2024, 1, 15), LA, 24, dt.datetime(2024, 1, 15, 8, 0, tzinfo=dt.UTC)),
        (dt.date(2024, 7, 4), LA, 24, dt.datetime(2024, 7, 4, 7, 0, tzinfo=dt.UTC)),
        (dt.date(2024, 3, 10), LA, 23, dt.datetime(2024, 3, 10, 8, 0, tzinfo=dt.UTC)),
        (dt.date(2024, 11, 3), LA, 25, dt.datetime(2024, 11, 3, 7, 0, tzinfo=dt.UTC)),
        (
            dt.date(2024, 3, 31),
            zoneinfo.ZoneInfo("Europe/Paris"),
            23,
            dt.datetime(2024, 3, 30, 23, 0, tzinfo=dt.UTC),
        ),
        (
            dt.date(2024, 10, 27),
            zoneinfo.ZoneInfo("Europe/Paris"),
            25,
            dt.datetime(2024, 10, 26, 22, 0, tzinfo=dt.UTC),
        ),
        (dt.date(2024, 3, 10), dt.UTC, 24, dt.datetime(2024, 3, 10, 0, 0, tzinfo=dt.UTC)),
        (
            dt.date(2024, 3, 10),
            temporal.zone("+05:30"),
            24,
            dt.datetime(2024, 3, 9, 18, 30, tzinfo=dt.UTC),
        ),
    ],
)
def test_day_range(day: dt.date, zone: dt.tzinfo, hours: int, start_utc: dt.datetime) -> None:
    days = temporal.day_range(day, zone)
    assert days.day == day
    assert _utc(days.start) == start_utc
    # Subtract in UTC: Python subtracts same-zone aware datetimes on the wall clock.
    assert _utc(days.end) - _utc(days.start) == hours * HOUR
    assert days.end == dt.datetime.combine(day + dt.timedelta(days=1), dt.time(), tzinfo=zone)


def test_consecutive_day_ranges_tile_time() -> None:
    day = dt.date(2024, 3, 8)
    for _ in range(5):
        following = day + dt.timedelta(days=1)
        assert _utc(temporal.day_range(day, LA).end) == _utc(
            temporal.day_range(following, LA).start
        )
        day = following


def test_relative_dates_beyond_the_calendar_are_refused() -> None:
    with pytest.raises(temporal.TemporalError, match="outside years 1-9999"):
        _at("today - 10000000 days")


# -- the calendar's edges (issue 11, defect 2) ------------------------------------------------
@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (
            dt.datetime(9999, 12, 31, 23, 59, 59, tzinfo=temporal.zone("-12:00")),
            temporal.Beyond.AFTER,
        ),
        (dt.datetime(1, 1, 1, tzinfo=temporal.zone("+14:00")), temporal.Beyond.BEFORE),
        (dt.datetime(9999, 12, 31, 11, 59, tzinfo=temporal.zone("-12:00")), None),
        (dt.datetime(1, 1, 1, tzinfo=temporal.zone("-01:00")), None),
    ],
)
def test_utc_marks_instants_beyond_the_calendar(
    value: dt.datetime, expected: temporal.Beyond | None
) -> None:
    found = temporal.utc(value)
    if expected is None:
        assert found == value and isinstance(found, dt.datetime) and found.tzinfo is dt.UTC
    else:
        assert found is expected


@pytest.mark.parametrize("zone", [LA, temporal.zone("+14:00"), temporal.zone("-12:00")])
def test_the_calendars_last_day_ends_beyond_it(zone: dt.tzinfo) -> None:
    last = temporal.day_range(dt.date.max, zone)
    assert last.end is temporal.Beyond.AFTER
    first = temporal.day_range(dt.date.min, zone)
    offset = dt.datetime(2, 1, 1, tzinfo=zone).utcoffset()
    assert offset is not None
    assert (first.start is temporal.Beyond.BEFORE) == (offset > dt.timedelta(0))
