"""Vendor jobs with known times, for the scorecards' tests."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from opsdesk.maintenance.job_facts import JobFacts
from opsdesk.maintenance.status import RequestStatus


def recorded_job(
    request_id: str,
    vendor_id: str,
    *,
    answered_after: timedelta | None,
    completed_after: timedelta | None,
    not_fixed: bool = False,
    approved: int | None = 10000,
    invoice: int | None = 10000,
    ending: RequestStatus = RequestStatus.CLOSED,
) -> JobFacts:
    """A vendor's job as a request that ended would have kept it: reported on 2 November
    2026 at 09:00 UTC, the vendor asked for a quote an hour later."""
    reported = datetime(2026, 11, 2, 9, tzinfo=UTC)
    asked = reported + timedelta(hours=1)
    return JobFacts(
        request_id=request_id,
        vendor_id=vendor_id,
        property_id="harbor-12",
        reported_at=reported,
        quote_asked_at=asked,
        first_answer_at=asked + answered_after if answered_after is not None else None,
        completed_at=reported + completed_after if completed_after is not None else None,
        not_fixed=not_fixed,
        quote_cents=approved,
        approved_cents=approved,
        invoice_cents=invoice,
        ending=ending,
        ended_at=reported + timedelta(days=30),
    )


def flowright_jobs() -> list[JobFacts]:
    """FlowRight's three jobs: answers in 2, 4 and 9 hours (median 4); completes in 3, 5
    and 10 days (median 5); one of its two closed jobs needed a second visit, the third
    expired; invoices on the estimate, 20 % over and none (10 % over on average)."""
    return [
        recorded_job(
            "R-1", "ven-flow", answered_after=timedelta(hours=2), completed_after=timedelta(days=3)
        ),
        recorded_job(
            "R-2",
            "ven-flow",
            answered_after=timedelta(hours=4),
            completed_after=timedelta(days=5),
            not_fixed=True,
            invoice=12000,
        ),
        recorded_job(
            "R-3",
            "ven-flow",
            answered_after=timedelta(hours=9),
            completed_after=timedelta(days=10),
            invoice=None,
            ending=RequestStatus.EXPIRED,
        ),
    ]
