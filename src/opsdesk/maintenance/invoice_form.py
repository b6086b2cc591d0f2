"""Reading an itemised invoice from what people send: the rows of the vendor's link page and
of the dashboard's answer form, the API's JSON, and the invoice document, whose type is read
from its bytes and which goes to the blob store (the answer carries its reference).

Every problem is said in plain words, naming the line it is on."""

from __future__ import annotations

import base64
import binascii
from collections.abc import Mapping
from decimal import Decimal, InvalidOperation
from typing import Any

from pydantic import ValidationError
from starlette.datastructures import UploadFile

from opsdesk.files.documents import MAX_DOCUMENT_BYTES, DocumentRefused, keep_document
from opsdesk.files.refs import FileRef
from opsdesk.files.store import BlobStore
from opsdesk.maintenance.inputs import InvoiceAnswer
from opsdesk.maintenance.invoice import LINE_KINDS, MAX_LINES

LINE_ROWS = 4
"""Blank line rows a form offers without its script (which adds more)."""
_FIELDS = ("kind", "description", "quantity", "price")


class InvoiceProblem(ValueError):
    """What to fix in the invoice, in a sentence for the person who sent it."""


def line_rows(fields: Mapping[str, str]) -> list[dict[str, str]]:
    """The form's line rows as typed (for showing them again), with at least
    ``LINE_ROWS`` rows and one blank row after the last one filled."""
    rows = []
    for i in range(MAX_LINES):
        row = {name: fields.get(f"{name}.{i}", "") for name in _FIELDS}
        rows.append(row)
    filled = [i for i, row in enumerate(rows) if _filled(row)]
    shown = max(LINE_ROWS, (filled[-1] + 2) if filled else 0)
    return rows[: min(shown, MAX_LINES)]


def _filled(row: Mapping[str, str]) -> bool:
    return any(row[name].strip() for name in ("description", "quantity", "price"))


def invoice_fields(fields: Mapping[str, str]) -> dict[str, Any]:
    """The number, lines and tax a form's fields make, as ``InvoiceAnswer`` takes them.
    Blank rows are skipped; a row half filled in is refused, saying what it lacks."""
    lines = []
    for i, row in enumerate(line_rows(fields)):
        if not _filled(row):
            continue
        what = f"Line {i + 1}"
        kind = row["kind"] if row["kind"] in LINE_KINDS else ""
        if not kind:
            raise InvoiceProblem(f"{what}: say whether it is labour or materials.")
        if not row["description"].strip():
            raise InvoiceProblem(f"{what}: say what it is for.")
        quantity = _number(row["quantity"], f"{what}: give the quantity, like 1 or 2.5.")
        if quantity is None:
            raise InvoiceProblem(f"{what}: give the quantity, like 1 or 2.5.")
        if quantity <= 0:
            raise InvoiceProblem(f"{what}: the quantity must be more than zero.")
        price = _cents(row["price"], f"{what}'s price")
        if price is None:
            raise InvoiceProblem(f"{what}: give its price (the price of one), like 85.00.")
        lines.append(
            {
                "kind": kind,
                "description": row["description"],
                "quantity": str(quantity),
                "unit_price_cents": price,
            }
        )
    if not lines:
        raise InvoiceProblem(
            "Give at least one line: what the work or the materials were, how many and the "
            "price of one."
        )
    tax = _cents(fields.get("tax", ""), "Tax")
    return {
        "number": fields.get("number", ""),
        "lines": lines,
        "tax_cents": tax or 0,
    }


def _number(raw: str, problem: str) -> Decimal | None:
    text = raw.strip().replace(",", ".")
    if not text:
        return None
    try:
        value = Decimal(text)
    except InvalidOperation:
        raise InvoiceProblem(problem) from None
    if not value.is_finite():
        raise InvoiceProblem(problem)
    return value


def _cents(raw: str, what: str) -> int | None:
    """``"1,204.50"`` → ``120450``; None when blank. Zero is a price (a part under
    warranty); a negative amount or part of a cent is not."""
    problem = f"{what}: give an amount like 85.00 (at most 1,000,000.00)."
    # "1,204.50" has a thousands comma; "85,50" a decimal one.
    value = _number(raw.replace(",", "") if "." in raw else raw, problem)
    if value is None:
        return None
    if value < 0:
        raise InvoiceProblem(f"{what}: an amount cannot be below zero.")
    if value > 1_000_000 or value != value.quantize(Decimal("0.01")):
        raise InvoiceProblem(problem)
    return int(value * 100)


async def stored_document(
    store: BlobStore, request_id: str, data: bytes, name: str = ""
) -> FileRef:
    """Keep the invoice's document, once its bytes show it is a PDF, JPEG or PNG (whatever
    its name says)."""
    try:
        return await keep_document(store, f"invoices/{request_id}", data, name)
    except DocumentRefused as exc:
        raise InvoiceProblem(_INVOICE_REFUSALS[exc.problem]) from None


# The invoice's own words: its page names "the invoice's file", not the file's name.
_INVOICE_REFUSALS = {
    "empty": "Attach the invoice itself: a PDF, JPEG or PNG file.",
    "too_large": "The invoice's file is too large: at most 10 MB.",
    "not_a_document": "The invoice's file is not a PDF, JPEG or PNG. Save or scan it as one "
    "of those and attach it again.",
}


async def uploaded_document(
    store: BlobStore, request_id: str, upload: UploadFile | None
) -> FileRef:
    """The document a form attached, kept; refused when there is none."""
    data = await upload.read(MAX_DOCUMENT_BYTES + 1) if upload is not None else b""
    if upload is None or not data:
        raise InvoiceProblem("Attach the invoice itself: a PDF, JPEG or PNG file.")
    return await stored_document(store, request_id, data, upload.filename or "")


async def api_document(store: BlobStore, request_id: str, document: Any) -> FileRef | None:
    """The API's ``document``: ``{"name": ..., "content_base64": ...}``, kept. A reference
    to a stored file is not taken: a client could name someone else's."""
    if document is None:
        return None
    if not isinstance(document, dict) or not isinstance(document.get("content_base64"), str):
        raise InvoiceProblem(
            'document: send the file as {"name": "invoice.pdf", "content_base64": "..."}'
        )
    try:
        data = base64.b64decode(document["content_base64"], validate=True)
    except (binascii.Error, ValueError):
        raise InvoiceProblem("document: content_base64 is not base64") from None
    name = document.get("name")
    return await stored_document(store, request_id, data, name if isinstance(name, str) else "")


def invoice_answer(data: Mapping[str, Any]) -> InvoiceAnswer:
    """The answer, or what is wrong with it in plain words."""
    try:
        return InvoiceAnswer.model_validate(data)
    except ValidationError as exc:
        problems = dict.fromkeys(_describe(e) for e in exc.errors())
        raise InvoiceProblem(" ".join(problems)) from None


_FIELD_PROBLEMS = {
    "number": "give the invoice's number (up to 40 characters)",
    "kind": "say whether it is labour or materials",
    "description": "say what it is for (up to 200 characters)",
    "quantity": "give a quantity more than zero, with at most two decimals",
    "unit_price_cents": "give its price: whole cents, zero or more",
    "tax_cents": "give the tax in whole cents, zero or more",
    "amount_cents": "give an amount in whole cents, more than zero",
    "document": "attach the invoice itself (a PDF, JPEG or PNG)",
}


def _describe(error: Mapping[str, Any]) -> str:
    loc = [str(part) for part in error.get("loc", ())]
    if not loc:
        return _sentence(str(error.get("msg", "")).removeprefix("Value error, "))
    if loc[0] == "lines" and len(loc) >= 3 and loc[1].isdigit():
        return f"Line {int(loc[1]) + 1}: {_FIELD_PROBLEMS.get(loc[2], 'check it')}."
    if loc[0] == "lines":
        return f"Give at most {MAX_LINES} lines."
    problem = _FIELD_PROBLEMS.get(loc[0])
    if problem is None:
        return f"{loc[0]}: {str(error.get('msg', '')).removeprefix('Value error, ')}."
    return _sentence(problem)


def _sentence(text: str) -> str:
    return f"{text[:1].upper()}{text[1:]}."
