"""How every process logs: readable lines on a console, or one JSON object a line
(``OPSDESK_LOG_FORMAT=json``) for a log pipeline, carrying the workflow and the order or
repair request a line is about wherever the Temporal SDK says so."""

from __future__ import annotations

import json
import logging
from datetime import UTC, datetime
from typing import Any

from opsdesk.maintenance.ids import request_id_of
from opsdesk.orders.ids import order_id_of
from opsdesk.tracing import current_ids

CONSOLE_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"


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


def configure(level: str, log_format: str) -> None:
    """The root logger at ``level``, writing ``console`` lines or ``json`` objects to
    standard error."""
    handler = logging.StreamHandler()
    handler.setFormatter(JsonLines() if log_format == "json" else logging.Formatter(CONSOLE_FORMAT))
    logging.basicConfig(level=level.upper(), handlers=[handler], force=True)
