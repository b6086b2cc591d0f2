"""Saved views: a person's named filters for a desk's list, shown as tabs above it.

A view is the list's query string (``status=REVIEW&q=ada``), so opening one is following a
link, and the link can be shared. Each belongs to one person (table ``saved_views``); a token
has none. The forms post here and answer 303 back to the list with a notice.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Literal
from urllib.parse import parse_qsl

from fastapi import APIRouter, Path, Request
from fastapi.responses import RedirectResponse
from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError

from opsdesk.access.roles import Identity
from opsdesk.db import Database
from opsdesk.db.tables import SavedView, User
from opsdesk.web.auth import VIEWER, Viewer
from opsdesk.web.chips import query_string
from opsdesk.web.deps import db_of
from opsdesk.web.forms import read_form
from opsdesk.web.navigation import Notice, redirect_with
from opsdesk.web.params import RowId

Desk = Literal["orders", "maintenance"]
LIST_PATHS: dict[Desk, str] = {"orders": "/", "maintenance": "/maintenance"}
# What each desk's list reads from its address; nothing else is kept in a view.
FILTERS: dict[Desk, tuple[str, ...]] = {
    "orders": ("status", "customer", "escalated", "q"),
    "maintenance": ("status", "priority", "waiting_on", "queue", "q"),
}
NAME_MAX_LENGTH = 64
QUERY_MAX_LENGTH = 2000
MOST_VIEWS = 30

router = APIRouter(include_in_schema=False, dependencies=VIEWER)


class ViewRefused(ValueError):
    """Why a view was not saved, in words for the person who tried."""


@dataclass(frozen=True)
class View:
    id: int
    name: str
    query: str


def kept_query(desk: Desk, raw: str) -> str:
    """The filters of ``raw`` that the desk's list reads, in the list's own order."""
    pairs = parse_qsl(raw[:QUERY_MAX_LENGTH], keep_blank_values=False)
    return query_string({k: v for k, v in pairs if k in FILTERS[desk]})


class SavedViews:
    """One person's saved views of each desk's list."""

    def __init__(self, db: Database) -> None:
        self.db = db

    async def _user_id(self, who: Identity) -> int | None:
        if who.kind != "user":
            return None
        async with self.db.transaction() as session:
            found = await session.execute(select(User.id).where(User.name == who.name))
            return found.scalar_one_or_none()

    async def of(self, who: Identity | None, desk: Desk) -> list[View]:
        user_id = await self._user_id(who) if who else None
        if user_id is None:
            return []
        async with self.db.transaction() as session:
            rows = await session.execute(
                select(SavedView)
                .where(SavedView.user_id == user_id, SavedView.desk == desk)
                .order_by(SavedView.name)
            )
            return [View(r.id, r.name, r.query) for r in rows.scalars()]

    async def save(self, who: Identity, desk: Desk, name: str, query: str) -> View:
        name = " ".join(name.split())
        if not name:
            raise ViewRefused("Give the view a name.")
        if len(name) > NAME_MAX_LENGTH:
            raise ViewRefused(f"A view's name has at most {NAME_MAX_LENGTH} characters.")
        kept = kept_query(desk, query)
        if not kept:
            raise ViewRefused("Filter the list first: a view saves the filters in force.")
        user_id = await self._user_id(who)
        if user_id is None:
            raise ViewRefused("Only a person signed in can save views.")
        if len(await self.of(who, desk)) >= MOST_VIEWS:
            raise ViewRefused(f"You have {MOST_VIEWS} views already: delete one first.")
        try:
            async with self.db.transaction() as session:
                row = SavedView(user_id=user_id, desk=desk, name=name, query=kept)
                session.add(row)
                await session.flush()
                return View(row.id, name, kept)
        except IntegrityError:
            raise ViewRefused(
                f"You already have a view called “{name}”: pick another name, or delete "
                "that one first."
            ) from None

    async def delete(self, who: Identity, desk: Desk, view_id: int) -> str | None:
        """Delete the person's view; its name, or None if they have no such view."""
        user_id = await self._user_id(who)
        async with self.db.transaction() as session:
            found = await session.execute(
                select(SavedView.name).where(
                    SavedView.id == view_id, SavedView.user_id == user_id, SavedView.desk == desk
                )
            )
            name = found.scalar_one_or_none()
            if name is not None:
                await session.execute(delete(SavedView).where(SavedView.id == view_id))
            return name


# -- the forms ------------------------------------------------------------------------------

DeskPath = Annotated[Desk, Path()]


@router.post("/views/{desk}")
async def save_view(request: Request, who: Viewer, desk: DeskPath) -> RedirectResponse:
    fields = await read_form(request)
    query = fields.get("query", "")
    try:
        view = await SavedViews(db_of(request)).save(who, desk, fields.get("name", ""), query)
    except ViewRefused as exc:
        return redirect_with(_list(desk, kept_query(desk, query)), Notice("error", str(exc)))
    return redirect_with(
        _list(desk, view.query), Notice("ok", f"Saved “{view.name}”: it is a tab above the list.")
    )


@router.post("/views/{desk}/{view_id}/delete")
async def delete_view(
    request: Request, who: Viewer, desk: DeskPath, view_id: RowId
) -> RedirectResponse:
    name = await SavedViews(db_of(request)).delete(who, desk, view_id)
    if name is None:
        return redirect_with(
            LIST_PATHS[desk], Notice("error", "That view is not one of yours, or it is gone.")
        )
    return redirect_with(LIST_PATHS[desk], Notice("ok", f"Deleted the view “{name}”."))


def _list(desk: Desk, query: str) -> str:
    return f"{LIST_PATHS[desk]}?{query}" if query else LIST_PATHS[desk]
