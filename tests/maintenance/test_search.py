"""Finding a repair request on the dashboard by its id, its address or its tenant: from the
rows visibility holds (each request's memo), never by querying a workflow."""

from __future__ import annotations

import csv
import io
import re

from temporalio.testing import WorkflowEnvironment

from opsdesk.db import Database
from opsdesk.maintenance.directory import Directory
from opsdesk.maintenance.ids import request_id_of
from opsdesk.maintenance.status import Stage
from opsdesk.settings import Settings
from tests.maintenance.helpers import BURST, JORDAN, LEAK, start, waiting_for
from tests.orders.helpers import served_api
from tests.waiting import eventually

HTML = {"Accept": "text/html"}
ROW = re.compile(r'data-request="([^"]+)"')


async def test_search_by_id_address_or_tenant(
    dev_env: WorkflowEnvironment, db: Database, settings: Settings, directory: Directory
) -> None:
    async with served_api(dev_env, db, settings) as site:
        harbor = await start(dev_env.client, settings, LEAK)
        jordan = JORDAN
        elm = await start(
            dev_env.client, settings, BURST, property_id="elm-48", unit="Main", tenant=jordan
        )
        await waiting_for(harbor, Stage.OWNER_APPROVAL)
        await waiting_for(elm, Stage.VENDOR_QUOTE)
        harbor_id, elm_id = request_id_of(harbor.id), request_id_of(elm.id)

        async def found(query: str = "") -> set[str]:
            response = await site.get(
                "/fragments/maintenance/requests", params={"q": query} if query else {}
            )
            assert response.status_code == 200, response.text
            return set(ROW.findall(response.text))

        await eventually(found, lambda rows: {harbor_id, elm_id} <= rows, timeout=30)
        assert await found(harbor_id) == {harbor_id}
        assert await found("harbor lane") == {harbor_id}
        assert await found("San Francisco 94107") == {harbor_id}
        assert await found("sam rivera") == {harbor_id}  # the form names the tenant
        assert await found("jordan") == {elm_id}
        assert await found("pipe burst") == {elm_id}
        assert await found("nobody lives here") == set()

        page = await site.get("/maintenance", params={"q": "harbor", "priority": "routine"})
        assert 'data-chip="q">Search: harbor' in page.text
        assert 'data-chip="priority">Priority: routine' in page.text

        exported = await site.get("/maintenance.csv", params={"q": "harbor lane"})
        assert exported.status_code == 200
        rows = list(csv.DictReader(io.StringIO(exported.content.decode("utf-8-sig"))))
        assert [(r["Request"], r["Tenant"], r["Unit"]) for r in rows] == [
            (harbor_id, "Sam Rivera", "1A")
        ]
        assert rows[0]["Address"] == "12 Harbor Lane, San Francisco, CA 94107"
