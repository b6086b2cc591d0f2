"""The Temporal UI that ``opsdesk dev`` starts shows payloads decoded to the person signed
in to the dashboard, with nothing to set up: no ciphertext, no "could not connect"."""

from __future__ import annotations

import asyncio
import re
import signal
from pathlib import Path

from playwright.async_api import Browser, expect

from tests.conftest import STACKS
from tests.processes import DevStackProcess

pytestmark = STACKS


async def test_the_temporal_ui_decodes_payloads_for_the_signed_in_person(
    tmp_path: Path, browser: Browser
) -> None:
    stack = DevStackProcess(data_dir=tmp_path / "state")
    stack.start()
    context = await browser.new_context(viewport={"width": 1440, "height": 900})
    try:
        await asyncio.to_thread(stack.wait_ready)
        [link] = re.findall(rf"{re.escape(stack.url)}/signin/link/[\w-]+", stack.output())
        page = await context.new_page()
        page.set_default_timeout(30_000)
        await page.goto(link)
        await page.get_by_role("button", name="Sign in").click()
        await expect(page).to_have_url(re.compile(r"/account"))

        # The demo feed's poller runs from the start; its input is ciphertext on the server.
        ui = f"http://127.0.0.1:{stack.ui_port}"
        await page.goto(f"{ui}/namespaces/default/workflows/pms-poller-pms")
        body = page.locator("body")
        # The UI reads the history, then has every payload decoded.
        await expect(body).to_contain_text('"poll_interval"', timeout=60_000)
        await expect(body).to_contain_text('"source": "pms"')
        await expect(body).not_to_contain_text("could not connect")

        # Signed out, the UI cannot decode: the codec endpoint answers only people.
        await context.clear_cookies()
        await page.reload()
        ciphertext = re.compile(r'Input\W*"[A-Za-z0-9+/=]{40,}"')
        await expect(body).to_contain_text(ciphertext, timeout=60_000)
        await expect(body).not_to_contain_text('"source": "pms"')
    finally:
        await context.close()
        assert await asyncio.to_thread(stack.stop, signal.SIGTERM) == 0, stack.output()
