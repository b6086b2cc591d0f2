"""The API's own metrics for Prometheus at ``/metrics`` (prometheus-client): every request
by method, route and status, with its latency. The route is the template
(``/api/orders/{order_id}``), never the path, so no order id becomes a label."""

from __future__ import annotations

import time

from fastapi import APIRouter, Depends, Request, Response
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Histogram
from prometheus_client.exposition import generate_latest
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from opsdesk.web.auth import as_viewer

router = APIRouter(include_in_schema=False)

UNMATCHED = "unmatched"
"""The route label of a request no route took (a 404 for an unknown path)."""


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


@router.get("/metrics", dependencies=[Depends(as_viewer)])
async def metrics(request: Request) -> Response:
    """Prometheus's text format. Scrape it with an API token (viewer)."""
    registry: CollectorRegistry = request.app.state.http_metrics.registry
    return Response(generate_latest(registry), media_type=CONTENT_TYPE_LATEST)
