"""The page a tenant lands on after sending the form thanks them only for a report that
exists; any other address is a readable "not found"."""

from __future__ import annotations

from temporalio.testing import WorkflowEnvironment

from opsdesk.db import Database
from opsdesk.maintenance.directory import Directory
from opsdesk.maintenance.ids import request_id_of
from opsdesk.settings import Settings
from tests.maintenance.helpers import LEAK, start
from tests.orders.helpers import served_api


async def test_the_received_page_thanks_only_for_a_report_we_have(
    dev_env: WorkflowEnvironment, db: Database, settings: Settings, directory: Directory
) -> None:
    async with served_api(dev_env, db, settings) as site:
        handle = await start(dev_env.client, settings, LEAK)
        request_id = request_id_of(handle.id)
        found = await site.get(f"/report/received/{request_id}")
        assert found.status_code == 200
        assert "Thank you: we have your report" in found.text
        assert request_id in found.text

        for made_up in ("nope", f"{request_id}x", "a" * 65, "not%20an%20id"):
            missing = await site.get(f"/report/received/{made_up}", headers={"Accept": "text/html"})
            assert missing.status_code == 404, made_up
            assert missing.headers["content-type"].startswith("text/html")
            assert "We have no report with this number" in missing.text
            assert "Thank you" not in missing.text
