"""A list as a CSV file: what a filtered list shows, for a spreadsheet.

A cell that starts with ``=``, ``+``, ``-`` or ``@`` (or a tab or carriage return) is one a
spreadsheet would run as a formula: a customer named ``=HYPERLINK(…)`` must stay a name, so
such a cell gets a leading apostrophe, which spreadsheets show as text and do not display.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime

from fastapi.responses import Response

EXPORT_LIMIT = 5000
"""Rows one file holds: a list past that is narrowed by its filters first."""

_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def safe_cell(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, datetime):
        return value.astimezone(UTC).isoformat(timespec="seconds")
    text = str(value)
    if isinstance(value, str) and text.startswith(_FORMULA_STARTS):
        return "'" + text
    return text


def csv_response(
    filename: str, header: Sequence[str], rows: Iterable[Sequence[object]]
) -> Response:
    """The rows as a download named ``filename``, UTF-8 with a byte-order mark (so a
    spreadsheet reads accents right) and CRLF line ends, as RFC 4180 has them."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(header)
    writer.writerows([safe_cell(cell) for cell in row] for row in rows)
    return Response(
        "\ufeff" + out.getvalue(),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )


def stamped(name: str, now: datetime | None = None) -> str:
    """``orders-2026-12-06.csv``: the day it was taken, so two exports never overwrite."""
    return f"{name}-{(now or datetime.now(UTC)):%Y-%m-%d}.csv"
