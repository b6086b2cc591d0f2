"""The one formatter of times people read: each person's clock, the zone named."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from opsdesk import clock

PACIFIC = "America/Los_Angeles"
NOW = datetime(2026, 12, 6, 12, 0, tzinfo=UTC)


def test_a_moment_reads_in_the_zone_it_is_shown_in() -> None:
    at = datetime(2026, 12, 7, 6, 18, tzinfo=UTC)
    assert clock.moment(at, PACIFIC, now=NOW) == "Sun 6 Dec, 10:18 PM PST"
    assert clock.moment(at, "UTC", now=NOW) == "Mon 7 Dec, 6:18 AM UTC"
    # A page that names its zone once shows bare times.
    assert clock.moment(at, PACIFIC, named=False, now=NOW) == "Sun 6 Dec, 10:18 PM"
    # The year only when it is not this one; a summer time has its own name.
    assert clock.moment(datetime(2025, 7, 1, 19, tzinfo=UTC), PACIFIC, now=NOW) == (
        "Tue 1 Jul 2025, 12:00 PM PDT"
    )
    assert clock.moment(None, PACIFIC) == "\u2014"
    # A zone nobody knows is UTC, never an error on a page.
    assert clock.moment(at, "Mars/Olympus", now=NOW).endswith("UTC")


def test_a_window_says_its_day_once_unless_it_crosses_midnight() -> None:
    start = datetime(2026, 12, 8, 17, tzinfo=UTC)
    assert clock.span(start, start + timedelta(hours=3), PACIFIC, now=NOW) == (
        "Tue 8 Dec, 9:00 AM to 12:00 PM PST"
    )
    late = datetime(2026, 12, 9, 6, tzinfo=UTC)
    assert clock.span(late, late + timedelta(hours=4), PACIFIC, now=NOW) == (
        "Tue 8 Dec, 10:00 PM PST to Wed 9 Dec, 2:00 AM PST"
    )


def test_a_call_says_the_time_as_a_voice_would() -> None:
    at = datetime(2026, 12, 7, 6, 18, tzinfo=UTC)
    assert clock.spoken(at, PACIFIC) == "Sunday 6 December at 10:18 PM"


def test_how_long_in_the_largest_unit_that_does_not_halve_it() -> None:
    assert clock.duration(timedelta(hours=47)) == "47 hours"
    assert clock.duration(timedelta(days=3, hours=5)) == "3 days"
    assert clock.duration(timedelta(minutes=1)) == "1 minute"
    assert clock.duration(timedelta(seconds=20)) == "under a minute"
    assert clock.due(NOW + timedelta(hours=5), now=NOW) == "in 5 hours"
    assert clock.due(NOW - timedelta(days=2), now=NOW) == "2 days late"


def test_the_zone_is_named_as_people_know_it() -> None:
    assert clock.zone_note(PACIFIC, NOW) == "Times are in Los Angeles time (PST)."
    assert clock.zone_note("UTC", NOW) == "Times are in UTC."
