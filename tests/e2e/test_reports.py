"""The Reports page in Chromium: the daily report a run of its workflow kept is listed and
opens with its figures drawn as charts (inline SVG that fits a phone), an admin runs one
now with a button that operators do not see, and an unknown report is a readable page."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import httpx
from playwright.async_api import Browser, Page, expect
from temporalio.testing import WorkflowEnvironment

from opsdesk.access.roles import Role
from opsdesk.db import Database
from opsdesk.notify.compose import render_template
from opsdesk.reports.models import TEMPLATE, ReportRequest
from opsdesk.reports.store import Reports
from opsdesk.reports.workflows import DailyReportWorkflow
from opsdesk.settings import Settings
from tests.conftest import BROWSER
from tests.e2e.people import sign_in
from tests.e2e.test_layout import MEASURE, PHONE
from tests.reports.factory import empty_report
from tests.staff import person
from tests.waiting import eventually

pytestmark = BROWSER

# Every text of each chart inside its SVG's box and the phone's width; every bar's number
# right of its bar. Returns what does not fit, by its words.
CHART_FITS = """
(width) => {
  const problems = [];
  for (const svg of document.querySelectorAll("figure.chart svg")) {
    const box = svg.getBoundingClientRect();
    if (box.left < 0 || box.right > width) problems.push(`a chart is off the page: ${box.right}`);
    for (const text of svg.querySelectorAll("text")) {
      const r = text.getBoundingClientRect();
      if (r.left < box.left - 0.5 || r.right > box.right + 0.5 || r.right > width
          || r.top < box.top - 0.5 || r.bottom > box.bottom + 0.5) {
        problems.push(`"${text.textContent}" sticks out: ${r.left}-${r.right} of `
          + `${box.left}-${box.right}`);
      }
    }
  }
  return problems;
}
"""


async def test_a_kept_report_is_listed_and_opens(
    dev_env: WorkflowEnvironment, settings: Settings, site: httpx.AsyncClient, page: Page
) -> None:
    report_id = f"daily-report-{uuid.uuid4().hex[:8]}"
    await dev_env.client.execute_workflow(
        DailyReportWorkflow.run,
        ReportRequest(recipient="ops@opsdesk.local", zone="Europe/London"),
        id=report_id,
        task_queue=settings.orders_task_queue,
    )

    await page.goto(f"{site.base_url}/")
    await page.get_by_role("link", name="Reports").click()
    await expect(page.get_by_role("heading", name="Reports")).to_be_visible()
    row = page.locator(f'[data-report="{report_id}"]')
    await expect(row).to_be_visible()
    await row.get_by_role("link").click()

    await expect(page.get_by_role("heading", name="Daily report")).to_be_visible()
    await expect(page.get_by_role("heading", name="Orders")).to_be_visible()
    await expect(page.locator("[data-period]")).to_contain_text("Covers")
    # The email as sent, folded away under the charts.
    await page.get_by_text("The email as sent to ops").click()
    await expect(page.get_by_role("heading", name="Ops Desk daily report")).to_be_visible()
    await page.get_by_role("link", name="← Reports").click()
    await expect(page).to_have_url(f"{site.base_url}/reports")

    # On a phone each report is a card: nothing sticks out and the page never scrolls
    # sideways (as it did while the list was a table of seven columns).
    await page.set_viewport_size({"width": PHONE, "height": 844})
    await expect(row.locator('td[data-label="Covers"]')).to_contain_text("to")
    assert await page.evaluate(MEASURE) == []
    await page.set_viewport_size({"width": 1280, "height": 900})

    await page.goto(f"{site.base_url}/reports/no-such-report")
    await expect(page.get_by_role("heading", name="Not found")).to_be_visible()
    await expect(page.locator("body")).to_contain_text("No report 'no-such-report'")


async def test_a_reports_figures_are_drawn_as_charts_that_fit_a_phone(
    db: Database, site: httpx.AsyncClient, page: Page
) -> None:
    end = datetime.now(UTC).replace(microsecond=0)
    report = empty_report(f"daily-report-{uuid.uuid4().hex[:8]}", end - timedelta(days=1), end)
    report.orders.by_status = {"DELIVERED": 1240, "AWAITING_STOCK": 3, "REVIEW": 17, "PAID": 0}
    report.orders.total = 1260
    report.maintenance.by_status = {"OWNER_APPROVAL": 2, "CLOSED": 9}
    report.ai.calls_by_task = {"order_risk": 30, "maintenance_triage": 8}
    content = render_template(TEMPLATE, report.model_dump(mode="json"), str(site.base_url))
    await Reports(db).keep(report, content)

    for width in (1280, PHONE):
        await page.set_viewport_size({"width": width, "height": 900})
        await page.goto(f"{site.base_url}/reports/{report.report_id}")
        orders = page.get_by_role("img", name="Orders by status now")
        await expect(orders).to_be_visible()
        # Three bars (a zero is left out), longest first, each labelled and counted.
        await expect(orders.locator("rect")).to_have_count(3)
        await expect(orders.locator("[data-label]")).to_have_text(
            ["Delivered", "Review", "Awaiting stock"]
        )
        await expect(orders.locator("[data-value]")).to_have_text(["1,240", "17", "3"])
        await expect(orders.locator("[data-axis-title]")).to_have_text("Orders")
        await expect(orders.locator("[data-tick]").first).to_have_text("0")
        widths = [
            float(await bar.get_attribute("width") or 0)
            for bar in await orders.locator("rect").all()
        ]
        assert widths[0] > widths[1] > widths[2] > 0
        # The text alternative says every figure.
        await expect(orders.locator("desc")).to_have_text(
            "Orders by status now. Delivered: 1,240; Review: 17; Awaiting stock: 3."
        )
        await expect(
            page.get_by_role("img", name="Repair requests by status now").locator("rect")
        ).to_have_count(2)
        await expect(
            page.get_by_role("img", name="AI calls in the period, by task").locator("rect")
        ).to_have_count(2)
        assert await page.evaluate(CHART_FITS, width) == []
        assert await page.evaluate(MEASURE) == []
        # Drawn at a readable size: a label is at least 9 px tall on a phone.
        label = await orders.locator("[data-label]").first.bounding_box()
        assert label is not None
        assert label["height"] >= 9


def _from_the_page(site: httpx.AsyncClient) -> dict[str, str]:
    """A form post as the page's own would be: same origin, a person's browser."""
    return {"Origin": str(site.base_url).rstrip("/"), "Accept": "text/html"}


async def test_an_admin_runs_a_report_now_and_an_operator_cannot(
    browser: Browser, db: Database, site: httpx.AsyncClient, page: Page
) -> None:
    await page.goto(f"{site.base_url}/reports")
    await expect(page.locator("[data-reports]")).to_contain_text("No reports yet")
    form = page.locator("[data-run-report]")
    key = await form.locator('input[name="idempotency_key"]').input_value()
    await form.get_by_role("button", name="Run now").click()
    notice = page.locator("[data-notice]")
    await expect(notice).to_contain_text("The report is being compiled")
    await expect(notice).to_contain_text("appears at the top of the Reports list")
    await eventually(lambda: site.get("/api/reports"), lambda r: len(r.json()["reports"]) == 1)
    await page.reload()
    await expect(page.locator("[data-report]")).to_have_count(1)
    # The same form posted again (a double click, a resent form) runs nothing more.
    again = await page.request.post(
        f"{site.base_url}/reports/run", form={"idempotency_key": key}, headers=_from_the_page(site)
    )
    assert again.ok
    assert "That report was already started" in await again.text()

    await person(db, "otto", Role.OPERATOR)
    context = await browser.new_context(viewport={"width": 1280, "height": 900})
    try:
        operator = await context.new_page()
        await sign_in(operator, str(site.base_url), "otto")
        await operator.goto(f"{site.base_url}/reports")
        await expect(operator.locator("[data-reports]")).to_be_visible()
        await expect(operator.get_by_role("button", name="Run now")).to_have_count(0)
        refused = await operator.request.post(
            f"{site.base_url}/reports/run",
            form={"idempotency_key": "otto-1"},
            headers=_from_the_page(site),
        )
        assert refused.status == 403
        assert "needs the admin role" in await refused.text()
    finally:
        await context.close()
    answered = await site.get("/api/reports")
    assert len(answered.json()["reports"]) == 1
