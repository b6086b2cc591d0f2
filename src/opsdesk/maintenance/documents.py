"""Vendors' compliance documents: insurance certificates and licences, each valid until a
date. What they are, and what they mean for who may be offered a job. No I/O.

A document is valid through its expiry date and expired from the next day, in the zone of
whoever asks (the property's for a job, the business's for the dashboard and reminders).
Which kinds a vendor *must* have is a setting (``vendor_documents_required``); by default
none, and only a document on file that has expired keeps a vendor from a job.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import date, datetime
from typing import Annotated

from pydantic import BaseModel, Field

from opsdesk import clock
from opsdesk.files.refs import FileRef
from opsdesk.settings import VendorDocumentKind

DocumentKind = VendorDocumentKind
KINDS: tuple[DocumentKind, ...] = ("general_liability", "workers_comp", "licence")
KIND_WORDS: dict[DocumentKind, str] = {
    "general_liability": "general liability insurance",
    "workers_comp": "workers' compensation insurance",
    "licence": "licence",
}
EVERY_TRADE = "*"
SOON_DAYS = 30
"""A document this close to its expiry shows as expiring on the dashboard."""
REMINDER_DAYS: tuple[int, ...] = (30, 7)
"""The vendor and ops are reminded this many days before a document expires."""

DocumentNumber = Annotated[str, Field(min_length=1, max_length=100)]
Issuer = Annotated[str, Field(min_length=1, max_length=200)]


class DocumentSpec(BaseModel):
    """A document as the directory file lists it (no file: that is uploaded)."""

    kind: DocumentKind
    expires_on: date
    number: DocumentNumber | None = None
    issuer: Issuer | None = None


class VendorDocumentOut(BaseModel):
    """One document on file, as the API and the pages show it."""

    id: int
    vendor_id: str
    kind: DocumentKind
    number: str | None = None
    issuer: str | None = None
    expires_on: date
    file: FileRef | None = None
    """The uploaded file; None for a document the directory listed."""
    uploaded_by: str
    uploaded_at: datetime


def kind_words(kind: DocumentKind) -> str:
    """``workers' compensation insurance``."""
    return KIND_WORDS[kind]


def required_kinds(
    required: Mapping[str, Sequence[DocumentKind]], trades: Iterable[str]
) -> list[DocumentKind]:
    """The kinds a vendor of ``trades`` must have on file, in the usual order."""
    wanted = set(required.get(EVERY_TRADE, ()))
    for trade in trades:
        wanted |= set(required.get(trade, ()))
    return [k for k in KINDS if k in wanted]


def why_not_offered(
    current: Mapping[DocumentKind, VendorDocumentOut],
    required: Sequence[DocumentKind],
    today: date,
) -> str | None:
    """Why a vendor may not be offered a job today, in words that follow "... was not
    asked: "; None when they may."""
    for kind in KINDS:
        document = current.get(kind)
        if document is not None and document.expires_on < today:
            return f"their {kind_words(kind)} expired on {clock.calendar_day(document.expires_on)}"
    for kind in required:
        if kind not in current:
            return f"we have no {kind_words(kind)} on file for them"
    return None


def at_a_glance(
    current: Mapping[DocumentKind, VendorDocumentOut],
    required: Sequence[DocumentKind],
    today: date,
) -> tuple[str, bool]:
    """The vendor's compliance in one line for the vendors' list, and whether it needs
    someone's attention: ``Licence expired``, ``Workers' compensation insurance expires in
    6 days``, ``All documents valid``."""
    reason = why_not_offered(current, required, today)
    if reason is not None:
        for kind in KINDS:
            document = current.get(kind)
            if document is not None and document.expires_on < today:
                return f"{kind_words(kind).capitalize()} expired", True
        missing = [k for k in required if k not in current]
        return f"No {kind_words(missing[0])} on file", True
    soonest = sorted(current.values(), key=lambda d: d.expires_on)
    if soonest and (soonest[0].expires_on - today).days <= SOON_DAYS:
        document = soonest[0]
        return f"{kind_words(document.kind).capitalize()} {expires_in(document, today)}", True
    if not current:
        return "No documents on file", False
    return "All documents valid", False


def expires_in(document: VendorDocumentOut, today: date) -> str:
    """``expires in 6 days``, ``expires today``, ``expired on Tue 1 Dec 2026``."""
    days = (document.expires_on - today).days
    if days < 0:
        return f"expired on {clock.calendar_day(document.expires_on)}"
    if days == 0:
        return "expires today"
    if days == 1:
        return "expires tomorrow"
    return f"expires in {days} days"


def current_of(documents: Iterable[VendorDocumentOut]) -> dict[DocumentKind, VendorDocumentOut]:
    """The current document of each kind: the newest on file (``documents`` oldest first)."""
    current: dict[DocumentKind, VendorDocumentOut] = {}
    for document in documents:
        current[document.kind] = document
    return current
