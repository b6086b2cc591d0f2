"""What intake has taken from each property-management system, kept in the database rather
than in the poller, which a terminate, a failure or a reset loses: each source's cursor, and a
claim per record, so that a record becomes one request once, ever.

A batch claims its valid records, starts their requests, then commits: the claims are marked
started and the cursor moves past the batch in one transaction. A crash anywhere before the
commit leaves the cursor where it was, so the batch is read again, by the same stamp, and the
claims it holds let it start what it had not.
"""

from __future__ import annotations

from sqlalchemy import select, update

from opsdesk.db import Database
from opsdesk.db.tables import IntakeClaim, IntakeCursor, utcnow
from opsdesk.maintenance.polling import ClaimedRecords, ClaimRecords, CommitBatch, StoredCursor


class IntakeClaims:
    def __init__(self, db: Database) -> None:
        self.db = db

    async def cursor(self, source: str) -> StoredCursor | None:
        """The source's stored cursor; None before its first committed batch."""
        async with self.db.transaction() as session:
            row = await session.get(IntakeCursor, source)
            return _stored(row) if row else None

    async def claim(self, batch: ClaimRecords) -> ClaimedRecords:
        """Claim each record for ``batch.stamp``: see ``ClaimedRecords.ours`` for which it may
        start. A record claimed by another stamp, or already committed, is not this batch's:
        its request was started once (or is being started) by whoever claimed it."""
        ids = {record.external_id for record in batch.records}
        ours: list[str] = []
        seen: set[str] = set()
        async with self.db.transaction() as session:
            found = {
                row.external_id: row
                for row in await session.scalars(
                    select(IntakeClaim)
                    .where(IntakeClaim.source == batch.source, IntakeClaim.external_id.in_(ids))
                    .with_for_update()
                )
            }
            for record in batch.records:
                if record.external_id in seen:
                    continue  # the system sent it twice in one page: one request
                seen.add(record.external_id)
                row = found.get(record.external_id)
                if row is None:
                    session.add(
                        IntakeClaim(
                            source=batch.source,
                            external_id=record.external_id,
                            request_id=record.request_id,
                            stamp=batch.stamp,
                        )
                    )
                elif row.stamp != batch.stamp or row.started_at is not None:
                    continue
                ours.append(record.external_id)
        return ClaimedRecords(ours=ours)

    async def commit(self, batch: CommitBatch) -> StoredCursor:
        """Mark the batch's started claims and move the cursor past it, both or neither.

        The cursor moves only from the batch's own number: a repeated commit, or one from a
        poller that read the batch before another took it, leaves it where it is."""
        async with self.db.transaction() as session:
            if batch.started:
                await session.execute(
                    update(IntakeClaim)
                    .where(
                        IntakeClaim.source == batch.source,
                        IntakeClaim.external_id.in_(batch.started),
                        IntakeClaim.stamp == batch.stamp,
                        IntakeClaim.started_at.is_(None),
                    )
                    .values(started_at=utcnow())
                )
            row = await session.get(IntakeCursor, batch.source, with_for_update=True)
            if row is None:
                row = IntakeCursor(
                    source=batch.source, cursor=batch.cursor, batches=batch.number + 1
                )
                session.add(row)
                await session.flush()
            elif row.batches == batch.number:
                row.cursor, row.batches = batch.cursor, batch.number + 1
                await session.flush()
            return _stored(row)


def _stored(row: IntakeCursor) -> StoredCursor:
    return StoredCursor(
        source=row.source, cursor=row.cursor, batches=row.batches, updated_at=row.updated_at
    )
