"""Share one expensive read among everyone who asks for it within a short window."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import Generic, TypeVar

T = TypeVar("T")


class Shared(Generic[T]):
    """The result of ``compute`` as of at most ``ttl`` seconds ago.

    Callers that arrive while a computation runs wait for that one instead of starting
    another; a failed computation is not kept. With live dashboards refreshing on every
    change, this turns "one visibility fan-out per viewer" into "one per window".

    ``version`` names what the answer was computed from: a caller that knows of a newer
    change passes a new version and gets a fresh computation, so a viewer told "something
    changed" never reads the answer from before the change.
    """

    def __init__(self, ttl: float) -> None:
        self.ttl = ttl
        self._task: asyncio.Future[T] | None = None
        self._started = 0.0
        self._version = 0

    async def get(self, compute: Callable[[], Awaitable[T]], version: int = 0) -> T:
        now = time.monotonic()
        task = self._task
        stale = (
            task is None
            or version != self._version
            or (task.done() and (task.exception() is not None or now - self._started > self.ttl))
        )
        if stale:
            self._started = now
            self._version = version
            task = self._task = asyncio.ensure_future(compute())
        assert task is not None
        # One caller going away must not cancel the others' answer.
        return await asyncio.shield(task)
