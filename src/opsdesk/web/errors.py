"""One JSON error shape for every failure: ``{"error": {"status", "code", "message"}}``.

Bad input is answered with a 4xx that says what to fix; an unreachable Temporal with a 503;
nothing reaches the client as a traceback. A person's browser asking for a dashboard page
gets the same answer as a page in the dashboard's layout, with the same status.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse
from starlette.exceptions import HTTPException as StarletteHTTPException
from temporalio.client import RPCTimeoutOrCancelledError
from temporalio.service import RPCError, RPCStatusCode

from opsdesk.values import pattern_words
from opsdesk.web.pages import templates

log = logging.getLogger(__name__)

# Paths that programs call: they answer JSON whatever the Accept header says.
_API_PATHS = (
    "/api/",
    "/codec/",
    "/metrics",
    "/healthz",
    "/readyz",
    "/openapi.json",
    "/docs",
    "/redoc",
)


class ApiError(Exception):
    """Raise from a route to answer with ``status`` and a message a person can act on."""

    def __init__(
        self,
        status: int,
        code: str,
        message: str,
        *,
        headers: Mapping[str, str] | None = None,
        **details: Any,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.details = details
        self.headers = dict(headers or {})
        """Sent with the answer, e.g. ``Retry-After``."""


class Redirect(Exception):
    """Raise from a dependency to send a person's browser elsewhere (303), e.g. to sign in."""

    def __init__(self, url: str) -> None:
        super().__init__(url)
        self.url = url


def error_response(status: int, code: str, message: str, **details: Any) -> JSONResponse:
    body: dict[str, Any] = {"status": status, "code": code, "message": message}
    if details:
        body["details"] = details
    return JSONResponse({"error": body}, status_code=status)


_STATUS_CODES = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    409: "conflict",
    413: "payload_too_large",
    415: "unsupported_media_type",
    422: "invalid_input",
    429: "too_many_requests",
    503: "unavailable",
}

_TITLES = {
    401: "Sign in",
    403: "Not for your role",
    404: "Not found",
    429: "Slow down",
    405: "Not here",
    409: "Not allowed now",
    413: "Too large",
    422: "Not valid",
    502: "Temporal refused",
    503: "Unavailable",
}


def describe_validation_error(error: Mapping[str, Any]) -> str:
    """``field.path: what is wrong``; the body itself is named ``body`` when it is missing
    or is not an object, so that no message leaves the caller guessing what to fix."""
    if error.get("type") == "json_invalid":
        return "the request body is not valid JSON"
    location = [str(part) for part in error.get("loc", ())]
    message = str(error.get("msg", "invalid value")).removeprefix("Value error, ")
    if error.get("type") == "string_pattern_mismatch":
        # A regex tells a person nothing: say what the field takes.
        words = pattern_words(str(error.get("ctx", {}).get("pattern", "")))
        message = f"should be {words}" if words else "has characters that are not allowed here"
    in_body = location[:1] == ["body"]
    if in_body:
        location = location[1:]
    if location:
        return f"{'.'.join(location)}: {message}"
    if in_body and error.get("type") == "missing":
        return "body: a JSON body is required"
    if in_body and error.get("type") != "value_error":
        return f"body: {message}"
    # A rule about the whole body (one line per sku, say): its message names the fields.
    return message


def wants_html(request: Request) -> bool:
    """A person's browser gets a page; programs, and anything under /api, get JSON."""
    path = request.url.path
    if path == "/api" or path.startswith(_API_PATHS):
        return False
    accept = request.headers.get("accept", "")
    return "text/html" in accept or "json" not in accept


def sentence(message: str) -> str:
    """A message as a sentence on a page: capital first, full stop last."""
    message = message.strip() or "Something went wrong; try again."
    message = message[0].upper() + message[1:]
    return message if message.endswith((".", "!", "?")) else message + "."


def error_page(request: Request, status: int, message: str) -> HTMLResponse:
    settings = getattr(request.app.state, "settings", None)
    return templates.TemplateResponse(
        request,
        "error.html",
        {
            "status": status,
            "title": _TITLES.get(status, "Something went wrong"),
            "message": sentence(message),
            "temporal_ui": settings.resolved_temporal_ui_url if settings else None,
        },
        status_code=status,
    )


def _answer(
    request: Request, status: int, code: str, message: str, **details: Any
) -> JSONResponse | HTMLResponse:
    if wants_html(request):
        return error_page(request, status, message)
    return error_response(status, code, message, **details)


def _try_again(request: Request, message: str) -> JSONResponse | HTMLResponse:
    """503 for a moment's unavailability. A change retried with the same Idempotency-Key
    acts once, so retrying is always safe."""
    response = _answer(request, 503, "unavailable", message)
    response.headers["Retry-After"] = "1"
    return response


def install(app: FastAPI) -> None:
    @app.exception_handler(RPCTimeoutOrCancelledError)
    async def on_update_timeout(
        request: Request, exc: RPCTimeoutOrCancelledError
    ) -> JSONResponse | HTMLResponse:
        # The call was sent, but no answer came before it gave up: an update or a query
        # whose worker died waits for another one. Retried with the same key, an update
        # finds the first one rather than sending another.
        return _try_again(
            request, "Temporal did not answer in time; try again with the same Idempotency-Key"
        )

    @app.exception_handler(ApiError)
    async def on_api_error(request: Request, exc: ApiError) -> JSONResponse | HTMLResponse:
        response = _answer(request, exc.status, exc.code, exc.message, **exc.details)
        response.headers.update(exc.headers)
        return response

    @app.exception_handler(Redirect)
    async def on_redirect(request: Request, exc: Redirect) -> RedirectResponse:
        return RedirectResponse(exc.url, status_code=303)

    @app.exception_handler(StarletteHTTPException)
    async def on_http_error(
        request: Request, exc: StarletteHTTPException
    ) -> JSONResponse | HTMLResponse:
        code = _STATUS_CODES.get(exc.status_code, "error")
        if exc.status_code == 404 and wants_html(request):
            return error_page(request, 404, f"There is no page at {request.url.path}")
        return _answer(request, exc.status_code, code, str(exc.detail))

    @app.exception_handler(RequestValidationError)
    async def on_invalid(
        request: Request, exc: RequestValidationError
    ) -> JSONResponse | HTMLResponse:
        errors = [describe_validation_error(e) for e in exc.errors()]
        return _answer(request, 422, "invalid_input", "; ".join(errors), errors=errors)

    @app.exception_handler(RPCError)
    async def on_temporal_error(request: Request, exc: RPCError) -> JSONResponse | HTMLResponse:
        if exc.status in (RPCStatusCode.UNAVAILABLE, RPCStatusCode.DEADLINE_EXCEEDED):
            return _try_again(request, "Temporal is unreachable; try again shortly")
        if exc.status is RPCStatusCode.CANCELLED:
            # The call's own deadline passed ("Timeout expired"): a query whose worker died
            # waits for the workflow to move to another one.
            return _try_again(request, "Temporal did not answer in time; try again shortly")
        if exc.status is RPCStatusCode.UNKNOWN and "transport error" in exc.message:
            # The connection broke mid-call (the server was killed or restarted): the call
            # may or may not have landed, and a retry with the same key finds out.
            log.warning("Temporal call cut off: %s", exc.message)
            return _try_again(request, "Temporal's connection broke; try again shortly")
        log.exception("Temporal call failed")
        return _answer(request, 502, "temporal_error", f"Temporal refused the call: {exc.message}")
