"""Intake's cursors and claims against a real database, on SQLite and on PostgreSQL."""

from __future__ import annotations

import asyncio

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from opsdesk.db import Database
from opsdesk.db.tables import IntakeClaim
from opsdesk.maintenance.claims import IntakeClaims
from opsdesk.maintenance.polling import (
    ClaimRecords,
    CommitBatch,
    RecordClaim,
    batch_stamp,
)
from tests.conftest import BOTH_DATABASES

pytestmark = BOTH_DATABASES

FIRST = batch_stamp("pms-poller-pms", 0)
SECOND = batch_stamp("pms-poller-pms", 1)


def claims(stamp: str, *external_ids: str, source: str = "pms") -> ClaimRecords:
    return ClaimRecords(
        source=source,
        stamp=stamp,
        records=[RecordClaim(external_id=e, request_id=f"{source}-{e}") for e in external_ids],
    )


def commit(number: int, cursor: str, *started: str, stamp: str | None = None) -> CommitBatch:
    return CommitBatch(
        source="pms",
        number=number,
        cursor=cursor,
        stamp=stamp or batch_stamp("pms-poller-pms", number),
        started=list(started),
    )


async def test_a_record_is_its_first_batchs_until_that_batch_commits(db: Database) -> None:
    store = IntakeClaims(db)
    assert (await store.claim(claims(FIRST, "WO-1", "WO-2", "WO-1"))).ours == ["WO-1", "WO-2"]
    # The same batch again (a retried claim, a poller replaced before it started them).
    assert (await store.claim(claims(FIRST, "WO-2", "WO-1"))).ours == ["WO-2", "WO-1"]
    # Another batch (the system sent them again) gets neither.
    assert (await store.claim(claims(SECOND, "WO-1", "WO-3"))).ours == ["WO-3"]
    # Another source has ids of its own.
    assert (await store.claim(claims(SECOND, "WO-1", source="other"))).ours == ["WO-1"]

    await store.commit(commit(0, "2", "WO-1", "WO-2"))
    # Committed: not even the batch that claimed it starts it again (a reset poller).
    assert (await store.claim(claims(FIRST, "WO-1", "WO-2"))).ours == []
    async with db.transaction() as session:
        rows = (await session.scalars(select(IntakeClaim).order_by(IntakeClaim.id))).all()
    assert [(r.source, r.external_id, r.request_id, r.stamp) for r in rows] == [
        ("pms", "WO-1", "pms-WO-1", FIRST),
        ("pms", "WO-2", "pms-WO-2", FIRST),
        ("pms", "WO-3", "pms-WO-3", SECOND),
        ("other", "WO-1", "other-WO-1", SECOND),
    ]
    assert [r.started_at is not None for r in rows] == [True, True, False, False]


async def test_the_cursor_moves_only_from_the_batchs_own_number(db: Database) -> None:
    store = IntakeClaims(db)
    assert await store.cursor("pms") is None
    first = await store.commit(commit(0, "2"))
    assert (first.cursor, first.batches) == ("2", 1)
    # A repeated commit, and one from a poller that read an older batch, change nothing.
    for stale in (commit(0, "2"), commit(0, "9")):
        again = await store.commit(stale)
        assert (again.cursor, again.batches) == ("2", 1)
    await store.commit(commit(1, "4"))
    stored = await store.cursor("pms")
    assert stored is not None
    assert (stored.cursor, stored.batches) == ("4", 2)
    assert await store.cursor("other") is None


async def test_a_commit_marks_only_its_own_claims(db: Database) -> None:
    store = IntakeClaims(db)
    await store.claim(claims(FIRST, "WO-1"))
    await store.claim(claims(SECOND, "WO-2"))
    # The first batch's commit cannot mark what the second claimed.
    await store.commit(commit(0, "1", "WO-1", "WO-2"))
    assert (await store.claim(claims(SECOND, "WO-2"))).ours == ["WO-2"]


async def test_racing_batches_claim_each_record_once(db: Database) -> None:
    """Two pollers of one source (one started by hand): each record is one batch's."""
    store = IntakeClaims(db)
    ids = [f"WO-{n}" for n in range(20)]

    async def claim(stamp: str) -> list[str]:
        try:
            return (await store.claim(claims(stamp, *ids))).ours
        except IntegrityError:
            # The other inserted first (PostgreSQL): the activity's retry finds its claims.
            return (await store.claim(claims(stamp, *ids))).ours

    first, second = await asyncio.gather(claim("a:batch-0"), claim("b:batch-0"))
    assert sorted(first + second) == sorted(ids)
    assert not set(first) & set(second)
