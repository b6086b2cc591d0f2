"""How every process logs: readable lines on a console, or one JSON object a line
(``OPSDESK_LOG_FORMAT=json``) for a log pipeline, carrying the workflow and the order or
repair request a line is about wherever the Temporal SDK says so."""

from __future__ import annotations

import json
import logging
import re
from datetime import UTC, datetime
from typing import Any

from opsdesk.maintenance.ids import request_id_of
from opsdesk.orders.ids import order_id_of
from opsdesk.tracing import current_ids

CONSOLE_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"

PROBES = ("/healthz", "/readyz", "/metrics")
"""Asked every few seconds by machines: never worth a line, whatever they answer."""
READS = frozenset({"GET", "HEAD", "OPTIONS"})
MACHINE_CHANGES = ("/codec/",)
"""Posts a program makes for each page it shows (the Temporal UI decoding payloads)."""


SECRET_PATHS = re.compile(
    r"^(/signin/link/|/links/|/follow/|/survey/|/files/|/phone/calls/|/phone/relay/)[^/?#]+"
)
"""Routes whose next segment is a secret: whoever holds it signs in, answers an owner's
question, follows a request or opens a tenant's photo."""
TOKEN = re.compile(r"eyJ[\w-]*\.[\w-]+\.[\w-]+")
"""A signed token (a JWT) anywhere else in an address, such as ``/report?again=<token>``."""
REDACTED = "[redacted]"
SECURITY_LOGGER = "opsdesk.security"
"""Where ``opsdesk.security_events`` writes: one JSON object a line, whatever the format."""


def redacted(path: str) -> str:
    """``path`` with the secrets it carries replaced, so a log line never works as a key."""
    return TOKEN.sub(REDACTED, SECRET_PATHS.sub(rf"\1{REDACTED}", path))


def redact_secrets(record: logging.LogRecord) -> bool:
    """A ``uvicorn.access`` filter that keeps every record and rewrites its path."""
    args = record.args
    if isinstance(args, tuple) and len(args) == 5:
        record.args = (*args[:2], redacted(str(args[2])), *args[3:])
    return True


def redact_websocket_secrets(record: logging.LogRecord) -> bool:
    """A ``uvicorn.error`` filter: uvicorn logs each WebSocket handshake there, with its
    path (a call's conversation carries the call's token in it)."""
    args = record.args
    if (
        isinstance(record.msg, str)
        and record.msg.startswith('%s - "WebSocket %s"')
        and isinstance(args, tuple)
        and len(args) >= 2
    ):
        record.args = (args[0], redacted(str(args[1])), *args[2:])
    return True


class JsonLines(logging.Formatter):
    """A log record as one JSON object: time, level, logger and message; the workflow id,
    run id and type, and the activity type, from the ``temporal_workflow`` and
    ``temporal_activity`` details the SDK's loggers attach; the order or request id read
    from the workflow id; the trace and span id of the OpenTelemetry span the line was
    written in; and the exception, if any, as text."""

    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        temporal: dict[str, Any] = {
            **getattr(record, "temporal_workflow", {}),
            **getattr(record, "temporal_activity", {}),
        }
        workflow_id = temporal.get("workflow_id")
        if workflow_id:
            line["workflow_id"] = workflow_id
            line["run_id"] = temporal.get("run_id") or temporal.get("workflow_run_id")
            line["workflow_type"] = temporal.get("workflow_type")
            if workflow_id.startswith("order-"):
                line["order_id"] = order_id_of(workflow_id)
            elif workflow_id.startswith("maintenance-"):
                line["request_id"] = request_id_of(workflow_id)
        if temporal.get("activity_type"):
            line["activity_type"] = temporal["activity_type"]
            line["attempt"] = temporal.get("attempt")
        line.update(current_ids())
        if record.exc_info:
            line["exception"] = self.formatException(record.exc_info)
        return json.dumps(line, default=str)


class SecurityLines(logging.Formatter):
    """A security event (``opsdesk.security_events``) as one JSON object: time, level and
    logger, then the event's own fields (event, outcome, actor, target, client, reason…)
    with any secret in them redacted, and the trace it happened in."""

    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
        }
        fields: dict[str, Any] = getattr(record, "security", None) or {
            "message": record.getMessage()
        }
        line.update(
            {
                key: redacted(value) if isinstance(value, str) else value
                for key, value in fields.items()
            }
        )
        line.update(current_ids())
        return json.dumps(line, default=str)


def probe_line(record: logging.LogRecord) -> bool:
    """Whether a ``uvicorn.access`` record is a health check or a metrics scrape."""
    args = record.args
    if not (isinstance(args, tuple) and len(args) == 5):
        return False
    # uvicorn's access records carry (client, method, path, HTTP version, status).
    return str(args[2]).split("?", 1)[0].startswith(PROBES)


def worth_a_line(record: logging.LogRecord) -> bool:
    """Whether a person at the console wants a ``uvicorn.access`` record: an action (a
    change someone made) or an error; not the reads behind every page (static files, live
    updates, polling, the demo feed), probes, or the Temporal UI's decoding."""
    args = record.args
    if probe_line(record) or not (isinstance(args, tuple) and len(args) == 5):
        return not probe_line(record)
    _, method, path, _, status = args
    if isinstance(status, int) and status >= 400:
        return True
    return method not in READS and not str(path).startswith(MACHINE_CHANGES)


def configure(level: str, log_format: str) -> None:
    """The root logger at ``level``, writing ``console`` lines or ``json`` objects to
    standard error. A console shows a person the requests they would look for (see
    ``worth_a_line``); a log pipeline gets every request but the probes."""
    handler = logging.StreamHandler()
    handler.setFormatter(JsonLines() if log_format == "json" else logging.Formatter(CONSOLE_FORMAT))
    logging.basicConfig(level=level.upper(), handlers=[handler], force=True)
    access = logging.getLogger("uvicorn.access")
    for old in list(access.filters):
        access.removeFilter(old)
    access.addFilter(redact_secrets)
    errors = logging.getLogger("uvicorn.error")
    errors.removeFilter(redact_websocket_secrets)
    errors.addFilter(redact_websocket_secrets)
    access.addFilter(worth_a_line if log_format != "json" else lambda r: not probe_line(r))
    # Security events are JSON lines in either format, kept at INFO whatever the level: an
    # audit trail a person can grep at the console and a pipeline can route by logger.
    security = logging.getLogger(SECURITY_LOGGER)
    security_handler = logging.StreamHandler()
    security_handler.setFormatter(SecurityLines())
    security.handlers = [security_handler]
    security.setLevel(logging.INFO)
    security.propagate = False
    # A line per outgoing call (the poller's every fetch); traces show them instead.
    logging.getLogger("httpx").setLevel(logging.WARNING)
