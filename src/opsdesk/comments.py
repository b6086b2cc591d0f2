"""Comments: what ops staff write on an order or a repair request, signed with their name.

A comment is a row in the database, never workflow state: writing one changes nothing about
the order or the request, and it needs no worker. Both desks keep theirs here; a desk names
its subject (``order`` or ``request``) and its id.

A comment may carry an idempotency key (the page's form has one, an API client sends
``Idempotency-Key``): the same key again adds nothing and answers the comment it added.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Annotated, Literal, TypeVar

from pydantic import BaseModel, ConfigDict, StringConstraints
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from opsdesk.db import Database
from opsdesk.db.tables import Comment as CommentRow

__all__ = [
    "BODY_MAX_LENGTH",
    "KEY_MAX_LENGTH",
    "Comment",
    "CommentBody",
    "CommentConflict",
    "Comments",
    "SubjectKind",
    "interleaved",
]

SubjectKind = Literal["order", "request"]
BODY_MAX_LENGTH = 2000
AUTHOR_MAX_LENGTH = 64
KEY_MAX_LENGTH = 200

Event = TypeVar("Event")


class CommentBody(BaseModel):
    """What a person writes: some words, at most ``BODY_MAX_LENGTH`` characters."""

    body: Annotated[
        str, StringConstraints(strip_whitespace=True, min_length=1, max_length=BODY_MAX_LENGTH)
    ]


class Comment(BaseModel):
    """One comment as pages and the API show it."""

    model_config = ConfigDict(from_attributes=True)

    id: int
    subject_kind: SubjectKind
    subject_id: str
    author: str
    """The name of the person (or token) who wrote it."""
    body: str
    created_at: datetime


class CommentConflict(Exception):
    """The idempotency key already added a different comment."""


class Comments:
    """The comments of both desks."""

    def __init__(self, db: Database) -> None:
        self.db = db

    async def add(
        self,
        kind: SubjectKind,
        subject_id: str,
        author: str,
        body: str,
        idempotency_key: str | None = None,
    ) -> tuple[Comment, bool]:
        """Add a comment; returns it and whether this call added it. A key used before for
        this very comment answers that one; for another, ``CommentConflict``."""
        text = CommentBody(body=body).body
        row = CommentRow(
            subject_kind=kind,
            subject_id=subject_id,
            author=author[:AUTHOR_MAX_LENGTH],
            body=text,
            # Each subject's keys are its own: two clients' "1" never meet.
            idempotency_key=f"{kind}:{subject_id}:{idempotency_key}"[:KEY_MAX_LENGTH]
            if idempotency_key
            else None,
        )
        try:
            async with self.db.transaction() as session:
                session.add(row)
                await session.flush()
                return Comment.model_validate(row), True
        except IntegrityError:
            if row.idempotency_key is None:
                raise
        earlier = await self._by_key(row.idempotency_key)
        if earlier is None or (earlier.subject_kind, earlier.subject_id, earlier.body) != (
            kind,
            subject_id,
            text,
        ):
            raise CommentConflict(
                "this Idempotency-Key was already used for a different comment; "
                "send a new key with a new comment"
            )
        return earlier, False

    async def of(self, kind: SubjectKind, subject_id: str) -> list[Comment]:
        """The subject's comments, oldest first."""
        async with self.db.transaction() as session:
            rows = await session.scalars(
                select(CommentRow)
                .where(CommentRow.subject_kind == kind, CommentRow.subject_id == subject_id)
                .order_by(CommentRow.created_at, CommentRow.id)
            )
            return [Comment.model_validate(row) for row in rows]

    async def _by_key(self, key: str) -> Comment | None:
        async with self.db.transaction() as session:
            row = await session.scalar(select(CommentRow).where(CommentRow.idempotency_key == key))
            return None if row is None else Comment.model_validate(row)


Entry = tuple[Literal["event"], Event] | tuple[Literal["comment"], Comment]


def interleaved(
    events: Sequence[Event], comments: Sequence[Comment], at: Callable[[Event], datetime]
) -> list[Entry[Event]]:
    """A timeline: its events and the comments in time order, each marked with its kind
    (an event before a comment made at the same moment)."""
    timed: list[tuple[datetime, int, Entry[Event]]] = [
        (at(event), 0, ("event", event)) for event in events
    ]
    timed += [(comment.created_at, 1, ("comment", comment)) for comment in comments]
    timed.sort(key=lambda item: (item[0], item[1]))
    return [entry for _, _, entry in timed]
