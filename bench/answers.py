"""Answer latency: an owner approving a repair from the email's link, ``POST /links/<token>``
through the API, as ``bench.actions`` times an order's advance.

    uv run python -m bench.answers [--requests 30] [--compare DIR --compare-label LABEL]

``--requests`` repair requests per way are reported through the client and brought to the
owner's question (the approval email with its link in the outbox) before any is answered;
then each link is posted once, one at a time, with the approval form a person sends. The
clock runs from the POST to the page that says the answer is recorded: the link's checks,
the update to the request's workflow (the request goes on to ask for a vendor's quote) and
the page. A refusal page or an error stops the run.

``--compare DIR`` runs a second API process from the code in ``DIR`` (a checkout's root,
say ``git archive <commit> src | tar -x -C DIR``) beside the first, on the same server,
database and worker; the two take turns, one answer each, so that a change is measured
against the code before it under the same load. Each way's row is saved under its label.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import re
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import select

from bench.harness import Stack, free_port, save_row
from bench.maintenance_stack import (
    OWNER_EMAIL,
    form,
    maintenance_stack,
    spawn_real,
    stop,
    workers,
)
from opsdesk.db import Database
from opsdesk.db.tables import OutboxMessage
from opsdesk.maintenance import service
from opsdesk.maintenance.ids import request_workflow_id
from opsdesk.stats import summary_ms
from opsdesk.temporal.client import connect

LINK = re.compile(r"https?://[^/\s]+(/links/[A-Za-z0-9_.-]+)")
RECORDED = "Thank you: your answer is recorded"
WAIT_LIMIT_S = 120.0


async def owner_links(db: Database, request_ids: list[str]) -> dict[str, str]:
    """Each request's approval link path, from the owner's email in the outbox, once every
    request has one."""
    references = {request_workflow_id(r): r for r in request_ids}
    deadline = time.monotonic() + WAIT_LIMIT_S
    while True:
        async with db.transaction() as session:
            rows = (
                await session.execute(
                    select(OutboxMessage.reference, OutboxMessage.body_text).where(
                        OutboxMessage.reference.in_(references),
                        OutboxMessage.to_address == OWNER_EMAIL,
                    )
                )
            ).all()
        links = {}
        for reference, body in rows:
            found = LINK.search(body or "")
            if found:
                links[references[reference]] = found.group(1)
        if len(links) == len(request_ids):
            return links
        if time.monotonic() > deadline:
            raise TimeoutError(f"{len(links)} of {len(request_ids)} approval emails were sent")
        await asyncio.sleep(0.5)


@contextlib.contextmanager
def second_api(running: Stack, source: Path) -> Iterator[str]:
    """An API process running the code under ``source``/src, beside the stack's own."""
    port = free_port()
    env = running.env | {"OPSDESK_PORT": str(port), "PYTHONPATH": str(source / "src")}
    process = subprocess.Popen([sys.executable, "-m", "opsdesk", "api"], env=env)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 90
        while True:
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(f"{url}/healthz", timeout=2).status_code < 500:
                    break
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"the API from {source} did not start")
            time.sleep(0.2)
        yield url
    finally:
        stop(process)


async def measure(
    requests: int, label: str, compare: Path | None, compare_label: str
) -> dict[str, dict[str, Any]]:
    # One address posts every answer here: the people's rate limit is for a crowd of them.
    with (
        maintenance_stack(OPSDESK_PUBLIC_RATE_LIMIT="10000/minute") as running,
        contextlib.ExitStack() as others,
    ):
        settings = running.settings
        client = await connect(settings)
        db = Database(settings.resolved_database_url)
        urls = {label: running.api_url}
        if compare is not None:
            urls[compare_label] = others.enter_context(second_api(running, compare))
        samples: dict[str, list[float]] = {name: [] for name in urls}
        try:
            with workers(running, spawn_real(running, poller=False)):
                ids = {
                    name: [f"bench-{uuid.uuid4().hex[:12]}" for _ in range(requests + 1)]
                    for name in urls
                }
                for request_id in (r for way in ids.values() for r in way):
                    submission = service.submission_of(settings, request_id, form())
                    await service.submit_request(client, settings, submission)
                links = await owner_links(db, [r for way in ids.values() for r in way])
                # Once every email is out, the worker has nothing else to do.
                await asyncio.sleep(2)
                async with httpx.AsyncClient(timeout=30) as http:
                    # The ways take turns, one answer each, so that drift falls on both.
                    for turn in range(requests + 1):
                        for name, url in urls.items():
                            request_id = ids[name][turn]
                            began = time.perf_counter()
                            response = await http.post(
                                url + links[request_id],
                                data={"answer": "approve", "note": "go ahead"},
                            )
                            took = time.perf_counter() - began
                            if response.status_code != 200 or RECORDED not in response.text:
                                raise RuntimeError(
                                    f"{name}, {request_id}: {response.status_code} "
                                    f"{response.text[:300]}"
                                )
                            if turn:  # the first answer warms each API up
                                samples[name].append(took)
        finally:
            await db.dispose()
    rows = {}
    for name, taken in samples.items():
        rows[name] = {"requests": requests, "with": label, **summary_ms(taken)}
        print(
            f"  {name:<28} p50 {rows[name]['p50_ms']:6.1f} ms  "
            f"p95 {rows[name]['p95_ms']:6.1f} ms  p99 {rows[name]['p99_ms']:6.1f} ms",
            flush=True,
        )
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--requests", type=int, default=30, help="answers to time")
    parser.add_argument("--label", default="as shipped", help="the row's name in the table")
    parser.add_argument("--compare", type=Path, help="a checkout whose API to time beside")
    parser.add_argument("--compare-label", default="before", help="its row's name")
    parser.add_argument(
        "--conditions", default="", help="what else ran on the machine, said beside the figures"
    )
    args = parser.parse_args()
    rows = asyncio.run(measure(args.requests, args.label, args.compare, args.compare_label))
    for label, row in rows.items():
        path = save_row("answers", label, {**row, "conditions": args.conditions})
    print(f"saved {path}")


if __name__ == "__main__":
    main()
