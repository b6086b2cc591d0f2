"""Intake from a property-management system: the poller's activities (fetch a batch, claim
its records, commit it) and the records it sets aside."""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any

from pydantic import BaseModel
from sqlalchemy import select
from temporalio import activity
from temporalio.common import Priority as TaskPriority
from temporalio.common import SearchAttributeIndexedValueType, TypedSearchAttributes
from temporalio.exceptions import ApplicationError, ApplicationErrorCategory

from opsdesk.db import Database
from opsdesk.db.tables import PmsReject
from opsdesk.errors import PmsNotConfigured, UnknownProperty
from opsdesk.maintenance.claims import IntakeClaims
from opsdesk.maintenance.directory import Directory
from opsdesk.maintenance.ids import external_request_id
from opsdesk.maintenance.pms import (
    MAX_EXTERNAL_ID,
    BadAnswer,
    BadRecord,
    PmsClient,
    external_id_of,
    parse_record,
    record_problems,
)
from opsdesk.maintenance.polling import (
    CLAIM_PMS_RECORDS,
    COMMIT_PMS_BATCH,
    FETCH_PMS_BATCH,
    ClaimedRecords,
    ClaimRecords,
    CommitBatch,
    FetchBatch,
    PolledBatch,
    PolledRequest,
    SetAside,
    StoredCursor,
)
from opsdesk.maintenance.service import start_options, submission_of
from opsdesk.settings import Settings

NOTHING_NEW = "NothingNew"
"""The fetch's failure while the system has nothing new: the server retries it."""
BAD_ANSWER = "FeedAnswerSetAside"
"""The fetch's failure when the feed's answer was set aside and has no cursor to go on
after: the server asks again at the poll interval, as for ``NothingNew``."""
MAX_STORED_RECORD = 16_000
MAX_REASON = 2_000


class Reject(BaseModel):
    """A set-aside record, as ops see it."""

    id: int
    source: str
    external_id: str
    reason: str
    record: Any
    created_at: datetime


class Rejects:
    """Records that did not validate, one row per source and external id."""

    def __init__(self, db: Database) -> None:
        self.db = db

    async def set_aside(self, source: str, rejects: Sequence[tuple[str, str, Any]]) -> None:
        """Keep each ``(external_id, reason, record)``; a record set aside again (a re-poll,
        or the system sent a new version) keeps its latest reason and contents."""
        if not rejects:
            return
        async with self.db.transaction() as session:
            for external_id, reason, raw in rejects:
                found = await session.scalar(
                    select(PmsReject).where(
                        PmsReject.source == source, PmsReject.external_id == external_id
                    )
                )
                if found is None:
                    found = PmsReject(source=source, external_id=external_id)
                    session.add(found)
                found.reason = reason[:MAX_REASON]
                found.record = _storable(raw)

    async def list(
        self, source: str | None = None, limit: int = 100, before: int | None = None
    ) -> list[Reject]:
        """Newest first; ``before`` is the id where the previous page ended."""
        query = select(PmsReject).order_by(PmsReject.id.desc()).limit(limit)
        if source is not None:
            query = query.where(PmsReject.source == source)
        if before is not None:
            query = query.where(PmsReject.id < before)
        async with self.db.transaction() as session:
            rows = (await session.scalars(query)).all()
        return [
            Reject(
                id=row.id,
                source=row.source,
                external_id=row.external_id,
                reason=row.reason,
                record=row.record,
                created_at=row.created_at,
            )
            for row in rows
        ]


def _storable(raw: Any) -> dict[str, Any]:
    """The record as the table keeps it: an object, and not an unbounded one."""
    text = json.dumps(raw, default=str)
    if len(text) > MAX_STORED_RECORD:
        return {"truncated": text[:MAX_STORED_RECORD]}
    return raw if isinstance(raw, dict) else {"value": raw}


class IntakeActivities:
    """The poller's side effects: ask the system after the stored cursor, check its records
    and set the bad aside; claim the good ones; commit the batch once they have started."""

    def __init__(
        self,
        settings: Settings,
        directory: Directory,
        rejects: Rejects,
        claims: IntakeClaims,
        client: Callable[[], PmsClient] | None = None,
    ) -> None:
        self.settings = settings
        self.directory = directory
        self.rejects = rejects
        self.claims = claims
        self._client = client or self._from_settings

    def _from_settings(self) -> PmsClient:
        assert self.settings.pms_url is not None
        token = self.settings.pms_token
        return PmsClient(self.settings.pms_url, token.get_secret_value() if token else None)

    @activity.defn(name=FETCH_PMS_BATCH)
    async def fetch_batch(self, request: FetchBatch) -> PolledBatch:
        """The next batch after the stored cursor (or ``request.cursor``, see ``FetchBatch``),
        or a retryable ``NothingNew`` failure."""
        settings = self.settings
        if settings.pms_url is None:
            raise PmsNotConfigured("OPSDESK_PMS_URL is not set on this worker")
        if request.source != settings.pms_source:
            raise PmsNotConfigured(
                f"this worker polls {settings.pms_source!r}, not {request.source!r} "
                "(OPSDESK_PMS_SOURCE)"
            )
        after, number = request.cursor, None
        if request.stored:
            stored = await self.claims.cursor(request.source)
            after, number = (stored.cursor, stored.batches) if stored else (request.cursor, 0)
        try:
            page = await self._client().fetch(after, settings.pms_batch_size)
        except BadAnswer as answer:
            return await self._answer_set_aside(request.source, after, number, answer)
        if not page.records or page.cursor is None:
            raise ApplicationError(
                f"nothing new after {after or 'the start'}",
                type=NOTHING_NEW,
                # Waiting is what this retry is for: no warning, no failure metric.
                category=ApplicationErrorCategory.BENIGN,
            )
        requests: list[PolledRequest] = []
        bad: list[tuple[str, str, Any]] = []
        for raw in page.records:
            try:
                requests.append(await self._request(request.source, raw))
            except BadRecord as exc:
                bad.append((exc.external_id, exc.reason, raw))
        await self.rejects.set_aside(request.source, bad)
        return PolledBatch(
            cursor=page.cursor,
            number=number,
            requests=requests,
            set_aside=[SetAside(external_id=e, reason=r) for e, r, _ in bad],
            poll_interval=settings.pms_poll_interval,
        )

    async def _answer_set_aside(
        self, source: str, after: str | None, number: int | None, bad: BadAnswer
    ) -> PolledBatch:
        """Keep an answer that is not the protocol's for ops, once per cursor however often
        it comes; then go on after its cursor, or ask again at the next poll."""
        where = f"after {after}" if after is not None else "at the start"
        goes_on = (
            f"the intake went on after cursor {bad.cursor}"
            if bad.cursor is not None and bad.cursor != after
            else "the intake asks again at each poll until the feed answers properly"
        )
        external_id = f"answer-{where.replace(' ', '-')}"
        if len(external_id) > MAX_EXTERNAL_ID:
            external_id = external_id_of({"answer_after": after})
        reason = f"The feed's answer {where} was not what it promises: {bad.reason}; {goes_on}"
        await self.rejects.set_aside(source, [(external_id, reason, bad.answer)])
        set_aside = [SetAside(external_id=external_id, reason=reason)]
        if bad.cursor is None or bad.cursor == after:
            raise ApplicationError(reason, type=BAD_ANSWER)
        return PolledBatch(
            cursor=bad.cursor,
            number=number,
            set_aside=set_aside,
            poll_interval=self.settings.pms_poll_interval,
        )

    async def _request(self, source: str, raw: Any) -> PolledRequest:
        problems = record_problems(raw)
        owner_id = None
        if isinstance(raw, dict) and not problems.keys() & {"property_id", "unit"}:
            try:
                premises = await self.directory.property_facts(
                    str(raw["property_id"]), str(raw["unit"]).strip()
                )
                owner_id = premises.owner_id
            except UnknownProperty as exc:
                # Said beside the record's other problems, never instead of them.
                problems = {"property_id": str(exc), **problems}
        if problems:
            raise BadRecord(external_id_of(raw), "; ".join(problems.values()))
        record, form = parse_record(raw)
        submission = submission_of(
            self.settings,
            external_request_id(source, record.id),
            form,
            source="pms",
            external_id=record.id,
        )
        options = start_options(self.settings, submission, owner_id)
        priority: TaskPriority = options["priority"]
        return PolledRequest(
            submission=submission,
            workflow_id=options["id"],
            task_queue=options["task_queue"],
            memo=options["memo"],
            keywords=_keywords(options["search_attributes"]),
            priority_key=priority.priority_key,
            fairness_key=priority.fairness_key,
        )

    @activity.defn(name=CLAIM_PMS_RECORDS)
    async def claim_records(self, batch: ClaimRecords) -> ClaimedRecords:
        """Claim a batch's valid records before their requests start (``IntakeClaims``)."""
        return await self.claims.claim(batch)

    @activity.defn(name=COMMIT_PMS_BATCH)
    async def commit_batch(self, batch: CommitBatch) -> StoredCursor:
        """Mark the batch's requests started and move the source's cursor past it."""
        return await self.claims.commit(batch)

    def all(self) -> list[Callable[..., Any]]:
        return [self.fetch_batch, self.claim_records, self.commit_batch]


def _keywords(attributes: TypedSearchAttributes) -> dict[str, str]:
    keywords = {}
    for pair in attributes.search_attributes:
        if pair.key.indexed_value_type is not SearchAttributeIndexedValueType.KEYWORD:
            # The poller carries keywords only; teach PolledRequest the new type first.
            raise TypeError(f"search attribute {pair.key.name} is not a keyword")
        keywords[pair.key.name] = str(pair.value)
    return keywords
