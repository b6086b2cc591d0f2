"""App factory: the shared web kit with each desk's routes mounted. One Temporal client and
one database engine per process, made in the lifespan so they live on the server's event
loop."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from functools import partial
from typing import Any

from fastapi import Depends, FastAPI
from fastapi.staticfiles import StaticFiles
from opentelemetry.instrumentation.fastapi import FastAPIInstrumentor
from temporalio.client import Client
from uvicorn.middleware.proxy_headers import ProxyHeadersMiddleware

from opsdesk.db import Database
from opsdesk.db.migrate import upgrade_async
from opsdesk.maintenance import (
    aging_views,
    preventive_views,
    scorecard_views,
    survey_pages,
    vendor_api,
)
from opsdesk.maintenance import api as maintenance_api
from opsdesk.maintenance import comments as maintenance_comments
from opsdesk.maintenance import feed as maintenance_feed
from opsdesk.maintenance import pages as maintenance_pages
from opsdesk.maintenance import phone as maintenance_phone
from opsdesk.maintenance import property_views as maintenance_properties
from opsdesk.maintenance import vendor_views as maintenance_vendor_views
from opsdesk.maintenance import views as maintenance_views
from opsdesk.maintenance.conversation import relay as call_relay
from opsdesk.maintenance.listing import MaintenanceMetrics, maintenance_metrics
from opsdesk.notify import phone_views
from opsdesk.notify import views as notify_views
from opsdesk.orders import api as orders_api
from opsdesk.orders import comments as order_comments
from opsdesk.orders import views as orders_views
from opsdesk.orders.ids import order_id_of
from opsdesk.orders.listing import OrderMetrics, order_metrics, visibility_query
from opsdesk.reports import api as report_api
from opsdesk.reports import views as report_views
from opsdesk.settings import Settings
from opsdesk.temporal.client import connect
from opsdesk.web import (
    access_api,
    apidocs,
    codec,
    errors,
    files,
    health,
    metrics,
    oidc,
    pages,
    saved_views,
    second_factor,
    signin,
)
from opsdesk.web.auth import AuthenticateFirst, Credentials
from opsdesk.web.cache import Snapshot
from opsdesk.web.events import Change, ChangeFeed
from opsdesk.web.guard import AllowedHosts, SecurityHeaders, same_origin_changes
from opsdesk.web.health import CurrentBuild
from opsdesk.web.limits import BodyLimit, RateLimits
from opsdesk.web.pages import STATIC_DIR
from opsdesk.worker import task_queues

UPLOAD_PATHS = (
    "/report",
    "/links/",
    maintenance_api.FILES_PATH,
    "/maintenance/*/answer",
    "/api/maintenance/requests/*/answers/invoice",
    "/maintenance/vendors/*/documents",
    "/api/maintenance/vendors/*/documents",
)
"""The routes that take files (photos and videos, invoices, certificates): their bodies may
be ``max_upload_body_bytes``."""

UVICORN_OPTIONS: dict[str, Any] = {"proxy_headers": False}
"""How uvicorn serves the app (``opsdesk api``, and the tests): uvicorn would believe
``X-Forwarded-For`` from any local peer (its ``FORWARDED_ALLOW_IPS`` defaults to
127.0.0.1), so a client on the same host, or behind any local proxy, could pick the address
its rate limits count; the app believes only ``OPSDESK_TRUSTED_PROXIES`` instead."""


def create_app(settings: Settings, temporal: Client | None = None) -> FastAPI:
    """The app; ``temporal`` replaces the connection made from settings (tests pass theirs)."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        await upgrade_async(settings.resolved_database_url)
        db = Database(settings.resolved_database_url)
        # Lazy: the API starts (and says why it is not ready) while Temporal is down.
        client = temporal or await connect(settings, lazy=True)
        feed = ChangeFeed(
            client, visibility_query(settings), order_id_of, interval=settings.events_interval
        )
        app.state.settings = settings
        app.state.db = db
        app.state.temporal = client
        app.state.task_queues = task_queues(settings)
        app.state.current_build = (
            CurrentBuild(settings.deployment_name) if settings.worker_versioning else None
        )
        app.state.change_feed = feed
        # Live pages reread the numbers when they move, not on every change they hear of.
        app.state.metrics = Snapshot[OrderMetrics](
            lambda: order_metrics(client, settings, db),
            settings.metrics_ttl,
            on_change=lambda _: feed.publish(Change(kind="metrics", ids=["orders"])),
        )
        app.state.maintenance_metrics = Snapshot[MaintenanceMetrics](
            lambda: maintenance_metrics(client, settings, db), settings.metrics_ttl
        )
        app.state.desk_gauges = [
            partial(orders_api.status_gauges, app.state.metrics),
            partial(maintenance_api.status_gauges, app.state.maintenance_metrics),
        ]
        app.state.rate_limits = RateLimits(
            db,
            settings.public_rate_limit,
            settings.webhook_rate_limit,
            settings.sign_in_rate_limit,
            settings.sign_in_address_rate_limit,
        )
        app.state.credentials = Credentials(db, settings)
        try:
            yield
        finally:
            await app.state.metrics.close()
            await app.state.maintenance_metrics.close()
            await feed.close()
            await db.dispose()

    app = FastAPI(
        title="Ops Desk",
        version="0.1.0",
        lifespan=lifespan,
        dependencies=[Depends(same_origin_changes)],
        # Served by opsdesk.web.apidocs, from this machine rather than a CDN.
        docs_url=None,
        redoc_url=None,
    )
    # A span per request, continued by the Temporal client's calls (opsdesk.tracing);
    # probes, scrapes and static files would only be noise.
    FastAPIInstrumentor.instrument_app(app, excluded_urls="/healthz$,/readyz$,/metrics$,/static/")
    app.state.http_metrics = metrics.HttpMetrics()
    app.add_middleware(AuthenticateFirst, routes_of=app)
    app.add_middleware(metrics.MeasureRequests, metrics=app.state.http_metrics)
    app.add_middleware(
        BodyLimit,
        max_bytes=settings.max_body_bytes,
        upload_bytes=settings.max_upload_body_bytes,
        upload_paths=UPLOAD_PATHS,
    )
    app.add_middleware(SecurityHeaders)
    app.add_middleware(AllowedHosts, allowed_hosts=settings.resolved_allowed_hosts)
    # Outermost: the Temporal UI reads even the refusals of the layers inside.
    app.add_middleware(codec.CodecCors, ui_url=settings.resolved_temporal_ui_url)
    # Before anything reads the client's address or scheme: only a configured proxy's
    # X-Forwarded-For/-Proto are believed (the server itself is told to believe none).
    app.add_middleware(ProxyHeadersMiddleware, trusted_hosts=settings.trusted_proxies)
    errors.install(app)
    oidc.install(app, settings)
    app.include_router(health.router)
    app.include_router(metrics.router)
    app.include_router(signin.router)
    app.include_router(second_factor.router)
    app.include_router(oidc.router)
    app.include_router(access_api.router)
    app.include_router(codec.router)
    app.include_router(files.router)
    app.include_router(orders_api.router)
    app.include_router(order_comments.router)
    # Before the maintenance views, whose /maintenance/{request} would take /maintenance/intake.
    app.include_router(maintenance_feed.router)
    app.include_router(maintenance_properties.router)
    app.include_router(orders_views.router)
    app.include_router(saved_views.router)
    app.include_router(maintenance_api.router)
    app.include_router(vendor_api.router)
    app.include_router(maintenance_comments.router)
    app.include_router(maintenance_pages.router)
    app.include_router(survey_pages.router)
    app.include_router(maintenance_phone.router)
    app.include_router(call_relay.router)
    # Before the maintenance views, whose /maintenance/{request} would take these pages.
    app.include_router(scorecard_views.router)
    app.include_router(aging_views.router)
    app.include_router(preventive_views.router)
    # The vendors' pages live under /maintenance too (views.RESERVED_PATHS keeps them there).
    app.include_router(maintenance_vendor_views.router)
    app.include_router(maintenance_views.router)
    # Before the mailbox's routes: /mailbox/phone is not a message key.
    app.include_router(phone_views.router)
    app.include_router(notify_views.router)
    app.include_router(report_api.router)
    app.include_router(report_views.router)
    app.include_router(pages.router)
    apidocs.install(app)
    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")
    return app
