"""Every recorded history still replays against today's workflow code.

A change that would alter the commands an old history recorded fails here; such a change
needs ``workflow.patched`` (or a new workflow type) before it may ship.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from temporalio.client import WorkflowHistory
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.worker import Replayer

from opsdesk.maintenance.document_reminders import DocumentRemindersWorkflow
from opsdesk.maintenance.poller import PmsPollerWorkflow
from opsdesk.maintenance.preventive_workflow import PreventiveRunWorkflow
from opsdesk.maintenance.workflow import MaintenanceRequestWorkflow
from opsdesk.notify.workflows import NotificationWorkflow
from opsdesk.orders.restock import RestockWorkflow
from opsdesk.orders.workflow import OrderWorkflow
from opsdesk.reports.workflows import DailyReportWorkflow
from opsdesk.worker import workflow_runner

# Named by workflow id: replay needs the real one (child ids and keys derive from it).
HISTORIES = {
    p.stem: p.read_text() for p in sorted((Path(__file__).parent / "histories").glob("*.json"))
}


def test_there_are_histories_to_replay() -> None:
    assert len(HISTORIES) >= 4


@pytest.mark.parametrize("workflow_id", HISTORIES)
async def test_history_replays(workflow_id: str) -> None:
    replayer = Replayer(
        workflows=[
            OrderWorkflow,
            RestockWorkflow,
            NotificationWorkflow,
            PmsPollerWorkflow,
            MaintenanceRequestWorkflow,
            DailyReportWorkflow,
            PreventiveRunWorkflow,
            DocumentRemindersWorkflow,
        ],
        data_converter=pydantic_data_converter,
        workflow_runner=workflow_runner(),
    )
    history = WorkflowHistory.from_json(workflow_id, HISTORIES[workflow_id])
    result = await replayer.replay_workflow(history)
    assert result.replay_failure is None
