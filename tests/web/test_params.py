"""Numbers in a request's path and query string are bounded where they are declared
(``opsdesk.web.params``): one too big for the database is a 422 that names it, as JSON for a
program and as a page for a person, never a 500 from the driver (issue 25, item 9). Code
that reads a number from text itself reads ASCII digits up to a ceiling, never
``str.isdigit`` then ``int``, which raises on ``²``."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import httpx
import pytest
from fastapi._compat import ModelField
from fastapi.dependencies.models import Dependant
from fastapi.routing import iter_route_contexts
from starlette.requests import Request

from opsdesk.app import create_app
from opsdesk.maintenance.phone import _count
from opsdesk.orders.views import _order_body
from opsdesk.settings import Settings
from opsdesk.web.params import ROW_ID_MAX, whole_number
from opsdesk.web.signatures import SignatureRefused, verify
from tests.orders.helpers import error_of

TOO_BIG = str(ROW_ID_MAX + 1)
REPORTED = "38538790057930769894816510682071040"
"""The ``before`` of the issue: it answered 500."""


def _params(dependant: Dependant) -> Iterator[ModelField]:
    yield from dependant.path_params
    yield from dependant.query_params
    for dependency in dependant.dependencies:
        yield from _params(dependency)


def test_every_number_in_a_path_or_query_has_a_ceiling(tmp_path: Path) -> None:
    """Every route, those the OpenAPI schema (and so the fuzz test) leaves out included."""
    app = create_app(Settings(data_dir=tmp_path))
    numbers, unbounded = [], []
    for route in iter_route_contexts(app.routes):
        dependant = getattr(route, "dependant", None)
        if dependant is None:
            continue
        for param in _params(dependant):
            value, errors = param.validate("5")
            if errors or not isinstance(value, int):
                continue  # takes no whole numbers (text, a moment, a choice)
            numbers.append(f"{route.path} {param.name}")
            if not param.validate(TOO_BIG)[1]:
                unbounded.append(f"{route.path} {param.name}")
    assert unbounded == []
    # The walk found them: both desks' pages and cursors, the dev phone's calls.
    assert {
        "/api/outbox before",
        "/api/maintenance/intake/rejects before",
        "/api/orders page_size",
        "/mailbox/phone/{entry_id}/pick-up entry_id",
    } <= set(numbers)


async def test_a_cursor_too_big_for_the_database_is_refused(http: httpx.AsyncClient) -> None:
    rejects = "/api/maintenance/intake/rejects"
    for before in (REPORTED, TOO_BIG, "9" * 5000):
        for path in (rejects, "/api/outbox"):
            message = error_of(await http.get(path, params={"before": before}), 422)
            assert message.startswith("query.before: "), message
    said = error_of(await http.get(rejects, params={"before": TOO_BIG}), 422)
    assert said == f"query.before: Input should be less than or equal to {ROW_ID_MAX}"
    # The largest id there can be is still a cursor.
    page = await http.get(rejects, params={"before": str(ROW_ID_MAX)})
    assert page.status_code == 200, page.text
    assert page.json() == {"rejects": [], "next_before": None}


async def test_a_person_is_shown_a_page_that_says_which_number(http: httpx.AsyncClient) -> None:
    browser = {"Accept": "text/html,application/xhtml+xml,*/*;q=0.8"}
    page = await http.post(f"/mailbox/phone/{TOO_BIG}/pick-up", headers=browser)
    assert page.status_code == 422
    assert page.headers["content-type"].startswith("text/html")
    assert f"Path.entry_id: Input should be less than or equal to {ROW_ID_MAX}." in page.text
    assert "Traceback" not in page.text


def test_a_whole_number_is_ascii_digits_up_to_a_ceiling() -> None:
    assert (whole_number("0", 99), whole_number("042", 100), whole_number("99", 99)) == (0, 42, 99)
    # Superscripts and other scripts' digits pass str.isdigit; int refuses or reads them.
    for text in ("", "²", "٣", "+1", "-1", " 1", "1_0", "1.0", "100", "9" * 5000):
        assert whole_number(text, 99) is None, text


def test_text_that_only_looks_like_a_number_is_no_number() -> None:
    # The shop's signature header: refused as malformed, not a 500.
    for header in ("t=²,v1=00", "t=9999999999999,v1=00"):
        with pytest.raises(SignatureRefused, match="t=<unix seconds>"):
            verify(["secret"], b"{}", header, now=0, tolerance=timedelta(minutes=5))
    # The new-order form's lines come in their numbers' order; others after them.
    lines = {"lines.1.sku": "B", "lines.\u00b2.sku": "Z", "lines.0.sku": "A", "lines.999.sku": "Y"}
    assert [line["sku"] for line in _order_body(lines)["lines"]] == ["A", "B", "Z", "Y"]
    # The counts the phone's callbacks carry in their own URLs.
    query = "misses=%C2%B2&plays=" + "9" * 5000
    asked = Request({"type": "http", "query_string": query.encode()})
    assert (_count(asked, "misses", 0), _count(asked, "plays", 1)) == (0, 1)
