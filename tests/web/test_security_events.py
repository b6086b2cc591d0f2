"""Security events: each a JSON line on ``opsdesk.security`` saying what happened, to whom,
by whom and from where, for real sign-ins, lockouts, token changes, role changes, removals
and refused links and webhooks; never with a password or a secret in it."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from temporalio.client import Client
from temporalio.contrib.pydantic import pydantic_data_converter

from opsdesk.access.roles import Role
from opsdesk.access.sessions import Sessions
from opsdesk.access.users import Users
from opsdesk.app import create_app
from opsdesk.db import Database
from opsdesk.db.migrate import upgrade_async
from opsdesk.settings import Settings
from tests.conftest import free_port
from tests.http import served
from tests.security_log import Lines
from tests.staff import PASSWORD, person, token_for

WEBHOOK_SECRET = "a-shop-webhook-secret"


@pytest.fixture
async def http(db: Database, tmp_path: Path) -> AsyncIterator[httpx.AsyncClient]:
    nowhere = await Client.connect(
        f"127.0.0.1:{free_port()}", lazy=True, data_converter=pydantic_data_converter
    )
    settings = Settings(
        data_dir=tmp_path,
        database_url=db.url.render_as_string(hide_password=False),
        credentials_cache=0,
        sign_in_rate_limit="3/minute",
        webhook_secret=WEBHOOK_SECRET,
    )
    async with (
        served(create_app(settings, temporal=nowhere)) as url,
        httpx.AsyncClient(base_url=url, timeout=30) as client,
    ):
        yield client


async def _sign_in(http: httpx.AsyncClient, name: str, password: str) -> httpx.Response:
    return await http.post("/signin", data={"name": name, "password": password, "next": "/"})


async def test_sign_ins_lockouts_tokens_and_refusals_are_logged_with_who_and_where(
    http: httpx.AsyncClient, db: Database, security_log: Lines
) -> None:
    await person(db, "dana", Role.OPERATOR)
    assert (await _sign_in(http, "dana", "not her password")).status_code == 401
    assert (await _sign_in(http, "dana", PASSWORD)).status_code == 303
    [failed] = security_log.events("sign_in")[:1]
    assert failed == {
        **failed,
        "logger": "opsdesk.security",
        "level": "warning",
        "event": "sign_in",
        "outcome": "failure",
        "actor": "anonymous",
        "target": "dana",
        "client": "127.0.0.1",
        "method": "password",
    }
    assert failed["time"].endswith("+00:00")
    signed_in = security_log.events("sign_in")[1]
    assert signed_in == {
        **signed_in,
        "level": "info",
        "outcome": "success",
        "actor": "dana",
        "method": "password",
    }

    # Three wrong passwords, then the name is locked out, even with the right one.
    for _ in range(3):
        assert (await _sign_in(http, "dana", "guess")).status_code == 401
    assert (await _sign_in(http, "dana", PASSWORD)).status_code == 429
    [lockout] = security_log.events("lockout")
    assert lockout == {
        **lockout,
        "outcome": "refused",
        "actor": "anonymous",
        "target": "dana",
        "client": "127.0.0.1",
    }

    # A one-time sign-in link works once; the second use is a failure, and the secret is
    # in no line.
    secret = await Sessions(db, Settings().session_idle, Settings().session_lifetime).issue_link(
        "dana"
    )
    assert (await http.post(f"/signin/link/{secret}")).status_code == 303
    assert (await http.post(f"/signin/link/{secret}")).status_code == 410
    by_link = [e for e in security_log.events("sign_in") if e["method"] == "email_link"]
    assert [(e["outcome"], e["actor"], e.get("reason")) for e in by_link] == [
        ("success", "dana", None),
        ("failure", "anonymous", "used"),
    ]

    # An admin token makes and revokes a token: the admin is the actor.
    admin = {"Authorization": f"Bearer {await token_for(db, Role.ADMIN, 'lee')}"}
    made = await http.post(
        "/api/tokens", json={"name": "shop-sync", "role": "operator"}, headers=admin
    )
    assert made.status_code == 201
    assert (await http.delete("/api/tokens/shop-sync", headers=admin)).status_code == 200
    [created] = security_log.events("token_created")
    assert created == {**created, "outcome": "success", "actor": "lee", "target": "shop-sync"}
    assert created["role"] == "operator"
    [revoked] = security_log.events("token_revoked")
    assert revoked == {**revoked, "actor": "lee", "target": "shop-sync", "client": "127.0.0.1"}

    # A link that is not ours, and a webhook that is not the shop's.
    forged = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJtci0xIn0.c2lnbmF0dXJl"
    assert (await http.get(f"/links/{forged}")).status_code == 400
    [link] = security_log.events("link_refused")
    assert link == {**link, "outcome": "refused", "actor": "anonymous", "reason": "forged"}
    webhook = await http.post(
        "/api/webhooks/orders",
        content=b"{}",
        headers={"Content-Type": "application/json", "X-Opsdesk-Signature": "t=1,v1=00"},
    )
    assert webhook.status_code == 401
    [refused] = security_log.events("webhook_refused")
    assert refused == {**refused, "target": "shop_orders", "client": "127.0.0.1"}
    assert "outside" in refused["reason"]
    call = await http.post("/phone/calls/whatever", data={"CallSid": "CA1"})
    assert call.status_code == 403
    assert security_log.events("webhook_refused")[-1]["target"] == "twilio"

    assert PASSWORD not in security_log.text
    assert secret not in security_log.text
    assert forged not in security_log.text
    assert made.json()["token"] not in security_log.text


def test_role_changes_and_removals_are_logged_by_the_command_line(tmp_path: Path) -> None:
    """Through ``opsdesk users``: the lines reach standard error as JSON, whatever the
    log format, with the operating system's user as the actor."""
    settings = Settings(data_dir=tmp_path)

    async def add() -> None:
        await upgrade_async(settings.resolved_database_url)
        db = Database(settings.resolved_database_url)
        await Users(db).add("admin", Role.ADMIN, PASSWORD)
        await Users(db).add("dana", Role.VIEWER, PASSWORD)
        await db.dispose()

    asyncio.run(add())
    env = {k: v for k, v in os.environ.items() if not k.startswith("OPSDESK_")}
    env |= {"OPSDESK_DATA_DIR": str(tmp_path), "OPSDESK_LOG_LEVEL": "warning"}

    def opsdesk(*args: str) -> list[dict[str, Any]]:
        done = subprocess.run(
            [sys.executable, "-m", "opsdesk", *args],
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
            check=True,
        )
        return [json.loads(line) for line in done.stderr.splitlines() if line.startswith("{")]

    [changed] = opsdesk("users", "set-role", "dana", "operator")
    assert changed == {
        **changed,
        "logger": "opsdesk.security",
        "event": "role_changed",
        "outcome": "success",
        "target": "dana",
        "role": "operator",
    }
    assert changed["actor"].startswith("cli")
    [removed] = opsdesk("users", "remove", "dana")
    assert removed == {**removed, "event": "user_removed", "target": "dana"}
