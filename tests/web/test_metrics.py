"""The API's request metrics at ``/metrics``: counted by route template and status, never by
the ids in a path, and readable with a token only."""

from __future__ import annotations

import httpx

from tests.orders.helpers import error_of


async def test_requests_are_counted_by_route_template_and_status(
    http: httpx.AsyncClient,
) -> None:
    for order_id in ("1001", "1002", "1003"):
        assert (await http.get(f"/api/orders/{order_id}x!")).status_code == 404
    await http.get("/healthz")
    await http.get("/no/such/page")

    scraped = await http.get("/metrics")
    assert scraped.status_code == 200
    assert scraped.headers["content-type"].startswith("text/plain")
    text = scraped.text
    assert (
        'opsdesk_http_requests_total{method="GET",route="/api/orders/{order_id}",status="404"} 3.0'
        in text
    )
    assert 'opsdesk_http_requests_total{method="GET",route="/healthz",status="200"} 1.0' in text
    assert 'opsdesk_http_requests_total{method="GET",route="unmatched",status="404"} 1.0' in text
    assert 'opsdesk_http_request_duration_seconds_count{method="GET",route="/healthz"} 1.0' in text
    assert "1001" not in text  # no id is ever a label

    async with httpx.AsyncClient(base_url=http.base_url) as stranger:
        anonymous = await stranger.get("/metrics")
    assert "send an API token" in error_of(anonymous, 401)
