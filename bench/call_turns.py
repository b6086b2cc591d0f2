"""Turn latency of the owner's call as a conversation: from the caller's ``prompt`` message
to the first ``text`` token the desk sends back, with a stand-in for Claude's API that
starts answering after a fixed delay, so the figure is the desk's own overhead on top of
the model.

    uv run python -m bench.call_turns [--turns 200 --rounds 4 --delay 0.1]

Two ways take turns within each round, on the same stand-in in the same process:

- **model alone**: the Anthropic SDK streams a reply straight from the stand-in, as the
  desk's brain does; the time to its first text event;
- **through the desk**: a caller sends ``prompt`` over a real WebSocket (uvicorn) to the
  call's relay session (``opsdesk.maintenance.conversation.relay.RelaySession``), whose
  conversation asks the same SDK; the time to the first ``text`` token on the socket.

The desk's overhead is the difference of the two at each percentile. The call's setup
(reading the request from its workflow) happens once per call, not per turn, and is not in
the figure.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import time
from collections.abc import AsyncIterator
from typing import Any

import anthropic
import uvicorn
from fastapi import FastAPI, Request, WebSocket
from fastapi.responses import StreamingResponse
from websockets.asyncio.client import connect

from bench.harness import free_port, save, spread
from opsdesk.maintenance.conversation.brains import ModelBrain
from opsdesk.maintenance.conversation.engine import Conversation, Ending
from opsdesk.maintenance.conversation.facts import CallFacts
from opsdesk.maintenance.conversation.relay import RelaySession
from opsdesk.maintenance.notices import CallScript
from opsdesk.maintenance.status import Stage

REPLY = ["The estimate ", "is 300 dollars, ", "from FlowRight Plumbing."]


def _sse(event: str, data: dict[str, Any]) -> str:
    return f"event: {event}\ndata: {json.dumps(data)}\n\n"


def fake_claude(delay: float) -> FastAPI:
    """Claude's streaming Messages API, answering ``REPLY`` after ``delay`` seconds."""
    app = FastAPI()

    async def events() -> AsyncIterator[str]:
        await asyncio.sleep(delay)
        message: dict[str, Any] = {
            "id": "msg_bench",
            "type": "message",
            "role": "assistant",
            "model": "claude-haiku-4-5",
            "content": [],
            "stop_reason": None,
            "stop_sequence": None,
            "usage": {"input_tokens": 700, "output_tokens": 1},
        }
        yield _sse("message_start", {"type": "message_start", "message": message})
        block = {"type": "text", "text": ""}
        start = {"type": "content_block_start", "index": 0, "content_block": block}
        yield _sse("content_block_start", start)
        for piece in REPLY:
            delta = {"type": "text_delta", "text": piece}
            yield _sse(
                "content_block_delta", {"type": "content_block_delta", "index": 0, "delta": delta}
            )
        yield _sse("content_block_stop", {"type": "content_block_stop", "index": 0})
        stop = {"stop_reason": "end_turn", "stop_sequence": None}
        yield _sse(
            "message_delta",
            {"type": "message_delta", "delta": stop, "usage": {"output_tokens": 20}},
        )
        yield _sse("message_stop", {"type": "message_stop"})

    @app.post("/v1/messages")
    async def messages(request: Request) -> StreamingResponse:
        await request.body()
        return StreamingResponse(events(), media_type="text/event-stream")

    return app


def facts() -> CallFacts:
    script = CallScript(
        "Hello Harbor Lane Holdings, this is Ops Desk calling about request number 7 at "
        "12 Harbor Lane, unit 1A. FlowRight Plumbing estimates 300 dollars.",
        "Do you approve the estimate?",
        "the estimate of 300 dollars",
    )
    return CallFacts(
        stage=Stage.ESTIMATE_APPROVAL,
        script=script,
        owner="Harbor Lane Holdings",
        amount_cents=30000,
        currency="USD",
        facts={"vendor": "FlowRight Plumbing", "estimate": "300 dollars"},
    )


def desk(client: anthropic.AsyncAnthropic) -> FastAPI:
    """The relay session and conversation as a call runs them, without the call's setup."""
    app = FastAPI()

    async def record(approve: bool, note: str) -> Ending:
        return Ending("not recorded in a benchmark")

    @app.websocket("/turns")
    async def turns(websocket: WebSocket) -> None:
        await websocket.accept()
        conversation = Conversation(
            facts=facts(), brain=ModelBrain(client, "claude-haiku-4-5"), record=record
        )
        await RelaySession(websocket, conversation, silence=3600).run()

    return app


async def serve(app: FastAPI) -> tuple[uvicorn.Server, asyncio.Task[None], str]:
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="error"))
    task = asyncio.create_task(server.serve())
    while not server.started:
        if task.done():
            task.result()  # it failed to start: say why
        await asyncio.sleep(0.02)
    return server, task, f"127.0.0.1:{port}"


async def model_alone(client: anthropic.AsyncAnthropic) -> float:
    started = time.perf_counter()
    first = 0.0
    async with client.messages.stream(
        model="claude-haiku-4-5",
        max_tokens=300,
        messages=[{"role": "user", "content": "How much is it?"}],
    ) as stream:
        async for event in stream:
            if event.type == "text" and not first:
                first = time.perf_counter() - started
    return first * 1000


async def through_the_desk(ws: Any) -> float:
    started = time.perf_counter()
    await ws.send(json.dumps({"type": "prompt", "voicePrompt": "How much is it?", "last": True}))
    first = 0.0
    while True:
        message = json.loads(await ws.recv())
        if message["type"] == "text" and message["token"] and not first:
            first = time.perf_counter() - started
        if message["type"] == "text" and message["last"]:
            return first * 1000


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(share * (len(ordered) - 1)))]


async def run(turns: int, rounds: int, delay: float) -> dict[str, Any]:
    model_server, model_task, model_at = await serve(fake_claude(delay))
    client = anthropic.AsyncAnthropic(
        api_key="sk-bench", base_url=f"http://{model_at}", max_retries=0
    )
    desk_server, desk_task, desk_at = await serve(desk(client))
    alone: list[list[float]] = []
    desk_ms: list[list[float]] = []
    try:
        async with connect(f"ws://{desk_at}/turns") as ws:
            await ws.recv()  # the opening
            await ws.recv()  # its last token
            for _ in range(5):  # warm both paths
                await model_alone(client)
                await through_the_desk(ws)
            per_round = turns // rounds
            for _ in range(rounds):
                a: list[float] = []
                d: list[float] = []
                for _ in range(per_round):
                    # The ways take turns, one turn each, so drift falls on both.
                    a.append(await model_alone(client))
                    d.append(await through_the_desk(ws))
                alone.append(a)
                desk_ms.append(d)
    finally:
        for server in (desk_server, model_server):
            server.should_exit = True
        await asyncio.gather(desk_task, model_task)
    pooled_alone = [v for r in alone for v in r]
    pooled_desk = [v for r in desk_ms for v in r]

    def figures(values: list[float]) -> dict[str, float]:
        return {
            "p50_ms": round(statistics.median(values), 2),
            "p95_ms": round(percentile(values, 0.95), 2),
        }

    overhead_p50 = [
        statistics.median(d) - statistics.median(a) for a, d in zip(alone, desk_ms, strict=True)
    ]
    overhead_p95 = [
        percentile(d, 0.95) - percentile(a, 0.95) for a, d in zip(alone, desk_ms, strict=True)
    ]
    return {
        "turns": len(pooled_desk),
        "rounds": rounds,
        "delay_ms": round(delay * 1000),
        "rows": {"model_alone": figures(pooled_alone), "through_the_desk": figures(pooled_desk)},
        "overhead_p50_ms": spread(overhead_p50, 2),
        "overhead_p95_ms": spread(overhead_p95, 2),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--turns", type=int, default=200)
    parser.add_argument("--rounds", type=int, default=4)
    parser.add_argument("--delay", type=float, default=0.1)
    args = parser.parse_args()
    # Kept with the figures: a busy machine's scheduler shows in the p95.
    load = os.getloadavg()[0]
    result = asyncio.run(run(args.turns, args.rounds, args.delay))
    result["load_average"] = round(load, 2)
    path = save("call_turns", result)
    print(json.dumps(result, indent=2))
    print(f"saved {path}")


if __name__ == "__main__":
    main()
