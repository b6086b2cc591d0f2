"""The vendors' compliance documents in the JSON API, beside ``GET /api/maintenance/vendors``
(whose items list each vendor's current documents): one vendor's documents with short-lived
links to their files, and the upload of a new certificate or licence."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request, Response
from pydantic import BaseModel

from opsdesk.files.refs import DOCUMENT_TYPES
from opsdesk.maintenance.compliance import VendorDocuments
from opsdesk.maintenance.document_uploads import (
    document_links,
    file_upload,
    known_vendor,
    read_upload,
)
from opsdesk.maintenance.documents import KINDS, VendorDocumentOut, current_of
from opsdesk.web.auth import VIEWER, Operator
from opsdesk.web.deps import db_of

router = APIRouter(prefix="/api/maintenance/vendors", tags=["maintenance"])


class DocumentOut(VendorDocumentOut):
    url: str | None = None
    """A link to the file, good for ``OPSDESK_FILE_LINK_LIFETIME`` (15 minutes)."""
    current: bool = False
    """The newest of its kind: the one that counts."""


class DocumentsOut(BaseModel):
    items: list[DocumentOut]
    """Oldest first."""


_UPLOAD_BODY: dict[str, Any] = {
    "requestBody": {
        "required": True,
        "content": {
            "multipart/form-data": {
                "schema": {
                    "type": "object",
                    "required": ["kind", "expires_on", "file"],
                    "properties": {
                        "kind": {"type": "string", "enum": list(KINDS)},
                        "expires_on": {"type": "string", "format": "date"},
                        "number": {"type": "string", "maxLength": 100},
                        "issuer": {"type": "string", "maxLength": 200},
                        "file": {
                            "type": "string",
                            "format": "binary",
                            "description": f"One of {', '.join(DOCUMENT_TYPES.values())}, "
                            "read from the bytes.",
                        },
                    },
                }
            }
        },
    }
}


def _with_links(request: Request, documents: list[VendorDocumentOut]) -> list[DocumentOut]:
    links = document_links(request, documents)
    current = {d.id for d in current_of(documents).values()}
    return [
        DocumentOut(**d.model_dump(), url=links.get(d.id), current=d.id in current)
        for d in documents
    ]


@router.get("/{vendor_id}/documents", dependencies=VIEWER)
async def vendor_documents(request: Request, vendor_id: str) -> DocumentsOut:
    """Every certificate and licence on file for the vendor, with links to their files."""
    vendor = await known_vendor(request, vendor_id)
    documents = await VendorDocuments(db_of(request)).documents(vendor.id)
    return DocumentsOut(items=_with_links(request, documents))


@router.post("/{vendor_id}/documents", status_code=201, openapi_extra=_UPLOAD_BODY)
async def upload_document(
    request: Request, who: Operator, response: Response, vendor_id: str
) -> DocumentOut:
    """File a new certificate or licence: from now on the current one of its kind. A
    multipart form; the file must be a PDF, JPEG or PNG (415 otherwise)."""
    vendor = await known_vendor(request, vendor_id)
    fields, file = await read_upload(request)
    document = await file_upload(request, vendor, fields, file, who.name)
    response.headers["Location"] = f"/api/maintenance/vendors/{vendor.id}/documents"
    [out] = _with_links(request, [document])
    return out.model_copy(update={"current": True})
