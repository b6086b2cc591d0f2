"""The reports' JSON API against the real app, worker and database: who may read and who
may run a report, the shapes it answers with, its readable 404, and a run that happens once
per Idempotency-Key and is kept like a scheduled one."""

from __future__ import annotations

from typing import Any

import httpx
from temporalio.testing import WorkflowEnvironment

from opsdesk.access.roles import Role
from opsdesk.db import Database
from opsdesk.notify.outbox import Outbox
from opsdesk.reports.runs import RUN_NOW_PREFIX
from opsdesk.settings import Settings
from tests.orders.helpers import served_api
from tests.staff import token_for
from tests.waiting import eventually


def _as(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def _refusal(answer: httpx.Response, status: int) -> str:
    assert answer.status_code == status, answer.text
    error: dict[str, Any] = answer.json()["error"]
    assert error["status"] == status
    assert isinstance(error["message"], str)
    assert error["message"]
    return str(error["message"])


async def test_only_admins_run_a_report_and_it_runs_once_per_key(
    dev_env: WorkflowEnvironment, db: Database, settings: Settings
) -> None:
    viewer = _as(await token_for(db, Role.VIEWER, "vera"))
    operator = _as(await token_for(db, Role.OPERATOR, "otto"))
    async with served_api(dev_env, db, settings) as site:
        for who, name in ((viewer, "vera"), (operator, "otto")):
            refused = await site.post("/api/reports/run", headers={**who, "Idempotency-Key": "x"})
            assert "needs the admin role" in _refusal(refused, 403)
            assert name in _refusal(refused, 403)
        anonymous = httpx.AsyncClient(base_url=site.base_url)
        async with anonymous:
            _refusal(await anonymous.post("/api/reports/run"), 401)
            _refusal(await anonymous.get("/api/reports"), 401)
        # A viewer reads what no refusal started.
        listed = await site.get("/api/reports", headers=viewer)
        assert listed.status_code == 200, listed.text
        assert listed.json() == {"reports": [], "older": None}

        first = await site.post("/api/reports/run", headers={"Idempotency-Key": "run-1"})
        again = await site.post("/api/reports/run", headers={"Idempotency-Key": "run-1"})
        assert (first.status_code, again.status_code) == (202, 202), first.text
        run, repeat = first.json(), again.json()
        assert set(run) == {"report_id", "started", "report", "page", "message"}
        assert run["report_id"].startswith(RUN_NOW_PREFIX)
        assert (run["started"], repeat["started"]) == (True, False)
        assert repeat["report_id"] == run["report_id"]
        assert run["report"] == f"/api/reports/{run['report_id']}"
        assert first.headers["location"] == run["report"]
        assert run["page"] == f"/reports/{run['report_id']}"
        assert "emailed to ops@opsdesk.local" in run["message"]

        kept = await eventually(
            lambda: site.get(run["report"], headers=viewer), lambda r: r.status_code == 200
        )
        report = kept.json()
        assert set(report) == {
            "report_id", "period", "zone", "orders", "ai", "maintenance", "subject", "page"
        }  # fmt: skip
        assert report["report_id"] == run["report_id"]
        assert report["zone"] == settings.business_time_zone
        assert report["subject"].startswith("Ops Desk daily report")
        assert report["period"]["start"] < report["period"]["end"]
        assert isinstance(report["orders"]["by_status"], dict)
        assert isinstance(report["maintenance"]["open"], int)
        assert isinstance(report["ai"]["estimated_cost_usd"], float)

        listed = (await site.get("/api/reports", headers=viewer)).json()
        assert [r["report_id"] for r in listed["reports"]] == [run["report_id"]]
        assert set(listed["reports"][0]) == {"report_id", "subject", "period", "zone", "page"}
        # Run once for two posts of the key: one report, one email.
        emails = await eventually(
            lambda: Outbox(db).recent(reference=run["report_id"]), lambda found: len(found) > 0
        )
        assert [e.to for e in emails] == ["ops@opsdesk.local"]


async def test_the_reports_api_refuses_what_it_cannot_read(
    dev_env: WorkflowEnvironment, db: Database, settings: Settings
) -> None:
    async with served_api(dev_env, db, settings) as site:
        message = _refusal(await site.get("/api/reports/no-such-report"), 404)
        assert "no-such-report" in message
        assert "Reports page" in message
        _refusal(await site.get("/api/reports/" + "x" * 300), 404)
        for params in ({"limit": "0"}, {"limit": "101"}, {"before": "yesterday"}):
            _refusal(await site.get("/api/reports", params=params), 422)
        too_long = {"Idempotency-Key": "k" * 101}
        _refusal(await site.post("/api/reports/run", headers=too_long), 422)


async def test_the_reports_api_is_in_the_openapi_document(
    dev_env: WorkflowEnvironment, db: Database, settings: Settings
) -> None:
    async with served_api(dev_env, db, settings) as site:
        spec = (await site.get("/openapi.json")).json()
    paths = spec["paths"]

    def schema(path: str, method: str, status: str) -> str:
        content = paths[path][method]["responses"][status]["content"]["application/json"]
        return str(content["schema"]["$ref"]).rsplit("/", 1)[-1]

    assert schema("/api/reports", "get", "200") == "ReportList"
    assert schema("/api/reports/{report_id}", "get", "200") == "ReportOut"
    assert schema("/api/reports/{report_id}", "get", "404") == "ErrorOut"
    assert schema("/api/reports/run", "post", "202") == "ReportRunOut"
    assert schema("/api/reports/run", "post", "403") == "ErrorOut"
    assert "Idempotency-Key" in {p["name"] for p in paths["/api/reports/run"]["post"]["parameters"]}
    assert "ReportOut" in spec["components"]["schemas"]
