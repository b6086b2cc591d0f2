"""Times as people read them: the one formatter every page, email and call uses.

Each person reads one clock. Owners, tenants and vendors read the property's; ops staff read
their own (a setting per person, the business's zone by default). A page names its zone
once (``zone_note``) and then shows bare times, or names it on every time it shows
(``moment``); it never mixes two zones. The API speaks ISO 8601 and never comes here.

Written times read ``Sun 6 Dec, 10:18 PM PST`` (the year only when it is not this one);
spoken ones ``Sunday 6 December at 10:18 PM``. Pure and deterministic given ``now``, so a
workflow may use it to word a message.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

__all__ = [
    "calendar_day",
    "clock_time",
    "date_in",
    "day",
    "due",
    "duration",
    "input_value",
    "moment",
    "span",
    "spoken",
    "zone_label",
    "zone_note",
    "zone_of",
]


def zone_of(name: str | None) -> ZoneInfo:
    """The zone called ``name``; UTC for none or a name the zone database does not know
    (a directory or a person's setting is checked when it is saved, so this is a last
    resort, not a way to accept bad input)."""
    try:
        return ZoneInfo(name or "UTC")
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo("UTC")


def _local(at: datetime, zone: str | None) -> datetime:
    return at.astimezone(zone_of(zone))


def clock_time(at: datetime, zone: str | None) -> str:
    """``10:18 PM``: the time of day alone, for a row whose day is shown beside it."""
    local = _local(at, zone)
    return f"{local.hour % 12 or 12}:{local:%M} {'AM' if local.hour < 12 else 'PM'}"


def day(at: datetime, zone: str | None, *, now: datetime | None = None) -> str:
    """``Sun 6 Dec`` (``Sun 6 Dec 2025`` when it is not this year)."""
    local = _local(at, zone)
    this_year = (now or datetime.now(UTC)).astimezone(local.tzinfo).year
    text = f"{local:%a} {local.day} {local:%b}"
    return text if local.year == this_year else f"{text} {local.year}"


def calendar_day(on: date) -> str:
    """``Tue 1 Dec 2026``: a date on a document (an expiry), always with its year."""
    return f"{on:%a} {on.day} {on:%b} {on.year}"


def date_in(at: datetime, zone: str | None) -> date:
    """The date it is at ``at`` in ``zone``: what "today" means to a person there."""
    return _local(at, zone).date()


def moment(
    at: datetime | None, zone: str | None, *, named: bool = True, now: datetime | None = None
) -> str:
    """``Sun 6 Dec, 10:18 PM PST``; without the zone's name where the page names it once.
    A dash for no time at all."""
    if at is None:
        return "\u2014"
    text = f"{day(at, zone, now=now)}, {clock_time(at, zone)}"
    return f"{text} {_local(at, zone):%Z}" if named else text


def span(
    start: datetime,
    end: datetime,
    zone: str | None,
    *,
    named: bool = True,
    now: datetime | None = None,
) -> str:
    """A visit or a window: ``Tue 8 Dec, 9:00 AM to 12:00 PM PST``; both days when it ends
    on another day."""
    first, last = _local(start, zone), _local(end, zone)
    suffix = f" {last:%Z}" if named else ""
    if first.date() == last.date() and first.tzname() == last.tzname():
        return (
            f"{day(start, zone, now=now)}, {clock_time(start, zone)} to "
            f"{clock_time(end, zone)}{suffix}"
        )
    return (
        f"{moment(start, zone, named=named, now=now)} to {moment(end, zone, named=named, now=now)}"
    )


def spoken(at: datetime, zone: str | None) -> str:
    """A time as a call says it: ``Sunday 6 December at 10:18 PM``."""
    local = _local(at, zone)
    return f"{local:%A} {local.day} {local:%B} at {clock_time(at, zone)}"


def zone_label(zone: str | None, at: datetime | None = None) -> str:
    """A zone as a person knows it: ``Pacific time (PST)``, ``UTC``; the abbreviation is the
    one in force at ``at`` (now by default)."""
    name = zone or "UTC"
    abbreviation = (at or datetime.now(UTC)).astimezone(zone_of(name)).tzname() or name
    if name in ("UTC", "Etc/UTC"):
        return "UTC"
    city = name.rsplit("/", 1)[-1].replace("_", " ")
    return f"{city} time ({abbreviation})"


def zone_note(zone: str | None, at: datetime | None = None) -> str:
    """The line a page shows once when its times go without their zone."""
    return f"Times are in {zone_label(zone, at)}."


def input_value(at: datetime | None, zone: str | None) -> str:
    """What a ``datetime-local`` input shows for ``at`` in ``zone``."""
    return "" if at is None else _local(at, zone).strftime("%Y-%m-%dT%H:%M")


def duration(delta: timedelta) -> str:
    """A length of time in the largest unit that says it: ``2 days``, ``47 hours``,
    ``45 minutes``, ``under a minute``."""
    seconds = int(abs(delta).total_seconds())
    # Days only from two of them: "1 day" for 47 hours would say half the time there is.
    for unit, size, from_ in (("day", 86400, 2 * 86400), ("hour", 3600, 3600), ("minute", 60, 60)):
        if seconds >= from_:
            count = seconds // size
            return f"{count} {unit}{'' if count == 1 else 's'}"
    return "under a minute"


def due(deadline: datetime | None, now: datetime | None = None) -> str:
    """How long until ``deadline``: ``in 3 hours`` or ``2 days late``. The same in every
    zone, so it needs none."""
    if deadline is None:
        return "\u2014"
    left = deadline - (now or datetime.now(UTC))
    words = duration(left)
    return f"in {words}" if left >= timedelta(0) else f"{words} late"


def month(key: str) -> str:
    """``2026-12`` → ``December 2026``: a calendar month, as a report groups by it."""
    year, number = key.split("-")
    return f"{datetime(int(year), int(number), 1, tzinfo=UTC):%B} {year}"
