"""A stand-in for the Anthropic and OpenAI APIs on a loopback port.

The real SDK clients talk to it over real HTTP; each test queues the answers it wants
(a tool call, a malformed one, a 429 with ``retry-after``, a 529, a 401) and reads back the
requests the SDKs sent.
"""

from __future__ import annotations

import asyncio
import itertools
import json
from collections import deque
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, Response, StreamingResponse
from pydantic import SecretStr

from opsdesk.settings import Settings
from tests.http import served

_ids = itertools.count(1)


@dataclass
class Reply:
    status: int
    body: dict[str, Any]
    headers: dict[str, str] = field(default_factory=dict)
    hold: asyncio.Event | None = None
    """Streamed: after the first piece of text, wait for this before the rest."""
    delay: float = 0.0
    """Streamed: seconds before the first event (a model's time to first token)."""


def openai_turn(*pieces: str, tool: dict[str, Any] | None = None) -> Reply:
    """A streamed OpenAI reply: ``pieces`` of text, then maybe ``record_answer``."""
    message: dict[str, Any] = {"role": "assistant", "content": "".join(pieces) or None}
    if tool is not None:
        message["tool_calls"] = [
            {
                "id": f"call_{next(_ids)}",
                "type": "function",
                "function": {"name": "record_answer", "arguments": json.dumps(tool)},
            }
        ]
    reply = openai_tool("record_answer", tool or {})
    reply.body["choices"][0]["message"] = message
    reply.body["pieces"] = list(pieces)
    return reply


def anthropic_turn(
    *pieces: str, tool: dict[str, Any] | None = None, hold: asyncio.Event | None = None
) -> Reply:
    """A reply spoken in ``pieces`` (streamed one by one), then maybe ``record_answer``."""
    content: list[dict[str, Any]] = [{"type": "text", "text": piece} for piece in pieces]
    if tool is not None:
        content.append(
            {
                "type": "tool_use",
                "id": f"toolu_{next(_ids)}",
                "name": "record_answer",
                "input": tool,
            }
        )
    reply = anthropic_text("")
    reply.body["content"] = content
    reply.hold = hold
    return reply


def anthropic_tool(
    name: str, arguments: dict[str, Any], tokens: tuple[int, int] = (812, 64)
) -> Reply:
    return Reply(
        200,
        {
            "id": f"msg_{next(_ids)}",
            "type": "message",
            "role": "assistant",
            "model": "claude-haiku-4-5",
            "content": [
                {"type": "tool_use", "id": f"toolu_{next(_ids)}", "name": name, "input": arguments}
            ],
            "stop_reason": "tool_use",
            "stop_sequence": None,
            "usage": {"input_tokens": tokens[0], "output_tokens": tokens[1]},
        },
    )


def anthropic_text(text: str) -> Reply:
    return Reply(
        200,
        {
            "id": f"msg_{next(_ids)}",
            "type": "message",
            "role": "assistant",
            "model": "claude-haiku-4-5",
            "content": [{"type": "text", "text": text}],
            "stop_reason": "end_turn",
            "stop_sequence": None,
            "usage": {"input_tokens": 700, "output_tokens": 30},
        },
    )


def anthropic_error(status: int, kind: str, message: str, **headers: str) -> Reply:
    return Reply(status, {"type": "error", "error": {"type": kind, "message": message}}, headers)


def openai_tool(
    name: str, arguments: dict[str, Any] | str, tokens: tuple[int, int] = (640, 48)
) -> Reply:
    encoded = arguments if isinstance(arguments, str) else json.dumps(arguments)
    return Reply(
        200,
        {
            "id": f"chatcmpl-{next(_ids)}",
            "object": "chat.completion",
            "created": 1_700_000_000,
            "model": "gpt-5-mini",
            "choices": [
                {
                    "index": 0,
                    "finish_reason": "tool_calls",
                    "message": {
                        "role": "assistant",
                        "content": None,
                        "tool_calls": [
                            {
                                "id": f"call_{next(_ids)}",
                                "type": "function",
                                "function": {"name": name, "arguments": encoded},
                            }
                        ],
                    },
                }
            ],
            "usage": {
                "prompt_tokens": tokens[0],
                "completion_tokens": tokens[1],
                "total_tokens": sum(tokens),
            },
        },
    )


def openai_error(status: int, message: str, code: str) -> Reply:
    return Reply(
        status, {"error": {"message": message, "type": "invalid_request_error", "code": code}}
    )


class FakeLLM:
    def __init__(self) -> None:
        self.replies: deque[Reply] = deque()
        self.cut = 0
        """Streams the client stopped reading before their end."""
        self.requests: list[dict[str, Any]] = []
        self.standing: dict[str, Reply] = {}
        """Answers to every request for a tool, by its name, whatever is queued."""
        self.url = ""
        self.app = FastAPI()
        self.app.post("/v1/messages")(self._answer)
        self.app.post("/v1/chat/completions")(self._answer)

    def queue(self, *replies: Reply) -> None:
        self.replies.extend(replies)

    def requests_for(self, tool: str) -> list[dict[str, Any]]:
        """The requests that asked for ``tool``, in the order they came."""
        found = []
        for request in self.requests:
            names = [
                t.get("name") or t.get("function", {}).get("name") for t in request.get("tools", [])
            ]
            if tool in names:
                found.append(request)
        return found

    async def _answer(self, request: Request) -> Response:
        body = await request.json()
        self.requests.append(body)
        names = {t.get("name") or t.get("function", {}).get("name") for t in body.get("tools", [])}
        standing = next((self.standing[n] for n in names if n in self.standing), None)
        if standing is not None:
            return JSONResponse(standing.body, status_code=standing.status)
        if not self.replies:
            return JSONResponse(
                {"error": {"message": "the test queued no answer"}}, status_code=500
            )
        reply = self.replies.popleft()
        if body.get("stream") and reply.status == 200 and "pieces" in reply.body:
            return StreamingResponse(_openai_stream(reply), media_type="text/event-stream")
        if body.get("stream") and reply.status == 200:
            return StreamingResponse(self._stream(reply), media_type="text/event-stream")
        return JSONResponse(reply.body, status_code=reply.status, headers=reply.headers)

    async def _stream(self, reply: Reply) -> AsyncIterator[str]:
        """Anthropic's server-sent events for ``reply``: each text block streamed as one
        delta, in order (so consecutive text blocks read as one spoken reply)."""
        try:
            if reply.delay:
                await asyncio.sleep(reply.delay)
            message = {**reply.body, "content": [], "stop_reason": None}
            yield _sse("message_start", {"type": "message_start", "message": message})
            text_started = False
            index = 0
            for block in reply.body["content"]:
                if block["type"] == "text":
                    if not text_started:
                        empty = {"type": "text", "text": ""}
                        yield _sse("content_block_start", _block_start(index, empty))
                        text_started = True
                    delta = {"type": "text_delta", "text": block["text"]}
                    yield _sse("content_block_delta", _delta(index, delta))
                    if reply.hold is not None:
                        hold, reply.hold = reply.hold, None
                        await hold.wait()
                    continue
                if text_started:
                    yield _sse("content_block_stop", {"type": "content_block_stop", "index": index})
                    index += 1
                    text_started = False
                start: dict[str, Any] = {**block, "input": {}}
                yield _sse("content_block_start", _block_start(index, start))
                partial = {"type": "input_json_delta", "partial_json": json.dumps(block["input"])}
                yield _sse("content_block_delta", _delta(index, partial))
                yield _sse("content_block_stop", {"type": "content_block_stop", "index": index})
                index += 1
            if text_started:
                yield _sse("content_block_stop", {"type": "content_block_stop", "index": index})
            stop = {"stop_reason": reply.body["stop_reason"], "stop_sequence": None}
            yield _sse(
                "message_delta",
                {"type": "message_delta", "delta": stop, "usage": {"output_tokens": 30}},
            )
            yield _sse("message_stop", {"type": "message_stop"})
        except asyncio.CancelledError:
            self.cut += 1
            raise


async def _openai_stream(reply: Reply) -> AsyncIterator[str]:
    """OpenAI's server-sent chunks for ``reply``: each piece of text, the tool call's
    arguments in two halves (as a stream splits them), the finish, the usage."""
    body = reply.body

    def chunk(delta: dict[str, Any], finish: str | None = None, **extra: Any) -> str:
        choices = [{"index": 0, "delta": delta, "finish_reason": finish}] if delta or finish else []
        data = {
            "id": body["id"],
            "object": "chat.completion.chunk",
            "created": body["created"],
            "model": body["model"],
            "choices": choices,
            **extra,
        }
        return f"data: {json.dumps(data)}\n\n"

    yield chunk({"role": "assistant", "content": ""})
    for piece in body["pieces"]:
        yield chunk({"content": piece})
    calls = body["choices"][0]["message"].get("tool_calls") or []
    for index, call in enumerate(calls):
        arguments = call["function"]["arguments"]
        half = len(arguments) // 2
        start = {"index": index, "id": call["id"], "type": "function"}
        yield chunk(
            {
                "tool_calls": [
                    {**start, "function": {"name": "record_answer", "arguments": arguments[:half]}}
                ]
            }
        )
        yield chunk({"tool_calls": [{"index": index, "function": {"arguments": arguments[half:]}}]})
    yield chunk({}, "tool_calls" if calls else "stop")
    usage = {"prompt_tokens": 600, "completion_tokens": 20, "total_tokens": 620}
    yield chunk({}, None, usage=usage)
    yield "data: [DONE]\n\n"


def _sse(event: str, data: dict[str, Any]) -> str:
    return f"event: {event}\ndata: {json.dumps(data)}\n\n"


def _block_start(index: int, block: dict[str, Any]) -> dict[str, Any]:
    return {"type": "content_block_start", "index": index, "content_block": block}


def _delta(index: int, delta: dict[str, Any]) -> dict[str, Any]:
    return {"type": "content_block_delta", "index": index, "delta": delta}


@asynccontextmanager
async def fake_llm() -> AsyncIterator[FakeLLM]:
    fake = FakeLLM()
    async with served(fake.app) as url:
        fake.url = url
        yield fake


def with_claude(settings: Settings, llm: FakeLLM) -> Settings:
    """``settings`` with Claude as the provider, answered by ``llm``."""
    return settings.model_copy(
        update={
            "ai_provider": "anthropic",
            "anthropic_api_key": SecretStr("sk-ant-test"),
            "anthropic_base_url": llm.url,
        }
    )
