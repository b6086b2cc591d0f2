"""The harness of the interleaving tests (``tests/*/test_interleavings.py``): seeds, a
worker that can be restarted mid-run, and the calls in flight whose answers are checked.

A seed fixes which actions are taken on which workflow and how long the driver pauses
between them; the worker's timing still varies, which is the point: each run explores
the neighbourhood of its sequence. CI runs the fixed seeds below; a longer hunt is

    OPSDESK_INTERLEAVING_SEEDS=random:50 .venv/bin/pytest -k interleavings

(``random:N`` draws N seeds; a list such as ``7,19`` reruns the seeds a failure printed)."""

from __future__ import annotations

import asyncio
import os
import random
from collections.abc import AsyncIterator, Callable, Coroutine
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

SEEDS_VARIABLE = "OPSDESK_INTERLEAVING_SEEDS"
CI_SEEDS = (1, 6)
"""Before their fixes, 1 paid a vendor before the visit, and 6 left an order running after
an approval and a rejection were accepted in one workflow task."""


def seeds() -> list[int]:
    """The seeds to run: ``OPSDESK_INTERLEAVING_SEEDS`` (``random:N`` or ``1,2,3``), or
    the fixed CI seeds."""
    asked = os.environ.get(SEEDS_VARIABLE, "").strip()
    if not asked:
        return list(CI_SEEDS)
    if asked.startswith("random:"):
        # Drawn at collection, which each pytest-xdist worker does for itself: a run's
        # workers draw from its id, or each would collect tests of its own seeds.
        draw = random.Random(os.environ.get("PYTEST_XDIST_TESTRUNUID"))
        return [draw.randrange(1, 1_000_000) for _ in range(int(asked.split(":", 1)[1]))]
    return [int(seed) for seed in asked.split(",") if seed.strip()]


class RestartableWorker:
    """A worker the driver stops and starts again mid-run, as a deploy or a crash would."""

    def __init__(self, make: Callable[[], AbstractAsyncContextManager[None]]) -> None:
        self._make = make
        self._running: AbstractAsyncContextManager[None] | None = None

    async def start(self) -> None:
        assert self._running is None
        self._running = self._make()
        await self._running.__aenter__()

    async def stop(self) -> None:
        assert self._running is not None
        running, self._running = self._running, None
        await running.__aexit__(None, None, None)

    @property
    def running(self) -> bool:
        return self._running is not None


@asynccontextmanager
async def restartable(
    make: Callable[[], AbstractAsyncContextManager[None]],
) -> AsyncIterator[RestartableWorker]:
    worker = RestartableWorker(make)
    await worker.start()
    try:
        yield worker
    finally:
        if worker.running:
            await worker.stop()


@dataclass
class Calls:
    """Every call a person or system made during the run, and what it was answered."""

    seed: int
    log: list[str] = field(default_factory=list)
    _tasks: list[tuple[str, asyncio.Task[Any]]] = field(default_factory=list)

    def send(self, label: str, call: Coroutine[Any, Any, Any]) -> asyncio.Task[Any]:
        self.log.append(label)
        task = asyncio.create_task(call)
        self._tasks.append((label, task))
        return task

    def note(self, label: str) -> None:
        self.log.append(label)

    async def answers(self, timeout: float = 120) -> list[tuple[str, Any]]:
        """Each call's answer (a result or the exception it raised). A call still waiting
        after ``timeout`` fails the run: every caller must get an answer."""
        _, waiting = await asyncio.wait([task for _, task in self._tasks], timeout=timeout)
        unanswered = [label for label, task in self._tasks if task in waiting]
        for task in waiting:
            task.cancel()
        assert not unanswered, self.explain(f"calls never answered: {unanswered}")
        return [
            (label, task.exception() if task.exception() else task.result())
            for label, task in self._tasks
        ]

    def explain(self, problem: str) -> str:
        """``problem`` with the seed that reproduces the run and the actions it took."""
        steps = "\n  ".join(self.log)
        return (
            f"{problem}\nseed {self.seed}: rerun with {SEEDS_VARIABLE}={self.seed}\n"
            f"actions:\n  {steps}"
        )
