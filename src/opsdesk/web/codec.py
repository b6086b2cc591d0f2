"""The codec endpoint: Temporal's remote codec protocol, so the Temporal UI and CLI can show
payloads the server only holds as ciphertext.

``POST /codec/decode`` and ``POST /codec/encode`` take and give ``{"payloads": [...]}`` in
protobuf JSON (metadata values and data in base64). The Temporal UI calls it from the
browser with the dashboard's session cookie, so the UI's origin (and only it) may read the
answers, refusals included (CORS with credentials, ``CodecCors``): a UI that is told
"sign in" says so instead of "could not connect".
"""

from __future__ import annotations

import json
from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse, Response
from google.protobuf.json_format import MessageToDict, ParseDict, ParseError
from starlette.types import ASGIApp, Message, Receive, Scope, Send
from temporalio.api.common.v1 import Payloads

from opsdesk.keys import PayloadKeyError
from opsdesk.temporal.codec import EncryptionCodec, payload_keys
from opsdesk.web.auth import VIEWER
from opsdesk.web.deps import settings_of
from opsdesk.web.errors import ApiError
from opsdesk.web.limits import rate_limited

router = APIRouter(prefix="/codec", tags=["codec"])
# A browser asks before it posts, without credentials; the post itself needs them.
PREFLIGHT = [Depends(rate_limited("machines"))]

MAX_PAYLOADS = 1000


def _codec(request: Request) -> EncryptionCodec:
    codec: EncryptionCodec | None = getattr(request.app.state, "payload_codec", None)
    if codec is None:
        codec = EncryptionCodec(payload_keys(settings_of(request)))
        request.app.state.payload_codec = codec
    return codec


class CodecCors:
    """Lets the Temporal UI's origin read every answer under ``/codec/``, with credentials:
    the answers to its preflights, its decodes and its refusals (401, 403, 429, 413)."""

    def __init__(self, app: ASGIApp, ui_url: str) -> None:
        self.app = app
        self.origin = ui_url.rstrip("/").lower()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not str(scope.get("path", "")).startswith("/codec/"):
            await self.app(scope, receive, send)
            return
        headers = dict(scope.get("headers", []))
        origin = headers.get(b"origin", b"").decode("latin-1")
        if origin.rstrip("/").lower() != self.origin:
            await self.app(scope, receive, send)
            return
        allowed = [
            (b"access-control-allow-origin", origin.encode("latin-1")),
            (b"access-control-allow-methods", b"POST, OPTIONS"),
            (b"access-control-allow-headers", b"Content-Type, X-Namespace, Authorization"),
            (b"access-control-allow-credentials", b"true"),
            (b"access-control-max-age", b"600"),
            (b"vary", b"Origin"),
        ]

        async def with_cors(message: Message) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = [*message.get("headers", []), *allowed]
            await send(message)

        await self.app(scope, receive, with_cors)


async def _payloads(request: Request) -> Payloads:
    try:
        body: Any = json.loads(await request.body())
        payloads = ParseDict(body, Payloads())
    except (ValueError, ParseError) as exc:
        raise ApiError(
            422, "invalid_input", f'send {{"payloads": [...]}} in protobuf JSON: {exc}'
        ) from None
    if len(payloads.payloads) > MAX_PAYLOADS:
        raise ApiError(422, "invalid_input", f"at most {MAX_PAYLOADS} payloads at once")
    return payloads


def _answer(payloads: Payloads) -> JSONResponse:
    return JSONResponse(MessageToDict(payloads))


@router.options("/encode", include_in_schema=False, dependencies=PREFLIGHT)
@router.options("/decode", include_in_schema=False, dependencies=PREFLIGHT)
async def preflight() -> Response:
    return Response(status_code=204)


@router.post("/decode", dependencies=VIEWER)
async def decode(request: Request) -> JSONResponse:
    """Decrypt payloads (a payload that is not encrypted comes back as it is)."""
    payloads = await _payloads(request)
    try:
        plain = await _codec(request).decode(payloads.payloads)
    except PayloadKeyError as exc:
        raise ApiError(422, "invalid_input", str(exc)) from None
    return _answer(Payloads(payloads=plain))


@router.post("/encode", dependencies=VIEWER)
async def encode(request: Request) -> JSONResponse:
    """Encrypt payloads with the newest key (the CLI's and UI's input to a workflow)."""
    payloads = await _payloads(request)
    return _answer(Payloads(payloads=await _codec(request).encode(payloads.payloads)))
