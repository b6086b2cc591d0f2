"""Temporal Schedules the worker keeps up to its settings at every start."""

from __future__ import annotations

from typing import Literal

from temporalio.client import (
    Client,
    Schedule,
    ScheduleAlreadyRunningError,
    ScheduleUpdate,
    ScheduleUpdateInput,
)


async def ensure_schedule(
    client: Client, schedule_id: str, wanted: Schedule
) -> Literal["created", "updated"]:
    """Create the schedule, or bring it up to ``wanted``. Safe to call from every worker at
    every start. A pause, and its note, stay as a person left them."""
    try:
        await client.create_schedule(schedule_id, wanted)
        return "created"
    except ScheduleAlreadyRunningError:
        pass

    def keep_state(current: ScheduleUpdateInput) -> ScheduleUpdate:
        wanted.state = current.description.schedule.state
        return ScheduleUpdate(schedule=wanted)

    await client.get_schedule_handle(schedule_id).update(keep_state)
    return "updated"
