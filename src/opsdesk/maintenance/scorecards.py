"""Vendor scorecards: how each vendor's jobs went, from the jobs kept when requests ended
(``vendor_jobs``) and the tenants' survey answers: the database only, never the workflows.

Each number's definition (docs/maintenance.md, "After the job"):

- jobs: requests that ended with the vendor on them, whatever the ending;
- median hours to first answer: from the request for a quote to the vendor's answer;
- median days to completion: from the tenant's report to the work confirmed fixed;
- first-time-fix rate: of the closed jobs, the share closed without a "not fixed";
- satisfaction: the mean survey rating (1 to 5) of the vendor's jobs, and how many;
- invoice against estimate: the mean, over jobs with both, of invoice / approved estimate.

The score orders vendors when ``OPSDESK_VENDOR_ORDER=scorecard``:
0.4 x fix + 0.3 x satisfaction + 0.3 x speed, each part from 0 to 1 (fix: the first-time-fix
rate; satisfaction: (mean rating - 1) / 4; speed: 1 at or under the 7-day target, target /
median days above it). A part without data counts 0.5, so a new vendor starts in the middle.
That raw score is then shrunk toward the neutral 0.5 by how few jobs stand behind it (a
Bayesian average with a prior of ``PRIOR_JOBS`` neutral jobs): (jobs x raw + 3 x 0.5) /
(jobs + 3). One job says little, so a vendor with one poor job ranks below an untested one,
and one lucky job does not put a new vendor above a steady one with many.
"""

from __future__ import annotations

import statistics
from collections.abc import Iterable, Sequence
from datetime import datetime

from pydantic import BaseModel
from sqlalchemy import select

from opsdesk.db import Database
from opsdesk.db.tables import SurveyAnswer, Vendor, VendorJob
from opsdesk.maintenance.status import RequestStatus
from opsdesk.maintenance.surveys import Surveys
from opsdesk.maintenance.vendor_jobs import VendorJobs

TARGET_DAYS = 7
"""Days from report to completion the industry aims for (the daily report's target too)."""
NO_DATA = 0.5
"""What a part of the score counts when the vendor has nothing to measure it by."""
WEIGHTS = {"fix": 0.4, "satisfaction": 0.3, "speed": 0.3}
PRIOR_JOBS = 3
"""How many neutral jobs a vendor's score starts with: its weight against their own."""

DAY = 86400.0
HOUR = 3600.0


class Scorecard(BaseModel):
    vendor_id: str
    vendor_name: str
    rank: int
    active: bool
    jobs: int
    closed: int
    median_hours_to_first_answer: float | None
    median_days_to_completion: float | None
    first_time_fix_rate: float | None
    """0 to 1, over closed jobs; None without any."""
    satisfaction: float | None
    """Mean rating 1 to 5; None without answers."""
    surveys: int
    invoice_vs_estimate: float | None
    """Mean of invoice / approved estimate (1.1: invoices 10 % over); None without both."""
    score: float


def _span(start: datetime | None, end: datetime | None, unit: float) -> float | None:
    if start is None or end is None:
        return None
    return (end - start).total_seconds() / unit


def _median(values: Iterable[float | None]) -> float | None:
    present = [v for v in values if v is not None]
    return round(statistics.median(present), 2) if present else None


def median_days_to_completion(jobs: Iterable[VendorJob]) -> float | None:
    """Median days from the report to the work confirmed fixed, over jobs completed."""
    return _median(_span(j.reported_at, j.completed_at, DAY) for j in jobs)


def score_of(
    fix: float | None, satisfaction: float | None, median_days: float | None, jobs: int
) -> float:
    """The ordering score from 0 to 1 over ``jobs`` jobs (see the module's doc)."""
    parts = {
        "fix": NO_DATA if fix is None else fix,
        "satisfaction": NO_DATA if satisfaction is None else (satisfaction - 1) / 4,
        "speed": (
            NO_DATA
            if median_days is None
            else 1.0
            if median_days <= TARGET_DAYS
            else TARGET_DAYS / median_days
        ),
    }
    raw = sum(WEIGHTS[name] * value for name, value in parts.items())
    return round((jobs * raw + PRIOR_JOBS * NO_DATA) / (jobs + PRIOR_JOBS), 4)


def scorecard(
    vendor: Vendor, jobs: Sequence[VendorJob], answers: dict[str, SurveyAnswer]
) -> Scorecard:
    """One vendor's scorecard from their jobs and the survey answers of those jobs."""
    closed = [j for j in jobs if j.ending == RequestStatus.CLOSED.value]
    fix = sum(not j.not_fixed for j in closed) / len(closed) if closed else None
    ratings = [answers[j.request_id].rating for j in jobs if j.request_id in answers]
    satisfaction = round(statistics.mean(ratings), 2) if ratings else None
    ratios = [
        j.invoice_cents / j.approved_cents
        for j in jobs
        if j.invoice_cents is not None and j.approved_cents
    ]
    median_days = median_days_to_completion(jobs)
    return Scorecard(
        vendor_id=vendor.id,
        vendor_name=vendor.name,
        rank=vendor.rank,
        active=vendor.active,
        jobs=len(jobs),
        closed=len(closed),
        median_hours_to_first_answer=_median(
            _span(j.quote_asked_at, j.first_answer_at, HOUR) for j in jobs
        ),
        median_days_to_completion=median_days,
        first_time_fix_rate=None if fix is None else round(fix, 4),
        satisfaction=satisfaction,
        surveys=len(ratings),
        invoice_vs_estimate=round(statistics.mean(ratios), 4) if ratios else None,
        score=score_of(fix, satisfaction, median_days, len(jobs)),
    )


async def scorecards(db: Database, vendor_ids: Sequence[str] | None = None) -> list[Scorecard]:
    """The scorecards of every vendor in the directory (of these, when given), by rank."""
    query = select(Vendor).order_by(Vendor.rank, Vendor.id)
    if vendor_ids is not None:
        query = query.where(Vendor.id.in_(list(vendor_ids)))
    async with db.transaction() as session:
        vendors = list((await session.scalars(query)).all())
    jobs = await VendorJobs(db).all([v.id for v in vendors])
    answers = await Surveys(db).of_requests([j.request_id for j in jobs])
    return [
        scorecard(vendor, [j for j in jobs if j.vendor_id == vendor.id], answers)
        for vendor in vendors
    ]


async def by_scorecard(db: Database, vendors: Sequence[Vendor]) -> list[Vendor]:
    """``vendors`` best first: by score, then rank, then id."""
    cards = {c.vendor_id: c for c in await scorecards(db, [v.id for v in vendors])}
    return sorted(vendors, key=lambda v: (-cards[v.id].score, v.rank, v.id))
