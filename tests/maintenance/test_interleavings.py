"""Repair requests under seeded random interleavings (see ``tests/interleavings.py``):
answers to the open question by every channel, two at once, stale answers to questions
already closed, cancels, reassignments, a cancel from Temporal, and worker restarts with
actions queued meanwhile (which then reach the workflow in one task). Then every request
is driven to an end, and the invariants are checked."""

from __future__ import annotations

import asyncio
import contextlib
import random
import uuid
from collections.abc import Coroutine
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import select
from temporalio.client import (
    WorkflowExecutionStatus,
    WorkflowUpdateFailedError,
)
from temporalio.exceptions import ApplicationError
from temporalio.service import RPCError, RPCStatusCode
from temporalio.testing import WorkflowEnvironment

from opsdesk.db import Database
from opsdesk.db.tables import PayoutRow
from opsdesk.maintenance.directory import Directory
from opsdesk.maintenance.inputs import (
    Answer,
    AvailabilityAnswer,
    CancelRequest,
    CompletionAnswer,
    Decision,
    InvoiceAnswer,
    QuoteAnswer,
    ReassignRequest,
    SlotAnswer,
    WorkDoneAnswer,
)
from opsdesk.maintenance.rules import ALREADY_ANSWERED, INVALID_ANSWER, NOT_WAITING
from opsdesk.maintenance.state import RequestState
from opsdesk.maintenance.status import CANCELLABLE, Stage
from opsdesk.maintenance.workflow import MaintenanceRequestWorkflow as W
from opsdesk.settings import Settings
from tests.interleavings import Calls, RestartableWorker, restartable, seeds
from tests.maintenance.helpers import PASSING, RequestHandle, maintenance_worker, start
from tests.together import as_the_api_sends, queued
from tests.waiting import eventually

REQUESTS = 3
ACTIONS = 45
CHANNELS = ["email", "phone", "dashboard", "api"]
REFUSALS = {ALREADY_ANSWERED, INVALID_ANSWER, NOT_WAITING}
# The tenant is at home from an hour ago (a visit booked then has begun), and tomorrow (a
# visit booked then cannot be marked done, nor paid for, during the run).
_FROM = datetime.now(UTC).replace(microsecond=0) - timedelta(hours=1)
WINDOW = {"start": _FROM, "end": _FROM + timedelta(hours=6)}
TOMORROW = {"start": _FROM + timedelta(days=1), "end": _FROM + timedelta(days=1, hours=6)}


def random_answer(stage: Stage, rng: random.Random) -> Answer:
    """An answer a person might give to ``stage``, declines and second thoughts included."""
    common: dict[str, Any] = {
        "answer_id": f"x{rng.randrange(10**12)}",
        "actor": stage.role,
        "channel": rng.choice(CHANNELS),
    }
    if stage in (
        Stage.OWNER_APPROVAL,
        Stage.ESTIMATE_APPROVAL,
        Stage.INVOICE_APPROVAL,
        Stage.REPORT_CHECK,
    ):
        return Decision(**common, approve=rng.random() < 0.9)
    if stage is Stage.VENDOR_QUOTE:
        if rng.random() < 0.2:
            return QuoteAnswer(**common, decline=True)
        return QuoteAnswer(**common, amount_cents=rng.choice([18000, 30000]))
    if stage is Stage.AVAILABILITY:
        return AvailabilityAnswer(**common, windows=[WINDOW, TOMORROW])
    if stage is Stage.SLOT:
        return SlotAnswer(**common, slot=rng.choice([WINDOW, TOMORROW]))
    if stage is Stage.WORK_DONE:
        return WorkDoneAnswer(**common)
    if stage is Stage.COMPLETION:
        return CompletionAnswer(**common, fixed=rng.random() < 0.8)
    return InvoiceAnswer(**common, amount_cents=rng.choice([18000, 30000]))


def sent_ok(outcome: Any) -> bool:
    """What a caller may be answered: the request's state, a refusal that says why, or
    "no such running request" for a call that reached it after it closed."""
    if isinstance(outcome, RequestState) or outcome is None:
        return True
    if isinstance(outcome, WorkflowUpdateFailedError):
        cause = outcome.cause
        return isinstance(cause, ApplicationError) and cause.type in REFUSALS
    return isinstance(outcome, RPCError) and outcome.status is RPCStatusCode.NOT_FOUND


@pytest.mark.parametrize("seed", seeds())
async def test_requests_hold_under_random_interleavings(
    seed: int, dev_env: WorkflowEnvironment, db: Database, settings: Settings, directory: Directory
) -> None:
    rng = random.Random(seed)
    client = dev_env.client
    calls = Calls(seed)
    answers: dict[str, Stage] = {}
    """Every answer sent, by id: which stage it answered."""

    def answer_call(
        handle: RequestHandle, number: int, stage: Stage
    ) -> tuple[str, Coroutine[Any, Any, Any], str]:
        answer = random_answer(stage, rng)
        answers[answer.answer_id] = stage
        update = PASSING[stage][0] if stage in PASSING else W.answer_invoice_approval
        label = f"{stage} {describe(answer)} -> request {number} [{answer.answer_id}]"
        return label, as_the_api_sends(handle, update, answer, answer.answer_id), answer.answer_id

    async def person_action(handle: RequestHandle, number: int) -> None:
        # Mostly answers, so that requests get deep into their lives before anyone ends them.
        kind = rng.choices(
            ["answer", "twice", "stale", "cancel", "reassign"], weights=[12, 4, 2, 1, 2]
        )[0]
        if kind in ("answer", "twice", "stale"):
            state = await handle.query(W.get_state)
            open_stage = state.question.stage if state.question else None
            stage = open_stage if kind != "stale" and open_stage else rng.choice(list(Stage))
            for _ in range(2 if kind == "twice" else 1):
                label, call, _ = answer_call(handle, number, stage)
                calls.send(label, call)
        elif kind == "cancel":
            cancel = CancelRequest(answer_id=uuid.uuid4().hex, actor="maria", reason="duplicate")
            calls.send(
                f"cancel -> request {number}",
                as_the_api_sends(handle, W.cancel, cancel, cancel.answer_id),
            )
        else:
            vendor = rng.choice([None, "ven-pipe", "ven-flow"])
            reassign = ReassignRequest(answer_id=uuid.uuid4().hex, actor="maria", vendor_id=vendor)
            calls.send(
                f"reassign to {vendor} -> request {number}",
                as_the_api_sends(handle, W.reassign, reassign, reassign.answer_id),
            )

    async def act(worker: RestartableWorker, handles: list[RequestHandle]) -> None:
        for _ in range(ACTIONS):
            number = rng.randrange(REQUESTS)
            handle = handles[number]
            kind = rng.choices(["person", "temporal", "restart"], weights=[16, 1, 3])[0]
            if kind == "person":
                await _transient_ok(person_action(handle, number))
            elif kind == "temporal":
                calls.send(f"Temporal cancel -> request {number}", handle.cancel())
            else:
                state = await handle.query(W.get_state)
                await worker.stop()
                calls.note("worker stopped")
                if state.question is not None:
                    # Two or three answers to the open question at once, or one and a cancel.
                    for _ in range(rng.randrange(2, 4)):
                        if rng.random() < 0.7:
                            label, call, update_id = answer_call(
                                handle, number, state.question.stage
                            )
                        else:
                            cancel = CancelRequest(
                                answer_id=uuid.uuid4().hex, actor="maria", reason="moved out"
                            )
                            label, update_id = f"cancel -> request {number}", cancel.answer_id
                            call = as_the_api_sends(handle, W.cancel, cancel, update_id)
                        answered = calls.send(label, call)
                        await queued(client, handle.id, update_id, answered)
                await worker.start()
                calls.note("worker started")
            await asyncio.sleep(rng.uniform(0, 0.3))

    async with restartable(lambda: maintenance_worker(dev_env, db, settings)) as worker:
        handles = [await start(client, settings) for _ in range(REQUESTS)]
        await act(worker, handles)
        finals = [
            await _driven_to_end(
                handle,
                close=rng.random() < 0.6,
                visit=rng.choice([WINDOW, TOMORROW]),
                calls=calls,
            )
            for handle in handles
        ]
        outcomes = await calls.answers()

    wrong = [
        (label, repr(out), getattr(out, "status", None))
        for label, out in outcomes
        if not sent_ok(out)
    ]
    assert not wrong, calls.explain(f"callers answered wrongly: {wrong}")
    for label, outcome in outcomes:
        if isinstance(outcome, RequestState) and label.split("[")[-1].rstrip("]") in answers:
            answer_id = label.split("[")[-1].rstrip("]")
            stage = answers[answer_id]
            counted = [q for q in outcome.questions if q.answer and q.answer.answer_id == answer_id]
            assert counted, calls.explain(f"{label} was told it counted, but no question has it")
            assert counted[0].stage is stage, calls.explain(f"{label} answered another stage")
    for final in finals:
        await _check_request(db, final, calls)


def describe(answer: Answer) -> str:
    return answer.model_dump_json(exclude={"answer_id", "actor", "note", "round"})


async def _transient_ok(action: Coroutine[Any, Any, None]) -> None:
    """A query that meets a closed request or a worker still starting is "not now"."""
    with contextlib.suppress(RPCError):
        await action


async def _driven_to_end(
    handle: RequestHandle, *, close: bool, visit: dict[str, datetime], calls: Calls
) -> RequestState:
    """Answer every question so the request closes (``close``), booking ``visit``, or
    cancel it where it can be cancelled, until its execution has closed; its final state."""

    seen: list[RequestState] = []
    refusals: list[str] = []

    async def step() -> bool:
        description = await handle.describe()
        if description.status is not WorkflowExecutionStatus.RUNNING:
            return True
        state = await handle.query(W.get_state)
        seen[:] = [state]
        try:
            # A visit still ahead cannot be marked done: such a request is cancelled once
            # the vendor has tried (and been refused).
            visit_ahead = state.slot is not None and state.slot.start > datetime.now(UTC)
            tried = bool(refusals) and "not started yet" in refusals[0]
            if (not close or (visit_ahead and tried)) and state.status in CANCELLABLE:
                cancel = CancelRequest(answer_id=uuid.uuid4().hex, actor="ops")
                await handle.execute_update(W.cancel, cancel)
            elif state.question is not None:
                stage = state.question.stage
                if stage in PASSING:
                    update, make = PASSING[stage]
                    answer = make()
                    if isinstance(answer, SlotAnswer):
                        answer = SlotAnswer(**answer.model_dump(exclude={"slot"}), slot=visit)
                    elif isinstance(answer, AvailabilityAnswer):
                        fields = answer.model_dump(exclude={"windows"})
                        answer = AvailabilityAnswer(**fields, windows=[WINDOW, TOMORROW])
                    await handle.execute_update(update, answer)
                else:
                    await handle.execute_update(
                        W.answer_invoice_approval,
                        Decision(
                            answer_id=uuid.uuid4().hex, actor="owner", channel="api", approve=True
                        ),
                    )
        except (WorkflowUpdateFailedError, RPCError) as err:
            # The request moved meanwhile: look again.
            refusals[:] = [repr(err.cause if isinstance(err, WorkflowUpdateFailedError) else err)]
        return False

    try:
        await eventually(step, bool, timeout=120, interval=0.2)
    except AssertionError as err:
        last = seen[0] if seen else None
        where = (
            f"{last.status}, asking {last.question.stage if last.question else 'nothing'}; "
            f"timeline: {[entry.event for entry in last.timeline[-6:]]}; refused: {refusals}"
            if last
            else "never queried"
        )
        raise AssertionError(calls.explain(f"{handle.id} never closed ({where}): {err}")) from None
    state: RequestState = await handle.query(W.get_state)
    calls.note(f"{handle.id} ended {state.status}")
    return state


async def _check_request(db: Database, final: RequestState, calls: Calls) -> None:
    def check(ok: bool, problem: str) -> None:
        assert ok, calls.explain(f"request {final.request_id} ({final.status}): {problem}")

    check(final.status.terminal, "closed without a final state")
    check(final.question is None, "an ended request still asks a question")
    async with db.transaction() as session:
        payouts = list(
            await session.scalars(select(PayoutRow).where(PayoutRow.request_id == final.request_id))
        )
    check(len(payouts) <= 1, f"paid {len(payouts)} times")
    if final.status == "CLOSED":
        check(len(payouts) == 1, "closed without paying the vendor")
        assert final.slot is not None
        paid_at = payouts[0].created_at.replace(tzinfo=UTC)
        check(paid_at >= final.slot.start, "paid before the visit started")
        done = [q for q in final.questions if q.stage is Stage.WORK_DONE and q.answer]
        check(
            bool(done) and done[-1].answer is not None and done[-1].answer.at >= final.slot.start,
            "the work was marked done before the visit",
        )
    else:
        check(payouts == [], "paid a request that did not close")
