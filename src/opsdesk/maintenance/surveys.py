"""The satisfaction survey a tenant is sent when their request closes: one question (how
did the repair go, 1 to 5, and an optional comment), one answer per request.

The request's workflow has ended by the time the tenant answers, so the answer lives in
the database, never in the workflow."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from opsdesk.db import Database
from opsdesk.db.tables import SurveyAnswer

COMMENT_MAX_LENGTH = 2000

RATING_WORDS = {
    1: "Very poor",
    2: "Poor",
    3: "All right",
    4: "Good",
    5: "Very good",
}


class Surveys:
    def __init__(self, db: Database) -> None:
        self.db = db

    async def of_request(self, request_id: str) -> SurveyAnswer | None:
        async with self.db.transaction() as session:
            return await session.scalar(
                select(SurveyAnswer).where(SurveyAnswer.request_id == request_id)
            )

    async def record(
        self, request_id: str, link_id: str, rating: int, comment: str
    ) -> tuple[SurveyAnswer, bool]:
        """Keep the answer, or find the one kept before: (the answer, whether it is this
        one). A request has one answer, whichever came first."""
        try:
            async with self.db.transaction() as session:
                row = SurveyAnswer(
                    request_id=request_id, link_id=link_id, rating=rating, comment=comment
                )
                session.add(row)
            return row, True
        except IntegrityError:
            first = await self.of_request(request_id)
            assert first is not None
            return first, False

    async def of_requests(self, request_ids: Sequence[str]) -> dict[str, SurveyAnswer]:
        if not request_ids:
            return {}
        async with self.db.transaction() as session:
            rows = await session.scalars(
                select(SurveyAnswer).where(SurveyAnswer.request_id.in_(list(request_ids)))
            )
            return {row.request_id: row for row in rows.all()}
