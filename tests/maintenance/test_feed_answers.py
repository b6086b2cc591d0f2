"""Intake never loses a record: the real poller against a local feed that misbehaves the ways
a property-management system does (answers that are not its protocol, records with several
problems, ids a request id cannot hold as they are)."""

from __future__ import annotations

import re
import uuid
from collections import defaultdict
from datetime import timedelta

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, PlainTextResponse, Response
from temporalio.client import WorkflowExecutionStatus
from temporalio.testing import WorkflowEnvironment

from opsdesk.db import Database
from opsdesk.maintenance.directory import Directory
from opsdesk.maintenance.ids import REQUEST_ID_PATTERN, external_request_id
from opsdesk.maintenance.intake import Rejects
from opsdesk.maintenance.workflow import MaintenanceRequestWorkflow
from opsdesk.settings import Settings
from opsdesk.worker import start_poller
from tests.http import served
from tests.maintenance.helpers import maintenance_worker
from tests.maintenance.test_poller import poller_reaches, record, request_of

LONG = "WO-" + "7" * 70
"""Two work orders whose ids differ only past the 64th character of a request id."""


def misbehaving_feed(pages: dict[str | None, list[Response]]) -> FastAPI:
    """Answers each cursor's scripted answers in turn, the last one from then on."""
    app = FastAPI()
    asked: dict[str | None, int] = defaultdict(int)

    @app.get("/requests")
    async def requests(request: Request) -> Response:
        after = request.query_params.get("after")
        answers = pages.get(after) or [JSONResponse({"requests": [], "cursor": None})]
        answer = answers[min(asked[after], len(answers) - 1)]
        asked[after] += 1
        return answer

    return app


def test_ordinary_external_ids_keep_their_request_ids() -> None:
    # Requests in flight, and every id that already fits, stay as they were.
    assert external_request_id("pms", "WO-1") == "pms-WO-1"
    assert external_request_id("pms", "a" * 60) == "pms-" + "a" * 60
    for odd in (LONG + "1", LONG + "2", "WO 1", "WO/1", "WO_1 ", "é" * 80):
        made = external_request_id("pms", odd)
        assert len(made) <= 64
        assert re.fullmatch(REQUEST_ID_PATTERN, made), made
    assert external_request_id("pms", LONG + "1") != external_request_id("pms", LONG + "2")
    assert external_request_id("pms", "WO 1") != external_request_id("pms", "WO_1")
    assert external_request_id("pms", "WO 1") != external_request_id("pms", "WO/1")
    assert external_request_id("pms", "WO 1").startswith("pms-WO_1-")


async def test_no_record_is_lost_to_a_bad_answer_a_bad_record_or_an_odd_id(
    dev_env: WorkflowEnvironment, db: Database, settings: Settings, directory: Directory
) -> None:
    client = dev_env.client
    several = record(
        "WO-BAD",
        property_id="nowhere-9",
        tenant_email="not an address",
        description="leak",
        tenant_name="",
    )
    pages: dict[str | None, list[Response]] = {
        # A proxy's error page with a 200, then the real first page.
        None: [
            PlainTextResponse("<html>Service temporarily unavailable</html>"),
            JSONResponse(
                {
                    "requests": [
                        several,
                        record(LONG + "1"),
                        record(LONG + "2"),
                        "WO-9 leaking tap",
                        record("WO 1"),
                        record("WO_1"),
                    ],
                    "cursor": "1",
                }
            ),
        ],
        # The wrong type of page, with a cursor: kept for ops, and the intake goes on.
        "1": [JSONResponse({"requests": {"WO-5": record("WO-5")}, "cursor": "2"})],
        # Not an object and no cursor: kept, and asked again until the feed answers properly.
        "2": [
            JSONResponse([record("WO-6")]),
            JSONResponse({"requests": [record("WO-6")], "cursor": "3"}),
        ],
    }
    async with served(misbehaving_feed(pages)) as url:
        s = settings.model_copy(
            update={
                "pms_url": f"{url}/requests",
                "pms_source": f"t{uuid.uuid4().hex[:8]}",
                "pms_poll_interval": timedelta(seconds=1),
                "ai_provider": "rules",
            }
        )
        async with maintenance_worker(dev_env, db, s):
            handle = await start_poller(client, s)
            try:
                state = await poller_reaches(client, s, started=5, set_aside=3)
                assert state.cursor == "3"
                assert state.stopped is None
                for external_id in (LONG + "1", LONG + "2", "WO 1", "WO_1", "WO-6"):
                    child = request_of(client, s, external_id)
                    assert (await child.describe()).status is WorkflowExecutionStatus.RUNNING
                    started = await child.query(MaintenanceRequestWorkflow.get_state)
                    assert started.external_id == external_id

                rejects = {r.external_id: r for r in await Rejects(db).list(s.pms_source)}
                # Every problem of the record, in words, not the first alone.
                assert rejects["WO-BAD"].reason == (
                    "unknown property nowhere-9; the tenant's name is empty; "
                    "the tenant's email should be an email address, such as name@example.com; "
                    "the description is shorter than 10 characters"
                )
                (not_an_object,) = [r for r in rejects.values() if r.external_id[:6] == "no-id-"]
                assert "must be a JSON object, not a string" in not_an_object.reason
                start = rejects["answer-at-the-start"]
                assert "it is not JSON" in start.reason
                assert "Service temporarily unavailable" in start.record["answer"]
                page = rejects["answer-after-1"]
                assert 'it has an object for its "requests" list' in page.reason
                assert "went on after cursor 2" in page.reason
                assert page.record["requests"]["WO-5"]["id"] == "WO-5"
                assert "asks again at each poll" in rejects["answer-after-2"].reason
                assert len(rejects) == 5
            finally:
                await handle.terminate()
