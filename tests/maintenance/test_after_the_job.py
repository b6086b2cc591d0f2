"""After the job: a closed request emails the tenant a one-question survey whose page records
one answer per request, the vendor's job is kept for the scorecards, and the scorecards'
numbers (medians, first-time fixes, satisfaction, invoice against estimate) come from the
jobs and answers in the database."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from temporalio.testing import WorkflowEnvironment

from opsdesk.db import Database
from opsdesk.maintenance.directory import Directory
from opsdesk.maintenance.inputs import CompletionAnswer, Decision
from opsdesk.maintenance.notices import RATINGS, SURVEY
from opsdesk.maintenance.scorecard_views import SCORECARD_WORDS
from opsdesk.maintenance.scorecards import scorecards
from opsdesk.maintenance.status import RequestStatus, Stage
from opsdesk.maintenance.surveys import Surveys
from opsdesk.maintenance.vendor_jobs import VendorJobs
from opsdesk.maintenance.workflow import MaintenanceRequestWorkflow as W
from opsdesk.notify.links import LinkGrant
from opsdesk.notify.signing import LinkSigner, link_key
from opsdesk.settings import Settings
from opsdesk.web.pages import templates
from tests.maintenance.helpers import answer, drive_to, link_for_stage, served_desk, start
from tests.maintenance.jobs import flowright_jobs, recorded_job
from tests.waiting import eventually

TENANT = "sam.rivera@example.com"
HTML = {"Accept": "text/html"}


async def test_a_closed_request_asks_the_tenant_once_and_keeps_the_vendorsrecorded_job(
    time_env: WorkflowEnvironment, db: Database, settings: Settings, directory: Directory
) -> None:
    async with served_desk(time_env, db, settings) as http:
        handle = await start(time_env.client, settings)
        await drive_to(handle, Stage.COMPLETION, quote=40000)
        await handle.execute_update(
            W.answer_completion, CompletionAnswer(**answer("Sam"), fixed=False)
        )
        await drive_to(handle, Stage.INVOICE_APPROVAL, quote=40000)
        await handle.execute_update(
            W.answer_invoice_approval, Decision(**answer("owner"), approve=True)
        )
        state = await handle.result()
        assert state.status is RequestStatus.CLOSED
        request_id = state.request_id

        # The vendor's job, kept as the request ended.
        job = await eventually(
            lambda: VendorJobs(db).of_request(request_id), lambda found: found is not None
        )
        assert job is not None
        assert (job.vendor_id, job.property_id, job.ending) == ("ven-flow", "harbor-12", "CLOSED")
        assert job.not_fixed
        assert (job.quote_cents, job.approved_cents, job.invoice_cents) == (40000, 40000, 30000)
        assert job.first_answer_at is not None
        assert job.quote_asked_at is not None
        assert job.quote_asked_at <= job.first_answer_at
        assert job.completed_at is not None
        assert job.reported_at < job.completed_at

        # One survey email, its link opens the survey page (a GET records nothing).
        path = await link_for_stage(db, settings, request_id, TENANT, SURVEY)
        opened = await http.get(path, headers=HTML)
        assert opened.status_code == 303
        survey = opened.headers["location"]
        page = await http.get(survey, headers=HTML)
        assert page.status_code == 200
        assert "How did the repair go?" in page.text
        # Which repair: the tenant's words and where.
        assert state.form.description[:40] in page.text
        assert "12 Harbor Lane" in page.text
        assert await Surveys(db).of_request(request_id) is None

        # A rating that is not 1 to 5 is refused in words, and nothing is recorded.
        refused = await http.post(survey, data={"rating": "9", "comment": "?"}, headers=HTML)
        assert refused.status_code == 422
        assert "from 1 (very poor) to 5 (very good)" in refused.text
        assert await Surveys(db).of_request(request_id) is None

        recorded = await http.post(
            survey, data={"rating": "4", "comment": "Quick, but it took two visits"}, headers=HTML
        )
        assert recorded.status_code == 200, recorded.text
        assert "Thank you" in recorded.text

        # A second answer is shown the first, and changes nothing.
        again = await http.post(survey, data={"rating": "1"}, headers=HTML)
        assert again.status_code == 409
        assert "You have already answered" in again.text
        assert "4 of 5" in again.text
        assert "Quick, but it took two visits" in again.text
        reopened = await http.get(survey, headers=HTML)
        assert "You have already answered" in reopened.text
        answered = await Surveys(db).of_request(request_id)
        assert answered is not None
        assert answered.rating == 4

        # Ops see it on the request's page; the vendor's scorecard counts it.
        detail = await http.get(f"/maintenance/{request_id}", headers=HTML)
        assert detail.status_code == 200
        assert "Tenant&#39;s rating" in detail.text or "Tenant's rating" in detail.text
        assert "Quick, but it took two visits" in detail.text
        card = await http.get("/api/maintenance/vendors/ven-flow/scorecard")
        assert card.status_code == 200
        body = card.json()
        assert (body["jobs"], body["closed"], body["first_time_fix_rate"]) == (1, 1, 0.0)
        assert (body["satisfaction"], body["surveys"]) == (4.0, 1)
        assert body["invoice_vs_estimate"] == 0.75
        missing = await http.get("/api/maintenance/vendors/nobody-here/scorecard")
        assert missing.status_code == 404
        assert "no vendor nobody-here" in missing.json()["error"]["message"]

        # A link that is not ours, or has lapsed, gets a readable page.
        forged = await http.get("/survey/not-a-token", headers=HTML)
        assert forged.status_code == 400
        assert "This link is not valid" in forged.text
        signer = LinkSigner(link_key(settings), settings.resolved_public_url)
        lapsed = signer.token(
            LinkGrant(
                link_id="lapsed",
                request_id=request_id,
                stage=SURVEY,
                round=1,
                role="tenant",
                answers=RATINGS,
                expires_at=datetime.now(UTC) - timedelta(minutes=1),
            )
        )
        expired = await http.post(f"/survey/{lapsed}", data={"rating": "5"}, headers=HTML)
        assert expired.status_code == 410
        assert "This survey has closed" in expired.text


async def test_scorecards_from_recorded_jobs_and_the_order_they_give(
    db: Database, directory: Directory
) -> None:
    jobs = VendorJobs(db)
    for facts in (
        *flowright_jobs(),
        # Bay Pipe: three jobs, answered in 30 minutes, done in 2 days, fixed the first time.
        *(
            recorded_job(
                f"R-{n}",
                "ven-pipe",
                answered_after=timedelta(minutes=30),
                completed_after=timedelta(days=2),
            )
            for n in (4, 5, 6)
        ),
        # Volt Electric: one job, fast but not fixed, and rated 1 of 5.
        recorded_job(
            "R-7",
            "ven-volt",
            answered_after=timedelta(hours=1),
            completed_after=timedelta(days=1),
            not_fixed=True,
        ),
    ):
        assert await jobs.record(facts)
    # Kept once per request: a retried activity finds the first.
    assert not await jobs.record(
        recorded_job("R-1", "ven-pipe", answered_after=None, completed_after=None)
    )
    surveys = Surveys(db)
    await surveys.record("R-1", "l1", 5, "")
    await surveys.record("R-2", "l2", 2, "came back twice")
    await surveys.record("R-4", "l4", 3, "")
    await surveys.record("R-7", "l7", 1, "still leaking")

    cards = {card.vendor_id: card for card in await scorecards(db)}
    flow, pipe = cards["ven-flow"], cards["ven-pipe"]
    assert (flow.jobs, flow.closed) == (3, 2)
    assert flow.median_hours_to_first_answer == 4.0
    assert flow.median_days_to_completion == 5.0
    assert flow.first_time_fix_rate == 0.5
    assert (flow.satisfaction, flow.surveys) == (3.5, 2)
    assert flow.invoice_vs_estimate == 1.1  # (1.0 + 1.2) / 2: the expired job had no invoice
    # Raw: 0.4 x 0.5 + 0.3 x (3.5 - 1) / 4 + 0.3 x 1 (5 days is within the 7-day target)
    # = 0.6875; shrunk toward 0.5 by 3 neutral jobs: (3 x 0.6875 + 3 x 0.5) / 6.
    assert flow.score == 0.5938
    assert (pipe.jobs, pipe.median_hours_to_first_answer, pipe.median_days_to_completion) == (
        3,
        0.5,
        2.0,
    )
    assert (pipe.first_time_fix_rate, pipe.satisfaction, pipe.invoice_vs_estimate) == (
        1.0,
        3.0,
        1.0,
    )
    assert pipe.score == 0.675  # raw 0.4 + 0.3 x 0.5 + 0.3 = 0.85; (3 x 0.85 + 1.5) / 6
    # One poor job (raw 0 + 0 + 0.3 = 0.3) says little: (0.3 + 1.5) / 4, below untested.
    assert cards["ven-volt"].score == 0.45
    # A vendor without jobs: every part counts half.
    untested = [c for c in cards.values() if c.jobs == 0]
    assert untested
    assert all(c.score == 0.5 for c in untested)
    assert cards["ven-volt"].score < 0.5

    # The partial another page includes shows one card in words.
    html = templates.env.get_template("maintenance/_scorecard.html").render(
        card=flow, **SCORECARD_WORDS
    )
    assert 'data-scorecard="ven-flow"' in html
    for shown in ("4 hours", "5.0 days", "50%", "3.5 of 5", "from 2 answers", "10% over"):
        assert shown in html, shown

    # By rank FlowRight is asked first; by scorecard, Bay Pipe.
    by_rank = await Directory(db).next_vendor("plumber", [])
    assert by_rank is not None
    assert by_rank.vendor_id == "ven-flow"
    by_card = await Directory(db, "scorecard").next_vendor("plumber", [])
    assert by_card is not None
    assert by_card.vendor_id == "ven-pipe"
