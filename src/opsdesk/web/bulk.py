"""Acting on many rows of a list at once: the form's ticked rows, one key per row, and one
outcome per row. Each desk's view does each row's action through its own single-row code
path (the JSON API's route); this only gathers and reports.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from urllib.parse import parse_qsl

from fastapi import Request

from opsdesk.web.errors import ApiError
from opsdesk.web.forms import MAX_FORM_FIELDS

MOST_ROWS = 25
"""Rows one bulk action takes: a page of a list, and a notice that still fits its cookie."""


@dataclass(frozen=True)
class BulkForm:
    action: str
    rows: list[str]
    key: str
    confirmed: bool
    reason: str
    back: str
    """The list's address the form was on (``/`` if it named none)."""


async def read_bulk_form(request: Request, list_path: str) -> BulkForm:
    """The ticked rows (``row`` may appear many times) and the rest of the form."""
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if content_type != "application/x-www-form-urlencoded":
        raise ApiError(415, "unsupported_media_type", "send the form url-encoded")
    try:
        pairs = parse_qsl(
            (await request.body()).decode(), keep_blank_values=True, max_num_fields=MAX_FORM_FIELDS
        )
    except (UnicodeDecodeError, ValueError):
        raise ApiError(400, "bad_form", "the form could not be read; send it again") from None
    fields = dict(pairs)
    rows = list(dict.fromkeys(v.strip() for k, v in pairs if k == "row" and v.strip()))
    back = fields.get("back", "")
    # Only an address of the list itself: the form never sends the browser elsewhere.
    if not (back == list_path or back.startswith(f"{list_path}?")):
        back = list_path
    return BulkForm(
        action=fields.get("action", ""),
        rows=rows,
        key=fields.get("idempotency_key", "").strip()[:100],
        confirmed=fields.get("confirm") == "yes",
        reason=fields.get("reason", "").strip(),
        back=back,
    )


def row_key(form_key: str, action: str, row: str) -> str | None:
    """Each row's own idempotency key, from the form's: sending the form twice acts once."""
    if not form_key:
        return None
    return "bulk-" + hashlib.sha256(f"{form_key}\0{action}\0{row}".encode()).hexdigest()[:40]


def report(outcomes: list[str]) -> str:
    return "; ".join(outcomes) + "."
