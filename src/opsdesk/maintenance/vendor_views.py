"""The dashboard's Vendors pages: every vendor with their compliance at a glance, and one
vendor's page with their contact, trades, documents (each linked through a short-lived
signed URL) and the form that uploads a new certificate or licence."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from opsdesk import clock
from opsdesk.maintenance.compliance import VendorDocuments
from opsdesk.maintenance.directory import Directory, VendorSpec
from opsdesk.maintenance.document_uploads import (
    DocumentUpload,
    document_links,
    file_upload,
    known_vendor,
    read_upload,
)
from opsdesk.maintenance.documents import (
    KIND_WORDS,
    KINDS,
    SOON_DAYS,
    VendorDocumentOut,
    at_a_glance,
    current_of,
    expires_in,
    required_kinds,
)
from opsdesk.maintenance.scorecard_views import SCORECARD_WORDS
from opsdesk.maintenance.scorecards import scorecards
from opsdesk.web.auth import VIEWER, Operator
from opsdesk.web.deps import db_of, settings_of
from opsdesk.web.errors import ApiError, sentence
from opsdesk.web.navigation import Notice, redirect_with
from opsdesk.web.pages import dashboard_page

router = APIRouter(include_in_schema=False, dependencies=VIEWER)


def _today(request: Request) -> date:
    # Expiry dates are the business's: a document is valid through its day where it is.
    return clock.date_in(datetime.now(UTC), settings_of(request).business_time_zone)


def _page(
    request: Request,
    template: str,
    status_code: int = 200,
    notice: Notice | None = None,
    **context: Any,
) -> HTMLResponse:
    context = {"kind_words": KIND_WORDS, "calendar_day": clock.calendar_day, **context}
    return dashboard_page(
        request, template, context, section="maintenance", status_code=status_code, notice=notice
    )


@router.get("/maintenance/vendors", response_class=HTMLResponse)
async def vendors_page(request: Request) -> HTMLResponse:
    vendors = await Directory(db_of(request)).vendors(active_only=False)
    current = await VendorDocuments(db_of(request)).current()
    required = settings_of(request).vendor_documents_required
    today = _today(request)
    rows = []
    for vendor in vendors:
        glance, attention = at_a_glance(
            current.get(vendor.id, {}), required_kinds(required, vendor.trades), today
        )
        rows.append({"vendor": vendor, "glance": glance, "attention": attention})
    return _page(request, "maintenance/vendors.html", rows=rows)


async def _vendor_context(request: Request, vendor: VendorSpec) -> dict[str, Any]:
    documents = await VendorDocuments(db_of(request)).documents(vendor.id)
    current = current_of(documents)
    today = _today(request)
    required = required_kinds(settings_of(request).vendor_documents_required, vendor.trades)
    glance, attention = at_a_glance(current, required, today)
    current_ids = {d.id for d in current.values()}
    cards = await scorecards(db_of(request), [vendor.id])
    shown: list[VendorDocumentOut] = [current[k] for k in KINDS if k in current]
    return {
        "vendor": vendor,
        "glance": glance,
        "attention": attention,
        "documents": shown,
        "earlier": [d for d in reversed(documents) if d.id not in current_ids],
        "missing": [k for k in required if k not in current],
        "links": document_links(request, documents),
        # Far-off expiries read as valid: "expires in 1759 days" helps nobody.
        "state": {
            d.id: expires_in(d, today) if (d.expires_on - today).days <= SOON_DAYS else "valid"
            for d in documents
        },
        "expired": {d.id for d in documents if d.expires_on < today},
        "kinds": KINDS,
        "sent": {},
        "card": cards[0] if cards else None,
        **SCORECARD_WORDS,
    }


@router.get("/maintenance/vendors/{vendor_id}", response_class=HTMLResponse)
async def vendor_page(request: Request, vendor_id: str) -> HTMLResponse:
    vendor = await known_vendor(request, vendor_id)
    return _page(request, "maintenance/vendor.html", **await _vendor_context(request, vendor))


@router.post("/maintenance/vendors/{vendor_id}/documents", response_model=None)
async def upload_form(request: Request, who: Operator, vendor_id: str) -> Response:
    """The page's upload form: back to the page saying what was filed, or the page again
    with why not and what was typed."""
    vendor = await known_vendor(request, vendor_id)
    fields = DocumentUpload(kind="", expires_on="", number="", issuer="")
    try:
        fields, file = await read_upload(request)
        document = await file_upload(request, vendor, fields, file, who.name)
    except ApiError as exc:
        context = await _vendor_context(request, vendor)
        context["sent"] = vars(fields)
        return _page(
            request,
            "maintenance/vendor.html",
            exc.status,
            notice=Notice("error", sentence(exc.message)),
            **context,
        )
    what = KIND_WORDS[document.kind]
    text = f"Filed {vendor.name}'s {what}, valid until {clock.calendar_day(document.expires_on)}."
    return redirect_with(f"/maintenance/vendors/{vendor.id}#documents", Notice("ok", text))
