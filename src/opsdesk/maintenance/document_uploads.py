"""Filing a vendor's new certificate or licence, as the dashboard's form and the JSON API
both send it: a multipart form with the kind, the expiry date, an optional number and
issuer, and the file, whose type is read from its bytes (PDF, JPEG or PNG), never from its
name. Every refusal is a sentence a person can act on."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

from fastapi import Request
from starlette.datastructures import UploadFile
from starlette.formparsers import MultiPartException

from opsdesk import clock
from opsdesk.files.documents import MAX_DOCUMENT_BYTES, DocumentRefused, keep_document
from opsdesk.maintenance.compliance import VendorDocuments
from opsdesk.maintenance.directory import Directory, VendorSpec
from opsdesk.maintenance.documents import KIND_WORDS, KINDS, DocumentKind, VendorDocumentOut
from opsdesk.web.deps import db_of, settings_of
from opsdesk.web.errors import ApiError
from opsdesk.web.files import files_of

FIELD_LIMIT = 200
LATEST_EXPIRY = timedelta(days=365 * 20)
"""A date further ahead is a typo (2206 for 2026), not a certificate."""


@dataclass(frozen=True)
class DocumentUpload:
    """A form's fields, as typed (so a refused form can show them again)."""

    kind: str
    expires_on: str
    number: str
    issuer: str


async def read_upload(request: Request) -> tuple[DocumentUpload, UploadFile | None]:
    """The multipart form's fields and file; a form that is not multipart is refused."""
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if content_type != "multipart/form-data":
        raise ApiError(415, "unsupported_media_type", "send the document as a multipart form")
    try:
        form = await request.form(max_files=1, max_fields=10, max_part_size=FIELD_LIMIT * 4)
    except MultiPartException as exc:
        raise ApiError(422, "invalid_input", f"the form could not be read: {exc.message}") from None
    file = form.get("file")

    def field(name: str) -> str:
        value = form.get(name)
        return value.strip()[:FIELD_LIMIT] if isinstance(value, str) else ""

    fields = DocumentUpload(
        kind=field("kind"),
        expires_on=field("expires_on"),
        number=field("number"),
        issuer=field("issuer"),
    )
    return fields, file if isinstance(file, UploadFile) and file.filename else None


async def known_vendor(request: Request, vendor_id: str) -> VendorSpec:
    """The vendor (active or not); 404 with a sentence when the directory has none."""
    for vendor in await Directory(db_of(request)).vendors(active_only=False):
        if vendor.id == vendor_id:
            return vendor
    raise ApiError(404, "not_found", f"there is no vendor {vendor_id!r} in the directory")


def _kind(raw: str) -> DocumentKind:
    for kind in KINDS:
        if raw == kind:
            return kind
    named = ", ".join(KIND_WORDS[k] for k in KINDS)
    raise ApiError(422, "invalid_input", f"Document: choose one of {named}")


EXPIRY_YEARS = (2000, 2100)
"""The years an expiry date may fall in: outside them it is a typing slip (year 1)."""


def _expiry(raw: str, today: date) -> date:
    if not raw:
        raise ApiError(422, "invalid_input", "Expires on: give the date the document expires")
    try:
        expires_on = date.fromisoformat(raw)
    except ValueError:
        raise ApiError(422, "invalid_input", "Expires on: give a date such as 2027-06-30") from None
    if not EXPIRY_YEARS[0] <= expires_on.year <= EXPIRY_YEARS[1]:
        raise ApiError(
            422,
            "invalid_input",
            f"Expires on: give a date between {EXPIRY_YEARS[0]} and {EXPIRY_YEARS[1]}; "
            "check the year",
        )
    if expires_on < today:
        raise ApiError(
            422,
            "invalid_input",
            "Expires on: that date has passed: upload the renewed document with its new "
            "expiry date",
        )
    if expires_on > today + LATEST_EXPIRY:
        raise ApiError(
            422,
            "invalid_input",
            f"Expires on: {clock.calendar_day(expires_on)} is more than 20 years away; "
            "check the year",
        )
    return expires_on


def _refusal(exc: DocumentRefused) -> ApiError:
    # The form's own words: each names its field ("File: ..."), as the form's others do.
    if exc.problem == "empty":
        return ApiError(422, "invalid_input", "File: the file is empty")
    if exc.problem == "too_large":
        return ApiError(
            413, "payload_too_large", "File: the document is larger than 10 MB; send a smaller scan"
        )
    looks = f" (it looks like a {exc.looks} file)" if exc.looks else ""
    return ApiError(
        415,
        "unsupported_media_type",
        f"File: the document must be a PDF, JPEG or PNG{looks}; scan or save it as one of "
        "those and upload it again",
    )


async def file_upload(
    request: Request,
    vendor: VendorSpec,
    fields: DocumentUpload,
    file: UploadFile | None,
    uploaded_by: str,
) -> VendorDocumentOut:
    """Check the form, keep the file in the blob store and file the document: from now on
    the current one of its kind."""
    settings = settings_of(request)
    today = clock.date_in(datetime.now(UTC), settings.business_time_zone)
    kind = _kind(fields.kind)
    expires_on = _expiry(fields.expires_on, today)
    if file is None:
        raise ApiError(422, "invalid_input", "File: choose the document's file (PDF, JPEG or PNG)")
    data = await file.read(MAX_DOCUMENT_BYTES + 1)
    try:
        ref = await keep_document(
            files_of(request), f"vendors/{vendor.id}", data, file.filename or ""
        )
    except DocumentRefused as exc:
        raise _refusal(exc) from None
    return await VendorDocuments(db_of(request)).add(
        vendor.id,
        kind,
        expires_on,
        uploaded_by=uploaded_by[:64],
        file=ref,
        number=fields.number or None,
        issuer=fields.issuer or None,
    )


def document_links(request: Request, documents: list[VendorDocumentOut]) -> dict[int, str]:
    """A short-lived link to each document's file, by document id."""
    store = files_of(request)
    lifetime = settings_of(request).file_link_lifetime
    return {d.id: store.url(d.file, lifetime) for d in documents if d.file is not None}
