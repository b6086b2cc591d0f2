"""Preventive maintenance: recurring jobs per property (replace the HVAC filters every 90
days, test the smoke alarms every 6 months) and the arithmetic of their due dates.

Each due date opens a repair request ``LEAD`` (21 days) ahead, at ``RUN_AT`` in the
property's time zone, started by the job's Temporal Schedule (``preventive_schedules``).
A run opens the request for the job's next due date that has not passed; the runs table
keeps one request per job and due date, so a run retried, triggered twice ("Run now") or
made again by a reconcile opens nothing new. Pure: the workflow imports it.
"""

from __future__ import annotations

import calendar
from datetime import UTC, date, datetime, time, timedelta
from typing import Annotated, Self

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, model_validator

from opsdesk import clock
from opsdesk.ai.models import Trade
from opsdesk.maintenance.inputs import DirectoryId, ShortText

LEAD = timedelta(days=21)
"""How far ahead of its due date a job's request is opened."""
RUN_AT = time(9, 0)
"""The time of day, in the property's zone, a job's schedule opens its request."""
SHORTEST_DAYS = 28
"""Jobs recur no more often than this, so that each due date's request opens after the one
before it is due (with a 21-day lead)."""
LONGEST_DAYS = 3660
LONGEST_MONTHS = 120

Instructions = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1, max_length=2000)
]


class PreventiveSpec(BaseModel):
    """A job as the directory file (a property's ``preventive`` list) or the dashboard
    gives it: ``every_days`` or ``every_months``, from ``first_due`` on."""

    model_config = ConfigDict(extra="forbid")

    id: DirectoryId
    unit: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=50)]
    """A unit's label, or a common area the property lists among its units."""
    title: ShortText
    instructions: Instructions
    """What to do, as the vendor reads it."""
    trade: Trade
    every_days: Annotated[int, Field(ge=SHORTEST_DAYS, le=LONGEST_DAYS)] | None = None
    every_months: Annotated[int, Field(ge=1, le=LONGEST_MONTHS)] | None = None
    first_due: date

    @model_validator(mode="after")
    def _one_interval(self) -> Self:
        if (self.every_days is None) == (self.every_months is None):
            raise ValueError("give either every_days or every_months, not both")
        return self


class Recurrence(BaseModel):
    """When a job is due, and when its requests open."""

    model_config = ConfigDict(frozen=True)

    first_due: date
    every_days: int | None = None
    every_months: int | None = None
    time_zone: str = "UTC"

    def due(self, k: int) -> date:
        """The ``k``-th due date (the first is 0)."""
        if self.every_days is not None:
            return self.first_due + timedelta(days=k * self.every_days)
        assert self.every_months is not None
        return add_months(self.first_due, k * self.every_months)

    def opens(self, due: date) -> datetime:
        """When the request for ``due`` opens: ``LEAD`` before, at ``RUN_AT`` locally."""
        local = datetime.combine(due - LEAD, RUN_AT, tzinfo=clock.zone_of(self.time_zone))
        return local.astimezone(UTC)

    def next_due(self, at: datetime) -> date:
        """The first due date that has not passed at ``at`` (in the property's zone): the
        one a run at ``at`` opens a request for."""
        today = at.astimezone(clock.zone_of(self.time_zone)).date()
        if today <= self.first_due:
            return self.first_due
        k = 0
        if self.every_days is not None:
            k = (today - self.first_due).days // self.every_days
        while self.due(k) < today:
            k += 1
        return self.due(k)

    def due_dates(self, after: datetime, count: int) -> list[date]:
        """``count`` due dates from the one a run at ``after`` is for."""
        first = self.next_due(after)
        k = 0
        while self.due(k) < first:
            k += 1
        return [self.due(k + i) for i in range(count)]

    def interval_words(self) -> str:
        """``every 90 days``, ``every 6 months``, ``every year``."""
        if self.every_days is not None:
            return f"every {self.every_days} days"
        months = self.every_months
        if months is not None and months % 12 == 0:
            years = months // 12
            return "every year" if years == 1 else f"every {years} years"
        return "every month" if months == 1 else f"every {months} months"


def add_months(start: date, months: int) -> date:
    """``start`` moved on by ``months``, on the same day of the month or the month's last."""
    index = start.month - 1 + months
    year, month = start.year + index // 12, index % 12 + 1
    return date(year, month, min(start.day, calendar.monthrange(year, month)[1]))


def due_words(due: date, time_zone: str) -> str:
    """A due date as a request says it: ``Mon 15 Mar 2027``. Always with its year, so that
    the words (and so the request a run opens) do not depend on when the run ran."""
    noon = datetime.combine(due, time(12, 0), tzinfo=clock.zone_of(time_zone))
    return clock.day(noon, time_zone, now=datetime(due.year - 1, 7, 1, tzinfo=UTC))


def run_words(at: datetime, time_zone: str) -> str:
    """When a job's schedule runs next, where the property is, with the zone named
    (``Sat 8 Feb 2031, 9:00 AM PST``): a job every N days runs at a fixed UTC time, so the
    zone's name shows when daylight saving moved it an hour."""
    return clock.moment(at, time_zone)


# -- what a job's schedule starts, and what its run gives back ------------------------------

OPEN_PREVENTIVE_REQUEST = "open_preventive_request"


class PreventiveRunInput(BaseModel):
    """What a job's schedule starts its run with: the job, read afresh from the database."""

    job_id: str


class OpenRequest(BaseModel):
    """Open the request for the job's next due date as at ``at`` (the run's start)."""

    job_id: str
    at: datetime


class Opened(BaseModel):
    """The request a run opened, or found its due date had already opened (``created``
    False: a retry, a second "Run now")."""

    request_id: str
    due: date
    created: bool
