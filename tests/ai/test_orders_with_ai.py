"""Whole orders with a model provider configured: the real worker assembly, the real SDKs,
a fake API on loopback. Durable retries are Temporal's; fallbacks never approve silently."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any

import pytest
from pydantic import SecretStr
from temporalio.testing import WorkflowEnvironment

from opsdesk.ai.usage import UsageLog
from opsdesk.db import Database
from opsdesk.orders.inventory import Inventory
from opsdesk.orders.service import start_order
from opsdesk.orders.status import OrderStatus as S
from opsdesk.settings import Settings
from tests.ai.fake_llm import (
    FakeLLM,
    anthropic_error,
    anthropic_tool,
    fake_llm,
    openai_tool,
    with_claude,
)
from tests.orders.factory import order_request
from tests.orders.helpers import body, order_worker, served_api, until_status, wait_for_status
from tests.orders.records import Records
from tests.waiting import eventually

RISK_TOOL = "record_risk_assessment"
EMAIL_TOOL = "write_email_prose"
LOW = {
    "risk_score": 12,
    "reason": "Ordinary basket, domestic shipping.",
    "recommended_action": "approve",
}
PROSE = {
    "subject": "Thank you for your order",
    "opening": "Hi Ada, thank you for shopping with us, we are delighted to have you.",
    "closing": "Your parcel will be on its way shortly and tracking details will follow.",
}
NOT_A_VERDICT = {"risk_score": "very low", "reason": "?", "recommended_action": "ship it"}


@pytest.fixture
async def llm() -> AsyncIterator[FakeLLM]:
    async with fake_llm() as fake:
        yield fake


async def test_an_order_end_to_end_with_claude(
    time_env: WorkflowEnvironment,
    db: Database,
    catalog: Inventory,
    settings: Settings,
    llm: FakeLLM,
) -> None:
    settings = with_claude(settings, llm)
    records = Records(db)
    llm.queue(anthropic_tool(RISK_TOOL, LOW), anthropic_tool(EMAIL_TOOL, PROSE, tokens=(350, 80)))
    request = order_request()
    async with order_worker(time_env, db, settings):
        handle = await start_order(time_env.client, settings, request)
        confirmed = await wait_for_status(handle, S.CONFIRMED)
        email = await records.wait_for_email(request.order_id, "confirmation")

    assert confirmed.risk is not None
    assert (confirmed.risk.score, confirmed.risk.provider, confirmed.risk.fallback) == (
        12,
        "anthropic",
        False,
    )
    assert confirmed.risk.reason == LOW["reason"]
    [call] = confirmed.ai_calls
    assert (call.provider, call.model, call.input_tokens, call.output_tokens) == (
        "anthropic",
        "claude-haiku-4-5",
        812,
        64,
    )
    [note] = [t.note for t in confirmed.history if t.actor == "anthropic"]
    assert note.startswith("risk 12 by claude-haiku-4-5: 812 tokens in, 64 out, ")
    assert email.subject == f"Thank you for your order (order {request.order_id})"
    assert PROSE["opening"] in email.body_text
    assert "68.00 USD" in email.body_text
    totals = await UsageLog(db).totals()
    assert (totals.calls, totals.failed, totals.input_tokens) == (2, 0, 812 + 350)


async def test_malformed_output_is_retried_then_the_rules_score_and_a_person_reviews(
    time_env: WorkflowEnvironment,
    db: Database,
    catalog: Inventory,
    settings: Settings,
    llm: FakeLLM,
) -> None:
    settings = with_claude(settings, llm)
    llm.queue(*[anthropic_tool(RISK_TOOL, NOT_A_VERDICT)] * 4)
    request = order_request()  # the rules alone would approve it (score 20)
    async with order_worker(time_env, db, settings):
        handle = await start_order(time_env.client, settings, request)
        review = await wait_for_status(handle, S.REVIEW)

    assert len(llm.requests_for(RISK_TOOL)) == 4  # the first try and three retries
    assert review.risk is not None
    assert review.risk.fallback is True
    assert review.risk.provider == "rules"
    assert review.risk.score == 20
    assert review.last_error is not None
    assert "unusable answer" in review.last_error
    assert review.last_error.endswith("scored by the rules")
    totals = await UsageLog(db).totals()
    assert (totals.calls, totals.failed) == (4, 4)


async def test_429_is_retried_after_the_delay_the_provider_asked_for(
    dev_env: WorkflowEnvironment, db: Database, catalog: Inventory, settings: Settings, llm: FakeLLM
) -> None:
    settings = with_claude(settings, llm)
    llm.queue(
        anthropic_error(
            429,
            "rate_limit_error",
            "Number of requests has exceeded your rate limit",
            **{"retry-after": "2"},
        ),
        anthropic_tool(RISK_TOOL, LOW),
    )
    request = order_request()
    async with order_worker(dev_env, db, settings):
        handle = await start_order(dev_env.client, settings, request)

        async def pending_retry() -> Any:
            pending = (await handle.describe()).raw_description.pending_activities
            return pending[0] if pending and pending[0].HasField("last_failure") else None

        waiting = await eventually(pending_retry, lambda p: p is not None, timeout=30)
        failure = waiting.last_failure.application_failure_info
        assert failure.type == "AiUnavailable"
        assert failure.next_retry_delay.ToTimedelta() == timedelta(seconds=2)
        scheduled = (
            waiting.next_attempt_schedule_time.ToDatetime()
            - waiting.last_attempt_complete_time.ToDatetime()
        )
        assert scheduled == pytest.approx(timedelta(seconds=2), abs=timedelta(milliseconds=500))

        await wait_for_status(handle, S.CONFIRMED)
    assert len(llm.requests_for(RISK_TOOL)) == 2


async def test_529_overloaded_is_retried(
    time_env: WorkflowEnvironment,
    db: Database,
    catalog: Inventory,
    settings: Settings,
    llm: FakeLLM,
) -> None:
    settings = with_claude(settings, llm)
    llm.queue(
        anthropic_error(529, "overloaded_error", "Overloaded"), anthropic_tool(RISK_TOOL, LOW)
    )
    request = order_request()
    async with order_worker(time_env, db, settings):
        handle = await start_order(time_env.client, settings, request)
        confirmed = await wait_for_status(handle, S.CONFIRMED)
    assert len(llm.requests_for(RISK_TOOL)) == 2
    assert confirmed.risk is not None
    assert confirmed.risk.provider == "anthropic"


async def test_401_stops_at_once_with_a_clear_error_and_a_person_reviews(
    time_env: WorkflowEnvironment,
    db: Database,
    catalog: Inventory,
    settings: Settings,
    llm: FakeLLM,
) -> None:
    settings = with_claude(settings, llm)
    llm.queue(anthropic_error(401, "authentication_error", "invalid x-api-key"))
    request = order_request()
    async with order_worker(time_env, db, settings):
        handle = await start_order(time_env.client, settings, request)
        review = await wait_for_status(handle, S.REVIEW)

    assert len(llm.requests_for(RISK_TOOL)) == 1  # not retried
    assert review.last_error == (
        "risk scoring failed (anthropic refused the request: HTTP 401 invalid x-api-key "
        "(check the API key)); scored by the rules"
    )
    assert review.risk is not None
    assert review.risk.fallback is True


async def test_a_failed_email_falls_back_to_the_template(
    time_env: WorkflowEnvironment,
    db: Database,
    catalog: Inventory,
    settings: Settings,
    llm: FakeLLM,
) -> None:
    settings = with_claude(settings, llm)
    invented = {**PROSE, "opening": "Hi Ada, your 2 mugs cost just 36 dollars!"}
    llm.queue(anthropic_tool(RISK_TOOL, LOW), *[anthropic_tool(EMAIL_TOOL, invented)] * 4)
    request = order_request()
    async with order_worker(time_env, db, settings):
        handle = await start_order(time_env.client, settings, request)
        await wait_for_status(handle, S.CONFIRMED)
        email = await Records(db).wait_for_email(request.order_id, "confirmation")

    assert len(llm.requests_for(EMAIL_TOOL)) == 4
    assert email.subject == f"Your order {request.order_id} is confirmed"
    assert "cost just" not in email.body_text


async def test_an_order_with_openai(
    time_env: WorkflowEnvironment,
    db: Database,
    catalog: Inventory,
    settings: Settings,
    llm: FakeLLM,
) -> None:
    settings = settings.model_copy(
        update={
            "ai_provider": "openai",
            "openai_api_key": SecretStr("sk-test"),
            "openai_base_url": f"{llm.url}/v1",
        }
    )
    llm.queue(
        openai_tool(RISK_TOOL, {**LOW, "risk_score": 55, "recommended_action": "review"}),
        openai_tool(EMAIL_TOOL, PROSE),
    )
    request = order_request()
    async with order_worker(time_env, db, settings):
        handle = await start_order(time_env.client, settings, request)
        review = await wait_for_status(handle, S.REVIEW)

    assert review.risk is not None
    assert (review.risk.provider, review.risk.score) == ("openai", 55)
    assert review.ai_calls[0].model == "gpt-5-mini"


async def test_the_cost_and_the_reason_reach_the_api_and_the_dashboard(
    dev_env: WorkflowEnvironment, db: Database, catalog: Inventory, settings: Settings, llm: FakeLLM
) -> None:
    llm.queue(anthropic_tool(RISK_TOOL, LOW), anthropic_tool(EMAIL_TOOL, PROSE, tokens=(350, 80)))
    async with served_api(dev_env, db, with_claude(settings, llm)) as api:
        order_id = (await api.post("/api/orders", json=body())).json()["order_id"]
        order = await until_status(api, order_id, "CONFIRMED")
        assert order["risk"]["reason"] == LOW["reason"]
        assert order["ai_calls"][0]["model"] == "claude-haiku-4-5"

        async def metrics() -> dict[str, Any]:
            found: dict[str, Any] = (await api.get("/api/metrics")).json()
            return found

        ai = (await eventually(metrics, lambda m: m["ai"]["calls"] == 2))["ai"]
        assert (ai["input_tokens"], ai["output_tokens"], ai["failed"]) == (812 + 350, 64 + 80, 0)
        assert ai["by_model"] == {"anthropic/claude-haiku-4-5": 2}
        # $1 in and $5 out per million tokens.
        assert ai["estimated_cost_usd"] == pytest.approx(((812 + 350) * 1 + (64 + 80) * 5) / 1e6)

        page = (await api.get(f"/orders/{order_id}")).text
        assert str(LOW["reason"]) in page
        assert "score order risk" in page  # the AI calls table
        assert "write order email" in page
