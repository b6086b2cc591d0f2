"""Emergencies first: a request's workflow, its steps after triage and the notifications it
starts carry the triage's task priority and the owner's fairness key, as the server records
them (the dev server; the time-skipping one keeps no priorities)."""

from __future__ import annotations

from temporalio.api.common.v1 import Priority
from temporalio.api.enums.v1 import EventType
from temporalio.api.history.v1 import HistoryEvent
from temporalio.testing import WorkflowEnvironment

from opsdesk.db import Database
from opsdesk.maintenance.directory import Directory
from opsdesk.maintenance.service import request_handle
from opsdesk.maintenance.status import Stage
from opsdesk.settings import Settings
from tests.maintenance.helpers import BURST, RequestHandle, served_desk, waiting_for
from tests.maintenance.test_links import report

SQUEAK = "The bedroom door squeaks and the handle is loose"
"""A routine repair, by the rules and by triage."""
HARBOR_OWNER = "owner:own-harbor"
"""12 Harbor Lane's owner in the sample directory, as a fairness key."""


def key(priority: Priority) -> tuple[int, str]:
    return priority.priority_key, priority.fairness_key


async def priorities(handle: RequestHandle) -> tuple[tuple[int, str], list[tuple[str, int, str]]]:
    """The workflow's start priority, and each activity and child as it was scheduled:
    (activity type or child workflow type, priority key, fairness key)."""
    started: tuple[int, str] | None = None
    scheduled: list[tuple[str, int, str]] = []
    event: HistoryEvent
    async for event in handle.fetch_history_events():
        if event.event_type == EventType.EVENT_TYPE_WORKFLOW_EXECUTION_STARTED:
            started = key(event.workflow_execution_started_event_attributes.priority)
        elif event.event_type == EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED:
            attributes = event.activity_task_scheduled_event_attributes
            scheduled.append((attributes.activity_type.name, *key(attributes.priority)))
        elif event.event_type == EventType.EVENT_TYPE_START_CHILD_WORKFLOW_EXECUTION_INITIATED:
            child = event.start_child_workflow_execution_initiated_event_attributes
            scheduled.append((child.workflow_type.name, *key(child.priority)))
    assert started is not None
    return started, scheduled


async def test_an_emergency_and_its_steps_go_first_keyed_by_the_owner(
    dev_env: WorkflowEnvironment, db: Database, settings: Settings, directory: Directory
) -> None:
    async with served_desk(dev_env, db, settings) as http:
        made = {}
        for name, description in (("emergency", BURST), ("routine", SQUEAK)):
            created = await http.post(
                "/api/maintenance/requests", json=report(description=description)
            )
            assert created.status_code == 201, created.text
            made[name] = request_handle(dev_env.client, created.json()["request_id"])
        # The first question each puts to a person: the vendor's quote for the emergency
        # (the owner is only told), the owner's approval for the routine repair.
        await waiting_for(made["emergency"], Stage.VENDOR_QUOTE)
        await waiting_for(made["routine"], Stage.OWNER_APPROVAL)

    started, scheduled = await priorities(made["emergency"])
    # The written criteria make the burst pipe an emergency before any worker triages it.
    assert started == (1, HARBOR_OWNER)
    names = [name for name, *_ in scheduled]
    triaged = names.index("triage_maintenance_request")
    # The directory lookup inherits the start's; triage knows the owner, not yet the triage.
    assert scheduled[triaged][1:] == (0, HARBOR_OWNER)
    after = scheduled[triaged + 1 :]
    assert "NotificationWorkflow" in {name for name, *_ in after}
    assert {(p, f) for _, p, f in after} == {(1, HARBOR_OWNER)}

    started, scheduled = await priorities(made["routine"])
    assert started == (3, HARBOR_OWNER)
    after = scheduled[[name for name, *_ in scheduled].index("triage_maintenance_request") + 1 :]
    assert after
    assert {(p, f) for _, p, f in after} == {(3, HARBOR_OWNER)}
