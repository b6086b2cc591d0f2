"""One expensive read, kept fresh in the background and shared by everyone who asks."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable
from typing import Generic, TypeVar

log = logging.getLogger(__name__)

T = TypeVar("T")


class Snapshot(Generic[T]):
    """The latest result of ``compute``, recomputed every ``interval`` seconds while anyone
    reads it.

    A reader gets the newest result at once and never waits for a computation, except the
    first after a quiet spell: so what a reader pays does not grow with what ``compute``
    reads, and the answer is at most ``interval`` plus one computation old. Every reader of
    a process shares one computation, however many dashboards are open. After ``idle``
    seconds without a reader the refresher stops, so an API nobody watches costs nothing.

    A failed computation drops the result: the next reader waits for a new one and hears
    of the failure, rather than reading numbers that silently stopped moving.
    ``interval=0`` computes at every read, which is what benchmarks use to time
    ``compute`` itself.
    """

    def __init__(
        self,
        compute: Callable[[], Awaitable[T]],
        interval: float,
        *,
        idle: float = 60.0,
        on_change: Callable[[T], None] | None = None,
    ) -> None:
        """``on_change`` hears each result that differs from the one before it, so live
        pages can be told to read again."""
        self.compute = compute
        self.interval = interval
        self.idle = idle
        self.on_change = on_change
        self._value: T | None = None
        self._first: asyncio.Future[T] | None = None
        self._refresher: asyncio.Task[None] | None = None
        self._read_at = 0.0

    async def get(self) -> T:
        if self.interval <= 0:
            return await self.compute()
        self._read_at = time.monotonic()
        if self._refresher is None or self._refresher.done():
            self._value = None
            self._first = asyncio.get_running_loop().create_future()
            self._refresher = asyncio.create_task(self._refresh(self._first))
        if self._value is not None:
            return self._value
        assert self._first is not None
        # One reader going away must not cancel the others' answer.
        return await asyncio.shield(self._first)

    async def peek(self) -> T:
        """The latest result if the refresher is running, else one computation of its own:
        for a reader that comes seldom (a Prometheus scrape), which must not keep the
        refresher going between its visits."""
        if self._refresher is not None and not self._refresher.done() and self._value is not None:
            return self._value
        return await self.compute()

    async def close(self) -> None:
        if self._refresher is not None:
            self._refresher.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._refresher

    async def _refresh(self, first: asyncio.Future[T]) -> None:
        try:
            value = await self.compute()
        except asyncio.CancelledError:
            # Closed during the first computation: its readers must not wait forever.
            first.cancel()
            raise
        except Exception as exc:
            first.set_exception(exc)
            # Read here so a first computation nobody waited for is not reported as lost.
            first.exception()
            return
        self._value = value
        first.set_result(value)
        while time.monotonic() - self._read_at < self.idle:
            await asyncio.sleep(self.interval)
            try:
                value = await self.compute()
            except Exception:
                log.warning("recomputing a snapshot failed; the next reader waits", exc_info=True)
                self._value = None
                return
            changed = value != self._value
            self._value = value
            if changed and self.on_change is not None:
                try:
                    self.on_change(value)
                except Exception:
                    log.warning("telling of new numbers failed", exc_info=True)
