"""Vendors' compliance documents: an expired one keeps a vendor from a job (the next one is
asked, and the timeline says why), a required one that is missing does too, and the daily
reminders reach the vendor and ops 30 and 7 days before a document expires, once each."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, timedelta

from sqlalchemy import select
from temporalio.testing import WorkflowEnvironment

from opsdesk import clock
from opsdesk.db import Database
from opsdesk.db.tables import OutboxMessage, VendorDocumentReminder
from opsdesk.maintenance.compliance import VendorDocuments
from opsdesk.maintenance.directory import Directory, sample_directory
from opsdesk.maintenance.document_reminders import DocumentRemindersWorkflow
from opsdesk.maintenance.inputs import Decision
from opsdesk.maintenance.payloads import ReminderRequest
from opsdesk.maintenance.status import Stage
from opsdesk.maintenance.workflow import MaintenanceRequestWorkflow as W
from opsdesk.settings import Settings
from tests.maintenance.helpers import answer, maintenance_worker, start, waiting_for
from tests.waiting import eventually


def today() -> date:
    return datetime.now(UTC).date()


async def test_a_plumber_whose_insurance_expired_is_passed_over_for_the_next(
    time_env: WorkflowEnvironment, db: Database, settings: Settings, directory: Directory
) -> None:
    documents = VendorDocuments(db)
    lapsed = today() - timedelta(days=5)
    await documents.add("ven-flow", "general_liability", lapsed, uploaded_by="Ops")
    async with maintenance_worker(time_env, db, settings):
        handle = await start(time_env.client, settings)
        await waiting_for(handle, Stage.OWNER_APPROVAL)
        await handle.execute_update(
            W.answer_owner_approval, Decision(**answer("Harbor Lane Holdings"), approve=True)
        )
        state = await waiting_for(handle, Stage.VENDOR_QUOTE)
    assert state.vendor is not None
    assert state.vendor.vendor_id == "ven-pipe"
    events = [entry.event for entry in state.timeline]
    said = (
        "FlowRight Plumbing was not asked: their general liability insurance expired on "
        f"{clock.calendar_day(lapsed)}"
    )
    assert events.count(said) == 1
    # FlowRight was never asked, so it is not among those who were.
    assert state.vendors_tried == ["ven-pipe"]


async def test_a_required_document_missing_keeps_a_vendor_from_a_job_and_an_upload_ends_it(
    db: Database, directory: Directory
) -> None:
    # The sample's handyman has no licence on file; by default that is no obstacle.
    documents = VendorDocuments(db)
    pick = await documents.next_offerable(directory.next_vendor, "handyman", [], today())
    assert pick.vendor is not None
    assert pick.vendor.vendor_id == "ven-fix"
    strict = VendorDocuments(db, {"handyman": ["licence"]})
    pick = await strict.next_offerable(directory.next_vendor, "handyman", [], today())
    assert pick.vendor is None
    [skipped] = pick.skipped
    assert skipped.reason == "we have no licence on file for them"
    await documents.add("ven-fix", "licence", today(), uploaded_by="Ops")
    pick = await strict.next_offerable(directory.next_vendor, "handyman", [], today())
    # Valid through its last day.
    assert pick.vendor is not None
    assert pick.skipped == []


async def test_importing_the_directory_again_keeps_an_uploaded_renewal_current(
    db: Database, directory: Directory
) -> None:
    documents = VendorDocuments(db)
    renewal = date(2040, 1, 31)
    await documents.add("ven-volt", "licence", renewal, uploaded_by="Ops", number="C10-9")
    await directory.import_directory(sample_directory())
    current = (await documents.current())["ven-volt"]
    assert current["licence"].expires_on == renewal
    assert len(await documents.documents("ven-volt")) == 4  # three listed, one uploaded
    exported = next(v for v in (await directory.export()).vendors if v.id == "ven-volt")
    assert {d.kind: d.expires_on for d in exported.documents}["licence"] == renewal


async def _reminders(db: Database) -> list[tuple[str, str, str]]:
    async with db.transaction() as session:
        rows = await session.scalars(
            select(OutboxMessage)
            .where(OutboxMessage.template == "maintenance/message")
            .where(OutboxMessage.idempotency_key.startswith("vendor-document:"))
            .order_by(OutboxMessage.idempotency_key)
        )
        return [(row.to_address, row.subject, row.body_text) for row in rows]


async def test_reminders_30_and_7_days_before_expiry_reach_the_vendor_and_ops_once(
    time_env: WorkflowEnvironment, db: Database, settings: Settings, directory: Directory
) -> None:
    documents = VendorDocuments(db)
    month = await documents.add(
        "ven-volt", "licence", today() + timedelta(days=30), uploaded_by="Ops", number="C10-7"
    )
    week = await documents.add(
        "ven-warm", "workers_comp", today() + timedelta(days=7), uploaded_by="Ops"
    )
    await documents.add(
        "ven-fix", "general_liability", today() + timedelta(days=40), uploaded_by="Ops"
    )
    request = ReminderRequest(ops_email=settings.ops_email, zone="UTC")
    async with maintenance_worker(time_env, db, settings):
        for run in (1, 2):
            sent = await time_env.client.execute_workflow(
                DocumentRemindersWorkflow.run,
                request,
                id=f"reminders-{uuid.uuid4().hex[:8]}-{run}",
                task_queue=settings.maintenance_task_queue,
            )
            # The first run claims all four; the second finds them taken.
            assert sent == (4 if run == 1 else 0)
        mails = await eventually(lambda: _reminders(db), lambda rows: len(rows) == 4)
    by_to = {(to, subject): text for to, subject, text in mails}
    volt = "office@voltelectric.example"
    warm = "service@warmair.example"
    on_volt = clock.calendar_day(month.expires_on)
    assert set(by_to) == {
        (volt, f"Volt Electric: licence expires in 30 days ({on_volt})"),
        (settings.ops_email, f"Volt Electric: licence expires in 30 days ({on_volt})"),
        (warm, "WarmAir HVAC: workers' compensation insurance expires in 7 days "
               f"({clock.calendar_day(week.expires_on)})"),
        (settings.ops_email, "WarmAir HVAC: workers' compensation insurance expires in 7 days "
               f"({clock.calendar_day(week.expires_on)})"),
    }  # fmt: skip
    to_vendor = by_to[(volt, f"Volt Electric: licence expires in 30 days ({on_volt})")]
    assert "Your licence (number C10-7) that we have on file expires in 30 days" in to_vendor
    assert "reply to this email with it attached (PDF, JPEG or PNG)" in to_vendor
    to_ops = by_to[(settings.ops_email, f"Volt Electric: licence expires in 30 days ({on_volt})")]
    assert "upload it on the vendor's page" in to_ops
    assert "/maintenance/vendors/ven-volt" in to_ops
    async with db.transaction() as session:
        claims = (await session.scalars(select(VendorDocumentReminder))).all()
    assert sorted((c.document_id, c.days_before, c.recipient) for c in claims) == sorted(
        [
            (month.id, 30, "ops"),
            (month.id, 30, "vendor"),
            (week.id, 7, "ops"),
            (week.id, 7, "vendor"),
        ]
    )
