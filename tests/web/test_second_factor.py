"""Passwords and what a browser keeps, over real HTTP against a real database: common
passwords are refused, a second factor (TOTP) is asked for after the password, and pages
and JSON are not kept by the browser."""

from __future__ import annotations

import html
import logging
import re
import time
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pyotp
import pytest
from sqlalchemy import update

from opsdesk.access.roles import Role
from opsdesk.access.sessions import Sessions
from opsdesk.db import Database
from opsdesk.db.tables import SecondFactor
from opsdesk.logs import SECURITY_LOGGER
from opsdesk.web.guard import CONTENT_SECURITY_POLICY
from tests.staff import PASSWORD, person
from tests.web.test_signin import Desk, _desk, _sign_in


@pytest.fixture
async def desk(db: Database, tmp_path: Path) -> AsyncIterator[Desk]:
    async for made in _desk(db, tmp_path, sign_in_rate_limit="3/minute"):
        yield made


COMMON = "This password is on a list of common or leaked passwords. Choose another."


def secret_on(page: str) -> str:
    """The key the enrolment page shows for typing in by hand, without its spaces."""
    found = re.search(r"data-secret>([^<]+)<", page)
    assert found is not None, page
    return found.group(1).replace(" ", "")


def code(secret: str, steps_ahead: int = 0) -> str:
    """The app's code now, or of a later 30-second step (accepted one step ahead)."""
    return pyotp.TOTP(secret).at(time.time() + 30 * steps_ahead)


async def enrol(http: httpx.AsyncClient) -> tuple[str, list[str]]:
    """Turns a second factor on from the account page; the secret and recovery codes."""
    await http.post("/account/second-factor/start", data={"password": PASSWORD})
    secret = secret_on((await http.get("/account/second-factor")).text)
    shown = await http.post("/account/second-factor/confirm", data={"code": code(secret)})
    assert shown.status_code == 200, shown.text
    return secret, re.findall(r"<li><code>([a-z0-9-]+)</code></li>", shown.text)


async def test_common_passwords_are_refused_wherever_one_is_set(
    db: Database, tmp_path: Path
) -> None:
    async for desk in _desk(db, tmp_path):
        await person(desk.db, "dana")
        await _sign_in(desk.http, "dana", PASSWORD)
        for weak in ("password1234", "qwertyuiopasdf", "iloveyou2024!"):
            said = await desk.http.post(
                "/account/password",
                data={"current": PASSWORD, "password": weak, "again": weak},
                follow_redirects=True,
            )
            assert html.unescape(said.text).count(COMMON) == 1, weak
        # The length rule still comes first, in its own words.
        short = await desk.http.post(
            "/account/password",
            data={"current": PASSWORD, "password": "abc", "again": "abc"},
            follow_redirects=True,
        )
        assert "at least 12 characters" in short.text
        await desk.http.post("/signout")
        assert (await _sign_in(desk.http, "dana", PASSWORD)).status_code == 303


async def test_a_second_factor_is_asked_for_after_the_password(
    desk: Desk, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger=SECURITY_LOGGER)
    await person(desk.db, "dana", Role.ADMIN)
    await _sign_in(desk.http, "dana", PASSWORD)
    secret, recovery = await enrol(desk.http)
    assert len(recovery) == 10
    # The secret is stored sealed under the payload keys, never as it is.
    async with desk.db.transaction() as session:
        sealed = (await session.get(SecondFactor, 1)) or None
    assert sealed is not None
    assert secret not in sealed.secret_sealed
    assert "On." in (await desk.http.get("/account/second-factor")).text

    async with httpx.AsyncClient(base_url=desk.http.base_url) as laptop:
        # The right password alone makes no session: it leads to the code form.
        half = await _sign_in(laptop, "dana", PASSWORD)
        assert half.headers["location"] == "/signin/code"
        assert (await laptop.get("/api/me")).status_code == 401
        assert "six-digit code" in (await laptop.get("/signin/code")).text
        wrong = await laptop.post("/signin/code", data={"code": "000000"})
        assert wrong.status_code == 401
        assert "does not match" in wrong.text
        # The next step's code: the one the app shows when the confirmation's step is over.
        next_code = code(secret, 1)
        done = await laptop.post("/signin/code", data={"code": next_code})
        assert done.status_code == 303, done.text
        assert (await laptop.get("/api/me")).json()["name"] == "dana"
    # The security log says the app went on, the wrong code, and the sign-in it completed.
    fields = [r.__dict__["security"] for r in caplog.records if r.name == SECURITY_LOGGER]
    events = [(f["event"], f["outcome"], f.get("second_factor")) for f in fields]
    assert events[-3:] == [
        ("second_factor_on", "success", None),
        ("sign_in", "failure", None),
        ("sign_in", "success", "totp"),
    ], events

    # A code works once: the same one again, from another browser, is refused.
    async with httpx.AsyncClient(base_url=desk.http.base_url) as thief:
        await _sign_in(thief, "dana", PASSWORD)
        assert (await thief.post("/signin/code", data={"code": next_code})).status_code == 401
        # A recovery code signs in once, however it is typed.
        typed = recovery[0].upper().replace("-", " ")
        assert (await thief.post("/signin/code", data={"code": typed})).status_code == 303
        assert (await thief.get("/api/me")).status_code == 200
    async with httpx.AsyncClient(base_url=desk.http.base_url) as again:
        await _sign_in(again, "dana", PASSWORD)
        assert (await again.post("/signin/code", data={"code": recovery[0]})).status_code == 401
        # Codes count against the name's sign-in limit (3 a minute here): the password
        # does not reset it while a code is still to come.
        await _sign_in(again, "dana", PASSWORD)
        limited = await again.post("/signin/code", data={"code": "123456"})
        assert limited.status_code == 429

    # A one-time link stands in for the password, not for the code.
    link = await Sessions(desk.db, timedelta(hours=1), timedelta(hours=2)).issue_link("dana")
    async with httpx.AsyncClient(base_url=desk.http.base_url) as by_link:
        used = await by_link.post(f"/signin/link/{link}")
        assert used.headers["location"] == "/signin/code"
        assert (await by_link.get("/api/me")).status_code == 401


async def test_an_admin_can_be_held_to_a_second_factor(
    db: Database, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger=SECURITY_LOGGER)
    async for desk in _desk(db, tmp_path, admin_second_factor="required"):
        await person(desk.db, "dana", Role.ADMIN)
        await _sign_in(desk.http, "dana", PASSWORD)
        assert (await desk.http.get("/api/users")).status_code == 403
        account = (await desk.http.get("/account")).text
        assert "Admins here must use a second factor" in account

        # A borrowed session cannot put its holder's app on the account: the password is
        # asked for first, and a wrong one counts like a sign-in.
        for given in ({"password": ""}, {"password": "not-her-password"}):
            said = await desk.http.post(
                "/account/second-factor/start", data=given, follow_redirects=True
            )
            assert "That is not your password, so nothing was set up." in html.unescape(said.text)
            assert "Off." in said.text
            assert "data-secret" not in said.text
        refusals = [
            r.__dict__["security"]
            for r in caplog.records
            if r.name == SECURITY_LOGGER and r.__dict__["security"]["event"] == "second_factor_on"
        ]
        assert [(f["outcome"], f["reason"]) for f in refusals] == [
            ("refused", "wrong password")
        ] * 2
        # A secret left waiting is not shown, nor taken, once its quarter of an hour is over.
        await desk.http.post("/account/second-factor/start", data={"password": PASSWORD})
        secret = secret_on((await desk.http.get("/account/second-factor")).text)
        async with desk.db.transaction() as session:
            await session.execute(
                update(SecondFactor).values(created_at=datetime.now(UTC) - timedelta(minutes=16))
            )
        assert "data-secret" not in (await desk.http.get("/account/second-factor")).text
        late = await desk.http.post(
            "/account/second-factor/confirm", data={"code": code(secret)}, follow_redirects=True
        )
        assert "set it up again" in late.text
        assert (await desk.http.get("/api/users")).status_code == 403

        await enrol(desk.http)
        assert (await desk.http.get("/api/users")).status_code == 200
        # A password typed there counts against the name's five a minute: the sixth wrong
        # one is refused.
        for _ in range(5):
            await desk.http.post("/account/second-factor/start", data={"password": "x"})
        limited = await desk.http.post("/account/second-factor/start", data={"password": "x"})
        assert limited.status_code == 429


async def test_one_password_buys_five_codes_and_an_account_twenty_wrong_ones_a_day(
    db: Database, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """With the password known, the six digits cannot be guessed over days: each sign-in
    takes five codes, then the password again; twenty wrong codes end the account's day."""
    caplog.set_level(logging.INFO, logger=SECURITY_LOGGER)
    roomy = {"sign_in_rate_limit": "100/minute", "sign_in_address_rate_limit": "100/minute"}
    async for desk in _desk(db, tmp_path, **roomy):
        await person(desk.db, "dana")
        await _sign_in(desk.http, "dana", PASSWORD)
        secret, recovery = await enrol(desk.http)
        async with httpx.AsyncClient(base_url=desk.http.base_url) as thief:
            await _sign_in(thief, "dana", PASSWORD)
            for _ in range(5):
                assert (
                    await thief.post("/signin/code", data={"code": "000000"})
                ).status_code == 401
            # The sixth, right or not, voids the step: back to the password.
            void = await thief.post(
                "/signin/code", data={"code": code(secret, 1)}, follow_redirects=True
            )
            assert "Sign in again with your password" in void.text
            assert (await thief.get("/api/me")).status_code == 401
            assert (await thief.get("/signin/code")).headers["location"] == "/signin"
            # A fresh password buys a fresh five: the right code signs in.
            await _sign_in(thief, "dana", PASSWORD)
            assert (
                await thief.post("/signin/code", data={"code": code(secret, 1)})
            ).status_code == 303
            await thief.post("/signout")
            # Fifteen more wrong codes make the day's twenty.
            for _ in range(3):
                await _sign_in(thief, "dana", PASSWORD)
                for _ in range(5):
                    wrong = await thief.post("/signin/code", data={"code": "000000"})
                    assert wrong.status_code == 401
            # Now not even a right code is taken, nor a recovery code, till the count slides.
            await _sign_in(thief, "dana", PASSWORD)
            over = await thief.post(
                "/signin/code", data={"code": recovery[0]}, follow_redirects=True
            )
            assert "Too many wrong codes were typed for your account today" in over.text
            assert "ask an admin to turn your second factor off" in over.text
            assert (await thief.get("/api/me")).status_code == 401
        # Turning it off asks for a code too, and is held to the same day's count.
        said = await desk.http.post(
            "/account/second-factor/off", data={"code": recovery[1]}, follow_redirects=True
        )
        assert "Too many wrong codes" in html.unescape(said.text)
        assert "On." in (await desk.http.get("/account/second-factor")).text
    lockouts = [
        r.__dict__["security"]["reason"]
        for r in caplog.records
        if r.name == SECURITY_LOGGER and r.__dict__["security"]["event"] == "lockout"
    ]
    assert lockouts == [
        "too many codes after one password",
        "too many wrong second-factor codes today",
        "too many wrong second-factor codes today",
    ]


async def test_pages_and_json_are_not_kept_by_the_browser(desk: Desk) -> None:
    await person(desk.db, "dana")
    await _sign_in(desk.http, "dana", PASSWORD)
    for path in ("/account", "/api/me", "/signin", "/api/users", "/docs"):
        answer = await desk.http.get(path)
        assert answer.headers.get("cache-control") == "no-store", path
    for path in ("/static/app.css", "/healthz", "/docs/assets/swagger-ui.css"):
        answer = await desk.http.get(path)
        assert "cache-control" not in answer.headers, path
    # /docs lives under the app's policy, which allows no inline script.
    docs = await desk.http.get("/docs")
    assert docs.headers["content-security-policy"] == CONTENT_SECURITY_POLICY
    assert "<script>" not in docs.text
