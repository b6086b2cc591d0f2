"""The dev phone: on a laptop without Twilio, ``opsdesk dev`` puts calls here instead, and
the Mailbox page plays Twilio's part. It posts to the call's real webhooks what Twilio
would post, signed with the webhook key as Twilio signs, and reads back the TwiML they
answer: what the callee hears, and where their key press goes next. So the production
path (signature check, token, update) runs end to end, with a person at the keypad.

Each turn is kept as the call's screen: a key press posts once and the browser is sent to
the call's page, which shows the last turn again however often it is reloaded.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET  # parses only our own webhook's TwiML
from dataclasses import dataclass, field

import httpx
from starlette.types import ASGIApp

from opsdesk.notify.models import OutboxEntry
from opsdesk.notify.voice import CALLS_PATH, SIGNATURE_HEADER, WebhookSignature, call_sid

DEV_CALLER = "+15005550006"
"""The number dev calls come from (Twilio's test number that always works)."""


class NotOurs(ValueError):
    """An address that is not one of this stack's call webhooks: the dev phone signs
    nothing else."""


@dataclass
class PhoneTurn:
    """What one webhook answered: the words said, and what happens next."""

    said: list[str] = field(default_factory=list)
    listening_at: str | None = None
    """Where the next key press or words go (a ``<Gather>``'s action); None: hung up."""
    status: int = 200
    problem: str = ""
    """Why the webhook did not answer with TwiML (a refused signature, say)."""


@dataclass
class Screen:
    """A call's page as its last turn left it."""

    turn: PhoneTurn
    heard: str = ""
    """What the person at the dev phone last did: "You pressed 1"."""


SCREENS_KEPT = 200
"""Screens kept in memory, the oldest forgotten first: a dev tool's calls are few, and a
forgotten screen only asks the person to pick up again."""


class DevPhone:
    """Sends Twilio's requests for dev calls to the app itself, in process."""

    def __init__(self, app: ASGIApp, public_url: str, signature: WebhookSignature) -> None:
        self.app = app
        self.public_url = public_url.rstrip("/")
        self.signature = signature
        self._screens: dict[int, Screen] = {}

    def show(self, entry_id: int, screen: Screen) -> None:
        """Keep ``screen`` as the call's page."""
        self._screens.pop(entry_id, None)
        self._screens[entry_id] = screen
        while len(self._screens) > SCREENS_KEPT:
            del self._screens[next(iter(self._screens))]

    def screen(self, entry_id: int) -> Screen | None:
        return self._screens.get(entry_id)

    def ours(self, url: str) -> bool:
        return url.startswith(f"{self.public_url}{CALLS_PATH}/")

    async def pick_up(self, entry: OutboxEntry) -> PhoneTurn:
        return await self._post(entry, self._voice_url(entry), {"CallStatus": "in-progress"})

    async def answer(
        self, entry: OutboxEntry, listening_at: str, *, digits: str = "", speech: str = ""
    ) -> PhoneTurn:
        params = {"CallStatus": "in-progress"}
        if digits:
            params["Digits"] = digits
        if speech:
            params["SpeechResult"] = speech
            params["Confidence"] = "0.9"
        return await self._post(entry, listening_at, params)

    async def end(self, entry: OutboxEntry, outcome: str, seconds: int = 0) -> PhoneTurn:
        """How the call ended, as Twilio's status callback says it."""
        params = {"CallStatus": outcome, "CallDuration": str(seconds)}
        return await self._post(entry, self._voice_url(entry) + "/status", params)

    def _voice_url(self, entry: OutboxEntry) -> str:
        if entry.channel != "phone" or not entry.callback_url:
            raise NotOurs("this outbox entry is not a call the dev phone took")
        return entry.callback_url

    async def _post(self, entry: OutboxEntry, url: str, extra: dict[str, str]) -> PhoneTurn:
        if not self.ours(url):
            raise NotOurs(f"{url} is not one of this stack's call webhooks")
        params = {
            "AccountSid": "AC" + "0" * 32,
            "CallSid": entry.provider_id or call_sid(entry.key),
            "From": DEV_CALLER,
            "To": entry.to,
            "Direction": "outbound-api",
            **extra,
        }
        headers = {SIGNATURE_HEADER: self.signature.sign(url, params)}
        transport = httpx.ASGITransport(app=self.app)
        async with httpx.AsyncClient(transport=transport, base_url=self.public_url) as client:
            response = await client.post(url, data=params, headers=headers)
        if response.status_code == 204:
            return PhoneTurn(status=204)
        if response.headers.get("content-type", "").split(";")[0] != "application/xml":
            return PhoneTurn(status=response.status_code, problem=response.text[:500])
        return _read(response.text, response.status_code)


def _read(twiml: str, status: int) -> PhoneTurn:
    turn = PhoneTurn(status=status)
    root = ET.fromstring(twiml)  # noqa: S314 (our own webhook's answer)
    if root.find("Connect/ConversationRelay") is not None:
        turn.problem = (
            "This call is a conversation (OPSDESK_PHONE_CONVERSATION=on), and the dev phone "
            "plays only the keypad call: set OPSDESK_PHONE_CONVERSATION=auto or off to "
            "answer it here."
        )
        return turn
    for element in root:
        if element.tag == "Say":
            turn.said.append(element.text or "")
        elif element.tag == "Gather":
            turn.said.extend(say.text or "" for say in element.iter("Say"))
            turn.listening_at = element.get("action")
    return turn
