"""Tracing: a person's click is one trace, from the API's request through the Temporal
client's call and the workflow to its activities, and a JSON log line carries the trace
it was written in.

The API and the worker are wired as in service (``opsdesk.temporal.client.connect`` and
``create_app``); only the exporter is the SDK's in-memory one instead of OTLP."""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import ClassVar

import httpx
import pytest
from opentelemetry import trace
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from temporalio.testing import WorkflowEnvironment

from opsdesk import tracing
from opsdesk.app import create_app
from opsdesk.db import Database
from opsdesk.logs import JsonLines
from opsdesk.orders.inventory import Inventory
from opsdesk.settings import Settings
from opsdesk.temporal.client import connect
from opsdesk.worker import build_workers, running
from tests.conftest import free_port
from tests.http import serve_http
from tests.orders.helpers import body, until_status


@pytest.fixture(scope="module")
def spans() -> Iterator[InMemorySpanExporter]:
    """The process's tracer provider, for this module: a provider can be set only once, so
    it is shut down afterwards and later tests' spans go nowhere."""
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    trace.set_tracer_provider(provider)
    yield exporter
    provider.shutdown()


def chain(span: ReadableSpan, found: list[ReadableSpan]) -> list[str]:
    """The names from ``span`` up through its parents, as far as ``found`` has them."""
    by_id = {s.context.span_id: s for s in found if s.context is not None}
    names = []
    current: ReadableSpan | None = span
    while current is not None:
        names.append(current.name)
        parent = current.parent
        current = by_id.get(parent.span_id) if parent is not None else None
    return names


async def test_a_click_is_one_trace_through_the_api_the_workflow_and_its_activities(
    spans: InMemorySpanExporter,
    dev_env: WorkflowEnvironment,
    db: Database,
    catalog: Inventory,
    settings: Settings,
) -> None:
    host, port = dev_env.client.service_client.config.target_host.rsplit(":", 1)
    client = await connect(settings.model_copy(update={"host": host, "temporal_port": int(port)}))
    async with (
        running(build_workers(client, db, settings)),
        serve_http(create_app(settings, client)) as api,
    ):
        order_id = (await api.post("/api/orders", json=body())).json()["order_id"]
        await until_status(api, order_id, "CONFIRMED")
        shipped = await api.post(
            f"/api/orders/{order_id}/advance", json={"tracking_number": "1Z999"}
        )
        assert shipped.status_code == 200, shipped.text
    found = list(spans.get_finished_spans())

    created = next(s for s in found if s.name == "POST /api/orders")
    assert created.context is not None
    in_trace = [
        s for s in found if s.context is not None and s.context.trace_id == created.context.trace_id
    ]
    # The activity's run, in the worker, leads back to the person's request; so does the
    # workflow's run.
    charged = next(s for s in in_trace if s.name == "RunActivity:charge_payment")
    assert chain(charged, in_trace) == [
        "RunActivity:charge_payment",
        "StartActivity:charge_payment",
        # The order is started and asked for its priced state in one call.
        "StartUpdateWithStartWorkflow:OrderWorkflow",
        "POST /api/orders",
    ]
    ran = next(s for s in in_trace if s.name == "RunWorkflow:OrderWorkflow")
    assert chain(ran, in_trace) == [
        "RunWorkflow:OrderWorkflow",
        "StartUpdateWithStartWorkflow:OrderWorkflow",
        "POST /api/orders",
    ]

    # The shipping click: the client's update call continues the request's trace. Temporal's
    # interceptor keeps what a workflow does in the trace that started the workflow, so the
    # update's validation and handling are there, each linked to the click's call.
    sent = next(s for s in found if s.name == "StartWorkflowUpdate:advance")
    assert chain(sent, found) == [
        "StartWorkflowUpdate:advance",
        "POST /api/orders/{order_id}/advance",
    ]
    assert sent.context is not None
    for name in ("ValidateUpdate:advance", "HandleUpdate:advance"):
        handled = next(s for s in in_trace if s.name == name)
        assert chain(handled, in_trace)[-1] == "POST /api/orders"
        assert [link.context.span_id for link in handled.links] == [sent.context.span_id]


def test_a_json_log_line_carries_its_trace(spans: InMemorySpanExporter) -> None:
    record = logging.LogRecord("opsdesk", logging.INFO, __file__, 1, "hello", None, None)
    assert "trace_id" not in json.loads(JsonLines().format(record))
    with trace.get_tracer(__name__).start_as_current_span("work") as span:
        line = json.loads(JsonLines().format(record))
    context = span.get_span_context()
    assert line["trace_id"] == trace.format_trace_id(context.trace_id)
    assert line["span_id"] == trace.format_span_id(context.span_id)


def test_spans_leave_the_process_only_when_an_endpoint_is_set(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    for variable in tracing.ENDPOINT_VARIABLES:
        monkeypatch.delenv(variable, raising=False)
    assert tracing.configure("opsdesk-api") is None


class Collector(BaseHTTPRequestHandler):
    """An OTLP/HTTP receiver on loopback: keeps what each export posts."""

    received: ClassVar[list[tuple[str, bytes]]] = []

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["Content-Length"]))
        self.received.append((self.path, body))
        self.send_response(200)
        self.send_header("Content-Type", "application/x-protobuf")
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, format: str, *args: object) -> None:
        pass


def test_an_api_process_exports_its_spans_over_otlp_when_told(tmp_path: Path) -> None:
    collector = ThreadingHTTPServer(("127.0.0.1", 0), Collector)
    threading.Thread(target=collector.serve_forever, daemon=True).start()
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TEMPORAL_", "OPSDESK_"))}
    env |= {
        "OPSDESK_DATA_DIR": str(tmp_path),
        "OPSDESK_TEMPORAL_PORT": str(free_port()),  # nothing there: the API starts anyway
        "OTEL_EXPORTER_OTLP_ENDPOINT": f"http://127.0.0.1:{collector.server_port}",
        "OTEL_BSP_SCHEDULE_DELAY": "100",
    }
    api = subprocess.Popen(
        [sys.executable, "-m", "opsdesk", "api", "--port", str(port)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.get(f"http://127.0.0.1:{port}/healthz").status_code == 200:
                    break
            except httpx.TransportError:
                if time.monotonic() > deadline:
                    raise
            time.sleep(0.2)
        assert httpx.get(f"http://127.0.0.1:{port}/api/me").status_code == 401
        while not any(b"/api/me" in body for _, body in Collector.received):
            assert time.monotonic() < deadline, Collector.received
            time.sleep(0.1)
    finally:
        api.terminate()
        api.wait(timeout=30)
        collector.shutdown()
    path, body = next((p, b) for p, b in Collector.received if b"/api/me" in b)
    assert path == "/v1/traces"
    assert b"opsdesk-api" in body
    # Probes are left out of the traces.
    assert not any(b"/healthz" in b for _, b in Collector.received)
