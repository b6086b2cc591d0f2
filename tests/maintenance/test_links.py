"""Signed links from the emails, clicked: a GET shows and never acts, a POST answers once;
forged, expired, used, outdated and wrong-role links each get a page that says so."""

from __future__ import annotations

import asyncio
import re
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import httpx
from sqlalchemy import select
from temporalio.testing import WorkflowEnvironment

from opsdesk.db import Database
from opsdesk.db.tables import PayoutRow
from opsdesk.maintenance.directory import Directory
from opsdesk.maintenance.inputs import AvailabilityAnswer, SlotAnswer, Window
from opsdesk.maintenance.service import request_handle
from opsdesk.maintenance.status import RequestStatus, Stage
from opsdesk.maintenance.workflow import MaintenanceRequestWorkflow as W
from opsdesk.notify.signing import LinkSigner, link_key
from opsdesk.settings import Settings
from tests.maintenance.helpers import (
    LEAK,
    answer,
    drive_to,
    link_for,
    link_for_stage,
    newest_message,
    served_desk,
    waiting_for,
)

OWNER = "owner@harborlane.example"
TENANT = "sam.rivera@example.com"


def report(**extra: object) -> dict[str, object]:
    return {
        "property_id": "harbor-12",
        "unit": "1A",
        "tenant": {"name": "Sam Rivera", "email": TENANT},
        "description": LEAK,
        **extra,
    }


async def reported(http: httpx.AsyncClient) -> str:
    created = await http.post("/api/maintenance/requests", json=report())
    assert created.status_code == 201, created.text
    request_id: str = created.json()["request_id"]
    return request_id


async def test_an_owner_answers_from_the_email_link_once(
    dev_env: WorkflowEnvironment, db: Database, settings: Settings, directory: Directory
) -> None:
    async with served_desk(dev_env, db, settings) as http:
        request_id = await reported(http)
        handle = request_handle(dev_env.client, request_id)
        await waiting_for(handle, Stage.OWNER_APPROVAL)
        path = await link_for(db, request_id, OWNER)

        # Opening the link (as a mail scanner would, twice) shows the question and acts not.
        for _ in range(2):
            shown = await http.get(path)
            assert shown.status_code == 200
            assert "May we go ahead with this repair?" in shown.text
            assert 'value="approve"' in shown.text
            assert "12 Harbor Lane, San Francisco" in shown.text
        assert (await handle.query(W.get_state)).status is RequestStatus.OWNER_APPROVAL

        answered = await http.post(path, data={"answer": "approve", "note": "go ahead"})
        assert answered.status_code == 200, answered.text
        assert "you approved the repair with this link." in answered.text
        state = await waiting_for(handle, Stage.VENDOR_QUOTE)
        owner_answer = state.questions[0].answer
        assert owner_answer is not None
        assert (owner_answer.actor, owner_answer.channel, owner_answer.note) == (
            "Harbor Lane Holdings",
            "email",
            "go ahead",
        )

        again = await http.post(path, data={"answer": "decline"})
        assert again.status_code == 409
        assert "This link was already used" in again.text
        assert (await handle.query(W.get_state)).status is RequestStatus.VENDOR_QUOTE


async def test_links_that_cannot_act_say_why(
    dev_env: WorkflowEnvironment, db: Database, settings: Settings, directory: Directory
) -> None:
    signer = LinkSigner(link_key(settings), "http://opsdesk.test")
    async with served_desk(dev_env, db, settings) as http:
        request_id = await reported(http)
        handle = request_handle(dev_env.client, request_id)
        await waiting_for(handle, Stage.OWNER_APPROVAL)
        path = await link_for(db, request_id, OWNER)
        token = path.removeprefix("/links/")
        real = signer.verify(token)

        forged = await http.post(f"/links/{token[:-3]}abc", data={"answer": "approve"})
        assert forged.status_code == 400
        assert "This link is not valid" in forged.text

        other_key = LinkSigner(b"not-our-key-" * 4, "http://x").token(real)
        assert (await http.get(f"/links/{other_key}")).status_code == 400

        past = real.model_copy(update={"expires_at": datetime.now(UTC) - timedelta(minutes=1)})
        expired = await http.post(f"/links/{signer.token(past)}", data={"answer": "approve"})
        assert expired.status_code == 410
        assert "This link has expired" in expired.text
        # Until when, in the property's time, its zone named.
        assert re.search(
            r"could be used until \w{3} \d+ \w{3}, \d+:\d\d [AP]M P[SD]T\.", expired.text
        )
        assert "UTC" not in expired.text

        tenant_claims = real.model_copy(update={"role": "tenant", "link_id": "x1"})
        wrong_role = await http.post(
            f"/links/{signer.token(tenant_claims)}", data={"answer": "approve"}
        )
        assert wrong_role.status_code == 403
        assert "not for this question" in wrong_role.text

        quote_link = real.model_copy(
            update={"stage": Stage.VENDOR_QUOTE.value, "role": "vendor", "link_id": "x2"}
        )
        wrong_stage = await http.post(
            f"/links/{signer.token(quote_link)}", data={"answer": "quote", "amount": "10"}
        )
        assert wrong_stage.status_code == 409
        assert "This question is closed" in wrong_stage.text
        assert "waiting for the owner to approve the repair" in wrong_stage.text

        assert (await handle.query(W.get_state)).status is RequestStatus.OWNER_APPROVAL

        # Ops answered on the owner's behalf first: the owner's link then says who won, as
        # the owner knows them (the office), never the API token's name (``ops``).
        on_behalf = await http.post(
            f"/api/maintenance/requests/{request_id}/answers/owner_approval",
            json={"approve": True, "actor": "Dana (ops)", "note": "owner phoned"},
        )
        assert on_behalf.status_code == 200, on_behalf.text
        late = await http.post(path, data={"answer": "decline"})
        assert late.status_code == 409
        assert ", the property manager&#39;s office approved the repair." in late.text
        assert re.search(r"On \w{3} \d+ \w{3}, \d+:\d\d [AP]M P[SD]T, the", late.text)
        assert "ops" not in late.text.split("<main", 1)[1]
        assert "via api" not in late.text
        state = await handle.query(W.get_state)
        assert state.status is RequestStatus.VENDOR_QUOTE


async def test_two_channels_at_once_one_answer_and_one_payout(
    dev_env: WorkflowEnvironment, db: Database, settings: Settings, directory: Directory
) -> None:
    """The owner's email link and ops on the dashboard approve the invoice at the same
    moment, several times over: exactly one answer counts each time, and the ledger pays
    each request once."""
    async with served_desk(dev_env, db, settings) as http:
        for _ in range(3):
            request_id = await reported(http)
            handle = request_handle(dev_env.client, request_id)
            await drive_to(handle, Stage.INVOICE)
            # The invoice's email, not the estimate's before it: the link of this question.
            sent = await newest_message(db)
            await drive_to(handle, Stage.INVOICE_APPROVAL)
            path = await link_for(db, request_id, OWNER, after=sent)
            by_link, by_api = await asyncio.gather(
                http.post(path, data={"answer": "approve"}),
                http.post(
                    f"/api/maintenance/requests/{request_id}/answers/invoice_approval",
                    json={"approve": True},
                ),
            )
            statuses = sorted([by_link.status_code, by_api.status_code])
            assert statuses == [200, 409], (by_link.text, by_api.text)
            if by_link.status_code == 409:
                # The owner's page says who won, as the owner knows them.
                assert "office approved the invoice." in by_link.text
            else:
                assert "already answered by" in by_api.text.lower()
            state = await handle.result()
            assert state.status is RequestStatus.CLOSED
            question = state.latest(Stage.INVOICE_APPROVAL)
            assert question is not None
            assert question.answer is not None
    async with db.transaction() as session:
        payouts = (await session.scalars(select(PayoutRow))).all()
    assert len(payouts) == 3
    assert len({p.request_id for p in payouts}) == 3


async def test_a_time_that_has_passed_is_refused_on_every_channel(
    dev_env: WorkflowEnvironment, db: Database, settings: Settings, directory: Directory
) -> None:
    """The workflow's validator refuses a window that is over, whoever sends it; the
    tenant's page says so in words and keeps the question open."""
    async with served_desk(dev_env, db, settings) as http:
        request_id = await reported(http)
        handle = request_handle(dev_env.client, request_id)
        await drive_to(handle, Stage.AVAILABILITY)
        yesterday = datetime.now(UTC) - timedelta(days=1)
        by_api = await http.post(
            f"/api/maintenance/requests/{request_id}/answers/availability",
            json={
                "windows": [
                    {
                        "start": yesterday.isoformat(),
                        "end": (yesterday + timedelta(hours=2)).isoformat(),
                    }
                ]
            },
        )
        assert by_api.status_code == 422, by_api.text
        assert "that time has already passed" in by_api.text

        path = await link_for(db, request_id, TENANT)
        day = yesterday.astimezone(ZoneInfo("America/Los_Angeles")).date().isoformat()
        by_page = await http.post(
            path, data={"answer": "windows", "day0": day, "from0": "09:00", "to0": "11:00"}
        )
        assert by_page.status_code == 422
        assert "Time 1: that time has already passed" in by_page.text
        assert "String should" not in by_page.text
        state = await handle.query(W.get_state)
        assert state.question is not None
        assert state.question.stage is Stage.AVAILABILITY
        assert state.question.answer is None


async def test_the_report_form_says_what_to_fix_in_words_never_a_pattern(
    dev_env: WorkflowEnvironment, db: Database, settings: Settings, directory: Directory
) -> None:
    async with served_desk(dev_env, db, settings) as http:
        sent = await http.post(
            "/report",
            data={
                "property_id": "not a building!",
                "unit": "1A",
                "name": "Sam Rivera",
                "email": "sam@",
                "phone": "call me",
                "description": "leaks",
            },
        )
    assert sent.status_code == 422
    for problem in (
        "Building: choose your building from the list.",
        "Email: give an email address, like sam@example.com.",
        "Phone: use digits, spaces, brackets and dashes",
        "What is wrong: describe the problem in at least 10 characters",
    ):
        assert problem in sent.text.replace("&#39;", "'"), problem
    assert "should" not in sent.text
    assert "pattern" not in sent.text


async def test_work_marked_done_before_the_visit_hears_when_it_starts_in_the_property_time(
    dev_env: WorkflowEnvironment, db: Database, settings: Settings, directory: Directory
) -> None:
    async with served_desk(dev_env, db, settings) as http:
        request_id = await reported(http)
        handle = request_handle(dev_env.client, request_id)
        await drive_to(handle, Stage.AVAILABILITY)
        start = datetime.now(UTC).replace(second=0, microsecond=0) + timedelta(days=1)
        window = Window(start=start, end=start + timedelta(hours=2))
        asked = await newest_message(db)
        await handle.execute_update(
            W.answer_availability, AvailabilityAnswer(**answer("Sam"), windows=[window])
        )
        await link_for(db, request_id, "jobs@flowright.example", after=asked)
        await handle.execute_update(W.answer_slot, SlotAnswer(**answer("Flow"), slot=window))
        await waiting_for(handle, Stage.WORK_DONE)
        path = await link_for_stage(
            db, settings, request_id, "jobs@flowright.example", Stage.WORK_DONE.value
        )
        early = await http.post(path, data={"answer": "done"})
        assert early.status_code == 422, early.text[early.text.find("<main") :]
        local = start.astimezone(ZoneInfo("America/Los_Angeles"))
        assert (
            f"The visit starts {local:%a} {local.day} {local:%b}, "
            f"{local.hour % 12 or 12}:{local:%M %p %Z}: mark the work done once it has started."
        ) in early.text
        assert "UTC" not in early.text
