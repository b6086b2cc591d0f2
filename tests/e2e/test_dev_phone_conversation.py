"""The dev phone's call screen in Chromium plays ConversationRelay's part: with the call as
a conversation, picking up opens the call's real WebSocket from the browser (its handshake
signed by the server, offered as a subprotocol), the desk's words stream into a chat, the
person's words go as prompts, their keys as dtmf, and typing or speaking over the desk as
an interrupt. The desk (the offline rules here) answers from the request's facts, reads
the answer back and records it once confirmed.

Headless Chromium can neither speak nor listen: one call runs with the speech APIs
removed, the other with stand-ins for the browser's voice and recognizer (outside the
machine on a real laptop), so the page's use of them is exercised."""

from __future__ import annotations

import json

import httpx
import pytest
from playwright.async_api import Browser, ConsoleMessage, Page, WebSocket, expect
from temporalio.testing import WorkflowEnvironment

from opsdesk.access.roles import Role
from opsdesk.db import Database
from opsdesk.maintenance.service import get_request, request_handle
from opsdesk.maintenance.status import Stage
from opsdesk.settings import Settings
from tests.conftest import BROWSER
from tests.e2e.people import sign_in
from tests.e2e.test_dev_phone import reported
from tests.maintenance.helpers import drive_to
from tests.staff import person
from tests.waiting import eventually

pytestmark = BROWSER

SERVER_WAIT = 15_000
SIDEWAYS = "document.documentElement.scrollWidth - document.documentElement.clientWidth"

NO_SPEECH = """
for (const name of ["SpeechRecognition", "webkitSpeechRecognition", "speechSynthesis",
                    "SpeechSynthesisUtterance"]) {
  delete window[name];
  if (name in window) Object.defineProperty(window, name, { value: undefined });
}
"""

FAKE_SPEECH = """
(() => {
  // A voice that starts each utterance, reaches its third word, and never finishes unless
  // cancelled: the desk is always mid-sentence when the person acts.
  const voice = { spoken: [], cancelled: 0, playing: [] };
  window.fakeVoice = voice;
  window.SpeechSynthesisUtterance = class { constructor(text) { this.text = text; } };
  const synth = {
    speak(u) {
      voice.spoken.push(u.text);
      voice.playing.push(u);
      setTimeout(() => {
        u.onstart({ type: "start" });
        for (const word of [...u.text.matchAll(/\\S+/g)].slice(0, 3)) {
          u.onboundary({ type: "boundary", charIndex: word.index, charLength: word[0].length });
        }
      }, 0);
    },
    cancel() {
      voice.cancelled += 1;
      const playing = voice.playing.splice(0);
      for (const u of playing) u.onerror({ type: "error", error: "interrupted" });
    },
    getVoices() { return []; },
  };
  Object.defineProperty(window, "speechSynthesis", { value: synth, configurable: true });
  // A recognizer the test speaks into.
  window.SpeechRecognition = window.webkitSpeechRecognition = class {
    start() { window.fakeRecognizer = this; }
    stop() { this.onend({ type: "end" }); }
    abort() { this.stop(); }
  };
  window.speakInto = (text) => {
    const r = window.fakeRecognizer;
    const result = [{ transcript: text }];
    result.isFinal = true;
    r.onspeechstart({ type: "speechstart" });
    r.onresult({ resultIndex: 0, results: [result] });
    r.stop();
  };
})();
"""


@pytest.fixture
def settings(settings: Settings) -> Settings:
    """The desk's settings with every call a conversation, and no silence asked about
    while the test types."""
    return settings.model_copy(update={"phone_conversation": "on", "phone_silence": 600.0})


async def _call_waiting(desk: httpx.AsyncClient, dev_env: WorkflowEnvironment) -> str:
    """A request whose owner is phoned to approve the estimate; the call's title."""
    request_id = await reported(desk)
    # Over the owner's 250 dollar limit: the owner is asked to approve the estimate.
    await drive_to(request_handle(dev_env.client, request_id), Stage.ESTIMATE_APPROVAL, 30000)
    title = f"Call: review the estimate, request {request_id}"
    await eventually(lambda: desk.get("/mailbox/phone"), lambda r: title in r.text)
    return request_id


async def _pick_up(page: Page, desk: httpx.AsyncClient, request_id: str) -> list[dict[str, str]]:
    """Open the call and pick up; the messages the page sends on the call's WebSocket."""
    sent: list[dict[str, str]] = []

    def watch(socket: WebSocket) -> None:
        socket.on("framesent", lambda payload: sent.append(json.loads(payload)))

    page.on("websocket", watch)
    await page.goto(f"{desk.base_url}/mailbox/phone")
    title = f"Call: review the estimate, request {request_id}"
    call = page.locator("li[data-call]").filter(has_text=title)
    await call.get_by_role("link").first.click()
    await page.get_by_role("button", name="Pick up").click()
    return sent


async def test_an_owner_talks_with_the_desk_on_the_call_screen(
    desk: httpx.AsyncClient, page: Page, dev_env: WorkflowEnvironment
) -> None:
    complaints: list[str] = []

    def heard(message: ConsoleMessage) -> None:
        if message.type == "error" or "Content Security Policy" in message.text:
            complaints.append(message.text)

    page.on("console", heard)
    page.on("pageerror", lambda error: complaints.append(str(error)))
    await page.add_init_script(NO_SPEECH)
    await page.set_viewport_size({"width": 1440, "height": 900})
    request_id = await _call_waiting(desk, dev_env)
    sent = await _pick_up(page, desk, request_id)

    chat = page.locator("[data-chat]")
    desk_said = chat.locator("li.desk")
    await expect(desk_said.first).to_contain_text(
        "Do you approve the estimate?", timeout=SERVER_WAIT
    )
    await expect(desk_said.first).to_contain_text("You can ask me about it")
    assert sent[0]["type"] == "setup"
    assert sent[0]["callSid"].startswith("CA")
    # The desk's words reach screen readers whole, once its turn is over.
    await expect(page.locator("[aria-live=polite][data-announce]")).to_contain_text(
        "Do you approve the estimate?"
    )
    # Who is calling, and what to say or press, for a person who has never seen a call.
    await expect(page.get_by_text("You are the owner")).to_be_visible()
    await expect(page.get_by_text("press 1 to approve and 2 to decline")).to_be_visible()
    # No voice and no microphone here: their controls stay hidden, and typing works.
    await expect(page.get_by_role("button", name="Speak")).to_be_hidden()
    await expect(page.get_by_label("Read the desk", exact=False)).to_be_hidden()

    words = page.get_by_label("Your words")
    await words.fill("how much is it?")
    await words.press("Enter")
    await expect(chat.locator("li.owner p").last).to_have_text("how much is it?")
    await expect(desk_said.nth(1)).to_contain_text("It is 300 dollars.", timeout=SERVER_WAIT)
    prompt = {"type": "prompt", "voicePrompt": "how much is it?", "lang": "en-US", "last": True}
    assert prompt in sent
    assert await page.evaluate(SIDEWAYS) <= 0, "the call screen scrolls sideways at 1440 px"

    await page.set_viewport_size({"width": 390, "height": 844})
    await page.get_by_role("group", name="Keypad").get_by_role("button", name="1").click()
    await expect(desk_said.nth(2)).to_contain_text(
        "So you approve the estimate of 300 dollars. Shall I record that?", timeout=SERVER_WAIT
    )
    assert {"type": "dtmf", "digit": "1"} in sent
    assert await page.evaluate(SIDEWAYS) <= 0, "the call screen scrolls sideways at 390 px"
    await words.fill("Yes, go ahead.")
    await words.press("Enter")
    # The desk records, ends the conversation, and relay-ended says its last words.
    await expect(desk_said.last).to_contain_text(
        "I have recorded that you approve the estimate of 300 dollars", timeout=SERVER_WAIT
    )
    await expect(desk_said.last).to_contain_text("Thank you, goodbye.")
    await expect(page.locator("[data-line-state]")).to_have_text("The desk hung up.")
    await expect(page.get_by_role("group", name="Keypad")).to_be_hidden()
    assert not [m for m in sent if m["type"] == "interrupt"]
    assert await page.evaluate(SIDEWAYS) <= 0, "the ended call scrolls sideways at 390 px"

    state = await get_request(dev_env.client, request_id)
    asked = state.latest(Stage.ESTIMATE_APPROVAL)
    assert asked is not None
    assert asked.answer is not None
    assert (asked.answer.channel, asked.answer.what) == ("phone", "approved")
    assert "Owner: how much is it?" in asked.answer.note
    assert "Owner: (pressed 1)" in asked.answer.note
    call_page = page.url
    await page.get_by_role("button", name="Done: end the call").click()
    await expect(page.locator("[data-notice]")).to_contain_text("hung up")
    # The call has ended: asking relay-ended again is refused with a sentence.
    again = await page.request.post(
        f"{call_page}/relay-ended", form={"handoff": ""}, headers={"Accept": "application/json"}
    )
    assert again.status == 409
    assert (await again.json())["error"]["message"] == (
        "this call has ended, so there is nothing to answer"
    )
    await page.goto(f"{desk.base_url}/maintenance/{request_id}")
    await expect(page.get_by_text("Owner: how much is it?").first).to_be_attached()
    assert complaints == []


async def test_speaking_over_the_desk_stops_its_turn(
    desk: httpx.AsyncClient,
    page: Page,
    dev_env: WorkflowEnvironment,
    browser: Browser,
    db: Database,
) -> None:
    page.on("pageerror", lambda error: pytest.fail(f"the call screen failed: {error}"))
    await page.add_init_script(FAKE_SPEECH)
    request_id = await _call_waiting(desk, dev_env)
    sent = await _pick_up(page, desk, request_id)
    chat = page.locator("[data-chat]")
    desk_said = chat.locator("li.desk")
    state = page.locator("[data-line-state]")
    await expect(desk_said.first).to_contain_text("Do you approve", timeout=SERVER_WAIT)
    await expect(state).to_have_text("The desk is speaking…")
    opening = await page.evaluate("fakeVoice.spoken.join(' ')")
    assert "Do you approve the estimate?" in opening

    # A viewer may watch the call but not take it: their page signs no handshake.
    await person(db, "watcher", Role.VIEWER)
    watching = await browser.new_context()
    try:
        viewer = await watching.new_page()
        sockets: list[WebSocket] = []

        def opened(socket: WebSocket) -> None:
            sockets.append(socket)

        viewer.on("websocket", opened)
        await sign_in(viewer, str(desk.base_url), "watcher")
        await viewer.goto(page.url)
        await expect(viewer.locator("[data-conversation-note]")).to_contain_text(
            "Only someone who may act on requests"
        )
        assert "opsdesk-signature" not in await viewer.content()
        assert sockets == []
    finally:
        await watching.close()

    # Typing while the desk speaks: the voice stops at once, and the desk hears how far
    # its words got (three words, as far as the voice had read).
    words = page.get_by_label("Your words")
    await words.fill("how much is it?")
    await expect(desk_said.first).to_contain_text("stopped: you spoke over the desk")
    assert await page.evaluate("fakeVoice.cancelled") >= 1
    interrupts = [m for m in sent if m["type"] == "interrupt"]
    assert len(interrupts) == 1
    assert interrupts[0]["utteranceUntilInterrupt"] == " ".join(opening.split()[:3])
    await words.press("Enter")
    await expect(desk_said.nth(1)).to_contain_text("It is 300 dollars.", timeout=SERVER_WAIT)

    # A key while the desk speaks stops the voice too; the desk reads the approval back.
    await page.get_by_role("group", name="Keypad").get_by_role("button", name="1").click()
    await expect(desk_said.nth(1)).to_contain_text("stopped: you pressed 1")
    await expect(desk_said.nth(2)).to_contain_text("Shall I record that?", timeout=SERVER_WAIT)

    # Saying yes over the read-back cuts it short: a read-back the owner did not hear
    # cannot be confirmed, so the desk reads it back again and records nothing.
    await page.get_by_role("button", name="Speak").click()
    await expect(state).to_have_text("Listening: speak now.")
    await page.evaluate("speakInto('yes go ahead')")
    await expect(desk_said.nth(2)).to_contain_text("stopped: you spoke over the desk")
    await expect(chat.locator("li.owner p").last).to_have_text("yes go ahead")
    await expect(desk_said.nth(3)).to_contain_text("Shall I record that?", timeout=SERVER_WAIT)
    interrupts = [m for m in sent if m["type"] == "interrupt"]
    assert interrupts[-1]["utteranceUntilInterrupt"] == "So you approve"

    # Hanging up closes the line: the call ends, nothing is recorded, and what was said
    # (the cut read-back marked) goes on the request's timeline.
    call_page = page.url
    await page.get_by_role("button", name="Hang up").click()
    await expect(page.locator("[data-notice]")).to_contain_text("hung up")
    await page.goto(call_page)
    await expect(page.locator("[data-conversation-note]")).to_contain_text(
        "This call was a conversation"
    )

    def transcribed(state_now: object) -> bool:
        timeline = getattr(state_now, "timeline", [])
        return any("Desk: So you approve (interrupted)" in entry.note for entry in timeline)

    found = await eventually(lambda: get_request(dev_env.client, request_id), transcribed)
    asked = found.latest(Stage.ESTIMATE_APPROVAL)
    assert asked is not None
    assert asked.answer is None
