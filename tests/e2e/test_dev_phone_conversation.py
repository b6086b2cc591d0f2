"""The dev phone in Chromium plays ConversationRelay's part: with the call as a
conversation, picking up opens the call's real WebSocket (signed as Twilio signs its
handshake), the person's words go as prompts and their keys as dtmf, and the desk (the
offline rules here) answers from the request's facts, reads the answer back and records
it once confirmed."""

from __future__ import annotations

import httpx
import pytest
from playwright.async_api import Page, expect
from temporalio.testing import WorkflowEnvironment

from opsdesk.maintenance.service import get_request, request_handle
from opsdesk.maintenance.status import Stage
from opsdesk.settings import Settings
from tests.conftest import BROWSER
from tests.maintenance.helpers import drive_to
from tests.waiting import eventually

pytestmark = BROWSER

SERVER_WAIT = 15_000


@pytest.fixture
def settings(settings: Settings) -> Settings:
    """The desk's settings with every call a conversation."""
    return settings.model_copy(update={"phone_conversation": "on"})


async def test_an_owner_talks_with_the_desk_on_the_dev_phone(
    desk: httpx.AsyncClient, page: Page, dev_env: WorkflowEnvironment
) -> None:
    created = await desk.post(
        "/api/maintenance/requests",
        json={
            "property_id": "harbor-12",
            "unit": "1A",
            "tenant": {"name": "Sam Rivera", "email": "sam.rivera@example.com"},
            "description": "The bathroom sink drains slowly and its tap drips all night",
        },
    )
    assert created.status_code == 201, created.text
    request_id: str = created.json()["request_id"]
    # Over the owner's 250 dollar limit: the owner is asked to approve the estimate.
    await drive_to(request_handle(dev_env.client, request_id), Stage.ESTIMATE_APPROVAL, 30000)
    title = f"Call: review the estimate, request {request_id}"
    await eventually(lambda: desk.get("/mailbox/phone"), lambda r: title in r.text)

    await page.goto(f"{desk.base_url}/mailbox/phone")
    call = page.locator("li[data-call]").filter(has_text=title)
    await call.get_by_role("link").first.click()
    await page.get_by_role("button", name="Pick up").click()
    said = page.locator("[data-said]")
    await expect(said).to_contain_text("Do you approve the estimate?", timeout=SERVER_WAIT)
    await expect(said).to_contain_text("You can ask me about it")

    words = page.get_by_label("Or say something")
    await words.fill("How much is it?")
    await words.press("Enter")
    await expect(said).to_contain_text("It is 300 dollars.", timeout=SERVER_WAIT)
    await words.fill("Yes, go ahead.")
    await words.press("Enter")
    await expect(said).to_contain_text(
        "So you approve the estimate of 300 dollars. Shall I record that?", timeout=SERVER_WAIT
    )
    await page.get_by_role("group", name="Keypad").get_by_role("button", name="1").click()
    await expect(said).to_contain_text(
        "I have recorded that you approve the estimate of 300 dollars", timeout=SERVER_WAIT
    )
    await expect(said).to_contain_text("Thank you, goodbye.")
    await expect(page.get_by_role("group", name="Keypad")).to_have_count(0)

    state = await get_request(dev_env.client, request_id)
    asked = state.latest(Stage.ESTIMATE_APPROVAL)
    assert asked is not None
    assert asked.answer is not None
    assert (asked.answer.channel, asked.answer.what) == ("phone", "approved")
    assert "Owner: How much is it?" in asked.answer.note
