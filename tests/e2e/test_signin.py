"""A person signs in, is sent back where they were going, and signs out; the first admin
signs in by the link `opsdesk dev` prints and sets a password."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta

import httpx
import pytest
from playwright.async_api import Browser, Page, expect

from opsdesk.access.roles import Role
from opsdesk.access.sessions import Sessions
from opsdesk.access.users import Users
from opsdesk.db import Database
from tests.conftest import BROWSER
from tests.e2e.people import sign_in
from tests.orders.helpers import body, until_status
from tests.staff import PASSWORD, person

pytestmark = BROWSER


@pytest.fixture
async def stranger(browser: Browser) -> AsyncIterator[Page]:
    """A tab that has not signed in."""
    context = await browser.new_context(viewport={"width": 1280, "height": 900})
    page = await context.new_page()
    page.set_default_timeout(20_000)
    yield page
    await context.close()


async def test_sign_in_leads_back_and_sign_out_leaves(
    site: httpx.AsyncClient, stranger: Page
) -> None:
    await stranger.goto(f"{site.base_url}/maintenance")
    await expect(stranger).to_have_title("Sign in · Ops Desk")
    await expect(stranger.get_by_role("navigation", name="Sections")).to_have_count(0)

    await stranger.get_by_label("Name").fill("ops")
    await stranger.get_by_label("Password").fill("not it")
    await stranger.get_by_role("button", name="Sign in", exact=True).click()
    await expect(stranger.get_by_role("alert")).to_have_text("That name and password do not match.")

    await stranger.get_by_label("Password").fill(PASSWORD)
    await stranger.get_by_role("button", name="Sign in", exact=True).click()
    await expect(stranger).to_have_url(f"{site.base_url}/maintenance")
    await expect(stranger.locator("[data-who]")).to_have_text("ops")

    await stranger.get_by_role("button", name="Sign out").click()
    await expect(stranger).to_have_title("Sign in · Ops Desk")
    await expect(stranger.locator("[data-notice]")).to_have_text("Signed out.")
    await stranger.goto(f"{site.base_url}/")
    await expect(stranger).to_have_title("Sign in · Ops Desk")


async def test_the_first_admin_signs_in_by_link_and_sets_a_password(
    site: httpx.AsyncClient, db: Database, stranger: Page
) -> None:
    await Users(db).add("admin", Role.ADMIN)
    secret = await Sessions(db, timedelta(hours=2), timedelta(hours=12)).issue_link("admin")

    await stranger.goto(f"{site.base_url}/signin/link/{secret}")
    await stranger.get_by_role("button", name="Sign in").click()
    await expect(stranger.locator("[data-notice]")).to_have_text(
        "Signed in as admin. Set a password to sign in next time."
    )
    chosen = "a long and private passphrase"
    await stranger.get_by_label("New password", exact=True).fill(chosen)
    await stranger.get_by_label("New password again").fill(chosen)
    await stranger.get_by_role("button", name="Save password").click()
    await expect(stranger.locator("[data-notice]")).to_have_text(
        "Password saved. Your other sessions are signed out."
    )

    await stranger.get_by_role("button", name="Sign out").click()
    await stranger.get_by_label("Name").fill("admin")
    await stranger.get_by_label("Password").fill(chosen)
    await stranger.get_by_role("button", name="Sign in", exact=True).click()
    await expect(stranger.locator("[data-who]")).to_have_text("admin")

    # The link was spent by its first use.
    await stranger.goto(f"{site.base_url}/signin/link/{secret}")
    await stranger.get_by_role("button", name="Sign in").click()
    await expect(stranger.get_by_role("alert")).to_contain_text("used already")


async def test_a_viewer_is_shown_no_buttons_and_refused_the_action(
    site: httpx.AsyncClient, db: Database, stranger: Page
) -> None:
    order_id = (await site.post("/api/orders", json=body())).json()["order_id"]
    await until_status(site, order_id, "CONFIRMED")
    await person(db, "auditor", Role.VIEWER)
    await sign_in(stranger, str(site.base_url), "auditor")

    await stranger.goto(f"{site.base_url}/orders/{order_id}")
    await expect(stranger.locator(".order-head")).to_contain_text(order_id)
    await expect(stranger.get_by_role("button", name="Cancel order")).to_have_count(0)
    await expect(stranger.get_by_role("button", name="Mark shipped")).to_have_count(0)
    await stranger.goto(f"{site.base_url}/")
    await expect(stranger.get_by_role("button", name="Create order")).to_have_count(0)
    await expect(stranger.get_by_role("button", name="Restock")).to_have_count(0)

    # A form posted anyway (an old tab, a crafted request) is refused, saying why.
    refused = await stranger.request.post(
        f"{site.base_url}/orders/{order_id}/cancel",
        form={"reason": "not mine to cancel"},
        headers={"Origin": str(site.base_url).rstrip("/"), "Accept": "text/html"},
    )
    assert refused.status == 403
    assert "Auditor is a viewer; this needs the operator role." in await refused.text()
    assert (await site.get(f"/api/orders/{order_id}")).json()["status"] == "CONFIRMED"
