"""The properties on the dashboard: a list (name, address, owner, units, approval limit)
and one property's page (its units and tenants, the owner and how they are reached, and
the owner's policy in plain sentences). Read-only for every role: the directory's import
(``opsdesk maintenance import``) changes them.

A property's page is a list of sections; another part of the desk adds its own by
appending a ``PropertySection`` to ``SECTIONS`` (a template and what it needs to know).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from opsdesk.maintenance.directory import Directory, DirectorySpec, OwnerSpec, PropertySpec
from opsdesk.maintenance.owner_policy import policy_sentences
from opsdesk.maintenance.preventive import due_words, run_words
from opsdesk.maintenance.preventive_schedules import JobStatus
from opsdesk.maintenance.preventive_views import property_jobs
from opsdesk.values import dialable
from opsdesk.web.auth import VIEWER
from opsdesk.web.deps import db_of
from opsdesk.web.errors import ApiError
from opsdesk.web.pages import dashboard_page

router = APIRouter(include_in_schema=False, dependencies=VIEWER)


@dataclass(frozen=True)
class PropertyPage:
    """What every section of a property's page may read."""

    property: PropertySpec
    owner: OwnerSpec | None


@dataclass(frozen=True)
class PropertySection:
    template: str
    """A partial under ``maintenance/property/``, rendered with the page's context."""
    facts: Callable[[Request, PropertyPage], Awaitable[dict[str, Any]]] | None = None
    """What the section needs beyond the page's own context (None: nothing)."""


async def _policy_facts(request: Request, page: PropertyPage) -> dict[str, Any]:
    prop, owner = page.property, page.owner
    sentences = policy_sentences(
        prop.policy,
        limit_cents=prop.auto_approve_cents,
        currency=prop.currency,
        time_zone=prop.time_zone,
        owner_calls=owner.calls if owner else "email_and_call",
        owner_has_phone=owner is not None and dialable(owner.phone) is not None,
    )
    return {"policy_sentences": sentences}


async def _preventive_facts(request: Request, page: PropertyPage) -> dict[str, Any]:
    statuses, unreachable = await property_jobs(request, page.property.id)
    return {
        "preventive": statuses,
        "preventive_unreachable": unreachable,
        "due_day": due_words,
        "run_time": run_words,
        "next_due": _next_due,
    }


def _next_due(status: JobStatus) -> date:
    # Without a schedule to ask (not made yet, or Temporal silent) the dates still say it.
    return status.next_due or status.job.recurrence.next_due(datetime.now(UTC))


SECTIONS: list[PropertySection] = [
    PropertySection("maintenance/property/_owner.html"),
    PropertySection("maintenance/property/_policy.html", _policy_facts),
    PropertySection("maintenance/property/_units.html"),
    PropertySection("maintenance/property/_preventive.html", _preventive_facts),
]
"""The property page's sections, in order."""


def _render(request: Request, template: str, **context: Any) -> HTMLResponse:
    return dashboard_page(request, template, context, section="maintenance")


def _owners(spec: DirectorySpec) -> dict[str, OwnerSpec]:
    return {owner.id: owner for owner in spec.owners}


@router.get("/maintenance/properties", response_class=HTMLResponse)
async def properties_page(request: Request) -> HTMLResponse:
    spec = await Directory(db_of(request)).export()
    return _render(
        request,
        "maintenance/properties.html",
        properties=spec.properties,
        owners=_owners(spec),
    )


@router.get("/maintenance/properties/{property_id}", response_class=HTMLResponse)
async def property_page(request: Request, property_id: str) -> HTMLResponse:
    spec = await Directory(db_of(request)).export()
    found = next((p for p in spec.properties if p.id == property_id), None)
    if found is None:
        raise ApiError(
            404,
            "not_found",
            "There is no property with that id in the directory. The list of properties "
            "shows every one.",
        )
    page = PropertyPage(property=found, owner=_owners(spec).get(found.owner))
    context: dict[str, Any] = {"property": found, "owner": page.owner, "sections": SECTIONS}
    for section in SECTIONS:
        if section.facts is not None:
            context |= await section.facts(request, page)
    return _render(request, "maintenance/property.html", **context)
