"""The API's request metrics at ``/metrics``: counted by route template and status, never by
the ids in a path, and readable with a token only."""

from __future__ import annotations

import re

import httpx
import pytest
import yaml
from temporalio.testing import WorkflowEnvironment

from opsdesk.db import Database
from opsdesk.db.tables import AiCall, ChargeRow, OutboxMessage, RefundRow
from opsdesk.settings import Settings
from tests.monitoring import SCRAPE_EXAMPLE, WORKFLOW_COUNTERS, dashboard_metrics, missing_from
from tests.orders.helpers import error_of, served_api


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
    # No id is ever a label. Only label values: a sample's value may hold the digits (a
    # duration of 0.0014832070010015 s once did).
    assert not [value for value in re.findall(r'="([^"]*)"', text) if "1001" in value]

    async with httpx.AsyncClient(base_url=http.base_url) as stranger:
        anonymous = await stranger.get("/metrics")
    assert "send an API token" in error_of(anonymous, 401)


async def test_the_business_totals_come_from_the_records(
    http: httpx.AsyncClient, db: Database
) -> None:
    async with db.transaction() as session:
        for n, (cents, currency) in enumerate([(6400, "USD"), (1000, "USD"), (500, "EUR")]):
            session.add(
                ChargeRow(
                    id=f"ch_{n}",
                    idempotency_key=f"charge-{n}",
                    order_id=f"o{n}",
                    customer_id="c",
                    amount_cents=cents,
                    currency=currency,
                    payment_token="tok_visa",
                )
            )
        await session.flush()
        session.add(
            RefundRow(id="re_0", idempotency_key="refund-0", charge_id="ch_1", amount_cents=1000)
        )
        for n, outcome in enumerate(["ok", "ok", "error"]):
            session.add(
                AiCall(
                    reference=f"order-o{n}",
                    task="risk",
                    provider="anthropic",
                    model="claude-haiku-4-5",
                    input_tokens=100,
                    output_tokens=20,
                    outcome=outcome,
                )
            )
        for n, (channel, status) in enumerate(
            [("email", "sent"), ("email", "sent"), ("call", "failed")]
        ):
            session.add(
                OutboxMessage(
                    idempotency_key=f"m{n}",
                    reference="order-o0",
                    template="t",
                    channel=channel,
                    to_address="x@example.com",
                    subject="s",
                    body_text="b",
                    status=status,
                )
            )

    text = (await http.get("/metrics")).text
    for line in (
        'opsdesk_charges_total{currency="USD"} 2.0',
        'opsdesk_charged_cents_total{currency="USD"} 7400.0',
        'opsdesk_charged_cents_total{currency="EUR"} 500.0',
        'opsdesk_refunds_total{currency="USD"} 1.0',
        'opsdesk_refunded_cents_total{currency="USD"} 1000.0',
        'opsdesk_ai_calls_total{outcome="ok",provider="anthropic",task="risk"} 2.0',
        'opsdesk_ai_calls_total{outcome="error",provider="anthropic",task="risk"} 1.0',
        # One series for all three calls, whatever their outcomes.
        'opsdesk_ai_tokens_total{direction="input",provider="anthropic",task="risk"} 300.0',
        'opsdesk_ai_tokens_total{direction="output",provider="anthropic",task="risk"} 60.0',
        'opsdesk_messages_total{channel="email",status="sent"} 2.0',
        'opsdesk_messages_total{channel="call",status="failed"} 1.0',
    ):
        assert line in text, line
    # 300 tokens in at $1 and 60 out at $5 per million.
    cost = re.search(
        r'^opsdesk_ai_estimated_cost_dollars_total\{provider="anthropic",task="risk"\} (\S+)$',
        text,
        re.MULTILINE,
    )
    assert cost is not None
    assert float(cost.group(1)) == pytest.approx(0.0006)


async def test_the_dashboard_reads_only_what_the_api_serves(
    dev_env: WorkflowEnvironment, db: Database, settings: Settings
) -> None:
    async with served_api(dev_env, db, settings) as api:
        scraped = (await api.get("/metrics")).text
    wanted = dashboard_metrics("opsdesk_") - WORKFLOW_COUNTERS
    assert len(wanted) >= 12
    assert missing_from(scraped, wanted) == []


async def test_a_scrape_without_temporal_still_carries_the_rest(http: httpx.AsyncClient) -> None:
    scraped = await http.get("/metrics")
    assert scraped.status_code == 200
    assert "opsdesk_charges_total" in scraped.text
    assert "opsdesk_orders{" not in scraped.text


def test_the_scrape_example_scrapes_the_api_with_a_token_and_the_workers() -> None:
    jobs = {
        job["job_name"]: job for job in yaml.safe_load(SCRAPE_EXAMPLE.read_text())["scrape_configs"]
    }
    assert jobs["opsdesk-api"]["metrics_path"] == "/metrics"
    assert "credentials_file" in jobs["opsdesk-api"]["authorization"]
    assert jobs["opsdesk-worker"]["static_configs"][0]["targets"]
