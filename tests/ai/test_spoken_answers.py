"""What an owner says on the phone, understood: by the offline keyword rules, and by a model
through the real Anthropic and OpenAI SDKs against a fake API on loopback. Whatever the
reader, unclear is never approval."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator

import pytest
from sqlalchemy import select

from opsdesk.ai import prompts
from opsdesk.ai.models import SpokenIntent
from opsdesk.ai.tasks import SpokenAnswerTask, rules_spoken_answer
from opsdesk.ai.usage import UsageLog
from opsdesk.db import Database
from opsdesk.db.tables import AiCall
from tests.ai.fake_llm import (
    FakeLLM,
    anthropic_error,
    anthropic_tool,
    fake_llm,
    openai_tool,
)
from tests.ai.test_tasks import claude, gpt

QUESTION = "Do you approve paying the invoice of 412 dollars from FlowRight Plumbing?"
TOOL = "record_spoken_answer"


@pytest.fixture
async def llm() -> AsyncIterator[FakeLLM]:
    async with fake_llm() as fake:
        yield fake


RULES: list[tuple[str, SpokenIntent]] = [
    # plain
    ("yes", "approve"),
    ("Yes please, go ahead.", "approve"),
    ("sure, do it", "approve"),
    ("OK", "approve"),
    ("approved", "approve"),
    ("yes, no problem", "approve"),
    ("no", "decline"),
    ("No, don't go ahead with it.", "decline"),
    ("decline", "decline"),
    ("I do not approve", "decline"),
    ("nope", "decline"),
    # hedged: never a yes
    ("maybe", "unclear"),
    ("well, maybe, I guess", "unclear"),
    ("yes, probably", "unclear"),
    ("I'm not sure", "unclear"),
    ("I don't know, let me think", "unclear"),
    ("yes... well, actually no", "unclear"),
    ("why not", "unclear"),  # a shrug, or a real question: ask again
    # a condition is not a yes the call can act on
    ("yes, if it's under 300", "unclear"),
    ("sure, unless it's more than 500", "unclear"),
    # a yes word turned round says no
    ("that's not ok", "decline"),
    ("I wouldn't approve that", "decline"),
    ("I wouldn't go ahead", "decline"),
    ("that isn't okay", "decline"),
    ("we shouldn't do it", "decline"),
    ("of course not", "decline"),
    ("absolutely not", "decline"),
    # off-topic, empty, or words that only look like yes or no
    ("the weather is nice today", "unclear"),
    ("", "unclear"),
    ("   ", "unclear"),
    ("I know", "unclear"),
    ("nobody told me", "unclear"),
    ("yesterday", "unclear"),
    ("sigh", "unclear"),
    # asking to hear it again
    ("what does it cost again?", "repeat"),
    ("can you repeat that", "repeat"),
    ("sorry?", "repeat"),
    ("what?", "repeat"),
    ("how much was it", "repeat"),
    ("what's the amount?", "repeat"),
    ("sorry, I didn't catch that", "repeat"),
    ("I can't hear you", "repeat"),
    # languages an owner might use
    ("Sí, adelante", "approve"),
    ("claro que sí", "approve"),
    ("de acuerdo", "approve"),
    ("no, gracias", "decline"),
    ("no estoy de acuerdo", "decline"),
    ("claro que no", "decline"),
    ("¿cuánto cuesta otra vez?", "repeat"),
    ("tal vez", "unclear"),
    ("oui, d'accord", "approve"),
    ("non", "decline"),
    ("je ne suis pas d'accord", "decline"),
    ("bien sûr que non", "decline"),
    ("peut-être", "unclear"),
    ("Ja, einverstanden", "approve"),
    ("nein", "decline"),
    ("nein, ich bin nicht einverstanden", "decline"),
    ("nicht einverstanden", "decline"),
    ("vielleicht", "unclear"),
    ("sim, pode", "approve"),
    ("não", "decline"),
]


@pytest.mark.parametrize(("said", "intent"), RULES)
def test_the_rules_read_plain_answers_and_nothing_else(said: str, intent: SpokenIntent) -> None:
    assert rules_spoken_answer(said) == intent


def test_no_hedge_or_stray_words_count_as_approval() -> None:
    not_yes = [said for said, intent in RULES if intent != "approve"]
    assert [said for said in not_yes if rules_spoken_answer(said) == "approve"] == []


async def test_without_a_model_the_rules_answer(db: Database) -> None:
    result = await SpokenAnswerTask(None, UsageLog(db)).understand(QUESTION, "sure", "m-1")
    assert (result.intent, result.provider, result.heard) == ("approve", "rules", "sure")


MODEL: list[tuple[str, SpokenIntent, float, SpokenIntent]] = [
    # what was said, what the model answers with its confidence, what the call acts on
    ("sure, go ahead", "approve", 0.97, "approve"),
    ("I guess so, maybe", "approve", 0.55, "unclear"),
    ("hmm, no I'd rather not", "decline", 0.9, "decline"),
    ("probably not", "decline", 0.6, "unclear"),
    ("what does it cost again?", "repeat", 0.9, "repeat"),
    ("sí, adelante", "approve", 0.95, "approve"),
    ("je ne suis pas d'accord", "decline", 0.92, "decline"),
    ("is that the plumber from last time?", "unclear", 0.8, "unclear"),
]


@pytest.mark.parametrize(("said", "answered", "confidence", "acted"), MODEL)
async def test_the_model_reads_the_words_and_a_shaky_yes_is_unclear(
    llm: FakeLLM,
    db: Database,
    said: str,
    answered: SpokenIntent,
    confidence: float,
    acted: SpokenIntent,
) -> None:
    llm.queue(anthropic_tool(TOOL, {"intent": answered, "confidence": confidence}))
    result = await SpokenAnswerTask(claude(llm), UsageLog(db)).understand(
        QUESTION, said, "maintenance-M-1"
    )
    assert (result.intent, result.provider, result.heard) == (acted, "anthropic", said)
    assert result.usage is not None
    (sent,) = llm.requests_for(TOOL)
    assert sent["system"] == prompts.SPOKEN_ANSWER_SYSTEM
    turn = sent["messages"][0]["content"]
    # What the owner said travels as data, JSON-encoded inside the block, never as an
    # instruction.
    assert json.dumps(said, ensure_ascii=True)[1:-1] in turn
    assert turn.index("<call>") < turn.index("owner_said")
    assert said not in sent["system"]


async def test_openai_reads_them_through_its_own_sdk(llm: FakeLLM, db: Database) -> None:
    llm.queue(openai_tool(TOOL, {"intent": "decline", "confidence": 0.93}))
    result = await SpokenAnswerTask(gpt(llm), UsageLog(db)).understand(
        QUESTION, "no thanks", "maintenance-M-1"
    )
    assert (result.intent, result.provider) == ("decline", "openai")


@pytest.mark.parametrize(
    "reply",
    [
        anthropic_tool(TOOL, {"intent": "approve", "confidence": "very"}),
        anthropic_tool(TOOL, {"intent": "approve", "confidence": True}),
        anthropic_tool(TOOL, {"intent": "approve", "confidence": 0.99, "because": "said so"}),
        anthropic_tool(TOOL, {"intent": "pay them", "confidence": 0.99}),
        anthropic_error(529, "overloaded_error", "Overloaded"),
        anthropic_error(401, "authentication_error", "invalid x-api-key"),
    ],
    ids=[
        "malformed",
        "a yes for a number",
        "extra key",
        "unknown intent",
        "overloaded",
        "wrong key",
    ],
)
async def test_a_model_that_fails_leaves_it_to_the_rules_after_one_try(
    llm: FakeLLM, db: Database, reply: object
) -> None:
    llm.queue(reply)  # type: ignore[arg-type]
    task = SpokenAnswerTask(claude(llm), UsageLog(db))
    hedged = await task.understand(QUESTION, "maybe, I'm not sure", "maintenance-M-1")
    assert (hedged.intent, hedged.provider) == ("unclear", "rules")
    assert len(llm.requests) == 1  # a person is on the line: no retries
    async with db.transaction() as session:
        outcomes = (await session.scalars(select(AiCall.outcome))).all()
    assert outcomes in (["invalid_output"], ["error"])
