"""Gas, smoke and carbon monoxide on the tenant's form, in Chromium at a desktop's width and
a phone's: the form says up front to leave and call the emergency services first, and a
report that names one of them lands on a page that says it again, before the thanks."""

from __future__ import annotations

import httpx
from playwright.async_api import Browser, expect

from tests.conftest import BROWSER
from tests.e2e.test_link_pages import FITS, SERVER_WAIT, TENANT, WIDTHS, tab
from tests.e2e.test_maintenance_walk import _building_label

pytestmark = BROWSER

CALL_FIRST = "leave the home now and call 911 from outside"


async def test_the_tenant_is_told_to_call_911_first_for_gas_smoke_or_carbon_monoxide(
    desk: httpx.AsyncClient, browser: Browser
) -> None:
    for width in WIDTHS:
        async with tab(browser, width) as page:
            await page.goto(f"{desk.base_url}/report")
            # Up front: above the form, on the first screen.
            advice = page.locator("[data-call-first]")
            await expect(advice).to_contain_text(CALL_FIRST)
            box = await advice.bounding_box()
            form = await page.locator("form").bounding_box()
            assert box is not None
            assert form is not None
            assert box["y"] + box["height"] <= min(form["y"], 900), width
            assert await page.evaluate(FITS), width

            await page.get_by_label("Building").select_option(label=_building_label())
            await page.get_by_label("Unit").fill("1A")
            await page.get_by_label("Your name").fill("Sam Rivera")
            await page.get_by_label("Email").fill(TENANT)
            await page.get_by_label("What is wrong?").fill(
                "The carbon monoxide alarm in the hallway is going off and won't stop"
            )
            await page.get_by_role("button", name="Send the report").click()
            received = page.locator("[data-received]")
            await expect(received).to_contain_text(
                "Thank you: we have your report", timeout=SERVER_WAIT
            )
            alert = received.get_by_role("alert")
            await expect(alert).to_contain_text(CALL_FIRST)
            assert await page.evaluate(FITS), width

    # A report of something else (or an address made up) thanks without the advice.
    request_id = page.url.rsplit("/", 1)[1].split("?")[0]
    plain = await desk.get(f"/report/received/{request_id}?call=no_heat")
    assert plain.status_code == 200
    assert "Thank you: we have your report" in plain.text
    assert CALL_FIRST not in plain.text
