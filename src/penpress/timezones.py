"""Time zones: IANA names checked with :mod:`zoneinfo`, and conversions to and from UTC.

Everything is stored in UTC (``database.UTCDateTime``); people type and read times in their
own zone (a profile preference, else the site's default). A wall-clock time that a zone skips
(the spring-forward hour) or repeats (the autumn hour) is resolved as :mod:`zoneinfo` does
with ``fold=0``: the earlier meaning of a repeated time, and the offset before the change for
a skipped one, so every entered time maps to exactly one instant.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from functools import cache
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

from penpress.errors import Invalid

UTC_NAME = "UTC"
NAME_MAX_LENGTH = 64
# Instants outside these years are refused: no one schedules or backdates that far, and near
# datetime's own limits a conversion between zones would overflow.
EARLIEST_YEAR = 1900
LATEST_YEAR = 2999
DAY_SECONDS = 86_400


@cache
def zone_names() -> tuple[str, ...]:
    """Every IANA zone name this machine knows (the ``tzdata`` package or the system's), sorted;
    ``UTC`` first."""
    names = sorted(available_timezones() - {UTC_NAME})
    return (UTC_NAME, *names)


@cache
def _known() -> frozenset[str]:
    return frozenset(zone_names())


def is_known(name: str) -> bool:
    """Whether ``name`` is an IANA zone name this machine knows."""
    return name in _known()


def check_zone(name: str | None, field: str = "time_zone") -> str:
    """``name`` if it is a known IANA zone (e.g. ``Europe/Paris``); else :class:`Invalid`."""
    cleaned = (name or "").strip()
    if len(cleaned) > NAME_MAX_LENGTH or not is_known(cleaned):
        raise Invalid.field(field, "Choose a time zone from the list, e.g. Europe/Paris or UTC.")
    return cleaned


def zone(name: str) -> ZoneInfo:
    """The zone called ``name``; UTC for a name this machine does not know (a stale setting)."""
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo(UTC_NAME)


def in_range(moment: datetime, field: str) -> datetime:
    """``moment`` (aware) as UTC, or :class:`Invalid` when it is naive or out of range."""
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise Invalid.field(
            field,
            "Give the time with its offset from UTC, e.g. 2026-03-29T09:00:00+02:00 or "
            "2026-03-29T07:00:00Z.",
        )
    if not EARLIEST_YEAR <= moment.year <= LATEST_YEAR:
        raise Invalid.field(
            field, f"Choose a date between the years {EARLIEST_YEAR} and {LATEST_YEAR}."
        )
    return moment.astimezone(UTC)


def local_to_utc(wall_clock: datetime, zone_name: str, field: str = "publish_at") -> datetime:
    """A naive wall-clock time in ``zone_name`` (as a form sends it) as an aware UTC instant."""
    if wall_clock.tzinfo is not None:
        return in_range(wall_clock, field)
    if not EARLIEST_YEAR <= wall_clock.year <= LATEST_YEAR:
        raise Invalid.field(
            field, f"Choose a date between the years {EARLIEST_YEAR} and {LATEST_YEAR}."
        )
    return wall_clock.replace(tzinfo=zone(zone_name)).astimezone(UTC)


def utc_to_local(moment: datetime, zone_name: str) -> datetime:
    """An aware instant as the wall-clock time (still aware) in ``zone_name``."""
    return moment.astimezone(zone(zone_name))


def offset_periods(
    zone_name: str, start: datetime, end: datetime
) -> list[tuple[datetime, timedelta]]:
    """The UTC offsets ``zone_name`` has between the aware instants ``start`` and ``end``:
    ``(from, offset)`` pairs, oldest first, the first from ``start``. For grouping by local
    date in SQL where the database has no time zones (SQLite): a timestamp's local time is
    itself plus the offset of its period. Changes are found a day apart and then to the
    second (no zone changes its offset twice in a day)."""
    tz = zone(zone_name)

    def offset(second: int) -> timedelta:
        found = datetime.fromtimestamp(second, UTC).astimezone(tz).utcoffset()
        return found if found is not None else timedelta()

    first, last = int(start.timestamp()), int(end.timestamp())
    periods = [(start.astimezone(UTC), offset(first))]
    at = first
    while at < last:
        following = min(at + DAY_SECONDS, last)
        if offset(following) != periods[-1][1]:
            lo, hi = at, following  # the change is after lo, at or before hi
            while hi - lo > 1:
                mid = (lo + hi) // 2
                if offset(mid) == periods[-1][1]:
                    lo = mid
                else:
                    hi = mid
            periods.append((datetime.fromtimestamp(hi, UTC), offset(hi)))
        at = following
    return periods
