"""The owner's policy for a property, applied by the workflow from the policy fixed at intake:
quiet hours for calls in the property's zone, an emergency estimate put to the owner at once
and make-safe work when nobody answers, silence that approves a routine quote; and the policy
through the directory's import and export."""

from __future__ import annotations

import json
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from pydantic import ValidationError
from sqlalchemy import select
from temporalio.testing import WorkflowEnvironment

from opsdesk.db import Database
from opsdesk.db.tables import OutboxMessage
from opsdesk.maintenance.directory import (
    Directory,
    dump_directory,
    parse_directory,
    sample_directory,
)
from opsdesk.maintenance.inputs import Decision, QuoteAnswer
from opsdesk.maintenance.owner_policy import OwnerPolicy, QuietHours, quiet_until
from opsdesk.maintenance.policy_notices import made_safe_for_owner
from opsdesk.maintenance.state import RequestState
from opsdesk.maintenance.status import RequestStatus, Stage
from opsdesk.maintenance.workflow import MaintenanceRequestWorkflow as W
from opsdesk.settings import Settings
from tests.maintenance.helpers import (
    BURST,
    JORDAN,
    RequestHandle,
    answer,
    link_for_stage,
    maintenance_worker,
    served_desk,
    start,
    waiting_for,
)
from tests.waiting import eventually

HTML = {"Accept": "text/html"}
ZONE = ZoneInfo("America/Los_Angeles")
OWNER = "owner@harborlane.example"
VENDOR = "jobs@flowright.example"
ELM_OWNER = "maya.chen@example.com"
DRIP = "The bathroom tap drips slowly at night, it is a small drip"
"""Routine, for a plumber, by the rules."""


async def with_policy(directory: Directory, property_id: str, policy: OwnerPolicy) -> None:
    """The sample directory again, with ``policy`` for one property."""
    spec = sample_directory()
    for prop in spec.properties:
        if prop.id == property_id:
            prop.policy = policy
    await directory.import_directory(spec)


def next_saturday_night(now: datetime) -> datetime:
    """The next Saturday, 10:15 PM at 12 Harbor Lane."""
    local = now.astimezone(ZONE)
    days = (5 - local.weekday()) % 7
    target = datetime.combine(local.date() + timedelta(days=days), time(22, 15), ZONE)
    return target if target > local else target + timedelta(days=7)


async def state_of(handle: RequestHandle, until: object) -> RequestState:
    return await eventually(lambda: handle.query(W.get_state), until)  # type: ignore[arg-type]


async def emails(db: Database, reference: str) -> list[tuple[str, str, str]]:
    async with db.transaction() as session:
        rows = await session.scalars(
            select(OutboxMessage)
            .where(OutboxMessage.reference == reference, OutboxMessage.channel == "email")
            .order_by(OutboxMessage.id)
        )
        return [(row.to_address, row.subject, row.body_text) for row in rows]


async def test_saturday_night_a_routine_call_waits_an_emergency_calls_and_silence_makes_safe(
    time_env: WorkflowEnvironment, db: Database, settings: Settings, directory: Directory
) -> None:
    await with_policy(directory, "harbor-12", OwnerPolicy())  # the defaults: 9 PM to 8 AM
    saturday = next_saturday_night(await time_env.get_current_time())
    await time_env.sleep(saturday - await time_env.get_current_time())
    async with served_desk(time_env, db, settings) as http:
        routine = await start(time_env.client, settings, DRIP)
        emergency = await start(time_env.client, settings, BURST)

        # A routine question at 10:15 PM on a Saturday: emailed now, the call waits.
        state = await waiting_for(routine, Stage.OWNER_APPROVAL)
        assert state.triage is not None
        assert state.triage.priority == "routine"
        assert state.question is not None
        asked_at = state.question.asked_at.astimezone(ZONE)
        assert (asked_at.weekday(), asked_at.hour) == (5, 22)
        assert [a.channel for a in state.question.asked] == ["email"]
        assert "Quiet hours at the property" in state.timeline[-1].event

        # An emergency estimate above the limit: phoned and emailed at once, quiet or not.
        await waiting_for(emergency, Stage.VENDOR_QUOTE)
        await emergency.execute_update(
            W.answer_vendor_quote, QuoteAnswer(**answer("FlowRight"), amount_cents=180000)
        )
        state = await waiting_for(emergency, Stage.ESTIMATE_APPROVAL)
        assert state.question is not None
        assert sorted(a.channel for a in state.question.asked) == ["email", "phone"]
        assert state.question.deadline - state.question.asked_at == timedelta(hours=2)
        asked = await eventually(
            lambda: emails(db, emergency.id),
            lambda found: any("Review the estimate" in subject for _, subject, _ in found),
        )
        question_email = next(
            body for _, subject, body in asked if "Review the estimate" in subject
        )
        assert "only work that stops further damage goes ahead, up to 250.00 USD" in question_email
        # The owner's link page and the dashboard say what the email says silence does.
        path = await link_for_stage(
            db, settings, state.request_id, OWNER, Stage.ESTIMATE_APPROVAL.value
        )
        for shown in (
            (await http.get(path)).text,
            (await http.get(f"/maintenance/{state.request_id}", headers=HTML)).text,
        ):
            assert "only work that stops further damage goes ahead, up to 250.00 USD" in shown
            assert "the request expires" not in shown

        # Nobody answers in two hours: make-safe work only, up to the owner's limit.
        await time_env.sleep(timedelta(hours=2, minutes=5))
        state = await waiting_for(emergency, Stage.AVAILABILITY)
        assert state.approved_cents == 25000
        assert state.quote_cents == 180000
        made_safe = [e.event for e in state.timeline if "stops further damage" in e.event]
        assert made_safe == [
            "The owner did not answer within 2 hours: only work that stops further damage "
            "goes ahead, up to 250.00 USD. The full repair (1,800.00 USD) still needs the "
            "owner's approval"
        ]
        told = await eventually(
            lambda: emails(db, emergency.id),
            lambda found: (
                {VENDOR, OWNER, "ops@opsdesk.local"}
                <= {to for to, subject, _ in found if "ake-safe" in subject}
            ),
        )
        to_vendor = next(body for to, s, body in told if to == VENDOR and "Make-safe" in s)
        assert "make-safe work only, up to 250.00 USD" in to_vendor
        assert "the full repair needs the owner's approval" in to_vendor
        to_owner = next(body for to, s, body in told if to == OWNER and "make-safe" in s)
        assert "The full repair (1,800.00 USD) still needs your approval" in to_owner
        assert "We phoned and emailed you about this emergency" in to_owner
        # An owner with no number a call can dial was only emailed, and is told so.
        emailed_only = state.model_copy(deep=True)
        estimate = emailed_only.latest(Stage.ESTIMATE_APPROVAL)
        assert estimate is not None
        estimate.asked = [a for a in estimate.asked if a.channel == "email"]
        told_owner = made_safe_for_owner(emailed_only, timedelta(hours=2))
        assert told_owner.paragraphs[0].startswith("We emailed you about this emergency")
        to_ops = next(b for to, s, b in told if to == "ops@opsdesk.local" and "ake-safe" in s)
        assert "agree the full repair with them" in to_ops

        # The routine question is still open at 8 AM on Sunday: now the owner is phoned.
        state = await state_of(routine, lambda s: s.question is not None)
        assert [a.channel for a in state.question.asked] == ["email"]  # type: ignore[union-attr]
        await time_env.sleep(timedelta(hours=10))
        state = await state_of(
            routine, lambda s: s.question is not None and len(s.question.asked) == 2
        )
        assert state.question is not None
        called = state.question.asked[1]
        assert called.channel == "phone"
        assert called.at.astimezone(ZONE).replace(second=0, microsecond=0) == datetime.combine(
            saturday.date() + timedelta(days=1), time(8, 0), ZONE
        )
        assert any(e.event.startswith("Quiet hours over:") for e in state.timeline)


async def test_silence_approves_a_routine_quote_when_the_policy_says_so(
    time_env: WorkflowEnvironment, db: Database, settings: Settings, directory: Directory
) -> None:
    # 48 Elm Street (sample): every quote asks the owner, by email only, and silence
    # approves a routine one after 48 hours.
    async with served_desk(time_env, db, settings) as http:
        handle = await start(
            time_env.client, settings, DRIP, property_id="elm-48", unit="Main", tenant=JORDAN
        )
        await waiting_for(handle, Stage.OWNER_APPROVAL)
        await handle.execute_update(
            W.answer_owner_approval, Decision(**answer("Maya Chen"), approve=True)
        )
        await waiting_for(handle, Stage.VENDOR_QUOTE)
        await handle.execute_update(
            W.answer_vendor_quote, QuoteAnswer(**answer("FlowRight"), amount_cents=30000)
        )
        state = await waiting_for(handle, Stage.ESTIMATE_APPROVAL)
        assert state.question is not None
        assert [a.channel for a in state.question.asked] == ["email"]
        assert state.question.deadline - state.question.asked_at == timedelta(hours=48)
        asked = await eventually(
            lambda: emails(db, handle.id),
            lambda found: any("Review the estimate" in subject for _, subject, _ in found),
        )
        body = next(body for _, subject, body in asked if "Review the estimate" in subject)
        assert "the estimate counts as approved" in body
        path = await link_for_stage(
            db, settings, state.request_id, ELM_OWNER, Stage.ESTIMATE_APPROVAL.value
        )
        for shown in (
            (await http.get(path)).text,
            (await http.get(f"/maintenance/{state.request_id}", headers=HTML)).text,
        ):
            assert "the quote counts as approved" in shown
            assert "the request expires" not in shown

        await time_env.sleep(timedelta(hours=48, minutes=5))
        state = await waiting_for(handle, Stage.AVAILABILITY)
    assert state.status is RequestStatus.SCHEDULING
    assert state.approved_cents == 30000
    estimate = state.latest(Stage.ESTIMATE_APPROVAL)
    assert estimate is not None
    assert estimate.lapsed
    assert any(
        e.event.startswith(
            "Estimate approved without an answer: the owner had not answered within 2 days"
        )
        for e in state.timeline
    )
    told = await eventually(
        lambda: emails(db, handle.id),
        lambda found: any(s.startswith("Estimate approved") for to, s, _ in found),
    )
    assert any(to == ELM_OWNER and "policy approves a routine quote" in b for to, _, b in told)


async def test_a_property_that_prefers_the_phone_calls_first_and_keeps_the_email_back(
    time_env: WorkflowEnvironment, db: Database, settings: Settings, directory: Directory
) -> None:
    # The owner's own preference is "email and call"; the property's channel decides.
    await with_policy(directory, "harbor-12", OwnerPolicy(quiet_hours="none", channel="phone"))
    async with maintenance_worker(time_env, db, settings):
        handle = await start(time_env.client, settings, DRIP)
        state = await waiting_for(handle, Stage.OWNER_APPROVAL)
    assert state.premises is not None
    assert state.premises.owner_calls == "call_first"
    assert state.question is not None
    assert [a.channel for a in state.question.asked] == ["phone"]
    assert "by phone:" in state.timeline[-1].event


def test_quiet_hours_end_in_the_property_zone() -> None:
    saturday = datetime(2026, 12, 5, 22, 15, tzinfo=ZONE)
    nightly = QuietHours()
    assert quiet_until(saturday, "America/Los_Angeles", nightly) == datetime(
        2026, 12, 6, 8, 0, tzinfo=ZONE
    )
    weekends = QuietHours(weekends=True)
    assert quiet_until(saturday, "America/Los_Angeles", weekends) == datetime(
        2026, 12, 7, 8, 0, tzinfo=ZONE
    )
    monday_noon = datetime(2026, 12, 7, 12, 0, tzinfo=ZONE)
    assert quiet_until(monday_noon, "America/Los_Angeles", weekends) is None
    # The same instant is 06:15 on Sunday in UTC, also quiet there, ending at 08:00 UTC.
    assert quiet_until(saturday, "UTC", nightly) == datetime(
        2026, 12, 6, 8, 0, tzinfo=ZoneInfo("UTC")
    )


async def test_the_policy_goes_through_import_and_export(directory: Directory) -> None:
    exported = await directory.export()
    again = parse_directory(dump_directory(exported))
    assert again == exported
    elm = next(p for p in again.properties if p.id == "elm-48")
    assert elm.policy == OwnerPolicy(
        emergency_wait_hours=3,
        make_safe_cap_cents=50000,
        silence_approves_routine_hours=48,
        quiet_hours=QuietHours(start=time(21), end=time(8), weekends=True),
        channel="email",
    )
    harbor = next(p for p in again.properties if p.id == "harbor-12")
    assert harbor.policy.quiet_hours == "none"

    # A file without a policy imports with the defaults; a later import changes it.
    old = json.loads(dump_directory(exported))
    for prop in old["properties"]:
        del prop["policy"]
    spec = parse_directory(json.dumps(old))
    assert all(p.policy == OwnerPolicy() for p in spec.properties)
    await directory.import_directory(spec)
    facts = await directory.property_facts("elm-48", "Main")
    assert facts.policy == OwnerPolicy()
    assert facts.owner_calls == "email_and_call"  # the owner's own preference again

    with pytest.raises(ValidationError, match="different times"):
        parse_directory(
            dump_directory(exported).replace('"start": "21:00:00"', '"start": "08:00:00"')
        )
