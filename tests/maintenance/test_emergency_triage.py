"""The written emergency criteria in a request's life: a model that calls a gas smell
routine is overruled (the timeline says why), the owner is told rather than asked, and the
tenant's acknowledgement tells them to leave and call the emergency services first."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from sqlalchemy import select
from temporalio.testing import WorkflowEnvironment

from opsdesk.db import Database
from opsdesk.db.tables import OutboxMessage
from opsdesk.maintenance.directory import Directory
from opsdesk.maintenance.status import Stage
from opsdesk.settings import Settings
from tests.ai.fake_llm import FakeLLM, anthropic_tool, fake_llm, with_claude
from tests.maintenance.helpers import maintenance_worker, start, waiting_for
from tests.waiting import eventually

TENANT = "sam.rivera@example.com"
GAS = "There is a strong smell of gas in the kitchen since this morning"


@pytest.fixture
async def llm() -> AsyncIterator[FakeLLM]:
    async with fake_llm() as fake:
        yield fake


async def tenant_mail(db: Database, reference: str) -> list[OutboxMessage]:
    async with db.transaction() as session:
        rows = await session.scalars(
            select(OutboxMessage).where(
                OutboxMessage.reference == reference, OutboxMessage.to_address == TENANT
            )
        )
        return list(rows)


async def test_a_gas_smell_the_model_called_routine_is_an_emergency(
    time_env: WorkflowEnvironment,
    db: Database,
    settings: Settings,
    directory: Directory,
    llm: FakeLLM,
) -> None:
    routine = {
        "category": "appliance",
        "priority": "routine",
        "emergency": False,
        "summary": "Odd smell in the kitchen",
        "trade": "appliance_repair",
    }
    llm.queue(anthropic_tool("record_triage", routine))
    settings = with_claude(settings, llm)
    async with maintenance_worker(time_env, db, settings):
        handle = await start(time_env.client, settings, GAS)
        state = await waiting_for(handle, Stage.VENDOR_QUOTE)
        [ack] = await eventually(lambda: tenant_mail(db, handle.id), lambda found: len(found) == 1)

    assert state.triage is not None
    assert (state.triage.priority, state.triage.emergency) == ("emergency", True)
    assert state.latest(Stage.OWNER_APPROVAL) is None  # told, not asked
    assert state.emergency_criterion is not None
    assert state.emergency_criterion.criterion == "gas"
    [triaged] = [e.event for e in state.timeline if e.event.startswith("Triaged by")]
    assert triaged == (
        "Triaged by anthropic: heating cooling, emergency, needs an HVAC technician; an emergency "
        'by the written criteria: A smell of gas, or gas escaping ("smell of gas"); '
        "anthropic had not called it one"
    )
    assert "leave the home now and call 911 from outside" in ack.body_text
    # Before anything else in the email.
    assert ack.body_text.index("call 911") < ack.body_text.index("Thank you for reporting")
