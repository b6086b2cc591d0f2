"""Signing in through an OpenID Connect provider (a fake one on loopback, Authlib as in
production): the provider's claim decides the role, on every sign-in."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from pydantic import SecretStr
from temporalio.client import Client
from temporalio.contrib.pydantic import pydantic_data_converter

from opsdesk.access.roles import Role, role_for
from opsdesk.access.users import Users
from opsdesk.app import create_app
from opsdesk.db import Database
from opsdesk.settings import Settings
from tests.conftest import free_port
from tests.http import served
from tests.staff import person
from tests.web.fake_oidc import CLIENT_ID, CLIENT_SECRET, FakeProvider, fake_provider


@pytest.fixture
async def provider() -> AsyncIterator[FakeProvider]:
    async with fake_provider() as fake:
        yield fake


@pytest.fixture
async def desk(
    db: Database, tmp_path: Path, provider: FakeProvider
) -> AsyncIterator[httpx.AsyncClient]:
    nowhere = await Client.connect(
        f"127.0.0.1:{free_port()}", lazy=True, data_converter=pydantic_data_converter
    )
    port = free_port()
    settings = Settings(
        data_dir=tmp_path,
        database_url=db.url.render_as_string(hide_password=False),
        public_url=f"http://127.0.0.1:{port}",
        oidc_issuer=provider.url,
        oidc_client_id=CLIENT_ID,
        oidc_client_secret=SecretStr(CLIENT_SECRET),
        oidc_role_claim="groups",
        oidc_roles={"ops-leads": "admin", "ops": "operator"},
        oidc_label="Example SSO",
    )
    async with (
        served(create_app(settings, temporal=nowhere), port) as url,
        httpx.AsyncClient(base_url=url, timeout=30) as http,
    ):
        yield http


async def _through_provider(desk: httpx.AsyncClient, next_path: str = "/") -> httpx.Response:
    """Click "Sign in with …", let the provider send the browser back, land."""
    start = await desk.get("/signin/oidc", params={"next": next_path})
    assert start.status_code == 302, start.text
    async with httpx.AsyncClient() as browser_at_provider:
        back = await browser_at_provider.get(start.headers["location"])
    assert back.status_code == 302, back.text
    return await desk.get(back.headers["location"])


async def test_the_providers_group_gives_the_role(
    desk: httpx.AsyncClient, provider: FakeProvider, db: Database
) -> None:
    page = await desk.get("/signin")
    assert "Sign in with Example SSO" in page.text

    provider.claims = {
        "sub": "u1",
        "email": "Lee@Example.com",
        "email_verified": True,
        "groups": ["staff", "ops"],
    }
    landed = await _through_provider(desk, "/maintenance")
    assert landed.status_code == 303, landed.text
    assert landed.headers["location"] == "/maintenance"
    me = (await desk.get("/api/me")).json()
    assert me == {"name": "lee@example.com", "role": "operator", "kind": "user"}

    # Promoted at the provider: the next sign-in carries it over.
    desk.cookies.clear()
    provider.claims = {**provider.claims, "groups": ["ops-leads"]}
    await _through_provider(desk)
    assert (await desk.get("/api/me")).json()["role"] == "admin"
    user = await Users(db).get("lee@example.com")
    assert user is not None
    assert (user.role, user.has_password, user.from_provider) == (Role.ADMIN, False, True)

    # Such a person sets no password here: leaving the provider is leaving Ops Desk.
    refused = await desk.post("/account/password", data={"password": "x" * 20, "again": "x" * 20})
    assert "no password here" in (await desk.get(refused.headers["location"])).text


async def test_a_provider_account_cannot_take_over_a_local_one(
    desk: httpx.AsyncClient, provider: FakeProvider, db: Database
) -> None:
    await person(db, "admin@example.com", Role.ADMIN)
    # Someone at the provider whose (verified) email is the local admin's name.
    provider.claims = {
        "sub": "intruder",
        "email": "admin@example.com",
        "email_verified": True,
        "groups": ["ops"],
    }
    refused = await _through_provider(desk)
    assert refused.status_code == 403
    assert "belongs to another account here" in refused.text
    user = await Users(db).get("admin@example.com")
    assert user is not None
    assert (user.role, user.from_provider) == (Role.ADMIN, False)
    # An email the provider has not verified is no name at all.
    provider.claims = {"sub": "u3", "email": "someone@example.com", "groups": ["ops"]}
    unverified = await _through_provider(desk)
    assert unverified.status_code == 403
    assert "no verified email" in unverified.text


async def test_no_role_at_the_provider_is_refused(
    desk: httpx.AsyncClient, provider: FakeProvider
) -> None:
    # A group called "admin" at the provider is nothing here unless the mapping says so.
    provider.claims = {
        "sub": "u2",
        "email": "guest@example.com",
        "email_verified": True,
        "groups": ["sales", "admin"],
    }
    refused = await _through_provider(desk)
    assert refused.status_code == 403
    assert "guest@example.com has no Ops Desk role there" in refused.text
    assert (await desk.get("/api/me")).status_code == 401


async def test_a_callback_the_browser_did_not_start_is_refused(desk: httpx.AsyncClient) -> None:
    forged = await desk.get("/signin/oidc/callback", params={"code": "x", "state": "y"})
    assert forged.status_code == 400
    assert "failed" in forged.text
    assert (await desk.get("/api/me")).status_code == 401


def test_the_claim_maps_to_the_highest_role() -> None:
    mapping = {"leads": "admin", "staff": "viewer"}
    assert role_for(["staff", "leads"], mapping) is Role.ADMIN
    assert role_for("operator", mapping) is None  # with a mapping, only the mapping grants
    assert role_for("operator", {}) is Role.OPERATOR
    assert role_for(["sales"], mapping) is None
    assert role_for(None, mapping) is None
