"""OpenTelemetry tracing: a click on the dashboard is one trace, through the API's request,
the Temporal client's call (start, update, signal), the workflow's handling of it and the
activities it runs.

The API is instrumented with OpenTelemetry's FastAPI instrumentation, and every Temporal
client carries Temporal's ``TracingInterceptor``, which the workers take from their client;
the interceptor passes the trace to the server in each call's headers, so a worker in
another process continues it. Spans are exported over OTLP (http/protobuf) when
``OTEL_EXPORTER_OTLP_ENDPOINT`` (or ``OTEL_EXPORTER_OTLP_TRACES_ENDPOINT``) is set, and
nowhere otherwise: with no tracer provider configured, OpenTelemetry's spans cost almost
nothing. The standard ``OTEL_*`` variables (service name, headers, sampler) apply.
"""

from __future__ import annotations

import os

from opentelemetry import trace
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor

# In the exporter's order: the traces endpoint, when set, wins.
ENDPOINT_VARIABLES = ("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "OTEL_EXPORTER_OTLP_ENDPOINT")


def endpoint() -> str | None:
    """Where spans are to go, from the standard variables; None: nowhere."""
    return next((os.environ[v] for v in ENDPOINT_VARIABLES if os.environ.get(v)), None)


def configure(service: str) -> str | None:
    """Export this process's spans over OTLP if an endpoint is set; returns where, or None.
    ``service`` names the process (``opsdesk-api``, ``opsdesk-worker``) unless
    ``OTEL_SERVICE_NAME`` does."""
    where = endpoint()
    if where is None:
        return None
    name = os.environ.get("OTEL_SERVICE_NAME") or service
    provider = TracerProvider(resource=Resource.create({"service.name": name}))
    # Batched, off the request path; the provider flushes what is left when the process
    # exits.
    provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter()))
    trace.set_tracer_provider(provider)
    return where


def current_ids() -> dict[str, str]:
    """The trace and span id of the current span, as hex, for log lines; empty outside
    one."""
    context = trace.get_current_span().get_span_context()
    if not context.is_valid:
        return {}
    return {
        "trace_id": trace.format_trace_id(context.trace_id),
        "span_id": trace.format_span_id(context.span_id),
    }
