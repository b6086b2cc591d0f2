"""The counters a maintenance request keeps on the worker's metrics endpoint: requests
opened and ended by status, answers by stage and channel, deadlines missed by stage."""

from __future__ import annotations

from datetime import timedelta

from temporalio.testing import WorkflowEnvironment

from opsdesk.db import Database
from opsdesk.maintenance.directory import Directory
from opsdesk.maintenance.inputs import MaintenancePolicy
from opsdesk.maintenance.status import RequestStatus, Stage
from opsdesk.settings import Settings
from opsdesk.worker import build_workers, running
from tests.maintenance.helpers import drive_to, start
from tests.monitoring import (
    WORKFLOW_COUNTERS,
    dashboard_metrics,
    metered_client,
    missing_from,
    scrape,
    series,
)

QUICKLY = dict.fromkeys(("emergency", "urgent", "routine"), timedelta(seconds=2))


async def test_a_request_counts_its_answers_lapses_and_end(
    dev_env: WorkflowEnvironment, db: Database, settings: Settings, directory: Directory
) -> None:
    client, address = await metered_client(dev_env, settings)
    async with running(build_workers(client, db, settings)):
        # The owner approves; then each plumber lets the quote lapse, and none is left.
        handle = await start(client, settings, policy=MaintenancePolicy(vendor_quote=QUICKLY))
        await drive_to(handle, Stage.VENDOR_QUOTE)
        state = await handle.result()
        assert state.status is RequestStatus.EXPIRED
        body = await scrape(address, until="opsdesk_maintenance_requests_ended")
    assert series(body, "opsdesk_") == {
        "opsdesk_maintenance_requests_opened_total{}": 1,
        "opsdesk_maintenance_answers_total{channel=api,stage=owner_approval}": 1,
        "opsdesk_maintenance_deadlines_missed_total{stage=vendor_quote}": 2,
        "opsdesk_maintenance_requests_ended_total{status=EXPIRED}": 1,
    }
    # The shipped Grafana dashboard reads these from the workers.
    ours = dashboard_metrics("opsdesk_maintenance_") & WORKFLOW_COUNTERS
    assert len(ours) == 4
    assert missing_from(body, ours) == []
