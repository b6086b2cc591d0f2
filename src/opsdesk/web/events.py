"""The change feed behind ``GET /api/events``.

One poller per API process, running only while someone listens, asks visibility once a
second for orders whose ``OrderUpdatedAt`` is newer than the newest it has seen, and tells
every listener which ones changed. Actions taken through this process are announced at
once. The cost is one visibility call a second, however many dashboards are open.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime, timedelta

from pydantic import BaseModel
from temporalio.client import Client

from opsdesk.temporal import search_attributes as sa

log = logging.getLogger(__name__)

# Visibility lags writes by about a second; asking slightly into the past costs nothing
# but a repeated id, and a change is never missed.
LOOKBACK = timedelta(seconds=2)


class Change(BaseModel):
    kind: str
    ids: list[str]


class ChangeFeed:
    def __init__(
        self,
        client: Client,
        base_query: str,
        id_of: Callable[[str], str],
        interval: float = 1.0,
    ) -> None:
        """``base_query`` selects the desk's workflows; ``id_of`` turns a workflow id into
        the id listeners know (an order id)."""
        self.client = client
        self.base_query = base_query
        self.id_of = id_of
        self.interval = interval
        self._listeners: set[asyncio.Queue[Change]] = set()
        self._poller: asyncio.Task[None] | None = None

    @contextlib.asynccontextmanager
    async def listen(self) -> AsyncIterator[asyncio.Queue[Change]]:
        queue: asyncio.Queue[Change] = asyncio.Queue(maxsize=100)
        self._listeners.add(queue)
        if self._poller is None or self._poller.done():
            self._poller = asyncio.create_task(self._poll())
        try:
            yield queue
        finally:
            self._listeners.discard(queue)

    def publish(self, change: Change) -> None:
        for queue in list(self._listeners):
            if queue.full():
                # A listener that stopped reading gets the newest news, not all of it.
                queue.get_nowait()
            queue.put_nowait(change)

    async def close(self) -> None:
        if self._poller is not None:
            self._poller.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._poller

    async def _poll(self) -> None:
        since = datetime.now(UTC) - LOOKBACK
        seen: dict[str, datetime] = {}
        while self._listeners:
            try:
                since, changed = await self._changed_since(since, seen)
            except Exception:  # visibility hiccups must not end the feed
                log.warning("change feed poll failed", exc_info=True)
                changed = []
            if changed:
                self.publish(Change(kind="orders", ids=changed))
            await asyncio.sleep(self.interval)

    async def _changed_since(
        self, since: datetime, seen: dict[str, datetime]
    ) -> tuple[datetime, list[str]]:
        query = f"{self.base_query} AND OrderUpdatedAt > '{(since - LOOKBACK).isoformat()}'"
        changed = []
        newest = since
        async for execution in self.client.list_workflows(query, limit=500):
            updated = execution.typed_search_attributes.get(sa.ORDER_UPDATED)
            if updated is None or seen.get(execution.id) == updated:
                continue
            seen[execution.id] = updated
            changed.append(self.id_of(execution.id))
            newest = max(newest, updated)
        # Forget what is older than the window; it cannot come back.
        for workflow_id, updated in list(seen.items()):
            if updated < newest - 2 * LOOKBACK:
                del seen[workflow_id]
        return newest, changed
