"""A stand-in for Twilio's REST API (the Calls resource) on a loopback port.

The real SDK talks to it over real HTTP. It checks the account's Basic credentials, keeps
every call it was asked to place, lists them back filtered as Twilio does, and can be told
to refuse (a status and Twilio error code) or to take a call and then not answer for a
while, as a connection that dies mid-request looks to its client.
"""

from __future__ import annotations

import asyncio
import base64
import itertools
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.utils import format_datetime
from typing import Any
from urllib.parse import parse_qsl

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from tests.http import served

ACCOUNT_SID = "AC" + "1" * 32
AUTH_TOKEN = "fake-twilio-auth-token-0123456789"
CALLER = "+14155550100"

_sids = itertools.count(1)


@dataclass
class FakeTwilio:
    url: str = ""
    calls: list[dict[str, Any]] = field(default_factory=list)
    """Every call placed, with the form the SDK posted."""
    refuse: tuple[int, int, str] | None = None
    """Answer the next create with this (status, Twilio code, message)."""
    stall: asyncio.Event | None = None
    """Take the next call, then answer only once this is set."""
    lists: int = 0


def _resource(call: dict[str, Any]) -> dict[str, Any]:
    return {
        "sid": call["sid"],
        "account_sid": ACCOUNT_SID,
        "to": call["To"],
        "from": call["From"],
        "status": "queued",
        "direction": "outbound-api",
        "date_created": format_datetime(call["created"], usegmt=True),
        "date_updated": format_datetime(call["created"], usegmt=True),
        "uri": f"/2010-04-01/Accounts/{ACCOUNT_SID}/Calls/{call['sid']}.json",
    }


def _app(fake: FakeTwilio) -> FastAPI:
    app = FastAPI()

    def authorised(request: Request) -> bool:
        expected = base64.b64encode(f"{ACCOUNT_SID}:{AUTH_TOKEN}".encode()).decode()
        return request.headers.get("authorization") == f"Basic {expected}"

    def error(status: int, code: int, message: str) -> JSONResponse:
        body = {"code": code, "message": message, "more_info": "", "status": status}
        return JSONResponse(body, status_code=status)

    @app.post("/2010-04-01/Accounts/{account}/Calls.json")
    async def create(request: Request, account: str) -> JSONResponse:
        if not authorised(request) or account != ACCOUNT_SID:
            return error(401, 20003, "Authenticate")
        if fake.refuse is not None:
            status, code, message = fake.refuse
            fake.refuse = None
            return error(status, code, message)
        form = dict(parse_qsl((await request.body()).decode(), keep_blank_values=True))
        call = {
            **{key: str(value) for key, value in form.items()},
            "sid": f"CA{next(_sids):032x}",
            "created": datetime.now(UTC).replace(microsecond=0),
        }
        fake.calls.append(call)
        if fake.stall is not None:
            stall, fake.stall = fake.stall, None
            await stall.wait()
        return JSONResponse(_resource(call), status_code=201)

    @app.get("/2010-04-01/Accounts/{account}/Calls.json")
    async def listing(request: Request, account: str) -> JSONResponse:
        if not authorised(request) or account != ACCOUNT_SID:
            return error(401, 20003, "Authenticate")
        fake.lists += 1
        to, sender = request.query_params.get("To"), request.query_params.get("From")
        found = [
            _resource(call)
            for call in reversed(fake.calls)  # Twilio lists the newest first
            if (to is None or call["To"] == to) and (sender is None or call["From"] == sender)
        ]
        uri = f"/2010-04-01/Accounts/{ACCOUNT_SID}/Calls.json"
        return JSONResponse(
            {
                "calls": found,
                "page": 0,
                "page_size": 50,
                "first_page_uri": uri,
                "next_page_uri": None,
                "previous_page_uri": None,
                "uri": uri,
                "start": 0,
                "end": max(0, len(found) - 1),
            }
        )

    return app


@asynccontextmanager
async def fake_twilio() -> AsyncIterator[FakeTwilio]:
    fake = FakeTwilio()
    async with served(_app(fake)) as url:
        fake.url = url
        yield fake
