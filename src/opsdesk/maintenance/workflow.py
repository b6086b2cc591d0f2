"""MaintenanceRequestWorkflow: one repair request, from the tenant's report to the vendor's
payout.

The request asks one question at a time (``Stage``): the owner, the vendor or the tenant is
sent a signed link, and the first valid answer from any channel (the link's page, a phone
call, ops on the dashboard, an API client) wins. Each answer is an update whose validator
refuses what the request is not waiting for, and a later answer to the same question hears
who answered first. Every question has a deadline from the request's policy: when it lapses
the request expires, except a vendor's quote, which passes to the next vendor of the trade.

Which answers count is ``rules``'s to say, what people are told ``notices``'s; the
machinery both desks share (steps run to their end, waits, Temporal's cancel, children, the
closing sequence, handlers that end with the workflow) is ``DeskWorkflow``'s.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Literal

from temporalio import workflow
from temporalio.common import Priority as TaskPriority
from temporalio.common import SearchAttributeUpdate, VersioningBehavior
from temporalio.exceptions import ActivityError

from opsdesk.ai.models import CATEGORY_OF_TRADE, TRADE_WORDS, MaintenanceTriage, TriageRequest
from opsdesk.files.refs import described
from opsdesk.maintenance import notices, policy_notices
from opsdesk.maintenance.inputs import (
    Answer,
    AvailabilityAnswer,
    CallEnded,
    CallTranscript,
    CancelRequest,
    CompletionAnswer,
    Decision,
    InvoiceAnswer,
    QuoteAnswer,
    ReassignRequest,
    RequestSubmission,
    SlotAnswer,
    WorkDoneAnswer,
    describe_answer,
)
from opsdesk.maintenance.job_facts import JobFacts, job_facts
from opsdesk.maintenance.notices import (
    ANSWERS,
    CALLED_STAGES,
    QUESTIONS,
    TEMPLATE,
    Words,
    call_script,
    message,
    money,
    stage_details,
)
from opsdesk.maintenance.owner_policy import OwnerPolicy
from opsdesk.maintenance.payloads import (
    CompliantVendorChoice,
    OfficeHoursCheck,
    PropertyLookup,
    QuietHoursCheck,
    VendorChoice,
)
from opsdesk.maintenance.policy_notices import Silence
from opsdesk.maintenance.priorities import task_priority
from opsdesk.maintenance.rules import (
    INVALID_ANSWER,
    NOT_WAITING,
    refusal,
    why_not_answer,
    why_not_cancel,
    why_not_reassign,
)
from opsdesk.maintenance.state import (
    AnswerRecord,
    Asked,
    Attachment,
    PropertyFacts,
    Question,
    RequestRow,
    RequestState,
    TimelineEntry,
    VendorFacts,
)
from opsdesk.maintenance.status import (
    REASSIGNABLE,
    Channel,
    RequestStatus,
    Role,
    Stage,
)
from opsdesk.maintenance.steps import DIRECTORY, PAYOUT, RECORD_JOB, TRIAGE, TRIAGE_BY_RULES
from opsdesk.notify.links import LinkGrant
from opsdesk.notify.models import CALL_OUTCOME_WORDS, Notification, PhoneCall
from opsdesk.notify.workflows import (
    NotificationWorkflow,
    PhoneCallWorkflow,
    child_key,
    child_workflow_id,
)
from opsdesk.payments.models import PayoutInput
from opsdesk.temporal import search_attributes as sa
from opsdesk.temporal.counters import count
from opsdesk.temporal.lifecycle import DeskWorkflow
from opsdesk.temporal.steps import describe_failure
from opsdesk.values import dialable

with workflow.unsafe.imports_passed_through():
    from opsdesk.ai.activities import AiActivities
    from opsdesk.maintenance.activities import MaintenanceActivities

RESUBMIT_LINK_LIFETIME = timedelta(days=30)
NOBODY = "nobody"
"""``RequestWaitingOn`` while no question is open."""

# Patches: each names a change to what the workflow does, so that histories recorded
# before it replay as they ran (see tests/test_replay.py).
OWNER_CALLS = "owner-phone-calls"
"""The owner's yes-or-no questions also phone the owner."""
ANSWER_BEFORE_INTERRUPT = "answer-before-interrupt"
"""An answer that counted stands even when a cancel or a reassignment arrived with it; the
interruption is acted on at the next step (before: the answer was dropped)."""
CANCEL_BEFORE_PAYOUT = "cancel-before-payout"
"""A cancel accepted with the invoice's approval stops the payout."""
COMPLETION_FROM_VISIT = "completion-from-visit"
"""The tenant's "is it fixed?" deadline counts from the end of the visit."""
WORK_DONE_AFTER_VISIT = "work-done-after-visit"
"""The work can be marked done only once the booked visit has started."""
OFFICE_HOURS_IN_ACTIVITY = "office-hours-in-activity"
"""Office hours are decided by an activity, not from the worker's time-zone data."""
NO_WINDOW_FITS = "no-window-fits"
"""A vendor may answer that none of the tenant's windows works: the tenant is asked for
other times (a new round of availability)."""
OWNER_POLICIES = "owner-policies"
"""The owner's policy for the property, fixed at intake, applies (requests started before
policies carry none, and keep their behaviour): an emergency estimate above the limit phones
and emails the owner at once and, unanswered after the policy's wait, lets make-safe work go
ahead up to the cap; silence may approve a routine estimate; routine and urgent calls wait
out the property's quiet hours (the email goes at once); the property's preferred channel."""
SATISFACTION_SURVEY = "satisfaction-survey"
"""A request that closes emails the tenant a one-question survey (a signed link)."""
VENDOR_JOBS = "vendor-jobs"
"""A request that ends with a vendor keeps the vendor's job for the scorecards."""
REPORT_CHECK = "report-check"
"""A web-form report from someone who is not the unit's tenant on file waits, once
triaged, for the tenant on file (or ops) to confirm it before anyone is asked or sent."""
PREVENTIVE_JOBS = "preventive-jobs"
"""A request a preventive job opened is triaged as the job says (no model is asked) and
the repair is not put to the owner; an estimate above the owner's limit still is."""
VENDOR_DOCUMENTS = "vendor-documents"
"""A vendor whose compliance documents keep them from a job (an insurance certificate or
licence that expired, or a required one missing) is not offered it: the next one is, and
the timeline says who was not asked and why."""
REPORT_CHECK_BY_OFFICE = "report-check-by-office"
"""A report's check that nobody on file can answer waits in ops' own queue
(``RequestWaitingOn`` "ops", not "tenant"); an emergency's check that nobody answers in
time goes ahead as if accepted, the timeline and ops told why (before: it expired)."""
CALL_TRANSCRIPTS = "call-transcripts"
"""A call's conversation that recorded no answer is kept on the timeline with what was
said (``call_transcript``); before, only how the call ended was."""
OFFICE = "ops"
"""``RequestWaitingOn`` while ops, not the person the stage names, must answer."""


class _Interrupted(Exception):
    """A person changed the request's course while it waited: it was cancelled, or its
    vendor was reassigned."""


@dataclass
class _Reassignment:
    request: ReassignRequest
    vendor: VendorFacts | None
    """None: the next vendor of the trade."""


# Auto-upgrade: a repair waits weeks on people; pinned, it would keep its build running
# that long. It moves to the current build at its next step, so every change of what it
# does stays behind a `workflow.patched` (docs/deployment.md, "Retiring patches").
@workflow.defn(versioning_behavior=VersioningBehavior.AUTO_UPGRADE)
class MaintenanceRequestWorkflow(DeskWorkflow):
    _office_checks = False
    """The open report check is ops' to answer: nobody is on file to ask."""

    @workflow.init
    def __init__(self, submission: RequestSubmission) -> None:
        self._start_core()
        now = workflow.now()
        self._policy = submission.policy
        tenant = submission.form.tenant
        job = submission.preventive
        sent = submission.form.photos
        with_files = f", with {described(sent)}" if sent else ""
        opened = f"Reported by {tenant.name} ({notices.SOURCES[submission.source]}){with_files}"
        if job is not None:
            opened = (
                f"Opened by the preventive maintenance schedule: {job.title}, due {job.due_words}"
            )
        self._state = RequestState(
            request_id=submission.request_id,
            status=RequestStatus.SUBMITTED,
            source=submission.source,
            external_id=submission.external_id,
            form=submission.form,
            preventive=job,
            created_at=now,
            updated_at=now,
            timeline=[
                TimelineEntry(
                    at=now,
                    status=RequestStatus.SUBMITTED,
                    event=opened,
                )
            ],
            photos=[Attachment(file=ref, by=tenant.name, role="tenant", at=now) for ref in sent],
        )
        self._preventive = False
        """The job's triage was taken, and the repair is not put to the owner."""
        self._answers: dict[str, Answer] = {}
        """Every answer acted on, by its id: a repeat of one is harmless."""
        self._cancel: CancelRequest | None = None
        self._reassign: _Reassignment | None = None
        self._handled: set[str] = set()
        """Ids of cancel and reassign requests already taken."""
        self._notices = 0
        self._rounds: dict[Stage, int] = {}
        self._owner_involved = False
        self._calls: dict[str, str] = {}
        """The call ids placed, and who each one called."""
        self._calls_ended: set[str] = set()
        self._calls_transcribed: set[str] = set()
        self._done_from: datetime | None = None
        """When the work may be marked done: the booked visit's start."""
        self._silence: tuple[Silence, timedelta] | None = None
        """What the owner's silence on the open question lets happen, and after how long."""

    # -- the lifecycle -------------------------------------------------------------------

    @workflow.run
    async def run(self, submission: RequestSubmission) -> RequestState:
        self._publish()
        count("opsdesk_maintenance_requests_opened", "Maintenance requests opened.")
        await self._run_to_end(self._lifecycle_until_cancelled)
        return self._state

    # What the closing sequence asks of the request (see ``DeskWorkflow``).

    @property
    def _ended(self) -> bool:
        return self._state.status.terminal

    @property
    def _ended_cancelled(self) -> bool:
        return self._state.status is RequestStatus.CANCELLED

    def _on_temporal_cancel(self, reason: str) -> None:
        if self._cancel is not None:
            return
        if why_not_cancel(self._state) is None:
            self._cancel = CancelRequest(
                answer_id="temporal-cancel", actor="temporal", reason=reason or "cancelled"
            )
        else:
            self._note(
                f"Temporal asked to cancel; ignored, as the request is {self._state.status.words}"
            )

    async def _gave_up(self, error: str) -> None:
        """A step gave up (the directory, the payout): ops take it from here, and everyone
        involved hears what is true, never a request that silently stopped."""
        state = self._state
        self._finish(RequestStatus.FAILED, f"Stopped: {error}")
        self._tell_ops(notices.stopped_for_ops(state, error))
        self._tell_involved(notices.stopped(state))

    def _step_priority(self) -> TaskPriority:
        # Before triage the steps inherit what the start knew; after it, an emergency's
        # steps, notifications and calls go ahead of routine work (``priorities``). The
        # options do not make a command of their own: histories replay as they ran.
        state = self._state
        triage = state.triage
        return task_priority(
            None if triage is None else triage.priority,
            None if state.premises is None else state.premises.owner_id,
        )

    async def _lifecycle_until_cancelled(self) -> None:
        try:
            await self._lifecycle()
        except _Interrupted:
            # Only a cancel ends the lifecycle this way; a reassignment is caught inside.
            self._cancelled()

    async def _lifecycle(self) -> None:
        state = self._state
        form = state.form
        try:
            state.premises = await self._execute(
                MaintenanceActivities.load_property,
                PropertyLookup(property_id=form.property_id, unit=form.unit),
                DIRECTORY,
            )
            self._check_interrupt()
        except ActivityError as err:
            self._finish(RequestStatus.CANCELLED, f"not started: {describe_failure(err)}")
            self._tell_tenant(notices.not_taken(state, describe_failure(err)))
            return
        await self._triage()
        if workflow.patched(REPORT_CHECK) and not await self._report_checked():
            return
        if not await self._owner_approves_repair():
            return
        while True:
            try:
                if not await self._with_vendor():
                    return
                break
            except _Interrupted:
                if self._cancel is not None:
                    raise
                self._take_reassignment()
        await self._invoice_and_pay()

    async def _triage(self) -> None:
        state = self._state
        job = state.preventive
        # Only a worker with this change starts such a request, so no older history comes here.
        if job is not None and workflow.patched(PREVENTIVE_JOBS):
            self._preventive = True
            state.triage = MaintenanceTriage(
                category=CATEGORY_OF_TRADE[job.trade],
                priority="routine",
                emergency=False,
                summary=job.title[:140],
                trade=job.trade,
            )
            state.triaged_by = "the preventive job"
            self._move(
                RequestStatus.TRIAGED,
                f"Preventive maintenance, routine, needs {TRADE_WORDS[job.trade]}",
            )
            return
        request = TriageRequest(
            request_id=state.request_id,
            description=state.form.description,
            unit=state.form.unit,
            photos=[sent.file for sent in state.photos if sent.file.kind == "photo"],
        )
        try:
            result = await self._execute(AiActivities.triage_maintenance_request, request, TRIAGE)
        except ActivityError as err:
            # The model could not answer: the offline rules triage it, and the timeline says so.
            workflow.logger.warning("triage falls back to the rules: %s", describe_failure(err))
            request = request.model_copy(update={"offline": True})
            result = await self._execute(
                AiActivities.triage_maintenance_request, request, TRIAGE_BY_RULES
            )
        self._check_interrupt()
        triage = result.triage
        state.triage = triage
        state.triaged_by = result.provider
        state.emergency_criterion = result.emergency
        self._move(
            RequestStatus.TRIAGED,
            f"Triaged by {result.provider}: {triage.category.replace('_', ' ')}, "
            f"{triage.priority}, needs {TRADE_WORDS[triage.trade]}"
            + notices.emergency_because(result),
        )
        follow = notices.follow_grant(state.request_id, workflow.now())
        self._tell("tenant", notices.acknowledged(state), follow, notices.FOLLOW_BUTTON)

    async def _report_checked(self) -> bool:
        """Whether the report may go ahead: it came from the API or the property system
        (trusted), or from the unit's tenant on file by email address, or the tenant on
        file or ops confirmed it. False when the request ended on the way."""
        state = self._state
        assert state.premises is not None
        assert state.triage is not None
        if state.source != "form":
            return True
        if not state.report_to_check:
            self._note("Reported by a tenant on file for the unit")
            return True
        by_office = workflow.patched(REPORT_CHECK_BY_OFFICE)
        emergency = state.triage.emergency
        if state.tenant_on_file is None or emergency:
            # Nobody else can confirm it, or it must not wait on the tenant alone.
            self._tell_ops(notices.report_to_check(state))
        self._office_checks = by_office and state.tenant_on_file is None
        decision = await self._ask(Stage.REPORT_CHECK)
        self._office_checks = False
        if decision is None:
            if by_office and emergency:
                # A gas leak must not end for want of an answer: someone is sent.
                self._note(notices.EMERGENCY_CHECK_LAPSED)
                self._tell_ops(notices.emergency_check_lapsed(state))
                return True
            self._expire(Stage.REPORT_CHECK, "the report was not confirmed in time")
            return False
        assert isinstance(decision, Decision)
        if not decision.approve:
            self._finish(
                RequestStatus.DECLINED, f"Report refused by {decision.actor}", actor=decision.actor
            )
            # Ops' reason is told; a tenant's note is not theirs to pass on.
            office = decision.channel in ("dashboard", "api")
            self._tell_tenant(notices.report_refused(state, decision.note if office else ""))
            return False
        return True

    async def _owner_approves_repair(self) -> bool:
        state = self._state
        assert state.triage is not None
        assert state.premises is not None
        if self._preventive:
            self._note(
                "Preventive maintenance: the repair is not put to the owner; an estimate "
                f"above their limit of {money(state, state.premises.auto_approve_cents)} still is"
            )
            return True
        if state.triage.emergency:
            self._owner_involved = True
            self._note("Emergency: owner approval skipped, a vendor is asked at once")
            self._tell("owner", notices.emergency_for_owner(state))
            self._tell_ops(notices.emergency_for_ops(state))
            return True
        decision = await self._ask(Stage.OWNER_APPROVAL)
        if decision is None:
            self._expire(Stage.OWNER_APPROVAL)
            return False
        assert isinstance(decision, Decision)
        if not decision.approve:
            self._decline("The owner declined the repair", decision)
            return False
        return True

    async def _with_vendor(self) -> bool:
        """Quote, estimate, scheduling, the work and the tenant's confirmation. False when
        the request ended on the way."""
        state = self._state
        assert state.premises is not None
        while True:
            if state.vendor is None and not await self._choose_vendor():
                self._expire(Stage.VENDOR_QUOTE, "no vendor of the trade is left to ask")
                return False
            vendor = state.vendor
            assert vendor is not None
            quote = await self._ask(Stage.VENDOR_QUOTE)
            if quote is not None and not (isinstance(quote, QuoteAnswer) and quote.decline):
                break
            why = "let the quote lapse" if quote is None else "cannot take the job"
            self._note(f"{vendor.name} {why}: the next vendor of the trade is asked")
            self._tell_vendor_released(vendor)
            state.vendor = None
        assert isinstance(quote, QuoteAnswer)
        assert quote.amount_cents is not None
        state.quote_cents = quote.amount_cents
        if quote.amount_cents <= state.premises.auto_approve_cents:
            state.approved_cents = quote.amount_cents
            self._note(
                f"Estimate approved without asking: within the owner's limit of "
                f"{money(state, state.premises.auto_approve_cents)}"
            )
        else:
            decision = await self._ask(Stage.ESTIMATE_APPROVAL)
            if decision is None:
                if not self._ahead_without_answer(quote.amount_cents):
                    self._expire(Stage.ESTIMATE_APPROVAL)
                    return False
            else:
                assert isinstance(decision, Decision)
                if not decision.approve:
                    self._decline("The owner declined the estimate", decision)
                    return False
                state.approved_cents = quote.amount_cents
        while True:
            if not await self._schedule_and_work():
                return False
            completion = await self._ask(Stage.COMPLETION)
            if completion is None:
                self._note(
                    "Confirmed without the tenant's answer after "
                    f"{notices.duration_words(self._policy.completion)}"
                )
                return True
            assert isinstance(completion, CompletionAnswer)
            if completion.fixed:
                return True
            self._note(f"Not fixed: back to scheduling with {state.vendor_name}")

    async def _schedule_and_work(self) -> bool:
        state = self._state
        while True:
            availability = await self._ask(Stage.AVAILABILITY)
            if availability is None:
                self._expire(Stage.AVAILABILITY)
                return False
            assert isinstance(availability, AvailabilityAnswer)
            state.windows = availability.windows
            slot = await self._ask(Stage.SLOT)
            if slot is None:
                self._expire(Stage.SLOT)
                return False
            assert isinstance(slot, SlotAnswer)
            if slot.slot is not None:
                break
            # Only a worker with this change accepts such an answer, so every history that
            # comes this way carries the marker.
            workflow.patched(NO_WINDOW_FITS)
            self._note(
                f"None of the tenant's times works for {state.vendor_name}: "
                "the tenant is asked for other times",
                actor=slot.actor,
                note=slot.note,
            )
        visit = slot.slot
        state.slot = visit
        if workflow.patched(WORK_DONE_AFTER_VISIT):
            self._done_from = visit.start
        self._tell_tenant(notices.visit_booked(state))
        done = await self._ask(Stage.WORK_DONE)
        if done is None:
            self._expire(Stage.WORK_DONE)
            return False
        return True

    async def _invoice_and_pay(self) -> None:
        state = self._state
        invoice = await self._ask(Stage.INVOICE)
        if invoice is None:
            self._expire(Stage.INVOICE)
            return
        assert isinstance(invoice, InvoiceAnswer)
        state.invoice_cents = invoice.total_cents
        state.invoice = invoice.invoice()
        decision = await self._ask(Stage.INVOICE_APPROVAL)
        if decision is None:
            self._expire(Stage.INVOICE_APPROVAL)
            return
        assert isinstance(decision, Decision)
        if not decision.approve:
            self._decline("The owner declined the invoice", decision)
            return
        if workflow.patched(CANCEL_BEFORE_PAYOUT):
            self._check_interrupt()
        vendor = state.vendor
        assert vendor is not None
        assert state.invoice_cents is not None
        amount = money(state, state.invoice_cents)
        self._move(RequestStatus.PAYMENT, f"Paying {vendor.name} {amount}")
        payout = await self._execute(
            MaintenanceActivities.pay_vendor,
            PayoutInput(
                idempotency_key=child_key(self._key_prefix, "payout"),
                request_id=state.request_id,
                vendor_id=vendor.vendor_id,
                amount_cents=state.invoice_cents,
                currency=state.currency,
                property_id=state.form.property_id,
                invoice_number=state.invoice.number if state.invoice else None,
                document_key=(
                    state.invoice.document.key if state.invoice and state.invoice.document else None
                ),
            ),
            PAYOUT,
        )
        state.payout = payout
        self._finish(RequestStatus.CLOSED, f"Paid {vendor.name} {amount} ({payout.payout_id})")
        self._tell_tenant(notices.closed_for_tenant(state))
        self._tell("vendor", notices.paid_for_vendor(state, amount))
        self._tell("owner", notices.closed_for_owner(state, amount))
        if workflow.patched(SATISFACTION_SURVEY):
            self._send_survey()

    async def _choose_vendor(self) -> bool:
        state = self._state
        assert state.triage is not None
        if workflow.patched(VENDOR_DOCUMENTS):
            assert state.premises is not None
            pick = await self._execute(
                MaintenanceActivities.choose_compliant_vendor,
                CompliantVendorChoice(
                    trade=state.triage.trade,
                    exclude=state.vendors_tried,
                    at=workflow.now(),
                    time_zone=state.premises.time_zone,
                ),
                DIRECTORY,
            )
            for skipped in pick.skipped:
                event = f"{skipped.name} was not asked: {skipped.reason}"
                # A later choice passes them over again; the timeline says it once.
                if all(entry.event != event for entry in state.timeline):
                    self._note(event)
            vendor = pick.vendor
        else:
            vendor = await self._execute(
                MaintenanceActivities.choose_vendor,
                VendorChoice(trade=state.triage.trade, exclude=state.vendors_tried),
                DIRECTORY,
            )
        self._check_interrupt(reassignable=True)
        if vendor is None:
            return False
        self._assign(vendor)
        return True

    def _assign(self, vendor: VendorFacts) -> None:
        state = self._state
        state.vendor = vendor
        if vendor.vendor_id not in state.vendors_tried:
            state.vendors_tried.append(vendor.vendor_id)
        # A new vendor quotes, and books a visit, afresh.
        state.quote_cents = state.approved_cents = None
        state.windows = []
        state.slot = None

    def _take_reassignment(self) -> None:
        reassignment = self._reassign
        assert reassignment is not None
        state = self._state
        previous = state.vendor
        request = reassignment.request
        state.vendor = None
        if previous is not None:
            self._tell_vendor_released(previous)
        if reassignment.vendor is not None:
            self._assign(reassignment.vendor)
        who = reassignment.vendor.name if reassignment.vendor else "the next vendor of the trade"
        self._note(f"Reassigned to {who}", actor=request.actor, note=request.note)
        self._handled.add(request.answer_id)
        self._reassign = None

    # -- asking people --------------------------------------------------------------------

    async def _ask(self, stage: Stage) -> Answer | None:
        """Ask the person whose answer ``stage`` needs and wait for it until the stage's
        deadline. None: nobody answered in time."""
        state = self._state
        assert state.triage is not None
        self._check_interrupt(reassignable=stage.status in REASSIGNABLE)
        now = workflow.now()
        limit = self._policy.deadline(stage, state.triage.priority)
        if state.slot is not None and (
            stage is Stage.WORK_DONE
            or (stage is Stage.COMPLETION and workflow.patched(COMPLETION_FROM_VISIT))
        ):
            # Counted from the visit's end: never a deadline before anyone came.
            limit = max(limit, state.slot.end + limit - now)
        self._silence = self._when_silent(stage)
        if self._silence is not None:
            limit = self._silence[1]
        # Decided before the question is open: a query must never see it asked of nobody.
        phone, email, call_at = await self._channels(stage)
        round = self._rounds[stage] = self._rounds.get(stage, 0) + 1
        question = Question(stage=stage, round=round, asked_at=now, deadline=now + limit)
        if self._silence is not None:
            question.on_silence = self._silence[0]
        elif (
            stage is Stage.REPORT_CHECK
            and self._emergency()
            and workflow.patched(REPORT_CHECK_BY_OFFICE)
        ):
            question.on_silence = "go_ahead"
        state.question = question
        state.questions.append(question)
        name, address = self._asked_person(stage)
        if email:
            question.asked.append(Asked(role=stage.role, name=name, channel="email", at=now))
        if phone:
            question.asked.append(Asked(role=stage.role, name=name, channel="phone", at=now))
        if stage.role == "owner":
            self._owner_involved = True
        text = QUESTIONS[stage][0]
        by = {(True, True): " by email and phone", (True, False): " by phone"}.get(
            (phone is not None, email), ""
        )
        who = f"{name} ({stage.role})" if email or phone is not None else name
        self._move(stage.status, f"Asked {who}{by}: {text}")
        if email:
            self._email_question(question, name, address)
        if phone is not None:
            self._call(question, phone)
        if call_at is not None:
            self._note(
                f"Quiet hours at the property: {name} is phoned when they end, if this is "
                "still unanswered"
            )
            self._in_background(self._call_after_quiet_hours(question, call_at))
        reassignable = stage.status in REASSIGNABLE
        answered = await self._wait_for_person(
            lambda: (
                question.answer is not None
                or self._cancel is not None
                or (reassignable and self._reassign is not None)
            ),
            limit,
        )
        state.question = None
        interrupted = self._cancel is not None or (reassignable and self._reassign is not None)
        if interrupted and (
            question.answer is None or not workflow.patched(ANSWER_BEFORE_INTERRUPT)
        ):
            if question.answer is None:
                question.withdrawn = True
            raise _Interrupted
        if not answered or question.answer is None:
            question.lapsed = True
            count(
                "opsdesk_maintenance_deadlines_missed",
                "Questions nobody answered before their stage's deadline, by stage (a vendor's "
                "lapsed quote passes to the next vendor; any other ends the request).",
                stage=stage.value,
            )
            return None
        return self._answers[question.answer.answer_id]

    async def _channels(self, stage: Stage) -> tuple[str | None, bool, datetime | None]:
        """How to ask ``stage``: the number to phone now (None: no call), whether to email,
        and when to phone if the question is still open then (the end of quiet hours).
        Only the owner's yes-or-no questions phone, and only an owner with a number a call
        can dial who has not turned calls off."""
        premises = self._state.premises
        if stage is Stage.REPORT_CHECK:
            # Only the tenant on file is emailed; with none, ops answer on the dashboard.
            return None, self._state.tenant_on_file is not None, None
        if stage not in CALLED_STAGES or premises is None:
            return None, True, None
        policy = self._owner_policy()
        if policy is not None:
            return await self._channels_by_policy(stage, premises, policy)
        phone = dialable(premises.owner_phone)
        if phone is None or premises.owner_calls == "email_only":
            return None, True, None
        if not workflow.patched(OWNER_CALLS):
            return None, True, None
        if premises.owner_calls != "call_only_after_hours":
            return phone, True, None
        if workflow.patched(OFFICE_HOURS_IN_ACTIVITY):
            office_hours = await self._execute(
                MaintenanceActivities.in_office_hours,
                OfficeHoursCheck(
                    moment=workflow.now(),
                    time_zone=premises.time_zone,
                    office_hours=self._policy.office_hours,
                ),
                DIRECTORY,
            )
        else:
            office_hours = self._policy.in_office_hours(workflow.now(), premises.time_zone)
        return phone, office_hours, None

    def _owner_policy(self) -> OwnerPolicy | None:
        """The owner's policy fixed at intake; None for a request started before policies."""
        premises = self._state.premises
        if premises is None or premises.policy is None or not workflow.patched(OWNER_POLICIES):
            return None
        return premises.policy

    def _emergency(self) -> bool:
        return self._state.triage is not None and self._state.triage.emergency

    async def _channels_by_policy(
        self, stage: Stage, premises: PropertyFacts, policy: OwnerPolicy
    ) -> tuple[str | None, bool, datetime | None]:
        """``_channels`` under the owner's policy: an emergency estimate phones and emails at
        once, whatever the hour and the preferred channel; any other question follows the
        preferred channel, and its call waits out the property's quiet hours."""
        phone = dialable(premises.owner_phone)
        if phone is None:
            return None, True, None
        if stage is Stage.ESTIMATE_APPROVAL and self._emergency():
            return phone, True, None
        calls = premises.owner_calls
        if calls == "email_only":
            return None, True, None
        email = calls != "call_first"
        if calls == "call_only_after_hours":
            email = await self._execute(
                MaintenanceActivities.in_office_hours,
                OfficeHoursCheck(
                    moment=workflow.now(),
                    time_zone=premises.time_zone,
                    office_hours=self._policy.office_hours,
                ),
                DIRECTORY,
            )
        if policy.quiet_hours != "none":
            quiet_until = await self._execute(
                MaintenanceActivities.quiet_until,
                QuietHoursCheck(
                    moment=workflow.now(),
                    time_zone=premises.time_zone,
                    quiet_hours=policy.quiet_hours,
                ),
                DIRECTORY,
            )
            if quiet_until is not None:
                # Emailed now, whatever the channel: never a question asked of nobody.
                return None, True, quiet_until
        return phone, email, None

    async def _call_after_quiet_hours(self, question: Question, at: datetime) -> None:
        """Phone the owner about ``question`` once the quiet hours end, if it is still open."""
        premises = self._state.premises
        assert premises is not None
        phone = dialable(premises.owner_phone)
        assert phone is not None
        closed = await self._wait(
            lambda: self._state.question is not question or question.answer is not None,
            at - workflow.now(),
        )
        if closed:
            return
        stage = question.stage
        name = self._person(stage.role)[0]
        question.asked.append(Asked(role=stage.role, name=name, channel="phone", at=workflow.now()))
        self._note(f"Quiet hours over: {name} is phoned about {stage.words}", channel="phone")
        self._call(question, phone)

    def _when_silent(self, stage: Stage) -> tuple[Silence, timedelta] | None:
        """What the owner's silence on ``stage`` lets happen under the policy, and after how
        long; None: the stage's own deadline, after which the request expires."""
        state = self._state
        if stage is not Stage.ESTIMATE_APPROVAL or state.triage is None:
            return None
        policy = self._owner_policy()
        if policy is None:
            return None
        if self._emergency():
            if not policy_notices.make_safe_cap(state):
                return None
            return "make_safe", timedelta(hours=policy.emergency_wait_hours)
        hours = policy.silence_approves_routine_hours
        if state.triage.priority == "routine" and hours is not None:
            return "approve", timedelta(hours=hours)
        return None

    def _ahead_without_answer(self, quote_cents: int) -> bool:
        """The owner left the estimate unanswered: let go ahead what the policy allows (make-
        safe work in an emergency, a routine quote), and say so. False: nothing may."""
        if self._silence is None:
            return False
        silence, wait = self._silence
        state = self._state
        if silence == "approve":
            state.approved_cents = quote_cents
            self._note(policy_notices.approved_by_silence_note(wait))
            self._tell("owner", policy_notices.approved_by_silence_for_owner(state, wait))
            return True
        state.approved_cents = min(quote_cents, policy_notices.make_safe_cap(state))
        self._note(policy_notices.made_safe_note(state, wait))
        self._tell("vendor", policy_notices.made_safe_for_vendor(state, wait))
        self._tell("owner", policy_notices.made_safe_for_owner(state, wait))
        self._tell_ops(policy_notices.made_safe_for_ops(state, wait))
        return True

    def _call(self, question: Question, phone: str) -> None:
        """Phone the person ``question`` asks, as a child like a notification: the call
        carries its own grant, so it answers this question once."""
        state = self._state
        stage = question.stage
        grant = self._grant(question, "phone")
        self._calls[grant.link_id] = self._person(stage.role)[0]
        call = PhoneCall(
            key=child_key(self._key_prefix, "call", stage.value, question.round),
            to=phone,
            reference=workflow.info().workflow_id,
            title=f"Call: {QUESTIONS[stage][1].lower()}, request {state.request_id}",
            script=call_script(state, stage).full,
            grant=grant,
        )
        self._in_background(
            self._start_abandoned(PhoneCallWorkflow.run, call, child_workflow_id(call.key))
        )

    @workflow.signal
    def call_ended(self, event: CallEnded) -> None:
        """A call's provider says how it ended: kept on the timeline, once per call."""
        who = self._calls.get(event.call_id)
        if who is None or event.call_id in self._calls_ended:
            return
        self._calls_ended.add(event.call_id)
        what = CALL_OUTCOME_WORDS[event.outcome]
        if event.outcome == "completed" and event.seconds:
            what += f" after {event.seconds} s"
        self._note(
            f"Call to {who} about {event.stage.words}: {what}",
            channel="phone",
        )
        question = self._state.question
        if (
            question is not None
            and (question.stage, question.round) == (event.stage, event.round)
            and question.answer is None
            and all(asked.channel != "email" for asked in question.asked)
        ):
            # Phoned only (after hours) and the call did not answer it: the question goes
            # by email too, so the owner can still answer before the deadline.
            name, address = self._person(question.stage.role)
            question.asked.append(
                Asked(role=question.stage.role, name=name, channel="email", at=workflow.now())
            )
            self._email_question(question, name, address)

    @workflow.signal
    def call_transcript(self, event: CallTranscript) -> None:
        """A call's conversation recorded no answer: what was said goes on the timeline, once
        per call."""
        who = self._calls.get(event.call_id)
        if who is None or event.call_id in self._calls_transcribed:
            return
        if not workflow.patched(CALL_TRANSCRIPTS):
            return
        self._calls_transcribed.add(event.call_id)
        self._note(
            f"Call with {who} about {event.stage.words}: a conversation, nothing recorded",
            channel="phone",
            note=event.transcript,
        )

    def _grant(self, question: Question, channel: Literal["email", "phone"]) -> LinkGrant:
        """What a link or a call may do: answer ``question`` once, until its deadline."""
        stage = question.stage
        return LinkGrant(
            link_id=str(workflow.uuid4()),
            request_id=self._state.request_id,
            stage=stage.value,
            round=question.round,
            role=stage.role,
            answers=ANSWERS[stage],
            expires_at=question.deadline,
            channel=channel,
        )

    def _email_question(self, question: Question, name: str, address: str) -> None:
        """Email ``question`` with a signed link that answers it."""
        state = self._state
        stage = question.stage
        subject, paragraphs = notices.question(state, stage)
        if self._silence is not None and stage is Stage.ESTIMATE_APPROVAL:
            paragraphs = policy_notices.estimate_question(state, *self._silence)
        link = self._grant(question, "email")
        self._notify(
            address,
            message(
                state,
                subject=subject,
                greeting=f"Dear {name},",
                paragraphs=paragraphs,
                details=[
                    *stage_details(state, stage),
                    *notices.files_details(state, stage),
                    {"label": "Answer by", "at": question.deadline.isoformat()},
                ],
                link=link,
                button=QUESTIONS[stage][1],
            ),
        )

    def _check_interrupt(self, reassignable: bool = False) -> None:
        """Act on a cancel (or a reassignment, where one may happen) that arrived while a
        step ran, before anyone is asked or told anything more."""
        if self._cancel is not None or (reassignable and self._reassign is not None):
            raise _Interrupted

    def _asked_person(self, stage: Stage) -> tuple[str, str]:
        """Who ``stage`` asks: the role's person, but a report's check goes to the unit's
        tenant on file, never to whoever reported (with none on file, to ops)."""
        if stage is Stage.REPORT_CHECK:
            tenant = self._state.tenant_on_file
            if tenant is None:
                where = f"nobody is on file for unit {self._state.form.unit}"
                return f"the office on the request's page ({where})", self._policy.ops_email
            return tenant.name, tenant.email
        return self._person(stage.role)

    def _person(self, role: Role) -> tuple[str, str]:
        state = self._state
        if role == "owner":
            assert state.premises is not None
            return state.premises.owner_name, state.premises.owner_email
        if role == "vendor":
            assert state.vendor is not None
            return state.vendor.name, state.vendor.email
        return state.form.tenant.name, state.form.tenant.email

    # -- answers: one update per stage ------------------------------------------------------

    @workflow.update
    async def answer_owner_approval(self, answer: Decision) -> RequestState:
        return await self._answer(Stage.OWNER_APPROVAL, answer)

    @answer_owner_approval.validator
    def _validate_owner_approval(self, answer: Decision) -> None:
        self._validate(Stage.OWNER_APPROVAL, answer)

    @workflow.update
    async def answer_vendor_quote(self, answer: QuoteAnswer) -> RequestState:
        return await self._answer(Stage.VENDOR_QUOTE, answer)

    @answer_vendor_quote.validator
    def _validate_vendor_quote(self, answer: QuoteAnswer) -> None:
        self._validate(Stage.VENDOR_QUOTE, answer)

    @workflow.update
    async def answer_estimate_approval(self, answer: Decision) -> RequestState:
        return await self._answer(Stage.ESTIMATE_APPROVAL, answer)

    @answer_estimate_approval.validator
    def _validate_estimate_approval(self, answer: Decision) -> None:
        self._validate(Stage.ESTIMATE_APPROVAL, answer)

    @workflow.update
    async def answer_availability(self, answer: AvailabilityAnswer) -> RequestState:
        return await self._answer(Stage.AVAILABILITY, answer)

    @answer_availability.validator
    def _validate_availability(self, answer: AvailabilityAnswer) -> None:
        self._validate(Stage.AVAILABILITY, answer)

    @workflow.update
    async def answer_slot(self, answer: SlotAnswer) -> RequestState:
        return await self._answer(Stage.SLOT, answer)

    @answer_slot.validator
    def _validate_slot(self, answer: SlotAnswer) -> None:
        self._validate(Stage.SLOT, answer)

    @workflow.update
    async def answer_work_done(self, answer: WorkDoneAnswer) -> RequestState:
        return await self._answer(Stage.WORK_DONE, answer)

    @answer_work_done.validator
    def _validate_work_done(self, answer: WorkDoneAnswer) -> None:
        self._validate(Stage.WORK_DONE, answer)

    @workflow.update
    async def answer_completion(self, answer: CompletionAnswer) -> RequestState:
        return await self._answer(Stage.COMPLETION, answer)

    @answer_completion.validator
    def _validate_completion(self, answer: CompletionAnswer) -> None:
        self._validate(Stage.COMPLETION, answer)

    @workflow.update
    async def answer_invoice(self, answer: InvoiceAnswer) -> RequestState:
        return await self._answer(Stage.INVOICE, answer)

    @answer_invoice.validator
    def _validate_invoice(self, answer: InvoiceAnswer) -> None:
        self._validate(Stage.INVOICE, answer)

    @workflow.update
    async def answer_invoice_approval(self, answer: Decision) -> RequestState:
        return await self._answer(Stage.INVOICE_APPROVAL, answer)

    @answer_invoice_approval.validator
    def _validate_invoice_approval(self, answer: Decision) -> None:
        self._validate(Stage.INVOICE_APPROVAL, answer)

    @workflow.update
    async def answer_report_check(self, answer: Decision) -> RequestState:
        return await self._answer(Stage.REPORT_CHECK, answer)

    @answer_report_check.validator
    def _validate_report_check(self, answer: Decision) -> None:
        self._validate(Stage.REPORT_CHECK, answer)

    def _validate(self, stage: Stage, answer: Answer) -> None:
        if answer.answer_id in self._answers:
            return  # a repeat: harmless, answered with the state
        refused = self._why_not(stage, answer)
        if refused is not None:
            raise refusal(*refused)

    def _why_not(self, stage: Stage, answer: Answer) -> tuple[str, str] | None:
        return why_not_answer(
            self._state,
            stage,
            answer,
            workflow.now(),
            done_from=self._done_from,
            cancelling=self._cancel is not None,
            reassigning=self._reassign is not None,
        )

    async def _answer(self, stage: Stage, answer: Answer) -> RequestState:
        if answer.answer_id not in self._answers:
            # Checked again: another answer may have won since this one was validated.
            refused = self._why_not(stage, answer)
            if refused is not None:
                raise refusal(*refused)
            question = self._state.question
            assert question is not None
            question.answer = AnswerRecord(
                answer_id=answer.answer_id,
                what=describe_answer(stage, answer),
                actor=answer.actor,
                channel=answer.channel,
                note=answer.note,
                at=workflow.now(),
            )
            self._answers[answer.answer_id] = answer
            sent = getattr(answer, "photos", [])
            self._state.photos.extend(
                Attachment(
                    file=ref, by=answer.actor, role=stage.role, at=workflow.now(), stage=stage
                )
                for ref in sent
            )
            self._settled = False
            count(
                "opsdesk_maintenance_answers",
                "Answers that counted, by stage and the channel they came by.",
                stage=stage.value,
                channel=answer.channel,
            )
            with_files = f", with {described(sent)}" if sent else ""
            self._note(
                f"{answer.actor} ({stage.role}) {question.answer.what}{with_files}",
                actor=answer.actor,
                channel=answer.channel,
                note=answer.note,
            )
        await self._until(lambda: self._settled)
        return self._state

    # -- ops: reassign, cancel ---------------------------------------------------------------

    @workflow.update
    async def reassign(self, request: ReassignRequest) -> RequestState:
        if request.answer_id not in self._handled:
            vendor = None
            if request.vendor_id is not None:
                try:
                    vendor = await self._execute(
                        MaintenanceActivities.load_vendor, request.vendor_id, DIRECTORY
                    )
                except ActivityError as err:
                    raise refusal(describe_failure(err), INVALID_ANSWER) from err
            problem = self._why_not_reassign()
            if problem is not None:
                raise refusal(problem, NOT_WAITING)
            self._settled = False
            mine = self._reassign = _Reassignment(request=request, vendor=vendor)
            # Taken when the lifecycle next asks a question, unless the work was marked
            # done meanwhile (or the request ended) and nothing is left to reassign.
            await self._until(
                lambda: (
                    self._reassign is not mine
                    or (self._settled and self._state.status not in REASSIGNABLE)
                )
            )
            if self._reassign is mine:
                self._reassign = None
                raise refusal(
                    f"the vendor can no longer be changed: request {self._state.request_id} "
                    f"is {self._state.status.words} now",
                    NOT_WAITING,
                )
        await self._until(lambda: self._settled)
        return self._state

    @reassign.validator
    def _validate_reassign(self, request: ReassignRequest) -> None:
        if request.answer_id in self._handled:
            return
        problem = self._why_not_reassign()
        if problem is not None:
            raise refusal(problem, NOT_WAITING)

    def _why_not_reassign(self) -> str | None:
        return why_not_reassign(self._state, reassigning=self._reassign is not None)

    @workflow.update
    async def cancel(self, request: CancelRequest) -> RequestState:
        if request.answer_id not in self._handled and self._cancel is None:
            self._cancel = request
            self._settled = False
        await self._until(lambda: False)  # answered once the request has ended
        return self._state

    @cancel.validator
    def _validate_cancel(self, request: CancelRequest) -> None:
        if request.answer_id in self._handled or self._cancel is not None:
            return
        problem = why_not_cancel(self._state)
        if problem is not None:
            raise refusal(problem, NOT_WAITING)

    @workflow.query
    def get_state(self) -> RequestState:
        return self._state

    # -- how a request ends ---------------------------------------------------------------

    def _cancelled(self) -> None:
        request = self._cancel
        assert request is not None
        self._handled.add(request.answer_id)
        reason = request.reason or "no reason given"
        self._finish(
            RequestStatus.CANCELLED, f"Cancelled by {request.actor}: {reason}", actor=request.actor
        )
        self._tell_involved(notices.cancelled(self._state, reason))

    def _decline(self, what: str, decision: Decision) -> None:
        self._finish(RequestStatus.DECLINED, f"{what} ({decision.actor})", actor=decision.actor)
        self._tell_involved(notices.declined(self._state, what, decision.note))

    def _expire(self, stage: Stage, why: str = "") -> None:
        state = self._state
        if not why:
            who = self._asked_person(stage)[0] if stage.role != "vendor" or state.vendor else ""
            why = f"{stage.words} did not come in time (asked of {who or 'nobody'})"
        self._finish(RequestStatus.EXPIRED, f"Expired: {why}")
        # The tenant is told what it means for them, not whose answer was missing.
        self._tell_tenant(notices.expired_for_tenant(state, stage), resubmit=True)
        if self._owner_involved:
            self._tell("owner", notices.expired(state, why))
        if state.vendor is not None:
            self._tell("vendor", notices.expired(state, why))

    def _finish(self, status: RequestStatus, reason: str, actor: str = "") -> None:
        self._state.ended_reason = reason
        self._state.question = None
        self._move(status, reason, actor=actor)
        count(
            "opsdesk_maintenance_requests_ended",
            "Maintenance requests ended, by final status.",
            status=status.value,
        )
        job = job_facts(self._state, self._answers, workflow.now())
        if job is not None and workflow.patched(VENDOR_JOBS):
            self._in_background(self._record_job(job))

    async def _record_job(self, job: JobFacts) -> None:
        try:
            await self._execute(MaintenanceActivities.record_vendor_job, job, RECORD_JOB)
        except ActivityError as err:
            # The request has ended and is as people were told: only a scorecard misses it.
            workflow.logger.warning("the vendor's job was not kept: %s", describe_failure(err))

    # -- telling people ---------------------------------------------------------------------

    def _tell_involved(self, words: Words, resubmit: bool = False) -> None:
        """Everyone the request has involved so far: the tenant, the owner once asked or
        told, the vendor once asked to quote."""
        self._tell_tenant(words, resubmit=resubmit)
        if self._owner_involved:
            self._tell("owner", words)
        if self._state.vendor is not None:
            self._tell("vendor", words)

    def _tell_tenant(self, words: Words, resubmit: bool = False) -> None:
        """``resubmit``: with a link that reports the problem again, the form filled in."""
        link = None
        button = ""
        if resubmit:
            link = LinkGrant(
                link_id=str(workflow.uuid4()),
                request_id=self._state.request_id,
                stage="resubmit",
                round=1,
                role="tenant",
                answers=("resubmit",),
                expires_at=workflow.now() + RESUBMIT_LINK_LIFETIME,
            )
            button = "Report it again"
            words = Words(words.subject, [*words.paragraphs, notices.RESUBMIT])
        self._tell("tenant", words, link=link, button=button)

    def _send_survey(self) -> None:
        """The tenant's one-question survey, by a signed link that answers it once."""
        link = LinkGrant(
            link_id=str(workflow.uuid4()),
            request_id=self._state.request_id,
            stage=notices.SURVEY,
            round=1,
            role="tenant",
            answers=notices.RATINGS,
            expires_at=workflow.now() + notices.SURVEY_LINK_LIFETIME,
        )
        words = notices.survey_for_tenant(self._state)
        self._tell("tenant", words, link=link, button=notices.SURVEY_BUTTON)

    def _tell(
        self, role: Role, words: Words, link: LinkGrant | None = None, button: str = ""
    ) -> None:
        self._send(*self._person(role), words, link=link, button=button)

    def _tell_ops(self, words: Words) -> None:
        self._send("Ops", self._policy.ops_email, words, greeting="Ops,", dashboard=True)

    def _tell_vendor_released(self, vendor: VendorFacts) -> None:
        self._send(vendor.name, vendor.email, notices.released(self._state))

    def _send(
        self,
        name: str,
        address: str,
        words: Words,
        *,
        greeting: str = "",
        link: LinkGrant | None = None,
        button: str = "",
        dashboard: bool = False,
    ) -> None:
        self._notify(
            address,
            message(
                self._state,
                subject=words.subject,
                greeting=greeting or f"Dear {name},",
                paragraphs=words.paragraphs,
                link=link,
                button=button,
                dashboard=dashboard,
            ),
        )

    def _notify(self, to: str, facts: dict[str, Any]) -> None:
        """Start the notification as a child that outlives this workflow if it must; the
        start leaves with this workflow task, and ``run`` collects the starts before closing."""
        self._notices += 1
        notification = Notification(
            key=child_key(self._key_prefix, "notify", self._notices),
            template=TEMPLATE,
            to=to,
            reference=workflow.info().workflow_id,
            facts=facts,
        )
        self._in_background(
            self._start_abandoned(
                NotificationWorkflow.run, notification, child_workflow_id(notification.key)
            )
        )

    @property
    def _key_prefix(self) -> str:
        """Idempotency keys: the workflow and its chain's first run, so a request id used
        again long after (Temporal forgets closed workflows) never finds the old keys."""
        info = workflow.info()
        return f"{info.workflow_id}:{info.first_execution_run_id[:8]}"

    # -- state, visibility, waiting ---------------------------------------------------------

    def _move(self, status: RequestStatus, event: str, actor: str = "") -> None:
        self._state.status = status
        self._note(event, actor=actor)

    def _note(
        self, event: str, actor: str = "", channel: Channel | None = None, note: str = ""
    ) -> None:
        now = workflow.now()
        self._state.updated_at = now
        self._state.timeline.append(
            TimelineEntry(
                at=now,
                status=self._state.status,
                event=event,
                actor=actor,
                channel=channel,
                note=note,
            )
        )
        self._publish()

    def _waiting_on(self) -> str:
        """Whose answer the request waits for, as lists filter on it."""
        question = self._state.question
        if question is None:
            return NOBODY
        if self._office_checks and question.stage is Stage.REPORT_CHECK:
            return OFFICE
        return question.stage.role

    def _publish(self) -> None:
        """Search attributes and memo: what lists, filters and counts read. No personal
        data goes into search attributes (they are not encrypted)."""
        state = self._state
        question = state.question
        updates: list[SearchAttributeUpdate[Any]] = [
            sa.STATUS.value_set(state.status.value),
            sa.CREATED.value_set(state.created_at),
            sa.UPDATED.value_set(state.updated_at),
            # "nobody" rather than an unset value: the time-skipping test server cannot
            # take an unset attribute, and a list filters on a value more simply anyway.
            sa.REQUEST_WAITING_ON.value_set(self._waiting_on()),
        ]
        if question is not None:
            # Kept after the question closes; lists read it only while someone is asked.
            updates.append(sa.STAGE_DEADLINE.value_set(question.deadline))
        if state.triage is not None:
            updates.append(sa.REQUEST_PRIORITY.value_set(state.triage.priority))
        workflow.upsert_search_attributes(updates)
        workflow.upsert_memo({"row": RequestRow.of(state)})
