"""The shared metrics cache: one computation per window, and never older than a change."""

from __future__ import annotations

import asyncio

import pytest

from opsdesk.web.cache import Shared


async def test_callers_within_the_window_share_one_computation() -> None:
    calls = 0

    async def compute() -> int:
        nonlocal calls
        calls += 1
        await asyncio.sleep(0.01)
        return calls

    shared = Shared[int](ttl=60)
    answers = await asyncio.gather(*(shared.get(compute) for _ in range(5)))
    assert answers == [1] * 5
    assert await shared.get(compute) == 1
    assert calls == 1


async def test_a_newer_version_computes_again_at_once() -> None:
    calls = 0

    async def compute() -> int:
        nonlocal calls
        calls += 1
        return calls

    shared = Shared[int](ttl=60)
    assert await shared.get(compute, version=1) == 1
    assert await shared.get(compute, version=1) == 1
    assert await shared.get(compute, version=2) == 2


async def test_a_failed_computation_is_not_kept() -> None:
    attempts = 0

    async def compute() -> int:
        nonlocal attempts
        attempts += 1
        if attempts == 1:
            raise RuntimeError("visibility unavailable")
        return attempts

    shared = Shared[int](ttl=60)
    with pytest.raises(RuntimeError):
        await shared.get(compute)
    assert await shared.get(compute) == 2
