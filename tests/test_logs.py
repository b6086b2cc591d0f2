"""``OPSDESK_LOG_FORMAT=json``: one JSON object a line, saying which workflow, run and
order a line is about."""

from __future__ import annotations

import io
import json
import logging
import subprocess
import sys
from typing import Any

import pytest
from temporalio.testing import WorkflowEnvironment

from opsdesk.db import Database
from opsdesk.logs import JsonLines, probe_line, redact_websocket_secrets, worth_a_line
from opsdesk.orders.inputs import AdvanceRequest, LineItem
from opsdesk.orders.inventory import Inventory
from opsdesk.orders.service import start_order
from opsdesk.orders.status import OrderStatus
from opsdesk.orders.workflow import OrderWorkflow
from opsdesk.settings import Settings
from tests.orders.factory import order_request
from tests.orders.helpers import order_worker, wait_for_status
from tests.waiting import eventually


async def test_a_workflows_line_names_its_workflow_run_and_order(
    dev_env: WorkflowEnvironment, db: Database, catalog: Inventory, settings: Settings
) -> None:
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonLines())
    workflow_log = logging.getLogger("temporalio.workflow")
    level = workflow_log.level
    workflow_log.setLevel(logging.INFO)
    workflow_log.addHandler(handler)
    try:
        async with order_worker(dev_env, db, settings):
            request = order_request([LineItem(sku="MUG-01", quantity=1)])
            handle = await start_order(dev_env.client, settings, request)
            await wait_for_status(handle, OrderStatus.CONFIRMED)
            # An advance for a status the order has left: the workflow logs and ignores it.
            stale = AdvanceRequest(request_id="stale", expected_status=OrderStatus.PENDING)
            await handle.signal(OrderWorkflow.request_advance, stale)

            def lines() -> list[dict[str, Any]]:
                return [json.loads(line) for line in stream.getvalue().splitlines()]

            found = await eventually(
                lambda: _now(lines()),
                lambda rows: any("advance ignored" in row["message"] for row in rows),
            )
    finally:
        workflow_log.removeHandler(handler)
        workflow_log.setLevel(level)
    [line] = [row for row in found if "advance ignored" in row["message"]]
    described = await handle.describe()
    assert line["level"] == "info"
    assert line["workflow_id"] == handle.id
    assert line["run_id"] == described.run_id
    assert line["workflow_type"] == "OrderWorkflow"
    assert line["order_id"] == request.order_id


async def _now(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return rows


def test_the_commands_log_json_when_asked() -> None:
    result = subprocess.run(
        [sys.executable, "-c", _SNIPPET],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    [line] = [json.loads(text) for text in result.stderr.splitlines() if text.strip()]
    assert line == {**line, "level": "warning", "logger": "opsdesk.test", "message": "hello 42"}
    assert "workflow_id" not in line


_SNIPPET = """
import logging
from opsdesk.logs import configure
configure("info", "json")
logging.getLogger("opsdesk.test").warning("hello %s", 42)
"""


def _access(method: str, path: str, status: int) -> logging.LogRecord:
    """A record as uvicorn's access logger makes it."""
    return logging.LogRecord(
        "uvicorn.access",
        logging.INFO,
        __file__,
        0,
        '%s - "%s %s HTTP/%s" %d',
        ("127.0.0.1:5000", method, path, "1.1", status),
        None,
    )


def test_the_console_logs_the_requests_a_person_looks_for() -> None:
    wanted = [
        _access("POST", "/orders/1042/advance", 303),  # an action
        _access("POST", "/signin", 303),
        _access("GET", "/orders/nope", 404),  # errors, reads or not
        _access("POST", "/api/orders", 422),
        _access("POST", "/codec/decode", 401),
    ]
    unwanted = [
        _access("GET", "/static/app.css", 200),
        _access("GET", "/docs/assets/swagger-ui-bundle.js", 200),
        _access("GET", "/api/events", 200),  # live updates
        _access("GET", "/dev/pms/requests?limit=50", 200),  # the poller
        _access("GET", "/", 200),
        _access("GET", "/readyz", 503),  # probes, whatever they answer
        _access("GET", "/healthz", 200),
        _access("GET", "/metrics", 401),
        _access("POST", "/codec/decode", 200),  # the Temporal UI decoding
        _access("OPTIONS", "/codec/decode", 204),
    ]
    assert [r.args[2] for r in wanted if not worth_a_line(r)] == []  # type: ignore[index]
    assert [r.args[2] for r in unwanted if worth_a_line(r)] == []  # type: ignore[index]
    # A log pipeline gets every request but the probes.
    assert probe_line(_access("GET", "/readyz", 503))
    assert not probe_line(_access("GET", "/static/app.css", 200))


_SECRETS = """
import logging, sys
from opsdesk.logs import configure
configure("info", sys.argv[1])
access = logging.getLogger("uvicorn.access")
for path in sys.argv[2:]:
    access.info('%s - "%s %s HTTP/%s" %d', "127.0.0.1:5000", "POST", path, "1.1", 303)
"""

JWT = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJSLTAwMDcifQ.c2lnbmF0dXJl"


@pytest.mark.parametrize("log_format", ["console", "json"])
def test_the_access_log_never_carries_a_secret(log_format: str) -> None:
    paths = [
        "/signin/link/s3cr3t-one-time-sign-in",
        f"/links/{JWT}",
        f"/phone/calls/{JWT}/gather",
        f"/report?again={JWT}",
        f"/follow/{JWT}",
        f"/survey/{JWT}",
        f"/files/{JWT}",
    ]
    result = subprocess.run(
        [sys.executable, "-c", _SECRETS, log_format, *paths],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    lines = result.stderr.splitlines()
    # Every request still has its line (a person can tell which route was used)...
    assert len(lines) == len(paths)
    for shown in ("/signin/link/[redacted]", "/links/[redacted]", "/phone/calls/[redacted]/gather"):
        assert any(shown in line for line in lines), (shown, lines)
    assert any("/report?again=[redacted]" in line for line in lines)
    # ...and none carries the key it was called with.
    assert "s3cr3t" not in result.stderr
    assert "c2lnbmF0dXJl" not in result.stderr


def test_a_call_conversation_s_handshake_line_carries_no_token() -> None:
    record = logging.LogRecord(
        "uvicorn.error",
        logging.INFO,
        __file__,
        1,
        '%s - "WebSocket %s" [accepted]',
        ("127.0.0.1:5000", f"/phone/relay/{JWT}"),
        None,
    )
    assert redact_websocket_secrets(record)
    assert record.getMessage() == '127.0.0.1:5000 - "WebSocket /phone/relay/[redacted]" [accepted]'
