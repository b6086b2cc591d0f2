"""Phone calls through Twilio: placing them (the REST API, through the official SDK), and
telling Twilio's requests to us from anyone else's (``X-Twilio-Signature``).

A call's webhook addresses carry a signed token (a ``LinkGrant`` with channel ``phone``):
``/phone/calls/<token>`` is fetched when the callee picks up, ``.../gather`` takes what
they pressed or said, ``.../status`` hears how the call ended. The desk that asked the
question serves those routes; this module only knows their shape.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Protocol

from twilio.base.exceptions import TwilioRestException
from twilio.http.async_http_client import AsyncTwilioHttpClient
from twilio.request_validator import RequestValidator
from twilio.rest import Client

from opsdesk.errors import CallRejected
from opsdesk.keys import local_secret
from opsdesk.settings import Settings

CALLS_PATH = "/phone/calls"
RELAY_PATH = "/phone/relay"
"""A call's conversation: the WebSocket Twilio's ConversationRelay opens (``/<token>``)."""
DEV_AUTH_TOKEN_FILE = "dev-phone.key"  # noqa: S105 (a file name, not a secret)
SIGNATURE_HEADER = "X-Twilio-Signature"
RING_SECONDS = 30
"""How long a call rings before Twilio gives up (``no-answer``)."""
CLOCK_SKEW = timedelta(seconds=5)
"""How far Twilio's clock may be behind ours when a retry looks for a call it placed."""


@dataclass(frozen=True)
class CallUrls:
    voice: str
    """Fetched when the callee picks up: the first thing they hear."""
    gather: str
    status: str


def call_sid(key: str) -> str:
    """A stable, Twilio-shaped id for the dev call with this outbox key (``CA`` and 32 hex
    digits)."""
    return "CA" + hashlib.sha256(key.encode()).hexdigest()[:32]


def call_urls(public_url: str, token: str) -> CallUrls:
    voice = f"{public_url.rstrip('/')}{CALLS_PATH}/{token}"
    return CallUrls(voice=voice, gather=f"{voice}/gather", status=f"{voice}/status")


def relay_url(public_url: str, token: str) -> str:
    """The conversation's WebSocket address: our public URL's host, ``wss`` (``ws`` for a
    plain-http laptop)."""
    base = public_url.rstrip("/")
    scheme, _, rest = base.partition("://")
    ws = "wss" if scheme == "https" else "ws"
    return f"{ws}://{rest}{RELAY_PATH}/{token}"


class VoiceProvider(Protocol):
    async def place(self, to: str, urls: CallUrls) -> str:
        """Place a call; the provider's id for it."""
        ...

    async def placed_since(self, to: str, since: datetime) -> list[str]:
        """Ids of the calls to ``to`` placed from our number since ``since``, oldest first."""
        ...


class TwilioVoice:
    """Twilio's REST API through the official SDK (its aiohttp client: no thread needed).
    Each request opens its own HTTP session: calls are few, and nothing is left to close."""

    def __init__(
        self, account_sid: str, auth_token: str, caller: str, api_url: str | None = None
    ) -> None:
        self.caller = caller
        self.client = Client(
            account_sid,
            auth_token,
            http_client=AsyncTwilioHttpClient(pool_connections=False, timeout=15),
        )
        if api_url:
            self.client.api.base_url = api_url.rstrip("/")

    async def place(self, to: str, urls: CallUrls) -> str:
        try:
            call = await self.client.calls.create_async(
                to=to,
                from_=self.caller,
                url=urls.voice,
                method="POST",
                status_callback=urls.status,
                status_callback_method="POST",
                # Only the end: "completed" covers busy, no-answer, failed and canceled too,
                # with CallStatus saying which.
                status_callback_event=["completed"],
                timeout=RING_SECONDS,
            )
        except TwilioRestException as exc:
            raise _refusal(exc) from exc
        sid: str = call.sid
        return sid

    async def placed_since(self, to: str, since: datetime) -> list[str]:
        try:
            calls = await self.client.calls.list_async(to=to, from_=self.caller, limit=50)
        except TwilioRestException as exc:
            raise _refusal(exc) from exc
        found = [
            call
            for call in calls
            if call.sid and call.date_created and call.date_created >= since - CLOCK_SKEW
        ]
        found.sort(key=lambda call: call.date_created or since)
        return [call.sid for call in found if call.sid]


def _refusal(exc: TwilioRestException) -> Exception:
    """A refusal a retry cannot change becomes ``CallRejected``; a busy or broken Twilio
    stays retryable."""
    status: int = exc.status
    if 400 <= status < 500 and status not in (408, 429):
        return CallRejected(f"Twilio refused the call ({status}, code {exc.code}): {exc.msg}")
    retryable: Exception = exc
    return retryable


def build_voice(settings: Settings) -> TwilioVoice | None:
    """Twilio when configured; None on a laptop, where calls go to the dev phone."""
    if not settings.twilio_configured:
        return None
    sid, token = settings.twilio_account_sid, settings.twilio_auth_token
    caller = settings.twilio_caller
    # Settings refuse a partial Twilio configuration.
    assert sid is not None
    assert token is not None
    assert caller is not None
    return TwilioVoice(
        sid,
        token.get_secret_value(),
        caller,
        settings.twilio_api_url,
    )


def webhook_auth_token(settings: Settings) -> str:
    """The key Twilio's requests are signed with: the account's auth token, or on a laptop
    one generated into the data directory, with which the dev phone signs its requests."""
    if settings.twilio_auth_token is not None:
        return settings.twilio_auth_token.get_secret_value()
    return local_secret(settings.data_dir / DEV_AUTH_TOKEN_FILE).decode()


class WebhookSignature:
    """Twilio's request signature: an HMAC of the full public URL and the posted form."""

    def __init__(self, auth_token: str) -> None:
        self._validator = RequestValidator(auth_token)

    def valid(self, url: str, params: dict[str, str], signature: str) -> bool:
        return bool(signature) and bool(self._validator.validate(url, params, signature))

    def sign(self, url: str, params: dict[str, str]) -> str:
        """What Twilio would send for this request (the dev phone's requests, tests)."""
        signature: str = self._validator.compute_signature(url, params)
        return signature
