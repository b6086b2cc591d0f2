"""Itemised invoices: the vendor sends one from the link page (refused readably when it does
not add up), the owner sees its lines and how far it is over the estimate, the payout records
it, and payouts export by property and month."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from sqlalchemy import select
from temporalio.testing import WorkflowEnvironment

from opsdesk.app import create_app
from opsdesk.db import Database
from opsdesk.db.tables import PayoutRow
from opsdesk.files.refs import FileRef
from opsdesk.files.store import S3Store, store_for
from opsdesk.maintenance.directory import Directory
from opsdesk.maintenance.inputs import Decision, InvoiceAnswer
from opsdesk.maintenance.notices import call_script, estimate_words, stage_details
from opsdesk.maintenance.state import RequestState
from opsdesk.maintenance.status import RequestStatus, Stage
from opsdesk.maintenance.workflow import MaintenanceRequestWorkflow as W
from opsdesk.settings import Settings
from tests.http import serve
from tests.maintenance.helpers import (
    answer,
    drive_to,
    form,
    link_for_stage,
    served_desk,
    start,
    waiting_for,
)

HTML = {"Accept": "text/html"}
VENDOR = "jobs@flowright.example"
OWNER = "owner@harborlane.example"
PDF = b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"

# Labour 1.5 h at 85.00 and two valves at 150.00, plus 35.00 of tax: 462.50, which is
# 50.00 (12 %) over the approved estimate of 412.50.
LINES = {
    "number": "INV-1042",
    "kind.0": "labour",
    "description.0": "Replace the valve",
    "quantity.0": "1.5",
    "price.0": "85.00",
    "kind.1": "materials",
    "description.1": "Shut-off valve",
    "quantity.1": "2",
    "price.1": "150",
    "tax": "35.00",
    "answer": "invoice",
}
DOCUMENT = FileRef(
    key="invoices/mr-9/" + "0" * 64, content_type="application/pdf", size=9, kind="document"
)


def unpriced() -> dict[str, str]:
    return {**LINES, "price.1": ""}


async def test_an_itemised_invoice_is_checked_shown_to_the_owner_and_paid(
    time_env: WorkflowEnvironment,
    db: Database,
    s3_settings: Settings,
    directory: Directory,
) -> None:
    settings = s3_settings
    store = store_for(settings)
    assert isinstance(store, S3Store)
    await store.ensure_bucket()
    async with served_desk(time_env, db, settings) as http:
        handle = await start(time_env.client, settings)
        state = await drive_to(handle, Stage.INVOICE, quote=41250)
        request_id = state.request_id
        path = await link_for_stage(db, settings, request_id, VENDOR, "invoice")

        page = await http.get(path, headers=HTML)
        assert page.status_code == 200
        assert 'enctype="multipart/form-data"' in page.text
        assert 'name="description.3"' in page.text  # blank rows without the script

        # A line without a price: refused in words, what was typed shown again.
        refused = await http.post(
            path, data=unpriced(), files={"document": ("inv.pdf", PDF)}, headers=HTML
        )
        assert refused.status_code == 422
        assert "Line 2: give its price" in refused.text
        assert 'value="Shut-off valve"' in refused.text
        assert 'value="INV-1042"' in refused.text
        # A negative quantity, and a file that only calls itself a PDF.
        negative = await http.post(
            path,
            data={**LINES, "quantity.0": "-1"},
            files={"document": ("inv.pdf", PDF)},
            headers=HTML,
        )
        assert "Line 1: the quantity must be more than zero." in negative.text
        renamed = await http.post(
            path, data=LINES, files={"document": ("inv.pdf", b"just some text")}, headers=HTML
        )
        assert renamed.status_code == 422
        assert "not a PDF, JPEG or PNG" in renamed.text

        # The API refuses what does not add up, with a sentence.
        zero = await http.post(
            f"/api/maintenance/requests/{request_id}/answers/invoice",
            json={
                "number": "INV-1042",
                "lines": [
                    {"kind": "labour", "description": "Look", "quantity": 1, "unit_price_cents": 0}
                ],
                "document": {"name": "inv.pdf", "content_base64": "JVBERi0xLjQK"},
            },
        )
        assert zero.status_code == 422, zero.text
        assert "The invoice's total is zero" in zero.json()["error"]["message"]
        no_price = await http.post(
            f"/api/maintenance/requests/{request_id}/answers/invoice",
            json={
                "number": "X",
                "lines": [{"kind": "labour", "description": "Look", "quantity": 1}],
            },
        )
        assert no_price.status_code == 422
        assert "Line 1: give its price" in no_price.json()["error"]["message"]

        sent = await http.post(
            path, data=LINES, files={"document": ("INV-1042.pdf", PDF)}, headers=HTML
        )
        assert sent.status_code == 200, sent.text
        assert "Thank you" in sent.text

        state = await waiting_for(handle, Stage.INVOICE_APPROVAL)
        assert state.invoice_cents == 46250
        assert state.invoice is not None
        assert state.invoice.document is not None
        document = state.invoice.document
        assert await store.get(document.key) == PDF
        owner_path = await link_for_stage(db, settings, request_id, OWNER, "invoice_approval")
        owner_page = (await http.get(owner_path, headers=HTML)).text
        assert "Replace the valve: 1.5 at 85.00 USD each, 127.50 USD" in owner_page
        assert "Shut-off valve: 2 at 150.00 USD each, 300.00 USD" in owner_page
        assert "35.00 USD" in owner_page
        assert "462.50 USD" in owner_page
        assert "50.00 USD (12 %) over the estimate of 412.50 USD you approved." in owner_page
        assert "data-invoice-document" in owner_page

        await handle.execute_update(
            W.answer_invoice_approval, Decision(**answer("owner"), approve=True)
        )
        state = await handle.result()
        assert state.status is RequestStatus.CLOSED
        async with db.transaction() as session:
            payout = (await session.scalars(select(PayoutRow))).one()
        assert (payout.invoice_number, payout.property_id, payout.amount_cents) == (
            "INV-1042",
            "harbor-12",
            46250,
        )
        assert payout.document_key == document.key

        detail = (await http.get(f"/maintenance/{request_id}", headers=HTML)).text
        assert "Replace the valve" in detail
        assert "data-invoice-document" in detail

        paid_at = payout.created_at.replace(tzinfo=UTC)
        month = f"{paid_at.astimezone(ZoneInfo('America/Los_Angeles')):%Y-%m}"
        listed = (await http.get("/api/maintenance/payouts", params={"month": month})).json()
        assert [(p["request_id"], p["invoice_number"]) for p in listed["items"]] == [
            (request_id, "INV-1042")
        ]
        assert listed["totals"][0]["amount_cents"] == 46250


async def test_payouts_export_by_property_and_month_in_the_propertys_time(
    db: Database, settings: Settings, directory: Directory
) -> None:
    def paid(key: str, at: datetime, cents: int, **invoice: str | None) -> PayoutRow:
        return PayoutRow(
            id=f"po_{key}",
            idempotency_key=key,
            request_id=f"R-{key}",
            vendor_id="ven-flow",
            amount_cents=cents,
            currency="USD",
            created_at=at,
            **invoice,
        )

    async with db.transaction() as session:
        session.add_all(
            [
                # 21:30 on 30 November in Los Angeles: November's, though December in UTC.
                paid(
                    "a",
                    datetime(2026, 12, 1, 5, 30, tzinfo=UTC),
                    10000,
                    property_id="harbor-12",
                    invoice_number="INV-1",
                ),
                paid(
                    "b",
                    datetime(2026, 12, 10, 18, tzinfo=UTC),
                    46250,
                    property_id="harbor-12",
                    invoice_number="INV-2",
                ),
                paid(
                    "c",
                    datetime(2026, 12, 15, 18, tzinfo=UTC),
                    5000,
                    property_id="elm-48",
                    invoice_number='=HYPERLINK("http://x")',
                ),
                paid("d", datetime(2026, 12, 20, 18, tzinfo=UTC), 7000, property_id="harbor-12"),
                # Paid before payouts recorded the property.
                paid("e", datetime(2026, 12, 21, 18, tzinfo=UTC), 3000),
            ]
        )
    async with serve(create_app(settings)) as http:
        december = await http.get("/maintenance/payouts.csv", params={"month": "2026-12"})
        assert december.status_code == 200
        assert december.headers["content-type"].startswith("text/csv")
        rows = list(csv.reader(io.StringIO(december.text.lstrip("\ufeff"))))
        assert rows[0][:4] == ["Month", "Paid (UTC)", "Property", "Property id"]
        assert [(r[0], r[3], r[7], r[8]) for r in rows[1:]] == [
            ("2026-12", "", "", "30.00"),
            ("2026-12", "harbor-12", "", "70.00"),
            ("2026-12", "elm-48", '\'=HYPERLINK("http://x")', "50.00"),
            ("2026-12", "harbor-12", "INV-2", "462.50"),
        ]
        assert rows[1][2] == "not recorded"

        harbor = await http.get("/api/maintenance/payouts", params={"property_id": "harbor-12"})
        report = harbor.json()
        assert [(t["month"], t["payouts"], t["amount_cents"]) for t in report["totals"]] == [
            ("2026-12", 2, 53250),
            ("2026-11", 1, 10000),
        ]
        november = await http.get(
            "/api/maintenance/payouts", params={"month": "2026-11", "property_id": "harbor-12"}
        )
        assert [p["invoice_number"] for p in november.json()["items"]] == ["INV-1"]

        page = await http.get("/maintenance/payouts", params={"month": "2026-12"}, headers=HTML)
        assert page.status_code == 200
        assert "December 2026" in page.text
        assert "462.50 USD" in page.text
        assert 'href="/maintenance/payouts.csv?month=2026-12"' in page.text

        bad = await http.get("/api/maintenance/payouts", params={"month": "2026-13"})
        assert bad.status_code == 422
        assert "a month like 2026-12" in bad.json()["error"]["message"]
        bad_page = await http.get("/maintenance/payouts", params={"month": "soon"}, headers=HTML)
        assert bad_page.status_code == 422
        assert "Choose a month from the calendar" in bad_page.text
        nowhere = "There is no property &#39;nope&#39; in the directory: choose one from the list."
        for address in ("/maintenance/payouts", "/maintenance/payouts.csv"):
            unknown = await http.get(address, params={"property_id": "nope"}, headers=HTML)
            assert unknown.status_code == 422
            assert nowhere in unknown.text or nowhere.replace("&#39;", "'") in unknown.text
        unknown = await http.get("/api/maintenance/payouts", params={"property_id": "nope"})
        assert unknown.status_code == 422
        assert unknown.json()["error"]["message"] == (
            "There is no property 'nope' in the directory: choose one from the list."
        )


def test_the_owners_call_and_email_read_the_lines_and_the_estimate() -> None:
    now = datetime(2026, 12, 6, tzinfo=UTC)
    invoice = InvoiceAnswer.model_validate(
        {
            **answer("FlowRight"),
            "number": "INV-9",
            "lines": [
                {
                    "kind": "labour",
                    "description": "Fit",
                    "quantity": "1.5",
                    "unit_price_cents": 8500,
                },
                {
                    "kind": "materials",
                    "description": "Valve",
                    "quantity": 2,
                    "unit_price_cents": 15000,
                },
            ],
            "tax_cents": 3500,
            "document": DOCUMENT,
        }
    )
    state = RequestState(
        request_id="MR-9",
        status=RequestStatus.INVOICE_APPROVAL,
        source="api",
        form=form(),
        approved_cents=41250,
        invoice_cents=invoice.total_cents,
        invoice=invoice.invoice(),
        created_at=now,
        updated_at=now,
    )
    script = call_script(state, Stage.INVOICE_APPROVAL)
    assert (
        "invoices 462 dollars and 50 cents: 127 dollars and 50 cents for labour, 300 dollars "
        "for materials and 35 dollars of tax. That is 50 dollars over the estimate."
    ) in script.intro
    details = {d["label"]: d["text"] for d in stage_details(state, Stage.INVOICE_APPROVAL)}
    assert details["Invoice number"] == "INV-9"
    assert details["Total"] == "462.50 USD"
    assert details["Against the estimate"] == (
        "50.00 USD (12 %) over the estimate of 412.50 USD you approved."
    )
    within = state.model_copy(update={"approved_cents": 50000})
    assert estimate_words(within) == "Within the estimate of 500.00 USD you approved."
    # An amount-only invoice, as histories before itemised invoices hold it, reads as before.
    old = InvoiceAnswer.model_validate({**answer("FlowRight"), "amount_cents": 35000})
    assert (old.total_cents, old.invoice().lines) == (35000, [])
