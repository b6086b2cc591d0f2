"""The owner's phone call, through its webhooks as Twilio calls them: only requests Twilio
signed for our public URL act, a call answers its question once, the first answer from any
channel wins, silence and muddle end the call politely, and how the call ended reaches the
timeline."""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

import httpx
import pytest
from pydantic import SecretStr
from sqlalchemy import func, select
from temporalio.testing import WorkflowEnvironment

from opsdesk.db import Database
from opsdesk.db.tables import OutboxMessage, Owner, PayoutRow
from opsdesk.maintenance.directory import Directory
from opsdesk.maintenance.inputs import MaintenancePolicy
from opsdesk.maintenance.service import RequestHandle, request_handle
from opsdesk.maintenance.status import RequestStatus, Stage
from opsdesk.maintenance.workflow import MaintenanceRequestWorkflow as W
from opsdesk.notify.voice import SIGNATURE_HEADER, WebhookSignature, webhook_auth_token
from opsdesk.settings import Settings
from tests.maintenance.helpers import (
    drive_to,
    ended,
    link_for,
    link_for_stage,
    served_desk,
    waiting_for,
)
from tests.maintenance.test_links import OWNER, reported
from tests.notify.fake_twilio import ACCOUNT_SID, AUTH_TOKEN, CALLER, fake_twilio
from tests.waiting import eventually

OWNER_PHONE = "+14155550101"  # the sample directory's "+1 415 555 0101", as a call dials it


class Twilio:
    """Posts what Twilio posts to a call's webhooks, signed as Twilio signs them."""

    def __init__(self, http: httpx.AsyncClient, settings: Settings) -> None:
        self.http = http
        self.public = settings.resolved_public_url
        self.signature = WebhookSignature(webhook_auth_token(settings))

    async def post(
        self,
        url: str,
        form: dict[str, str],
        *,
        signed_url: str | None = None,
        key: WebhookSignature | None = None,
    ) -> httpx.Response:
        params = {"CallSid": "CA" + "7" * 32, "AccountSid": "AC" + "0" * 32, **form}
        signature = (key or self.signature).sign(signed_url or url, params)
        return await self.http.post(
            url.removeprefix(self.public), data=params, headers={SIGNATURE_HEADER: signature}
        )

    async def pick_up(self, voice_url: str) -> httpx.Response:
        return await self.post(voice_url, {"CallStatus": "in-progress"})

    async def press(self, gather_url: str, digits: str = "", speech: str = "") -> httpx.Response:
        form = {"CallStatus": "in-progress"}
        if digits:
            form["Digits"] = digits
        if speech:
            form["SpeechResult"] = speech
        return await self.post(gather_url, form)


def said(twiml: str) -> str:
    return " ".join(re.findall(r"<Say(?: [^>]*)?>(.*?)</Say>", twiml, re.S))


def listening_at(twiml: str) -> str:
    found = re.search(r'<Gather[^>]* action="([^"]+)"', twiml)
    assert found, f"the call is not listening: {twiml}"
    return found.group(1).replace("&amp;", "&")


@dataclass
class Called:
    """The desk serving, a request asking the owner's approval, and the call about it."""

    http: httpx.AsyncClient
    twilio: Twilio
    request_id: str
    handle: RequestHandle
    voice: str
    """The call's webhook address, as Twilio holds it."""


@asynccontextmanager
async def owner_called(
    env: WorkflowEnvironment, db: Database, settings: Settings
) -> AsyncIterator[Called]:
    async with served_desk(env, db, settings) as http:
        request_id = await reported(http)
        handle = request_handle(env.client, request_id)
        await waiting_for(handle, Stage.OWNER_APPROVAL)
        voice = await call_url(db, request_id, "owner_approval")
        yield Called(http, Twilio(http, settings), request_id, handle, voice)


async def test_only_a_request_twilio_signed_for_our_address_acts(
    dev_env: WorkflowEnvironment,
    db: Database,
    settings: Settings,
    directory: Directory,
    caplog: pytest.LogCaptureFixture,
) -> None:
    async with owner_called(dev_env, db, settings) as called:
        http, twilio, handle, voice = called.http, called.twilio, called.handle, called.voice
        request_id = called.request_id
        state = await handle.query(W.get_state)
        assert state.question is not None
        assert [(a.channel, a.role) for a in state.question.asked] == [
            ("email", "owner"),
            ("phone", "owner"),
        ]
        async with db.transaction() as session:
            row = await session.scalar(
                select(OutboxMessage).where(OutboxMessage.callback_url == voice)
            )
        assert row is not None
        assert row.to_address == OWNER_PHONE
        assert "12 Harbor Lane" in row.body_text

        forged = await twilio.post(voice, {"CallStatus": "x"}, key=WebhookSignature("someone-else"))
        elsewhere = await twilio.post(
            voice, {"CallStatus": "x"}, signed_url=voice.replace("127.0.0.1", "evil.example")
        )
        unsigned = await http.post(voice.removeprefix(twilio.public), data={"Digits": "1"})
        assert [r.status_code for r in (forged, elsewhere, unsigned)] == [403, 403, 403]
        refusals = [r for r in caplog.records if "without a valid Twilio signature" in r.message]
        assert len(refusals) == 3

        picked = await twilio.pick_up(voice)
        assert picked.status_code == 200
        assert picked.headers["content-type"].startswith("application/xml")
        words = said(picked.text)
        for fact in ("Harbor Lane Holdings", "12 Harbor Lane", "May we go ahead", "Press 1"):
            assert fact in words
        # The desk's number as a person says it ("request number 7"), not spelled "R 0 0 0 7".
        assert re.fullmatch(r"R-\d{4,}", request_id)
        assert f"calling about request number {int(request_id[2:])} at" in words
        assert request_id not in words
        gather = listening_at(picked.text)

        # A key press signed for another address, or with another key, does nothing.
        for refused in (
            await twilio.post(gather, {"Digits": "1"}, key=WebhookSignature("someone-else")),
            await twilio.post(gather, {"Digits": "1"}, signed_url=gather + "x"),
        ):
            assert refused.status_code == 403
        assert (await handle.query(W.get_state)).status is RequestStatus.OWNER_APPROVAL

        pressed = await twilio.press(gather, digits="1")
        assert pressed.status_code == 200
        assert "I have recorded that you approve the repair" in said(pressed.text)
        assert "Thank you, goodbye." in said(pressed.text)
        assert "<Hangup" in pressed.text

        state = await waiting_for(handle, Stage.VENDOR_QUOTE)
        first = state.questions[0].answer
        assert first is not None
        assert (first.actor, first.channel, first.what) == (
            "Harbor Lane Holdings",
            "phone",
            "approved",
        )
        assert first.note == "On the phone: pressed 1"

        # The same signed request again (a replay): the call has answered; nothing moves.
        replayed = await twilio.press(gather, digits="2")
        assert "already recorded" in said(replayed.text)
        again = await handle.query(W.get_state)
        assert again.questions[0].answer == first
        assert again.status is RequestStatus.VENDOR_QUOTE

        # The email link for the same question now says who answered, and how.
        page = await http.get(await link_for(db, request_id, OWNER))
        assert page.status_code == 409
        assert "you approved the repair by phone." in page.text


async def test_a_call_token_is_not_an_email_link_and_an_email_link_is_not_a_call(
    dev_env: WorkflowEnvironment, db: Database, settings: Settings, directory: Directory
) -> None:
    async with owner_called(dev_env, db, settings) as called:
        http, twilio, voice = called.http, called.twilio, called.voice
        request_id = called.request_id
        token = voice.rsplit("/", 1)[1]
        as_link = await http.get(f"/links/{token}")
        assert as_link.status_code == 400

        email_path = await link_for(db, request_id, OWNER)
        email_token = email_path.rsplit("/", 1)[1]
        as_call = await twilio.pick_up(f"{twilio.public}/phone/calls/{email_token}")
        assert as_call.status_code == 403


async def test_silence_and_muddle_ask_again_twice_then_end_politely(
    dev_env: WorkflowEnvironment, db: Database, settings: Settings, directory: Directory
) -> None:
    async with owner_called(dev_env, db, settings) as called:
        twilio, handle, voice = called.twilio, called.handle, called.voice
        gather = listening_at((await twilio.pick_up(voice)).text)

        repeat = await twilio.press(gather, digits="9")
        assert "12 Harbor Lane" in said(repeat.text)  # the whole message again
        asked = await twilio.press(listening_at(repeat.text), speech="what does it cost again?")
        assert "12 Harbor Lane" in said(asked.text)

        silent = await twilio.press(listening_at(asked.text))
        assert "did not hear an answer" in said(silent.text)
        muddled = await twilio.press(listening_at(silent.text), speech="well, maybe, I guess")
        assert "did not catch that" in said(muddled.text)
        last = await twilio.press(listening_at(muddled.text), digits="7")
        words = said(last.text)
        assert "nothing is recorded" in words
        assert "link in the email" in words
        assert words.endswith("Thank you, goodbye.")
        assert "<Gather" not in last.text
        state = await handle.query(W.get_state)
        assert state.status is RequestStatus.OWNER_APPROVAL
        assert state.question is not None
        assert state.question.answer is None

        # Plain words still answer on a new call's turn: the rules understand "no".
        spoken = await twilio.press(gather, speech="No, don't go ahead with it.")
        assert "I have recorded that you decline the repair" in said(spoken.text)
        assert (await ended(handle)).status is RequestStatus.DECLINED


async def test_how_the_call_ended_is_kept_on_the_timeline_once(
    dev_env: WorkflowEnvironment, db: Database, settings: Settings, directory: Directory
) -> None:
    async with owner_called(dev_env, db, settings) as called:
        twilio, handle, voice = called.twilio, called.handle, called.voice
        ringing = await twilio.post(voice + "/status", {"CallStatus": "ringing"})
        assert ringing.status_code == 204
        for _ in range(2):  # Twilio retries a callback it is not sure arrived
            ended_call = await twilio.post(
                voice + "/status", {"CallStatus": "no-answer", "CallDuration": "0"}
            )
            assert ended_call.status_code == 204
        forged = await twilio.post(
            voice + "/status", {"CallStatus": "busy"}, key=WebhookSignature("x")
        )
        assert forged.status_code == 403

        def calls(state_events: list[str]) -> list[str]:
            return [e for e in state_events if e.startswith("Call to")]

        state = await eventually(
            lambda: handle.query(W.get_state),
            lambda s: bool(calls([e.event for e in s.timeline])),
        )
        assert calls([e.event for e in state.timeline]) == [
            "Call to Harbor Lane Holdings about the owner's approval of the repair: "
            "nobody picked up"
        ]


async def test_an_owner_who_turned_calls_off_is_only_emailed(
    dev_env: WorkflowEnvironment, db: Database, settings: Settings, directory: Directory
) -> None:
    async with db.transaction() as session:
        owner = await session.get(Owner, "own-harbor")
        assert owner is not None
        owner.calls = "email_only"
    async with served_desk(dev_env, db, settings) as http:
        request_id = await reported(http)
        state = await waiting_for(request_handle(dev_env.client, request_id), Stage.OWNER_APPROVAL)
        assert state.question is not None
        assert [a.channel for a in state.question.asked] == ["email"]
        await link_for(db, request_id, OWNER)
    async with db.transaction() as session:
        phoned = await session.scalar(select(func.count()).where(OutboxMessage.channel == "phone"))
    assert phoned == 0


def outside_office_hours(zone: str) -> tuple[time, time]:
    """Office hours that do not hold now at the property (a weekday hour already past)."""
    hour = datetime.now(ZoneInfo(zone)).hour
    return (time(0), time(1)) if hour >= 2 else (time(22), time(23))


async def test_after_hours_an_owner_who_asked_for_it_is_phoned_and_emailed_if_unanswered(
    dev_env: WorkflowEnvironment, db: Database, settings: Settings, directory: Directory
) -> None:
    async with db.transaction() as session:
        owner = await session.get(Owner, "own-harbor")
        assert owner is not None
        owner.calls = "call_only_after_hours"
    start, end = outside_office_hours("America/Los_Angeles")
    after_hours = settings.model_copy(update={"office_hours_start": start, "office_hours_end": end})

    async def approvals_emailed() -> int:
        async with db.transaction() as session:
            found = await session.scalar(
                select(func.count()).where(
                    OutboxMessage.to_address == OWNER, OutboxMessage.subject.contains("Approve")
                )
            )
        return int(found or 0)

    async with served_desk(dev_env, db, after_hours) as http:
        twilio = Twilio(http, after_hours)
        request_id = await reported(http)
        handle = request_handle(dev_env.client, request_id)
        state = await waiting_for(handle, Stage.OWNER_APPROVAL)
        assert state.question is not None
        assert [a.channel for a in state.question.asked] == ["phone"]
        assert "by phone:" in state.timeline[-1].event
        voice = await call_url(db, request_id, "owner_approval")
        assert await approvals_emailed() == 0

        # Nobody picks up: the question goes by email too, so it can still be answered.
        await twilio.post(voice + "/status", {"CallStatus": "no-answer", "CallDuration": "0"})
        state = await eventually(
            lambda: handle.query(W.get_state),
            lambda s: s.question is not None and len(s.question.asked) == 2,
        )
        assert state.question is not None
        assert [a.channel for a in state.question.asked] == ["phone", "email"]
        answered = await http.post(
            await link_for_stage(db, after_hours, request_id, OWNER, "owner_approval"),
            data={"answer": "approve"},
        )
        assert answered.status_code == 200, answered.text
    assert await approvals_emailed() == 1


def test_office_hours_are_weekdays_in_the_property_time_zone() -> None:
    policy = MaintenancePolicy(office_hours=(time(9), time(18)))
    zone = "America/Los_Angeles"
    monday_10 = datetime(2026, 11, 23, 10, 0, tzinfo=ZoneInfo(zone))
    assert policy.in_office_hours(monday_10, zone)
    assert not policy.in_office_hours(monday_10.replace(hour=18), zone)
    assert not policy.in_office_hours(monday_10.replace(hour=8, minute=59), zone)
    assert not policy.in_office_hours(monday_10 + timedelta(days=5), zone)  # Saturday
    # 17:30 UTC on that Monday is 09:30 in San Francisco: inside, whatever UTC says.
    assert policy.in_office_hours(datetime(2026, 11, 23, 17, 30, tzinfo=UTC), zone)


async def test_the_first_answer_wins_whichever_channel_it_comes_from(
    dev_env: WorkflowEnvironment, db: Database, settings: Settings, directory: Directory
) -> None:
    """The owner's approval answered on the phone (1) and the email link (decline) at the
    same moment, many times: one answer counts each time, and the request follows it."""
    rounds = 10
    winners = []
    async with served_desk(dev_env, db, settings) as http:
        twilio = Twilio(http, settings)
        request_ids = [await reported(http) for _ in range(rounds)]
        for request_id in request_ids:
            handle = request_handle(dev_env.client, request_id)
            await waiting_for(handle, Stage.OWNER_APPROVAL)
            voice = await call_url(db, request_id, "owner_approval")
            gather = listening_at((await twilio.pick_up(voice)).text)
            email = await link_for_stage(db, settings, request_id, OWNER, "owner_approval")
            by_phone, by_email = await asyncio.gather(
                twilio.press(gather, digits="1"), http.post(email, data={"answer": "decline"})
            )
            phone_won = "I have recorded that you approve" in said(by_phone.text)
            assert phone_won != (by_email.status_code == 200), (said(by_phone.text), by_email)
            state = await eventually(
                lambda h=handle: h.query(W.get_state),  # type: ignore[misc]
                lambda s: s.status is not RequestStatus.OWNER_APPROVAL,
            )
            first = state.questions[0].answer
            assert first is not None
            assert first.channel == ("phone" if phone_won else "email")
            assert state.status is (
                RequestStatus.VENDOR_QUOTE if phone_won else RequestStatus.DECLINED
            )
            winners.append(first.channel)
    assert len(winners) == rounds


async def test_phone_and_email_at_the_same_moment_one_wins_and_the_vendor_is_paid_once(
    dev_env: WorkflowEnvironment, db: Database, settings: Settings, directory: Directory
) -> None:
    rounds = 4
    async with served_desk(dev_env, db, settings) as http:
        twilio = Twilio(http, settings)
        request_ids = [await reported(http) for _ in range(rounds)]
        handles = [request_handle(dev_env.client, r) for r in request_ids]
        # Quotes under the sample property's limit: the owner is asked only the invoice.
        await asyncio.gather(*(drive_to(h, Stage.INVOICE_APPROVAL, quote=20000) for h in handles))

        for request_id, handle in zip(request_ids, handles, strict=True):
            await waiting_for(handle, Stage.INVOICE_APPROVAL)
            voice = await call_url(db, request_id, "invoice_approval")
            gather = listening_at((await twilio.pick_up(voice)).text)
            email = await link_for_stage(db, settings, request_id, OWNER, "invoice_approval")
            by_phone, by_email = await asyncio.gather(
                twilio.press(gather, digits="1"),
                http.post(email, data={"answer": "approve"}),
            )
            phone_won = "I have recorded that you approve" in said(by_phone.text)
            email_won = by_email.status_code == 200
            assert phone_won != email_won, (said(by_phone.text), by_email.status_code)
            if phone_won:
                assert by_email.status_code == 409
                assert "you approved the invoice by phone." in by_email.text
            elif "Someone answered first" in said(by_phone.text):
                # The email's answer won between the call's look at the question and its
                # own answer.
                assert "nothing was changed" in said(by_phone.text)
                assert request_id not in said(by_phone.text)
            else:
                # The email's answer was in before the call looked.
                assert "already answered by Harbor Lane Holdings by email" in said(by_phone.text)
            final = await ended(handle)
            assert final.status is RequestStatus.CLOSED
            answer = final.latest(Stage.INVOICE_APPROVAL)
            assert answer is not None
            assert answer.answer is not None
            assert answer.answer.channel == ("phone" if phone_won else "email")

    async with db.transaction() as session:
        payouts = (await session.scalars(select(PayoutRow.request_id))).all()
    assert sorted(payouts) == sorted(request_ids)


async def call_url(db: Database, request_id: str, stage: str) -> str:
    """The webhook address of the call about ``stage``."""

    async def find() -> str | None:
        async with db.transaction() as session:
            return await session.scalar(
                select(OutboxMessage.callback_url).where(
                    OutboxMessage.reference == f"maintenance-{request_id}",
                    OutboxMessage.idempotency_key.contains(f":call:{stage}:"),
                    OutboxMessage.callback_url.is_not(None),
                )
            )

    found = await eventually(find, lambda url: url is not None)
    assert found is not None
    return found


async def test_with_twilio_configured_the_worker_places_one_call_through_its_api(
    dev_env: WorkflowEnvironment, db: Database, settings: Settings, directory: Directory
) -> None:
    """The production path end to end: the worker's call goes to Twilio's API (a stand-in
    on loopback, the real SDK), once, with webhook addresses under the public URL."""
    async with fake_twilio() as fake:
        with_twilio = settings.model_copy(
            update={
                "twilio_account_sid": ACCOUNT_SID,
                "twilio_auth_token": SecretStr(AUTH_TOKEN),
                "twilio_caller": CALLER,
                "twilio_api_url": fake.url,
                "public_url": "https://desk.example.com",
            }
        )
        async with served_desk(dev_env, db, with_twilio) as http:
            request_id = await reported(http)
            await waiting_for(request_handle(dev_env.client, request_id), Stage.OWNER_APPROVAL)

            async def placed() -> str | None:
                async with db.transaction() as session:
                    return await session.scalar(
                        select(OutboxMessage.provider_id).where(
                            OutboxMessage.reference == f"maintenance-{request_id}",
                            OutboxMessage.channel == "phone",
                        )
                    )

            sid = await eventually(placed, lambda found: found is not None)
    [call] = fake.calls
    assert call["sid"] == sid
    assert (call["To"], call["From"]) == (OWNER_PHONE, CALLER)
    assert call["Url"].startswith("https://desk.example.com/phone/calls/")
    assert call["StatusCallback"] == call["Url"] + "/status"
