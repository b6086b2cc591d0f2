"""The Maintenance section of the dashboard over real HTTP (uvicorn on loopback), with a real
worker on the dev server and the sample directory: the list and its queues and filters, a
request's page, and the forms that answer, reassign and cancel without JavaScript."""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import httpx
import pytest
from temporalio.testing import WorkflowEnvironment

from opsdesk import clock
from opsdesk.db import Database
from opsdesk.files.refs import FileRef
from opsdesk.maintenance.directory import Directory
from opsdesk.maintenance.ids import request_id_of
from opsdesk.maintenance.inputs import (
    AvailabilityAnswer,
    CompletionAnswer,
    InvoiceAnswer,
    QuoteAnswer,
    WorkDoneAnswer,
)
from opsdesk.maintenance.listing import RequestPage
from opsdesk.maintenance.state import RequestState
from opsdesk.maintenance.status import RequestStatus, Stage
from opsdesk.maintenance.views import _answer_of, _pager
from opsdesk.maintenance.workflow import MaintenanceRequestWorkflow
from opsdesk.settings import Settings
from opsdesk.web.errors import ApiError
from tests.maintenance.helpers import (
    BURST,
    LEAK,
    RequestHandle,
    request_state,
    start,
    waiting_for,
)
from tests.orders.helpers import served_api
from tests.waiting import eventually

HTML = {"Accept": "text/html"}
PARIS = ZoneInfo("Europe/Paris")
ROW = re.compile(r'data-request="([^"]+)"')
NOTICE = re.compile(r"<p class=\"notice [a-z]+\"[^>]*data-notice>(.*?)</p>")


def notice(html: str) -> str:
    found = NOTICE.search(html)
    assert found is not None, html
    return found.group(1)


def ids(html: str) -> set[str]:
    return set(ROW.findall(html))


def part(html: str, marker: str) -> str:
    """The section of the page that starts at ``marker``."""
    start = html.index(marker)
    return html[start : html.index("</section>", start)]


def listed(site: httpx.AsyncClient, path: str, until: Callable[[str], bool]) -> Awaitable[str]:
    """The HTML at ``path`` once it shows what ``until`` wants: visibility trails a second."""

    async def html() -> str:
        response = await site.get(path, headers=HTML)
        assert response.status_code == 200, response.text
        return response.text

    return eventually(html, until, timeout=30)


async def post(site: httpx.AsyncClient, path: str, fields: dict[str, str]) -> httpx.Response:
    return await site.post(path, data=fields, headers=HTML)


def answered(response: httpx.Response, request_id: str) -> None:
    assert response.status_code == 303, response.text
    assert response.headers["location"] == f"/maintenance/{request_id}"


async def state_of(handle: RequestHandle) -> RequestState:
    return await handle.query(MaintenanceRequestWorkflow.get_state)


async def test_the_list_has_queues_filters_and_metrics(
    dev_env: WorkflowEnvironment, db: Database, settings: Settings, directory: Directory
) -> None:
    async with served_api(dev_env, db, settings) as site:
        leak = await start(dev_env.client, settings, LEAK)
        burst = await start(dev_env.client, settings, BURST)
        leak_id, burst_id = request_id_of(leak.id), request_id_of(burst.id)
        await waiting_for(leak, Stage.OWNER_APPROVAL)
        await waiting_for(burst, Stage.VENDOR_QUOTE)

        # Both listed once visibility has the rows the workflows published at their question.
        page = await listed(
            site,
            "/maintenance",
            lambda html: ids(html) == {leak_id, burst_id} and "Open emergencies" in html,
        )
        assert 'aria-current="page">Maintenance</a>' in page
        assert 'href="/maintenance/intake"' in page
        queues = await listed(
            site,
            "/fragments/maintenance/queues",
            lambda html: burst_id in part(html, 'data-queue="emergency"'),
        )
        assert leak_id in part(queues, 'data-queue="owner"')
        assert burst_id not in part(queues, 'data-queue="owner"')
        assert burst_id in part(queues, 'data-queue="vendor"')
        assert leak_id not in part(queues, 'data-queue="emergency"')
        assert ids(part(queues, 'data-queue="tenant"')) == set()
        assert "Nothing waiting." in part(queues, 'data-queue="tenant"')

        filters = {
            "waiting_on=owner": {leak_id},
            "waiting_on=vendor": {burst_id},
            "priority=emergency": {burst_id},
            "status=OWNER_APPROVAL": {leak_id},
            "queue=emergency": {burst_id},
            "queue=owner&priority=emergency": set(),
            # Nonsense is ignored, not an error.
            "status=NOPE&queue=somewhere": {leak_id, burst_id},
        }
        # The list above has caught up: each filtered page answers from the same rows.
        for query, expected in filters.items():
            html = (await site.get(f"/maintenance?{query}", headers=HTML)).text
            assert ids(html) == expected, query
            fragment = (await site.get(f"/fragments/maintenance/requests?{query}")).text
            assert ids(fragment) == expected, query
        assert (
            "No requests match these filters."
            in (await site.get("/fragments/maintenance/requests?queue=tenant")).text
        )

        metrics = await listed(
            site,
            "/fragments/maintenance/metrics",
            lambda html: 'data-metric="emergency">1<' in html,
        )
        assert 'data-metric="owner">1<' in metrics
        assert 'data-metric="open">2<' in metrics
        # Prometheus reads the same counts.
        scraped = (await site.get("/metrics")).text
        assert 'opsdesk_maintenance_requests{status="OWNER_APPROVAL"} 1.0' in scraped
        assert 'opsdesk_maintenance_queue{queue="emergency"} 1.0' in scraped


def test_pages_link_forward_and_back() -> None:
    more = RequestPage(items=[], next_page_token="t2")
    first = _pager({"status": "SCHEDULING"}, None, [], more)
    assert (first.first, first.previous) == (None, None)
    assert first.next == "/maintenance?status=SCHEDULING&page_token=t2&back="
    second = _pager(
        {"status": "SCHEDULING"}, "t2", [""], RequestPage(items=[], next_page_token=None)
    )
    assert second.previous == "/maintenance?status=SCHEDULING"
    assert (second.first, second.next) == (None, None)
    third = _pager({}, "t3", ["", "t2"], more)
    assert third.first == "/maintenance"
    assert third.previous == "/maintenance?page_token=t2&back="


async def test_answering_on_someones_behalf(
    dev_env: WorkflowEnvironment, db: Database, settings: Settings, directory: Directory
) -> None:
    # The reader's zone (the business's here) is not the property's: the page shows every
    # time in the reader's, and reads the times typed into its forms in it too.
    settings = settings.model_copy(update={"business_time_zone": "Europe/Paris"})
    async with served_api(dev_env, db, settings) as site:
        handle = await start(dev_env.client, settings, LEAK)
        request_id = request_id_of(handle.id)
        asked = await waiting_for(handle, Stage.OWNER_APPROVAL)
        path = f"/maintenance/{request_id}"

        page = (await site.get(path, headers=HTML)).text
        assert asked.question is not None
        deadline = clock.moment(asked.question.deadline, "Europe/Paris", named=False)
        # Where it stands, what happens next and by when, before anything else.
        assert (
            f"Waiting for Harbor Lane Holdings (owner) to approve the repair, by {deadline}" in page
        )
        assert page.index("data-next-step") < page.index("<h2>Who was asked</h2>")
        assert page.index("<h2>Timeline</h2>") < page.index("<h2>Actions</h2>")
        assert "Reported by Sam Rivera (web form)" in page  # the timeline
        # Who was asked, by which channel, and when, in the reader's time.
        when = clock.moment(asked.question.asked_at, "Europe/Paris", named=False)
        questions = part(page, "<h2>Who was asked</h2>")
        assert 'Harbor Lane Holdings</span> <span class="muted">(owner)</span>' in questions
        assert '<span class="channel">by email</span>' in questions
        assert when in questions
        # One zone on the page, named once in its footer; no property clock beside it.
        assert "Times are in Paris time" in page
        assert "America/Los_Angeles" not in page
        assert "UTC" not in page
        assert "PST" not in page
        assert "PDT" not in page

        approve = {
            "stage": "owner_approval",
            "round": "1",
            "approve": "true",
            "note": "Owner phoned: go ahead",
            "actor": "Dana Ops",
            "idempotency_key": "approve-once",
        }
        answered(await post(site, f"{path}/answer", approve), request_id)
        # The same post again (a double click, a reload) acts once.
        answered(await post(site, f"{path}/answer", approve), request_id)
        state = await state_of(handle)
        record = state.questions[0].answer
        assert record is not None
        # Who answered is the signed-in identity; a typed name (an old form's) is ignored.
        assert (record.actor, record.channel, record.note) == (
            "ops",
            "dashboard",
            "Owner phoned: go ahead",
        )
        [entry] = [t for t in state.timeline if t.channel == "dashboard"]
        assert entry.note == "Owner phoned: go ahead"

        page = (await site.get(path, headers=HTML)).text
        assert "Answered for the owner: approved." in page  # the notice, once
        assert "Owner phoned: go ahead" in part(page, "<h2>Timeline</h2>")
        assert 'by ops <span class="channel">on the dashboard</span>' in page
        assert "via" not in part(page, "<h2>Timeline</h2>")
        assert 'class="who-field muted">as ops<' in page  # the forms say who acts
        assert "Answered for the owner" not in (await site.get(path, headers=HTML)).text

        # The vendor's quote, above the owner's limit, then the owner's approval of it.
        await waiting_for(handle, Stage.VENDOR_QUOTE)
        quote = {"stage": "vendor_quote", "amount": "1,320.50", "actor": "Dana Ops"}
        answered(await post(site, f"{path}/answer", quote), request_id)
        await waiting_for(handle, Stage.ESTIMATE_APPROVAL)
        page = (await site.get(path, headers=HTML)).text
        assert "Estimate <strong>1,320.50 USD</strong>" in page
        assert "data-quote>1,320.50 USD<" in page
        estimate = {"stage": "estimate_approval", "approve": "true", "actor": "Dana Ops"}
        answered(await post(site, f"{path}/answer", estimate), request_id)

        # The tenant's times, typed in the reader's time.
        await waiting_for(handle, Stage.AVAILABILITY)
        day = (datetime.now(UTC) + timedelta(days=30)).date().isoformat()
        times = {
            "stage": "availability",
            "start.0": f"{day}T09:00",
            "end.0": f"{day}T13:00",
            "start.1": "",
            "end.1": "",
            "actor": "Dana Ops",
        }
        answered(await post(site, f"{path}/answer", times), request_id)
        state = await waiting_for(handle, Stage.SLOT)
        nine = datetime.fromisoformat(f"{day}T09:00").replace(tzinfo=PARIS)
        assert [(w.start, w.end) for w in state.windows] == [(nine, nine + timedelta(hours=4))]
        page = (await site.get(path, headers=HTML)).text
        # The vendor's visit form starts at the tenant's window.
        assert f'name="start" required value="{day}T09:00"' in page

        slot = {"stage": "slot", "start": f"{day}T10:00", "end": f"{day}T11:30", "actor": "Jo"}
        answered(await post(site, f"{path}/answer", slot), request_id)
        state = await state_of(handle)
        assert state.status is RequestStatus.IN_PROGRESS
        assert state.slot is not None
        assert state.slot.start == nine + timedelta(hours=1)
        page = (await site.get(path, headers=HTML)).text
        # The visit as the reader's clock shows it: one day, from and to.
        ten = nine + timedelta(hours=1)
        shown = part(page, "data-visit")
        assert clock.span(ten, ten + timedelta(minutes=90), "Europe/Paris", named=False) in shown
        assert "10:00 AM to 11:30 AM" in shown


async def test_reassign_cancel_and_what_is_refused(
    dev_env: WorkflowEnvironment, db: Database, settings: Settings, directory: Directory
) -> None:
    async with served_api(dev_env, db, settings) as site:
        handle = await start(dev_env.client, settings, BURST)
        request_id = request_id_of(handle.id)
        state = await waiting_for(handle, Stage.VENDOR_QUOTE)
        assert state.vendor is not None
        assert state.vendor.vendor_id == "ven-flow"
        path = f"/maintenance/{request_id}"

        page = (await site.get(path, headers=HTML)).text
        assert '<option value="">Next vendor of the trade</option>' in page
        assert '<optgroup label="Plumbers">' in page
        assert '<option value="ven-pipe">Bay Pipe &amp; Drain (plumber)</option>' in page
        assert 'value="ven-flow"' not in page  # already on the job

        reassign = {"vendor_id": "ven-pipe", "note": "FlowRight is away", "actor": "Dana Ops"}
        answered(await post(site, f"{path}/reassign", reassign), request_id)
        state = await state_of(handle)
        assert state.vendor is not None
        assert state.vendor.vendor_id == "ven-pipe"
        [entry] = [t for t in state.timeline if t.event.startswith("Reassigned")]
        assert (entry.event, entry.actor, entry.note) == (
            "Reassigned to Bay Pipe & Drain",
            "ops",
            "FlowRight is away",
        )
        assert "Reassigned to Bay Pipe &amp; Drain." in (await site.get(path, headers=HTML)).text

        # Bad posts: a readable page with the reason and what was typed, and nothing done.
        bad_quote = {
            "stage": "vendor_quote",
            "amount": "a lot",
            "note": "keep this note",
            "actor": "Dana Ops",
            "form": "answer",
        }
        refused = await post(site, f"{path}/answer", bad_quote)
        assert refused.status_code == 422
        assert refused.headers["content-type"].startswith("text/html")
        assert "Amount: give an amount like 320.00, not &#39;a lot&#39;." in refused.text
        assert "keep this note</textarea>" in refused.text
        reasonless = await post(site, f"{path}/cancel", {"reason": " ", "actor": "Dana Ops"})
        assert reasonless.status_code == 422
        assert "Reason: say why the request is cancelled." in reasonless.text
        as_json = await site.post(f"{path}/cancel", json={"reason": "x"}, headers=HTML)
        assert as_json.status_code == 415
        assert "send the form url-encoded" in as_json.text.lower()
        assert (await state_of(handle)).status is RequestStatus.VENDOR_QUOTE

        # Unknown requests get a page that says so; other pages under /maintenance stay theirs.
        missing = await site.get("/maintenance/MR-NOPE", headers=HTML)
        assert missing.status_code == 404
        assert "No maintenance request MR-NOPE." in missing.text
        assert "<!doctype html>" in missing.text.lower()
        gone = await post(site, "/maintenance/MR-NOPE/cancel", {"reason": "x", "actor": "D"})
        assert gone.status_code == 404
        assert (
            "no maintenance request intake"
            not in (await site.get("/maintenance/intake", headers=HTML)).text.lower()
        )

        # Cancelling asks first, saying who is told and what becomes of the vendor; the
        # question alone changes nothing.
        confirm = await site.get(f"{path}/cancel", headers=HTML)
        assert confirm.status_code == 200
        effects = part(confirm.text.replace("</ul>", "</section>"), "data-effects")
        assert (
            "with your reason: Sam Rivera (tenant), Harbor Lane Holdings (owner) and "
            "Bay Pipe &amp; Drain (vendor)." in effects
        )
        assert "No payout is made: Bay Pipe &amp; Drain has not been paid." in effects
        assert 'name="back" value="/maintenance/' + request_id + '"' in confirm.text
        assert (await state_of(handle)).status is RequestStatus.VENDOR_QUOTE

        cancel = {"reason": "The tenant fixed it", "actor": "Dana Ops"}
        answered(await post(site, f"{path}/cancel", cancel), request_id)
        state = await state_of(handle)
        assert state.status is RequestStatus.CANCELLED
        assert state.ended_reason == "Cancelled by ops: The tenant fixed it"
        page = (await site.get(path, headers=HTML)).text
        assert f"Request {request_id} is cancelled now." in page
        assert "Cancel request</button>" not in page
        assert 'action="/maintenance/' + request_id + '/answer"' not in page

        # A page left open answers too late: told why, with the request as it is now.
        late = await post(site, f"{path}/answer", {**bad_quote, "amount": "100"})
        assert late.status_code == 409
        assert notice(late.text) == f"Request {request_id} is cancelled; nothing is left to answer."


DOCUMENT = FileRef(
    key="invoices/mr-1/" + "0" * 64, content_type="application/pdf", size=9, kind="document"
)


def test_each_question_reads_its_own_form() -> None:
    state = request_state(RequestStatus.VENDOR_QUOTE)
    common = {"actor": "Dana Ops", "note": "by phone", "idempotency_key": "k1"}

    def read(stage: str, **fields: str) -> object:
        return _answer_of(state, {**common, "stage": stage, **fields}, "Dana Ops")[1]

    assert read("vendor_quote", decline="true", amount="") == QuoteAnswer(
        answer_id="k1", actor="Dana Ops", channel="dashboard", note="by phone", decline=True
    )
    lines = {"number": "INV-7", "kind.0": "labour", "description.0": "Fit", "quantity.0": "2"}
    invoice = _answer_of(
        state,
        {**common, "stage": "invoice", **lines, "price.0": " 1,172.75 ", "tax": "0"},
        "Dana Ops",
        document=DOCUMENT,
    )[1]
    assert isinstance(invoice, InvoiceAnswer)
    assert (invoice.total_cents, invoice.number, invoice.document) == (234550, "INV-7", DOCUMENT)
    not_fixed = read("completion", fixed="false", round="2")
    assert isinstance(not_fixed, CompletionAnswer)
    assert (not_fixed.fixed, not_fixed.round) == (False, 2)
    # A round that is no number the page could have shown is left out, as if not sent.
    for round_ in ("\u00b2", "9" * 5000):
        assert read("completion", fixed="false", round=round_) == read("completion", fixed="false")
    assert isinstance(read("work_done"), WorkDoneAnswer)
    # Without a property yet, times are read as UTC.
    times = read("availability", **{"start.2": "2030-05-14T09:00", "end.2": "2030-05-14T12:00"})
    assert isinstance(times, AvailabilityAnswer)
    assert times.windows[0].start == datetime(2030, 5, 14, 9, tzinfo=UTC)

    refusals = {
        ("owner_approval", ()): "press one of the form's buttons",
        ("invoice", (*lines.items(), ("price.0", "0"))): "The invoice's total is zero",
        ("invoice", (*lines.items(), ("price.0", "1.005"))): "Line 1's price: give an amount",
        ("invoice", (*lines.items(), ("price.0", "1e40"))): "Line 1's price: give an amount",
        ("invoice", (*lines.items(), ("price.0", "sNaN"))): "Line 1's price: give an amount",
        ("invoice", (*lines.items(), ("price.0", "-5"))): "Line 1's price: an amount cannot be",
        ("invoice", (*lines.items(),)): "Line 1: give its price",
        ("invoice", (*lines.items(), ("price.0", "5"))): "Attach the invoice itself",
        ("invoice", ()): "Give at least one line",
        ("availability", ()): "Times at home: give at least one window",
        ("availability", (("start.0", "2030-05-14T09:00"),)): "Window 1 to: give a date",
        ("slot", (("start", "2030-05-14T09:00"), ("end", "2030-05-14T08:00"))): "must end after",
        ("owner_rejoicing", ()): "the form does not say which question it answers",
    }
    for (stage, fields), words in refusals.items():
        with pytest.raises(ApiError) as refused:
            read(stage, **dict(fields))
        assert refused.value.status == 422
        assert words in refused.value.message, (stage, refused.value.message)
