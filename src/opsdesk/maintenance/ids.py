"""Request ids and the workflow ids made from them."""

from __future__ import annotations

import re

from opsdesk.values import pattern

REQUEST_ID_PATTERN = pattern(
    r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$",
    "up to 64 letters, digits and . _ -, starting with a letter or digit",
)
_NOT_ALLOWED = re.compile(r"[^A-Za-z0-9_.-]")


def request_workflow_id(request_id: str) -> str:
    return f"maintenance-{request_id}"


def request_id_of(workflow_id: str) -> str:
    return workflow_id.removeprefix("maintenance-")


def external_request_id(source: str, external_id: str) -> str:
    """The request id of a record polled from a property-management system: the source and
    its own id, so a record starts one request however often it is polled."""
    return _NOT_ALLOWED.sub("_", f"{source}-{external_id}")[:64]


def poller_workflow_id(source: str) -> str:
    return f"pms-poller-{source}"
