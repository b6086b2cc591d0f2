"""Placing a call through the real Twilio SDK, against a stand-in for Twilio's API on
loopback: once per outbox row, whatever the retries, and a worker that died mid-request
does not make the retry call the owner twice."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import pytest

from opsdesk.db import Database
from opsdesk.errors import CallRejected
from opsdesk.notify.activities import CallActivities
from opsdesk.notify.links import LinkGrant
from opsdesk.notify.models import PhoneCall
from opsdesk.notify.outbox import Outbox
from opsdesk.notify.signing import LinkSigner
from opsdesk.notify.voice import TwilioVoice
from tests.notify.fake_twilio import ACCOUNT_SID, AUTH_TOKEN, CALLER, FakeTwilio, fake_twilio
from tests.waiting import eventually

PUBLIC = "https://desk.example.com"
OWNER_PHONE = "+14155550101"


def a_call(key: str = "maintenance-M-1:abcd1234:call:invoice_approval:1") -> PhoneCall:
    return PhoneCall(
        key=key,
        to=OWNER_PHONE,
        reference="maintenance-M-1",
        title="Call: review the invoice, request M-1",
        script="Hello, this is Ops Desk calling about request M-1.",
        grant=LinkGrant(
            link_id="call-1",
            request_id="M-1",
            stage="invoice_approval",
            round=1,
            role="owner",
            answers=("approve", "decline"),
            expires_at=datetime.now(UTC) + timedelta(days=1),
            channel="phone",
        ),
    )


def activities(db: Database, fake: FakeTwilio, auth_token: str = AUTH_TOKEN) -> CallActivities:
    voice = TwilioVoice(ACCOUNT_SID, auth_token, CALLER, api_url=fake.url)
    signer = LinkSigner(b"k" * 32, PUBLIC)
    return CallActivities(Outbox(db), voice, signer, dev_phone=False)


async def test_a_call_is_placed_once_with_its_signed_webhooks(db: Database) -> None:
    async with fake_twilio() as fake:
        calls = activities(db, fake)
        call = a_call()
        await calls.record_call(call)
        await calls.record_call(call)  # a retried record keeps one row
        first = await calls.place_call(call)
        again = await calls.place_call(call)

    assert (first.status, again.status) == ("sent", "sent")
    assert len(fake.calls) == 1
    placed = fake.calls[0]
    assert (placed["To"], placed["From"]) == (OWNER_PHONE, CALLER)
    token = placed["Url"].removeprefix(f"{PUBLIC}/phone/calls/")
    assert placed["StatusCallback"] == f"{PUBLIC}/phone/calls/{token}/status"
    assert placed["StatusCallbackEvent"] == "completed"
    grant = LinkSigner(b"k" * 32, PUBLIC).verify(token)
    assert (grant.link_id, grant.stage, grant.channel) == ("call-1", "invoice_approval", "phone")
    entry = await Outbox(db).get(call.key)
    assert entry is not None
    assert (entry.channel, entry.status, entry.provider_id) == ("phone", "sent", placed["sid"])
    assert entry.callback_url is None  # a real call's address stays at Twilio


async def test_a_retry_after_a_crash_mid_request_adopts_the_call_twilio_took(
    db: Database,
) -> None:
    async with fake_twilio() as fake:
        calls = activities(db, fake)
        call = a_call()
        await calls.record_call(call)
        # Twilio takes the call, and the worker dies before the answer arrives: the
        # attempt is cancelled mid-request, as a killed process would leave it.
        fake.stall = asyncio.Event()
        attempt = asyncio.create_task(calls.place_call(call))
        await eventually(lambda: asyncio.sleep(0, len(fake.calls)), lambda n: n == 1)
        attempt.cancel()
        with pytest.raises(asyncio.CancelledError):
            await attempt
        interrupted = await Outbox(db).get(call.key)
        assert interrupted is not None
        assert interrupted.status == "placing"

        retried = await calls.place_call(call)

    assert len(fake.calls) == 1, "the retry called the owner a second time"
    assert fake.lists == 1
    assert retried.status == "sent"
    entry = await Outbox(db).get(call.key)
    assert entry is not None
    assert (entry.status, entry.provider_id) == ("sent", fake.calls[0]["sid"])


async def test_a_call_another_row_owns_is_not_adopted(db: Database) -> None:
    async with fake_twilio() as fake:
        calls = activities(db, fake)
        other, mine = a_call("other:call:1"), a_call("mine:call:1")
        await calls.record_call(other)
        await calls.record_call(mine)
        await calls.place_call(other)  # the same owner, called about something else
        # An attempt of mine died before it reached Twilio.
        await Outbox(db).begin_attempt(mine.key)
        await calls.place_call(mine)

    assert len(fake.calls) == 2
    entry = await Outbox(db).get(mine.key)
    assert entry is not None
    assert entry.provider_id == fake.calls[1]["sid"]


async def test_a_number_twilio_cannot_dial_is_not_retried(db: Database) -> None:
    async with fake_twilio() as fake:
        calls = activities(db, fake)
        call = a_call()
        await calls.record_call(call)
        fake.refuse = (400, 21211, "The 'To' number is not a valid phone number.")
        with pytest.raises(CallRejected, match="21211"):
            await calls.place_call(call)
    entry = await Outbox(db).get(call.key)
    assert entry is not None
    assert entry.status == "failed"
    assert "not a valid phone number" in (entry.last_error or "")


async def test_a_busy_twilio_is_retried_and_wrong_credentials_are_not(db: Database) -> None:
    async with fake_twilio() as fake:
        calls = activities(db, fake)
        call = a_call()
        await calls.record_call(call)
        fake.refuse = (429, 20429, "Too Many Requests")
        with pytest.raises(Exception, match="Too Many Requests") as busy:
            await calls.place_call(call)
        assert not isinstance(busy.value, CallRejected)
        queued = await Outbox(db).get(call.key)
        assert queued is not None
        assert queued.status == "queued"
        assert (await calls.place_call(call)).status == "sent"

        wrong = activities(db, fake, auth_token="not-the-token")
        other = a_call("other:call:1")
        await wrong.record_call(other)
        with pytest.raises(CallRejected, match="401"):
            await wrong.place_call(other)
    assert len(fake.calls) == 1


async def test_after_a_timeout_the_retry_looks_before_it_dials(db: Database) -> None:
    """A 408 (or a 5xx) does not say whether Twilio took the call: the row stays placing."""
    async with fake_twilio() as fake:
        calls = activities(db, fake)
        call = a_call()
        await calls.record_call(call)
        fake.refuse = (408, 20408, "Request Timeout")
        with pytest.raises(Exception, match="Request Timeout"):
            await calls.place_call(call)
        entry = await Outbox(db).get(call.key)
        assert entry is not None
        assert entry.status == "placing"
        assert (await calls.place_call(call)).status == "sent"
    assert fake.lists == 1
    assert len(fake.calls) == 1
