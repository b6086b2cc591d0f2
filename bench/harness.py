"""What every benchmark needs: a Temporal dev server configured as `opsdesk dev` runs it, the
API as its own process, latency percentiles, and a place to put results.

Benchmarks are not tests: they assert nothing and print what they measured. Results go to
``bench/results/<name>.json``; ``python -m bench.report`` turns them into
``docs/benchmarks.md``.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import platform
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
from temporalio.client import Client

from opsdesk.access.roles import Role
from opsdesk.access.tokens import ApiTokens
from opsdesk.db import Database
from opsdesk.db.migrate import upgrade
from opsdesk.orders.catalog import sample_catalog
from opsdesk.orders.inventory import Inventory
from opsdesk.orders.status import OrderStatus
from opsdesk.settings import Settings
from opsdesk.temporal import devserver

RESULTS = Path(__file__).parent / "results"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def machine() -> dict[str, Any]:
    return {
        "cpus": os.cpu_count(),
        "python": platform.python_version(),
        "platform": platform.platform(),
        "processor": platform.processor() or platform.machine(),
    }


def spread(values: list[float], digits: int = 3) -> dict[str, Any]:
    """Median and range of per-round (or per-run) values, and the values themselves: a
    headline figure is the median, never the best round."""
    return {
        "median": round(statistics.median(values), digits),
        "min": round(min(values), digits),
        "max": round(max(values), digits),
        "rounds": [round(v, digits) for v in values],
    }


def save_row(name: str, key: str, row: dict[str, Any]) -> Path:
    """Keep ``row`` under ``key`` in ``<name>.json`` next to the rows other runs left (a long
    run's 10,000-order row survives a short run's 1,000-order one)."""
    path = RESULTS / f"{name}.json"
    rows: dict[str, Any] = json.loads(path.read_text())["rows"] if path.exists() else {}
    rows[key] = {**row, "recorded": time.strftime("%Y-%m-%d")}
    return save(name, {"rows": rows})


def save(name: str, result: dict[str, Any]) -> Path:
    RESULTS.mkdir(exist_ok=True)
    path = RESULTS / f"{name}.json"
    payload = {
        "benchmark": name,
        "machine": machine(),
        "recorded": time.strftime("%Y-%m-%d"),
        **result,
    }
    path.write_text(json.dumps(payload, indent=2) + "\n")
    return path


@dataclass
class Stack:
    settings: Settings
    env: dict[str, str]
    processes: list[subprocess.Popen[bytes]]
    """The worker (when asked for) and then the API."""

    @property
    def temporal_address(self) -> str:
        return f"127.0.0.1:{self.settings.temporal_port}"

    @property
    def api_url(self) -> str:
        return self.settings.dashboard_url

    def api_client(self, timeout: float = 30) -> httpx.AsyncClient:
        """A client of the stack's API, as an operator's token (made in its database)."""
        headers = {"Authorization": f"Bearer {operator_token(self.settings)}"}
        return httpx.AsyncClient(base_url=self.api_url, timeout=timeout, headers=headers)


def _wait_for(url: str, process: subprocess.Popen[bytes], timeout: float = 90.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"{process.args!r} exited with {process.returncode}")
        with contextlib.suppress(httpx.HTTPError):
            if httpx.get(url, timeout=2).status_code < 500:
                return
        time.sleep(0.2)
    raise TimeoutError(f"{url} did not answer within {timeout}s")


def _stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


@contextlib.contextmanager
def temporal_server(
    data_dir: Path, dynamic_config: dict[str, object] | None = None, **overrides: Any
) -> Iterator[Settings]:
    """The dev server exactly as `opsdesk dev` starts it: SQLite file, WAL, our attributes
    (``dynamic_config`` overrides its dynamic config: a variant a benchmark compares)."""
    settings = Settings(
        data_dir=data_dir,
        temporal_port=free_port(),
        ui_port=free_port(),
        port=free_port(),
        **overrides,
    )
    data_dir.mkdir(parents=True, exist_ok=True)
    log = open(data_dir / "temporal.log", "ab")  # noqa: SIM115 - closed below
    command = devserver.command(settings, dynamic_config=dynamic_config)
    process = subprocess.Popen(command, stdout=log, stderr=log)
    try:
        _wait_for(f"http://127.0.0.1:{settings.ui_port}/", process)
        yield settings
    finally:
        _stop(process)
        log.close()


@contextlib.contextmanager
def stack(
    *,
    api: bool = True,
    worker: bool = False,
    api_env: dict[str, str] | None = None,
    prepare: Callable[[Settings], None] | None = None,
    dynamic_config: dict[str, object] | None = None,
    **overrides: Any,
) -> Iterator[Stack]:
    """A dev server, the API as its own process (so that the benchmark's own work is not in
    the API's event loop) and, with ``worker``, `opsdesk worker` as another, as in
    production. ``api_env`` adds ``OPSDESK_*`` settings for both; ``prepare`` runs before
    they start (to migrate and fill the database, say); ``dynamic_config`` overrides the
    server's dynamic config."""
    with (
        tempfile.TemporaryDirectory(prefix="opsdesk-bench-") as tmp,
        temporal_server(Path(tmp), dynamic_config, **overrides) as settings,
    ):
        env = {k: v for k, v in os.environ.items() if not k.startswith(("OPSDESK_", "TEMPORAL_"))}
        env |= {
            "TEMPORAL_ADDRESS": f"127.0.0.1:{settings.temporal_port}",
            "OPSDESK_DATA_DIR": str(settings.data_dir),
            "OPSDESK_PORT": str(settings.port),
            "OPSDESK_ORDERS_TASK_QUEUE": settings.orders_task_queue,
            "OPSDESK_LOG_LEVEL": "warning",
            **(api_env or {}),
        }
        processes = []
        if prepare is not None:
            prepare(settings)
        try:
            if worker:
                # The worker migrates the database at start; the API waits for it.
                processes.append(
                    subprocess.Popen([sys.executable, "-m", "opsdesk", "worker"], env=env)
                )
            if api:
                api_process = subprocess.Popen([sys.executable, "-m", "opsdesk", "api"], env=env)
                processes.append(api_process)
                _wait_for(f"{settings.dashboard_url}/healthz", api_process)
            yield Stack(settings=settings, env=env, processes=processes)
        finally:
            for process in processes:
                _stop(process)


def operator_token(settings: Settings) -> str:
    """A new operator's API token in the stack's database, for the benchmark's requests."""

    def create() -> str:
        upgrade(settings.resolved_database_url)

        async def token() -> str:
            db = Database(settings.resolved_database_url)
            try:
                name = f"bench-{os.getpid()}-{time.monotonic_ns()}"
                _, secret = await ApiTokens(db).create(name, Role.OPERATOR)
                return secret
            finally:
                await db.dispose()

        return asyncio.run(token())

    with ThreadPoolExecutor(1) as thread:
        return thread.submit(create).result()


def fill_catalog(settings: Settings) -> None:
    """The sample catalog with stock for every order the run will place."""

    def fill() -> None:
        # Its own thread: migrations and this run their own event loops.
        upgrade(settings.resolved_database_url)

        async def products() -> None:
            db = Database(settings.resolved_database_url)
            plenty = [p.model_copy(update={"stock": 10_000_000}) for p in sample_catalog()]
            await Inventory(db).import_catalog(plenty, set_stock=True)
            await db.dispose()

        asyncio.run(products())

    with ThreadPoolExecutor(1) as thread:
        thread.submit(fill).result()


async def confirmed(client: Client, settings: Settings) -> int:
    query = (
        f"WorkflowType = 'OrderWorkflow' AND TaskQueue = '{settings.orders_task_queue}' "
        f"AND OrderStatus = '{OrderStatus.CONFIRMED.value}'"
    )
    return (await client.count_workflows(query)).count
