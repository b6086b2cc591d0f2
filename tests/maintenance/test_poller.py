"""Intake from a property-management system: the poller against the demo feed served on
loopback, with the real worker assembly, directory and database."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import httpx
import pytest
from pydantic import SecretStr
from temporalio.api.common.v1 import WorkflowExecution
from temporalio.api.enums.v1 import EventType
from temporalio.api.workflowservice.v1 import (
    DeleteWorkflowExecutionRequest,
    ResetWorkflowExecutionRequest,
)
from temporalio.client import Client, WorkflowExecutionStatus, WorkflowHandle
from temporalio.service import RPCError, RPCStatusCode
from temporalio.testing import WorkflowEnvironment

from opsdesk.app import create_app
from opsdesk.db import Database
from opsdesk.errors import PmsProtocolError, PmsRefused
from opsdesk.maintenance.claims import IntakeClaims
from opsdesk.maintenance.directory import Directory
from opsdesk.maintenance.feed import FEED_PATH, poller_status
from opsdesk.maintenance.ids import external_request_id, poller_workflow_id, request_workflow_id
from opsdesk.maintenance.intake import Rejects
from opsdesk.maintenance.pms import BadRecord, PmsClient, PmsUnavailable, parse_record
from opsdesk.maintenance.poller import PmsPollerWorkflow
from opsdesk.maintenance.polling import (
    ClaimRecords,
    PollerInput,
    PollerState,
    RecordClaim,
    batch_stamp,
)
from opsdesk.maintenance.service import fingerprint
from opsdesk.maintenance.workflow import MaintenanceRequestWorkflow
from opsdesk.settings import Settings
from opsdesk.temporal import search_attributes as sa
from opsdesk.worker import start_poller
from tests.conftest import BOTH_DATABASES, free_port
from tests.http import served
from tests.maintenance.helpers import LEAK, maintenance_worker
from tests.staff import bearer
from tests.test_cli import _opsdesk as opsdesk
from tests.waiting import eventually

TOKEN = "demo-token-for-tests"
PollerHandle = WorkflowHandle[PmsPollerWorkflow, None]


def record(external_id: str | int, **changes: Any) -> dict[str, Any]:
    """A request as the demo system sends it: Sam in 12 Harbor Lane 1A, a leaking tap."""
    return {
        "id": external_id,
        "property_id": "harbor-12",
        "unit": "1A",
        "tenant_name": "Sam Rivera",
        "tenant_email": "sam.rivera@example.com",
        "tenant_phone": "+1 415 555 0111",
        "description": LEAK,
        "reported_at": "2026-03-02T09:30:00+00:00",
        **changes,
    }


@dataclass
class Feed:
    """The demo feed served by the app on loopback, and settings that point a worker at it."""

    http: httpx.AsyncClient
    """The property-management system's view: its own token, which the feed checks."""
    staff: httpx.AsyncClient
    """Ops staff's view of our pages and API, with one of our tokens."""
    settings: Settings

    async def drop(self, *records: dict[str, Any]) -> None:
        for one in records:
            response = await self.http.post(FEED_PATH, json=one)
            assert response.status_code == 201, response.text


@asynccontextmanager
async def demo_feed(
    env: WorkflowEnvironment, settings: Settings, **changes: Any
) -> AsyncIterator[Feed]:
    # A source per test: the dev server is shared, and the poller's id is the source's.
    settings = settings.model_copy(
        update={
            "demo_pms": True,
            "pms_token": SecretStr(TOKEN),
            "pms_source": f"t{uuid.uuid4().hex[:8]}",
            "pms_poll_interval": timedelta(seconds=1),
            "ai_provider": "rules",
            **changes,
        }
    )
    app = create_app(settings, env.client)
    async with (
        served(app) as url,
        httpx.AsyncClient(
            base_url=url,
            # As a program asks: errors come back as JSON.
            headers={"Authorization": f"Bearer {TOKEN}", "Accept": "application/json"},
            timeout=30,
        ) as http,
        httpx.AsyncClient(
            base_url=url, headers={**await bearer(app), "Accept": "application/json"}, timeout=30
        ) as staff,
    ):
        yield Feed(http, staff, settings.model_copy(update={"pms_url": f"{url}{FEED_PATH}"}))


def claims(source: str, stamp: str, *external_ids: str) -> ClaimRecords:
    return ClaimRecords(
        source=source,
        stamp=stamp,
        records=[
            RecordClaim(external_id=e, request_id=external_request_id(source, e))
            for e in external_ids
        ],
    )


def poller(client: Client, settings: Settings) -> PollerHandle:
    """The poller's latest run, whichever that is."""
    return client.get_workflow_handle_for(
        PmsPollerWorkflow.run, poller_workflow_id(settings.pms_source)
    )


async def poller_reaches(
    client: Client,
    settings: Settings,
    started: int,
    set_aside: int = 0,
    already: int = 0,
    duplicates: int = 0,
) -> PollerState:
    def done(state: PollerState) -> bool:
        t = state.totals
        return (t.started, t.set_aside, t.already_started, t.duplicates) == (
            started,
            set_aside,
            already,
            duplicates,
        )

    return await eventually(
        lambda: poller(client, settings).query(PmsPollerWorkflow.get_state), done, timeout=60
    )


def request_of(client: Client, settings: Settings, external_id: str) -> WorkflowHandle[Any, Any]:
    return client.get_workflow_handle(
        request_workflow_id(external_request_id(settings.pms_source, external_id))
    )


async def test_a_bad_record_is_set_aside_and_the_rest_of_its_batch_starts(
    dev_env: WorkflowEnvironment, db: Database, settings: Settings, directory: Directory
) -> None:
    async with demo_feed(dev_env, settings) as feed:
        s = feed.settings
        await feed.drop(
            record("WO-1"),
            record("WO-2", property_id="nowhere-9"),
            record("WO-3", tenant_email="not an address"),
            record("WO-4", unit="1A", description="The hallway light flickers all evening long"),
        )
        async with maintenance_worker(dev_env, db, s):
            handle = await start_poller(dev_env.client, s)
            try:
                state = await poller_reaches(dev_env.client, s, started=2, set_aside=2)
                assert state.cursor == "4"
                for external_id in ("WO-1", "WO-4"):
                    child = request_of(dev_env.client, s, external_id)
                    described = await child.describe()
                    assert described.parent_id == handle.id
                    state_of = await child.query(MaintenanceRequestWorkflow.get_state)
                    assert (state_of.source, state_of.external_id) == ("pms", external_id)
                    # Started as every request is: its form's fingerprint kept, and listed.
                    assert (await described.memo())["intake"] == fingerprint(state_of.form)
                    assert described.typed_search_attributes.get(sa.STATUS) is not None
                    # With its owner's fairness key and the criteria's priority (``priorities``).
                    priority = described.raw_description.workflow_execution_info.priority
                    assert priority.fairness_key == "owner:own-harbor"
                    assert priority.priority_key > 0

                rejects = {r.external_id: r.reason for r in await Rejects(db).list(s.pms_source)}
                assert rejects.keys() == {"WO-2", "WO-3"}
                assert "unknown property nowhere-9" in rejects["WO-2"]
                assert rejects["WO-3"].startswith("the tenant's email should be an email address")

                # Ops see them, with the reasons and the poller's cursor.
                listed = (await feed.staff.get("/api/maintenance/intake/rejects")).json()
                assert [r["external_id"] for r in listed["rejects"]] == ["WO-3", "WO-2"]
                page = await feed.staff.get("/maintenance/intake", headers={"Accept": "text/html"})
                assert page.status_code == 200
                assert "unknown property nowhere-9" in page.text
                assert "data-cursor>4<" in page.text
            finally:
                await handle.terminate()


async def test_re_polls_and_worker_restarts_start_nothing_twice(
    dev_env: WorkflowEnvironment, db: Database, settings: Settings, directory: Directory
) -> None:
    client = dev_env.client
    async with demo_feed(dev_env, settings) as feed:
        s = feed.settings
        await feed.drop(record("WO-1"), record("WO-2"))
        async with maintenance_worker(dev_env, db, s):
            first = await start_poller(client, s)
            await poller_reaches(client, s, started=2)
        # The worker is gone; a request arrives meanwhile; another worker starts.
        await feed.drop(record("WO-3"))
        async with maintenance_worker(dev_env, db, s):
            again = await start_poller(client, s)
            assert again.result_run_id == first.result_run_id  # the running poller, woken
            state = await poller_reaches(client, s, started=3)
            assert state.cursor == "3"

            # End one request, then lose the poller mid-feed. A fresh poller goes on from
            # the stored cursor: it reads none of the first three again.
            ended = request_of(client, s, "WO-1")
            await ended.terminate("done with it")
            await first.terminate("lost")
            await feed.drop(record("WO-4"))
            fresh = await start_poller(client, s)
            try:
                assert fresh.result_run_id != first.result_run_id
                state = await poller_reaches(client, s, started=1)
                assert state.cursor == "4"
                # Still the one terminated run: a new run would be running.
                assert (await ended.describe()).status is WorkflowExecutionStatus.TERMINATED
            finally:
                await fresh.terminate()


async def forget(client: Client, handle: WorkflowHandle[Any, Any]) -> None:
    """Delete a workflow's execution, as Temporal does once its retention has passed."""
    await client.workflow_service.delete_workflow_execution(
        DeleteWorkflowExecutionRequest(
            namespace=client.namespace, workflow_execution=WorkflowExecution(workflow_id=handle.id)
        )
    )
    await eventually(lambda: gone(handle), bool)


async def gone(handle: WorkflowHandle[Any, Any]) -> bool:
    """True when Temporal has no execution under the handle's id."""
    try:
        await handle.describe()
    except RPCError as exc:
        if exc.status is RPCStatusCode.NOT_FOUND:
            return True
        raise
    return False


@BOTH_DATABASES  # the claims on SQLite and on PostgreSQL
async def test_a_record_becomes_one_request_even_once_temporal_forgot_it(
    dev_env: WorkflowEnvironment, db: Database, settings: Settings, directory: Directory
) -> None:
    client = dev_env.client
    async with demo_feed(dev_env, settings) as feed:
        s = feed.settings
        await feed.drop(record("WO-1"), record("WO-2"))
        async with maintenance_worker(dev_env, db, s):
            first = await start_poller(client, s)
            await poller_reaches(client, s, started=2)
            # The poller is lost, and WO-1's request is past its retention: its id is free.
            await first.terminate("lost")
            await forget(client, request_of(client, s, "WO-1"))
            # The system sends WO-1 again (it was edited there), and a new one.
            await feed.drop(record("WO-1", tenant_phone="+1 415 555 0199"), record("WO-3"))
            fresh = await start_poller(client, s)
            try:
                state = await poller_reaches(client, s, started=1, duplicates=1)
                assert state.cursor == "4"
                assert await gone(request_of(client, s, "WO-1"))
                described = await request_of(client, s, "WO-3").describe()
                assert described.status is WorkflowExecutionStatus.RUNNING
                page = await feed.staff.get("/maintenance/intake", headers={"Accept": "text/html"})
                assert "data-cursor>4<" in page.text
                assert "taken before, skipped 1" in page.text
            finally:
                await fresh.terminate()


@BOTH_DATABASES  # the claims on SQLite and on PostgreSQL
async def test_a_claim_decides_whether_a_record_starts_a_request(
    dev_env: WorkflowEnvironment, db: Database, settings: Settings, directory: Directory
) -> None:
    client = dev_env.client
    async with demo_feed(dev_env, settings) as feed:
        s = feed.settings
        source = s.pms_source
        stamp = batch_stamp(poller_workflow_id(source), 0)
        store = IntakeClaims(db)
        # WO-7 was taken by another batch, its request long forgotten by Temporal (never
        # started here at all). WO-9 is this poller's first batch's, claimed before it was
        # terminated and never started: the batch, read again, finishes it.
        await store.claim(claims(source, batch_stamp("pms-poller-elsewhere", 3), "WO-7"))
        await store.claim(claims(source, stamp, "WO-9"))
        await feed.drop(record("WO-7"), record("WO-8"), record("WO-9"))
        async with maintenance_worker(dev_env, db, s):
            handle = await start_poller(client, s)
            try:
                await poller_reaches(client, s, started=2, duplicates=1)
                assert await gone(request_of(client, s, "WO-7"))
                for external_id in ("WO-8", "WO-9"):
                    described = await request_of(client, s, external_id).describe()
                    assert described.status is WorkflowExecutionStatus.RUNNING
                stored = await store.cursor(source)
                assert stored is not None
                assert (stored.cursor, stored.batches) == ("3", 1)
                # The batch is committed: its claims are taken for good.
                again = await store.claim(claims(source, stamp, "WO-8", "WO-9"))
                assert again.ours == []
            finally:
                await handle.terminate()


async def test_a_reset_poller_goes_on_from_the_stored_cursor(
    dev_env: WorkflowEnvironment, db: Database, settings: Settings, directory: Directory
) -> None:
    client = dev_env.client
    async with demo_feed(dev_env, settings) as feed:
        s = feed.settings
        await feed.drop(record("WO-1"), record("WO-2"))
        async with maintenance_worker(dev_env, db, s):
            handle = await start_poller(client, s)
            try:
                await poller_reaches(client, s, started=2)
                # Back to its first workflow task: the run starts over from its input.
                first_task = 0
                async for event in handle.fetch_history_events():
                    if event.event_type == EventType.EVENT_TYPE_WORKFLOW_TASK_COMPLETED:
                        first_task = event.event_id
                        break
                await client.workflow_service.reset_workflow_execution(
                    ResetWorkflowExecutionRequest(
                        namespace=client.namespace,
                        workflow_execution=WorkflowExecution(workflow_id=handle.id),
                        reason="test: reset to the start",
                        workflow_task_finish_event_id=first_task,
                        request_id=uuid.uuid4().hex,
                    )
                )
                await feed.drop(record("WO-3"))
                # The reset run's counts start again; it read neither WO-1 nor WO-2 again.
                state = await poller_reaches(client, s, started=1)
                assert state.cursor == "3"
            finally:
                await poller(client, s).terminate()


async def test_it_continues_as_new_and_keeps_its_cursor(
    dev_env: WorkflowEnvironment, db: Database, settings: Settings, directory: Directory
) -> None:
    client = dev_env.client
    async with demo_feed(dev_env, settings) as feed:
        s = feed.settings
        await feed.drop(record("WO-1"), record("WO-2", unit="9Z"))
        async with maintenance_worker(dev_env, db, s):
            first = await start_poller(client, s, max_polls=1)
            try:
                await poller_reaches(client, s, started=1, set_aside=1)
                await feed.drop(record("WO-3"))
                state = await poller_reaches(client, s, started=2, set_aside=1)
                assert state.cursor == "3"
                assert state.totals.batches == 2
                latest = await poller(client, s).describe()
                assert latest.run_id != first.result_run_id
                # Each run took one batch and handed its cursor on.
                history = await client.get_workflow_handle(
                    first.id, run_id=first.result_run_id
                ).fetch_history()
                last = history.events[-1]
                assert last.event_type is EventType.EVENT_TYPE_WORKFLOW_EXECUTION_CONTINUED_AS_NEW
                carried = last.workflow_execution_continued_as_new_event_attributes.input
                assert b'"cursor":"2"' in carried.payloads[0].data
                # Children outlive the run that started them.
                child = await request_of(client, s, "WO-1").describe()
                assert child.status is WorkflowExecutionStatus.RUNNING
            finally:
                await poller(client, s).terminate()


async def test_a_quiet_system_is_asked_again_by_server_retries_not_by_timers(
    time_env: WorkflowEnvironment, db: Database, settings: Settings, directory: Directory
) -> None:
    client = time_env.client
    async with demo_feed(time_env, settings, pms_poll_interval=timedelta(hours=1)) as feed:
        s = feed.settings
        async with maintenance_worker(time_env, db, s):
            handle = await client.start_workflow(
                PmsPollerWorkflow.run,
                PollerInput(source=s.pms_source, poll_interval=s.pms_poll_interval),
                id=poller_workflow_id(s.pms_source),
                task_queue=s.maintenance_task_queue,
            )
            try:
                # The first ask found nothing; the next is an hour away.
                status = await eventually(
                    lambda: poller_status(client, s.pms_source), lambda p: p.attempts >= 2
                )
                assert status.last_error is None  # "nothing new" is no error
                assert status.last_poll_at is not None
                await feed.drop(record("WO-1"))
                await time_env.sleep(timedelta(hours=1))
                await poller_reaches(client, s, started=1)
                events = (await handle.fetch_history()).events
                kinds = [e.event_type for e in events]
                assert EventType.EVENT_TYPE_TIMER_STARTED not in kinds
                started = [
                    e.activity_task_started_event_attributes.attempt
                    for e in events
                    if e.event_type is EventType.EVENT_TYPE_ACTIVITY_TASK_STARTED
                ]
                # One fetch, retried by the server until the record was there.
                assert started[0] >= 2
            finally:
                await handle.terminate()


async def test_a_refused_token_stops_the_poller_until_a_worker_starts_with_the_right_one(
    dev_env: WorkflowEnvironment, db: Database, settings: Settings, directory: Directory
) -> None:
    client = dev_env.client
    async with demo_feed(dev_env, settings) as feed:
        s = feed.settings
        wrong = s.model_copy(update={"pms_token": SecretStr("not-the-token")})
        await feed.drop(record("WO-1"))
        async with maintenance_worker(dev_env, db, wrong):
            handle = await start_poller(client, wrong)
            try:
                state = await eventually(
                    lambda: handle.query(PmsPollerWorkflow.get_state),
                    lambda state: state.stopped is not None,
                )
                assert state.stopped is not None
                assert "401" in state.stopped
                assert "OPSDESK_PMS_TOKEN" in state.stopped
                page = await feed.staff.get("/maintenance/intake", headers={"Accept": "text/html"})
                assert "data-stopped" in page.text
            except BaseException:
                await handle.terminate()
                raise
        async with maintenance_worker(dev_env, db, s):
            await start_poller(client, s)  # what a worker's start does
            try:
                state = await poller_reaches(client, s, started=1)
                assert state.stopped is None
            finally:
                await handle.terminate()


async def test_the_adapter_reads_the_demo_feed_over_http(
    dev_env: WorkflowEnvironment, settings: Settings
) -> None:
    async with demo_feed(dev_env, settings) as feed:
        url = feed.settings.pms_url
        assert url is not None
        await feed.drop(record("WO-1"), record("WO-2"), record(3, unit="2B"))
        pms = PmsClient(url, TOKEN)
        page = await pms.fetch(None, 2)
        assert ([r["id"] for r in page.records], page.cursor) == (["WO-1", "WO-2"], "2")
        page = await pms.fetch("2", 2)
        assert ([r["id"] for r in page.records], page.cursor) == ([3], "3")
        page = await pms.fetch("3", 2)
        assert page.records == []

        with pytest.raises(PmsRefused, match=r"401.*OPSDESK_PMS_TOKEN"):
            await PmsClient(url, "wrong").fetch(None, 2)
        with pytest.raises(PmsRefused, match=r"404.*OPSDESK_PMS_URL"):
            await PmsClient(f"{url}/nope", TOKEN).fetch(None, 2)
        with pytest.raises(PmsProtocolError, match="not JSON"):
            await PmsClient(str(feed.http.base_url) + "/report", TOKEN).fetch(None, 2)
        with pytest.raises(PmsProtocolError, match='"requests"'):
            await PmsClient(str(feed.http.base_url) + "/healthz", TOKEN).fetch(None, 2)
        with pytest.raises(PmsUnavailable, match="cannot reach"):
            await PmsClient(f"http://127.0.0.1:{free_port()}/x", TOKEN).fetch(None, 2)

        # Bad input is a 4xx that says what is wrong, never a 500.
        for response in (
            await feed.http.get(FEED_PATH, params={"after": "yesterday"}),
            await feed.http.get(FEED_PATH, params={"after": "\u00b2"}),
            await feed.http.get(FEED_PATH, params={"after": "9" * 20}),
            await feed.http.get(FEED_PATH, params={"limit": 0}),
            await feed.http.post(FEED_PATH, json=["not", "an", "object"]),
            await feed.http.post(
                FEED_PATH, content=b"{", headers={"Content-Type": "application/json"}
            ),
            await feed.staff.get("/api/maintenance/intake/rejects", params={"limit": 0}),
            await feed.staff.get("/api/maintenance/intake/rejects", params={"before": "x"}),
            await feed.staff.get("/api/maintenance/intake/rejects", params={"before": "9" * 20}),
        ):
            assert response.status_code == 422, response.text
            assert response.json()["error"]["message"]
        async with httpx.AsyncClient(base_url=feed.http.base_url) as anyone:
            # No token, no records.
            assert (await anyone.get(FEED_PATH)).status_code == 401
            assert (await anyone.post(FEED_PATH, json=record("WO-9"))).status_code == 401

    async with demo_feed(dev_env, settings, demo_pms=False) as off:
        assert (await off.http.get(FEED_PATH)).status_code == 404
        assert (await off.http.post(FEED_PATH, json=record("WO-9"))).status_code == 404


def test_each_record_is_checked_on_its_own() -> None:
    record_, form = parse_record(record(17, description="  The boiler makes a knocking noise  "))
    assert (record_.id, form.description) == ("17", "The boiler makes a knocking noise")
    missing_id = record("x")
    del missing_id["id"]
    with pytest.raises(BadRecord) as no_id:
        parse_record(missing_id)
    assert no_id.value.external_id.startswith("no-id-")
    assert "the id is missing" in no_id.value.reason
    with pytest.raises(BadRecord, match="must be a JSON object"):
        parse_record(["a", "list"])
    with pytest.raises(BadRecord, match="the description is shorter than 10 characters"):
        parse_record(record("WO-1", description="leak"))


async def test_demo_request_drops_requests_the_poller_takes(
    dev_env: WorkflowEnvironment, db: Database, settings: Settings, directory: Directory
) -> None:
    client = dev_env.client
    async with demo_feed(dev_env, settings) as feed:
        s = feed.settings
        env = {
            "OPSDESK_DATABASE_URL": db.url.render_as_string(hide_password=False),
            "OPSDESK_PMS_SOURCE": s.pms_source,
        }
        for args in (["--invalid"], ["--description", "The front door lock is jammed shut"]):
            dropped = await asyncio.to_thread(opsdesk, "maintenance", "demo-request", *args, **env)
            assert dropped.returncode == 0, dropped.stderr
            assert "dropped WO-" in dropped.stderr
        async with maintenance_worker(dev_env, db, s):
            handle = await start_poller(client, s)
            try:
                await poller_reaches(client, s, started=1, set_aside=1)
            finally:
                await handle.terminate()
        [reject] = await Rejects(db).list(s.pms_source)
        assert reject.reason == "unknown property no-such-property"
