"""The codec endpoint: Temporal's remote codec protocol, so the Temporal UI and CLI can show
payloads the server only holds as ciphertext.

``POST /codec/decode`` and ``POST /codec/encode`` take and give ``{"payloads": [...]}`` in
protobuf JSON (metadata values and data in base64). The Temporal UI calls it from the
browser, so the UI's origin (and only it) may read the answers (CORS).
"""

from __future__ import annotations

import json
from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse, Response
from google.protobuf.json_format import MessageToDict, ParseDict, ParseError
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


def _cors(request: Request) -> dict[str, str]:
    origin = request.headers.get("origin")
    allowed = settings_of(request).resolved_temporal_ui_url.rstrip("/")
    if origin is None or origin.rstrip("/") != allowed:
        return {}
    return {
        "Access-Control-Allow-Origin": origin,
        "Access-Control-Allow-Methods": "POST, OPTIONS",
        "Access-Control-Allow-Headers": "Content-Type, X-Namespace, Authorization",
        "Access-Control-Allow-Credentials": "true",
        "Access-Control-Max-Age": "600",
        "Vary": "Origin",
    }


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


def _answer(request: Request, payloads: Payloads) -> JSONResponse:
    return JSONResponse(MessageToDict(payloads), headers=_cors(request))


@router.options("/encode", include_in_schema=False, dependencies=PREFLIGHT)
@router.options("/decode", include_in_schema=False, dependencies=PREFLIGHT)
async def preflight(request: Request) -> Response:
    return Response(status_code=204, headers=_cors(request))


@router.post("/decode", dependencies=VIEWER)
async def decode(request: Request) -> JSONResponse:
    """Decrypt payloads (a payload that is not encrypted comes back as it is)."""
    payloads = await _payloads(request)
    try:
        plain = await _codec(request).decode(payloads.payloads)
    except PayloadKeyError as exc:
        raise ApiError(422, "invalid_input", str(exc)) from None
    return _answer(request, Payloads(payloads=plain))


@router.post("/encode", dependencies=VIEWER)
async def encode(request: Request) -> JSONResponse:
    """Encrypt payloads with the newest key (the CLI's and UI's input to a workflow)."""
    payloads = await _payloads(request)
    return _answer(request, Payloads(payloads=await _codec(request).encode(payloads.payloads)))
