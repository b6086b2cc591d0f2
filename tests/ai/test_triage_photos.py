"""Triage shows the tenant's photos to a model that reads images, through the real SDKs
against the local fake: the bytes arrive as image content, videos never do, and with the
setting off the model reads words only."""

from __future__ import annotations

import base64
from collections.abc import AsyncIterator
from typing import Any

import pytest

from opsdesk.ai.models import TriageRequest
from opsdesk.ai.providers import AnthropicProvider, OpenAIProvider
from opsdesk.db import Database
from opsdesk.files.store import store_for
from opsdesk.files.uploads import UPLOAD_PREFIX
from opsdesk.settings import Settings
from opsdesk.worker import ai_activities
from tests.ai.fake_llm import FakeLLM, anthropic_tool, fake_llm, openai_tool
from tests.files import samples

TRIAGE = {
    "category": "plumbing",
    "priority": "urgent",
    "emergency": False,
    "summary": "Leak under the kitchen sink",
    "trade": "plumber",
}


SHOWN = "Water pooling in the cabinet under a corroded pipe joint."


@pytest.fixture
async def llm() -> AsyncIterator[FakeLLM]:
    async with fake_llm() as fake:
        yield fake


async def _request(settings: Settings) -> tuple[TriageRequest, bytes]:
    store = store_for(settings)
    photo = samples.jpeg_with_location()
    ref = await store.put(UPLOAD_PREFIX, photo, "image/jpeg", name="sink.jpg")
    video = await store.put(
        UPLOAD_PREFIX, samples.mp4_with_location(), "video/mp4", name="drip.mp4", kind="video"
    )
    request = TriageRequest(
        request_id="R-0042",
        description="Water drips from the pipe under the kitchen sink",
        photos=[ref, video],
    )
    return request, photo


def _content(sent: dict[str, Any]) -> list[dict[str, Any]]:
    content = sent["messages"][-1]["content"]
    assert isinstance(content, list)
    return content


async def test_a_model_that_reads_images_sees_the_photos(
    llm: FakeLLM, db: Database, settings: Settings
) -> None:
    reads = settings.model_copy(update={"ai_reads_images": True})
    request, photo = await _request(reads)
    encoded = base64.b64encode(photo).decode()

    claude = AnthropicProvider.connect("sk-ant-test", llm.url, "claude-haiku-4-5", "s", 10)
    llm.queue(anthropic_tool("record_triage", {**TRIAGE, "photos_show": SHOWN}))
    result = await ai_activities(db, claude, reads).triage_maintenance_request(request)
    assert result.triage.trade == "plumber"
    # What the photos show, in words, for an owner who hears about them on the phone.
    assert result.triage.photos_show == SHOWN
    tool = llm.requests_for("record_triage")[-1]["tools"][0]
    assert "photos_show" in tool["input_schema"]["properties"]
    blocks = _content(llm.requests_for("record_triage")[-1])
    images = [b for b in blocks if b["type"] == "image"]
    assert images == [
        {"type": "image", "source": {"type": "base64", "media_type": "image/jpeg", "data": encoded}}
    ]
    assert any(request.description in b.get("text", "") for b in blocks)

    gpt = OpenAIProvider.connect("sk-test", f"{llm.url}/v1", "gpt-5-mini", "gpt-5", 10)
    llm.queue(openai_tool("record_triage", TRIAGE))
    await ai_activities(db, gpt, reads).triage_maintenance_request(request)
    parts = _content(llm.requests_for("record_triage")[-1])
    urls = [p["image_url"]["url"] for p in parts if p["type"] == "image_url"]
    assert urls == [f"data:image/jpeg;base64,{encoded}"]  # one: the video stays behind

    # Off (the default): the same request sends words only.
    llm.queue(anthropic_tool("record_triage", TRIAGE))
    await ai_activities(db, claude, settings).triage_maintenance_request(request)
    assert isinstance(llm.requests_for("record_triage")[-1]["messages"][-1]["content"], str)
