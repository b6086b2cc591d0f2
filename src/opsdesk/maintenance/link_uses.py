"""Signed links acted on: each link acts once, whatever the workflow has forgotten."""

from __future__ import annotations

from sqlalchemy.exc import IntegrityError

from opsdesk.db import Database
from opsdesk.db.tables import LinkUse
from opsdesk.notify.links import LinkGrant


class LinkUses:
    def __init__(self, db: Database) -> None:
        self.db = db

    async def find(self, link_id: str) -> LinkUse | None:
        async with self.db.transaction() as session:
            return await session.get(LinkUse, link_id)

    async def record(self, grant: LinkGrant, answer: str) -> None:
        """Note the link as used; a second record of the same link keeps the first."""
        try:
            async with self.db.transaction() as session:
                session.add(
                    LinkUse(
                        link_id=grant.link_id,
                        request_id=grant.request_id,
                        stage=grant.stage,
                        role=grant.role,
                        answer=answer,
                    )
                )
        except IntegrityError:
            pass
