"""The metrics snapshot: one computation for every reader, kept fresh in the background,
readers never waiting for it once it exists, and a failure never served as numbers."""

from __future__ import annotations

import asyncio

import pytest

from opsdesk.web.cache import Snapshot
from tests.waiting import eventually


class Counter:
    """A computation that counts its calls and can be held or made to fail."""

    def __init__(self) -> None:
        self.calls = 0
        self.gate = asyncio.Event()
        self.gate.set()
        self.fail = False

    async def __call__(self) -> int:
        self.calls += 1
        await self.gate.wait()
        if self.fail:
            raise RuntimeError("visibility unavailable")
        return self.calls


async def test_readers_share_one_computation() -> None:
    compute = Counter()
    snapshot = Snapshot(compute, interval=60)
    try:
        assert await asyncio.gather(*(snapshot.get() for _ in range(5))) == [1] * 5
        assert await snapshot.get() == 1
        assert compute.calls == 1
    finally:
        await snapshot.close()


async def test_readers_do_not_wait_for_a_recomputation() -> None:
    compute = Counter()
    changes: list[int] = []
    snapshot = Snapshot(compute, interval=0.05, on_change=changes.append)
    try:
        assert await snapshot.get() == 1
        compute.gate.clear()

        async def calls() -> int:
            return compute.calls

        await eventually(calls, lambda n: n == 2)
        # The second computation is held: a reader still gets the first answer at once.
        assert await asyncio.wait_for(snapshot.get(), timeout=5) == 1
        compute.gate.set()
        await eventually(snapshot.get, lambda value: value >= 2)
        assert changes[0] == 2
    finally:
        await snapshot.close()


async def test_a_failed_computation_is_not_served() -> None:
    compute = Counter()
    compute.fail = True
    snapshot = Snapshot(compute, interval=0.05)
    try:
        with pytest.raises(RuntimeError):
            await snapshot.get()
        compute.fail = False
        assert await snapshot.get() == 2
        # A later failure drops the numbers: the next reader hears of it.
        compute.fail = True

        async def outcome() -> str:
            try:
                await snapshot.get()
            except RuntimeError:
                return "failed"
            return "served"

        await eventually(outcome, lambda seen: seen == "failed")
    finally:
        await snapshot.close()


def refreshing(snapshot: Snapshot[int]) -> bool:
    """Whether the snapshot's refresher runs: while it does not, nothing computes unless a
    reader asks."""
    return snapshot._refresher is not None and not snapshot._refresher.done()


async def test_it_stops_when_nobody_reads_and_counts_afresh_after() -> None:
    compute = Counter()
    snapshot = Snapshot(compute, interval=0.01, idle=0.05)
    try:
        await snapshot.get()

        async def running() -> bool:
            return refreshing(snapshot)

        # The refresher ends by itself once nobody has read for ``idle``; ended, it counts
        # no more.
        await eventually(running, lambda still: not still)
        stopped_at = compute.calls
        # After the quiet spell the reader waits for a new count, not the old one.
        assert await snapshot.get() == stopped_at + 1
    finally:
        await snapshot.close()


async def test_interval_zero_counts_at_every_read() -> None:
    compute = Counter()
    snapshot = Snapshot(compute, interval=0)
    assert [await snapshot.get() for _ in range(3)] == [1, 2, 3]


async def test_a_seldom_reader_does_not_keep_it_going() -> None:
    compute = Counter()
    snapshot = Snapshot(compute, interval=0.01)
    try:
        # Nothing running: a peek counts once and starts nothing that would count again.
        assert await snapshot.peek() == 1
        assert not refreshing(snapshot)
        assert compute.calls == 1
        # Running: a peek reads the latest count.
        first = await snapshot.get()
        assert await snapshot.peek() >= first
    finally:
        await snapshot.close()
