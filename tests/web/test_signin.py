"""Sign-in, sessions, roles and API tokens, over real HTTP against a real database (no
Temporal needed: every check here happens before a route reaches a workflow)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import update
from temporalio.client import Client
from temporalio.contrib.pydantic import pydantic_data_converter

from opsdesk import clock
from opsdesk.access.roles import Role
from opsdesk.access.sessions import Sessions
from opsdesk.access.users import Users
from opsdesk.app import create_app
from opsdesk.db import Database
from opsdesk.db.tables import UserSession, utcnow
from opsdesk.settings import Settings
from opsdesk.web.auth import SESSION_COOKIE
from tests.conftest import free_port
from tests.http import served
from tests.orders.helpers import error_of
from tests.staff import PASSWORD, person, token_for


@dataclass
class Desk:
    """The app on a port, a client that has not signed in, and the app's database."""

    http: httpx.AsyncClient
    db: Database
    settings: Settings


async def _desk(db: Database, tmp_path: Path, **overrides: Any) -> AsyncIterator[Desk]:
    nowhere = await Client.connect(
        f"127.0.0.1:{free_port()}", lazy=True, data_converter=pydantic_data_converter
    )
    settings = Settings(
        data_dir=tmp_path,
        database_url=db.url.render_as_string(hide_password=False),
        credentials_cache=0,
        **overrides,
    )
    async with (
        served(create_app(settings, temporal=nowhere)) as url,
        httpx.AsyncClient(base_url=url, timeout=30) as http,
    ):
        yield Desk(http, db, settings)


@pytest.fixture
async def desk(db: Database, tmp_path: Path) -> AsyncIterator[Desk]:
    async for made in _desk(db, tmp_path, sign_in_rate_limit="3/minute"):
        yield made


def _bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


async def _sign_in(http: httpx.AsyncClient, name: str, password: str) -> httpx.Response:
    return await http.post("/signin", data={"name": name, "password": password, "next": "/"})


async def test_without_credentials_a_program_gets_401_and_a_person_the_sign_in_page(
    desk: Desk,
) -> None:
    api = await desk.http.get("/api/orders")
    assert "send an API token" in error_of(api, 401)
    assert api.headers["www-authenticate"] == "Bearer"
    # The codec endpoint would decrypt anyone's payloads: it too needs an identity.
    codec = await desk.http.post("/codec/decode", json={"payloads": []})
    assert codec.status_code == 401
    page = await desk.http.get("/maintenance?status=OPEN", headers={"Accept": "text/html"})
    assert page.status_code == 303
    assert page.headers["location"] == "/signin?next=/maintenance%3Fstatus%3DOPEN"
    form = await desk.http.get(page.headers["location"])
    assert form.status_code == 200
    assert 'name="next" value="/maintenance?status=OPEN"' in form.text


async def test_who_is_asking_is_settled_before_the_body_is_read(desk: Desk) -> None:
    json = {"Content-Type": "application/json"}
    anonymous = await desk.http.post("/api/orders", content=b"{not json", headers=json)
    assert "send an API token" in error_of(anonymous, 401)
    viewer = _bearer(await token_for(desk.db, Role.VIEWER, "auditor"))
    refused = await desk.http.post("/api/orders", content=b"{not json", headers={**json, **viewer})
    assert "needs the operator role" in error_of(refused, 403)
    # A person's form to a page they may not use goes to the sign-in page, unread.
    page = await desk.http.post(
        "/maintenance/R-0001/answer",
        content=b"\xff\xfe not a form",
        headers={"Accept": "text/html", "Content-Type": "application/x-www-form-urlencoded"},
    )
    assert page.status_code == 303
    assert page.headers["location"].startswith("/signin")
    # Once it is known who is asking, the body is read and its fault named.
    operator = _bearer(await token_for(desk.db, Role.OPERATOR, "dana"))
    unread = await desk.http.post("/api/orders", content=b"{not json", headers={**json, **operator})
    assert unread.status_code == 422


async def test_a_viewer_reads_but_may_not_act(desk: Desk) -> None:
    viewer = _bearer(await token_for(desk.db, Role.VIEWER, "auditor"))
    me = await desk.http.get("/api/me", headers=viewer)
    assert me.json() == {"name": "auditor", "role": "viewer", "kind": "token"}
    refused = await desk.http.post("/api/orders/1001/cancel", json={}, headers=viewer)
    assert "auditor is a viewer; this needs the operator role" in error_of(refused, 403)
    tokens = await desk.http.get("/api/tokens", headers=viewer)
    assert "needs the admin role" in error_of(tokens, 403)


async def test_a_revoked_token_is_refused(desk: Desk) -> None:
    admin = _bearer(await token_for(desk.db, Role.ADMIN, "root"))
    created = await desk.http.post(
        "/api/tokens", json={"name": "shop-sync", "role": "operator"}, headers=admin
    )
    assert created.status_code == 201, created.text
    secret = created.json()["token"]
    assert secret.startswith("odt_")
    assert (await desk.http.get("/api/me", headers=_bearer(secret))).status_code == 200

    revoked = await desk.http.delete("/api/tokens/shop-sync", headers=admin)
    assert revoked.json()["revoked_at"] is not None
    answer = await desk.http.get("/api/me", headers=_bearer(secret))
    assert "unknown or has been revoked" in error_of(answer, 401)
    listed = (await desk.http.get("/api/tokens", headers=admin)).json()
    [row] = [t for t in listed if t["name"] == "shop-sync"]
    assert row["last_used_at"] is not None
    assert "token" not in row
    garbled = await desk.http.get("/api/me", headers={"Authorization": "Basic abc"})
    assert "Bearer <API token>" in error_of(garbled, 401)


async def test_sign_in_sets_a_guarded_cookie_and_sign_out_ends_the_session(desk: Desk) -> None:
    await person(desk.db, "dana", Role.OPERATOR)
    wrong = await _sign_in(desk.http, "dana", "not the password")
    assert wrong.status_code == 401
    assert "That name and password do not match." in wrong.text
    assert SESSION_COOKIE not in desk.http.cookies

    signed = await _sign_in(desk.http, "Dana", PASSWORD)
    assert signed.status_code == 303, signed.text
    cookie = signed.headers["set-cookie"]
    assert "HttpOnly" in cookie
    assert "SameSite=lax" in cookie
    assert "Secure" not in cookie
    me = await desk.http.get("/api/me")
    assert me.json() == {"name": "dana", "role": "operator", "kind": "user"}
    page = await desk.http.get("/account")
    assert "dana" in page.text
    assert "operator" in page.text

    stolen = desk.http.cookies[SESSION_COOKIE]
    out = await desk.http.post("/signout")
    assert out.status_code == 303
    assert (await desk.http.get("/api/me")).status_code == 401
    # The session is gone on the server too, not only forgotten by this browser.
    desk.http.cookies.set(SESSION_COOKIE, stolen)
    assert (await desk.http.get("/api/me")).status_code == 401


async def test_a_cookie_we_did_not_sign_is_no_session(desk: Desk) -> None:
    await person(desk.db, "dana")
    await _sign_in(desk.http, "dana", PASSWORD)
    real = desk.http.cookies[SESSION_COOKIE]
    desk.http.cookies.clear()
    secret = real.rpartition(".")[0]
    for forged in (secret, f"{secret}.{'0' * 64}", "junk"):
        desk.http.cookies.set(SESSION_COOKIE, forged)
        assert (await desk.http.get("/api/me")).status_code == 401, forged
    desk.http.cookies.set(SESSION_COOKIE, real)
    assert (await desk.http.get("/api/me")).status_code == 200


@pytest.mark.parametrize("column", ["last_seen_at", "created_at"])
async def test_a_session_ends_when_idle_too_long_and_when_too_old(desk: Desk, column: str) -> None:
    await person(desk.db, "dana")
    await _sign_in(desk.http, "dana", PASSWORD)
    assert (await desk.http.get("/api/me")).status_code == 200
    # Idle past OPSDESK_SESSION_IDLE, or signed in longer ago than OPSDESK_SESSION_LIFETIME
    # (each row is moved back past its own limit only).
    limit = (
        desk.settings.session_idle if column == "last_seen_at" else desk.settings.session_lifetime
    )
    async with desk.db.transaction() as session:
        moved = {column: utcnow() - limit - timedelta(minutes=1)}
        if column == "created_at":
            moved["last_seen_at"] = utcnow()
        await session.execute(update(UserSession).values(**moved))
    expired = await desk.http.get("/", headers={"Accept": "text/html"})
    assert expired.status_code == 303
    assert expired.headers["location"].startswith("/signin")
    assert (await desk.http.get("/api/me")).status_code == 401


async def test_sign_in_attempts_are_limited_per_account(desk: Desk) -> None:
    await person(desk.db, "dana")
    # The right password resets the count: a person on several devices is not held up.
    for _ in range(5):
        assert (await _sign_in(desk.http, "dana", PASSWORD)).status_code == 303
    for _ in range(3):
        assert (await _sign_in(desk.http, "dana", "guess")).status_code == 401
    limited = await _sign_in(desk.http, "dana", PASSWORD)
    assert limited.status_code == 429
    assert int(limited.headers["retry-after"]) > 0
    assert "try again in" in limited.text
    # Another name from the same address is not yet limited (that limit is higher).
    await person(desk.db, "sam")
    assert (await _sign_in(desk.http, "sam", PASSWORD)).status_code == 303


async def test_sign_in_attempts_are_limited_per_address(db: Database, tmp_path: Path) -> None:
    async for desk in _desk(db, tmp_path, sign_in_address_rate_limit="2/minute"):
        assert (await _sign_in(desk.http, "nobody", "guess")).status_code == 401
        assert (await _sign_in(desk.http, "someone", "guess")).status_code == 401
        await person(desk.db, "dana")
        assert (await _sign_in(desk.http, "dana", PASSWORD)).status_code == 429


async def test_a_one_time_link_signs_in_once(desk: Desk) -> None:
    await desk.http.get("/healthz")  # the app's lifespan has run: the tables exist
    await person(desk.db, "admin")
    secret = await Sessions(desk.db, timedelta(hours=1), timedelta(hours=2)).issue_link("admin")
    shown = await desk.http.get(f"/signin/link/{secret}")
    assert shown.status_code == 200
    assert "works once" in shown.text
    assert (await desk.http.get("/api/me")).status_code == 401  # looking spends nothing

    used = await desk.http.post(f"/signin/link/{secret}")
    assert used.status_code == 303
    assert used.headers["location"] == "/account"
    assert (await desk.http.get("/api/me")).json()["name"] == "admin"

    desk.http.cookies.clear()
    again = await desk.http.post(f"/signin/link/{secret}")
    assert again.status_code == 410
    assert "used already" in again.text
    unknown = await desk.http.post("/signin/link/not-a-link")
    assert unknown.status_code == 404


async def test_a_person_sets_a_password_after_a_link(db: Database, tmp_path: Path) -> None:
    async for desk in _desk(db, tmp_path):
        await _password_after_a_link(desk)


async def _password_after_a_link(desk: Desk) -> None:
    await person(desk.db, "admin")
    async with desk.db.transaction() as session:
        from opsdesk.db.tables import User

        await session.execute(update(User).values(password_hash=None))
    secret = await Sessions(desk.db, timedelta(hours=1), timedelta(hours=2)).issue_link("admin")
    await desk.http.post(f"/signin/link/{secret}")
    short = await desk.http.post("/account/password", data={"password": "short", "again": "short"})
    assert short.status_code == 303
    new = "a long and private passphrase"
    saved = await desk.http.post("/account/password", data={"password": new, "again": new})
    assert "Password saved" in (await desk.http.get(saved.headers["location"])).text
    await desk.http.post("/signout")
    assert (await _sign_in(desk.http, "admin", new)).status_code == 303

    # Changing it again, from a password session: the current one is needed, and every
    # other session of theirs ends.
    async with httpx.AsyncClient(base_url=desk.http.base_url) as elsewhere:
        assert (await _sign_in(elsewhere, "admin", new)).status_code == 303
        newer = "an even longer private passphrase"
        wrong = await desk.http.post(
            "/account/password", data={"current": "guess", "password": newer, "again": newer}
        )
        assert "not that" in (await desk.http.get(wrong.headers["location"])).text
        await desk.http.post(
            "/account/password", data={"current": new, "password": newer, "again": newer}
        )
        assert (await desk.http.get("/api/me")).status_code == 200
        assert (await elsewhere.get("/api/me")).status_code == 401


async def test_a_cookie_borne_change_from_another_site_is_refused(desk: Desk) -> None:
    await person(desk.db, "dana")
    await _sign_in(desk.http, "dana", PASSWORD)
    forged = await desk.http.post(
        "/orders/1001/cancel",
        data={"reason": "x"},
        headers={"Origin": "https://evil.example", "Accept": "text/html"},
    )
    assert forged.status_code == 403


async def test_behind_https_the_cookie_is_secure(db: Database, tmp_path: Path) -> None:
    async for desk in _desk(db, tmp_path, public_url="https://desk.example.com"):
        await person(desk.db, "dana")
        signed = await _sign_in(desk.http, "dana", PASSWORD)
        assert "Secure" in signed.headers["set-cookie"]


async def test_the_temporal_ui_decodes_with_the_dashboard_session(desk: Desk) -> None:
    # The UI's page, on its own port of the same host, calls the codec endpoint with the
    # browser's cookies ("include cross-origin credentials" in its codec settings).
    await person(desk.db, "dana", Role.VIEWER)
    await _sign_in(desk.http, "dana", PASSWORD)
    ui = desk.settings.resolved_temporal_ui_url
    preflight = await desk.http.options(
        "/codec/decode",
        headers={"Origin": ui, "Access-Control-Request-Method": "POST"},
    )
    assert preflight.headers["access-control-allow-origin"] == ui
    assert preflight.headers["access-control-allow-credentials"] == "true"
    decoded = await desk.http.post("/codec/decode", json={"payloads": []}, headers={"Origin": ui})
    assert decoded.status_code == 200
    assert decoded.headers["access-control-allow-origin"] == ui
    desk.http.cookies.clear()
    anonymous = await desk.http.post("/codec/decode", json={"payloads": []}, headers={"Origin": ui})
    assert anonymous.status_code == 401
    # The UI can read the refusal (and say "sign in"), not only a network error.
    assert anonymous.headers["access-control-allow-origin"] == ui
    assert anonymous.headers["access-control-allow-credentials"] == "true"
    # Another origin can read nothing, not even a refusal.
    other = await desk.http.options(
        "/codec/decode",
        headers={"Origin": "http://127.0.0.1:9", "Access-Control-Request-Method": "POST"},
    )
    assert "access-control-allow-origin" not in other.headers


async def test_a_person_reads_times_in_the_zone_they_pick(desk: Desk) -> None:
    """The pages name the reader's zone once and show every time in it: the business's
    until the person picks their own on the account page."""
    await person(desk.db, "dana")
    await _sign_in(desk.http, "dana", PASSWORD)
    page = await desk.http.get("/account")
    assert "Times are in UTC." in page.text

    saved = await desk.http.post("/account/time-zone", data={"zone": "America/Los_Angeles"})
    assert saved.status_code == 303
    page = await desk.http.get("/account")
    assert "Saved. Times now show in Los Angeles time" in page.text
    assert "Times are in Los Angeles time (P" in page.text
    user = await Users(desk.db).get("dana")
    assert user is not None
    assert user.last_sign_in_at is not None
    local = clock.moment(user.last_sign_in_at, "America/Los_Angeles", named=False)
    assert f"Signed in last {local}." in page.text

    wrong = await desk.http.post("/account/time-zone", data={"zone": "Mars/Olympus_Mons"})
    assert wrong.status_code == 303
    page = await desk.http.get("/account")
    assert "Mars/Olympus_Mons is not a time zone we know" in page.text
    assert "Times are in Los Angeles time (P" in page.text

    await desk.http.post("/account/time-zone", data={"zone": ""})
    assert "Times are in UTC." in (await desk.http.get("/account")).text
