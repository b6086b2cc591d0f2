"""Comments on repair requests: the JSON API at ``/api/maintenance/requests/{id}/comments``
(see ``opsdesk.comments`` for what a comment is)."""

from __future__ import annotations

from fastapi import Request
from temporalio.service import RPCError, RPCStatusCode

from opsdesk.maintenance import service
from opsdesk.maintenance.api import known_id
from opsdesk.web.comments import comment_routes
from opsdesk.web.deps import client_of
from opsdesk.web.errors import ApiError


async def existing_request(request: Request, request_id: str) -> str:
    """The request's id, if Temporal knows the request (running or kept after it ended)."""
    try:
        await service.request_handle(client_of(request), known_id(request_id)).describe()
    except RPCError as exc:
        if exc.status is RPCStatusCode.NOT_FOUND:
            raise ApiError(404, "not_found", f"no maintenance request {request_id!r}") from None
        raise
    return request_id


router = comment_routes(
    "request",
    "/api/maintenance/requests/{subject_id}/comments",
    existing_request,
    "request",
    ["maintenance"],
)
