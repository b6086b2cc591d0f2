"""The comments API both desks serve (``GET``/``POST …/{id}/comments``) and the check a
comment's words pass, on a page's form or through the API alike.

Each desk builds its routes here with ``comment_routes``, giving the function that finds
its subject (a 404 for an id it does not know); this module knows no desk.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Annotated, Any

from fastapi import APIRouter, Body, Header, Request, Response
from pydantic import BaseModel

from opsdesk.access.roles import Identity
from opsdesk.comments import (
    BODY_MAX_LENGTH,
    KEY_MAX_LENGTH,
    Comment,
    CommentConflict,
    Comments,
    SubjectKind,
)
from opsdesk.web.auth import VIEWER, Operator
from opsdesk.web.deps import db_of
from opsdesk.web.errors import ApiError

Finder = Callable[[Request, str], Awaitable[str]]
"""Given an id from the address, the subject's id; raises ``ApiError(404)`` for none."""


class CommentIn(BaseModel):
    body: str = ""
    """The comment's words (at most 2000 characters)."""


class CommentsOut(BaseModel):
    items: list[Comment]
    """Oldest first."""


def checked_body(text: str) -> str:
    """The words of a comment, trimmed; a 422 that says what to fix when there are none or
    too many."""
    words = text.strip()
    if not words:
        raise ApiError(422, "invalid_input", "Comment: write something first; it is empty")
    if len(words) > BODY_MAX_LENGTH:
        raise ApiError(
            422,
            "invalid_input",
            f"Comment: at most {BODY_MAX_LENGTH} characters; this one has {len(words)}",
        )
    return words


async def add_comment(
    request: Request, kind: SubjectKind, subject_id: str, who: Identity, text: str, key: str | None
) -> tuple[Comment, bool]:
    """Add the comment as ``who``; a key used for another comment is a 409."""
    try:
        return await Comments(db_of(request)).add(
            kind, subject_id, who.name, checked_body(text), key
        )
    except CommentConflict as exc:
        raise ApiError(409, "conflict", str(exc)) from None


def comment_routes(
    kind: SubjectKind, path: str, find: Finder, noun: str, tags: list[str]
) -> APIRouter:
    """``GET`` and ``POST`` at ``path`` (which holds ``{subject_id}``) for one desk."""
    router = APIRouter(tags=list(tags))
    refusals: dict[int | str, dict[str, Any]] = {
        404: {"description": f"No such {noun}"},
        422: {"description": "The comment is empty or too long"},
    }

    @router.get(path, dependencies=VIEWER, responses=refusals, name=f"{kind}_comments")
    async def comments(request: Request, subject_id: str) -> CommentsOut:
        """The comments on it, oldest first, each with its author and time."""
        found = await find(request, subject_id)
        return CommentsOut(items=await Comments(db_of(request)).of(kind, found))

    @router.post(
        path,
        status_code=201,
        responses={**refusals, 200: {"description": "Already added with this key"}},
        name=f"add_{kind}_comment",
    )
    async def add(
        request: Request,
        who: Operator,
        response: Response,
        subject_id: str,
        body: Annotated[CommentIn | None, Body()] = None,
        idempotency_key: Annotated[
            str | None,
            Header(
                alias="Idempotency-Key",
                max_length=KEY_MAX_LENGTH,
                description="The same key again adds nothing and answers the same comment.",
            ),
        ] = None,
    ) -> Comment:
        """Add a comment, signed with your name: a note for the people who work on it,
        which changes nothing else."""
        found = await find(request, subject_id)
        comment, created = await add_comment(
            request, kind, found, who, (body or CommentIn()).body, idempotency_key
        )
        if not created:
            response.status_code = 200
        return comment

    return router
