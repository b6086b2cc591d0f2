"""Who may report: a web-form report from someone who is not the unit's tenant on file waits
for the tenant on file (by a link sent to their address, never the reporter's) or ops to
confirm it before anyone is asked or sent; refused, it ends and the reporter is told;
unanswered, it expires. The reporter's receipt has a read-only link to follow the request.
Real workflows on the dev server, the app over loopback, the emails as the outbox sent them."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import httpx
from sqlalchemy import select
from temporalio.testing import WorkflowEnvironment

from opsdesk.db import Database
from opsdesk.db.tables import OutboxMessage
from opsdesk.maintenance.directory import Directory
from opsdesk.maintenance.ids import request_id_of, request_workflow_id
from opsdesk.maintenance.inputs import MaintenancePolicy, TenantContact
from opsdesk.maintenance.notices import EMERGENCY_CHECK_LAPSED, SURVEY, follow_grant
from opsdesk.maintenance.service import maintenance_policy, request_handle
from opsdesk.maintenance.status import RequestStatus, Stage
from opsdesk.notify.links import LinkGrant
from opsdesk.notify.signing import LinkSigner, link_key
from opsdesk.settings import Settings
from tests.maintenance.helpers import (
    BURST,
    LEAK,
    LINK,
    ended,
    link_for_stage,
    served_desk,
    start,
    waiting_for,
)
from tests.waiting import eventually

TENANT = "sam.rivera@example.com"
"""The tenant on file of 12 Harbor Lane, unit 1A."""
STRANGER = TenantContact(name="Alex Stone", email="alex.stone@example.com")
OWNER = "owner@harborlane.example"
OPS = "ops@opsdesk.local"


async def mail_to(db: Database, request_id: str, to: str) -> list[OutboxMessage]:
    async with db.transaction() as session:
        rows = await session.scalars(
            select(OutboxMessage)
            .where(
                OutboxMessage.reference == request_workflow_id(request_id),
                OutboxMessage.to_address == to,
            )
            .order_by(OutboxMessage.id)
        )
        return list(rows)


def link_stages(settings: Settings, messages: list[OutboxMessage]) -> list[str]:
    """The stage every signed link in ``messages`` names."""
    signer = LinkSigner(link_key(settings), settings.resolved_public_url)
    return [
        signer.verify(found.group(1).rsplit("/", 1)[1]).stage
        for message in messages
        for found in LINK.finditer(message.body_text)
    ]


async def reported_on_the_form(
    http: httpx.AsyncClient, who: TenantContact, key: str, unit: str = "1A"
) -> str:
    """The receipt's address of a report sent on the web form."""
    sent = await http.post(
        "/report",
        data={
            "property_id": "harbor-12",
            "unit": unit,
            "name": who.name,
            "email": who.email,
            "description": LEAK,
            "key": key,
        },
    )
    assert sent.status_code == 303, sent.text
    location: str = sent.headers["location"]
    return location


async def test_a_stranger_s_report_waits_for_the_tenant_on_file_who_confirms_it_by_link(
    dev_env: WorkflowEnvironment, db: Database, settings: Settings, directory: Directory
) -> None:
    async with served_desk(dev_env, db, settings) as http:
        # The tenant on file (their address in another case) goes straight to the owner.
        on_file = await start(
            dev_env.client,
            settings,
            tenant=TenantContact(name="Sam", email="SAM.Rivera@Example.COM"),
        )
        receipt = await reported_on_the_form(http, STRANGER, "stranger-1")
        request_id = receipt.split("/report/received/", 1)[1].split("?", 1)[0]
        handle = request_handle(dev_env.client, request_id)
        state = await waiting_for(handle, Stage.REPORT_CHECK)
        # Triaged first, so ops see its priority; nobody else asked or sent.
        assert state.triage is not None
        assert state.status is RequestStatus.TRIAGED
        assert state.question is not None
        assert [(a.name, a.channel) for a in state.question.asked] == [("Sam Rivera", "email")]
        assert state.vendor is None

        on_file_state = await waiting_for(on_file, Stage.OWNER_APPROVAL)
        assert on_file_state.latest(Stage.REPORT_CHECK) is None
        assert "Reported by a tenant on file for the unit" in [
            e.event for e in on_file_state.timeline
        ]

        # The receipt says who checks the report, and carries no follow link: whoever typed
        # the tenant's address must not get a link to their visits here.
        assert "follow" not in receipt
        shown = await http.get(receipt)
        assert shown.status_code == 200
        assert "The tenant on file for this home is asked to confirm your report" in shown.text
        assert "We will ask the owner and a vendor" not in shown.text
        assert "We emailed you a copy, with a link to follow your request." in shown.text
        assert "/follow/" not in shown.text

        # The question goes to the tenant on file; the reporter gets the receipt and its
        # follow link, never a link that confirms their own report.
        path = await link_for_stage(db, settings, request_id, TENANT, Stage.REPORT_CHECK.value)
        to_reporter = await eventually(
            lambda: mail_to(db, request_id, STRANGER.email), lambda rows: len(rows) >= 1
        )
        assert link_stages(settings, to_reporter) == ["follow"]
        assert "Follow your request" in to_reporter[0].body_text
        # Told what happens next as it is: the tenant on file checks first.
        assert "The tenant on file for unit 1A is asked to confirm your report" in (
            to_reporter[0].body_text
        )
        assert "ask you for the times you are at home" not in to_reporter[0].body_text

        # The follow link from the email leads to the follow page: where the request is,
        # and no one else's name or address.
        from_email = LINK.search(to_reporter[0].body_text)
        assert from_email is not None
        led = await http.get(from_email.group(1))
        assert led.status_code == 303
        assert led.headers["location"].startswith("/follow/")
        token = led.headers["location"].removeprefix("/follow/")
        signer = LinkSigner(link_key(settings), settings.resolved_public_url)
        lasts = signer.verify(token).expires_at - datetime.now(UTC)
        assert timedelta(days=89) < lasts <= timedelta(days=90)
        page = await http.get(led.headers["location"])
        assert page.status_code == 200, page.text
        assert "checking the report with the tenant on file" in page.text
        for private in ("Sam Rivera", TENANT, OWNER, "Harbor Lane Holdings", OPS):
            assert private not in page.text

        # The tenant on file sees who reported what, and confirms.
        asked = await http.get(path)
        assert asked.status_code == 200
        assert "Alex Stone" in asked.text
        assert STRANGER.email not in asked.text
        assert 'value="confirm"' in asked.text
        # The tenant on file is asked whether they know of the report, not to authorise work.
        assert "Yes, I know about this report" in asked.text
        assert "No, I did not report this" in asked.text
        assert "go ahead with the repair" not in asked.text

        # Ops see who reported, not on file, apart from the tenant on file.
        shown = await http.get(f"/maintenance/{request_id}", headers={"Accept": "text/html"})
        assert "<dt>Reported by</dt>" in shown.text
        assert 'Alex Stone <span class="muted">(not on file)</span>' in shown.text
        assert "<dt>Tenant on file</dt><dd data-tenant-on-file>Sam Rivera" in shown.text
        assert "<dt>Tenant</dt>" not in shown.text
        assert "Waiting for Sam Rivera, the tenant on file for unit 1A, to confirm" in shown.text
        confirmed = await http.post(path, data={"answer": "confirm"})
        assert confirmed.status_code == 200, confirmed.text
        assert "you confirmed the report with this link." in confirmed.text
        state = await waiting_for(handle, Stage.OWNER_APPROVAL)
        check = state.latest(Stage.REPORT_CHECK)
        assert check is not None
        assert check.answer is not None
        assert (check.answer.actor, check.answer.channel) == ("Sam Rivera", "email")

        # Ops too late: told who answered first, by which channel and when.
        late = await http.post(
            f"/api/maintenance/requests/{request_id}/answers/report_check",
            json={"approve": False},
        )
        assert late.status_code == 409
        assert "already answered by Sam Rivera by email on" in late.text
        assert "confirmed the report" in late.text

        page = await http.get(f"/follow/{token}")
        assert "We asked the tenant on file for this home to confirm the report." in page.text
        assert "The tenant on file confirmed the report." in page.text
        assert "waiting for the owner to approve the repair" in page.text

        # A changed link, or a question's link, shows no request.
        tampered = await http.get(f"/follow/{token[:-4]}abcd")
        assert tampered.status_code == 400
        assert "This link is not valid" in tampered.text
        wrong = await http.get(f"/follow/{path.removeprefix('/links/')}")
        assert wrong.status_code == 403
        assert "does not show a request" in wrong.text

        # A follow link opened at the survey's address, and a survey's at the follow page's,
        # each lead to their own page.
        at_survey = await http.get(f"/survey/{token}")
        assert at_survey.status_code == 303
        assert at_survey.headers["location"] == f"/follow/{token}"
        survey = signer.token(
            LinkGrant(
                link_id="survey-link",
                request_id=request_id,
                stage=SURVEY,
                round=1,
                role="tenant",
                answers=("1", "2", "3", "4", "5"),
                expires_at=datetime.now(UTC) + timedelta(days=1),
            )
        )
        at_follow = await http.get(f"/follow/{survey}")
        assert at_follow.status_code == 303
        assert at_follow.headers["location"] == f"/survey/{survey}"


async def test_ops_accept_refuse_and_answer_for_a_unit_with_no_tenant_on_file(
    dev_env: WorkflowEnvironment, db: Database, settings: Settings, directory: Directory
) -> None:
    async with served_desk(dev_env, db, settings) as http:
        # The deadlines as the settings give them, chosen by the triage's priority.
        policy = maintenance_policy(settings)
        accepted = await start(
            dev_env.client, settings, BURST, policy=policy, unit="2B", tenant=STRANGER
        )
        refused = await start(dev_env.client, settings, unit="2B", tenant=STRANGER)
        nobody = await start(dev_env.client, settings, unit="3C", tenant=STRANGER)
        accepted_id, refused_id, nobody_id = (
            request_id_of(h.id) for h in (accepted, refused, nobody)
        )

        # An emergency by someone not on file: ops hear at once, and may accept it.
        state = await waiting_for(accepted, Stage.REPORT_CHECK)
        assert state.triage is not None
        assert state.triage.emergency
        assert state.question is not None
        assert state.question.deadline - state.question.asked_at == timedelta(hours=4)
        alert = await eventually(lambda: mail_to(db, accepted_id, OPS), lambda rows: len(rows) >= 1)
        assert alert[0].subject.startswith(
            "Emergency reported by someone not on file: accept it so a vendor is sent"
        )
        assert accepted_id in alert[0].subject
        ok = await http.post(
            f"/api/maintenance/requests/{accepted_id}/answers/report_check",
            json={"approve": True, "note": "Priya's partner, phoned"},
        )
        assert ok.status_code == 200, ok.text
        # Then the emergency goes on as any other: a vendor at once.
        await waiting_for(accepted, Stage.VENDOR_QUOTE)

        # Refused on the request's page: the request ends, the reporter told in plain words.
        await waiting_for(refused, Stage.REPORT_CHECK)
        page = await http.get(f"/maintenance/{refused_id}", headers={"Accept": "text/html"})
        assert "Refuse the report" in page.text
        no = await http.post(
            f"/maintenance/{refused_id}/answer",
            data={
                "stage": "report_check",
                "round": "1",
                "approve": "false",
                "note": "Nobody by that name lives there",
                "idempotency_key": "refuse-once",
            },
            headers={"Accept": "text/html"},
        )
        assert no.status_code == 303, no.text
        state = await ended(refused)
        assert state.status is RequestStatus.DECLINED
        assert state.ended_reason == "Report refused by ops"
        told = await eventually(
            lambda: mail_to(db, refused_id, STRANGER.email),
            lambda rows: any("will not go ahead" in r.subject for r in rows),
        )
        refusal = next(r for r in told if "will not go ahead" in r.subject)
        assert "Nobody by that name lives there" in refusal.body_text

        # No tenant on file: nobody is emailed the question; ops are told to decide, and the
        # request is theirs: their queue, their words, never the tenant's.
        state = await waiting_for(nobody, Stage.REPORT_CHECK)
        assert state.question is not None
        assert state.question.asked == []
        assert state.question.deadline - state.question.asked_at == timedelta(hours=48)
        alert = await eventually(lambda: mail_to(db, nobody_id, OPS), lambda rows: len(rows) >= 1)
        assert "Nobody is on file for unit 3C" in alert[0].body_text
        await eventually(
            lambda: http.get("/api/maintenance/requests", params={"queue": "ops"}),
            lambda r: nobody_id in r.text,
        )
        to_tenants = await http.get("/api/maintenance/requests", params={"queue": "tenant"})
        assert nobody_id not in to_tenants.text
        shown = await http.get(f"/maintenance/{nobody_id}", headers={"Accept": "text/html"})
        assert (
            "Waiting for the office to accept or refuse the report: nobody is on file for unit 3C."
        ) in shown.text
        assert "Accept or refuse the report" in shown.text
        assert "report to check" in shown.text
        assert "Answer as they told you" not in shown.text
        assert "(tenant)" not in shown.text
        assert "in your home" not in shown.text
        assert '<dt>Tenant on file</dt><dd data-tenant-on-file><span class="muted">nobody' in (
            shown.text
        )
        asked = next(e.event for e in state.timeline if e.event.startswith("Asked"))
        assert asked.startswith(
            "Asked the office on the request's page (nobody is on file for unit 3C): "
            "Is this report genuine?"
        )
        # The reporter's follow page says the office checks it, not a tenant.
        signer = LinkSigner(link_key(settings), settings.resolved_public_url)
        followed = await http.get(
            f"/follow/{signer.token(follow_grant(nobody_id, datetime.now(UTC)))}"
        )
        assert "We are waiting for our office to check the report." in followed.text
        assert "checking the report with our office before anyone is sent" in followed.text
        assert "tenant on file" not in followed.text
        # Someone not on file reporting on the form for that unit is told the office checks.
        receipt = await reported_on_the_form(http, STRANGER, "stranger-3c", unit="3C")
        assert receipt.endswith("?check=office")
        received = await http.get(receipt)
        assert "Nobody is on file for this home, so our office checks your report" in (
            received.text
        )
        await http.post(
            f"/api/maintenance/requests/{nobody_id}/answers/report_check",
            json={"approve": True},
        )
        await waiting_for(nobody, Stage.OWNER_APPROVAL)


async def test_a_report_nobody_confirms_expires_and_the_reporter_is_told(
    dev_env: WorkflowEnvironment, db: Database, settings: Settings, directory: Directory
) -> None:
    seconds = dict.fromkeys(("emergency", "urgent", "routine"), timedelta(seconds=2))
    async with served_desk(dev_env, db, settings):
        handle = await start(
            dev_env.client,
            settings,
            tenant=STRANGER,
            policy=MaintenancePolicy(report_check=seconds),
        )
        # An emergency nobody checks in time goes ahead: a burst pipe must not end unrepaired.
        burst = await start(
            dev_env.client,
            settings,
            BURST,
            tenant=STRANGER,
            policy=MaintenancePolicy(report_check=seconds),
        )
        state = await ended(handle)
        assert state.status is RequestStatus.EXPIRED
        assert state.ended_reason == "Expired: the report was not confirmed in time"
        check = state.latest(Stage.REPORT_CHECK)
        assert check is not None
        assert check.lapsed
        request_id = request_id_of(handle.id)
        told = await eventually(
            lambda: mail_to(db, request_id, STRANGER.email),
            lambda rows: any("has stopped" in r.subject for r in rows),
        )
        stopped = next(r for r in told if "has stopped" in r.subject)
        assert "did not confirm the report in time" in stopped.body_text
        # Nobody but the tenant on file was ever asked.
        assert await mail_to(db, request_id, OWNER) == []

        went_ahead = await waiting_for(burst, Stage.VENDOR_QUOTE)
        check = went_ahead.latest(Stage.REPORT_CHECK)
        assert check is not None
        assert check.lapsed
        # The pages said so while it waited, as the emails did.
        assert check.on_silence == "go_ahead"
        assert EMERGENCY_CHECK_LAPSED in [e.event for e in went_ahead.timeline]
        burst_id = request_id_of(burst.id)
        await eventually(
            lambda: mail_to(db, burst_id, OPS),
            lambda rows: any("goes ahead unchecked" in r.subject for r in rows),
        )
