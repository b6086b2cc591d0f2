"""The API's own metrics for Prometheus at ``/metrics`` (prometheus-client): every request
by method, route and status, with its latency; the business totals a person asks about,
read from the database's own records at each scrape (charges and refunds from the ledger,
model calls, tokens and estimated cost from the AI log, emails and calls from the outbox),
so every API replica reports the same numbers; and each desk's gauges (orders and requests
by status), from the same counts its dashboard shows. The route is the template
(``/api/orders/{order_id}``), never the path, and no label is ever an id.

What happens inside workflows (orders ended, answers, expiries) is counted where it
happens, by the workflows, on the worker's endpoint (``OPSDESK_WORKER_METRICS_ADDRESS``)."""

from __future__ import annotations

import logging
import time
from collections import Counter as Tally
from collections import defaultdict
from collections.abc import Awaitable, Callable, Iterator, Mapping

from fastapi import APIRouter, Depends, Request, Response
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Histogram
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.exposition import generate_latest
from sqlalchemy import func, select
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from opsdesk.ai.pricing import cost_usd, prices
from opsdesk.db import Database
from opsdesk.db.tables import AiCall, ChargeRow, OutboxMessage, RefundRow
from opsdesk.web.auth import as_viewer
from opsdesk.web.deps import db_of, settings_of

log = logging.getLogger(__name__)

router = APIRouter(include_in_schema=False)

DeskGauges = Callable[[], Awaitable[list[Metric]]]
"""A desk's gauges, read at each scrape; the app lists them in ``app.state.desk_gauges``."""

UNMATCHED = "unmatched"
"""The route label of a request no route took (a 404 for an unknown path)."""


def gauge_by(name: str, documentation: str, label: str, values: Mapping[str, int]) -> Metric:
    """One gauge family with a sample per ``label`` value: a desk's counts for Prometheus."""
    family = GaugeMetricFamily(name, documentation, labels=[label])
    for value, n in values.items():
        family.add_metric([str(value)], n)
    return family


class HttpMetrics:
    """The request metrics of one app, in a registry of its own."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.requests = Counter(
            "opsdesk_http_requests",
            "HTTP requests answered, by method, route template and status code.",
            ["method", "route", "status"],
            registry=self.registry,
        )
        self.duration = Histogram(
            "opsdesk_http_request_duration_seconds",
            "Time from a request's arrival to its answer's start, by method and route.",
            ["method", "route"],
            registry=self.registry,
        )


class MeasureRequests:
    """ASGI middleware: counts and times every HTTP request."""

    def __init__(self, app: ASGIApp, metrics: HttpMetrics) -> None:
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500  # what the client gets if the app fails before answering

        async def recording(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                route = getattr(scope.get("route"), "path", None) or UNMATCHED
                method = scope["method"]
                self.metrics.duration.labels(method, route).observe(time.perf_counter() - started)
                self.metrics.requests.labels(method, route, str(status)).inc()
            await send(message)

        await self.app(scope, receive, recording)


class Totals:
    """A collector of families computed before the scrape (the database is asynchronous,
    a collector is not)."""

    def __init__(self, families: list[Metric]) -> None:
        self.families = families

    def collect(self) -> Iterator[Metric]:
        yield from self.families


async def business_totals(
    db: Database, price_table: Mapping[str, tuple[float, float]]
) -> list[Metric]:
    """The ledger's, the AI log's and the outbox's totals, as Prometheus counters."""
    charges = CounterMetricFamily(
        "opsdesk_charges", "Card charges taken, by currency.", labels=["currency"]
    )
    charged = CounterMetricFamily(
        "opsdesk_charged_cents", "Amount charged, in cents, by currency.", labels=["currency"]
    )
    refunds = CounterMetricFamily(
        "opsdesk_refunds", "Refunds made, by currency.", labels=["currency"]
    )
    refunded = CounterMetricFamily(
        "opsdesk_refunded_cents", "Amount refunded, in cents, by currency.", labels=["currency"]
    )
    ai_calls = CounterMetricFamily(
        "opsdesk_ai_calls",
        "Model calls, by provider, task and outcome (ok, invalid_output, error).",
        labels=["provider", "task", "outcome"],
    )
    ai_tokens = CounterMetricFamily(
        "opsdesk_ai_tokens",
        "Model tokens, by provider, task and direction (input, output).",
        labels=["provider", "task", "direction"],
    )
    ai_cost = CounterMetricFamily(
        "opsdesk_ai_estimated_cost_dollars",
        "Model calls' estimated cost in US dollars, by provider and task, from each model's "
        "price per token (OPSDESK_AI_PRICES).",
        labels=["provider", "task"],
    )
    messages = CounterMetricFamily(
        "opsdesk_messages",
        "Emails and phone calls, by channel and where each stands (queued, sent, failed, …).",
        labels=["channel", "status"],
    )
    async with db.transaction() as session:
        for currency, count, cents in await session.execute(
            select(ChargeRow.currency, func.count(), func.sum(ChargeRow.amount_cents)).group_by(
                ChargeRow.currency
            )
        ):
            charges.add_metric([currency], count)
            charged.add_metric([currency], int(cents or 0))
        for currency, count, cents in await session.execute(
            select(ChargeRow.currency, func.count(), func.sum(RefundRow.amount_cents))
            .join(ChargeRow, RefundRow.charge_id == ChargeRow.id)
            .group_by(ChargeRow.currency)
        ):
            refunds.add_metric([currency], count)
            refunded.add_metric([currency], int(cents or 0))
        # Summed here rather than grouped in SQL: the cost needs each model's price.
        calls: Tally[tuple[str, str, str]] = Tally()
        tokens: Tally[tuple[str, str, str]] = Tally()
        cost: defaultdict[tuple[str, str], float] = defaultdict(float)
        for provider, task, outcome, model, count, summed_in, summed_out in await session.execute(
            select(
                AiCall.provider,
                AiCall.task,
                AiCall.outcome,
                AiCall.model,
                func.count(),
                func.sum(AiCall.input_tokens),
                func.sum(AiCall.output_tokens),
            ).group_by(AiCall.provider, AiCall.task, AiCall.outcome, AiCall.model)
        ):
            tokens_in, tokens_out = int(summed_in or 0), int(summed_out or 0)
            calls[provider, task, outcome] += count
            tokens[provider, task, "input"] += tokens_in
            tokens[provider, task, "output"] += tokens_out
            cost[provider, task] += cost_usd(model, tokens_in, tokens_out, price_table)
        for three, n in calls.items():
            ai_calls.add_metric(list(three), n)
        for three, n in tokens.items():
            ai_tokens.add_metric(list(three), n)
        for two, dollars in cost.items():
            ai_cost.add_metric(list(two), dollars)
        for channel, status, count in await session.execute(
            select(OutboxMessage.channel, OutboxMessage.status, func.count()).group_by(
                OutboxMessage.channel, OutboxMessage.status
            )
        ):
            messages.add_metric([channel, status], count)
    return [charges, charged, refunds, refunded, ai_calls, ai_tokens, ai_cost, messages]


@router.get("/metrics", dependencies=[Depends(as_viewer)])
async def metrics(request: Request) -> Response:
    """Prometheus's text format. Scrape it with an API token (viewer)."""
    http: HttpMetrics = request.app.state.http_metrics
    desk_gauges: list[DeskGauges] = request.app.state.desk_gauges
    families = await business_totals(db_of(request), prices(settings_of(request).ai_prices))
    for gauges in desk_gauges:
        try:
            families += await gauges()
        except Exception:
            # Temporal unreachable: the scrape still carries the rest, and the gauges are
            # absent rather than wrong.
            log.warning("a desk's gauges could not be counted", exc_info=True)
    scraped = CollectorRegistry()
    scraped.register(Totals(families))
    text = generate_latest(http.registry) + generate_latest(scraped)
    return Response(text, media_type=CONTENT_TYPE_LATEST)
