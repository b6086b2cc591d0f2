"""Numbers a request carries, in its path, query string, headers or form fields, read so
that one out of range is a 4xx that says so and never an error deeper down.

Routes declare an id as ``RowId`` (``Annotated[RowId | None, Query()]`` for an optional
cursor): FastAPI refuses a bigger one with a 422 and the schema says where the range ends,
so the fuzz test (``tests/test_fuzz.py``) tries the values on either side of it. Code that
reads text itself (a form's fields, a signature header) uses ``whole_number``.
"""

from __future__ import annotations

from typing import Annotated

from pydantic import Field

ROW_ID_MAX = 2**63 - 1
"""The largest id a row can have: ids are signed 64-bit integers on SQLite and PostgreSQL
alike, and the driver raises on a bigger number rather than finding no row."""

RowId = Annotated[int, Field(ge=1, le=ROW_ID_MAX)]
"""A row's id in a path or a query string: an outbox message, a set-aside record, the
``before`` of a page of either."""


def whole_number(text: str, most: int) -> int | None:
    """``text`` as a number from 0 to ``most`` written in ASCII digits, else None.

    ``str.isdigit`` is no guard for ``int``: it takes ``²``, which ``int`` refuses, and
    ``int`` refuses more than 4300 digits."""
    if not (text.isascii() and text.isdigit()) or len(text) > len(str(most)):
        return None
    number = int(text)
    return number if number <= most else None
