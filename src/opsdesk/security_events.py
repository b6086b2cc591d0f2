"""Security events: who signed in or failed to, who was locked out, who made or revoked an
API token, turned a second factor on or off, changed a role or removed a person, and which
links and webhooks were refused.

Each is one JSON object a line on the ``opsdesk.security`` logger (``opsdesk.logs``
configures it in every process): time (UTC), event, outcome, actor (the person or token
acting, ``anonymous`` when nobody is signed in), target, client address and reason, and
whatever else the event names. Never a password, a token or a link's secret: the caller
passes none, and ``opsdesk.logs.SecurityLines`` redacts any that slips into a field.
"""

from __future__ import annotations

import getpass
import logging
from typing import Literal

from starlette.requests import HTTPConnection

from opsdesk.logs import SECURITY_LOGGER

log = logging.getLogger(SECURITY_LOGGER)

ANONYMOUS = "anonymous"

Event = Literal[
    "sign_in",
    "lockout",
    "second_factor_on",
    "second_factor_off",
    "token_created",
    "token_revoked",
    "role_changed",
    "user_removed",
    "link_refused",
    "webhook_refused",
]
Outcome = Literal["success", "failure", "refused"]


def record(
    event: Event,
    outcome: Outcome,
    *,
    actor: str = ANONYMOUS,
    target: str | None = None,
    request: HTTPConnection | None = None,
    reason: str | None = None,
    **details: str | None,
) -> None:
    """Write one security event. ``request``, when the event came over HTTP, gives the
    client address (the proxy's client, if the proxy is trusted: ``OPSDESK_TRUSTED_PROXIES``)."""
    fields: dict[str, str | None] = {
        "event": event,
        "outcome": outcome,
        "actor": actor,
        "target": target,
        "client": _client(request),
        "reason": reason,
        **details,
    }
    log.log(
        logging.INFO if outcome == "success" else logging.WARNING,
        "%s %s",
        event,
        outcome,
        extra={"security": {k: v for k, v in fields.items() if v is not None}},
    )


def command_line_actor() -> str:
    """Who acts through ``opsdesk users``/``opsdesk tokens``: the operating system's user."""
    try:
        return f"cli:{getpass.getuser()}"
    except (KeyError, OSError):  # no name for the uid (a container's numeric user)
        return "cli"


def _client(request: HTTPConnection | None) -> str | None:
    if request is None:
        return None
    return request.client.host if request.client else "unknown"
