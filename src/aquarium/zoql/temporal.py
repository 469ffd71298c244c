"""Date, datetime and relative (``today - 30 days``) literals of Export ZOQL (reference §8.2).

All results are concrete: a :class:`datetime.date`, or an aware :class:`datetime.datetime`.
A literal without a zone is read in the tenant's time zone. Relative literals are evaluated
against the ``now`` the caller passes, so one job sees one "now".

Instants are compared in UTC (:func:`utc`). Python's calendar ends with year 9999 and starts with
year 1, in UTC as in any zone, so an instant written at the calendar's edge in another zone
(``9999-12-31T23:59:59-12:00``, ``0001-01-01T00:00:00+14:00``), or the end of the day
``9999-12-31``, has no UTC datetime: it is :class:`Beyond` the calendar, and compares like the
engines' ``infinity``, after (or before) every stored instant.
"""

from __future__ import annotations

import datetime as dt
import enum
import functools
import re
import zoneinfo
from dataclasses import dataclass

DATE_RE = re.compile(r"(\d{4})-(\d{2})-(\d{2})")
DATETIME_RE = re.compile(
    r"(?P<date>\d{4}-\d{2}-\d{2})T(?P<time>\d{2}:\d{2}:\d{2})(?P<fraction>\.\d{1,6})?"
    r"(?P<zone>Z|[+-]\d{2}:?\d{2})?(?:\s*\((?P<paren>[^()]+)\))?",
)
SPACED_DATETIME_RE = re.compile(r"\d{4}-\d{2}-\d{2} \d{2}:\d{2}(:\d{2})?.*")
RELATIVE_RE = re.compile(
    r"\s*(?P<anchor>today|now)\s*"
    r"(?:(?P<sign>[+-])\s*(?P<qty>\d+)\s*(?P<unit>second|minute|hour|day|week|month|year)s?\s*)?"
    r"(?:\((?P<zone>[^()]+)\)\s*)?",
    re.IGNORECASE,
)
OFFSET_RE = re.compile(r"([+-])(\d{2}):?(\d{2})")
FIXED_UNITS = {"second": 1, "minute": 60, "hour": 3600, "day": 86400, "week": 7 * 86400}


class TemporalError(ValueError):
    """The text looks temporal but is not a valid literal; the message says why."""


class Beyond(enum.Enum):
    """An instant outside the UTC calendar Python holds (years 1 to 9999); values are the words
    both engines read as such an instant."""

    BEFORE = "-infinity"  #: before 0001-01-01T00:00:00Z
    AFTER = "infinity"  #: after 9999-12-31T23:59:59.999999Z


#: An instant in UTC, or one beyond the calendar
Instant = dt.datetime | Beyond


@dataclass(frozen=True)
class DayRange:
    """A calendar day in some zone, as the half-open instant range [start, end) in UTC."""

    day: dt.date
    start: Instant
    end: Instant


def utc(value: dt.datetime) -> Instant:
    """The aware ``value`` in UTC, or where it lies :class:`Beyond` the calendar."""
    try:
        return value.astimezone(dt.UTC)
    except OverflowError:
        # Only the calendar's first and last days can leave it when moved to UTC.
        return Beyond.AFTER if value.year == dt.MAXYEAR else Beyond.BEFORE


def parse_date(text: str) -> dt.date | None:
    """``YYYY-MM-DD`` as a date; ``None`` when the text has another shape."""
    match = DATE_RE.fullmatch(text)
    if match is None:
        return None
    try:
        return dt.date(int(match[1]), int(match[2]), int(match[3]))
    except ValueError as exc:
        raise TemporalError(f"{text!r} is not a valid date: {exc}") from None


@functools.cache
def _zone_names() -> dict[str, str]:
    """Lower-case city names ('los angeles') to IANA keys, for the ``(Los Angeles)`` form."""
    names: dict[str, str] = {}
    for key in sorted(zoneinfo.available_timezones()):
        city = key.rsplit("/", 1)[-1].replace("_", " ").lower()
        names.setdefault(city, key)
    return names


def zone(text: str) -> dt.tzinfo:
    """A zone written as ``+hh:mm``/``-hhmm``, an IANA name, or a city name (``Los Angeles``)."""
    text = text.strip()
    offset = OFFSET_RE.fullmatch(text)
    if offset is not None:
        sign = -1 if offset[1] == "-" else 1
        hours, minutes = int(offset[2]), int(offset[3])
        if hours > 14 or minutes > 59:
            raise TemporalError(f"{text!r} is not a valid UTC offset")
        return dt.timezone(sign * dt.timedelta(hours=hours, minutes=minutes))
    if text.upper() in {"Z", "UTC", "GMT"}:
        return dt.UTC
    key = text if "/" in text else _zone_names().get(text.lower(), text)
    try:
        return zoneinfo.ZoneInfo(key)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        raise TemporalError(f"unknown time zone {text!r}") from None


def parse_datetime(text: str, default_zone: dt.tzinfo) -> dt.datetime | None:
    """An ISO-8601 datetime (``Z``, ``±hh:mm`` or ``(zone)``) as an aware datetime.

    ``None`` when the text has another shape. A space between date and time is refused with a
    hint: Zuora silently ignores such a filter, which loses data without a word.
    """
    match = DATETIME_RE.fullmatch(text.strip())
    if match is None:
        if SPACED_DATETIME_RE.fullmatch(text.strip()):
            raise TemporalError(
                f"{text!r} is not a valid datetime: write a 'T' between date and time, "
                "as in '2024-01-31T10:00:00'"
            )
        return None
    try:
        naive = dt.datetime.fromisoformat(
            f"{match['date']}T{match['time']}{match['fraction'] or ''}"
        )
    except ValueError as exc:
        raise TemporalError(f"{text!r} is not a valid datetime: {exc}") from None
    if match["zone"] and match["paren"]:
        raise TemporalError(f"{text!r} gives two time zones")
    written_zone = match["zone"] or match["paren"]
    tz = zone(written_zone) if written_zone else default_zone
    return naive.replace(tzinfo=tz)


def _shift(anchor: dt.datetime, sign: int, qty: int, unit: str) -> dt.datetime:
    if unit in {"second", "minute", "hour"}:
        # Elapsed time: "now - 2 hours" is two real hours ago, across DST changes too.
        moved = anchor.astimezone(dt.UTC) + sign * dt.timedelta(seconds=qty * FIXED_UNITS[unit])
        return moved.astimezone(anchor.tzinfo)
    if unit in FIXED_UNITS:
        # Calendar days and weeks keep the wall-clock time, as a person reads "today - 7 days".
        return anchor + sign * dt.timedelta(seconds=qty * FIXED_UNITS[unit])
    months = sign * qty * (12 if unit == "year" else 1)
    total = anchor.year * 12 + (anchor.month - 1) + months
    year, month = divmod(total, 12)
    if not 1 <= year <= 9999:
        raise TemporalError("the relative date falls outside years 1-9999")
    month += 1
    day = min(anchor.day, _days_in_month(year, month))
    return anchor.replace(year=year, month=month, day=day)


def _days_in_month(year: int, month: int) -> int:
    following = dt.date(year + month // 12, month % 12 + 1, 1)
    return (following - dt.timedelta(days=1)).day


def parse_relative(
    text: str, now: dt.datetime, default_zone: dt.tzinfo
) -> dt.date | dt.datetime | None:
    """``today|now [± n unit[s]] [(zone)]``: ``today`` gives a date, ``now`` an aware datetime.

    ``None`` when the text is not a relative literal.
    """
    match = RELATIVE_RE.fullmatch(text)
    if match is None:
        return None
    tz = zone(match["zone"]) if match["zone"] else default_zone
    local_now = now.astimezone(tz)
    anchor_is_today = match["anchor"].lower() == "today"
    unit = (match["unit"] or "").lower()
    if anchor_is_today and unit in {"second", "minute", "hour"}:
        raise TemporalError(f"'today' moves by days, weeks, months or years, not by {unit}s")
    anchor = (
        local_now.replace(hour=0, minute=0, second=0, microsecond=0)
        if anchor_is_today
        else local_now
    )
    try:
        moved = anchor
        if match["sign"]:
            sign = -1 if match["sign"] == "-" else 1
            moved = _shift(anchor, sign, int(match["qty"]), unit)
    except (OverflowError, ValueError):
        raise TemporalError("the relative date falls outside years 1-9999") from None
    return moved.date() if anchor_is_today else moved


def day_range(day: dt.date, tz: dt.tzinfo) -> DayRange:
    """The instants of one calendar day in zone ``tz`` (23 or 25 hours long on DST changes).

    The last day of the calendar ends :attr:`Beyond.AFTER` it.
    """
    start = utc(dt.datetime.combine(day, dt.time(), tzinfo=tz))
    if day == dt.date.max:
        return DayRange(day, start, Beyond.AFTER)
    following = day + dt.timedelta(days=1)
    return DayRange(day, start, utc(dt.datetime.combine(following, dt.time(), tzinfo=tz)))
