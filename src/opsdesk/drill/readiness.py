"""What the drill watches besides its load: each replica's ``/readyz``, and how many
workers Temporal sees polling."""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass

import httpx
from temporalio.client import Client

from opsdesk.web.health import CHECK_TIMEOUT, fresh_pollers

WATCH_EVERY = 0.5
"""Seconds between looks at each replica's /readyz."""
LOOK_TIMEOUT = CHECK_TIMEOUT.total_seconds() + 2.0
"""Longer than /readyz's own checks take, so a slow answer is not taken for no answer."""


@dataclass
class Outage:
    """One replica not ready, from ``start`` to ``end`` (seconds into the drill; ``end``
    None if it never came back)."""

    replica: str
    start: float
    end: float | None
    said: bool = False
    """Whether the replica itself answered "not ready" (503) during the spell, rather than
    only not answering."""

    def overlaps(self, start: float, end: float | None) -> bool:
        return (end is None or self.start <= end) and (self.end is None or self.end >= start)


class ReadinessWatch:
    """Looks at every replica's /readyz every ``WATCH_EVERY`` seconds and keeps each spell
    it was not ready."""

    def __init__(self, urls: dict[str, str], began: float) -> None:
        self.urls = urls
        self.began = began
        self.outages: list[Outage] = []
        self.rounds = 0
        """Rounds of looks completed; a round begun after an event sees its effect."""
        self._open: dict[str, Outage] = {}
        self._ready: dict[str, bool] = dict.fromkeys(urls, True)
        self._looked = asyncio.Condition()

    async def run(self) -> None:
        async with httpx.AsyncClient(timeout=LOOK_TIMEOUT) as http:
            while True:
                await asyncio.gather(*(self._look(http, n, u) for n, u in self.urls.items()))
                async with self._looked:
                    self.rounds += 1
                    self._looked.notify_all()
                await asyncio.sleep(WATCH_EVERY)

    async def _look(self, http: httpx.AsyncClient, name: str, url: str) -> None:
        try:
            status: int | None = (await http.get(f"{url}/readyz")).status_code
        except httpx.HTTPError:
            status = None  # refused, dropped or timed out: not ready, and not saying so
        now = time.monotonic() - self.began
        ok = status == 200
        self._ready[name] = ok
        if not ok:
            outage = self._open.get(name)
            if outage is None:
                self._open[name] = outage = Outage(name, now, None)
                self.outages.append(outage)
            outage.said = outage.said or status == 503
        elif name in self._open:
            self._open.pop(name).end = now

    async def until_ready(self) -> float:
        """Seconds into the drill when every replica was ready in a round of looks begun
        after this call."""
        after = self.rounds + 1  # the round under way may have begun before the event
        async with self._looked:
            await self._looked.wait_for(lambda: self.rounds > after and all(self._ready.values()))
        return time.monotonic() - self.began


async def fewest_pollers(client: Client, task_queues: tuple[str, ...]) -> int:
    """The fewest workers seen polling any of ``task_queues`` lately (as /readyz counts)."""
    return min([len(await fresh_pollers(client, q)) for q in task_queues])
