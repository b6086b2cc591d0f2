"""A change a browser sends from another site's page is refused before it reaches anything,
as a page for a browser and JSON for a program; our own pages, programs and signed
webhooks go through. Every page carries the security headers. None of this needs Temporal."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest
from temporalio.client import Client
from temporalio.contrib.pydantic import pydantic_data_converter

from opsdesk.app import create_app
from opsdesk.db import Database
from opsdesk.settings import Settings
from tests.conftest import free_port
from tests.http import serve_http
from tests.orders.helpers import body, error_of

EVIL = "https://evil.example"


async def test_a_form_another_site_posts_is_refused_with_a_page(http: httpx.AsyncClient) -> None:
    # What a hidden form on another site sends when a signed-in person visits it.
    forged = await http.post(
        "/orders/1001/cancel",
        data={"reason": ""},
        headers={"Origin": EVIL, "Sec-Fetch-Site": "cross-site", "Accept": "text/html"},
    )
    assert forged.status_code == 403
    assert forged.headers["content-type"].startswith("text/html")
    assert "must come from Ops Desk" in forged.text
    # The same with only the fetch metadata, or an opaque origin.
    for headers in ({"Sec-Fetch-Site": "cross-site"}, {"Origin": "null"}):
        refused = await http.post("/orders/1001/cancel", data={}, headers=headers)
        assert refused.status_code == 403


async def test_an_api_change_from_another_site_is_refused_with_json(
    http: httpx.AsyncClient,
) -> None:
    refused = await http.post("/api/orders", json=body(), headers={"Origin": EVIL})
    assert "must come from Ops Desk's own pages, not from https://evil.example" in error_of(
        refused, 403
    )


async def test_our_own_pages_programs_and_webhooks_go_through(http: httpx.AsyncClient) -> None:
    own = str(http.base_url).rstrip("/")
    # Past the guard: these fail later, for their own reasons (no Temporal, no secret).
    from_our_page = await http.post(
        "/api/orders", json=body(), headers={"Origin": own, "Sec-Fetch-Site": "same-origin"}
    )
    assert from_our_page.status_code != 403
    from_a_program = await http.post("/api/orders", json=body())
    assert from_a_program.status_code != 403
    webhook = await http.post(
        "/api/webhooks/orders", content=b"{}", headers={"Sec-Fetch-Site": "cross-site"}
    )
    assert webhook.status_code == 503  # not configured: the guard let it by
    # Reading is never refused, wherever the page that asked is.
    assert (await http.get("/", headers={"Origin": EVIL})).status_code != 403


async def test_every_page_carries_the_security_headers(http: httpx.AsyncClient) -> None:
    page = await http.get("/report")
    policy = page.headers["content-security-policy"]
    assert "script-src 'self';" in policy
    assert "unsafe-inline" not in policy
    assert "frame-ancestors 'none'" in policy
    assert page.headers["x-content-type-options"] == "nosniff"
    assert page.headers["referrer-policy"] == "same-origin"
    api = await http.get("/healthz")
    assert api.headers["x-content-type-options"] == "nosniff"


async def test_a_host_name_we_do_not_serve_is_refused_but_probes_answer_any(
    http: httpx.AsyncClient,
) -> None:
    # A DNS rebinding page, or a proxy passing on whatever host it was asked for.
    elsewhere = await http.get("/", headers={"Host": "evil.example"})
    assert elsewhere.status_code == 400
    assert "Invalid host header" in elsewhere.text
    for probe in ("/healthz",):
        assert (await http.get(probe, headers={"Host": "10.1.2.3:8000"})).status_code == 200
    assert (await http.get("/report", headers={"Host": "localhost:8000"})).status_code == 200


def test_allowed_hosts_are_loopback_ours_and_what_is_set() -> None:
    settings = Settings(public_url="https://desk.example.com", allowed_hosts=["*.example.org"])
    assert settings.resolved_allowed_hosts == [
        "127.0.0.1",
        "localhost",
        "::1",
        "desk.example.com",
        "*.example.org",
    ]


async def test_public_pages_and_probes_take_a_bounded_number_of_requests(
    db: Database, tmp_path: Path
) -> None:
    nowhere = await Client.connect(
        f"127.0.0.1:{free_port()}", lazy=True, data_converter=pydantic_data_converter
    )
    settings = Settings(
        data_dir=tmp_path,
        database_url=db.url.render_as_string(hide_password=False),
        public_rate_limit="3/minute",
        webhook_rate_limit="5/minute",
    )
    async with serve_http(create_app(settings, temporal=nowhere)) as http:
        pages = [await http.get("/report", headers={"Accept": "text/html"}) for _ in range(4)]
        assert [p.status_code for p in pages] == [200, 200, 200, 429]
        slow = pages[-1]
        # A sliding window: this minute's count still weighs on the next one for a while.
        assert 1 <= int(slow.headers["retry-after"]) <= 120
        assert "Too many requests from your address; try again in" in slow.text
        # Each group counts on its own: the probes still answer, up to their own limit.
        probes = [await http.get("/healthz") for _ in range(6)]
        assert [p.status_code for p in probes] == [200] * 5 + [429]
        assert probes[-1].json()["error"]["code"] == "too_many_requests"
        # The dashboard is not a public page: no limit here (sign-in will guard it).
        assert (await http.get("/outbox")).status_code != 429


def test_a_limit_that_does_not_read_is_refused_at_start() -> None:
    with pytest.raises(ValueError, match="OPSDESK_PUBLIC_RATE_LIMIT must read like 60/minute"):
        Settings(public_rate_limit="lots")
